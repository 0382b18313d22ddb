//! JSON to Rego values with shared strings.
//!
//! Kubernetes objects repeat the same keys (`apiVersion`, `metadata`, `name`, ...) and many values
//! (`v1`, `Always`, label values) thousands of times; regorus stores each string in its own
//! allocation. Sharing one allocation per distinct short string roughly halves the memory a scan
//! holds for its objects.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use regorus::Value as Rego;
use serde_json::Value as Json;

/// Strings longer than this are rarely repeated (certificates, scripts) and are not interned.
const MAX_INTERNED_LEN: usize = 64;

#[derive(Default)]
pub struct Interner {
    strings: HashMap<Box<str>, Arc<str>>,
}

impl Interner {
    fn string(&mut self, s: &str) -> Rego {
        if s.len() > MAX_INTERNED_LEN {
            return Rego::String(Arc::from(s));
        }
        if let Some(a) = self.strings.get(s) {
            return Rego::String(a.clone());
        }
        let a: Arc<str> = Arc::from(s);
        self.strings.insert(Box::from(s), a.clone());
        Rego::String(a)
    }

    /// Converts a JSON value, consuming it so that its memory is released as we go.
    pub fn convert(&mut self, v: Json) -> Rego {
        match v {
            Json::Null => Rego::Null,
            Json::Bool(b) => Rego::Bool(b),
            Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Rego::from(i),
                (None, Some(u), _) => Rego::from(u),
                (_, _, Some(f)) => Rego::from(f),
                _ => Rego::Null,
            },
            Json::String(s) => self.string(&s),
            Json::Array(a) => {
                Rego::from(a.into_iter().map(|x| self.convert(x)).collect::<Vec<_>>())
            }
            Json::Object(o) => {
                let mut m = BTreeMap::new();
                for (k, x) in o {
                    let key = self.string(&k);
                    m.insert(key, self.convert(x));
                }
                Rego::from(m)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_like_regorus_and_shares_strings() {
        let j = serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"a": "x"}, "big": 18446744073709551615u64});
        let mut i = Interner::default();
        let r = i.convert(j.clone());
        assert_eq!(r, Rego::from(j));
        let (Rego::String(x1), Rego::String(x2)) = (&r["a"][2], &r["b"]["a"]) else {
            panic!()
        };
        assert!(Arc::ptr_eq(x1, x2));
    }
}
