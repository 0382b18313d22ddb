//! RubyGems versions (`Gem::Version`): segments of digits or letters; a letter segment marks a
//! prerelease, which sorts before the release (`1.0.a < 1.0.b1 < 1.0 < 1.0.1`); trailing zero
//! segments do not count (`1.0 == 1`); `-` means `.pre.` (`1.0-1 == 1.0.pre.1`).

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Num(String),
    Str(String),
}

#[derive(Debug, Clone)]
pub(super) struct Version(Vec<Segment>);

pub(super) fn parse(input: &str) -> Result<Version, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("empty version".into());
    }
    if !s.as_bytes()[0].is_ascii_digit() {
        return Err("must start with a digit".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err("only letters, digits, '.' and '-' are allowed".into());
    }
    let s = s.replace('-', ".pre.");
    let mut segments = Vec::new();
    for part in s.split('.') {
        if part.is_empty() {
            return Err("empty segment".into());
        }
        // "b1" is two segments: "b" and 1.
        let mut rest = part;
        while !rest.is_empty() {
            let digits = rest.starts_with(|c: char| c.is_ascii_digit());
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(rest.len());
            let (seg, tail) = rest.split_at(end);
            segments.push(if digits {
                Segment::Num(seg.trim_start_matches('0').to_string())
            } else {
                Segment::Str(seg.to_string())
            });
            rest = tail;
        }
    }
    // Canonical form: trailing zeros dropped from the release part and from the prerelease part.
    let first_str = segments
        .iter()
        .position(|s| matches!(s, Segment::Str(_)))
        .unwrap_or(segments.len());
    let mut release: Vec<Segment> = segments[..first_str].to_vec();
    let mut pre: Vec<Segment> = segments[first_str..].to_vec();
    for part in [&mut release, &mut pre] {
        while matches!(part.last(), Some(Segment::Num(n)) if n.is_empty()) {
            part.pop();
        }
    }
    release.extend(pre);
    Ok(Version(release))
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Segment::Num(String::new());
        for i in 0..self.0.len().max(other.0.len()) {
            let a = self.0.get(i).unwrap_or(&zero);
            let b = other.0.get(i).unwrap_or(&zero);
            let o = match (a, b) {
                (Segment::Num(x), Segment::Num(y)) => super::cmp_digits(x, y),
                (Segment::Str(x), Segment::Str(y)) => x.cmp(y),
                (Segment::Str(_), Segment::Num(_)) => Ordering::Less,
                (Segment::Num(_), Segment::Str(_)) => Ordering::Greater,
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

equality_from_order!(Version);

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Ecosystem::RubyGems;
    use std::cmp::Ordering::*;

    #[test]
    fn ascending() {
        assert_ascending(
            RubyGems,
            &[
                "0.9",
                "1.0.a",
                "1.0.a2",
                "1.0.a10",
                "1.0.b1",
                "1.0.rc1",
                "1.0",
                "1.0.1",
                "1.1",
                "1.10",
                "2.0.0.pre",
                "2.0.0",
            ],
        );
    }

    #[test]
    fn trailing_zeros_and_dashes() {
        assert_pairs(
            RubyGems,
            &[
                ("1.0", Equal, "1"),
                ("1.0.0", Equal, "1"),
                ("1.0-1", Equal, "1.0.pre.1"),
                ("1.0-1", Less, "1.0"),
                ("7.0.8.1", Greater, "7.0.8"),
            ],
        );
        assert_invalid(RubyGems, &["", "a1", "1..2", "1.0_1"], "1.0");
    }
}
