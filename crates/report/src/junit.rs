//! `junit`: one `<testsuite>` per framework (one "Kubescape" suite when the scan ran no
//! framework), one `<testcase>` per control; failed controls carry a `<failure>` listing the failed
//! resources and paths, skipped controls a `<skipped>` with the reason.

use std::collections::BTreeMap;
use std::fmt::Write;

use kubescape_api::posture::{ControlSummary, PostureReport, Status};

use crate::common::{
    escape_xml as esc, failed_findings, num, pct, source_text, status_counts, status_reason,
    Finding,
};

struct Suite<'a> {
    name: &'a str,
    compliance: f64,
    controls: Vec<&'a ControlSummary>,
}

pub fn render(report: &PostureReport) -> String {
    let s = &report.summary_details;
    let suites: Vec<Suite> = if s.frameworks.is_empty() {
        vec![Suite {
            name: "Kubescape",
            compliance: s.compliance_score,
            controls: s.controls.values().collect(),
        }]
    } else {
        s.frameworks
            .iter()
            .map(|fw| Suite {
                name: &fw.name,
                compliance: fw.compliance_score,
                // Prefer the report-wide summary of a control (same data, maybe more text).
                controls: fw
                    .controls
                    .iter()
                    .map(|(id, c)| s.controls.get(id).unwrap_or(c))
                    .collect(),
            })
            .collect()
    };
    let findings = failed_findings(report);

    let (mut tests, mut failures, mut skipped) = (0, 0, 0);
    for suite in &suites {
        let (f, _, sk) = status_counts(suite.controls.iter().copied());
        tests += suite.controls.len();
        failures += f;
        skipped += sk;
    }

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"Kubescape posture scan\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"0\">"
    );
    for suite in &suites {
        let (f, _, sk) = status_counts(suite.controls.iter().copied());
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" skipped=\"{sk}\" time=\"0\">",
            esc(suite.name),
            suite.controls.len()
        );
        out.push_str("    <properties>\n");
        let mut props: BTreeMap<&str, String> = BTreeMap::new();
        props.insert("complianceScore", num(suite.compliance));
        props.insert("overallComplianceScore", num(s.compliance_score));
        if !report.generation_time.is_empty() {
            props.insert("generationTime", report.generation_time.clone());
        }
        if !report.cluster_name.is_empty() {
            props.insert("clusterName", report.cluster_name.clone());
        }
        for (k, v) in props {
            let _ = writeln!(out, "      <property name=\"{k}\" value=\"{}\"/>", esc(&v));
        }
        out.push_str("    </properties>\n");
        for c in &suite.controls {
            testcase(
                &mut out,
                suite.name,
                c,
                findings
                    .get(c.control_id.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, suite: &str, c: &ControlSummary, findings: &[Finding]) {
    let name = format!("{} {}", c.control_id, c.name);
    let head = format!(
        "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
        esc(&name),
        esc(suite)
    );
    match c.status {
        Status::Passed => {
            let _ = writeln!(out, "{head}/>");
        }
        Status::Skipped => {
            let reason = status_reason(c);
            let reason = if reason.is_empty() {
                "skipped".to_string()
            } else {
                reason
            };
            let _ = writeln!(
                out,
                "{head}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                esc(&reason)
            );
        }
        Status::Failed => {
            let rc = &c.resource_counters;
            let message = format!(
                "{} of {} resources failed (severity {}, compliance score {})",
                rc.failed_resources,
                rc.all(),
                c.severity,
                pct(c.compliance_score)
            );
            let mut body = String::new();
            if !c.description.is_empty() {
                let _ = writeln!(body, "{}", c.description.trim());
            }
            if !c.remediation.is_empty() {
                let _ = writeln!(body, "Remediation: {}", c.remediation.trim());
            }
            for f in findings {
                let mut line = f.name().display();
                if let Some(src) = f.source() {
                    line.push_str(&format!(" ({})", source_text(src, None)));
                }
                let _ = writeln!(body, "{line}");
                for p in &f.paths {
                    let _ = writeln!(body, "  {}", p.describe());
                }
            }
            let _ = writeln!(
                out,
                "{head}>\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                esc(&message),
                esc(&c.severity),
                esc(body.trim_end())
            );
        }
    }
}
