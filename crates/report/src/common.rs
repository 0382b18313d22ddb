//! What several formats share: failed findings per control, readable resource names, sorting,
//! number formatting and XML/HTML escaping.

use std::collections::{BTreeMap, HashMap};

use kubescape_api::posture::{
    severity_rank, ControlSummary, PostureReport, Resource, ResourceControl, Source, Status,
};
use serde_json::Value;

use crate::RenderOptions;

/// One path of a failed rule, as a person reads it. It borrows the report's strings: a large scan
/// has hundreds of thousands of paths, and copying them doubled what the writers hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathItem<'r> {
    Failed(&'r str),
    Review(&'r str),
    Delete(&'r str),
    Fix { path: &'r str, value: &'r str },
    Command(&'r str),
}

impl<'r> PathItem<'r> {
    /// The object path this item points at (none for a fix command).
    pub fn path(&self) -> Option<&'r str> {
        match self {
            PathItem::Failed(p) | PathItem::Review(p) | PathItem::Delete(p) => Some(p),
            PathItem::Fix { path, .. } => Some(path),
            PathItem::Command(_) => None,
        }
    }

    /// A fix rather than a finding.
    pub fn is_fix(&self) -> bool {
        matches!(
            self,
            PathItem::Fix { .. } | PathItem::Delete(_) | PathItem::Command(_)
        )
    }

    /// `failed: spec.x`, `fix: set spec.x to false`, ...
    pub fn describe(&self) -> String {
        match self {
            PathItem::Failed(p) => format!("failed: {p}"),
            PathItem::Review(p) => format!("review: {p}"),
            PathItem::Delete(p) => format!("fix: delete {p}"),
            PathItem::Fix { path, value } => format!("fix: set {path} to {value}"),
            PathItem::Command(c) => format!("fix: run {c}"),
        }
    }
}

/// One failed (resource, control) pair.
#[derive(Debug, Clone)]
pub struct Finding<'r> {
    pub resource_id: &'r str,
    pub resource: Option<&'r Resource>,
    pub control: &'r ResourceControl,
    pub paths: Vec<PathItem<'r>>,
}

impl<'r> Finding<'r> {
    pub fn name(&self) -> ResourceName {
        resource_name(
            self.resource_id,
            self.resource.map(|r| &r.object).unwrap_or(&Value::Null),
        )
    }

    pub fn source(&self) -> Option<&'r Source> {
        self.resource.and_then(|r| r.source.as_ref())
    }

    /// The fixes, in a sentence (empty when there is none).
    pub fn fix_text(&self) -> String {
        let fixes: Vec<String> = self
            .paths
            .iter()
            .filter(|p| p.is_fix())
            .map(|p| p.describe()[5..].to_string())
            .collect();
        fixes.join("; ")
    }

    /// The first path that locates the finding: a failed path, else any other path.
    pub fn primary_path(&self) -> Option<&str> {
        self.paths
            .iter()
            .find(|p| matches!(p, PathItem::Failed(_)))
            .or_else(|| self.paths.iter().find(|p| p.path().is_some()))
            .and_then(PathItem::path)
    }

    /// Line of `path` in the resource's file, if the caller can tell.
    pub fn line_of_path(&self, path: &str, opts: &RenderOptions) -> Option<usize> {
        let src = self.source()?;
        let f = opts.line_of?;
        f(&src.relative_path, src.document_index, path).filter(|l| *l > 0)
    }

    /// Best line for the whole finding: the primary path's line, else where the document starts.
    pub fn line(&self, opts: &RenderOptions) -> Option<usize> {
        self.primary_path()
            .and_then(|p| self.line_of_path(p, opts))
            .or_else(|| self.source().map(|s| s.line).filter(|l| *l > 0))
    }
}

/// Failed findings by control ID, in the order of the report's results.
pub fn failed_findings(report: &PostureReport) -> BTreeMap<&str, Vec<Finding<'_>>> {
    let resources: HashMap<&str, &Resource> = report
        .resources
        .iter()
        .map(|r| (r.resource_id.as_str(), r))
        .collect();
    let mut out: BTreeMap<&str, Vec<Finding>> = BTreeMap::new();
    for result in &report.results {
        for control in &result.controls {
            if control.status.status != Status::Failed {
                continue;
            }
            let mut paths: Vec<PathItem> = Vec::new();
            for rule in &control.rules {
                if rule.status == Status::Passed {
                    continue;
                }
                for p in &rule.paths {
                    let items = [
                        p.failed_path.as_deref().map(PathItem::Failed),
                        p.review_path.as_deref().map(PathItem::Review),
                        p.delete_path.as_deref().map(PathItem::Delete),
                        p.fix_path.as_ref().map(|f| PathItem::Fix {
                            path: &f.path,
                            value: &f.value,
                        }),
                        p.fix_command.as_deref().map(PathItem::Command),
                    ];
                    for item in items.into_iter().flatten() {
                        if !paths.contains(&item) {
                            paths.push(item);
                        }
                    }
                }
            }
            out.entry(control.control_id.as_str())
                .or_default()
                .push(Finding {
                    resource_id: &result.resource_id,
                    resource: resources.get(result.resource_id.as_str()).copied(),
                    control,
                    paths,
                });
        }
    }
    out
}

/// A resource as a person names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceName {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ResourceName {
    /// `Deployment default/nginx`, `ClusterRole admin`.
    pub fn display(&self) -> String {
        match (self.kind.is_empty(), self.namespace.is_empty()) {
            (true, _) => self.name.clone(),
            (false, true) => format!("{} {}", self.kind, self.name),
            (false, false) => format!("{} {}/{}", self.kind, self.namespace, self.name),
        }
    }
}

/// Names a resource from its object when the report kept it, else from its ID
/// (`[path=<hash>/api=]<group>/<version>/<namespace>/<Kind>/<name>`).
pub fn resource_name(id: &str, object: &Value) -> ResourceName {
    let s = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if object.is_object() && !s("/kind").is_empty() && !s("/metadata/name").is_empty() {
        return ResourceName {
            api_version: s("/apiVersion"),
            kind: s("/kind"),
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name"),
        };
    }
    let rest = match (id.starts_with("path="), id.find("/api=")) {
        (true, Some(i)) => &id[i + 5..],
        _ => id,
    };
    let parts: Vec<&str> = rest.splitn(5, '/').collect();
    match parts.as_slice() {
        [group, version, namespace, kind, name] if !kind.is_empty() && !name.is_empty() => {
            ResourceName {
                api_version: if group.is_empty() {
                    version.to_string()
                } else {
                    format!("{group}/{version}")
                },
                kind: kind.to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
            }
        }
        _ => ResourceName {
            name: id.to_string(),
            ..Default::default()
        },
    }
}

/// `deploy/app.yaml:12 (document 2)`; the line is the finding's when known.
pub fn source_text(src: &Source, line: Option<usize>) -> String {
    let mut s = src.relative_path.clone();
    if let Some(l) = line.or(Some(src.line)).filter(|l| *l > 0) {
        s.push_str(&format!(":{l}"));
    }
    if src.document_index > 0 {
        s.push_str(&format!(" (document {})", src.document_index));
    }
    s
}

/// Controls sorted by severity (most severe first), then name, then ID.
pub fn sorted_controls<'a, I: IntoIterator<Item = &'a ControlSummary>>(
    controls: I,
) -> Vec<&'a ControlSummary> {
    let mut v: Vec<&ControlSummary> = controls.into_iter().collect();
    v.sort_by(|a, b| {
        severity_rank(&b.severity)
            .cmp(&severity_rank(&a.severity))
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.control_id.cmp(&b.control_id))
    });
    v
}

/// Counts of controls by status: (failed, passed, skipped).
pub fn status_counts<'a, I: IntoIterator<Item = &'a ControlSummary>>(
    controls: I,
) -> (usize, usize, usize) {
    controls
        .into_iter()
        .fold((0, 0, 0), |(f, p, s), c| match c.status {
            Status::Failed => (f + 1, p, s),
            Status::Passed => (f, p + 1, s),
            Status::Skipped => (f, p, s + 1),
        })
}

/// Why a control was skipped (or passed without resources): the info, else the sub-status.
pub fn status_reason(c: &ControlSummary) -> String {
    let info = c.status_info.info.trim();
    let sub = c.status_info.sub_status.trim();
    match (info.is_empty(), sub.is_empty()) {
        (false, false) => format!("{sub}: {info}"),
        (false, true) => info.to_string(),
        (true, false) => sub.to_string(),
        (true, true) => String::new(),
    }
}

/// A percentage with at most two decimals: `100%`, `66.67%`.
pub fn pct(v: f64) -> String {
    format!("{}%", num(v))
}

/// A number with at most two decimals and no trailing zeros.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Escapes text for XML and HTML (element content and quoted attributes). Characters XML 1.0
/// forbids even when escaped become U+FFFD.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resources_from_ids() {
        let n = resource_name(
            "path=123/api=apps/v1/default/Deployment/nginx",
            &Value::Null,
        );
        assert_eq!(n.display(), "Deployment default/nginx");
        assert_eq!(n.api_version, "apps/v1");
        assert_eq!(
            resource_name("/v1//Namespace/kube-system", &Value::Null).display(),
            "Namespace kube-system"
        );
        assert_eq!(resource_name("weird", &Value::Null).display(), "weird");
        let obj = serde_json::json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}});
        assert_eq!(resource_name("x", &obj).display(), "Pod ns/p");
    }

    #[test]
    fn formats_numbers_and_escapes() {
        assert_eq!(pct(100.0), "100%");
        assert_eq!(pct(66.666_666), "66.67%");
        assert_eq!(pct(0.0), "0%");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(
            escape_xml("<a href=\"x\">&'\u{1}</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\u{FFFD}&lt;/a&gt;"
        );
    }
}
