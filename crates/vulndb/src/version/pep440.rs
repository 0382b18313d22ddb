//! Python version ordering per PEP 440 (as implemented by `packaging`).
//!
//! Input is normalised the way PEP 440 prescribes: case-insensitive,
//! surrounding whitespace and a leading `v` ignored, `alpha/beta/c/pre/
//! preview` spelled `a/b/rc/rc/rc`, `rev/r/-N` meaning post, optional
//! separators, implicit 0 for a missing pre/post/dev number.

use super::Num;

/// The sort key of a version; the derived `Ord` compares fields in order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Version {
    epoch: Num,
    /// Release numbers without trailing zeros, so `1.0 == 1.0.0`.
    release: Vec<Num>,
    pre: Pre,
    /// No post-release sorts before any post-release.
    post: Option<Num>,
    dev: Dev,
    /// No local label sorts before any local label.
    local: Option<Vec<LocalPart>>,
}

/// Pre-release position. A dev release of a final version (`1.0.dev0`)
/// sorts before its pre-releases (`1.0a1`), and a final release after them.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Pre {
    DevOfRelease,
    Some(PreKind, Num),
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    A,
    B,
    Rc,
}

/// A dev release sorts before the same version without `.devN`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dev {
    Some(Num),
    None,
}

/// Local label segment: numeric segments sort after alphanumeric ones and
/// compare as numbers; alphanumeric ones compare as (lowercased) strings.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    Alpha(String),
    Numeric(Num),
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn eat_sep(&mut self) -> bool {
        matches!(self.peek(), Some(b'-' | b'_' | b'.')) && {
            self.i += 1;
            true
        }
    }

    fn digits(&mut self) -> Option<Num> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        (start != self.i).then(|| Num(self.s[start..self.i].to_string()))
    }

    /// An optional separator followed by one of `words` (tried in order, so
    /// longer spellings must come first). Consumes nothing on failure.
    fn tag<T: Copy>(&mut self, words: &[(&str, T)]) -> Option<T> {
        let save = self.i;
        self.eat_sep();
        for &(w, v) in words {
            if self.eat(w) {
                return Some(v);
            }
        }
        self.i = save;
        None
    }

    /// The number after a pre/post/dev tag: an optional separator then
    /// digits, or implicitly 0. A separator not followed by digits is left
    /// for the next part (e.g. the `.` in `1.0a.dev1`).
    fn tag_number(&mut self) -> Num {
        let save = self.i;
        self.eat_sep();
        match self.digits() {
            Some(n) => n,
            None => {
                self.i = save;
                Num("0".into())
            }
        }
    }
}

pub(super) fn parse(input: &str) -> Result<Version, String> {
    let lower = input.trim().to_ascii_lowercase();
    let mut c = Cursor { s: &lower, i: 0 };
    if c.s.is_empty() {
        return Err("empty version".into());
    }
    c.eat("v");
    let mut epoch = Num("0".into());
    let mut first = c.digits().ok_or("release must start with a number")?;
    if c.eat("!") {
        epoch = first;
        first = c
            .digits()
            .ok_or("expected a release number after the epoch '!'")?;
    }
    let mut release = vec![first];
    while c.peek() == Some(b'.') && c.s.as_bytes().get(c.i + 1).is_some_and(u8::is_ascii_digit) {
        c.i += 1;
        release.extend(c.digits());
    }
    while release
        .last()
        .is_some_and(|n| n.0.bytes().all(|b| b == b'0'))
        && release.len() > 1
    {
        release.pop();
    }

    let pre = c
        .tag(&[
            ("preview", PreKind::Rc),
            ("alpha", PreKind::A),
            ("beta", PreKind::B),
            ("pre", PreKind::Rc),
            ("rc", PreKind::Rc),
            ("a", PreKind::A),
            ("b", PreKind::B),
            ("c", PreKind::Rc),
        ])
        .map(|kind| (kind, c.tag_number()));

    let mut post = None;
    let save = c.i;
    if c.eat("-") {
        // Implicit post release: `1.0-1` means `1.0.post1`.
        match c.digits() {
            Some(n) => post = Some(n),
            None => c.i = save,
        }
    }
    if post.is_none() && c.tag(&[("post", ()), ("rev", ()), ("r", ())]).is_some() {
        post = Some(c.tag_number());
    }

    let dev = match c.tag(&[("dev", ())]) {
        Some(()) => Dev::Some(c.tag_number()),
        None => Dev::None,
    };

    let mut local = None;
    if c.eat("+") {
        let label = &c.s[c.i..];
        let mut parts = Vec::new();
        for seg in label.split(['.', '-', '_']) {
            if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("invalid local version label {label:?}"));
            }
            parts.push(if seg.bytes().all(|b| b.is_ascii_digit()) {
                LocalPart::Numeric(Num(seg.to_string()))
            } else {
                LocalPart::Alpha(seg.to_string())
            });
        }
        c.i = c.s.len();
        local = Some(parts);
    }
    if c.i != c.s.len() {
        return Err(format!("unexpected {:?}", &c.s[c.i..]));
    }

    let pre = match pre {
        Some((kind, n)) => Pre::Some(kind, n),
        None if post.is_none() && matches!(dev, Dev::Some(_)) => Pre::DevOfRelease,
        None => Pre::None,
    };
    Ok(Version {
        epoch,
        release,
        pre,
        post,
        dev,
        local,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Ecosystem::Pypi;
    use std::cmp::Ordering::*;

    #[test]
    fn ascending() {
        // Includes the ordering example from PEP 440's "Summary of
        // permitted suffixes and relative ordering".
        assert_ascending(
            Pypi,
            &[
                "0.9",
                "1.dev0",
                "1.0.dev456",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1.dev456",
                "1.0rc1",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.15",
                "1.1.dev1",
                "1.1",
                "2.0",
                "1!0.1",
                "1!1.0",
            ],
        );
    }

    #[test]
    fn pairs() {
        assert_pairs(
            Pypi,
            &[
                ("1.0.dev0", Less, "1.0a1"),
                ("1.0a1", Less, "1.0b2"),
                ("1.0b2", Less, "1.0rc1"),
                ("1.0rc1", Less, "1.0"),
                ("1.0", Less, "1.0.post1"),
                ("1!0.1", Greater, "2.0"),
                ("1.0+local", Greater, "1.0"),
                ("1.0", Equal, "1.0.0"),
                ("1", Equal, "1.0.0.0"),
                ("0", Equal, "0.0"),
                ("0!1.0", Equal, "1.0"),
                ("1.01", Equal, "1.1"),
                ("v1.0", Equal, "1.0"),
                (" 1.0 ", Equal, "1.0"),
                ("1.0ALPHA1", Equal, "1.0a1"),
                ("1.0alpha1", Equal, "1.0a1"),
                ("1.0-a-1", Equal, "1.0a1"),
                ("1.0_a.1", Equal, "1.0a1"),
                ("1.0a", Equal, "1.0a0"),
                ("1.0beta2", Equal, "1.0b2"),
                ("1.0c1", Equal, "1.0rc1"),
                ("1.0pre1", Equal, "1.0rc1"),
                ("1.0preview1", Equal, "1.0rc1"),
                ("1.0-1", Equal, "1.0.post1"),
                ("1.0post1", Equal, "1.0.post1"),
                ("1.0.rev1", Equal, "1.0.post1"),
                ("1.0r1", Equal, "1.0.post1"),
                ("1.0.post", Equal, "1.0.post0"),
                ("1.0-dev1", Equal, "1.0.dev1"),
                ("1.0dev", Equal, "1.0.dev0"),
                ("1.0a.dev1", Equal, "1.0a0.dev1"),
                ("1.0+ubuntu-1", Equal, "1.0+ubuntu.1"),
                ("1.0+UBUNTU.1", Equal, "1.0+ubuntu.1"),
                ("1.0+1", Greater, "1.0+abc"),
                ("1.0+abc.1", Greater, "1.0+abc"),
                ("1.0+10", Greater, "1.0+9"),
                ("1.0.post1", Greater, "1.0+local"),
                ("1.0.post1.dev1", Less, "1.0.post1"),
                ("1.0.post1.dev1", Greater, "1.0"),
                ("1.0rc1.post1", Greater, "1.0rc1"),
                ("1.0rc1.post1", Less, "1.0"),
                ("1.0.dev1", Less, "1.0.dev2"),
                ("1.0.dev1", Greater, "0.9.post1"),
            ],
        );
    }

    #[test]
    fn invalid() {
        assert_invalid(
            Pypi,
            &[
                "", "abc", "1.0.", "1.0+", "1.0+a..b", "1.0+a_", "1!", "1.0 beta", "1.0foo",
                "1.0-", "1..0", "1.0a1a",
            ],
            "1.0",
        );
    }
}
