//! Scan semantics on a small library written for the test: statuses, sub-statuses, exceptions,
//! skipped rules, scores.

use kubescape_api::posture::Status;
use kubescape_posture::exceptions::ExceptionPolicy;
use kubescape_posture::inputs::{add_text, Inputs};
use kubescape_posture::library::{Library, SourceFile};
use kubescape_posture::scan::{scan, ScanOptions, Scope, Target};
use serde_json::json;

const PRIVILEGED_REGO: &str = r#"package armo_builtins
import rego.v1
deny contains msga if {
    some wl in input
    some i, c in wl.spec.template.spec.containers
    c.securityContext.privileged == true
    path := sprintf("spec.template.spec.containers[%d].securityContext.privileged", [i])
    msga := {"alertMessage": "privileged", "failedPaths": [path], "fixPaths": [{"path": path, "value": "false"}],
             "alertScore": 7, "packagename": "armo_builtins", "alertObject": {"k8sApiObjects": [wl]}}
}
"#;

const REGISTRY_REGO: &str = r#"package armo_builtins
import rego.v1
deny contains msga if {
    some wl in input
    some c in wl.spec.template.spec.containers
    some bad in data.postureControlInputs.blockedRegistries
    startswith(c.image, bad)
    msga := {"alertMessage": "blocked", "failedPaths": [], "alertObject": {"k8sApiObjects": [wl]}}
}
"#;

fn file(path: &str, v: serde_json::Value) -> SourceFile<'static> {
    SourceFile {
        path: path.into(),
        contents: serde_json::to_vec(&v).unwrap().into(),
    }
}

fn rule_meta(name: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut m = json!({"name": name, "match": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["Deployment"]}], "attributes": {}});
    if let (Some(o), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    m
}

fn library(blocked: serde_json::Value) -> Library {
    let mut files = vec![
        file(
            "frameworks/test.json",
            json!({"name": "TestFW", "activeControls": [
            {"controlID": "C-1"}, {"controlID": "C-2", "patch": {"name": "Registries (patched)"}}, {"controlID": "C-3"}, {"controlID": "C-4"}]}),
        ),
        file(
            "controls/c1.json",
            json!({"controlID": "C-1", "name": "Privileged", "baseScore": 8.0, "rulesNames": ["privileged"]}),
        ),
        file(
            "controls/c2.json",
            json!({"controlID": "C-2", "name": "Registries", "baseScore": 5.0, "rulesNames": ["registries"], "attributes": {"actionRequired": "configuration"}}),
        ),
        file(
            "controls/c3.json",
            json!({"controlID": "C-3", "name": "Host data", "baseScore": 6.0, "rulesNames": ["hostrule"]}),
        ),
        file(
            "controls/c4.json",
            json!({"controlID": "C-4", "name": "CronJobs only", "baseScore": 3.0, "rulesNames": ["cronrule"]}),
        ),
        file(
            "rules/privileged/rule.metadata.json",
            rule_meta("privileged", json!({})),
        ),
        file(
            "rules/registries/rule.metadata.json",
            rule_meta(
                "registries",
                json!({"controlConfigInputs": [{"path": "settings.postureControlInputs.blockedRegistries", "name": "Blocked"}]}),
            ),
        ),
        file(
            "rules/hostrule/rule.metadata.json",
            rule_meta(
                "hostrule",
                json!({"match": [], "dynamicMatch": [{"apiGroups": ["hostdata.kubescape.cloud"], "apiVersions": ["v1beta0"], "resources": ["KubeletInfo"]}]}),
            ),
        ),
        file(
            "rules/cronrule/rule.metadata.json",
            rule_meta(
                "cronrule",
                json!({"match": [{"apiGroups": ["batch"], "apiVersions": ["*"], "resources": ["CronJob"]}]}),
            ),
        ),
        file(
            "default-config-inputs.json",
            json!({"settings": {"postureControlInputs": {"blockedRegistries": blocked}}}),
        ),
    ];
    for (dir, text) in [
        ("privileged", PRIVILEGED_REGO),
        ("registries", REGISTRY_REGO),
        (
            "hostrule",
            "package armo_builtins\ndeny[x] { x := input[_] }\n",
        ),
        (
            "cronrule",
            "package armo_builtins\ndeny[x] { x := input[_] }\n",
        ),
    ] {
        files.push(SourceFile {
            path: format!("rules/{dir}/raw.rego"),
            contents: text.as_bytes().to_vec().into(),
        });
    }
    Library::from_source_files(files).unwrap()
}

const MANIFESTS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: a, labels: {team: infra}}
spec:
  replicas: 3
  template:
    spec:
      containers:
      - {name: c, image: evil.io/x:1, securityContext: {privileged: true}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: good, namespace: b}
spec:
  template:
    spec:
      containers:
      - {name: c, image: good.io/x:1}
"#;

fn options(exceptions: Vec<ExceptionPolicy>) -> ScanOptions {
    ScanOptions {
        target: Target::Frameworks(vec!["testfw".into()]),
        scope: Scope::File,
        include_namespaces: vec![],
        exclude_namespaces: vec![],
        exceptions,
        apply_system_exceptions: true,
        cluster_name: String::new(),
        cloud_provider: None,
        keep_objects: true,
        passed_results: true,
        failure_details: true,
        formats: vec!["json".into()],
        kubescape_version: "test".into(),
        unreadable: vec![],
        batch_objects: kubescape_posture::scan::DEFAULT_BATCH_OBJECTS,
    }
}

fn objects() -> Vec<kubescape_posture::inputs::InputObject> {
    let mut inputs = Inputs::default();
    add_text(&mut inputs, MANIFESTS, "m.yaml", "YAML");
    inputs.objects
}

#[test]
fn statuses_scores_and_skips() {
    let lib = library(json!(["evil.io"]));
    let report = scan(&lib, objects(), &options(vec![]), &|_, _| {}).unwrap();
    let s = &report.summary_details;

    let c1 = &s.controls["C-1"];
    assert_eq!(c1.status, Status::Failed);
    assert_eq!(
        (
            c1.resource_counters.failed_resources,
            c1.resource_counters.passed_resources
        ),
        (1, 1)
    );
    assert_eq!(c1.compliance_score, 50.0);
    // Risk score weighs the 3-replica Deployment 3 x 1.1 against 1.
    assert!((c1.score - 100.0 * 3.3 / 4.3).abs() < 0.01, "{}", c1.score);
    assert_eq!(c1.severity, "High");

    assert_eq!(s.controls["C-2"].status, Status::Failed);

    let c3 = &s.controls["C-3"];
    assert_eq!(c3.status, Status::Skipped);
    assert!(
        c3.status_info.info.contains("KubeletInfo"),
        "{}",
        c3.status_info.info
    );

    let c4 = &s.controls["C-4"];
    assert_eq!(
        (c4.status, c4.status_info.sub_status.as_str()),
        (Status::Passed, "irrelevant")
    );
    assert_eq!(c4.compliance_score, 100.0);

    // Framework view: patched name, mean compliance over its controls.
    let fw = &s.frameworks[0];
    assert_eq!(fw.controls["C-2"].name, "Registries (patched)");
    let expected = (50.0 + s.controls["C-2"].compliance_score + 0.0 + 100.0) / 4.0;
    assert!((fw.compliance_score - expected).abs() < 0.01);
    assert_eq!(fw.resource_counters.failed_resources, 1);

    // Per-resource results carry paths and fixes.
    let bad = report
        .results
        .iter()
        .find(|r| r.resource_id.ends_with("/Deployment/bad"))
        .unwrap();
    let rc = bad.controls.iter().find(|c| c.control_id == "C-1").unwrap();
    let fix = rc.rules[0]
        .paths
        .iter()
        .find_map(|p| p.fix_path.clone())
        .unwrap();
    assert_eq!(
        fix.path,
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert_eq!(fix.value, "false");
    assert!(bad.resource_id.starts_with("path="));
    assert_eq!(report.resources.len(), 2);
}

#[test]
fn configuration_controls_without_inputs_are_skipped() {
    let lib = library(json!([]));
    let report = scan(&lib, objects(), &options(vec![]), &|_, _| {}).unwrap();
    let c2 = &report.summary_details.controls["C-2"];
    assert_eq!(
        (c2.status, c2.status_info.sub_status.as_str()),
        (Status::Skipped, "configuration")
    );
}

#[test]
fn exceptions_turn_failures_into_passes() {
    let lib = library(json!(["evil.io"]));
    let exc = ExceptionPolicy::parse_all(
        &json!({"name": "infra-ok", "policyType": "postureExceptionPolicy", "actions": ["alertOnly"],
                "resources": [{"designatorType": "Attributes", "attributes": {"kind": "Deployment", "team": "infra"}}],
                "posturePolicies": [{"controlID": "C-1"}]}),
        "test", chrono::Utc::now()).unwrap();
    let report = scan(&lib, objects(), &options(exc), &|_, _| {}).unwrap();
    let c1 = &report.summary_details.controls["C-1"];
    assert_eq!(
        (c1.status, c1.status_info.sub_status.as_str()),
        (Status::Passed, "w/exceptions")
    );
    assert_eq!(c1.compliance_score, 100.0);
    // The other control on the same resource still fails.
    assert_eq!(
        report.summary_details.controls["C-2"].status,
        Status::Failed
    );
}

#[test]
fn namespace_filters_and_unknown_framework() {
    let lib = library(json!(["evil.io"]));
    let mut o = options(vec![]);
    o.exclude_namespaces = vec!["a".into()];
    let report = scan(&lib, objects(), &o, &|_, _| {}).unwrap();
    assert_eq!(
        report.summary_details.controls["C-1"].status,
        Status::Passed
    );
    o.target = Target::Frameworks(vec!["nope".into()]);
    let err = scan(&lib, objects(), &o, &|_, _| {})
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("nope") && err.contains("TestFW"), "{err}");
}

#[test]
fn rules_needing_unreadable_resources_are_skipped_with_the_reason() {
    let lib = library(json!(["evil.io"]));
    let mut o = options(vec![]);
    o.unreadable = vec![kubescape_posture::scan::UnreadableKind {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        reason: "list deployments.apps: forbidden for user limited".into(),
    }];
    let report = scan(&lib, objects(), &o, &|_, _| {}).unwrap();
    let c1 = &report.summary_details.controls["C-1"];
    assert_eq!(c1.status, Status::Skipped);
    assert!(
        c1.status_info.info.contains("forbidden for user limited"),
        "{}",
        c1.status_info.info
    );
}

#[test]
fn provider_scoped_controls_apply_only_for_that_provider() {
    let mut files = vec![
        file(
            "frameworks/eks.json",
            json!({"name": "EKSFW", "activeControls": [{"controlID": "C-9"}]}),
        ),
        file(
            "controls/c9.json",
            json!({"controlID": "C-9", "name": "EKS only", "baseScore": 5.0, "rulesNames": ["privileged"], "scanningScope": {"matches": ["EKS"]}}),
        ),
        file(
            "rules/privileged/rule.metadata.json",
            rule_meta("privileged", json!({})),
        ),
    ];
    files.push(SourceFile {
        path: "rules/privileged/raw.rego".into(),
        contents: PRIVILEGED_REGO.as_bytes().to_vec().into(),
    });
    let lib = Library::from_source_files(files).unwrap();
    let mut o = options(vec![]);
    o.target = Target::Frameworks(vec!["EKSFW".into()]);
    let report = scan(&lib, objects(), &o, &|_, _| {}).unwrap();
    assert!(report.summary_details.controls.is_empty());
    o.cloud_provider = Some("eks".into());
    let report = scan(&lib, objects(), &o, &|_, _| {}).unwrap();
    assert_eq!(
        report.summary_details.controls["C-9"].status,
        Status::Failed
    );
}
