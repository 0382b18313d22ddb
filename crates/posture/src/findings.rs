//! What one rule found, kept compact from evaluation until results are assembled.
//!
//! Findings are held until every rule has run over every batch. A rule fails most resources in
//! one of a few ways (the same paths, no related resources), so each distinct list of failures
//! is stored once per rule and a failed object costs 8 bytes: keyed by resource ID with its own
//! failure list, the findings of a 10,000-object cluster took about 40 MiB.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use kubescape_api::posture::RulePath;
use serde_json::Value;

/// One way a resource fails a rule: the alert's paths and the resources it relates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Failure {
    /// Shared within a rule: most of a rule's failures repeat the same few paths.
    pub paths: Vec<Arc<RulePath>>,
    pub related: Vec<String>,
}

/// A resource that findings name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Named<'a> {
    /// A scanned object, by position in the scan's object list.
    Object(u32),
    /// Anything else, by resource ID: RBAC subjects, objects alerts name that were not scanned.
    Other(&'a str),
}

/// The findings of one rule, over one evaluation or (merged) over every batch.
#[derive(Default)]
pub(crate) struct RuleFindings {
    /// Scanned objects the rule looked at (positions in the object list).
    pub inputs: Vec<u32>,
    /// Resources the rule looked at that are not scanned objects (RBAC subjects), by ID.
    pub external_inputs: Vec<String>,
    /// Objects that exist only in findings (RBAC subjects), by ID.
    pub external: HashMap<String, Value>,
    /// (object position, failure list) for failed objects; sorted by position, each position
    /// once, after [`RuleFindings::finish`].
    object_failures: Vec<(u32, u32)>,
    /// Failure lists of the failed resources that are not scanned objects, by ID.
    other_failures: HashMap<String, u32>,
    /// Distinct failure lists.
    lists: Vec<Box<[Failure]>>,
    /// Positions in `lists` by content hash, while lists are still added.
    list_pos: HashMap<u64, Vec<u32>>,
}

impl RuleFindings {
    /// Records how a resource fails, from one evaluation (each resource once per evaluation;
    /// the list in the order of the alerts).
    pub fn add(&mut self, named: Named, failures: Vec<Failure>) {
        let list = self.intern(failures.into_boxed_slice());
        match named {
            Named::Object(i) => self.object_failures.push((i, list)),
            Named::Other(id) => {
                self.other_failures.insert(id.to_string(), list);
            }
        }
    }

    fn intern(&mut self, list: Box<[Failure]>) -> u32 {
        let mut h = std::hash::DefaultHasher::new();
        list.hash(&mut h);
        let candidates = self.list_pos.entry(h.finish()).or_default();
        if let Some(i) = candidates.iter().find(|i| self.lists[**i as usize] == list) {
            return *i;
        }
        let i = u32::try_from(self.lists.len()).expect("fewer than 2^32 failure lists");
        self.lists.push(list);
        candidates.push(i);
        i
    }

    /// Failures of `known` followed by those of `more` it does not have already.
    fn united(&mut self, known: u32, more: u32) -> u32 {
        if known == more {
            return known;
        }
        let mut list = self.lists[known as usize].to_vec();
        for f in self.lists[more as usize].iter() {
            if !list.contains(f) {
                list.push(f.clone());
            }
        }
        self.intern(list.into_boxed_slice())
    }

    /// Adds the findings of a later evaluation (batch). A resource both name (an alert about a
    /// context object can come from several batches) fails in the ways of both, each once.
    pub fn merge(&mut self, from: RuleFindings) {
        self.inputs.extend(from.inputs);
        self.external_inputs.extend(from.external_inputs);
        let RuleFindings {
            object_failures,
            other_failures,
            lists,
            external,
            ..
        } = from;
        let mut lists: Vec<Option<Box<[Failure]>>> = lists.into_iter().map(Some).collect();
        let mut moved: HashMap<u32, u32> = HashMap::new();
        let mut remap = |this: &mut RuleFindings, list: u32| -> u32 {
            *moved.entry(list).or_insert_with(|| {
                let l = lists[list as usize].take().unwrap_or_default();
                this.intern(l)
            })
        };
        for (i, list) in object_failures {
            let list = remap(self, list);
            self.object_failures.push((i, list));
        }
        for (id, list) in other_failures {
            let list = remap(self, list);
            let united = match self.other_failures.get(&id) {
                Some(known) => self.united(*known, list),
                None => list,
            };
            self.other_failures.insert(id, united);
        }
        for (id, v) in external {
            self.external.entry(id).or_insert(v);
        }
    }

    /// Sorts the failed objects and unites the lists of objects several batches failed; call
    /// once every evaluation is merged.
    pub fn finish(&mut self) {
        self.inputs.sort_unstable();
        self.inputs.dedup();
        // Stable: a repeated object keeps its batches' order.
        self.object_failures.sort_by_key(|(i, _)| *i);
        let mut united: Vec<(u32, u32)> = Vec::with_capacity(self.object_failures.len());
        for (i, list) in std::mem::take(&mut self.object_failures) {
            match united.last_mut() {
                Some((last, known)) if *last == i => {
                    let known_list = *known;
                    *known = self.united(known_list, list);
                }
                _ => united.push((i, list)),
            }
        }
        united.shrink_to_fit();
        self.object_failures = united;
        self.list_pos = HashMap::new();
    }

    /// How `named` failed, if it did (after [`RuleFindings::finish`]).
    pub fn failures_of(&self, named: Named) -> Option<&[Failure]> {
        let list = match named {
            Named::Object(i) => self
                .object_failures
                .binary_search_by_key(&i, |(o, _)| *o)
                .ok()
                .map(|at| self.object_failures[at].1)?,
            Named::Other(id) => *self.other_failures.get(id)?,
        };
        Some(&self.lists[list as usize])
    }

    /// Every failed resource with its failures: objects by position, then the others.
    pub fn failed(&self) -> impl Iterator<Item = (Named<'_>, &[Failure])> {
        self.object_failures
            .iter()
            .map(|(i, l)| (Named::Object(*i), *l))
            .chain(
                self.other_failures
                    .iter()
                    .map(|(id, l)| (Named::Other(id.as_str()), *l)),
            )
            .map(|(n, l)| (n, &self.lists[l as usize][..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(path: &str, related: &[&str]) -> Failure {
        Failure {
            paths: vec![Arc::new(RulePath {
                failed_path: Some(path.into()),
                ..Default::default()
            })],
            related: related.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn equal_lists_are_stored_once() {
        let mut f = RuleFindings::default();
        for i in 0..100 {
            f.add(Named::Object(i), vec![failure("spec.a", &[])]);
        }
        f.add(Named::Object(100), vec![failure("spec.b", &["x"])]);
        f.finish();
        assert_eq!(f.lists.len(), 2);
        assert_eq!(
            f.failures_of(Named::Object(7)),
            Some(&[failure("spec.a", &[])][..])
        );
        assert_eq!(f.failures_of(Named::Object(101)), None);
    }

    #[test]
    fn batches_unite_what_they_found_about_the_same_resource() {
        let mut first = RuleFindings::default();
        first.add(Named::Object(3), vec![failure("a", &[])]);
        first.add(Named::Other("subject"), vec![failure("s", &[])]);
        let mut second = RuleFindings::default();
        second.add(Named::Object(1), vec![failure("b", &[])]);
        second.add(Named::Object(3), vec![failure("a", &[]), failure("c", &[])]);
        second.add(Named::Other("subject"), vec![failure("t", &[])]);
        first.merge(second);
        first.finish();
        assert_eq!(
            first.failures_of(Named::Object(3)),
            Some(&[failure("a", &[]), failure("c", &[])][..])
        );
        assert_eq!(
            first.failures_of(Named::Other("subject")),
            Some(&[failure("s", &[]), failure("t", &[])][..])
        );
        let failed: Vec<Named> = first.failed().map(|(n, _)| n).collect();
        assert_eq!(
            failed,
            vec![Named::Object(1), Named::Object(3), Named::Other("subject")]
        );
    }
}
