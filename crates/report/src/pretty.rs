//! `pretty-printer`: a terminal summary. With `verbose`, the failed resources of every failed
//! control come first (with paths and fixes); then the control table, skipped controls with the
//! reason, framework scores, and the overall score with resource counters.

use std::fmt::Write;

use comfy_table::{presets, Attribute, Cell, CellAlignment, Color, ContentArrangement, Table};
use kubescape_api::posture::{severity_rank, ControlSummary, PostureReport, Status};

use crate::common::{
    failed_findings, pct, sorted_controls, source_text, status_counts, status_reason,
};
use crate::RenderOptions;

const WIDTH: u16 = 100;

struct Painter {
    color: bool,
}

impl Painter {
    /// Wraps `s` in an SGR sequence when colours are on.
    fn paint(&self, s: &str, sgr: &str) -> String {
        if self.color && !s.is_empty() {
            format!("\x1b[{sgr}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn severity_sgr(severity: &str) -> &'static str {
    match severity_rank(severity) {
        4 => "1;35",
        3 => "31",
        2 => "33",
        1 => "36",
        _ => "2",
    }
}

fn severity_color(severity: &str) -> Color {
    match severity_rank(severity) {
        4 => Color::Magenta,
        3 => Color::Red,
        2 => Color::Yellow,
        1 => Color::Cyan,
        _ => Color::Grey,
    }
}

fn score_color(score: f64) -> Color {
    if score >= 100.0 {
        Color::Green
    } else if score >= 50.0 {
        Color::Yellow
    } else {
        Color::Red
    }
}

fn score_sgr(score: f64) -> &'static str {
    if score >= 100.0 {
        "32"
    } else if score >= 50.0 {
        "33"
    } else {
        "31"
    }
}

pub fn render(report: &PostureReport, opts: &RenderOptions) -> String {
    let p = Painter { color: opts.color };
    let s = &report.summary_details;
    let mut out = String::new();

    // Title.
    let mut title = "Kubescape posture scan".to_string();
    let targets = &report.metadata.scan_metadata.target_names;
    if !targets.is_empty() {
        let kind = match report.metadata.scan_metadata.target_type.as_str() {
            "control" => "controls",
            _ => "frameworks",
        };
        title.push_str(&format!(" | {kind}: {}", targets.join(", ")));
    }
    if !report.cluster_name.is_empty() {
        title.push_str(&format!(" | cluster: {}", report.cluster_name));
    }
    let _ = writeln!(out, "{}", p.paint(&clean(&title), "1"));
    if !report.generation_time.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            p.paint(
                &clean(&format!("generated {}", report.generation_time)),
                "2"
            )
        );
    }
    out.push('\n');

    if opts.verbose {
        verbose_details(report, opts, &p, &mut out);
    }

    // Control table.
    let controls = sorted_controls(s.controls.values());
    let (failed, passed, skipped) = status_counts(controls.iter().copied());
    let _ = writeln!(
        out,
        "{} {} ({}, {}, {})",
        p.paint("Controls:", "1"),
        controls.len(),
        p.paint(
            &format!("failed: {failed}"),
            if failed > 0 { "31" } else { "32" }
        ),
        format_args!("passed: {passed}"),
        format_args!("skipped: {skipped}"),
    );
    if !controls.is_empty() {
        let _ = writeln!(out, "{}", control_table(&controls, report, opts));
    }

    let skipped_controls: Vec<&&ControlSummary> = controls
        .iter()
        .filter(|c| c.status == Status::Skipped)
        .collect();
    if !skipped_controls.is_empty() {
        let _ = writeln!(out, "\n{}", p.paint("Skipped controls:", "1"));
        for c in skipped_controls {
            let reason = status_reason(c);
            let reason = if reason.is_empty() {
                "no reason given".to_string()
            } else {
                reason
            };
            let _ = writeln!(out, "  {:<8} {}", clean(&c.control_id), clean(&c.name));
            for line in wrap(&clean(&reason), WIDTH as usize - 11) {
                let _ = writeln!(out, "           {}", p.paint(&line, "2"));
            }
        }
    }

    // Frameworks.
    if !s.frameworks.is_empty() {
        let _ = writeln!(out, "\n{}", p.paint("Frameworks:", "1"));
        let width = s
            .frameworks
            .iter()
            .map(|f| clean(&f.name).chars().count())
            .max()
            .unwrap_or(0);
        for fw in &s.frameworks {
            let (f, pa, sk) = status_counts(fw.controls.values());
            let score = pct(fw.compliance_score);
            let _ = writeln!(
                out,
                "  {:<width$}  compliance score {}  (controls: {} failed, {} passed, {} skipped)",
                clean(&fw.name),
                p.paint(&format!("{score:>7}"), score_sgr(fw.compliance_score)),
                f,
                pa,
                sk,
            );
        }
    }

    // Overall.
    let rc = &s.resource_counters;
    let _ = writeln!(
        out,
        "\n{} {}",
        p.paint("Overall compliance score:", "1"),
        p.paint(
            &pct(s.compliance_score),
            &format!("1;{}", score_sgr(s.compliance_score))
        )
    );
    let _ = writeln!(
        out,
        "Resources: {} scanned, {}, {} passed, {} skipped",
        rc.all(),
        p.paint(
            &format!("{} failed", rc.failed_resources),
            if rc.failed_resources > 0 { "31" } else { "32" }
        ),
        rc.passed_resources,
        rc.skipped_resources
    );
    out
}

fn control_table(
    controls: &[&ControlSummary],
    report: &PostureReport,
    opts: &RenderOptions,
) -> String {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    if opts.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH);
    table.set_header(vec![
        Cell::new("Severity"),
        Cell::new("Control name"),
        Cell::new("ID"),
        Cell::new("Failed\nresources").set_alignment(CellAlignment::Right),
        Cell::new("All\nresources").set_alignment(CellAlignment::Right),
        Cell::new("Compliance\nscore").set_alignment(CellAlignment::Right),
    ]);
    let colored = |cell: Cell, color: Color| if opts.color { cell.fg(color) } else { cell };
    for c in controls {
        let rc = &c.resource_counters;
        let compliance = match c.status {
            Status::Skipped => colored(Cell::new("skipped"), Color::Grey),
            _ => colored(
                Cell::new(pct(c.compliance_score)),
                score_color(c.compliance_score),
            ),
        };
        let failed = Cell::new(rc.failed_resources).set_alignment(CellAlignment::Right);
        let failed = if rc.failed_resources > 0 {
            colored(failed, Color::Red)
        } else {
            failed
        };
        table.add_row(vec![
            colored(Cell::new(clean(&c.severity)), severity_color(&c.severity)),
            Cell::new(clean(&c.name)),
            Cell::new(clean(&c.control_id)),
            failed,
            Cell::new(rc.all()).set_alignment(CellAlignment::Right),
            compliance.set_alignment(CellAlignment::Right),
        ]);
    }
    let s = &report.summary_details;
    let bold = |cell: Cell| {
        if opts.color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    };
    table.add_row(vec![
        Cell::new(""),
        bold(Cell::new("Resource summary")),
        Cell::new(""),
        bold(Cell::new(s.resource_counters.failed_resources)).set_alignment(CellAlignment::Right),
        bold(Cell::new(s.resource_counters.all())).set_alignment(CellAlignment::Right),
        bold(Cell::new(pct(s.compliance_score))).set_alignment(CellAlignment::Right),
    ]);
    table.to_string()
}

fn verbose_details(report: &PostureReport, opts: &RenderOptions, p: &Painter, out: &mut String) {
    let findings = failed_findings(report);
    let s = &report.summary_details;
    let failed: Vec<&ControlSummary> = sorted_controls(s.controls.values())
        .into_iter()
        .filter(|c| c.status == Status::Failed)
        .collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}\n", p.paint("Failed controls and resources:", "1"));
    for c in failed {
        let list = findings
            .get(c.control_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let _ = writeln!(
            out,
            "{} {} {}  {}",
            p.paint(
                &clean(&format!("[{}]", c.severity)),
                severity_sgr(&c.severity)
            ),
            p.paint(&clean(&c.control_id), "1"),
            p.paint(&clean(&c.name), "1"),
            format_args!(
                "{} of {} resources failed",
                c.resource_counters.failed_resources,
                c.resource_counters.all()
            ),
        );
        if !c.remediation.is_empty() {
            let _ = writeln!(
                out,
                "  {} {}",
                p.paint("remediation:", "2"),
                clean(c.remediation.trim())
            );
        }
        for f in list {
            let mut line = format!("  - {}", f.name().display());
            if let Some(src) = f.source() {
                line.push_str(&format!("  ({})", source_text(src, f.line(opts))));
            }
            let _ = writeln!(out, "{}", clean(&line));
            for item in &f.paths {
                let mut text = item.describe();
                if let Some(l) = item.path().and_then(|path| f.line_of_path(path, opts)) {
                    text.push_str(&format!("  (line {l})"));
                }
                let sgr = if item.is_fix() { "32" } else { "33" };
                let _ = writeln!(out, "      {}", p.paint(&clean(&text), sgr));
            }
        }
        out.push('\n');
    }
}

/// Report text made safe for a terminal: line breaks and tabs become spaces, other control
/// characters (escape sequences, ...) U+FFFD, so that a hostile name cannot rewrite the screen.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Splits `text` into lines of at most `width` characters at spaces (longer words stay whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_control_characters() {
        assert_eq!(clean("a\x1b[31mb\nc\u{9b}"), "a\u{FFFD}[31mb c\u{FFFD}");
    }

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("", 5), Vec::<String>::new());
        assert_eq!(wrap("abcdefgh ij", 5), ["abcdefgh", "ij"]);
    }
}
