//! RPM version ordering: `[epoch:]version[-release]`, each part compared
//! with rpm's `rpmvercmp` (lib/rpmvercmp.c).

use std::cmp::Ordering;

use super::cmp_digits;

pub(super) struct Version<'a> {
    epoch: &'a str,
    version: &'a str,
    release: &'a str,
}

pub(super) fn parse(s: &str) -> Result<Version<'_>, String> {
    if s.is_empty() {
        return Err("empty version".into());
    }
    // A missing release compares as "", older than any release: a total order is needed here;
    // rpm's "matches any release" semantics belong to range matching.
    let (epoch, version, release) = super::split_epoch_release(s, "release")?;
    if version.is_empty() {
        return Err("empty version part".into());
    }
    if !version.bytes().any(|b| b.is_ascii_alphanumeric()) {
        return Err("version part has no letters or digits".into());
    }
    for (what, part) in [("version", version), ("release", release)] {
        if let Some(c) = part
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || "._+~^".contains(c)))
        {
            return Err(format!("invalid character {c:?} in {what}"));
        }
    }
    Ok(Version {
        epoch,
        version,
        release,
    })
}

pub(super) fn cmp(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    cmp_digits(a.epoch, b.epoch)
        .then_with(|| rpmvercmp(a.version, b.version))
        .then_with(|| rpmvercmp(a.release, b.release))
}

/// rpmvercmp: split into maximal alphabetic or numeric segments, ignoring
/// other separators. `~` sorts before anything (even the end), `^` sorts
/// after the end but before any further segment. A numeric segment is newer
/// than an alphabetic one; otherwise whichever string has segments left is
/// newer.
fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            match (ca, cb) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(x), _) if x != b'^' => return Ordering::Greater,
                (_, Some(y)) if y != b'^' => return Ordering::Less,
                _ => {}
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        // The first string's segment type decides what to take from both.
        let numeric = ca.is_ascii_digit();
        let take = |s: &[u8], mut k: usize| {
            let start = k;
            while k < s.len()
                && (if numeric {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                })
            {
                k += 1;
            }
            (start, k)
        };
        let (sa, ea) = take(a, i);
        let (sb, eb) = take(b, j);
        i = ea;
        j = eb;
        if sb == eb {
            // Different segment types: numeric beats alphabetic.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        // Segments are ASCII, so these conversions cannot fail.
        let seg_a = std::str::from_utf8(&a[sa..ea]).unwrap_or("");
        let seg_b = std::str::from_utf8(&b[sb..eb]).unwrap_or("");
        let c = if numeric {
            cmp_digits(seg_a, seg_b)
        } else {
            seg_a.cmp(seg_b)
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Ecosystem::Rpm;
    use std::cmp::Ordering::*;

    #[test]
    fn ascending() {
        assert_ascending(
            Rpm,
            &[
                "0.9",
                "1.0~~",
                "1.0~rc1",
                "1.0~rc2",
                "1.0",
                "1.0-1",
                "1.0-1.el8",
                "1.0-2",
                "1.0^",
                "1.0^git1~rc",
                "1.0^git1",
                "1.0^git1.1",
                "1.0a",
                "1.0.1",
                "1.2",
                "1.10",
                "2.0a",
                "2.0.1",
                "1:0.1",
                "2:0.1",
            ],
        );
    }

    #[test]
    fn pairs() {
        // Mostly from rpm's own test suite (tests/rpmvercmp.at).
        assert_pairs(
            Rpm,
            &[
                ("1.0~rc1", Less, "1.0"),
                ("1.0", Less, "1.0^git1"),
                ("2.0a", Less, "2.0.1"),
                ("1.0", Equal, "1.0"),
                ("1.0", Less, "2.0"),
                ("2.0.1", Greater, "2.0"),
                ("2.0.1a", Greater, "2.0.1"),
                ("5.5p1", Less, "5.5p2"),
                ("5.5p10", Greater, "5.5p1"),
                ("10xyz", Less, "10.1xyz"),
                ("xyz10", Less, "xyz10.1"),
                ("xyz.4", Less, "8"),
                ("xyz.4", Less, "2"),
                ("5.6", Greater, "5.5p2"),
                ("5.5p1", Greater, "5.5"),
                ("1.0aa", Greater, "1.0a"),
                ("10b2", Greater, "10a1"),
                ("6.0.rc1", Greater, "6.0"),
                ("1b.fc17", Less, "1b.fc17.1"),
                ("1.0", Equal, "1.0."),
                ("1.0", Equal, "1_0"),
                ("1.0", Equal, "1+0"),
                ("1.0~rc1", Equal, "1.0~rc1"),
                ("1.0~rc1", Less, "1.0~rc2"),
                ("1.0~rc1~git123", Less, "1.0~rc1"),
                ("1.0^", Greater, "1.0"),
                ("1.0^git1", Less, "1.01"),
                ("1.0^git1", Less, "1.0.1"),
                ("1.0^20160101", Less, "1.0.1"),
                ("1.0^20160101^git1", Greater, "1.0^20160101"),
                ("1.0~rc1^git1", Greater, "1.0~rc1"),
                ("1.0^git1~pre", Greater, "1.0"),
                ("0:1.0-1", Equal, "1.0-1"),
                ("1:0.1", Greater, "9.9"),
                ("1.01-1", Equal, "1.1-1"),
                ("3.0.7-24.el9", Less, "3.0.7-25.el9"),
                ("3.0.7-24.el9", Greater, "3.0.7-24.el8"),
            ],
        );
    }

    #[test]
    fn invalid() {
        assert_invalid(
            Rpm,
            &[
                "", "a:1.0", "1.0-", ":1.0", "...", "1.0 1", "1.0/2", "1.0-1 ",
            ],
            "1.0",
        );
    }
}
