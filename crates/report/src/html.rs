//! `html`: one self-contained page (inline CSS, no scripts, no external assets): overall score
//! and counters, framework scores, the control table, and per failed control the failed resources
//! with paths and fixes in `<details>`. All report text is escaped.

use std::fmt::Write;

use kubescape_api::posture::{severity_rank, ControlSummary, PostureReport, Status};

use crate::common::{
    escape_xml as esc, failed_findings, pct, sorted_controls, source_text, status_counts,
    status_reason, Finding, PathItem,
};
use crate::RenderOptions;

const CSS: &str = r#"
:root { --fg:#1f2328; --muted:#656d76; --bg:#ffffff; --panel:#f6f8fa; --line:#d0d7de;
  --good:#1a7f37; --warn:#9a6700; --bad:#cf222e; --crit:#8250df; --info:#0969da; }
@media (prefers-color-scheme: dark) {
  :root { --fg:#e6edf3; --muted:#8d96a0; --bg:#0d1117; --panel:#161b22; --line:#30363d;
    --good:#3fb950; --warn:#d29922; --bad:#f85149; --crit:#a371f7; --info:#58a6ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
header { display: flex; flex-wrap: wrap; gap: 24px; align-items: center; justify-content: space-between;
  border-bottom: 1px solid var(--line); padding-bottom: 16px; }
h1 { margin: 0 0 4px; font-size: 24px; }
h2 { margin: 32px 0 12px; font-size: 18px; }
.meta { color: var(--muted); margin: 0; }
.score { text-align: center; border: 3px solid currentColor; border-radius: 12px; padding: 8px 20px; }
.score .value { display: block; font-size: 32px; font-weight: 700; }
.score .label { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
.good { color: var(--good); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 130px; }
.card .n { display: block; font-size: 22px; font-weight: 700; }
.card .t { color: var(--muted); font-size: 12px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
.sev { display: inline-block; min-width: 68px; text-align: center; border-radius: 10px; padding: 1px 8px;
  font-size: 12px; font-weight: 600; color: #fff; background: var(--muted); }
.sev-critical { background: var(--crit); } .sev-high { background: var(--bad); }
.sev-medium { background: var(--warn); } .sev-low { background: var(--info); }
.st { font-weight: 600; } .st-failed { color: var(--bad); } .st-passed { color: var(--good); } .st-skipped { color: var(--muted); }
.reason { display: block; color: var(--muted); font-size: 12px; }
.bar { display: inline-block; width: 90px; height: 8px; border-radius: 4px; background: var(--line);
  vertical-align: middle; margin-right: 8px; overflow: hidden; }
.bar span { display: block; height: 100%; }
.bar .good { background: var(--good); } .bar .warn { background: var(--warn); } .bar .bad { background: var(--bad); }
details { border: 1px solid var(--line); border-radius: 8px; margin: 8px 0; background: var(--bg); }
summary { cursor: pointer; padding: 10px 14px; background: var(--panel); border-radius: 8px; }
details[open] summary { border-bottom: 1px solid var(--line); border-radius: 8px 8px 0 0; }
.body { padding: 8px 16px 12px; }
.desc { margin: 6px 0; }
.remediation { margin: 6px 0; padding: 8px 12px; border-left: 3px solid var(--good); background: var(--panel); }
.resource { border-top: 1px dashed var(--line); padding: 8px 0; }
.resource h4 { margin: 0; font-size: 14px; }
.src, .rid { color: var(--muted); font-size: 12px; margin: 0; word-break: break-all; }
ul.paths { margin: 6px 0 0; padding-left: 20px; }
ul.paths li { margin: 2px 0; }
.tag { display: inline-block; font-size: 11px; font-weight: 600; text-transform: uppercase; width: 52px; }
.tag-failed { color: var(--bad); } .tag-fix { color: var(--good); } .tag-review { color: var(--warn); }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--panel);
  border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; word-break: break-all; }
td code, td.score-cell { white-space: nowrap; word-break: normal; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
"#;

/// Failed controls are shown unfolded when the report has at most this many failed resources.
const OPEN_UP_TO: usize = 30;

fn score_class(score: f64) -> &'static str {
    if score >= 100.0 {
        "good"
    } else if score >= 50.0 {
        "warn"
    } else {
        "bad"
    }
}

fn sev_class(severity: &str) -> &'static str {
    match severity_rank(severity) {
        4 => "sev-critical",
        3 => "sev-high",
        2 => "sev-medium",
        1 => "sev-low",
        _ => "sev-unknown",
    }
}

fn sev_badge(severity: &str) -> String {
    let label = if severity.is_empty() {
        "Unknown"
    } else {
        severity
    };
    format!(
        "<span class=\"sev {}\">{}</span>",
        sev_class(severity),
        esc(label)
    )
}

fn bar(score: f64) -> String {
    let width = if score.is_finite() {
        score.clamp(0.0, 100.0)
    } else {
        0.0
    };
    format!(
        "<span class=\"bar\"><span class=\"{}\" style=\"width:{width:.0}%\"></span></span>{}",
        score_class(score),
        esc(&pct(score))
    )
}

/// An HTML id for a control's details (letters, digits, `-` and `_` only).
fn anchor(control_id: &str) -> String {
    let safe: String = control_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("control-{safe}")
}

pub fn render(report: &PostureReport, opts: &RenderOptions) -> String {
    let s = &report.summary_details;
    let meta = &report.metadata.scan_metadata;
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let title = if report.cluster_name.is_empty() {
        "Kubescape posture report".to_string()
    } else {
        format!("Kubescape posture report: {}", report.cluster_name)
    };
    let _ = writeln!(
        out,
        "<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>",
        esc(&title)
    );

    // Header.
    let mut facts = Vec::new();
    if !meta.target_names.is_empty() {
        let kind = if meta.target_type == "control" {
            "Controls"
        } else {
            "Frameworks"
        };
        facts.push(format!("{kind}: {}", meta.target_names.join(", ")));
    }
    if !report.cluster_name.is_empty() {
        facts.push(format!("Cluster: {}", report.cluster_name));
    }
    if !meta.scanning_target.is_empty() {
        facts.push(format!("Target: {}", meta.scanning_target));
    }
    if !report.generation_time.is_empty() {
        facts.push(format!("Generated {}", report.generation_time));
    }
    let _ = writeln!(
        out,
        "<header>\n<div>\n<h1>Kubescape posture report</h1>\n<p class=\"meta\">{}</p>\n</div>\n\
         <div class=\"score {}\"><span class=\"value\">{}</span><span class=\"label\">compliance score</span></div>\n</header>",
        esc(&facts.join(" \u{00b7} ")),
        score_class(s.compliance_score),
        esc(&pct(s.compliance_score))
    );

    // Counters.
    let rc = &s.resource_counters;
    let controls = sorted_controls(s.controls.values());
    let (cf, cp, cs) = status_counts(controls.iter().copied());
    let sc = &s.controls_severity_counters;
    out.push_str("<section class=\"cards\">\n");
    let card = |out: &mut String, n: String, label: &str, class: &str| {
        let _ = writeln!(out, "<div class=\"card\"><span class=\"n {class}\">{}</span><span class=\"t\">{}</span></div>", esc(&n), esc(label));
    };
    card(&mut out, rc.all().to_string(), "resources scanned", "");
    card(
        &mut out,
        rc.failed_resources.to_string(),
        "resources failed",
        if rc.failed_resources > 0 {
            "bad"
        } else {
            "good"
        },
    );
    card(
        &mut out,
        rc.passed_resources.to_string(),
        "resources passed",
        "good",
    );
    card(
        &mut out,
        rc.skipped_resources.to_string(),
        "resources skipped",
        "",
    );
    card(
        &mut out,
        format!("{cf} / {}", controls.len()),
        "controls failed",
        if cf > 0 { "bad" } else { "good" },
    );
    card(
        &mut out,
        format!("{cp} / {cs}"),
        "controls passed / skipped",
        "",
    );
    let _ = writeln!(
        out,
        "<div class=\"card\"><span class=\"t\">failed controls by severity</span><br>{} {}<br>{} {}<br>{} {}<br>{} {}</div>",
        sev_badge("Critical"),
        sc.critical_severity,
        sev_badge("High"),
        sc.high_severity,
        sev_badge("Medium"),
        sc.medium_severity,
        sev_badge("Low"),
        sc.low_severity
    );
    out.push_str("</section>\n");

    // Frameworks.
    if !s.frameworks.is_empty() {
        out.push_str("<section>\n<h2>Frameworks</h2>\n<table>\n<thead><tr><th>Framework</th><th>Compliance score</th>");
        out.push_str("<th class=\"num\">Controls failed</th><th class=\"num\">passed</th><th class=\"num\">skipped</th></tr></thead>\n<tbody>\n");
        for fw in &s.frameworks {
            let (f, p, sk) = status_counts(fw.controls.values());
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"score-cell\">{}</td><td class=\"num\">{f}</td><td class=\"num\">{p}</td><td class=\"num\">{sk}</td></tr>",
                esc(&fw.name),
                bar(fw.compliance_score)
            );
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }

    // Controls.
    let findings = failed_findings(report);
    out.push_str("<section>\n<h2>Controls</h2>\n");
    if controls.is_empty() {
        out.push_str("<p>No control was evaluated.</p>\n");
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Severity</th><th>Control</th><th>ID</th><th>Status</th>",
        );
        out.push_str("<th class=\"num\">Failed / all resources</th><th>Compliance score</th></tr></thead>\n<tbody>\n");
        for c in &controls {
            let name = if c.status == Status::Failed && findings.contains_key(c.control_id.as_str())
            {
                format!(
                    "<a href=\"#{}\">{}</a>",
                    anchor(&c.control_id),
                    esc(&c.name)
                )
            } else {
                esc(&c.name)
            };
            let reason = status_reason(c);
            let reason = if reason.is_empty() {
                String::new()
            } else {
                format!("<span class=\"reason\">{}</span>", esc(&reason))
            };
            let score = if c.status == Status::Skipped {
                "<span class=\"st-skipped\">n/a</span>".to_string()
            } else {
                bar(c.compliance_score)
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{name}</td><td><code>{}</code></td><td><span class=\"st st-{st}\">{st}</span>{reason}</td>\
                 <td class=\"num\">{} / {}</td><td class=\"score-cell\">{score}</td></tr>",
                sev_badge(&c.severity),
                esc(&c.control_id),
                c.resource_counters.failed_resources,
                c.resource_counters.all(),
                st = c.status.as_str(),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");

    // Failed controls in detail.
    let failed: Vec<&&ControlSummary> = controls
        .iter()
        .filter(|c| c.status == Status::Failed)
        .collect();
    if !failed.is_empty() {
        out.push_str("<section>\n<h2>Failed controls</h2>\n");
        // Small reports open every control; large ones stay folded.
        let open = findings.values().map(Vec::len).sum::<usize>() <= OPEN_UP_TO;
        for c in failed {
            let list = findings
                .get(c.control_id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            failed_control(&mut out, c, list, open, opts);
        }
        out.push_str("</section>\n");
    }

    // Footer.
    let mut foot = vec!["Generated by Kubescape".to_string()];
    if !meta.kubescape_version.is_empty() {
        foot.push(format!("version {}", meta.kubescape_version));
    }
    if !report.report_guid.is_empty() {
        foot.push(format!("report {}", report.report_guid));
    }
    let _ = writeln!(
        out,
        "<footer>{}</footer>\n</main>\n</body>\n</html>",
        esc(&foot.join(" \u{00b7} "))
    );
    out
}

fn failed_control(
    out: &mut String,
    c: &ControlSummary,
    findings: &[Finding],
    open: bool,
    opts: &RenderOptions,
) {
    let rc = &c.resource_counters;
    let _ = writeln!(
        out,
        "<details id=\"{}\"{}>\n<summary>{} <strong>{}</strong> {} &mdash; {} of {} resources failed</summary>\n<div class=\"body\">",
        anchor(&c.control_id),
        if open { " open" } else { "" },
        sev_badge(&c.severity),
        esc(&c.control_id),
        esc(&c.name),
        rc.failed_resources,
        rc.all()
    );
    if !c.description.is_empty() {
        let _ = writeln!(out, "<p class=\"desc\">{}</p>", esc(c.description.trim()));
    }
    if !c.remediation.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"remediation\"><strong>Remediation:</strong> {}</p>",
            esc(c.remediation.trim())
        );
    }
    for f in findings {
        let _ = writeln!(
            out,
            "<div class=\"resource\">\n<h4>{}</h4>",
            esc(&f.name().display())
        );
        if let Some(src) = f.source() {
            let _ = writeln!(
                out,
                "<p class=\"src\">{}</p>",
                esc(&source_text(src, f.line(opts)))
            );
        }
        let _ = writeln!(out, "<p class=\"rid\">{}</p>", esc(f.resource_id));
        if !f.paths.is_empty() {
            out.push_str("<ul class=\"paths\">\n");
            for p in &f.paths {
                let line = p
                    .path()
                    .and_then(|path| f.line_of_path(path, opts))
                    .map(|l| format!(" <span class=\"src\">line {l}</span>"))
                    .unwrap_or_default();
                let item = match p {
                    PathItem::Failed(path) => format!("<span class=\"tag tag-failed\">failed</span><code>{}</code>", esc(path)),
                    PathItem::Review(path) => format!("<span class=\"tag tag-review\">review</span><code>{}</code>", esc(path)),
                    PathItem::Delete(path) => format!("<span class=\"tag tag-fix\">fix</span>delete <code>{}</code>", esc(path)),
                    PathItem::Fix { path, value } => format!(
                        "<span class=\"tag tag-fix\">fix</span>set <code>{}</code> to <code>{}</code>",
                        esc(path),
                        esc(value)
                    ),
                    PathItem::Command(cmd) => format!("<span class=\"tag tag-fix\">fix</span>run <code>{}</code>", esc(cmd)),
                };
                let _ = writeln!(out, "<li>{item}{line}</li>");
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n</details>\n");
}
