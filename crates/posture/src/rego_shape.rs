//! What a rule's Rego looks at, read from its source: whether each alert comes from one input
//! object alone, which lets a scan evaluate the rule over any batch of objects.

use std::collections::BTreeMap;

use crate::rego_rewrite::{lex, Kind, Lexeme};

/// True when every alert of `source` is derived from a single object of `input`: each rule that
/// reads `input` iterates it exactly once, as `x := input[_]`, `x = input[_]` or
/// `some x in input`, directly in its body, and nothing else reads `input` (no helper rule or
/// function, no comprehension, no `count(input)`). Evaluating such a rule over a partition of its
/// objects and joining the alerts gives what one evaluation over all of them gives.
///
/// Conservative: a `false` only means the rule is evaluated over all its objects at once.
pub fn alerts_per_object(source: &str) -> bool {
    let text = crate::rego_rewrite::always(source);
    let lx = lex(&text);
    let word = |l: &Lexeme| &text[l.start..l.end];
    // Top-level statements: the lexeme index each starts at, and how often each reads `input`.
    let mut reads: BTreeMap<usize, usize> = BTreeMap::new();
    let mut statement = 0;
    let mut depth: Vec<(u8, bool)> = Vec::new(); // (bracket, holds a comprehension bar)
    for (i, l) in lx.iter().enumerate() {
        match l.kind {
            Kind::Open(c) => depth.push((c, false)),
            Kind::Close(_) => {
                depth.pop();
            }
            Kind::Bar => {
                if let Some(top) = depth.last_mut() {
                    top.1 = true;
                }
            }
            Kind::Ident if depth.is_empty() && (i == 0 || lx[i - 1].kind == Kind::Separator) => {
                statement = i;
            }
            Kind::Ident if word(l) == "input" => {
                let field_of_something = i > 0 && word(&lx[i - 1]) == ".";
                if field_of_something {
                    continue;
                }
                let in_rule_body = matches!(depth.as_slice(), [(b'{', false)]);
                if !in_rule_body || !iterates_once(&lx, i, &word) {
                    return false;
                }
                *reads.entry(statement).or_default() += 1;
            }
            _ => {}
        }
    }
    // Each reading rule reads once, produces alerts (a partial set), and is not used by others.
    let mut readers = Vec::new();
    for (&start, &n) in &reads {
        if n != 1 || !is_partial_set_head(&lx[start..], &word) {
            return false;
        }
        readers.push(word(&lx[start]));
    }
    let mentioned_elsewhere = lx.iter().enumerate().any(|(i, l)| {
        l.kind == Kind::Ident
            && readers.contains(&word(l))
            && !reads.contains_key(&i)
            && !(i > 0 && word(&lx[i - 1]) == ".")
    });
    !mentioned_elsewhere
}

/// `x := input[_]`, `x = input[_]` or `some x in input` / `some k, x in input`, as a statement.
fn iterates_once<'s>(lx: &[Lexeme], at: usize, word: &impl Fn(&Lexeme) -> &'s str) -> bool {
    let ends_statement = |j: usize| {
        lx.get(j)
            .is_none_or(|l| matches!(l.kind, Kind::Separator | Kind::Close(_)))
    };
    let starts_statement =
        |j: usize| j == 0 || matches!(lx[j - 1].kind, Kind::Separator | Kind::Open(b'{'));
    let text: Vec<&str> = lx[at.saturating_sub(3)..at].iter().map(word).collect();
    let assigned = match text.as_slice() {
        [_, ":", "="] => at >= 3 && lx[at - 3].kind == Kind::Ident && starts_statement(at - 3),
        [_, _, "="] => {
            at >= 2
                && lx[at - 2].kind == Kind::Ident
                && word(&lx[at - 2]) != "="
                && starts_statement(at - 2)
        }
        _ => false,
    };
    if assigned {
        let rest: Vec<&str> = lx[at + 1..(at + 4).min(lx.len())]
            .iter()
            .map(word)
            .collect();
        return rest == ["[", "_", "]"] && ends_statement(at + 4);
    }
    // some x in input / some k, x in input
    let mut j = at;
    if j == 0 || word(&lx[j - 1]) != "in" {
        return false;
    }
    j -= 1;
    let mut vars = 0;
    while j > 0 {
        j -= 1;
        match (lx[j].kind, word(&lx[j])) {
            (Kind::Ident, "some") => {
                return vars > 0 && vars <= 2 && starts_statement(j) && ends_statement(at + 1)
            }
            (Kind::Ident, _) => vars += 1,
            (Kind::Comma, _) => {}
            _ => return false,
        }
    }
    false
}

/// `name[x] {`, `name[x] if {` or `name contains x if {`: a partial set, which upstream reports
/// as alerts.
fn is_partial_set_head<'s>(head: &[Lexeme], word: &impl Fn(&Lexeme) -> &'s str) -> bool {
    let w: Vec<&str> = head.iter().take(6).map(word).collect();
    matches!(
        w.as_slice(),
        [_, "[", _, "]", "{", ..] | [_, "[", _, "]", "if", "{"] | [_, "contains", _, "if", "{", ..]
    ) && head[0].kind == Kind::Ident
}

#[cfg(test)]
mod tests {
    use super::alerts_per_object;

    #[test]
    fn one_iteration_per_alerting_rule_is_per_object() {
        for src in [
            "package armo_builtins\ndeny[msga] {\n\twl := input[_]\n\twl.kind == \"Pod\"\n\tmsga := {\"x\": wl}\n}\n",
            "package armo_builtins\nimport rego.v1\ndeny contains msga if {\n\tsome wl in input\n\tmsga := wl\n}\ndeny contains msga if {\n\tsome i, wl in input\n\tis_bad(wl)\n\tmsga := wl\n}\nis_bad(w) if { w.spec.x }\n",
            "package armo_builtins\ndeny[msga] {\n\tpod = input[_]\n\tpaths := [p | p := pod.spec.containers[_].name]\n\tmsga := paths\n}\n",
        ] {
            assert!(alerts_per_object(src), "{src}");
        }
    }

    #[test]
    fn rules_that_relate_objects_are_not() {
        for src in [
            // two objects in one body
            "package armo_builtins\ndeny[m] {\n\twl := input[_]\n\tsvc := input[_]\n\tm := [wl, svc]\n}\n",
            // a comprehension over all objects
            "package armo_builtins\ndeny[m] {\n\twl := input[_]\n\tsvcs := [s | s := input[_]; s.kind == \"Service\"]\n\tm := svcs\n}\n",
            // a helper reads input
            "package armo_builtins\ndeny[m] {\n\twl := input[_]\n\texposed(wl)\n\tm := wl\n}\nexposed(wl) {\n\tsvc := input[_]\n\tsvc.spec.selector == wl.metadata.labels\n}\n",
            // the whole input
            "package armo_builtins\ndeny[m] {\n\tcount(input) > 3\n\tm := 1\n}\n",
            // a helper set built from input and used by the alerting rule
            "package armo_builtins\nservices[s] {\n\ts := input[_]\n}\ndeny[m] {\n\tm := services[_]\n}\n",
            // iteration by index, whose variable may relate objects
            "package armo_builtins\ndeny[m] {\n\tinput[i].kind == \"Pod\"\n\tm := input[i]\n}\n",
        ] {
            assert!(!alerts_per_object(src), "{src}");
        }
    }
}
