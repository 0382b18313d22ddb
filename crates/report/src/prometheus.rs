//! `prometheus`: the text exposition format (version 0.0.4), gauges only.

use std::fmt::Write;

use kubescape_api::posture::{ControlSummary, PostureReport, ResourceCounters};

/// One metric family being written: HELP and TYPE once, then its samples.
struct Family<'o> {
    out: &'o mut String,
}

impl Family<'_> {
    fn new<'o>(out: &'o mut String, name: &str, help: &str) -> Family<'o> {
        let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(out, "# TYPE {name} gauge");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", value_text(value));
    }
}

/// Label values: backslash, double quote and line feed are escaped.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// HELP text: backslash and line feed are escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

fn control_labels(c: &ControlSummary) -> [(&'static str, &str); 3] {
    [
        ("controlID", &c.control_id),
        ("name", &c.name),
        ("severity", &c.severity),
    ]
}

type Counter = fn(&ResourceCounters) -> u64;

const COUNTERS: [(&str, &str, Counter); 3] = [
    ("failed", "failed", |c| c.failed_resources),
    ("passed", "passed", |c| c.passed_resources),
    ("skipped", "skipped", |c| c.skipped_resources),
];

pub fn render(report: &PostureReport) -> String {
    let s = &report.summary_details;
    let mut out = String::new();

    let name = "kubescape_cluster_compliance";
    Family::new(
        &mut out,
        name,
        "Overall compliance score of the scan (percent, mean over all controls).",
    )
    .sample(name, &[], s.compliance_score);
    for (suffix, word, get) in COUNTERS {
        let name = format!("kubescape_cluster_count_resources_{suffix}");
        Family::new(
            &mut out,
            &name,
            &format!("Number of scanned resources with status {word}."),
        )
        .sample(&name, &[], get(&s.resource_counters) as f64);
    }

    let name = "kubescape_framework_compliance";
    let mut fam = Family::new(
        &mut out,
        name,
        "Compliance score of a framework (percent, mean over its controls).",
    );
    for fw in &s.frameworks {
        fam.sample(name, &[("framework", &fw.name)], fw.compliance_score);
    }
    for (suffix, word, get) in COUNTERS {
        let name = format!("kubescape_framework_count_resources_{suffix}");
        let mut fam = Family::new(
            &mut out,
            &name,
            &format!("Number of resources with status {word} in a framework."),
        );
        for fw in &s.frameworks {
            fam.sample(
                &name,
                &[("framework", &fw.name)],
                get(&fw.resource_counters) as f64,
            );
        }
    }

    let name = "kubescape_control_compliance";
    let mut fam = Family::new(
        &mut out,
        name,
        "Compliance score of a control (percent of its resources that passed).",
    );
    for c in s.controls.values() {
        fam.sample(name, &control_labels(c), c.compliance_score);
    }
    for (suffix, word, get) in COUNTERS {
        let name = format!("kubescape_control_count_resources_{suffix}");
        let mut fam = Family::new(
            &mut out,
            &name,
            &format!("Number of resources with status {word} for a control."),
        );
        for c in s.controls.values() {
            fam.sample(&name, &control_labels(c), get(&c.resource_counters) as f64);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(value_text(f64::NAN), "NaN");
        assert_eq!(value_text(60.0), "60");
        assert_eq!(value_text(71.5), "71.5");
    }
}
