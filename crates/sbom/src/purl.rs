//! Package URLs (purl-spec) and CPE 2.3 strings.

fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b".-_~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `pkg:type/namespace/name@version?k=v` with percent-encoding of each part; qualifiers with
/// empty values are dropped and the rest sorted by key, as the spec asks.
pub fn purl(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut s = format!("pkg:{ty}/");
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        let segs: Vec<String> = ns.split('/').map(|p| encode(p, false)).collect();
        s.push_str(&segs.join("/"));
        s.push('/');
    }
    s.push_str(&encode(name, false));
    if !version.is_empty() {
        s.push('@');
        s.push_str(&encode(version, false));
    }
    let mut q: Vec<&(&str, &str)> = qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
    q.sort_by_key(|(k, _)| *k);
    for (i, (k, v)) in q.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(&encode(v, false));
    }
    s
}

fn cpe_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

/// `cpe:2.3:a:vendor:product:version:*:*:*:*:*:*:*`
pub fn cpe(vendor: &str, product: &str, version: &str) -> String {
    format!(
        "cpe:2.3:a:{}:{}:{}:*:*:*:*:*:*:*",
        cpe_escape(vendor),
        cpe_escape(product),
        cpe_escape(version)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_purls() {
        assert_eq!(
            purl(
                "deb",
                Some("debian"),
                "libc6",
                "2.36-9+deb12u4",
                &[("arch", "amd64"), ("distro", "debian-12")]
            ),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            purl("npm", Some("@babel"), "core", "7.0.0", &[]),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl("golang", Some("github.com/google"), "uuid", "v1.3.0", &[]),
            "pkg:golang/github.com/google/uuid@v1.3.0"
        );
        assert_eq!(
            purl("deb", Some("debian"), "x", "1:2.0", &[("epoch", "")]),
            "pkg:deb/debian/x@1%3A2.0"
        );
    }

    #[test]
    fn builds_cpes() {
        assert_eq!(
            cpe("apache", "commons-io", "2.11.0"),
            "cpe:2.3:a:apache:commons-io:2.11.0:*:*:*:*:*:*:*"
        );
        assert_eq!(cpe("x", "a+b", "1"), "cpe:2.3:a:x:a\\+b:1:*:*:*:*:*:*:*");
    }
}
