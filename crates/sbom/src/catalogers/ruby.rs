//! Ruby: installed gem specifications (`specifications/*.gemspec`).

use serde_json::json;

use super::base;
use crate::catalog::{Kept, Record};
use crate::model::{Location, Package, PkgType};
use crate::purl::purl;

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "ruby-installed-gemspec-cataloger";

/// Value of `s.<key> = "..."` (also `.freeze`d) in a gemspec.
fn assignment(text: &str, key: &str) -> Option<String> {
    for line in text.lines() {
        let l = line.trim();
        let Some(rest) = l.strip_prefix("s.").or_else(|| l.strip_prefix("spec.")) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix(key) else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim();
        let q = rest.chars().next()?;
        if q == '"' || q == '\'' {
            let body = &rest[1..];
            return body.find(q).map(|i| body[..i].to_string());
        }
        if let Some(arr) = rest.strip_prefix('[') {
            let items: Vec<String> = arr
                .split(']')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|s| {
                    s.trim()
                        .trim_end_matches(".freeze")
                        .trim_matches(['"', '\''])
                        .to_string()
                })
                .filter(|s| !s.is_empty())
                .collect();
            return Some(items.join(" "));
        }
    }
    None
}

pub(crate) fn catalog(
    kept: &[Kept],
    loc: &dyn Fn(&str, Option<usize>) -> Location,
) -> Vec<Package> {
    let mut out = Vec::new();
    for k in kept.iter().filter(|k| k.kind == Record::Gemspec) {
        let text = String::from_utf8_lossy(&k.data);
        let (Some(name), Some(version)) = (assignment(&text, "name"), assignment(&text, "version"))
        else {
            continue;
        };
        let mut pkg = base(
            PkgType::Gem,
            &name,
            &version,
            purl("gem", None, &name, &version, &[]),
            loc(&k.path, k.layer),
            CATALOGER,
        );
        if let Some(l) = assignment(&text, "licenses").or_else(|| assignment(&text, "license")) {
            pkg.licenses = l.split_whitespace().map(str::to_string).collect();
        }
        pkg.metadata_type = "ruby-gemspec".into();
        pkg.metadata = json!({"name": name, "version": version, "licenses": pkg.licenses});
        out.push(pkg);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_gemspec() {
        let t = "Gem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n  s.licenses = [\"MIT\".freeze]\nend\n";
        assert_eq!(super::assignment(t, "name").as_deref(), Some("rake"));
        assert_eq!(super::assignment(t, "version").as_deref(), Some("13.0.6"));
        assert_eq!(super::assignment(t, "licenses").as_deref(), Some("MIT"));
    }
}
