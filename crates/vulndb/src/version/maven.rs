//! Maven versions (the OSV `Maven` ecosystem), ordered by the algorithm of Maven's
//! `ComparableVersion` as of Maven 3.9.0 (MNG-7644 included). The version is split on `.`, `-`
//! and digit/letter transitions; a `-`, a digit/letter transition and a qualifier after a `.`
//! (`1.0.RC1`, MNG-7644) each open a nested sub-list. Trailing "null" items (`0`, the empty
//! qualifier and its aliases `ga`, `final`, `release`, empty lists) are trimmed from every list,
//! so `1.0.0 == 1 == 1-0 == 1.0-final`. Qualifiers order
//! `alpha < beta < milestone < rc = cr < snapshot < "" < sp < any other` (others lexically);
//! `a`, `b` and `m` directly followed by a digit mean alpha, beta, milestone. At one position a
//! number beats a sub-list, which beats a qualifier (`1-sp < 1-1 < 1.1`). Everything is
//! case-insensitive. One deliberate difference: Maven's order has cycles for a few spellings,
//! which are broken here so that the order is total (see [`cmp_lists`]).

use std::cmp::Ordering;

use super::Num;

/// A qualifier as Maven ranks it: the well-known ones in their fixed order, then any other
/// string, lexically (the derived order: `Known` before `Other`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Qualifier {
    /// Index into [`KNOWN`].
    Known(u8),
    Other(String),
}

const KNOWN: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

/// The rank of the empty qualifier, which a missing item is compared as.
const RELEASE: Qualifier = Qualifier::Known(5);

impl Qualifier {
    fn new(word: &str, followed_by_digit: bool) -> Qualifier {
        let word = match word {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            "ga" | "final" | "release" => "",
            "cr" => "rc",
            w => w,
        };
        match KNOWN.iter().position(|k| *k == word) {
            Some(i) => Qualifier::Known(i as u8),
            None => Qualifier::Other(word.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
enum Item {
    Int(Num),
    Str(Qualifier),
    List(Vec<Item>),
}

impl Item {
    /// Maven's "null" items, trimmed from the end of a list: 0, the release qualifier, [].
    fn is_null(&self) -> bool {
        match self {
            Item::Int(n) => n.0.is_empty(),
            Item::Str(q) => *q == RELEASE,
            Item::List(items) => items.is_empty(),
        }
    }

    /// Compares against a missing item (the other version is shorter here).
    fn cmp_missing(&self) -> Ordering {
        match self {
            Item::Int(n) if n.0.is_empty() => Ordering::Equal,
            Item::Int(_) => Ordering::Greater,
            Item::Str(q) => q.cmp(&RELEASE),
            Item::List(items) => cmp_lists(items, &[]),
        }
    }

    fn cmp_item(&self, other: &Item) -> Ordering {
        use Item::*;
        match (self, other) {
            (Int(a), Int(b)) => a.cmp(b),
            (Str(a), Str(b)) => a.cmp(b),
            (List(a), List(b)) => cmp_lists(a, b),
            // 1.1 > 1-1 > 1-sp
            (Int(_), _) | (List(_), Str(_)) => Ordering::Greater,
            (_, Int(_)) | (Str(_), List(_)) => Ordering::Less,
        }
    }
}

/// Item by item; where one list has ended its missing items compare as described at
/// [`Item::cmp_missing`].
///
/// Where the two items differ in kind, Maven orders them by kind alone, which is not transitive
/// when a null item (a `0` or `ga` kept because something follows it, or a sub-list) hides a
/// pre-release: `1-0.alpha < 1 < 1-sp`, yet `1-0.alpha > 1-sp` because a sub-list beats a
/// qualifier. So when the rest of one list is older than a missing tail and the rest of the
/// other is newer, that decides; otherwise Maven's kind order does. This changes no order
/// Maven's own tests state, and makes the order total (sorting by it is safe).
fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let o = match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if std::mem::discriminant(x) != std::mem::discriminant(y) => {
                let (ra, rb) = (cmp_lists(&a[i..], &[]), cmp_lists(&b[i..], &[]));
                if ra != rb {
                    return ra.cmp(&rb);
                }
                x.cmp_item(y)
            }
            (Some(x), Some(y)) => x.cmp_item(y),
            (Some(x), None) => x.cmp_missing(),
            (None, Some(y)) => y.cmp_missing().reverse(),
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The top-level item list, normalized.
#[derive(Debug, Clone)]
pub(super) struct Version(Vec<Item>);

/// Characters Maven's model validator refuses in a version (they are illegal in file names).
const ILLEGAL: &[char] = &['\\', '/', ':', '"', '<', '>', '|', '?', '*'];

/// Parses a Maven version. `ComparableVersion` itself accepts any string; this rejects the empty
/// string, whitespace, control and non-ASCII characters and the characters Maven refuses in
/// versions, so garbage in advisory data is reported instead of silently ordered.
pub(super) fn parse(input: &str) -> Result<Version, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("empty version".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !c.is_ascii_graphic() || ILLEGAL.contains(c))
    {
        return Err(format!("character {c:?} is not allowed"));
    }
    let s = s.to_ascii_lowercase();

    // Each list opened is the last item of the one before it and is the only one items are
    // added to from then on, so the nesting is a chain: `lists[k + 1]` becomes the last item of
    // `lists[k]` once parsing is done.
    let mut lists: Vec<Vec<Item>> = vec![Vec::new()];
    let mut in_digits = false;
    let mut start = 0;
    let token = |digits: bool, t: &str| {
        if digits {
            Item::Int(Num(t.trim_start_matches('0').to_string()))
        } else {
            Item::Str(Qualifier::new(t, false))
        }
    };
    for (i, c) in s.char_indices() {
        let cur = lists.len() - 1;
        match c {
            '.' | '-' => {
                // An empty token (`1..2`, `1-.1`) counts as 0.
                let item = if i == start {
                    Item::Int(Num(String::new()))
                } else {
                    token(in_digits, &s[start..i])
                };
                lists[cur].push(item);
                start = i + 1;
                if c == '-' {
                    lists.push(Vec::new());
                }
            }
            '0'..='9' => {
                if !in_digits && i > start {
                    // Letters then digits (`rc1`): the letters are a qualifier, the digits start a
                    // sub-list. After a `.` the qualifier opens a sub-list of its own, like `-`.
                    if !lists[cur].is_empty() {
                        lists.push(Vec::new());
                    }
                    lists
                        .last_mut()
                        .expect("never empty")
                        .push(Item::Str(Qualifier::new(&s[start..i], true)));
                    start = i;
                    lists.push(Vec::new());
                }
                in_digits = true;
            }
            _ => {
                if in_digits && i > start {
                    // Digits then letters (`1rc`): the letters start a sub-list.
                    lists[cur].push(token(true, &s[start..i]));
                    start = i;
                    lists.push(Vec::new());
                }
                in_digits = false;
            }
        }
    }
    if start < s.len() {
        // A trailing qualifier after a `.` opens a sub-list too (`2.0.a == 2-a`).
        if !in_digits && !lists.last().expect("never empty").is_empty() {
            lists.push(Vec::new());
        }
        let item = token(in_digits, &s[start..]);
        lists.last_mut().expect("never empty").push(item);
    }

    // Normalize innermost first, then hang each list off the end of its parent.
    let mut inner: Option<Vec<Item>> = None;
    while let Some(mut list) = lists.pop() {
        if let Some(child) = inner.take() {
            list.push(Item::List(child));
        }
        normalize(&mut list);
        inner = Some(list);
    }
    Ok(Version(inner.unwrap_or_default()))
}

/// Drops null items from the end of the list, looking past a trailing non-empty sub-list
/// (`1.0-alpha` is `[1, [alpha]]`) but stopping at the first other non-null item.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.0, &other.0)
    }
}

// Equality is the order's, so `1.0 == 1` and `1-ga == 1`.
equality_from_order!(Version);

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Ecosystem::Maven;
    use std::cmp::Ordering::*;

    /// Maven's own qualifier ordering test, restated.
    #[test]
    fn qualifiers_ascending() {
        assert_ascending(
            Maven,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
        assert_ascending(
            Maven,
            &[
                "1-alpha",
                "1-beta",
                "1-milestone",
                "1-rc",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-abc",
                "1-1",
                "1.1",
            ],
        );
    }

    /// Maven's own number ordering test, with `2.0.a == 2.0.0.a == 2-a` (MNG-7644).
    #[test]
    fn numbers_ascending() {
        assert_ascending(
            Maven,
            &[
                "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c",
                "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2",
                "11.m11", "11", "11.a", "11b", "11c", "11m",
            ],
        );
    }

    #[test]
    fn real_world_ascending() {
        assert_ascending(
            Maven,
            &[
                "1.6",
                "1.7",
                "1.7.1",
                "2.0.0.M1",
                "2.0.0.RC1",
                "2.0.0.RC2",
                "2.0.0.RELEASE",
                "2.0.0.SP1",
                "2.0.1",
                "2.9.10",
                "2.9.10.1",
                "2.9.10.8",
                "2.10.0",
                "2.14.1",
                "2.15.0-rc1",
                "2.15.0-rc2",
                "2.15.0",
                "2.15.1",
                // The snapshot of alpha1 comes before alpha1 itself.
                "3.0.0-alpha1-SNAPSHOT",
                "3.0.0-alpha1",
                "3.0.0-beta1",
                "3.0.0",
                "3.0.0-android",
                "3.0.0-jre",
                // MNG-6572: long numbers.
                "20190126.230843",
                "1234567890.12345",
                "123456789012345.1H.5-beta",
                "12345678901234567890.1H.5-beta",
            ],
        );
    }

    #[test]
    fn equal_spellings() {
        assert_pairs(
            Maven,
            &[
                // Trailing nulls.
                ("1", Equal, "1.0"),
                ("1", Equal, "1.0.0"),
                ("1", Equal, "1-0"),
                ("1", Equal, "1.0-0"),
                ("1", Equal, "1."),
                ("1", Equal, "1-"),
                ("1", Equal, "1.0.0-0.0.0"),
                ("1-foo", Equal, "1.0.0-foo.0.0"),
                ("0", Equal, "0.0.0-0.0.0"),
                ("0", Equal, "0-final-ga"),
                ("1.1", Equal, "1.01"),
                ("1", Equal, "0000000000000000001"),
                ("0", Equal, "0000000000000000000"),
                // No separator between number and letters.
                ("1a", Equal, "1-a"),
                ("1a", Equal, "1.0-a"),
                ("1a", Equal, "1.0.0-a"),
                ("1.0a", Equal, "1-a"),
                ("1.0.0x", Equal, "1-x"),
                ("1-1.foo-bar-1-baz-0.1", Equal, "1-1.foo-bar1baz-.1"),
                // Aliases, and a/b/m only when a digit follows.
                ("1ga", Equal, "1"),
                ("1release", Equal, "1"),
                ("1final", Equal, "1"),
                ("1.0.RELEASE", Equal, "1.0"),
                ("1.0", Equal, "1.0-final"),
                ("1.0-final", Equal, "1.0-ga"),
                ("2.0.0.Final", Equal, "2.0.0"),
                ("1cr", Equal, "1rc"),
                ("1.0-RC1", Equal, "1.0-cr1"),
                ("1a1", Equal, "1-alpha-1"),
                ("1.0-alpha1", Equal, "1.0-a1"),
                ("1b2", Equal, "1-beta-2"),
                ("1m3", Equal, "1-milestone-3"),
                ("1-c-1", Equal, "1c1"),
                // Not followed by a digit, `a` is just another qualifier, newer than a release.
                ("1-a", Greater, "1-alpha"),
                ("1-a", Greater, "1"),
                // A qualifier after a dot is a sub-list like one after a hyphen (MNG-7644).
                ("1.0.0.Beta1", Equal, "1.0.0-beta-1"),
                ("2-rc", Equal, "2.0.rc"),
                ("2.0.abc", Equal, "2.0.0.abc"),
                // Case.
                ("1X", Equal, "1x"),
                ("1Ga", Equal, "1"),
                ("1FINAL", Equal, "1"),
                ("1RELeaSE", Equal, "1"),
                ("1cR", Equal, "1rC"),
                ("1m3", Equal, "1MILESTONE3"),
                (
                    "1-abcdefghijklmnopqrstuvwxyz",
                    Equal,
                    "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                ),
            ],
        );
    }

    #[test]
    fn tricky_orderings() {
        assert_pairs(
            Maven,
            &[
                ("1", Less, "1.1"),
                ("1.0-alpha-1", Less, "1.0"),
                ("1.0-alpha-1-SNAPSHOT", Less, "1.0-alpha-1"),
                ("1.0-beta-1", Less, "1.0-SNAPSHOT"),
                ("1.0-SNAPSHOT", Less, "1.0"),
                ("1.0", Less, "1.0-1"),
                ("1.0.0", Less, "1.0-1"),
                ("2.0-1", Less, "2.0.1"),
                ("2.0.1-klm", Less, "2.0.1-lmn"),
                ("2.0.1", Less, "2.0.1-xyz"),
                ("2.0.1-xyz", Less, "2.0.1-123"),
                // A number after a hyphen is newer than the release and than any qualifier.
                ("1-sp", Less, "1-1"),
                ("1-ga", Less, "1-sp"),
                // MNG-5568: transitive again.
                ("6.1.0rc3", Less, "6.1.0"),
                ("6.1.0rc3", Less, "6.1H.5-beta"),
                ("6.1.0", Less, "6.1H.5-beta"),
                // MNG-6964: a "-0." prefix does not make a qualifier vanish.
                ("1-0.alpha", Less, "1-0.beta"),
                ("1-0.beta", Less, "1"),
                // MNG-7644: 1.0.0.X1 < 1.0.0-X2.
                ("1.0.0.RC1", Less, "1.0.0-RC2"),
                ("1.0.0.abc1", Less, "1.0.0-abc2"),
                ("1.0.0.m1", Less, "1.0.0-m2"),
                // ComparableVersion, unlike the POM reference's prose, keeps the sub-list that
                // `-ga-` leaves behind: [1, [[1]]] < [1, [1]].
                ("1-ga-1", Less, "1-1"),
                ("0.7", Less, "2"),
                ("0.0.0-2021-05-17T01-01-51-5ec03a8b", Less, "20.0.0"),
            ],
        );
    }

    /// `ComparableVersion` is not a total order: `1-0.alpha < 1 < 1-sp` but it puts
    /// `1-0.alpha` after `1-sp` (a sub-list beats a qualifier); likewise `1-ga.1` against
    /// `1-0.alpha` and `1.0.alpha.1` against `1-sp`. Here those pairs follow the release instead,
    /// and the table as a whole is a consistent order.
    #[test]
    fn cycles_broken_at_the_release() {
        assert_pairs(
            Maven,
            &[
                ("1-0.alpha", Less, "1"),
                ("1", Less, "1-sp"),
                ("1-0.alpha", Less, "1-sp"),
                ("1", Less, "1-ga.1"),
                ("1-0.alpha", Less, "1-ga.1"),
                ("1-ga.1", Less, "1-sp.1"),
                ("1.0.alpha.1", Less, "1"),
                ("1.0.alpha.1", Less, "1-1"),
                ("1.0.alpha.1", Less, "1-sp"),
                ("1.ga.1", Greater, "1.0.alpha.1"),
                ("1.sp.1", Greater, "1.0.alpha.1"),
                // Same side of the release: Maven's kind order (number > sub-list > qualifier).
                ("1-sp", Less, "1-1"),
                ("2.0-1", Less, "2.0.1"),
                ("1-alpha", Less, "1-0.alpha"),
            ],
        );
    }

    /// Transitivity over generated spellings, which is where Maven's own order has cycles.
    #[test]
    fn total_order_on_generated_versions() {
        let atoms = [
            "0", "1", "2", "a", "b", "m", "sp", "ga", "final", "alpha", "rc", "snapshot", "x", ".",
            ".", "-", "-",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        let spellings: Vec<String> = (0..150)
            .map(|_| {
                (0..1 + next() % 7)
                    .map(|_| atoms[next() % atoms.len()])
                    .collect()
            })
            .collect();
        let versions: Vec<(&str, super::Version)> = spellings
            .iter()
            .map(|s| (s.as_str(), super::parse(s).unwrap()))
            .collect();
        for (a, va) in &versions {
            for (b, vb) in &versions {
                assert_eq!(va.cmp(vb), vb.cmp(va).reverse(), "{a} vs {b}");
                if va > vb {
                    continue;
                }
                for (c, vc) in &versions {
                    if vb <= vc {
                        assert!(va <= vc, "{a} <= {b} <= {c}");
                    }
                }
            }
        }
    }

    #[test]
    fn invalid() {
        assert_invalid(
            Maven,
            &["", "  ", "1.0 beta", "1.0/2", "1:2", "1.0*", "1.0-\u{e9}"],
            "1.0",
        );
    }
}
