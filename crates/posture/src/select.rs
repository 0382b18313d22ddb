//! Choosing a rule's input objects: `match` entries, aggregators, ownership.

use serde_json::Value;

use crate::library::{Rule, RuleMatch};

/// Plural resource names for kinds rules match by resource name (`pods`, `deployments`, ...).
pub fn resource_of_kind(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with("policy") {
        format!("{}ies", &lower[..lower.len() - 1])
    } else if lower.ends_with('s')
        || lower.ends_with("ch")
        || lower.ends_with("sh")
        || lower.ends_with('x')
    {
        format!("{lower}es")
    } else if lower == "endpoints" {
        lower
    } else {
        format!("{lower}s")
    }
}

/// `apps/v1` -> ("apps", "v1"); `v1` -> ("", "v1").
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

fn group_matches(wanted: &str, group: &str) -> bool {
    wanted == "*"
        || wanted == group
        || (wanted == "core" && group.is_empty())
        || (wanted.is_empty() && group == "core")
}

fn entry_matches(m: &RuleMatch, group: &str, version: &str, kind: &str) -> bool {
    if !m.api_groups.iter().any(|g| group_matches(g, group)) {
        return false;
    }
    if !m.api_versions.iter().any(|v| v == "*" || v == version) {
        return false;
    }
    let resource = resource_of_kind(kind);
    m.resources
        .iter()
        .any(|r| r == "*" || r.eq_ignore_ascii_case(kind) || r.eq_ignore_ascii_case(&resource))
}

/// True when an object of this apiVersion/kind is input for the rule (`match` or `dynamicMatch`).
pub fn rule_matches(rule: &Rule, api_version: &str, kind: &str) -> bool {
    let (group, version) = split_api_version(api_version);
    rule.matches
        .iter()
        .chain(rule.dynamic_match.iter())
        .any(|m| entry_matches(m, group, version, kind))
}

/// True when the rule's `dynamicMatch` names this kind (host data, cloud APIs, ...).
pub fn dynamic_matches(rule: &Rule, api_version: &str, kind: &str) -> bool {
    let (group, version) = split_api_version(api_version);
    rule.dynamic_match
        .iter()
        .any(|m| entry_matches(m, group, version, kind))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `subject-role-rolebinding`: one object per subject of each binding, carrying the binding and
/// its role as `relatedObjects` (bindings whose role is not among the objects are left out).
pub fn subjects_with_roles(objects: &[&Value]) -> Vec<Value> {
    // Roles by (kind, namespace, name); a Role without namespace lives in `default`.
    let mut roles: std::collections::HashMap<(&str, String, &str), &Value> =
        std::collections::HashMap::new();
    for o in objects {
        let kind = str_at(o, "/kind");
        if kind == "Role" || kind == "ClusterRole" {
            let ns = if kind == "Role" {
                normalized_namespace(str_at(o, "/metadata/namespace"))
            } else {
                String::new()
            };
            roles
                .entry((kind, ns, str_at(o, "/metadata/name")))
                .or_insert(o);
        }
    }
    let mut out = Vec::new();
    for binding in objects {
        let kind = str_at(binding, "/kind");
        if kind != "RoleBinding" && kind != "ClusterRoleBinding" {
            continue;
        }
        let role_kind = str_at(binding, "/roleRef/kind");
        let ns = if role_kind == "Role" {
            normalized_namespace(str_at(binding, "/metadata/namespace"))
        } else {
            String::new()
        };
        let Some(role) = roles.get(&(role_kind, ns, str_at(binding, "/roleRef/name"))) else {
            continue;
        };
        let Some(subjects) = binding.get("subjects").and_then(Value::as_array) else {
            continue;
        };
        for subject in subjects {
            let mut s = subject.clone();
            if let Value::Object(m) = &mut s {
                m.insert(
                    "relatedObjects".into(),
                    Value::Array(vec![(*binding).clone(), (*role).clone()]),
                );
                out.push(s);
            }
        }
    }
    out
}

fn normalized_namespace(ns: &str) -> String {
    if ns.is_empty() { "default" } else { ns }.to_string()
}

/// `apiserver-pod`: only the API server's Pod in kube-system.
pub fn is_apiserver_pod(o: &Value) -> bool {
    let name = str_at(o, "/metadata/name");
    str_at(o, "/kind") == "Pod"
        && str_at(o, "/metadata/namespace") == "kube-system"
        && (name.contains("apiserver") || name.contains("api-server"))
}

/// Applies the rule's `resourcesAggregator` to its matched objects.
pub fn aggregate(rule: &Rule, objects: Vec<&Value>) -> Vec<Value> {
    match rule.attribute_str("resourcesAggregator") {
        Some("subject-role-rolebinding") => subjects_with_roles(&objects),
        Some("apiserver-pod") => objects
            .into_iter()
            .filter(|o| is_apiserver_pod(o))
            .cloned()
            .collect(),
        _ => objects.into_iter().cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(m: Value, attrs: Value) -> Rule {
        serde_json::from_value(json!({"name": "r", "match": m, "attributes": attrs})).unwrap()
    }

    #[test]
    fn matching_by_kind_resource_and_core_group() {
        let r = rule(
            json!([{"apiGroups": ["core"], "apiVersions": ["v1"], "resources": ["pods"]},
                            {"apiGroups": ["apps"], "apiVersions": ["*"], "resources": ["Deployment"]}]),
            json!({}),
        );
        assert!(rule_matches(&r, "v1", "Pod"));
        assert!(rule_matches(&r, "apps/v1", "Deployment"));
        assert!(!rule_matches(&r, "apps/v1", "DaemonSet"));
        assert!(!rule_matches(&r, "batch/v1", "Pod"));
        assert_eq!(resource_of_kind("NetworkPolicy"), "networkpolicies");
        assert_eq!(resource_of_kind("Ingress"), "ingresses");
    }

    #[test]
    fn subjects_get_binding_and_role() {
        let role = json!({"kind": "ClusterRole", "metadata": {"name": "admin"}});
        let binding = json!({"kind": "ClusterRoleBinding", "metadata": {"name": "b"},
            "roleRef": {"kind": "ClusterRole", "name": "admin"},
            "subjects": [{"kind": "User", "name": "jane"}, {"kind": "Group", "name": "dev"}]});
        let out = subjects_with_roles(&[&role, &binding]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1]["name"], "dev");
        assert_eq!(out[1]["relatedObjects"][1]["metadata"]["name"], "admin");
    }
}
