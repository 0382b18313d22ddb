//! A Go-compatible `sprintf` for Rego rules.
//!
//! OPA formats with Go's `fmt.Sprintf`; rules depend on its exact output (for example `%o` prints
//! `644`, where regorus prints `0O644`). Arguments are converted as OPA converts them: numbers to
//! integers when integral, else floats; strings as strings; anything else as its Rego text.

use regorus::Value;

/// Formats `format` with `args` the way OPA's `sprintf` does.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars().peekable();
    let mut next_arg = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        // Flags.
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = read_number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(read_number(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        let text = format_one(verb, arg, &spec);
        out.push_str(&pad(text, &spec));
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| format!("{}={}", go_type(a), plain(a)))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

fn read_number(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0) * 10 + d as usize);
        chars.next();
    }
    n
}

fn pad(text: String, spec: &Spec) -> String {
    let Some(width) = spec.width else { return text };
    let len = text.chars().count();
    if len >= width {
        return text;
    }
    let fill = width - len;
    if spec.minus {
        format!("{text}{}", " ".repeat(fill))
    } else if spec.zero
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+')
    {
        let (sign, digits) = match text.strip_prefix('-') {
            Some(rest) => ("-", rest.to_string()),
            None => ("", text.clone()),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{text}", " ".repeat(fill))
    }
}

enum GoArg {
    Int(i128),
    Float(f64),
    Str(String),
    Other(String),
}

fn go_arg(v: &Value) -> GoArg {
    match v {
        Value::Number(n) => {
            if n.is_integer() {
                if let Some(i) = n.as_i128() {
                    return GoArg::Int(i);
                }
            }
            match n.as_f64() {
                Some(f) => GoArg::Float(f),
                None => GoArg::Other(n.format_decimal()),
            }
        }
        Value::String(s) => GoArg::Str(s.to_string()),
        other => GoArg::Other(rego_text(other)),
    }
}

fn go_type(v: &Value) -> &'static str {
    match go_arg(v) {
        GoArg::Int(_) => "int",
        GoArg::Float(_) => "float64",
        GoArg::Str(_) | GoArg::Other(_) => "string",
    }
}

fn plain(v: &Value) -> String {
    match go_arg(v) {
        GoArg::Int(i) => i.to_string(),
        GoArg::Float(f) => format_g(f),
        GoArg::Str(s) | GoArg::Other(s) => s,
    }
}

fn format_one(verb: char, v: &Value, spec: &Spec) -> String {
    let arg = go_arg(v);
    match (verb, &arg) {
        ('v', _) => plain(v),
        ('s', GoArg::Str(s) | GoArg::Other(s)) => match spec.precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('q', GoArg::Str(s) | GoArg::Other(s)) => serde_json::to_string(s).unwrap_or_default(),
        ('d', GoArg::Int(i)) => with_sign(i.to_string(), *i >= 0, spec),
        ('o', GoArg::Int(i)) => {
            let body = format!("{:o}", i.unsigned_abs());
            let body = if spec.sharp { format!("0{body}") } else { body };
            signed(body, *i < 0)
        }
        ('O', GoArg::Int(i)) => signed(format!("0o{:o}", i.unsigned_abs()), *i < 0),
        ('x', GoArg::Int(i)) => signed(
            format!(
                "{}{:x}",
                if spec.sharp { "0x" } else { "" },
                i.unsigned_abs()
            ),
            *i < 0,
        ),
        ('X', GoArg::Int(i)) => signed(
            format!(
                "{}{:X}",
                if spec.sharp { "0X" } else { "" },
                i.unsigned_abs()
            ),
            *i < 0,
        ),
        ('x', GoArg::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('b', GoArg::Int(i)) => signed(format!("{:b}", i.unsigned_abs()), *i < 0),
        ('c', GoArg::Int(i)) => char::from_u32(*i as u32)
            .map(String::from)
            .unwrap_or_default(),
        ('f' | 'F', GoArg::Float(f)) => with_sign(
            format!("{:.*}", spec.precision.unwrap_or(6), f),
            *f >= 0.0,
            spec,
        ),
        ('f' | 'F', GoArg::Int(i)) => {
            // Go refuses %f for an int; OPA passes integral numbers as ints.
            format!("%!f(int={i})")
        }
        ('e', GoArg::Float(f)) => format_e(*f, spec.precision.unwrap_or(6)),
        ('g', GoArg::Float(f)) => format_g(*f),
        ('t', GoArg::Other(s)) if s == "true" || s == "false" => s.clone(),
        (_, _) => format!("%!{verb}({}={})", go_type(v), plain(v)),
    }
}

fn signed(body: String, negative: bool) -> String {
    if negative {
        format!("-{body}")
    } else {
        body
    }
}

fn with_sign(s: String, non_negative: bool, spec: &Spec) -> String {
    if non_negative && spec.plus {
        format!("+{s}")
    } else if non_negative && spec.space {
        format!(" {s}")
    } else {
        s
    }
}

/// Go's `%g` / `%v` for float64: shortest representation, exponent form for large/small magnitudes.
fn format_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        let s = format!("{f:e}");
        // Rust: 1e21, Go: 1e+21
        return match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{:0>2}", e),
            Some((m, e)) => format!("{m}e-{:0>2}", &e[1..]),
            None => s,
        };
    }
    let s = format!("{f}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

fn format_e(f: f64, precision: usize) -> String {
    let s = format!("{f:.precision$e}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{:0>2}", e),
        Some((m, e)) => format!("{m}e-{:0>2}", &e[1..]),
        None => s,
    }
}

/// Rego's textual form of a value (what OPA's `Term.String()` prints).
pub fn rego_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => plain(v),
        Value::String(s) => serde_json::to_string(&**s).unwrap_or_default(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(rego_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Set(s) => {
            if s.is_empty() {
                "set()".into()
            } else {
                format!(
                    "{{{}}}",
                    s.iter().map(rego_text).collect::<Vec<_>>().join(", ")
                )
            }
        }
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", rego_text(k), rego_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Undefined => "undefined".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(fmt: &str, args: Vec<Value>) -> String {
        sprintf(fmt, &args)
    }

    #[test]
    fn octal_has_no_prefix_like_go() {
        assert_eq!(s("%o", vec![Value::from(420i64)]), "644");
        assert_eq!(s("%#o", vec![Value::from(420i64)]), "0644");
    }

    #[test]
    fn common_verbs() {
        assert_eq!(
            s(
                "%v: %s has %d",
                vec!["Pod".into(), "x".into(), Value::from(3i64)]
            ),
            "Pod: x has 3"
        );
        assert_eq!(s("%q", vec!["a\"b".into()]), "\"a\\\"b\"");
        assert_eq!(s("%x", vec![Value::from(255i64)]), "ff");
        assert_eq!(
            s("%05d|%-3d|", vec![Value::from(42i64), Value::from(7i64)]),
            "00042|7  |"
        );
        assert_eq!(s("100%%", vec![]), "100%");
        assert_eq!(s("%.2f", vec![Value::from(1.5f64)]), "1.50");
    }

    #[test]
    fn non_scalars_print_as_rego_text() {
        let arr = Value::from(vec![Value::from("a"), Value::from(1i64)]);
        assert_eq!(s("%v", vec![arr]), "[\"a\", 1]");
        assert_eq!(s("%v", vec![Value::Bool(true)]), "true");
    }

    #[test]
    fn mismatches_are_reported_like_go() {
        assert_eq!(s("%d", vec!["x".into()]), "%!d(string=x)");
        assert_eq!(s("%s %s", vec!["x".into()]), "x %!s(MISSING)");
        assert_eq!(s("%s", vec!["x".into(), "y".into()]), "x%!(EXTRA string=y)");
    }
}
