//! Reading Kubernetes objects from files, directories, stdin, Helm charts and Kustomize directories.
//!
//! Malformed documents are reported with file and document index and skipped; the rest of the
//! input is still scanned.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use kubescape_api::posture::Source;
use serde_json::Value;

use crate::yaml;

/// An object to scan, with where it came from.
#[derive(Debug, Clone)]
pub struct InputObject {
    pub value: Value,
    pub source: Option<Source>,
}

/// A document that could not be used, and why.
#[derive(Debug, Clone)]
pub struct InputProblem {
    pub location: String,
    pub message: String,
}

#[derive(Default)]
pub struct Inputs {
    pub objects: Vec<InputObject>,
    pub problems: Vec<InputProblem>,
}

/// How Helm charts get rendered: a `helm` binary, or the Helm library through a Python interpreter
/// that has the `helm_python` package.
#[derive(Debug, Clone, Default)]
pub struct Renderers {
    pub helm: Option<PathBuf>,
    pub python_with_helm: Option<PathBuf>,
    pub kubectl: Option<PathBuf>,
}

impl Renderers {
    /// Finds renderers on PATH (and the project's cached Python venv).
    pub fn discover() -> Renderers {
        let python = std::env::var_os("KUBESCAPE_HELM_PYTHON")
            .map(PathBuf::from)
            .or_else(|| {
                // The venv scripts/setup.sh makes (KUBESCAPE_RS_CACHE, default ~/.cache/kubescape-rs).
                let cache = match std::env::var_os("KUBESCAPE_RS_CACHE") {
                    Some(c) => PathBuf::from(c),
                    None => Path::new(&std::env::var_os("HOME")?).join(".cache/kubescape-rs"),
                };
                let p = cache.join("venv/bin/python");
                p.is_file().then_some(p)
            });
        let python_with_helm = python.filter(|p| {
            Command::new(p)
                .args(["-c", "import helm_python"])
                .output()
                .is_ok_and(|o| o.status.success())
        });
        Renderers {
            helm: which("helm"),
            python_with_helm,
            kubectl: which("kubectl"),
        }
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

const STDIN: &str = "-";

/// Loads every object under `paths` (files, directories, `-` for stdin).
pub fn load(paths: &[PathBuf], renderers: &Renderers) -> Inputs {
    let mut inputs = Inputs::default();
    for p in paths {
        if p.as_os_str() == STDIN {
            let mut text = String::new();
            match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => add_text(&mut inputs, &text, "stdin", "YAML"),
                Err(e) => inputs.problems.push(problem("stdin", e)),
            }
        } else if p.is_dir() {
            load_dir(&mut inputs, p, p, renderers);
        } else if p.is_file() {
            load_file(&mut inputs, p, &p.display().to_string());
        } else {
            inputs.problems.push(InputProblem {
                location: p.display().to_string(),
                message: "no such file or directory".into(),
            });
        }
    }
    inputs
}

fn problem(location: &str, e: impl std::fmt::Display) -> InputProblem {
    InputProblem {
        location: location.to_string(),
        message: e.to_string(),
    }
}

fn is_manifest(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn load_dir(inputs: &mut Inputs, root: &Path, dir: &Path, renderers: &Renderers) {
    let rel = |p: &Path| -> String {
        let r = p.strip_prefix(root).unwrap_or(p);
        let shown = if r.as_os_str().is_empty() { p } else { r };
        shown.display().to_string()
    };
    if dir.join("Chart.yaml").is_file() {
        render_helm(inputs, dir, &rel(dir), renderers);
        return;
    }
    if ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|k| dir.join(k).is_file())
    {
        render_kustomize(inputs, dir, &rel(dir), renderers);
        return;
    }
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            inputs.problems.push(problem(&dir.display().to_string(), e));
            return;
        }
    };
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            load_dir(inputs, root, &p, renderers);
        } else if is_manifest(&p) {
            load_file(inputs, &p, &rel(&p));
        }
    }
}

fn load_file(inputs: &mut Inputs, path: &Path, relative: &str) {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => {
                let file_type = if path.extension().is_some_and(|e| e == "json") {
                    "JSON"
                } else {
                    "YAML"
                };
                add_text(inputs, &text, relative, file_type)
            }
            Err(_) => inputs
                .problems
                .push(problem(relative, "not UTF-8 text; skipped")),
        },
        Err(e) => inputs.problems.push(problem(relative, e)),
    }
}

/// Adds the documents of one YAML/JSON text; `relative` names it in reports.
pub fn add_text(inputs: &mut Inputs, text: &str, relative: &str, file_type: &str) {
    let docs: Vec<yaml::Document> = if file_type == "JSON" {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => vec![Ok(v)],
            Err(e) => vec![Err(format!("invalid JSON: {e}"))],
        }
    } else {
        yaml::documents(text)
    };
    let starts = document_start_lines(text);
    for (index, doc) in docs.into_iter().enumerate() {
        let location = format!("{relative} (document {index})");
        let value = match doc {
            Ok(v) => v,
            Err(e) => {
                inputs
                    .problems
                    .push(problem(&location, format!("{e}; rest of the file skipped")));
                continue;
            }
        };
        let source = Source {
            relative_path: relative.to_string(),
            file_type: file_type.to_string(),
            document_index: index,
            line: starts.get(index).copied().unwrap_or(0),
        };
        add_object(inputs, value, source, &location);
    }
}

fn add_object(inputs: &mut Inputs, value: Value, source: Source, location: &str) {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !value.is_object() {
        inputs.problems.push(problem(
            location,
            "not a Kubernetes object (expected a mapping); skipped",
        ));
        return;
    }
    if kind.ends_with("List") {
        if let Some(items) = value.get("items").and_then(Value::as_array) {
            for item in items.clone() {
                add_object(inputs, item, source.clone(), location);
            }
            return;
        }
    }
    if kind.is_empty() || api_version.is_empty() {
        let missing = match (kind.is_empty(), api_version.is_empty()) {
            (true, true) => "kind and apiVersion",
            (true, false) => "kind",
            _ => "apiVersion",
        };
        inputs.problems.push(problem(
            location,
            format!("object without {missing}; skipped"),
        ));
        return;
    }
    let mut value = value;
    if let Value::Object(m) = &mut value {
        m.insert(
            "sourcePath".into(),
            Value::from(format!(
                "{}:{}",
                source.relative_path, source.document_index
            )),
        );
    }
    inputs.objects.push(InputObject {
        value,
        source: Some(source),
    });
}

/// 1-based first line of each YAML document (after `---` separators).
fn document_start_lines(text: &str) -> Vec<usize> {
    let mut starts = vec![];
    let mut pending = Some(1usize);
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            pending = Some(i + 2);
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(p) = pending.take() {
            starts.push(p.max(i + 1));
        }
    }
    starts
}

fn render_helm(inputs: &mut Inputs, chart: &Path, relative: &str, renderers: &Renderers) {
    if let Some(helm) = &renderers.helm {
        let out = Command::new(helm)
            .args(["template", "kubescape-scan"])
            .arg(chart)
            .output();
        match out {
            Ok(o) if o.status.success() => {
                add_helm_output(inputs, &String::from_utf8_lossy(&o.stdout), relative);
            }
            Ok(o) => inputs.problems.push(problem(
                relative,
                format!(
                    "helm template failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
            )),
            Err(e) => inputs
                .problems
                .push(problem(relative, format!("cannot run helm: {e}"))),
        }
        return;
    }
    if let Some(python) = &renderers.python_with_helm {
        const SCRIPT: &str = "import json,sys\nfrom helm_python import Chart\nprint(json.dumps(Chart.load(sys.argv[1]).render(name='kubescape-scan', namespace='default')))";
        let out = Command::new(python)
            .args(["-c", SCRIPT])
            .arg(chart)
            .output();
        match out {
            Ok(o) if o.status.success() => match serde_json::from_slice::<
                std::collections::BTreeMap<String, String>,
            >(&o.stdout)
            {
                Ok(files) => {
                    for (name, text) in files {
                        if name.ends_with("NOTES.txt") || text.trim().is_empty() {
                            continue;
                        }
                        let file = format!(
                            "{relative}/{}",
                            name.split_once('/').map(|(_, r)| r).unwrap_or(&name)
                        );
                        add_text(inputs, &text, &file, "YAML");
                    }
                }
                Err(e) => inputs.problems.push(problem(
                    relative,
                    format!("unexpected Helm library output: {e}"),
                )),
            },
            Ok(o) => inputs.problems.push(problem(
                relative,
                format!(
                    "rendering the chart failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
            )),
            Err(e) => inputs.problems.push(problem(relative, e)),
        }
        return;
    }
    inputs.problems.push(problem(
        relative,
        "is a Helm chart, but no Helm is available to render it: install helm (or the helm-python-sdk \
         package), or render it first with `helm template <name> <chart> > rendered.yaml` and scan that file",
    ));
}

/// `helm template` output marks each document with `# Source: <chart>/templates/<file>`.
fn add_helm_output(inputs: &mut Inputs, text: &str, relative: &str) {
    for chunk in text.split("\n---") {
        let source = chunk
            .lines()
            .find_map(|l| l.strip_prefix("# Source: "))
            .map(|s| {
                format!(
                    "{relative}/{}",
                    s.split_once('/').map(|(_, r)| r).unwrap_or(s)
                )
            })
            .unwrap_or_else(|| relative.to_string());
        add_text(inputs, chunk, &source, "YAML");
    }
}

fn render_kustomize(inputs: &mut Inputs, dir: &Path, relative: &str, renderers: &Renderers) {
    let Some(kubectl) = &renderers.kubectl else {
        inputs.problems.push(problem(
            relative,
            "is a Kustomize directory, but kubectl is not on PATH to render it: install kubectl, or run \
             `kustomize build` yourself and scan the output",
        ));
        return;
    };
    match Command::new(kubectl).arg("kustomize").arg(dir).output() {
        Ok(o) if o.status.success() => add_text(
            inputs,
            &String::from_utf8_lossy(&o.stdout),
            relative,
            "YAML",
        ),
        Ok(o) => inputs.problems.push(problem(
            relative,
            format!(
                "kubectl kustomize failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
        )),
        Err(e) => inputs.problems.push(problem(relative, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_lists_and_bad_objects() {
        let mut inputs = Inputs::default();
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: Pod\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n---\nfoo: [\n";
        add_text(&mut inputs, text, "m.yaml", "YAML");
        assert_eq!(inputs.objects.len(), 2);
        assert_eq!(inputs.objects[0].value["sourcePath"], "m.yaml:0");
        assert_eq!(inputs.objects[0].source.as_ref().unwrap().line, 1);
        assert_eq!(inputs.objects[1].value["kind"], "ConfigMap");
        assert_eq!(inputs.problems.len(), 2, "{:?}", inputs.problems);
        assert!(
            inputs.problems[0].location.contains("document 1")
                && inputs.problems[0].message.contains("apiVersion")
        );
        assert!(inputs.problems[1].message.contains("invalid YAML"));
    }

    #[test]
    fn start_lines() {
        assert_eq!(document_start_lines("# c\na: 1\n---\n\nb: 2\n"), vec![2, 5]);
    }
}
