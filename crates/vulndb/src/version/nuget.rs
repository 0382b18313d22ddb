//! NuGet versions: `Major.Minor[.Patch[.Revision]][-prerelease][+metadata]`, missing numeric
//! parts are 0, a release sorts after its prereleases, prerelease labels compare by SemVer 2
//! rules but case-insensitively, metadata is ignored.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub(super) struct Version {
    numbers: [u64; 4],
    pre: Vec<String>,
}

pub(super) fn parse(input: &str) -> Result<Version, String> {
    let s = input.trim();
    let s = s.split('+').next().unwrap_or("");
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (s, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 4
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("expected 1 to 4 dot-separated numbers".into());
    }
    let mut numbers = [0u64; 4];
    for (i, p) in parts.iter().enumerate() {
        numbers[i] = p.parse().map_err(|_| format!("number {p} is too large"))?;
    }
    let pre = match pre {
        Some(p) => {
            let labels: Vec<String> = p.split('.').map(|l| l.to_ascii_lowercase()).collect();
            if labels
                .iter()
                .any(|l| l.is_empty() || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            {
                return Err("invalid prerelease label".into());
            }
            labels
        }
        None => Vec::new(),
    };
    Ok(Version { numbers, pre })
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let numeric = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
                        let o = match (numeric(a), numeric(b)) {
                            (true, true) => super::cmp_digits(a, b),
                            (true, false) => Ordering::Less,
                            (false, true) => Ordering::Greater,
                            (false, false) => a.cmp(b),
                        };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            }
        })
    }
}

equality_from_order!(Version);

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Ecosystem::NuGet;
    use std::cmp::Ordering::*;

    #[test]
    fn ascending() {
        assert_ascending(
            NuGet,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "1.0.0.1",
                "1.0.1",
                "1.10",
            ],
        );
    }

    #[test]
    fn missing_parts_case_and_metadata() {
        assert_pairs(
            NuGet,
            &[
                ("1.0", Equal, "1.0.0.0"),
                ("1.0.0-RC1", Equal, "1.0.0-rc1"),
                ("1.0.0+abc", Equal, "1.0.0"),
                ("4.3.0", Greater, "4.3.0-preview1"),
            ],
        );
        assert_invalid(NuGet, &["", "1.2.3.4.5", "v1.0", "1.0-"], "1.0");
    }
}
