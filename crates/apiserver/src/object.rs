//! Object lifecycle rules every resource shares: what create fills in, what update keeps.

use crate::resource::ResourceDef;
use crate::status::{ApiError, ApiResult};
use serde_json::{json, Map, Value};

/// Checks a body sent to create or update and returns it as an object.
pub fn parse_body(def: &ResourceDef, body: &[u8]) -> ApiResult<Value> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the request body is not a valid JSON {} object: {e}",
            def.kind
        ))
    })?;
    if !v.is_object() {
        return Err(ApiError::bad_request(format!(
            "the request body must be a JSON object of kind {}",
            def.kind
        )));
    }
    Ok(v)
}

/// Validates apiVersion/kind/namespace/name against the URL and fills them in where absent.
pub fn check_identity(
    def: &ResourceDef,
    obj: &mut Value,
    namespace: &str,
    url_name: Option<&str>,
) -> ApiResult<()> {
    let api_version = def.api_version();
    let o = obj.as_object_mut().expect("checked object");
    match o.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            o.insert("apiVersion".into(), json!(api_version));
        }
        Some(v) if v == api_version => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )))
        }
    }
    match o.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            o.insert("kind".into(), json!(def.kind));
        }
        Some(k) if k == def.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({}) of {}",
                def.kind, def.plural
            )))
        }
    }
    let meta = o
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return Err(ApiError::bad_request("metadata must be an object"));
    };
    if def.namespaced {
        match meta.get("namespace").and_then(Value::as_str) {
            None | Some("") => {
                meta.insert("namespace".into(), json!(namespace));
            }
            Some(ns) if ns == namespace => {}
            Some(ns) => {
                return Err(ApiError::bad_request(format!(
                    "the namespace of the provided object ({ns}) does not match the namespace sent on the request ({namespace})"
                )))
            }
        }
    } else {
        meta.remove("namespace");
    }
    if let Some(url_name) = url_name {
        match meta.get("name").and_then(Value::as_str) {
            None | Some("") => {
                meta.insert("name".into(), json!(url_name));
            }
            Some(n) if n == url_name => {}
            Some(n) => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({url_name})"
                )))
            }
        }
    }
    Ok(())
}

/// Fills in what create sets: name from generateName, uid, creationTimestamp, generation.
pub fn prepare_create(def: &ResourceDef, obj: &mut Value) -> ApiResult<String> {
    let meta = obj["metadata"].as_object_mut().expect("identity checked");
    let name = match meta.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                let n = format!("{prefix}{}", random_suffix());
                meta.insert("name".into(), json!(n));
                n
            }
            _ => {
                return Err(ApiError::invalid(
                    def.group,
                    def.kind,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ))
            }
        },
    };
    validate_name(def, &name)?;
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
    meta.insert("generation".into(), json!(1));
    meta.remove("deletionTimestamp");
    meta.remove("resourceVersion");
    Ok(name)
}

/// Carries over what an update may not change, and bumps generation when the content changed.
pub fn prepare_update(old: &Value, new: &mut Value) {
    let old_meta = &old["metadata"];
    let changed = content_without_metadata(old) != content_without_metadata(new);
    let meta = new["metadata"].as_object_mut().expect("identity checked");
    for key in ["uid", "creationTimestamp"] {
        if let Some(v) = old_meta.get(key) {
            meta.insert(key.into(), v.clone());
        }
    }
    let generation = old_meta["generation"].as_i64().unwrap_or(1);
    meta.insert(
        "generation".into(),
        json!(if changed { generation + 1 } else { generation }),
    );
}

fn content_without_metadata(v: &Value) -> Vec<(&String, &Value)> {
    v.as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status"))
                .collect()
        })
        .unwrap_or_default()
}

/// Object names must be DNS subdomains, as for most Kubernetes resources.
pub fn validate_name(def: &ResourceDef, name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            def.group,
            def.kind,
            name,
            format!(
                "metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case \
                 alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        ))
    }
}

fn random_suffix() -> String {
    // The alphabet kube-apiserver uses for generateName: no vowels, no look-alike characters.
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4().as_bytes()[..5]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The object reduced to what a metadata-only read returns.
pub fn metadata_only(obj: &Value, as_partial: bool) -> Value {
    if as_partial {
        json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        })
    } else {
        json!({
            "kind": obj["kind"],
            "apiVersion": obj["apiVersion"],
            "metadata": obj["metadata"],
        })
    }
}

/// "5s", "3m", "2d": how kubectl shows an age.
pub fn human_age(created: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(created) else {
        return "<unknown>".into();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 * 3 => format!("{}m", s / 60),
        s if s < 86400 * 2 => format!("{}h", s / 3600),
        s if s < 86400 * 365 * 2 => format!("{}d", s / 86400),
        s => format!("{}y", s / (86400 * 365)),
    }
}

/// The value at a dotted path (`spec.severities.critical.all`).
/// A final `[key]` addresses a map key containing dots (`metadata.labels[kubescape.io/status]`).
pub fn lookup<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let (dotted, key) = match path.split_once('[') {
        Some((d, k)) => (d, k.strip_suffix(']')),
        None => (path, None),
    };
    let v = dotted.split('.').try_fold(obj, |v, key| v.get(key))?;
    match key {
        Some(k) => v.get(k),
        None => Some(v),
    }
}

/// Rejects fields the schema does not know (`fieldValidation=Strict`).
pub fn unknown_fields(schema: &Value, obj: &Value, path: &str, out: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match obj {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, v) in map {
                    let child = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    match props.get(k) {
                        Some(s) => unknown_fields(s, v, &child, out),
                        None => out.push(child),
                    }
                }
            } else if let Some(items) = schema.get("additionalProperties") {
                for (k, v) in map {
                    unknown_fields(items, v, &format!("{path}.{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    unknown_fields(s, v, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}
