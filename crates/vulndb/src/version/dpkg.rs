//! Debian version ordering, following deb-version(7) and dpkg's
//! `verrevcmp`.

use std::cmp::Ordering;

use super::cmp_digits;

/// `[epoch:]upstream[-revision]`, borrowed from the input.
pub(super) struct Version<'a> {
    epoch: &'a str,
    upstream: &'a str,
    revision: &'a str,
}

pub(super) fn parse(s: &str) -> Result<Version<'_>, String> {
    if s.is_empty() {
        return Err("empty version".into());
    }
    if s.chars().any(|c| c.is_whitespace()) {
        return Err("contains whitespace".into());
    }
    let (epoch, upstream, revision) = super::split_epoch_release(s, "revision")?;
    if upstream.is_empty() {
        return Err("empty upstream version".into());
    }
    if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("upstream version must start with a digit".into());
    }
    if let Some(c) = upstream
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || ".+~-:".contains(c)))
    {
        return Err(format!("invalid character {c:?} in upstream version"));
    }
    if let Some(c) = revision
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || ".+~".contains(c)))
    {
        return Err(format!("invalid character {c:?} in revision"));
    }
    Ok(Version {
        epoch,
        upstream,
        revision,
    })
}

pub(super) fn cmp(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    cmp_digits(a.epoch, b.epoch)
        .then_with(|| verrevcmp(a.upstream.as_bytes(), b.upstream.as_bytes()))
        .then_with(|| verrevcmp(a.revision.as_bytes(), b.revision.as_bytes()))
}

/// Weight of one character in a non-digit run: `~` sorts before everything
/// (even the end of the string, which is why `1.0~rc1 < 1.0`), the end and
/// digits come next, then letters, then all other characters.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's alternating comparison: a non-digit run compared character by
/// character with [`order`], then a digit run compared numerically.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            // The shorter side stays at its end, which weighs like a digit.
            i = (i + 1).min(a.len());
            j = (j + 1).min(b.len());
        }
        let si = i;
        while digit(a, i) {
            i += 1;
        }
        let sj = j;
        while digit(b, j) {
            j += 1;
        }
        // Both runs are ASCII digits, so the conversion cannot fail.
        let ra = std::str::from_utf8(&a[si..i]).unwrap_or("");
        let rb = std::str::from_utf8(&b[sj..j]).unwrap_or("");
        let c = cmp_digits(ra, rb);
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Ecosystem::Dpkg;
    use std::cmp::Ordering::*;

    #[test]
    fn ascending() {
        assert_ascending(
            Dpkg,
            &[
                "0.9",
                "1.0~~",
                "1.0~~a",
                "1.0~",
                "1.0~rc1",
                "1.0~rc2",
                "1.0",
                "1.0-1",
                "1.0-1ubuntu0.1",
                "1.0-1ubuntu1",
                "1.0-2",
                "1.0a",
                "1.0a-1",
                "1.0+dfsg-1",
                "1.0.1",
                "1.2",
                "1.10",
                "2.0",
                "2.0-1~bpo1",
                "2.0-1",
                "1:0.9",
                "1:1.0",
                "2:0.1",
                "10:0.1",
            ],
        );
    }

    #[test]
    fn pairs() {
        assert_pairs(
            Dpkg,
            &[
                ("1.0~rc1", Less, "1.0"),
                ("1:0.9", Greater, "2.0"),
                ("0:1.0", Equal, "1.0"),
                ("1.0", Equal, "1.0-0"),
                ("1.01", Equal, "1.1"),
                ("1.0-1", Equal, "1.0-01"),
                ("1.0", Less, "1.0.0"),
                ("1.0a", Less, "1.0+"),
                ("1.0.", Greater, "1.0"),
                ("2.30-1", Greater, "2.3-10"),
                ("1-2-3", Less, "1-2-4"),
                ("1.2.3-4-5", Greater, "1.2.3-4"),
                ("7.6p2-4", Greater, "7.6-0"),
                ("1.0.3-3", Greater, "1.0-1"),
                ("1.3", Greater, "1.2.2-2"),
                ("1.3", Greater, "1.2.2"),
                ("0-pre", Equal, "0-pre"),
                ("0-pre", Less, "0-pree"),
                ("1.1.6r2-2", Greater, "1.1.6r-1"),
                ("2.6b2-1", Greater, "2.6b-2"),
                ("98.1p5-1", Less, "98.1-pre2-b6-2"),
                ("0.4a6-2", Greater, "0.4-1"),
                ("1:3.0.5-2", Less, "1:3.0.5.1"),
                ("10.11.1.3-2", Greater, "10.11.1.3-1"),
                ("4.4.3-2", Less, "4.4.3-4"),
                ("99999999999999999999999:1", Greater, "1:2"),
            ],
        );
    }

    #[test]
    fn invalid() {
        assert_invalid(
            Dpkg,
            &[
                "", "a1.0", "x:1.0", ":1.0", "1.0-", "1.0 beta", "1.0_1", "1:-1", "1.0-1_2",
            ],
            "1.0",
        );
    }
}
