//! Compiling and evaluating one library rule with regorus, with upstream (OPA) semantics.

use std::sync::Mutex;

use regorus::{Engine, Value};

use crate::error::{Error, Result};
use crate::{gofmt, goregex, imageref, rego_rewrite};

const SHARED_MODULES: &[(&str, &str)] = &[
    ("cautils.rego", include_str!("rego/cautils.rego")),
    ("designators.rego", include_str!("rego/designators.rego")),
    (
        "kubernetes_api_client.rego",
        include_str!("rego/kubernetes_api_client.rego"),
    ),
];

/// A rule's Rego, parsed once and ready to evaluate many times (from several threads).
pub struct RegoProgram {
    name: String,
    template: Mutex<Engine>,
}

impl RegoProgram {
    /// Whether Rego `source` calls `cosign.*`, which this engine cannot answer yet.
    pub fn uses_image_signatures(source: &str) -> bool {
        source.contains("cosign.")
    }

    /// Parses `source` (Rego v1, falling back to v0 as OPA's loader does) on top of the shared
    /// modules and the custom builtins. Source that regorus reads differently from OPA is
    /// rewritten first (see `rego_rewrite`).
    pub fn compile(name: &str, source: &str) -> Result<RegoProgram> {
        let source = rego_rewrite::always(source);
        let with_heads_moved = rego_rewrite::comprehension_heads(&source);
        // The moved heads are what OPA evaluates; the source as written is the fallback should
        // regorus not take them, and what an error has to be about.
        let moved = (with_heads_moved != source)
            .then(|| with_policy_any_version(name, &with_heads_moved).ok())
            .flatten();
        let engine = match moved {
            Some(e) => e,
            None => with_policy_any_version(name, &source).map_err(|message| Error::Rego {
                rule: name.to_string(),
                message,
            })?,
        };
        Ok(RegoProgram {
            name: name.to_string(),
            template: Mutex::new(engine),
        })
    }

    /// Evaluates the package `armo_builtins` over `input` (an array of objects) and returns every
    /// element of every set or array in it: upstream treats all of them as alerts, not only `deny`.
    pub fn alerts(&self, input: Value, data: &Value) -> Result<Vec<Value>> {
        let mut engine = self
            .template
            .lock()
            .map_err(|_| self.err("engine poisoned"))?
            .clone();
        engine.add_data(data.clone()).map_err(|e| self.err(e))?;
        engine.set_input(input);
        let results = engine
            .eval_query("data.armo_builtins".to_string(), false)
            .map_err(|e| self.err(e))?;
        let mut alerts = Vec::new();
        for r in &results.result {
            for expr in &r.expressions {
                let Value::Object(pkg) = &expr.value else {
                    continue;
                };
                for (_, v) in pkg.iter() {
                    match v {
                        Value::Set(s) => alerts.extend(s.iter().cloned()),
                        Value::Array(a) => alerts.extend(a.iter().cloned()),
                        _ => {}
                    }
                }
            }
        }
        Ok(alerts)
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::Rego {
            rule: self.name.clone(),
            message: e.to_string(),
        }
    }
}

fn with_policy_any_version(name: &str, source: &str) -> std::result::Result<Engine, String> {
    with_policy(name, source, false).or_else(|v1_err| {
        with_policy(name, source, true)
            .map_err(|v0_err| format!("does not parse as Rego v1 ({v1_err}) nor v0 ({v0_err})"))
    })
}

fn with_policy(name: &str, source: &str, v0: bool) -> anyhow::Result<Engine> {
    let mut engine = base_engine()?;
    engine.set_rego_v0(v0);
    engine.add_policy(format!("{name}.rego"), source.to_string())?;
    // Prepare now so that every evaluation clones an engine that is ready to run, and so that
    // errors of the rule surface at load time rather than per resource.
    engine.set_input(Value::from(Vec::<Value>::new()));
    engine.eval_query("data.armo_builtins".to_string(), false)?;
    Ok(engine)
}

fn base_engine() -> anyhow::Result<Engine> {
    let mut engine = Engine::new();
    // OPA's default: an erroring builtin makes its expression undefined instead of failing the query.
    engine.set_strict_builtin_errors(false);
    for (path, text) in SHARED_MODULES {
        engine.add_policy(path.to_string(), text.to_string())?;
    }
    add_extensions(&mut engine)?;
    Ok(engine)
}

/// Extensions take precedence over regorus' builtins, which lets us replace those whose output
/// differs from OPA's. An extension that fails returns undefined (OPA's non-strict behaviour);
/// returning an error would abort the whole query.
fn add_extensions(engine: &mut Engine) -> anyhow::Result<()> {
    engine.add_extension(
        "sprintf".into(),
        2,
        Box::new(|a: Vec<Value>| {
            Ok(match (&a[0], &a[1]) {
                (Value::String(f), Value::Array(args)) => {
                    Value::from(gofmt::sprintf(f, &args.to_vec()))
                }
                _ => Value::Undefined,
            })
        }),
    )?;
    let matcher = |a: Vec<Value>| {
        Ok(match (&a[0], &a[1]) {
            (Value::String(p), Value::String(s)) => match goregex::compile(p) {
                Ok(re) => Value::Bool(re.is_match(s)),
                Err(_) => Value::Undefined,
            },
            _ => Value::Undefined,
        })
    };
    engine.add_extension("regex.match".into(), 2, Box::new(matcher))?;
    engine.add_extension("re_match".into(), 2, Box::new(matcher))?;
    engine.add_extension(
        "regex.is_valid".into(),
        1,
        Box::new(|a: Vec<Value>| {
            Ok(Value::Bool(
                matches!(&a[0], Value::String(p) if goregex::compile(p).is_ok()),
            ))
        }),
    )?;
    engine.add_extension(
        "regex.split".into(),
        2,
        Box::new(|a: Vec<Value>| {
            Ok(match (&a[0], &a[1]) {
                (Value::String(p), Value::String(s)) => match goregex::compile(p) {
                    Ok(re) => Value::from(re.split(s).map(Value::from).collect::<Vec<_>>()),
                    Err(_) => Value::Undefined,
                },
                _ => Value::Undefined,
            })
        }),
    )?;
    engine.add_extension(
        "regex.find_n".into(),
        3,
        Box::new(|a: Vec<Value>| {
            Ok(match (&a[0], &a[1], a[2].as_i64()) {
                (Value::String(p), Value::String(s), Ok(n)) => match goregex::compile(p) {
                    Ok(re) => {
                        let found = re.find_iter(s).map(|m| Value::from(m.as_str()));
                        Value::from(limit(found, n))
                    }
                    Err(_) => Value::Undefined,
                },
                _ => Value::Undefined,
            })
        }),
    )?;
    engine.add_extension(
        "regex.find_all_string_submatch_n".into(),
        3,
        Box::new(|a: Vec<Value>| {
            Ok(match (&a[0], &a[1], a[2].as_i64()) {
                (Value::String(p), Value::String(s), Ok(n)) => match goregex::compile(p) {
                    Ok(re) => {
                        let found = re.captures_iter(s).map(|c| {
                            Value::from(
                                c.iter()
                                    .map(|m| Value::from(m.map(|m| m.as_str()).unwrap_or("")))
                                    .collect::<Vec<_>>(),
                            )
                        });
                        Value::from(limit(found, n))
                    }
                    Err(_) => Value::Undefined,
                },
                _ => Value::Undefined,
            })
        }),
    )?;
    engine.add_extension(
        "regex.replace".into(),
        3,
        Box::new(|a: Vec<Value>| {
            Ok(match (&a[0], &a[1], &a[2]) {
                (Value::String(s), Value::String(p), Value::String(with)) => {
                    match goregex::compile(p) {
                        Ok(re) => Value::from(
                            // Go's replacement syntax (`$1`, `${name}`, `$$`) is Rust's.
                            re.replace_all(s, with.as_ref()).into_owned(),
                        ),
                        Err(_) => Value::Undefined,
                    }
                }
                _ => Value::Undefined,
            })
        }),
    )?;
    // regorus' own yaml builtins need another YAML crate; ours resolve scalars as kubectl does.
    engine.add_extension(
        "yaml.unmarshal".into(),
        1,
        Box::new(|a: Vec<Value>| {
            Ok(match &a[0] {
                Value::String(s) => match crate::yaml::documents(s).into_iter().next() {
                    Some(Ok(v)) => Value::from(v),
                    Some(Err(_)) => Value::Undefined,
                    None => Value::Null,
                },
                _ => Value::Undefined,
            })
        }),
    )?;
    engine.add_extension(
        "yaml.is_valid".into(),
        1,
        Box::new(|a: Vec<Value>| {
            Ok(Value::Bool(matches!(&a[0], Value::String(s) if crate::yaml::documents(s).iter().all(|d| d.is_ok()))))
        }),
    )?;
    engine.add_extension(
        "image.parse_normalized_name".into(),
        1,
        Box::new(|a: Vec<Value>| {
            Ok(match &a[0] {
                Value::String(s) => match imageref::normalize(s) {
                    Some(n) => Value::from(n),
                    None => Value::Undefined,
                },
                _ => Value::Undefined,
            })
        }),
    )?;
    // Image signature checks need registry access and sigstore verification, which this engine does
    // not do yet; rules calling them are reported as skipped (see `uses_image_signatures`).
    engine.add_extension(
        "cosign.verify".into(),
        2,
        Box::new(|_: Vec<Value>| Ok(Value::Undefined)),
    )?;
    engine.add_extension(
        "cosign.has_signature".into(),
        1,
        Box::new(|_: Vec<Value>| Ok(Value::Undefined)),
    )?;
    Ok(())
}

fn limit(items: impl Iterator<Item = Value>, n: i64) -> Vec<Value> {
    if n < 0 {
        items.collect()
    } else {
        items.take(n as usize).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Value {
        Value::from_json_str(r#"{"postureControlInputs": {}}"#).unwrap()
    }

    #[test]
    fn every_set_in_the_package_is_alerts() {
        let p = RegoProgram::compile(
            "t",
            r#"package armo_builtins
import rego.v1
deny contains {"alertMessage": sprintf("%v has mode %o", [o.kind, 420])} if { some o in input }
untrustedImageRepo contains {"alertMessage": "other"} if { count(input) > 0 }
helper := 3
"#,
        )
        .unwrap();
        let input = Value::from_json_str(r#"[{"kind": "Pod"}]"#).unwrap();
        let alerts = p.alerts(input, &data()).unwrap();
        let text: Vec<String> = alerts
            .iter()
            .map(|a| a["alertMessage"].as_string().unwrap().to_string())
            .collect();
        assert_eq!(alerts.len(), 2);
        assert!(text.contains(&"Pod has mode 644".to_string()));
    }

    #[test]
    fn v0_rules_and_bodiless_functions_load() {
        let p = RegoProgram::compile(
            "t",
            r#"package armo_builtins
is_sensitive("kube-system")
deny[msga] {
    o := input[_]
    is_sensitive(o.metadata.namespace)
    msga := {"alertMessage": "x"}
}
"#,
        )
        .unwrap();
        let input =
            Value::from_json_str(r#"[{"metadata": {"namespace": "kube-system"}}]"#).unwrap();
        assert_eq!(p.alerts(input, &data()).unwrap().len(), 1);
    }

    #[test]
    fn builtin_errors_are_not_fatal() {
        let p = RegoProgram::compile(
            "t",
            r#"package armo_builtins
import rego.v1
deny contains "x" if { some o in input; to_number(o.v) > 1 }
deny contains "y" if { count(input) == 2 }
"#,
        )
        .unwrap();
        let input = Value::from_json_str(r#"[{"v": "not a number"}, {"v": "5"}]"#).unwrap();
        assert_eq!(p.alerts(input, &data()).unwrap().len(), 2);
    }

    #[test]
    fn unicode_heavy_regex_compiles() {
        let p = RegoProgram::compile(
            "t",
            r#"package armo_builtins
import rego.v1
deny contains o.image if { some o in input; regex.match(`^(?:[\w.-]+/)*[\w][\w.-]{0,127}(?::[\w][\w.-]{0,127})?$`, o.image) }
"#,
        )
        .unwrap();
        let input = Value::from_json_str(r#"[{"image": "nginx:1.25"}]"#).unwrap();
        assert_eq!(p.alerts(input, &data()).unwrap().len(), 1);
    }

    #[test]
    fn yaml_unmarshal_reads_kubelet_configs() {
        let p = RegoProgram::compile(
            "t",
            r#"package armo_builtins
import rego.v1
deny contains cfg.authentication.anonymous.enabled if { some o in input; cfg := yaml.unmarshal(o.content) }
"#,
        )
        .unwrap();
        let input = Value::from_json_str(
            r#"[{"content": "authentication:\n  anonymous:\n    enabled: false\n"}]"#,
        )
        .unwrap();
        assert_eq!(p.alerts(input, &data()).unwrap(), vec![Value::Bool(false)]);
    }

    #[test]
    fn shared_cautils_module_is_available() {
        let p = RegoProgram::compile(
            "t",
            r#"package armo_builtins
import rego.v1
import data.cautils
deny contains "loose" if { cautils.is_not_strict_conf_permission(511) }
deny contains "strict" if { cautils.is_strict_conf_permission(420) }
deny contains "in" if { cautils.list_contains(["a"], "a") }
"#,
        )
        .unwrap();
        let alerts = p.alerts(Value::from(Vec::<Value>::new()), &data()).unwrap();
        assert_eq!(alerts.len(), 3, "{alerts:?}");
    }

    fn pods() -> Value {
        Value::from_json_str(
            r#"[{"kind": "Pod", "metadata": {"name": "a", "annotations": {"team": "x"}},
                 "spec": {"containers": [{"name": "c1"}, {"name": "c2"}]}},
                {"kind": "Pod", "metadata": {"name": "b"}, "spec": {"containers": [{"name": "c3"}]}}]"#,
        )
        .unwrap()
    }

    fn messages(p: &RegoProgram) -> Vec<String> {
        let mut v: Vec<String> = p
            .alerts(pods(), &data())
            .unwrap()
            .iter()
            .map(|a| a["alertMessage"].as_string().unwrap().to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn some_declared_after_an_iteration_runs_for_every_object() {
        let p = RegoProgram::compile(
            "t",
            r#"package armo_builtins
deny[msga] {
    pod := input[_]
    some i
    c := pod.spec.containers[i]
    names := [n | p := input[_]; some j; n := p.spec.containers[j].name]
    msga := {"alertMessage": sprintf("%v/%v/%v of %v", [pod.metadata.name, i, c.name, count(names)])}
}
"#,
        )
        .unwrap();
        assert_eq!(messages(&p), ["a/0/c1 of 3", "a/1/c2 of 3", "b/0/c3 of 3"]);
    }

    #[test]
    fn comprehension_head_may_bind_its_index_and_bare_data_import_loads() {
        let p = RegoProgram::compile(
            "t",
            r#"package armo_builtins
import data
deny[msga] {
    pod := input[_]
    annotations := object.get(pod, ["metadata", "annotations"], {})
    owned := [annotations[k] | key = k; startswith(k, "team")]
    count(owned) == 0
    msga := {"alertMessage": pod.metadata.name}
}
"#,
        )
        .unwrap();
        assert_eq!(messages(&p), ["b"]);
    }
}
