//! `kubescape policy test`: runs rule test cases with the upstream runner's comparison semantics.
//!
//! Layouts: a library root (`rules/<rule>/test/<case>/...`), or a bare rules directory where each
//! rule holds `test/<case>/` or `<case>/` directly. A case is `input/*` (objects), `expected.json`
//! (the alerts) and an optional `data.json` (config-input overrides).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::library::{read_json, Library, Rule};
use crate::rego::RegoProgram;
use crate::{select, yaml};

/// Alert fields the comparison looks at (upstream runner); keys compare case-insensitively.
const COMPARED_FIELDS: &[&str] = &[
    "alertmessage",
    "failedpaths",
    "reviewpaths",
    "deletepaths",
    "fixpaths",
    "fixcommand",
    "rulestatus",
    "packagename",
    "alertscore",
    "alertobject",
    "relatedobjects",
];

pub struct Options {
    pub ignore_messages: bool,
    /// Only these rules (directory or rule name); all when empty.
    pub rules: Vec<String>,
}

pub struct CaseOutcome {
    pub rule: String,
    pub case: String,
    /// `None` when the case passed; otherwise a readable explanation.
    pub failure: Option<String>,
}

struct RuleUnderTest {
    dir_name: String,
    cases: Vec<PathBuf>,
    rule: Option<Rule>,
}

/// Runs every case found under `root`. Rules without their own `raw.rego` take the Rego of the rule
/// with the same directory (or name) from `library`.
pub fn run(root: &Path, library: &Library, options: &Options) -> Result<Vec<CaseOutcome>> {
    let rules_dir = if root.join("rules").is_dir() {
        root.join("rules")
    } else {
        root.to_path_buf()
    };
    let mut outcomes = Vec::new();
    for r in discover(&rules_dir, library, options)? {
        let program = match &r.rule {
            Some(rule) if !rule.rule.trim().is_empty() => {
                RegoProgram::compile(&rule.name, &rule.rule).map_err(|e| e.to_string())
            }
            Some(_) | None => Err(format!(
                "no Rego for rule {} (no raw.rego here nor in the library)",
                r.dir_name
            )),
        };
        for case in &r.cases {
            let case_name = case
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let failure = match (&program, &r.rule) {
                (Ok(p), Some(rule)) => run_case(p, rule, case, library, options).err(),
                (Err(e), _) => Some(e.clone()),
                (Ok(_), None) => Some("no rule metadata".into()),
            };
            outcomes.push(CaseOutcome {
                rule: r.dir_name.clone(),
                case: case_name,
                failure,
            });
        }
    }
    Ok(outcomes)
}

fn discover(rules_dir: &Path, library: &Library, options: &Options) -> Result<Vec<RuleUnderTest>> {
    let mut dirs: Vec<PathBuf> = read_dir_sorted(rules_dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for dir in dirs {
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut rule = load_local_rule(&dir, &dir_name, library)?;
        if !options.rules.is_empty()
            && !options
                .rules
                .iter()
                .any(|w| *w == dir_name || rule.as_ref().is_some_and(|r| r.name == *w))
        {
            continue;
        }
        if let Some(r) = &mut rule {
            if r.rule.trim().is_empty() {
                if let Some(lib_rule) = library.rule(&dir_name).or_else(|| library.rule(&r.name)) {
                    r.rule = lib_rule.rule.clone();
                }
            }
        }
        // Upstream libraries keep cases under <rule>/test/; a case may itself be named `test`.
        let nested = dir.join("test");
        let case_root = if nested.is_dir() && !nested.join("expected.json").is_file() {
            nested
        } else {
            dir.clone()
        };
        let cases: Vec<PathBuf> = read_dir_sorted(&case_root)?
            .into_iter()
            .filter(|p| p.join("expected.json").is_file())
            .collect();
        if cases.is_empty() {
            continue;
        }
        out.push(RuleUnderTest {
            dir_name,
            cases,
            rule,
        });
    }
    Ok(out)
}

/// The rule as the directory defines it: its metadata and Rego where present, the library's
/// rule of the same directory name for what is missing.
fn load_local_rule(dir: &Path, dir_name: &str, library: &Library) -> Result<Option<Rule>> {
    let meta = dir.join("rule.metadata.json");
    let raw = dir.join("raw.rego");
    let mut rule = if meta.is_file() {
        serde_json::from_value(read_json(&meta)?).map_err(|e| Error::Input {
            what: meta.display().to_string(),
            message: e.to_string(),
        })?
    } else if let Some(known) = library.rule(dir_name) {
        known.clone()
    } else if raw.is_file() {
        // A rule being written: no metadata yet, so it matches nothing but runs on its cases.
        serde_json::from_value(serde_json::json!({ "name": dir_name }))
            .expect("a rule needs only a name")
    } else {
        return Ok(None);
    };
    if raw.is_file() {
        rule.rule = std::fs::read_to_string(&raw).map_err(|e| Error::io(&raw, e))?;
    }
    Ok(Some(rule))
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// Loads a case's input objects: each file in name order, its first document.
pub fn case_input(case: &Path) -> std::result::Result<Vec<Value>, String> {
    let mut objects = Vec::new();
    let dir = case.join("input");
    if !dir.is_dir() {
        // A case without inputs checks the rule's behaviour on an empty input.
        return Ok(objects);
    }
    for file in read_dir_sorted(&dir).map_err(|e| e.to_string())? {
        if !file.is_file() {
            continue;
        }
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let first = if file.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?
        } else {
            match yaml::documents(&text).into_iter().next() {
                Some(Ok(v)) => v,
                Some(Err(e)) => return Err(format!("{}: {e}", file.display())),
                None => continue,
            }
        };
        objects.push(first);
    }
    Ok(objects)
}

fn run_case(
    program: &RegoProgram,
    rule: &Rule,
    case: &Path,
    library: &Library,
    options: &Options,
) -> std::result::Result<(), String> {
    let objects = case_input(case)?;
    let input = select::aggregate(rule, objects.iter().collect());
    let overrides = if case.join("data.json").is_file() {
        read_json(&case.join("data.json")).map_err(|e| e.to_string())?
    } else {
        Value::Null
    };
    let mut inputs = library.config_inputs.clone();
    if let Some(Value::Object(o)) = overrides.get("postureControlInputs") {
        for (k, v) in o {
            inputs.insert(k.clone(), v.clone());
        }
    }
    let data = serde_json::json!({
        "postureControlInputs": inputs,
        "dataControlInputs": overrides.get("dataControlInputs").cloned().unwrap_or(Value::Null),
    });
    let alerts = program
        .alerts(
            regorus::Value::from(Value::Array(input)),
            &regorus::Value::from(data),
        )
        .map_err(|e| e.to_string())?;
    let actual: Vec<Value> = alerts
        .iter()
        .map(|a| serde_json::to_value(a).map(|v| normalize(&v, options.ignore_messages)))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let expected_raw = read_json(&case.join("expected.json")).map_err(|e| e.to_string())?;
    let expected: Vec<Value> = match expected_raw {
        Value::Array(a) => a
            .iter()
            .map(|v| normalize(v, options.ignore_messages))
            .collect(),
        Value::Null => vec![],
        other => vec![normalize(&other, options.ignore_messages)],
    };
    compare(expected, actual)
}

fn lower_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.to_lowercase(), lower_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(lower_keys).collect()),
        other => other.clone(),
    }
}

/// Keeps the compared fields and reduces each k8sApiObject to apiVersion, kind, name and labels.
///
/// As in the upstream (Go) runner, an absent scalar equals its zero value and a `null` list equals
/// an absent one, while an absent list and `[]` differ.
fn normalize(alert: &Value, ignore_messages: bool) -> Value {
    let lowered = lower_keys(alert);
    let mut out = Map::new();
    let Value::Object(m) = lowered else {
        return lowered;
    };
    for (k, v) in m {
        if !COMPARED_FIELDS.contains(&k.as_str())
            || (ignore_messages && k == "alertmessage")
            || v.is_null()
        {
            continue;
        }
        let v = match k.as_str() {
            "alertobject" => reduce_alert_object(v),
            // 7 and 7.0 are the same score.
            "alertscore" => v.as_f64().map(Value::from).unwrap_or(v),
            _ => v,
        };
        out.insert(k, v);
    }
    for key in ["alertmessage", "fixcommand", "rulestatus", "packagename"] {
        if !(ignore_messages && key == "alertmessage") {
            out.entry(key).or_insert_with(|| Value::from(""));
        }
    }
    out.entry("alertscore").or_insert_with(|| Value::from(0.0));
    Value::Object(out)
}

fn reduce_alert_object(mut v: Value) -> Value {
    if let Some(Value::Array(objs)) = v.get_mut("k8sapiobjects") {
        for o in objs.iter_mut() {
            let mut reduced = Map::new();
            for key in ["apiversion", "kind"] {
                if let Some(x) = o.get(key) {
                    reduced.insert(key.into(), x.clone());
                }
            }
            let mut meta = Map::new();
            for key in ["name", "labels"] {
                if let Some(x) = o.pointer(&format!("/metadata/{key}")) {
                    meta.insert(key.into(), x.clone());
                }
            }
            if !meta.is_empty() {
                reduced.insert("metadata".into(), Value::Object(meta));
            }
            *o = Value::Object(reduced);
        }
    }
    v
}

/// Canonical text of a value: object keys sorted at every level.
fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// Multiset comparison; on mismatch, a field-by-field account of the closest pairs.
fn compare(expected: Vec<Value>, actual: Vec<Value>) -> std::result::Result<(), String> {
    let mut missing: Vec<Value> = Vec::new();
    let mut remaining: Vec<(String, Value)> =
        actual.into_iter().map(|a| (canonical(&a), a)).collect();
    for e in expected {
        let key = canonical(&e);
        match remaining.iter().position(|(k, _)| *k == key) {
            Some(i) => {
                remaining.swap_remove(i);
            }
            None => missing.push(e),
        }
    }
    if missing.is_empty() && remaining.is_empty() {
        return Ok(());
    }
    let mut unexpected: Vec<Value> = remaining.into_iter().map(|(_, v)| v).collect();
    let mut report = Vec::new();
    for e in missing {
        let best = unexpected
            .iter()
            .enumerate()
            .map(|(i, a)| (i, same_fields(&e, a)))
            .max_by_key(|(_, n)| *n)
            .filter(|(_, n)| *n > 0)
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                let a = unexpected.swap_remove(i);
                report.push(format!("alert differs:{}", field_diff(&e, &a)));
            }
            None => report.push(format!("missing alert: {}", canonical(&e))),
        }
    }
    for a in unexpected {
        report.push(format!("unexpected alert: {}", canonical(&a)));
    }
    Err(report.join("\n"))
}

fn same_fields(a: &Value, b: &Value) -> usize {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.iter().filter(|(k, v)| y.get(*k) == Some(v)).count()
        }
        _ => 0,
    }
}

fn field_diff(expected: &Value, actual: &Value) -> String {
    let mut keys: Vec<&String> = expected
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .collect();
    keys.extend(actual.as_object().into_iter().flat_map(|m| m.keys()));
    keys.sort();
    keys.dedup();
    let mut out = String::new();
    for k in keys {
        let e = expected.get(k.as_str());
        let a = actual.get(k.as_str());
        if e != a {
            let show = |v: Option<&Value>| v.map(canonical).unwrap_or_else(|| "(absent)".into());
            out.push_str(&format!(
                "\n    {k}: expected {}\n    {:width$}       got {}",
                show(e),
                "",
                show(a),
                width = k.len()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comparison_reduces_objects_and_ignores_messages() {
        let e = normalize(
            &json!({"alertMessage": "a", "failedPaths": ["x"], "alertObject": {"k8sApiObjects": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}]}}),
            true,
        );
        let a = normalize(
            &json!({"alertmessage": "b", "failedPaths": ["x"], "extra": 1, "alertObject": {"k8sApiObjects": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"}, "spec": {}}]}}),
            true,
        );
        assert!(compare(vec![e.clone()], vec![a]).is_ok());
        // An absent list and [] differ.
        let b = normalize(
            &json!({"failedPaths": ["x"], "fixPaths": [], "alertObject": {"k8sApiObjects": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}]}}),
            true,
        );
        let err = compare(vec![e], vec![b]).unwrap_err();
        assert!(err.contains("fixpaths"), "{err}");
    }

    #[test]
    fn multiset_semantics() {
        let x = json!({"alertscore": 1});
        assert!(compare(vec![x.clone(), x.clone()], vec![x.clone()]).is_err());
        assert!(compare(vec![x.clone(), x.clone()], vec![x.clone(), x]).is_ok());
    }
}
