//! The control library: frameworks, controls, rules, config inputs, exceptions, attack tracks.
//!
//! Two upstream formats load into the same model:
//! - the source layout of a library checkout (`frameworks/`, `controls/`, `rules/<dir>/`, ...);
//! - release artifacts (`frameworks.json`, `controls.json`, `rules.json`, `default_config_inputs.json`,
//!   ..., or one framework file with its controls and rules embedded).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanningScope {
    #[serde(default)]
    pub matches: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveControl {
    #[serde(rename = "controlID")]
    pub control_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Framework {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub attributes: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanning_scope: Option<ScanningScope>,
    #[serde(default)]
    pub type_tags: Vec<String>,
    #[serde(default)]
    pub active_controls: Vec<ActiveControl>,
    /// Older frameworks list their controls by name only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub sub_sections: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Control {
    #[serde(rename = "controlID")]
    pub control_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub remediation: String,
    #[serde(default)]
    pub base_score: f64,
    #[serde(default)]
    pub rules_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanning_scope: Option<ScanningScope>,
    #[serde(default)]
    pub category: Value,
    #[serde(default)]
    pub attributes: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub fixed_input: Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleMatch {
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub api_versions: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigInput {
    pub path: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub remediation: String,
    #[serde(default, rename = "match")]
    pub matches: Vec<RuleMatch>,
    #[serde(default)]
    pub dynamic_match: Vec<RuleMatch>,
    #[serde(default)]
    pub rule_dependencies: Vec<Value>,
    #[serde(default)]
    pub control_config_inputs: Vec<ConfigInput>,
    #[serde(default)]
    pub attributes: Value,
    #[serde(default = "default_language")]
    pub rule_language: String,
    /// The rule's Rego (`raw.rego`); empty when the library has none for it.
    #[serde(default)]
    pub rule: String,
    /// The resource enumerator (`filter.rego`), evaluated before the rule to pick its input.
    #[serde(default)]
    pub resource_enumerator: String,
    /// Directory the rule came from in a source layout; empty for release artifacts.
    #[serde(skip)]
    pub directory: String,
}

fn default_language() -> String {
    "Rego".to_string()
}

impl Rule {
    pub fn attribute_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }
}

/// A whole control library.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub frameworks: Vec<Framework>,
    pub controls: BTreeMap<String, Control>,
    pub rules: BTreeMap<String, Rule>,
    /// The `settings.postureControlInputs` object of the default config inputs.
    pub config_inputs: serde_json::Map<String, Value>,
    pub exceptions: Vec<Value>,
    pub attack_tracks: Vec<Value>,
}

/// A file of a library source: path relative to the library root, and its bytes.
pub struct SourceFile<'a> {
    pub path: String,
    pub contents: std::borrow::Cow<'a, [u8]>,
}

impl Library {
    /// Loads a library from disk: a source-layout directory, a release-artifact directory, or a single
    /// artifact file (one framework with embedded controls and rules, or a list of frameworks).
    pub fn load_path(path: &Path) -> Result<Library> {
        if path.is_file() {
            let value = read_json(path)?;
            let mut lib = Library::from_framework_artifact(value, path)?;
            // Downloaded artifacts sit side by side: pick up the config inputs and exceptions.
            let dir = path.parent().unwrap_or(Path::new("."));
            for name in ["default_config_inputs.json", "controls-inputs.json"] {
                if dir.join(name).is_file() {
                    lib.config_inputs = config_inputs_of(read_json(&dir.join(name))?);
                    break;
                }
            }
            if dir.join("exceptions.json").is_file()
                && path.file_name() != Some("exceptions.json".as_ref())
            {
                extend_list(
                    &mut lib.exceptions,
                    read_json(&dir.join("exceptions.json"))?,
                );
            }
            return Ok(lib);
        }
        if !path.is_dir() {
            return Err(Error::Input {
                what: path.display().to_string(),
                message: "no such file or directory; pass a control-library directory or an artifact file".into(),
            });
        }
        if path.join("rules").is_dir() || path.join("controls").is_dir() {
            let files = walk_files(path)?;
            let owned: Vec<SourceFile> = files
                .into_iter()
                .map(|(rel, abs)| {
                    std::fs::read(&abs)
                        .map(|c| SourceFile {
                            path: rel,
                            contents: c.into(),
                        })
                        .map_err(|e| Error::io(&abs, e))
                })
                .collect::<Result<_>>()?;
            return Library::from_source_files(owned);
        }
        Library::from_artifact_dir(path)
    }

    /// Builds a library from the files of a source layout (used for the embedded built-in library too).
    pub fn from_source_files<'a>(
        files: impl IntoIterator<Item = SourceFile<'a>>,
    ) -> Result<Library> {
        let mut lib = Library::default();
        let mut rule_meta: BTreeMap<String, Rule> = BTreeMap::new();
        let mut rule_text: HashMap<(String, &'static str), String> = HashMap::new();
        let mut frameworks = Vec::new();
        for file in files {
            let path = file.path.replace('\\', "/");
            let parts: Vec<&str> = path.split('/').collect();
            let parse = |bytes: &[u8]| -> Result<Value> {
                serde_json::from_slice(bytes).map_err(|e| Error::Input {
                    what: path.clone(),
                    message: format!("invalid JSON: {e}"),
                })
            };
            match parts.as_slice() {
                ["frameworks", f] if f.ends_with(".json") => {
                    frameworks.push(from_value::<Framework>(parse(&file.contents)?, &path)?)
                }
                ["controls", f] if f.ends_with(".json") => {
                    let c: Control = from_value(parse(&file.contents)?, &path)?;
                    lib.controls.insert(c.control_id.clone(), c);
                }
                ["rules", dir, "rule.metadata.json"] => {
                    let mut r: Rule = from_value(parse(&file.contents)?, &path)?;
                    r.directory = dir.to_string();
                    rule_meta.insert(dir.to_string(), r);
                }
                ["rules", dir, "raw.rego"] => {
                    rule_text.insert((dir.to_string(), "raw"), utf8(&file.contents, &path)?);
                }
                ["rules", dir, "filter.rego"] => {
                    rule_text.insert((dir.to_string(), "filter"), utf8(&file.contents, &path)?);
                }
                ["default-config-inputs.json"] => {
                    lib.config_inputs = config_inputs_of(parse(&file.contents)?);
                }
                ["exceptions", f] if f.ends_with(".json") => {
                    extend_list(&mut lib.exceptions, parse(&file.contents)?)
                }
                ["attack-tracks", f] if f.ends_with(".json") => {
                    extend_list(&mut lib.attack_tracks, parse(&file.contents)?)
                }
                _ => {}
            }
        }
        for (dir, mut rule) in rule_meta {
            if let Some(t) = rule_text.remove(&(dir.clone(), "raw")) {
                rule.rule = t;
            }
            if let Some(t) = rule_text.remove(&(dir.clone(), "filter")) {
                rule.resource_enumerator = t;
            }
            lib.rules.insert(rule.name.clone(), rule);
        }
        lib.frameworks = frameworks;
        lib.resolve_named_framework_controls();
        lib.frameworks.sort_by_key(|f| f.name.to_lowercase());
        Ok(lib)
    }

    /// Release-artifact directory: `frameworks.json`, `controls.json`, `rules.json`, ... (with or
    /// without `.json`), or per-framework files such as `nsa.json`.
    fn from_artifact_dir(dir: &Path) -> Result<Library> {
        let find = |stem: &str| -> Option<PathBuf> {
            [format!("{stem}.json"), stem.to_string()]
                .into_iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())
        };
        let mut lib = Library::default();
        if let Some(p) = find("controls") {
            for c in as_list(read_json(&p)?) {
                let c = control_from_artifact(c, &p, &mut lib)?;
                lib.controls.insert(c.control_id.clone(), c);
            }
        }
        if let Some(p) = find("rules") {
            for r in as_list(read_json(&p)?) {
                let r: Rule = from_value(r, &p.display().to_string())?;
                lib.rules.insert(r.name.clone(), r);
            }
        }
        if let Some(p) = find("frameworks") {
            for f in as_list(read_json(&p)?) {
                lib.add_framework_artifact(f, &p)?;
            }
        }
        if let Some(p) = find("default_config_inputs") {
            lib.config_inputs = config_inputs_of(read_json(&p)?);
        }
        if let Some(p) = find("exceptions") {
            extend_list(&mut lib.exceptions, read_json(&p)?);
        }
        if let Some(p) = find("attack_tracks") {
            extend_list(&mut lib.attack_tracks, read_json(&p)?);
        }
        if lib.frameworks.is_empty() {
            // Per-framework artifact files (nsa.json, mitre.json, ...).
            for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
                let p = entry.map_err(|e| Error::io(dir, e))?.path();
                if p.extension().is_some_and(|e| e == "json") {
                    if let Ok(v) = read_json(&p) {
                        if v.get("controls").is_some() && v.get("name").is_some() {
                            lib.add_framework_artifact(v, &p)?;
                        }
                    }
                }
            }
        }
        if lib.controls.is_empty() && lib.frameworks.is_empty() {
            return Err(Error::Input {
                what: dir.display().to_string(),
                message: "not a control library: expected rules/ and controls/ (source layout) or \
                          frameworks.json, controls.json, rules.json (release artifacts)"
                    .into(),
            });
        }
        lib.resolve_named_framework_controls();
        lib.frameworks.sort_by_key(|f| f.name.to_lowercase());
        Ok(lib)
    }

    fn from_framework_artifact(value: Value, path: &Path) -> Result<Library> {
        let mut lib = Library::default();
        for f in as_list(value) {
            lib.add_framework_artifact(f, path)?;
        }
        lib.resolve_named_framework_controls();
        Ok(lib)
    }

    /// A framework artifact embeds its controls, each embedding its rules.
    fn add_framework_artifact(&mut self, mut value: Value, path: &Path) -> Result<()> {
        let controls = value.as_object_mut().and_then(|o| o.remove("controls"));
        let mut fw: Framework = from_value(value, &path.display().to_string())?;
        if let Some(controls) = controls {
            let had_active = !fw.active_controls.is_empty();
            for c in as_list(controls) {
                let c = control_from_artifact(c, path, self)?;
                if !had_active {
                    fw.active_controls.push(ActiveControl {
                        control_id: c.control_id.clone(),
                        patch: None,
                    });
                }
                self.controls.entry(c.control_id.clone()).or_insert(c);
            }
        }
        self.frameworks.retain(|f| f.name != fw.name);
        self.frameworks.push(fw);
        Ok(())
    }

    /// Frameworks that list controls by name get them resolved to IDs.
    fn resolve_named_framework_controls(&mut self) {
        let by_name: HashMap<String, String> = self
            .controls
            .values()
            .map(|c| (c.name.to_lowercase(), c.control_id.clone()))
            .collect();
        for fw in &mut self.frameworks {
            if fw.active_controls.is_empty() {
                fw.active_controls = fw
                    .controls_names
                    .iter()
                    .filter_map(|n| by_name.get(&n.to_lowercase()))
                    .map(|id| ActiveControl {
                        control_id: id.clone(),
                        patch: None,
                    })
                    .collect();
            }
        }
    }

    /// Finds a framework by name, case-insensitively.
    pub fn framework(&self, name: &str) -> Option<&Framework> {
        self.frameworks
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The control as seen inside a framework: the framework's `patch` applied over the control.
    pub fn control_in_framework(&self, fw: &Framework, id: &str) -> Option<Control> {
        let base = self.controls.get(id)?;
        let active = fw.active_controls.iter().find(|a| a.control_id == id)?;
        let Some(patch) = &active.patch else {
            return Some(base.clone());
        };
        let mut v = serde_json::to_value(base).ok()?;
        if let Some(obj) = v.as_object_mut() {
            for (k, pv) in patch {
                obj.insert(k.clone(), pv.clone());
            }
        }
        let mut patched: Control = serde_json::from_value(v).ok()?;
        patched.control_id = id.to_string();
        Some(patched)
    }

    /// Finds a rule by its name or, for source layouts, by its directory name.
    pub fn rule(&self, name_or_dir: &str) -> Option<&Rule> {
        self.rules
            .get(name_or_dir)
            .or_else(|| self.rules.values().find(|r| r.directory == name_or_dir))
    }

    /// Replaces config inputs with the contents of a `--controls-config` file (either the full
    /// default-config-inputs document or just the `postureControlInputs` object).
    pub fn set_config_inputs_from(&mut self, path: &Path) -> Result<()> {
        self.config_inputs = config_inputs_of(read_json(path)?);
        Ok(())
    }
}

fn control_from_artifact(mut c: Value, path: &Path, lib: &mut Library) -> Result<Control> {
    if let Some(rules) = c.as_object_mut().and_then(|o| o.remove("rules")) {
        let mut names = Vec::new();
        for r in as_list(rules) {
            let r: Rule = from_value(r, &path.display().to_string())?;
            names.push(r.name.clone());
            lib.rules.entry(r.name.clone()).or_insert(r);
        }
        if c.get("rulesNames").is_none() {
            c["rulesNames"] = Value::from(names);
        }
    }
    from_value(c, &path.display().to_string())
}

/// Accepts the whole default-config-inputs document, `{"settings": {"postureControlInputs": ..}}`,
/// or a bare `postureControlInputs` object.
pub fn config_inputs_of(v: Value) -> serde_json::Map<String, Value> {
    let inner = v
        .pointer("/settings/postureControlInputs")
        .or_else(|| v.get("postureControlInputs"))
        .cloned()
        .unwrap_or(v);
    match inner {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

fn as_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Null => vec![],
        other => vec![other],
    }
}

fn extend_list(list: &mut Vec<Value>, v: Value) {
    list.extend(as_list(v));
}

fn from_value<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::Input {
        what: what.to_string(),
        message: e.to_string(),
    })
}

fn utf8(bytes: &[u8], what: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::Input {
        what: what.to_string(),
        message: "not UTF-8 text".into(),
    })
}

pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Input {
        what: path.display().to_string(),
        message: format!("invalid JSON: {e}"),
    })
}

/// All files under `root`, as (path relative to root with `/`, absolute path), sorted.
pub(crate) fn walk_files(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, p));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes the library as upstream release artifacts: `frameworks.json`, `controls.json`,
/// `rules.json` (Rego embedded), `default_config_inputs.json`, `exceptions.json`,
/// `attack_tracks.json`, the two CSV indexes, and one self-contained file per framework
/// (`nsa.json`, ...) with its controls and rules embedded.
pub fn export_artifacts(lib: &Library, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut written = Vec::new();
    let mut write = |name: &str, contents: String| -> Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, contents).map_err(|e| Error::io(&p, e))?;
        written.push(p);
        Ok(())
    };
    let json = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let rules: Vec<&Rule> = lib.rules.values().collect();
    let controls: Vec<&Control> = lib.controls.values().collect();
    write(
        "frameworks.json",
        json(&serde_json::to_value(&lib.frameworks).unwrap_or_default()),
    )?;
    write(
        "controls.json",
        json(&serde_json::to_value(&controls).unwrap_or_default()),
    )?;
    write(
        "rules.json",
        json(&serde_json::to_value(&rules).unwrap_or_default()),
    )?;
    write(
        "default_config_inputs.json",
        json(
            &serde_json::json!({"name": "default", "settings": {"postureControlInputs": lib.config_inputs}}),
        ),
    )?;
    write(
        "exceptions.json",
        json(&Value::from(lib.exceptions.clone())),
    )?;
    write(
        "attack_tracks.json",
        json(&Value::from(lib.attack_tracks.clone())),
    )?;
    let mut control_rule = String::from("ControlID,RuleName\n");
    for c in &controls {
        for r in &c.rules_names {
            control_rule.push_str(&format!("{},{}\n", c.control_id, csv_field(r)));
        }
    }
    write("ControlID_RuleName.csv", control_rule)?;
    let mut fw_index = String::from("frameworkName,ControlID,ControlName\n");
    for fw in &lib.frameworks {
        let mut embedded = Vec::new();
        for ac in &fw.active_controls {
            let Some(c) = lib.control_in_framework(fw, &ac.control_id) else {
                continue;
            };
            fw_index.push_str(&format!(
                "{},{},{}\n",
                csv_field(&fw.name),
                c.control_id,
                csv_field(&c.name)
            ));
            let mut cv = serde_json::to_value(&c).unwrap_or_default();
            let crules: Vec<Value> = c
                .rules_names
                .iter()
                .filter_map(|n| lib.rules.get(n))
                .map(|r| serde_json::to_value(r).unwrap_or_default())
                .collect();
            cv["rules"] = Value::from(crules);
            embedded.push(cv);
        }
        let mut fv = serde_json::to_value(fw).unwrap_or_default();
        fv["controls"] = Value::from(embedded);
        write(&format!("{}.json", fw.name.to_lowercase()), json(&fv))?;
    }
    write("FWName_CID_CName.csv", fw_index)?;
    Ok(written)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Library {
        let f = |p: &str, v: Value| SourceFile {
            path: p.into(),
            contents: serde_json::to_vec(&v).unwrap().into(),
        };
        Library::from_source_files(vec![
            f("frameworks/a.json", serde_json::json!({"name": "Alpha", "activeControls": [{"controlID": "C-1", "patch": {"name": "Patched"}}]})),
            f("controls/c.json", serde_json::json!({"controlID": "C-1", "name": "One", "baseScore": 7, "rulesNames": ["r1"]})),
            f("rules/r1-dir/rule.metadata.json", serde_json::json!({"name": "r1", "match": []})),
            SourceFile { path: "rules/r1-dir/raw.rego".into(), contents: b"package armo_builtins\n".to_vec().into() },
            f("default-config-inputs.json", serde_json::json!({"settings": {"postureControlInputs": {"k": ["v"]}}})),
        ])
        .unwrap()
    }

    #[test]
    fn source_layout_loads_with_patches() {
        let lib = small();
        let fw = lib.framework("alpha").unwrap();
        assert_eq!(lib.control_in_framework(fw, "C-1").unwrap().name, "Patched");
        assert_eq!(lib.rule("r1-dir").unwrap().rule, "package armo_builtins\n");
        assert_eq!(lib.config_inputs["k"], serde_json::json!(["v"]));
    }

    #[test]
    fn artifacts_round_trip() {
        let lib = small();
        let dir = tempfile::tempdir().unwrap();
        export_artifacts(&lib, dir.path()).unwrap();
        for loaded in [
            Library::load_path(dir.path()).unwrap(),
            Library::load_path(&dir.path().join("alpha.json")).unwrap(),
        ] {
            let fw = loaded.framework("Alpha").unwrap();
            assert_eq!(
                loaded.control_in_framework(fw, "C-1").unwrap().name,
                "Patched"
            );
            assert_eq!(loaded.rules["r1"].rule, "package armo_builtins\n");
        }
        assert_eq!(
            Library::load_path(dir.path()).unwrap().config_inputs["k"],
            serde_json::json!(["v"])
        );
    }
}
