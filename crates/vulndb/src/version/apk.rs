//! Alpine (apk-tools) version ordering:
//! `N(.N)*[letter](_suffix[N])*[~hash][-rN]`.

use std::cmp::Ordering;

use super::Num;

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Version {
    first: Num,
    /// Components after the first dot-separated one (see [`Component`]).
    rest: Vec<Component>,
    letter: Option<u8>,
    suffixes: Vec<(Suffix, Num)>,
    hash: Option<String>,
    revision: Option<Num>,
}

/// A dot component after the first. apk-tools gives a leading zero special
/// meaning there: the zeros become one token valued minus their count and
/// the remaining digits a second token, so `1.01 < 1.1` and `1.001 < 1.01`
/// (the component reads like a decimal fraction).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Component {
    /// Leading zeros; more zeros sort first, hence `Reverse`. The optional
    /// digits after them sort after nothing at all.
    Zeros(std::cmp::Reverse<usize>, Option<Num>),
    Plain(Num),
}

/// Suffix kinds in apk order: the four pre-release suffixes sort before a
/// plain release, the five post-release ones after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Suffix {
    Alpha,
    Beta,
    Pre,
    Rc,
    Cvs,
    Svn,
    Git,
    Hg,
    P,
}

impl Suffix {
    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "alpha" => Suffix::Alpha,
            "beta" => Suffix::Beta,
            "pre" => Suffix::Pre,
            "rc" => Suffix::Rc,
            "cvs" => Suffix::Cvs,
            "svn" => Suffix::Svn,
            "git" => Suffix::Git,
            "hg" => Suffix::Hg,
            "p" => Suffix::P,
            _ => return None,
        })
    }

    fn is_pre(self) -> bool {
        self <= Suffix::Rc
    }
}

pub(super) fn parse(s: &str) -> Result<Version, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        &s[start..*i]
    };
    let first = digits(&mut i);
    if first.is_empty() {
        return Err("must start with a digit".into());
    }
    let first = Num(first.to_string());
    let mut rest = Vec::new();
    while b.get(i) == Some(&b'.') {
        i += 1;
        let d = digits(&mut i);
        if d.is_empty() {
            return Err("expected digits after '.'".into());
        }
        let zeros = d.len() - d.trim_start_matches('0').len();
        rest.push(if zeros == 0 {
            Component::Plain(Num(d.to_string()))
        } else {
            let tail = &d[zeros..];
            let tail = (!tail.is_empty()).then(|| Num(tail.to_string()));
            Component::Zeros(std::cmp::Reverse(zeros), tail)
        });
    }
    let mut letter = None;
    if let Some(&c) = b.get(i) {
        if c.is_ascii_lowercase() {
            letter = Some(c);
            i += 1;
        }
    }
    let mut suffixes = Vec::new();
    while b.get(i) == Some(&b'_') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_lowercase() {
            i += 1;
        }
        let name = &s[start..i];
        let kind = Suffix::from_name(name).ok_or_else(|| {
            format!(
                "unknown suffix {name:?} (expected alpha, beta, pre, rc, cvs, svn, git, hg or p)"
            )
        })?;
        // A suffix without a number counts as number 0.
        let n = digits(&mut i);
        suffixes.push((kind, Num(n.to_string())));
    }
    let mut hash = None;
    if b.get(i) == Some(&b'~') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        if start == i {
            return Err("expected a commit hash after '~'".into());
        }
        hash = Some(s[start..i].to_ascii_lowercase());
    }
    let mut revision = None;
    if s[i..].starts_with("-r") {
        i += 2;
        let n = digits(&mut i);
        if n.is_empty() {
            return Err("expected digits after '-r'".into());
        }
        revision = Some(Num(n.to_string()));
    }
    if i != b.len() {
        return Err(format!("unexpected {:?} at byte {i}", &s[i..]));
    }
    Ok(Version {
        first,
        rest,
        letter,
        suffixes,
        hash,
        revision,
    })
}

impl Ord for Version {
    /// apk compares token by token; once one version runs out of a kind of
    /// token, the other's next token decides. A further number, a letter or
    /// a post-release suffix makes it newer, a pre-release suffix older.
    fn cmp(&self, other: &Self) -> Ordering {
        self.first
            .cmp(&other.first)
            // More dot components is newer (Vec order: a prefix sorts first).
            .then_with(|| self.rest.cmp(&other.rest))
            // Any letter is newer than none.
            .then_with(|| self.letter.cmp(&other.letter))
            .then_with(|| {
                for (x, y) in self.suffixes.iter().zip(&other.suffixes) {
                    let c = x.cmp(y);
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                let extra = |v: &Version, n: usize| v.suffixes.get(n).map(|s| s.0.is_pre());
                let n = self.suffixes.len().min(other.suffixes.len());
                match (extra(self, n), extra(other, n)) {
                    (Some(true), _) => Ordering::Less,
                    (Some(false), _) => Ordering::Greater,
                    (None, Some(true)) => Ordering::Greater,
                    (None, Some(false)) => Ordering::Less,
                    (None, None) => Ordering::Equal,
                }
            })
            // Commit hashes are only compared for equality in practice; a
            // stable order keeps the comparison total.
            .then_with(|| self.hash.cmp(&other.hash))
            // Any package revision is newer than none (`-r0` included).
            .then_with(|| self.revision.cmp(&other.revision))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Ecosystem::Apk;
    use std::cmp::Ordering::*;

    #[test]
    fn ascending() {
        assert_ascending(
            Apk,
            &[
                "1.2",
                "1.2.3_alpha",
                "1.2.3_alpha1",
                "1.2.3_alpha2",
                "1.2.3_beta",
                "1.2.3_pre2",
                "1.2.3_rc1",
                "1.2.3_rc1-r1",
                "1.2.3_rc2",
                "1.2.3",
                "1.2.3-r0",
                "1.2.3-r1",
                "1.2.3-r2",
                "1.2.3-r10",
                "1.2.3_cvs",
                "1.2.3_svn",
                "1.2.3_git20230101",
                "1.2.3_hg",
                "1.2.3_p1",
                "1.2.3_p1-r1",
                "1.2.3_p2",
                "1.2.3a",
                "1.2.3b_rc1",
                "1.2.3b",
                "1.2.3.1",
                "1.2.4",
                "1.10",
                "2",
            ],
        );
    }

    #[test]
    fn pairs() {
        assert_pairs(
            Apk,
            &[
                ("1.2.3_rc1", Less, "1.2.3"),
                ("1.2.3", Less, "1.2.3_p1"),
                ("1.2.3-r1", Less, "1.2.3-r2"),
                ("1.01", Less, "1.1"),
                ("1.001", Less, "1.01"),
                ("1.010", Greater, "1.01"),
                ("1.0", Greater, "1.00"),
                ("1.0", Less, "1.01"),
                ("1.05", Less, "1.5"),
                ("01.2", Equal, "1.2"),
                ("1.2_rc1_p1", Greater, "1.2_rc1"),
                ("1.2_rc1_rc1", Less, "1.2_rc1"),
                ("1.2_p1_rc1", Less, "1.2_p1"),
                ("1.2_alpha", Equal, "1.2_alpha0"),
                ("3.0.10-r0", Greater, "3.0.9-r5"),
                ("1.36.1-r2", Less, "1.36.1-r15"),
                ("1.2~abc1-r1", Greater, "1.2-r1"),
            ],
        );
    }

    #[test]
    fn invalid() {
        assert_invalid(
            Apk,
            &[
                "",
                "a1",
                "1.",
                "1..2",
                "1.2_foo",
                "1.2-r",
                "1.2-1",
                "1.2AB",
                "1.2ab",
                "1.2 ",
                "1.2~",
                "1.2_rc1.3",
            ],
            "1.0",
        );
    }
}
