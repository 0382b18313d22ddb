//! Source rewrites that let regorus run Rego written for OPA.
//!
//! Each rewrite keeps the meaning OPA gives the source and keeps line numbers, so that errors
//! still point at the author's lines.

/// Rewrites applied to every rule before it is compiled.
pub(crate) fn always(source: &str) -> String {
    let source = bodiless_functions(source);
    let source = bare_root_imports(&source);
    hoist_some_declarations(&source)
}

/// OPA accepts `f("x")` at top level as shorthand for `f("x") := true`; regorus does not parse it.
fn bodiless_functions(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::with_capacity(source.len() + 64);
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_end();
        let starts_top_level = trimmed
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        let next_opens_body = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty())
            .is_some_and(|l| l.starts_with('{') || l.starts_with("if"));
        if starts_top_level
            && trimmed.ends_with(')')
            && !trimmed.contains(['{', '=', ' '])
            && trimmed.find('(').is_some_and(|p| p > 0)
            && !trimmed.starts_with("import")
            && !trimmed.starts_with("package")
            && !next_opens_body
        {
            out.push_str(trimmed);
            out.push_str(" = true\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `import data` and `import input` name documents that are always in scope, so OPA treats them
/// as no-ops; regorus rejects them ("invalid ref in import"). They become comments.
fn bare_root_imports(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 8);
    for line in source.split_inclusive('\n') {
        let words: Vec<&str> = line.split_whitespace().collect();
        if matches!(words.as_slice(), ["import", "data" | "input"]) {
            out.push_str("# ");
        }
        out.push_str(line);
    }
    out
}

/// regorus fails with "duplicated definition of local variable" when a `some x` declaration is
/// evaluated a second time in the same body, which happens whenever an earlier statement of the
/// body iterates (e.g. `w := input[_]; some i; ...` over two objects). A declaration placed
/// first in its body runs once per body evaluation. OPA rejects a use of a variable before its
/// `some`, so moving every declaration to the start of its body does not change what it means.
fn hoist_some_declarations(source: &str) -> String {
    let lexemes = lex(source);
    let mut edits = Edits::default();
    let mut frames: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < lexemes.len() {
        let lx = &lexemes[i];
        match lx.kind {
            Kind::Open(c) => frames.push(Frame::new(c, i)),
            Kind::Close(_) => {
                frames.pop();
            }
            Kind::Bar | Kind::Separator | Kind::Other => {
                if let Some(f) = frames.last_mut() {
                    f.see(lx.kind, &source[lx.start..lx.end], i);
                }
            }
            Kind::Ident if &source[lx.start..lx.end] == "some" => {
                if let Some(body_start) = frames.last().and_then(Frame::body_start) {
                    if let Some(end) = some_declaration_end(source, &lexemes, i) {
                        let statements_before = lexemes[body_start + 1..i]
                            .iter()
                            .any(|l| l.kind != Kind::Separator);
                        if statements_before {
                            let decl = &source[lx.start..lexemes[end - 1].end];
                            edits.insert(lexemes[body_start].end, format!(" {decl};"));
                            // An emptied statement must not leave `; ;` behind.
                            let is_semicolon = |l: Option<&Lexeme>| {
                                l.is_some_and(|l| &source[l.start..l.end] == ";")
                            };
                            let (from, to) = if is_semicolon(lexemes.get(end)) {
                                (lx.start, lexemes[end].end)
                            } else if is_semicolon(lexemes.get(i - 1)) {
                                (lexemes[i - 1].start, lexemes[end - 1].end)
                            } else {
                                (lx.start, lexemes[end - 1].end)
                            };
                            edits.replace(from, to, blanked(&source[from..to]));
                        }
                        i = end;
                        continue;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    edits.apply(source)
}

/// OPA moves a comprehension's head term into the comprehension's body before it orders the
/// body, so a head like `annotations[i]` may be what binds `i`. regorus schedules the body
/// without the head and fails on `[annotations[i] | annotation = i; ...]` ("could not schedule
/// all statements" / "incompatible destructuring patterns"). This rewrite does what OPA does:
/// `[h | body]` becomes `[__ks_head_N | body; __ks_head_N = h]` for heads that index something.
pub(crate) fn comprehension_heads(source: &str) -> String {
    let lexemes = lex(source);
    let mut edits = Edits::default();
    let mut frames: Vec<Frame> = Vec::new();
    let mut counter = 0;
    for (i, lx) in lexemes.iter().enumerate() {
        match lx.kind {
            Kind::Open(c) => frames.push(Frame::new(c, i)),
            Kind::Bar | Kind::Separator | Kind::Other | Kind::Colon => {
                if let Some(f) = frames.last_mut() {
                    f.see(lx.kind, &source[lx.start..lx.end], i);
                }
            }
            Kind::Close(_) => {
                let Some(f) = frames.pop() else { continue };
                let (Some(bar), b'[' | b'{') = (f.bar, f.open) else {
                    continue;
                };
                // The head's parts: the element, or an object comprehension's key and value.
                let parts = match f.depth_zero_colon {
                    Some(colon) if f.open == b'{' => vec![(f.open_at + 1, colon), (colon + 1, bar)],
                    _ => vec![(f.open_at + 1, bar)],
                };
                let Some(last_body) = lexemes[bar + 1..i]
                    .iter()
                    .rev()
                    .find(|l| l.kind != Kind::Separator)
                else {
                    continue;
                };
                let mut tail = String::new();
                for (from, to) in parts {
                    if !indexes_something(&lexemes[from..to]) {
                        continue;
                    }
                    let (start, end) = (lexemes[from].start, lexemes[to - 1].end);
                    let var = format!("__ks_head_{counter}");
                    counter += 1;
                    tail.push_str(&format!("; {var} = {}", &source[start..end]));
                    edits.replace(start, end, var);
                }
                if !tail.is_empty() {
                    edits.insert(last_body.end, tail);
                }
            }
            _ => {}
        }
    }
    edits.apply(source)
}

/// A head term worth moving: it contains a bracketed index, and is not itself a literal array or
/// object (whose elements OPA evaluates in place).
fn indexes_something(head: &[Lexeme]) -> bool {
    let significant: Vec<&Lexeme> = head.iter().filter(|l| l.kind != Kind::Separator).collect();
    match significant.first() {
        None
        | Some(Lexeme {
            kind: Kind::Open(_),
            ..
        }) => false,
        Some(_) => significant.iter().any(|l| l.kind == Kind::Open(b'[')),
    }
}

/// If the `some` at `at` is a declaration (`some a, b` ending its statement, not `some x in xs`),
/// the index just past its last variable.
fn some_declaration_end(source: &str, lexemes: &[Lexeme], at: usize) -> Option<usize> {
    let statement_start = at == 0
        || matches!(
            lexemes[at - 1].kind,
            Kind::Separator | Kind::Open(b'{') | Kind::Bar
        );
    if !statement_start {
        return None;
    }
    let mut j = at + 1;
    loop {
        let var = lexemes.get(j)?;
        if var.kind != Kind::Ident || &source[var.start..var.end] == "in" {
            return None;
        }
        j += 1;
        match lexemes.get(j) {
            Some(l) if l.kind == Kind::Comma => j += 1,
            None => return Some(j),
            Some(l) if matches!(l.kind, Kind::Separator | Kind::Close(_)) => return Some(j),
            Some(_) => return None,
        }
    }
}

/// `text` with every character but line breaks turned into a space.
fn blanked(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect()
}

/// An open bracket and what was seen directly inside it so far.
struct Frame {
    open: u8,
    open_at: usize,
    /// The bar of a comprehension: a `|` before which the frame held a single term.
    bar: Option<usize>,
    /// The first `:` before the bar (an object comprehension's key/value split).
    depth_zero_colon: Option<usize>,
    /// A statement separator or an assignment/comparison was seen: a later `|` is set union.
    holds_statements: bool,
}

impl Frame {
    fn new(open: u8, open_at: usize) -> Frame {
        Frame {
            open,
            open_at,
            bar: None,
            depth_zero_colon: None,
            holds_statements: false,
        }
    }

    fn see(&mut self, kind: Kind, text: &str, at: usize) {
        if self.bar.is_some() {
            return;
        }
        match kind {
            Kind::Bar if !self.holds_statements => self.bar = Some(at),
            Kind::Colon if self.depth_zero_colon.is_none() => self.depth_zero_colon = Some(at),
            Kind::Separator if text == ";" => self.holds_statements = true,
            Kind::Other if text == "=" => self.holds_statements = true,
            _ => {}
        }
    }

    /// The lexeme after which this frame's statements begin, if it holds statements: a body in
    /// braces, or the part of a comprehension after its bar.
    fn body_start(&self) -> Option<usize> {
        match (self.open, self.bar) {
            (b'{' | b'[', Some(bar)) => Some(bar),
            (b'{', None) => Some(self.open_at),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Ident,
    Open(u8),
    Close(u8),
    Bar,
    Colon,
    Comma,
    /// `;` or a line break: the end of a statement.
    Separator,
    Other,
}

#[derive(Debug)]
pub(crate) struct Lexeme {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Splits Rego source into the lexemes the rewrites need; strings and comments are skipped.
pub(crate) fn lex(source: &str) -> Vec<Lexeme> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let kind = match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            quote @ (b'"' | b'`') => {
                // Strings are one lexeme; only "..." strings have escapes.
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if quote == b'"' && bytes[i] == b'\\' {
                        2
                    } else {
                        1
                    };
                }
                i += 1;
                out.push(Lexeme {
                    kind: Kind::Other,
                    start,
                    end: i.min(bytes.len()),
                });
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push(Lexeme {
                    kind: Kind::Ident,
                    start,
                    end: i,
                });
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'\n' | b';' => Kind::Separator,
            c @ (b'{' | b'[' | b'(') => Kind::Open(c),
            c @ (b'}' | b']' | b')') => Kind::Close(c),
            b'|' => Kind::Bar,
            b',' => Kind::Comma,
            b':' if bytes.get(i + 1) != Some(&b'=') => Kind::Colon,
            _ => {
                // Operators and numbers; a multi-byte character is skipped whole.
                i += source[i..].chars().next().map_or(1, char::len_utf8);
                out.push(Lexeme {
                    kind: Kind::Other,
                    start,
                    end: i,
                });
                continue;
            }
        };
        i += 1;
        out.push(Lexeme {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// Insertions and replacements by byte offset, applied together.
#[derive(Default)]
struct Edits(Vec<(usize, usize, String)>);

impl Edits {
    fn insert(&mut self, at: usize, text: String) {
        self.0.push((at, at, text));
    }

    fn replace(&mut self, start: usize, end: usize, text: String) {
        self.0.push((start, end, text));
    }

    fn apply(mut self, source: &str) -> String {
        // Stable by position: insertions at one offset keep the order they were made in.
        self.0.sort_by_key(|(start, end, _)| (*start, *end));
        let mut out = String::with_capacity(source.len() + 64);
        let mut at = 0;
        for (start, end, text) in self.0 {
            out.push_str(&source[at..start]);
            out.push_str(&text);
            at = end;
        }
        out.push_str(&source[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_some_declarations_move_to_the_start_of_their_body() {
        let src = "deny[m] {\n\tw := input[_]\n\tsome i, j\n\tc := w.c[i][j]\n}\n";
        let out = hoist_some_declarations(src);
        assert_eq!(
            out,
            "deny[m] { some i, j;\n\tw := input[_]\n\t         \n\tc := w.c[i][j]\n}\n"
        );
    }

    #[test]
    fn some_in_comprehension_bodies_moves_after_the_bar() {
        let src = "x := [c | w := input[_]; some i; c := w.c[i]]";
        assert_eq!(
            hoist_some_declarations(src),
            "x := [c | some i; w := input[_];         c := w.c[i]]"
        );
    }

    #[test]
    fn a_last_declaration_takes_the_separator_before_it() {
        assert_eq!(
            hoist_some_declarations("[c | c := 1; some i]"),
            "[c | some i; c := 1        ]"
        );
    }

    #[test]
    fn first_declarations_iterations_and_strings_stay() {
        for src in [
            "deny[m] {\n\tsome i\n\tc := input[i]\n}\n",
            "deny[m] {\n\tw := input[_]\n\tsome i, c in w.c\n}\n",
            "deny[m] {\n\tw := input[_]\n\tsome x in w.c\n}\n",
            "deny[m] {\n\tw := input[_]\n\tm := \"some i\" # some j\n}\n",
            "f(x) = y {\n\ty := [a | a := x[_]]\n}\n",
        ] {
            assert_eq!(hoist_some_declarations(src), src);
        }
    }

    #[test]
    fn bare_data_import_becomes_a_comment() {
        let src = "package p\nimport data\nimport data.cautils\nimport input\n";
        assert_eq!(
            bare_root_imports(src),
            "package p\n# import data\nimport data.cautils\n# import input\n"
        );
    }

    #[test]
    fn indexing_heads_move_into_the_body_as_opa_does() {
        let src = "s := [a[i] | x = i; startswith(i, \"p\")]";
        assert_eq!(
            comprehension_heads(src),
            "s := [__ks_head_0 | x = i; startswith(i, \"p\"); __ks_head_0 = a[i]]"
        );
        let obj = "o := {k: v[k] | some k in ks\n}";
        assert_eq!(
            comprehension_heads(obj),
            "o := {k: __ks_head_0 | some k in ks; __ks_head_0 = v[k]\n}"
        );
        for unchanged in [
            "s := [x | x := a[_]]",
            "s := [[x, y] | x := a[_]; y := b[x]]",
            "s := {\"a\": 1, \"b\": [2]}",
        ] {
            assert_eq!(comprehension_heads(unchanged), unchanged);
        }
    }
}
