//! The per-resource results of a scan, kept compact until a report is written.
//!
//! A scan of 10,000 objects with every control yields about 370,000 (resource, control) results,
//! three quarters of them plain passes, which the JSON report lists (as upstream's does). As
//! report structs (`ResourceControl` with its strings, rule results and paths) they took about
//! 250 MiB; here each is 16 bytes referring to interned rule results (most results of a control
//! share the same rules, statuses and paths: 174,000 failure paths at 10,000 objects are 78
//! distinct ones). Writers materialise one resource's results at a time ([`ScanResults::iter`]).

use std::collections::HashMap;

use kubescape_api::posture::{
    ResourceControl, ResourceResult, RulePath, RuleResult, Status, StatusInfo,
};
use serde_json::Value;

/// A control as its results name it.
struct ControlInfo {
    control_id: String,
    name: String,
    severity: String,
}

/// One rule's result, with every string and path replaced by its interned position.
#[derive(Clone, PartialEq, Eq, Hash)]
struct CompactRule {
    name: u32,
    status: Status,
    sub_status: u32,
    paths: Box<[u32]>,
    exception: Box<[u32]>,
    related: Box<[u32]>,
}

/// One (resource, control) result.
#[derive(Clone, Copy)]
struct Entry {
    /// Position in `ids` (ascending IDs, so sorting by it sorts by resource ID).
    resource: u32,
    /// Position in `controls` (ascending control IDs).
    control: u32,
    /// Position in `statuses`.
    status: u32,
    /// Position in `rule_sets`.
    rules: u32,
}

/// Per-resource results of a scan; see the module documentation.
#[derive(Default)]
pub struct ScanResults {
    ids: Vec<String>,
    controls: Vec<ControlInfo>,
    statuses: Vec<StatusInfo>,
    strings: Vec<String>,
    paths: Vec<RulePath>,
    exceptions: Vec<Value>,
    rule_sets: Vec<Box<[CompactRule]>>,
    /// Sorted by (resource, control): the order of the report's `results`.
    entries: Vec<Entry>,
}

impl ScanResults {
    /// Number of (resource, control) results.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The results as the report lists them (resources by ID, each with its controls by control
    /// ID), built one resource at a time; `keep` selects which (resource, control) results to
    /// include, and resources left without any are left out.
    pub fn iter<'s>(
        &'s self,
        keep: impl Fn(&StatusInfo) -> bool + 's,
    ) -> impl Iterator<Item = ResourceResult> + 's {
        self.entries
            .chunk_by(|a, b| a.resource == b.resource)
            .filter_map(move |group| {
                let controls: Vec<ResourceControl> = group
                    .iter()
                    .filter(|e| keep(&self.statuses[e.status as usize]))
                    .map(|e| self.control_result(e))
                    .collect();
                (!controls.is_empty()).then(|| ResourceResult {
                    resource_id: self.ids[group[0].resource as usize].clone(),
                    controls,
                })
            })
    }

    /// IDs of the resources with at least one result, ascending.
    pub fn resource_ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries
            .chunk_by(|a, b| a.resource == b.resource)
            .map(|group| self.ids[group[0].resource as usize].as_str())
    }

    /// Every result, materialised (what [`crate::scan::scan_store`] puts in the report).
    pub fn to_vec(&self) -> Vec<ResourceResult> {
        self.iter(|_| true).collect()
    }

    fn control_result(&self, e: &Entry) -> ResourceControl {
        let c = &self.controls[e.control as usize];
        let string = |i: u32| self.strings[i as usize].clone();
        ResourceControl {
            control_id: c.control_id.clone(),
            name: c.name.clone(),
            severity: c.severity.clone(),
            status: self.statuses[e.status as usize].clone(),
            rules: self.rule_sets[e.rules as usize]
                .iter()
                .map(|r| RuleResult {
                    name: string(r.name),
                    status: r.status,
                    sub_status: string(r.sub_status),
                    paths: r
                        .paths
                        .iter()
                        .map(|p| self.paths[*p as usize].clone())
                        .collect(),
                    exception: r
                        .exception
                        .iter()
                        .map(|x| self.exceptions[*x as usize].clone())
                        .collect(),
                    related_resources_ids: r.related.iter().map(|x| string(*x)).collect(),
                    ..Default::default()
                })
                .collect(),
        }
    }
}

/// Builds [`ScanResults`], interning as results are added.
pub(crate) struct ResultsBuilder {
    out: ScanResults,
    string_pos: HashMap<String, u32>,
    status_pos: HashMap<StatusInfo, u32>,
    path_pos: HashMap<RulePath, u32>,
    exception_pos: HashMap<String, u32>,
    rule_set_pos: HashMap<Box<[CompactRule]>, u32>,
    /// The last result added, with its status and rule-set positions: consecutive results of a
    /// control are mostly equal (plain passes), and comparing is much cheaper than interning.
    last: Option<(StatusInfo, Vec<RuleResult>, u32, u32)>,
}

fn pos(n: usize) -> u32 {
    u32::try_from(n).expect("fewer than 2^32 results")
}

impl ResultsBuilder {
    pub(crate) fn new() -> ResultsBuilder {
        ResultsBuilder {
            out: ScanResults::default(),
            string_pos: HashMap::new(),
            status_pos: HashMap::new(),
            path_pos: HashMap::new(),
            exception_pos: HashMap::new(),
            rule_set_pos: HashMap::new(),
            last: None,
        }
    }

    /// Registers a control; controls must be added in ascending control-ID order.
    pub(crate) fn add_control(&mut self, control_id: &str, name: &str, severity: &str) -> u32 {
        debug_assert!(self
            .out
            .controls
            .last()
            .is_none_or(|c| c.control_id.as_str() < control_id));
        self.out.controls.push(ControlInfo {
            control_id: control_id.to_string(),
            name: name.to_string(),
            severity: severity.to_string(),
        });
        pos(self.out.controls.len() - 1)
    }

    fn string(&mut self, s: String) -> u32 {
        if let Some(i) = self.string_pos.get(&s) {
            return *i;
        }
        let i = pos(self.out.strings.len());
        self.out.strings.push(s.clone());
        self.string_pos.insert(s, i);
        i
    }

    fn path(&mut self, p: RulePath) -> u32 {
        if let Some(i) = self.path_pos.get(&p) {
            return *i;
        }
        let i = pos(self.out.paths.len());
        self.out.paths.push(p.clone());
        self.path_pos.insert(p, i);
        i
    }

    fn exception(&mut self, v: Value) -> u32 {
        let key = v.to_string();
        if let Some(i) = self.exception_pos.get(&key) {
            return *i;
        }
        let i = pos(self.out.exceptions.len());
        self.out.exceptions.push(v);
        self.exception_pos.insert(key, i);
        i
    }

    /// Adds the result of `control` for the resource at position `resource` of the IDs.
    pub(crate) fn add(&mut self, resource: u32, control: u32, rc: ResourceControl) {
        if let Some((_, _, status, rules)) = self
            .last
            .as_ref()
            .filter(|(s, r, _, _)| *s == rc.status && *r == rc.rules)
        {
            let (status, rules) = (*status, *rules);
            self.out.entries.push(Entry {
                resource,
                control,
                status,
                rules,
            });
            return;
        }
        let last_status = rc.status.clone();
        let last_rules = rc.rules.clone();
        let status = match self.status_pos.get(&rc.status) {
            Some(i) => *i,
            None => {
                let i = pos(self.out.statuses.len());
                self.out.statuses.push(rc.status.clone());
                self.status_pos.insert(rc.status, i);
                i
            }
        };
        let rules: Box<[CompactRule]> = rc
            .rules
            .into_iter()
            .map(|r| {
                // Fields the engine never sets are not kept; a result that had them would not
                // survive the round trip, so make that loud in tests.
                debug_assert!(r.control_configurations.is_empty() && r.message.is_empty());
                CompactRule {
                    name: self.string(r.name),
                    status: r.status,
                    sub_status: self.string(r.sub_status),
                    paths: r.paths.into_iter().map(|p| self.path(p)).collect(),
                    exception: r.exception.into_iter().map(|x| self.exception(x)).collect(),
                    related: r
                        .related_resources_ids
                        .into_iter()
                        .map(|x| self.string(x))
                        .collect(),
                }
            })
            .collect();
        let rules = match self.rule_set_pos.get(&rules) {
            Some(i) => *i,
            None => {
                let i = pos(self.out.rule_sets.len());
                self.out.rule_sets.push(rules.clone());
                self.rule_set_pos.insert(rules, i);
                i
            }
        };
        self.out.entries.push(Entry {
            resource,
            control,
            status,
            rules,
        });
        self.last = Some((last_status, last_rules, status, rules));
    }

    /// `ids`: every resource ID, sorted and unique; results name resources by position in it.
    pub(crate) fn finish(mut self, ids: Vec<String>) -> ScanResults {
        debug_assert!(ids.windows(2).all(|w| w[0] < w[1]));
        self.out.ids = ids;
        // Controls are added one after the other; the report lists results by resource.
        self.out
            .entries
            .sort_unstable_by_key(|e| (e.resource, e.control));
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubescape_api::posture::FixPath;

    fn rc(control: &str, status: StatusInfo, rules: Vec<RuleResult>) -> ResourceControl {
        ResourceControl {
            control_id: control.into(),
            name: format!("name of {control}"),
            severity: "High".into(),
            status,
            rules,
        }
    }

    fn passed(rule: &str) -> RuleResult {
        RuleResult {
            name: rule.into(),
            ..Default::default()
        }
    }

    fn failed(rule: &str, path: &str) -> RuleResult {
        RuleResult {
            name: rule.into(),
            status: Status::Failed,
            paths: vec![
                RulePath {
                    failed_path: Some(path.into()),
                    ..Default::default()
                },
                RulePath {
                    fix_path: Some(FixPath {
                        path: path.into(),
                        value: "false".into(),
                    }),
                    ..Default::default()
                },
            ],
            related_resources_ids: vec!["rel/a".into(), "rel/b".into()],
            ..Default::default()
        }
    }

    #[test]
    fn results_come_back_exactly_as_added_ordered_by_resource_then_control() {
        let failed_status = StatusInfo {
            status: Status::Failed,
            ..Default::default()
        };
        let excepted = StatusInfo {
            status: Status::Passed,
            sub_status: "w/exceptions".into(),
            info: String::new(),
        };
        let mut with_exception = failed("r2", "spec.x");
        with_exception.status = Status::Passed;
        with_exception.sub_status = "w/exceptions".into();
        with_exception.exception = vec![serde_json::json!({"name": "e"})];
        let ids = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let mut b = ResultsBuilder::new();
        let c1 = b.add_control("C-0001", "name of C-0001", "High");
        let c2 = b.add_control("C-0002", "name of C-0002", "High");
        // Added control by control, as a scan does; equal consecutive results take the fast path.
        let added = vec![
            (
                2,
                c2,
                rc("C-0002", StatusInfo::default(), vec![passed("r2")]),
            ),
            (
                0,
                c2,
                rc("C-0002", StatusInfo::default(), vec![passed("r2")]),
            ),
            (1, c2, rc("C-0002", excepted.clone(), vec![with_exception])),
            (
                1,
                c1,
                rc(
                    "C-0001",
                    failed_status.clone(),
                    vec![passed("r0"), failed("r1", "spec.y")],
                ),
            ),
            (
                2,
                c1,
                rc(
                    "C-0001",
                    failed_status.clone(),
                    vec![passed("r0"), failed("r1", "spec.y")],
                ),
            ),
            (
                0,
                c1,
                rc(
                    "C-0001",
                    failed_status,
                    vec![passed("r0"), failed("r1", "spec.z")],
                ),
            ),
        ];
        for (r, c, x) in added.clone() {
            b.add(r, c, x);
        }
        let results = b.finish(ids.clone());
        assert_eq!(results.len(), 6);
        let mut expected: Vec<(u32, u32, ResourceControl)> = added;
        expected.sort_by_key(|(r, c, _)| (*r, *c));
        let got = results.to_vec();
        assert_eq!(got.len(), 3);
        let flat: Vec<(String, ResourceControl)> = got
            .into_iter()
            .flat_map(|r| {
                let id = r.resource_id;
                r.controls.into_iter().map(move |c| (id.clone(), c))
            })
            .collect();
        let want: Vec<(String, ResourceControl)> = expected
            .into_iter()
            .map(|(r, _, c)| (ids[r as usize].clone(), c))
            .collect();
        assert_eq!(flat, want);
        // Filtering keeps resources that still have results, in order.
        let failed_only: Vec<String> = results
            .iter(|s| s.status == Status::Failed)
            .map(|r| r.resource_id)
            .collect();
        assert_eq!(failed_only, ["a", "b", "c"]);
        let excepted_only: Vec<String> = results
            .iter(|s| s.sub_status == "w/exceptions")
            .map(|r| r.resource_id)
            .collect();
        assert_eq!(excepted_only, ["b"]);
        assert_eq!(results.resource_ids().collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
