//! Composer (Packagist) versions, normalized as composer/semver's `VersionParser::normalize` does
//! and then ordered as PHP's `version_compare` orders the normalized strings.
//!
//! A version is an optional `v`, one to four numbers (missing ones are 0: `1.2 == 1.2.0.0`) and an
//! optional suffix: a stability word `alpha`/`a`, `beta`/`b`, `RC`, `stable` or `patch`/`pl`/`p`
//! with optional numbers (`-beta2`, `-RC.1`), then an optional `-dev`. The suffix orders
//! `dev < alpha < beta < RC < (none) < patch`, and a number after a word counts
//! (`beta < beta1 < beta2 < beta10`, `beta1-dev < beta1`). `+build` metadata is ignored.
//! Branches are `dev-<name>` (and `master`, `trunk`, `default`); Composer refuses to order them
//! against numbered versions, here they are older than all of them and ordered by name.
//! Branch versions with wildcards (`1.x-dev`) normalize to 9999999 in the wildcard places, as
//! Composer does. Everything is case-insensitive.

use std::cmp::Ordering;

use super::Num;

/// One part of the normalized suffix, in `version_compare` order (the derived one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Dev,
    Alpha,
    Beta,
    Rc,
    /// Pads the shorter suffix: `version_compare` ranks the end of a version after the
    /// pre-release words and before a number or `patch`.
    End,
    Num(Num),
    Patch,
}

#[derive(Debug, Clone)]
pub(super) struct Version(Kind);

#[derive(Debug, Clone)]
enum Kind {
    /// A branch, by its lowercased name.
    Branch(String),
    Numbered {
        numbers: [Num; 4],
        suffix: Vec<Part>,
    },
}

/// The stability words in the order Composer's pattern tries them (longest spelling first).
const STABILITIES: [(&str, Option<Part>); 9] = [
    ("stable", None),
    ("beta", Some(Part::Beta)),
    ("b", Some(Part::Beta)),
    ("rc", Some(Part::Rc)),
    ("alpha", Some(Part::Alpha)),
    ("a", Some(Part::Alpha)),
    ("patch", Some(Part::Patch)),
    ("pl", Some(Part::Patch)),
    ("p", Some(Part::Patch)),
];

/// What Composer puts in place of a wildcard in a branch version (`1.x-dev`).
const WILDCARD: &str = "9999999";

pub(super) fn parse(input: &str) -> Result<Version, String> {
    let s = input.trim().to_ascii_lowercase();
    if s.is_empty() {
        return Err("empty version".into());
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("character {c:?} is not allowed"));
    }
    if matches!(s.as_str(), "master" | "trunk" | "default") {
        return Ok(Version(Kind::Branch(s)));
    }
    if let Some(name) = s.strip_prefix("dev-") {
        if name.is_empty() {
            return Err("empty branch name after \"dev-\"".into());
        }
        return Ok(Version(Kind::Branch(name.to_string())));
    }
    let s = match s.split_once('+') {
        Some((v, meta)) if !v.is_empty() && !meta.is_empty() => v,
        Some(_) => return Err("empty version or build metadata around '+'".into()),
        None => s.as_str(),
    };
    let mut rest = s.strip_prefix('v').unwrap_or(s);

    // Up to four dot-separated numbers; `x` or `*` after the first makes a branch version.
    let mut numbers: Vec<Option<&str>> = Vec::new();
    while numbers.len() < 4 {
        let body = if numbers.is_empty() {
            rest
        } else {
            match rest.strip_prefix('.') {
                Some(b) => b,
                None => break,
            }
        };
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            numbers.push(Some(&body[..digits]));
            rest = &body[digits..];
        } else if !numbers.is_empty() && (body.starts_with('x') || body.starts_with('*')) {
            numbers.push(None);
            rest = &body[1..];
        } else if numbers.is_empty() {
            return Err("must start with a number".into());
        } else {
            break;
        }
    }

    let wildcard = numbers.contains(&None);
    let suffix = if wildcard {
        match rest.strip_prefix(['.', '-']).unwrap_or(rest) {
            "dev" => vec![Part::Dev],
            _ => return Err("a wildcard version must end in \"-dev\" (like 1.x-dev)".into()),
        }
    } else {
        parse_suffix(rest).ok_or_else(|| {
            format!(
                "expected 1 to 4 dot-separated numbers and an optional -alpha, -beta, -RC, \
                 -patch or -dev suffix, found {rest:?} after the numbers"
            )
        })?
    };
    let fill = if wildcard { WILDCARD } else { "0" };
    let number = |i: usize| {
        Num(numbers
            .get(i)
            .copied()
            .flatten()
            .unwrap_or(fill)
            .to_string())
    };
    Ok(Version(Kind::Numbered {
        numbers: [number(0), number(1), number(2), number(3)],
        suffix,
    }))
}

/// `[._-]?(stability((?:[.-]?\d+)*))?([.-]?dev)?` to the end, Composer's modifier pattern.
fn parse_suffix(rest: &str) -> Option<Vec<Part>> {
    let rest = rest.strip_prefix(['.', '_', '-']).unwrap_or(rest);
    for (word, part) in &STABILITIES {
        let Some(after) = rest.strip_prefix(word) else {
            continue;
        };
        let (nums, after) = numbers_after_stability(after);
        let Some(dev) = dev_at_end(after) else {
            continue;
        };
        let Some(part) = part else {
            // Composer returns `stable` versions without any suffix, even a `-dev` one.
            return Some(Vec::new());
        };
        let mut suffix = vec![part.clone()];
        suffix.extend(nums.into_iter().map(|n| Part::Num(Num(n.to_string()))));
        suffix.extend(dev.then_some(Part::Dev));
        return Some(suffix);
    }
    dev_at_end(rest).map(|dev| if dev { vec![Part::Dev] } else { Vec::new() })
}

/// `(?:[.-]?\d+)*`, taking as much as it can.
fn numbers_after_stability(mut rest: &str) -> (Vec<&str>, &str) {
    let mut nums = Vec::new();
    loop {
        let body = rest.strip_prefix(['.', '-']).unwrap_or(rest);
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return (nums, rest);
        }
        nums.push(&body[..digits]);
        rest = &body[digits..];
    }
}

/// `([.-]?dev)?$`: `Some(true)` for a `dev` suffix, `Some(false)` at the end, else `None`.
fn dev_at_end(rest: &str) -> Option<bool> {
    if rest.is_empty() {
        return Some(false);
    }
    (rest.strip_prefix(['.', '-']).unwrap_or(rest) == "dev").then_some(true)
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        use Kind::*;
        match (&self.0, &other.0) {
            (Branch(a), Branch(b)) => a.cmp(b),
            (Branch(_), Numbered { .. }) => Ordering::Less,
            (Numbered { .. }, Branch(_)) => Ordering::Greater,
            (
                Numbered {
                    numbers: na,
                    suffix: sa,
                },
                Numbered {
                    numbers: nb,
                    suffix: sb,
                },
            ) => na.cmp(nb).then_with(|| {
                for i in 0..sa.len().max(sb.len()) {
                    let o = sa
                        .get(i)
                        .unwrap_or(&Part::End)
                        .cmp(sb.get(i).unwrap_or(&Part::End));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            }),
        }
    }
}

// Equality is the order's, so `1.2 == v1.2.0.0`.
equality_from_order!(Version);

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Ecosystem::Composer;
    use std::cmp::Ordering::*;

    #[test]
    fn ascending() {
        assert_ascending(
            Composer,
            &[
                "dev-bugfix",
                "dev-master",
                "0.9",
                "1.0.0-dev",
                "1.0.0-alpha",
                "1.0.0-alpha2",
                "1.0.0-beta",
                "1.0.0-beta1-dev",
                "1.0.0-beta1",
                "1.0.0-beta2",
                "1.0.0-beta10",
                "1.0.0-RC1",
                "1.0.0-RC2",
                "1.0.0",
                "1.0.0-patch1",
                "1.0.0-p2",
                "1.0.0.1",
                "1.0.1",
                "1.0.x-dev",
                "1.1",
                "1.x-dev",
                "2.0.0-RC1",
                "2.0.0",
                "10.0",
            ],
        );
    }

    #[test]
    fn spellings_and_stabilities() {
        assert_pairs(
            Composer,
            &[
                ("v1.2.3", Equal, "1.2.3"),
                ("V1.0", Equal, "1.0.0.0"),
                ("1.2", Equal, "1.2.0.0"),
                ("1", Equal, "1.0.0"),
                ("1.0.0-beta2", Less, "1.0.0-beta10"),
                ("1.0.0-b2", Equal, "1.0.0-beta2"),
                ("1.0.0-BETA1", Equal, "1.0.0-beta1"),
                ("1.0.0beta1", Equal, "1.0.0-beta1"),
                ("1.0.0-beta", Less, "1.0.0-beta.1"),
                ("1.0.0-beta1", Less, "1.0.0-beta1.2"),
                ("1.0.0-RC.1", Equal, "1.0.0-rc1"),
                ("1.0.0-RC-1", Equal, "1.0.0-RC1"),
                ("1.0.0_rc1", Equal, "1.0.0-RC1"),
                ("1.0.0-RC1-dev", Less, "1.0.0-RC1"),
                ("1.0.0-alpha", Equal, "1.0.0-a"),
                ("1.0.0-pl1", Equal, "1.0.0-patch1"),
                ("1.0.0-p1", Equal, "1.0.0-patch.1"),
                ("1.0.0-RC", Less, "1.0.0"),
                ("1.0.0", Less, "1.0.0-patch"),
                ("1.0.0-stable", Equal, "1.0.0"),
                ("1.0.0+build.5", Equal, "1.0.0"),
                ("1.0.0.1-dev", Greater, "1.0.0"),
                ("1.0.0-dev", Less, "1.0.0-alpha1"),
                ("dev-Master", Equal, "master"),
                ("dev-feature/x", Less, "0.0.1-dev"),
                ("2.x-dev", Equal, "2.*-dev"),
                ("1.0.x-dev", Greater, "1.0.99"),
                ("1.0.x-dev", Less, "1.1.0-dev"),
            ],
        );
    }

    #[test]
    fn invalid() {
        assert_invalid(
            Composer,
            &[
                "",
                "1.2.3.4.5",
                "1.0-foo",
                "1.2-1",
                "dev-",
                "1.x",
                "v",
                "1..2",
                "a1",
                "1.0.0-beta-",
                "1.0 as 2.0",
                "x.1-dev",
                "1.0.0+",
            ],
            "1.0",
        );
    }
}
