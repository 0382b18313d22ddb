use crate::model::Distro;

/// Parses os-release(5): `KEY=value` lines, values optionally quoted.
pub fn parse(text: &str) -> Distro {
    let mut d = Distro::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(v)
            .to_string();
        match k.trim() {
            "ID" => d.id = v,
            "VERSION_ID" => d.version_id = v,
            "NAME" => d.name = v,
            "PRETTY_NAME" => d.pretty_name = v,
            "VERSION_CODENAME" => d.version_codename = v,
            "ID_LIKE" => d.id_like = v.split_whitespace().map(str::to_string).collect(),
            "HOME_URL" => d.home_url = v,
            "BUG_REPORT_URL" => d.bug_report_url = v,
            _ => {}
        }
    }
    d
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_os_release() {
        let d = super::parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\nID_LIKE='a b'\n",
        );
        assert_eq!(d.id, "debian");
        assert_eq!(d.version_id, "12");
        assert_eq!(d.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(d.id_like, vec!["a", "b"]);
    }
}
