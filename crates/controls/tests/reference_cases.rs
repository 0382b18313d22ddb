//! The built-in library against the upstream rule test cases in `../shared/reference`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use kubescape_posture::library::{Library, SourceFile};
use kubescape_posture::policytest::{self, Options};

/// Frameworks whose every Kubernetes-object rule must pass all its reference cases.
const REQUIRED_FRAMEWORKS: &[&str] = &["NSA", "MITRE", "WorkloadScan"];

/// The whole reference set must not regress below this many passing cases (raise it as rules land).
const MIN_PASSING_CASES: usize = 821;

fn cases_dir() -> PathBuf {
    let shared = std::env::var_os("KUBESCAPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("reference/kubescape-regolibrary/cases");
    assert!(
        dir.is_dir(),
        "reference cases not found at {} (set KUBESCAPE_SHARED)",
        dir.display()
    );
    dir
}

fn builtin() -> Library {
    let files = kubescape_controls::files()
        .into_iter()
        .map(|(p, c)| SourceFile {
            path: p.to_string(),
            contents: c.into(),
        });
    Library::from_source_files(files).unwrap()
}

/// Rules (by directory) of the required frameworks that read Kubernetes objects only.
fn required_rules(lib: &Library) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for fw in REQUIRED_FRAMEWORKS {
        let fw = lib
            .framework(fw)
            .unwrap_or_else(|| panic!("framework {fw} missing"));
        for ac in &fw.active_controls {
            for name in &lib.controls[&ac.control_id].rules_names {
                let rule = lib
                    .rules
                    .get(name)
                    .unwrap_or_else(|| panic!("rule {name} missing"));
                if rule.dynamic_match.is_empty() {
                    out.insert(rule.directory.clone());
                }
            }
        }
    }
    out
}

#[test]
fn required_framework_rules_pass_their_reference_cases() {
    let lib = builtin();
    let required = required_rules(&lib);
    let outcomes = policytest::run(
        &cases_dir(),
        &lib,
        &Options {
            ignore_messages: true,
            rules: required.iter().cloned().collect(),
        },
    )
    .unwrap();
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            o.failure
                .as_ref()
                .map(|f| format!("{}/{}: {}", o.rule, o.case, f.lines().next().unwrap_or("")))
        })
        .collect();
    let tested: BTreeSet<&str> = outcomes.iter().map(|o| o.rule.as_str()).collect();
    assert!(
        tested.len() >= required.len() * 9 / 10,
        "only {} of {} required rules have cases",
        tested.len(),
        required.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        outcomes.len(),
        failures.join("\n")
    );
}

#[test]
fn whole_reference_set_runs_and_reports_its_pass_count() {
    let lib = builtin();
    let outcomes = policytest::run(
        &cases_dir(),
        &lib,
        &Options {
            ignore_messages: true,
            rules: vec![],
        },
    )
    .unwrap();
    let passed = outcomes.iter().filter(|o| o.failure.is_none()).count();
    println!(
        "reference cases: {passed} passed, {} failed, of {}",
        outcomes.len() - passed,
        outcomes.len()
    );
    assert_eq!(outcomes.len(), 821, "the reference set has 821 cases");
    assert!(
        passed >= MIN_PASSING_CASES,
        "{passed} passing cases, fewer than the recorded {MIN_PASSING_CASES}"
    );
}
