//! Regular expressions with Go (RE2) semantics for Rego's `regex.*` builtins.
//!
//! Go's `\w`, `\d` and `\s` are ASCII-only; Rust's are Unicode and compile to far larger automata,
//! so patterns such as `:[\w][\w.-]{0,127}` exceed regorus' compiled-size limit. We translate the
//! ASCII classes, raise the size limit, and cache compiled patterns across rules and threads.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use regex::Regex;

static CACHE: RwLock<Option<HashMap<String, Arc<Regex>>>> = RwLock::new(None);

/// Compiles (or fetches from the cache) a Go-syntax regular expression.
pub fn compile(pattern: &str) -> Result<Arc<Regex>, regex::Error> {
    if let Some(re) = CACHE
        .read()
        .ok()
        .and_then(|c| c.as_ref().and_then(|m| m.get(pattern).cloned()))
    {
        return Ok(re);
    }
    let re = Arc::new(
        regex::RegexBuilder::new(&translate(pattern))
            .size_limit(64 << 20)
            .dfa_size_limit(16 << 20)
            .build()?,
    );
    if let Ok(mut cache) = CACHE.write() {
        let map = cache.get_or_insert_with(HashMap::new);
        if map.len() > 4096 {
            map.clear();
        }
        map.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

/// Rewrites `\w`, `\d`, `\s` to their ASCII classes, inside and outside bracket expressions.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let ascii = match n {
                    'w' => Some("0-9A-Za-z_"),
                    'd' => Some("0-9"),
                    's' => Some("\\t\\n\\x0C\\r "),
                    _ => None,
                };
                match ascii {
                    Some(set) if in_class => out.push_str(set),
                    Some(set) => {
                        out.push('[');
                        out.push_str(set);
                        out.push(']');
                    }
                    None => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `]` (or `^]`) is a literal inside the class.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // POSIX class like [:alpha:] inside a bracket expression.
                out.push('[');
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_word_class_fits_and_matches() {
        let re = compile(r"^(?:[\w.-]+/)?[\w][\w.-]{0,127}$").unwrap();
        assert!(re.is_match("nginx_1.2-alpine"));
        assert!(!re.is_match("héllo"));
    }

    #[test]
    fn translation_keeps_escapes_and_classes() {
        assert_eq!(translate(r"a\.b[\w-]\d"), r"a\.b[0-9A-Za-z_-][0-9]");
        assert_eq!(translate(r"[]a]"), r"[\]a]");
        assert_eq!(translate(r"[[:alpha:]\s]"), "[[:alpha:]\\t\\n\\x0C\\r ]");
    }
}
