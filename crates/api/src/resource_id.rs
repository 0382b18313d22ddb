//! Resource identifiers: `<group>/<version>/<namespace>/<Kind>/<name>`, empty parts kept
//! (`/v1/default/Pod/x`); objects read from files are prefixed `path=<hash>/api=` so that equally
//! named objects in different files stay distinct.

use serde_json::Value;

/// The ID of a cluster object.
pub fn for_object(api_version: &str, namespace: &str, kind: &str, name: &str) -> String {
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    format!("{group}/{version}/{namespace}/{kind}/{name}")
}

/// The ID of an object read from a file (`source_path` is the file path without document index).
pub fn for_file_object(
    source_path: &str,
    api_version: &str,
    namespace: &str,
    kind: &str,
    name: &str,
) -> String {
    format!(
        "path={}/api={}",
        fnv1a32(source_path.as_bytes()),
        for_object(api_version, namespace, kind, name)
    )
}

/// The ID of a JSON object, honouring a top-level `sourcePath` (`<file>:<document index>`).
pub fn of_value(v: &Value) -> String {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("");
    // RBAC subjects carry an apiGroup and no version.
    let api_version = match (s("/apiVersion"), s("/apiGroup")) {
        ("", group) => format!("{group}/"),
        (v, _) => v.to_string(),
    };
    let api_version = api_version.as_str();
    match v.get("sourcePath").and_then(Value::as_str) {
        Some(sp) if !sp.is_empty() => {
            let file = sp.rsplit_once(':').map(|(f, _)| f).unwrap_or(sp);
            for_file_object(
                file,
                api_version,
                s("/metadata/namespace"),
                s("/kind"),
                &name_of(v),
            )
        }
        _ => {
            let ns = if v.get("metadata").is_some() {
                s("/metadata/namespace")
            } else {
                s("/namespace")
            };
            for_object(api_version, ns, s("/kind"), &name_of(v))
        }
    }
}

fn name_of(v: &Value) -> String {
    v.pointer("/metadata/name")
        .or_else(|| v.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x01000193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids() {
        assert_eq!(for_object("v1", "default", "Pod", "x"), "/v1/default/Pod/x");
        assert_eq!(
            for_object("apps/v1", "", "Deployment", "d"),
            "apps/v1//Deployment/d"
        );
        let a = of_value(
            &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "sourcePath": "a.yaml:0"}),
        );
        let b = of_value(
            &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "sourcePath": "b.yaml:0"}),
        );
        assert!(a.starts_with("path=") && a.ends_with("/api=/v1//Pod/x"));
        assert_ne!(a, b);
        assert_eq!(
            of_value(
                &json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"})
            ),
            "rbac.authorization.k8s.io///User/jane"
        );
    }
}
