//! YAML to JSON conversion as Kubernetes tooling sees it (YAML 1.1 scalars, as `kubectl` reads
//! manifests), keeping the line of every path so reports can point into the source file.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One YAML document: its value, or why it could not be read.
pub type Document = Result<Value, String>;

/// Parses every document of a YAML stream. A syntax error ends the stream: the documents before it
/// are returned, followed by the error.
pub fn documents(text: &str) -> Vec<Document> {
    let mut builder = Builder::new(false);
    let mut parser = Parser::new_from_str(text);
    let result = parser.load(&mut builder, true);
    let mut docs: Vec<Document> = builder.docs.into_iter().map(|d| Ok(d.value)).collect();
    if let Err(e) = result {
        docs.push(Err(format!(
            "invalid YAML at line {}, column {}: {}",
            e.marker().line(),
            e.marker().col() + 1,
            e.info()
        )));
    }
    docs
}

/// For each document, the 1-based line of each path (`spec.containers[0].image`).
pub fn path_lines(text: &str) -> Vec<HashMap<String, usize>> {
    let mut builder = Builder::new(true);
    let mut parser = Parser::new_from_str(text);
    let _ = parser.load(&mut builder, true);
    builder.docs.into_iter().map(|d| d.lines).collect()
}

struct Doc {
    value: Value,
    lines: HashMap<String, usize>,
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
    },
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
    },
}

struct Builder {
    record_lines: bool,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    docs: Vec<Doc>,
    lines: HashMap<String, usize>,
    root: Option<Value>,
}

impl Builder {
    fn new(record_lines: bool) -> Builder {
        Builder {
            record_lines,
            stack: vec![],
            anchors: HashMap::new(),
            docs: vec![],
            lines: HashMap::new(),
            root: None,
        }
    }

    /// The path of the node about to be inserted, in Kubescape's failedPath notation.
    fn current_path(&self, leaf_key: Option<&str>) -> String {
        let mut path = String::new();
        for (i, frame) in self.stack.iter().enumerate() {
            let last = i + 1 == self.stack.len();
            match frame {
                Frame::Seq { items, .. } => path.push_str(&format!("[{}]", items.len())),
                Frame::Map { key, .. } => {
                    let k = if last {
                        leaf_key.or(key.as_deref())
                    } else {
                        key.as_deref()
                    };
                    if let Some(k) = k {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(k);
                    }
                }
            }
        }
        path
    }

    fn insert(&mut self, value: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => match key.take() {
                None => {
                    let k = match value {
                        Value::String(s) => s,
                        Value::Null => "null".to_string(),
                        other => other.to_string(),
                    };
                    *key = Some(k);
                }
                Some(k) if k == "<<" => merge_into(map, value),
                Some(k) => {
                    map.insert(k, value);
                }
            },
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }
}

fn merge_into(map: &mut Map<String, Value>, value: Value) {
    let sources = match value {
        Value::Array(a) => a,
        other => vec![other],
    };
    for src in sources {
        if let Value::Object(o) = src {
            for (k, v) in o {
                map.entry(k).or_insert(v);
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::DocumentStart => {
                self.root = None;
                self.lines.clear();
                self.anchors.clear();
            }
            Event::DocumentEnd => {
                if let Some(value) = self.root.take() {
                    if !value.is_null() {
                        self.docs.push(Doc {
                            value,
                            lines: std::mem::take(&mut self.lines),
                        });
                    }
                }
            }
            Event::SequenceStart(anchor, _) => {
                self.record_line(mark);
                self.stack.push(Frame::Seq {
                    items: vec![],
                    anchor,
                });
            }
            Event::MappingStart(anchor, _) => {
                self.record_line(mark);
                self.stack.push(Frame::Map {
                    map: Map::new(),
                    key: None,
                    anchor,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { items, anchor }) = self.stack.pop() {
                    self.insert(Value::Array(items), anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { map, anchor, .. }) = self.stack.pop() {
                    self.insert(Value::Object(map), anchor);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let is_key = self.expecting_key();
                let value = if is_key {
                    Value::String(text)
                } else {
                    scalar(text, style, tag.as_ref())
                };
                if is_key {
                    if let Value::String(k) = &value {
                        let k = k.clone();
                        if self.record_lines {
                            let p = self.current_path(Some(&k));
                            self.lines.entry(p).or_insert(mark.line());
                        }
                    }
                } else {
                    self.record_line(mark);
                }
                self.insert(value, anchor);
            }
            Event::Alias(id) => {
                self.record_line(mark);
                let v = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                self.insert(v, 0);
            }
            _ => {}
        }
    }
}

impl Builder {
    fn record_line(&mut self, mark: Marker) {
        if self.record_lines && !self.expecting_key() {
            let p = self.current_path(None);
            self.lines.entry(p).or_insert(mark.line());
        }
    }
}

fn scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag {
        match tag.suffix.as_str() {
            "str" => return Value::String(text),
            "int" | "float" => return number(&text).unwrap_or(Value::String(text)),
            "bool" => {
                return boolean(&text)
                    .map(Value::Bool)
                    .unwrap_or(Value::String(text))
            }
            "null" => return Value::Null,
            _ => {}
        }
    }
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if let Some(b) = boolean(&text) {
        return Value::Bool(b);
    }
    number(&text).unwrap_or(Value::String(text))
}

/// YAML 1.1 booleans as kubectl resolves them (`yes`, `on`, ...). Single letters `y`/`n` stay
/// strings, as sigs.k8s.io/yaml reads them; label values like `x: y` are common.
fn boolean(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn number(s: &str) -> Option<Value> {
    let t = s.replace('_', "");
    let (neg, digits) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let radix = |p: &str, r: u32| {
        i64::from_str_radix(p, r)
            .ok()
            .map(|v| if neg { -v } else { v })
    };
    if let Some(h) = digits.strip_prefix("0x") {
        return radix(h, 16).map(Value::from);
    }
    if let Some(o) = digits.strip_prefix("0o") {
        return radix(o, 8).map(Value::from);
    }
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
        // YAML 1.1 octal (0644), as go-yaml v2 reads file modes.
        return radix(&digits[1..], 8).map(Value::from);
    }
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .ok()
            .map(Value::from)
            .or_else(|| t.parse::<u64>().ok().map(Value::from));
    }
    let first = digits.bytes().next()?;
    if !(first.is_ascii_digit() || first == b'.') || digits.starts_with(".inf") || digits == ".nan"
    {
        return None;
    }
    if digits
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|b| b.is_ascii_digit())
    {
        return t
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_like_kubectl() {
        let docs = documents("a: yes\nb: '1'\nc: 1.5\nd: 0644\ne: ~\nf: [1, x]\n---\n---\nk: &x {q: 1}\nm:\n  <<: *x\n  r: 2\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[0].as_ref().unwrap(),
            &json!({"a": true, "b": "1", "c": 1.5, "d": 420, "e": null, "f": [1, "x"]})
        );
        assert_eq!(docs[1].as_ref().unwrap()["m"], json!({"q": 1, "r": 2}));
    }

    #[test]
    fn syntax_error_keeps_earlier_documents() {
        let docs = documents("a: 1\n---\nb: [1, 2\n");
        assert_eq!(docs.len(), 2);
        assert!(docs[1].as_ref().unwrap_err().contains("line"));
    }

    #[test]
    fn records_lines_of_paths() {
        let text = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: nginx\n    securityContext:\n      privileged: true\n";
        let lines = &path_lines(text)[0];
        assert_eq!(lines["kind"], 1);
        assert_eq!(lines["spec.containers[0].image"], 5);
        assert_eq!(lines["spec.containers[0].securityContext.privileged"], 7);
    }
}
