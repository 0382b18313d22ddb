//! `sarif`: SARIF 2.1.0. Rules are the failed controls; results one per (resource, failed
//! control), located in the resource's file (line of the first failed or fix path) or, for
//! resources without a file (cluster scans), by a logical location.

use std::collections::BTreeMap;

use kubescape_api::posture::{severity_of, severity_rank, PostureReport, Status};
use serde_json::{json, Map, Value};

use crate::common::{failed_findings, Finding};
use crate::{Format, RenderError, RenderOptions};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF level from a severity: Critical/High -> error, Medium -> warning, else note.
fn level(severity: &str) -> &'static str {
    match severity_rank(severity) {
        3 | 4 => "error",
        2 => "warning",
        _ => "note",
    }
}

/// Characters a URI reference keeps as they are: RFC 3986 unreserved ones and the `/` separator.
const URI_PATH_KEEPS: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// A relative path as a URI reference: `/` separators, everything but unreserved characters and
/// `/` percent-encoded.
fn uri_reference(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    percent_encoding::utf8_percent_encode(path, URI_PATH_KEEPS).to_string()
}

fn text(s: &str) -> Value {
    json!({ "text": s })
}

struct RuleInfo {
    id: String,
    name: String,
    severity: String,
    score_factor: f64,
    description: String,
    remediation: String,
}

pub fn render(report: &PostureReport, opts: &RenderOptions) -> Result<String, RenderError> {
    let mut out = Vec::new();
    write(report, opts, &mut out)?;
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// Streams the SARIF log: results are built and written one at a time (a large scan has hundreds
/// of thousands of them).
pub fn write(
    report: &PostureReport,
    opts: &RenderOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    let findings = failed_findings(report);
    let s = &report.summary_details;

    // Rules: every failed control, plus any control a failed result names that the summary lacks.
    let mut rules: BTreeMap<&str, RuleInfo> = BTreeMap::new();
    for c in s.controls.values().filter(|c| c.status == Status::Failed) {
        rules.insert(
            &c.control_id,
            RuleInfo {
                id: c.control_id.clone(),
                name: c.name.clone(),
                severity: c.severity.clone(),
                score_factor: c.score_factor,
                description: c.description.clone(),
                remediation: c.remediation.clone(),
            },
        );
    }
    for (id, list) in &findings {
        if let (false, Some(f)) = (rules.contains_key(id), list.first()) {
            rules.insert(
                id,
                RuleInfo {
                    id: id.to_string(),
                    name: f.control.name.clone(),
                    severity: f.control.severity.clone(),
                    score_factor: 0.0,
                    description: String::new(),
                    remediation: String::new(),
                },
            );
        }
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();

    let rule_values: Vec<Value> = rules.values().map(rule).collect();
    let results = LazyResults {
        findings: &findings,
        rules: &rules,
        index: &index,
        opts,
    };

    let mut driver = Map::new();
    driver.insert("name".into(), json!("kubescape"));
    driver.insert(
        "informationUri".into(),
        json!("https://github.com/kubescape/kubescape"),
    );
    let version = &report.metadata.scan_metadata.kubescape_version;
    if !version.is_empty() {
        driver.insert("version".into(), json!(version));
    }
    driver.insert("rules".into(), Value::Array(rule_values));

    let mut run = Map::new();
    run.insert("tool".into(), json!({ "driver": driver }));
    run.insert("columnKind".into(), json!("unicodeCodePoints"));
    let mut props = Map::new();
    props.insert("complianceScore".into(), json!(s.compliance_score));
    if !report.cluster_name.is_empty() {
        props.insert("clusterName".into(), json!(report.cluster_name));
    }
    if !report.generation_time.is_empty() {
        props.insert("generationTime".into(), json!(report.generation_time));
    }
    run.insert("properties".into(), Value::Object(props));

    let log = Log { run, results };
    serde_json::to_writer_pretty(&mut *out, &log).map_err(|source| RenderError::Json {
        format: Format::Sarif,
        source,
    })?;
    out.write_all(b"\n").map_err(RenderError::Io)
}

/// `{"$schema", "version", "runs": [run + "results"]}` with the results serialised lazily.
struct Log<'a> {
    run: Map<String, Value>,
    results: LazyResults<'a>,
}

impl serde::Serialize for Log<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Run<'b>(&'b Log<'b>);
        impl serde::Serialize for Run<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.run.len() + 1))?;
                for (k, v) in &self.0.run {
                    m.serialize_entry(k, v)?;
                }
                m.serialize_entry("results", &self.0.results)?;
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("$schema", SCHEMA)?;
        m.serialize_entry("version", "2.1.0")?;
        m.serialize_entry("runs", &[Run(self)])?;
        m.end()
    }
}

struct LazyResults<'a> {
    findings: &'a BTreeMap<&'a str, Vec<Finding<'a>>>,
    rules: &'a BTreeMap<&'a str, RuleInfo>,
    index: &'a BTreeMap<&'a str, usize>,
    opts: &'a RenderOptions<'a>,
}

impl serde::Serialize for LazyResults<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        for (id, list) in self.findings {
            let info = &self.rules[id];
            for f in list {
                seq.serialize_element(&result(f, info, self.index[id], self.opts))?;
            }
        }
        seq.end()
    }
}

fn rule(r: &RuleInfo) -> Value {
    let full = if r.description.is_empty() {
        r.name.clone()
    } else {
        r.description.trim().to_string()
    };
    let help = match (r.remediation.trim(), r.description.trim()) {
        ("", "") => r.name.clone(),
        ("", d) => d.to_string(),
        (rem, _) => rem.to_string(),
    };
    let severity = if r.severity.is_empty() {
        severity_of(r.score_factor).to_string()
    } else {
        r.severity.clone()
    };
    let mut props = Map::new();
    props.insert(
        "tags".into(),
        json!(["security", "kubernetes", "misconfiguration"]),
    );
    props.insert("severity".into(), json!(severity));
    if r.score_factor > 0.0 {
        props.insert(
            "security-severity".into(),
            json!(format!("{:.1}", r.score_factor.clamp(0.0, 10.0))),
        );
    }
    json!({
        "id": r.id,
        "name": r.name,
        "shortDescription": text(&r.name),
        "fullDescription": text(&full),
        "help": text(&help),
        "helpUri": format!("https://hub.armosec.io/docs/{}", r.id.to_lowercase()),
        "defaultConfiguration": { "level": level(&severity) },
        "properties": props,
    })
}

fn result(f: &Finding, rule: &RuleInfo, rule_index: usize, opts: &RenderOptions) -> Value {
    let name = f.name();
    let mut message = format!(
        "{} failed control {} {}",
        name.display(),
        rule.id,
        rule.name
    );
    if let Some(src) = f.source() {
        message.push_str(&format!(" in {}", src.relative_path));
    }
    message.push('.');
    let fix = f.fix_text();
    let failed: Vec<&str> = f
        .paths
        .iter()
        .filter(|p| !p.is_fix())
        .filter_map(|p| p.path())
        .collect();
    if !failed.is_empty() {
        message.push_str(&format!(" Failed: {}.", failed.join(", ")));
    }
    if !fix.is_empty() {
        message.push_str(&format!(" Fix: {fix}."));
    } else if !rule.remediation.is_empty() {
        message.push_str(&format!(" Remediation: {}", rule.remediation.trim()));
    }

    let location = match f.source() {
        Some(src) => {
            let line = f.line(opts).unwrap_or(1);
            json!({
                "physicalLocation": {
                    "artifactLocation": { "uri": uri_reference(&src.relative_path) },
                    "region": { "startLine": line },
                },
                "logicalLocations": [logical(f)],
            })
        }
        None => json!({ "logicalLocations": [logical(f)] }),
    };

    let mut props = Map::new();
    props.insert("resourceID".into(), json!(f.resource_id));
    let paths: Vec<String> = f.paths.iter().map(|p| p.describe()).collect();
    if !paths.is_empty() {
        props.insert("paths".into(), json!(paths));
    }
    json!({
        "ruleId": rule.id,
        "ruleIndex": rule_index,
        "level": level(&rule.severity),
        "message": text(&message),
        "locations": [location],
        "partialFingerprints": { "resourceID/controlID": format!("{}/{}", f.resource_id, rule.id) },
        "properties": props,
    })
}

fn logical(f: &Finding) -> Value {
    let name = f.name();
    let mut v = Map::new();
    v.insert(
        "name".into(),
        json!(if name.name.is_empty() {
            f.resource_id.to_string()
        } else {
            name.name.clone()
        }),
    );
    v.insert("fullyQualifiedName".into(), json!(f.resource_id));
    v.insert("kind".into(), json!("resource"));
    if !name.kind.is_empty() {
        v.insert("properties".into(), json!({ "kind": name.kind, "namespace": name.namespace, "apiVersion": name.api_version }));
    }
    Value::Object(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_references() {
        assert_eq!(uri_reference("./deploy/app.yaml"), "deploy/app.yaml");
        assert_eq!(uri_reference("my dir\\a#b.yaml"), "my%20dir/a%23b.yaml");
    }
}
