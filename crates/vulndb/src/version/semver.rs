//! Semantic Versioning 2.0.0 (npm, crates.io) and Go module versions,
//! which are semver with a `v` prefix and a few relaxations.

use std::cmp::Ordering;

use super::Num;

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Version {
    core: [Num; 3],
    /// Pre-release identifiers; empty for a release.
    pre: Vec<Ident>,
}

/// A pre-release identifier. Numeric identifiers sort before alphanumeric
/// ones (rule 11.4.3), hence the variant order used by the derived `Ord`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Numeric(Num),
    Alpha(String),
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core.cmp(&other.core).then_with(|| {
            // A release is newer than any of its pre-releases; otherwise
            // identifiers compare left to right and a shorter list that is a
            // prefix of the other sorts first (both are Vec's own order).
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Parses a semver version. A leading `v` is accepted in both modes: OSV
/// npm/crates.io data never has one but users and tags often do, and OSV Go
/// ranges omit the `v` Go itself requires. `go` additionally accepts Go's
/// shorthands `v1` and `v1.2` (meaning v1.0.0 and v1.2.0). Build metadata
/// (including Go's `+incompatible`) is validated and then ignored, as the
/// spec requires for precedence. Go pseudo-versions need no special case:
/// `v1.2.4-0.20191109021931-daa7c04131f5` is an ordinary pre-release of
/// v1.2.4 whose timestamp identifier orders commits chronologically.
pub(super) fn parse(s: &str, go: bool) -> Result<Version, String> {
    if s.is_empty() {
        return Err("empty version".into());
    }
    let body = s.strip_prefix('v').unwrap_or(s);
    let (body, build) = match body.split_once('+') {
        Some((b, m)) => (b, Some(m)),
        None => (body, None),
    };
    if let Some(build) = build {
        for id in build.split('.') {
            check_ident(id, "build metadata")?;
        }
    }
    let (core, pre) = match body.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (body, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let shorthand = go && parts.len() < 3 && pre.is_none() && build.is_none();
    if parts.len() != 3 && !shorthand {
        return Err("expected MAJOR.MINOR.PATCH".into());
    }
    if parts.len() > 3 {
        return Err("expected MAJOR.MINOR.PATCH".into());
    }
    let mut nums = [Num("0".into()), Num("0".into()), Num("0".into())];
    for (slot, part) in nums.iter_mut().zip(&parts) {
        check_numeric(part, "version number")?;
        *slot = Num(part.to_string());
    }
    let mut ids = Vec::new();
    if let Some(pre) = pre {
        for id in pre.split('.') {
            check_ident(id, "pre-release")?;
            if id.bytes().all(|b| b.is_ascii_digit()) {
                check_numeric(id, "numeric pre-release identifier")?;
                ids.push(Ident::Numeric(Num(id.to_string())));
            } else {
                ids.push(Ident::Alpha(id.to_string()));
            }
        }
    }
    Ok(Version {
        core: nums,
        pre: ids,
    })
}

fn check_numeric(s: &str, what: &str) -> Result<(), String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {s:?} is not a number"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(format!("{what} {s:?} has a leading zero"));
    }
    Ok(())
}

fn check_ident(s: &str, what: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("empty {what} identifier"));
    }
    if let Some(c) = s
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(format!("invalid character {c:?} in {what}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Ecosystem::{Go, Semver};
    use std::cmp::Ordering::*;

    #[test]
    fn spec_precedence_example() {
        // The list from semver.org, section 11.
        let list = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "1.10.0",
            "2.0.0-0",
            "2.0.0-0.0",
            "2.0.0-1",
            "2.0.0-10",
            "2.0.0-A",
            "2.0.0-a",
            "2.0.0",
            "18446744073709551616.0.0",
        ];
        assert_ascending(Semver, &list);
        // Go orders the same versions the same way.
        assert_ascending(Go, &list);
    }

    #[test]
    fn semver_pairs() {
        assert_pairs(
            Semver,
            &[
                ("1.0.0+build.1", Equal, "1.0.0+build.2"),
                ("1.0.0+x", Equal, "1.0.0"),
                ("v1.2.3", Equal, "1.2.3"),
                ("1.0.0-alpha+x", Less, "1.0.0"),
                ("1.0.0-x-y", Greater, "1.0.0-x"),
                ("1.0.0-rc.1", Less, "1.0.0-rc.1.0"),
                ("1.0.0-1a", Greater, "1.0.0-999"),
            ],
        );
    }

    #[test]
    fn go_ordering() {
        assert_ascending(
            Go,
            &[
                "v0.0.0-20170915032832-14c0d48ead0c",
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.1.0",
                "v1.2.3",
                "v1.2.4-0.20191109021931-daa7c04131f5",
                "v1.2.4-pre",
                "v1.2.4-pre.0.20191109021931-daa7c04131f5",
                "v1.2.4",
                "v2.0.0-20180818164646-67afb5ed74ec",
                "v2.0.0+incompatible",
                "v2.1.0+incompatible",
            ],
        );
        assert_pairs(
            Go,
            &[
                ("v2.0.0+incompatible", Equal, "v2.0.0"),
                ("v1", Equal, "v1.0.0"),
                ("v1.2", Equal, "v1.2.0"),
                ("1.20.5", Equal, "v1.20.5"),
                ("v1.2.3-0.20191109021931-daa7c04131f5", Less, "v1.2.3"),
                ("v1.2.3-0.20191109021931-daa7c04131f5", Greater, "v1.2.2"),
            ],
        );
    }

    #[test]
    fn invalid() {
        let bad = [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.02.3",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "1.2.3-a_b",
            "x.y.z",
            "1.2.3 ",
            " 1.2.3",
            "V1.2.3",
            "vv1.2.3",
        ];
        assert_invalid(Semver, &bad, "1.0.0");
        assert_invalid(
            Go,
            &["", "v1.2.3.4", "v1.2-pre", "v01.2.3", "vx", "v1.2.3-"],
            "v1.0.0",
        );
    }
}
