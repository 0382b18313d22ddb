//! The posture report: upstream Kubescape's v2 JSON report, field for field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Passed,
    Skipped,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }
}

/// Sub-statuses: `w/exceptions`, `irrelevant`, `configuration`, `requires review`, `manual review`,
/// `integration`, `notEvaluated` (empty when none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusInfo {
    pub status: Status,
    #[serde(
        rename = "subStatus",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub sub_status: String,
    /// Why a control was skipped (missing host data, unsupported builtin, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub info: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceCounters {
    pub passed_resources: u64,
    pub failed_resources: u64,
    pub skipped_resources: u64,
}

impl ResourceCounters {
    pub fn all(&self) -> u64 {
        self.passed_resources + self.failed_resources + self.skipped_resources
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeverityCounters {
    pub critical_severity: u64,
    pub high_severity: u64,
    pub medium_severity: u64,
    pub low_severity: u64,
}

impl SeverityCounters {
    pub fn add(&mut self, severity: &str) {
        match severity {
            "Critical" => self.critical_severity += 1,
            "High" => self.high_severity += 1,
            "Medium" => self.medium_severity += 1,
            "Low" => self.low_severity += 1,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlSummary {
    #[serde(rename = "controlID")]
    pub control_id: String,
    pub name: String,
    pub status: Status,
    pub status_info: StatusInfo,
    #[serde(rename = "ResourceCounters")]
    pub resource_counters: ResourceCounters,
    pub score: f64,
    pub compliance_score: f64,
    pub score_factor: f64,
    pub severity: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub category: Value,
    /// Our own text: what the control checks and how to fix a failure.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remediation: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameworkSummary {
    pub name: String,
    pub status: Status,
    pub compliance_score: f64,
    pub score: f64,
    #[serde(rename = "ResourceCounters")]
    pub resource_counters: ResourceCounters,
    pub controls: BTreeMap<String, ControlSummary>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryDetails {
    pub controls: BTreeMap<String, ControlSummary>,
    pub frameworks: Vec<FrameworkSummary>,
    pub status: Status,
    pub compliance_score: f64,
    pub score: f64,
    #[serde(rename = "ResourceCounters")]
    pub resource_counters: ResourceCounters,
    pub controls_severity_counters: SeverityCounters,
    pub resources_severity_counters: SeverityCounters,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub relative_path: String,
    pub file_type: String,
    /// Index of the document inside a multi-document YAML file.
    #[serde(default)]
    pub document_index: usize,
    /// 1-based line where the document starts (0 when unknown).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub line: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    #[serde(rename = "resourceID")]
    pub resource_id: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub object: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FixPath {
    pub path: String,
    pub value: String,
}

/// One path of a rule response: exactly one of the fields is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RulePath {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_path: Option<FixPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_command: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    pub name: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sub_status: String,
    #[serde(default)]
    pub paths: Vec<RulePath>,
    /// Exception policies that turned a failure into a pass.
    #[serde(default)]
    pub exception: Vec<Value>,
    #[serde(default)]
    pub control_configurations: BTreeMap<String, Value>,
    /// Other objects involved in the finding (a binding and role for an RBAC subject, ...).
    #[serde(
        rename = "relatedResourcesIDs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub related_resources_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceControl {
    #[serde(rename = "controlID")]
    pub control_id: String,
    pub name: String,
    pub severity: String,
    pub status: StatusInfo,
    pub rules: Vec<RuleResult>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    #[serde(rename = "resourceID")]
    pub resource_id: String,
    pub controls: Vec<ResourceControl>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanMetadata {
    pub target_type: String,
    #[serde(default)]
    pub target_names: Vec<String>,
    #[serde(default)]
    pub formats: Vec<String>,
    pub kubescape_version: String,
    /// `file` or `cluster`.
    #[serde(default)]
    pub scanning_target: String,
    #[serde(default)]
    pub include_namespaces: Vec<String>,
    #[serde(default)]
    pub exclude_namespaces: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub scan_metadata: ScanMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostureReport {
    pub generation_time: String,
    pub cluster_name: String,
    #[serde(rename = "reportGUID")]
    pub report_guid: String,
    pub summary_details: SummaryDetails,
    pub resources: Vec<Resource>,
    pub results: Vec<ResourceResult>,
    pub metadata: Metadata,
}

/// Severity from a control's base score: >= 9 Critical, >= 7 High, >= 4 Medium, >= 1 Low.
pub fn severity_of(base_score: f64) -> &'static str {
    if base_score >= 9.0 {
        "Critical"
    } else if base_score >= 7.0 {
        "High"
    } else if base_score >= 4.0 {
        "Medium"
    } else if base_score >= 1.0 {
        "Low"
    } else {
        "Unknown"
    }
}

/// Severity rank for thresholds: Unknown < Low < Medium < High < Critical.
pub fn severity_rank(severity: &str) -> u8 {
    match severity.to_ascii_lowercase().as_str() {
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_with_upstream_field_names() {
        let mut r = PostureReport {
            cluster_name: "c".into(),
            ..Default::default()
        };
        r.summary_details.controls.insert(
            "C-0016".into(),
            ControlSummary {
                control_id: "C-0016".into(),
                status: Status::Failed,
                ..Default::default()
            },
        );
        r.results.push(ResourceResult {
            resource_id: "/v1/default/Pod/x".into(),
            controls: vec![ResourceControl {
                control_id: "C-0016".into(),
                rules: vec![RuleResult {
                    paths: vec![RulePath {
                        fix_path: Some(FixPath {
                            path: "a".into(),
                            value: "false".into(),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let text = serde_json::to_string(&r).unwrap();
        for key in [
            "\"summaryDetails\"",
            "\"ResourceCounters\"",
            "\"controlID\"",
            "\"resourceID\"",
            "\"reportGUID\"",
            "\"fixPath\"",
            "\"complianceScore\"",
            "\"statusInfo\"",
        ] {
            assert!(text.contains(key), "{key} missing in {text}");
        }
        let back: PostureReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn severities() {
        assert_eq!(severity_of(9.0), "Critical");
        assert_eq!(severity_of(7.5), "High");
        assert_eq!(severity_of(4.0), "Medium");
        assert_eq!(severity_of(1.0), "Low");
        assert!(severity_rank("high") > severity_rank("Medium"));
    }
}
