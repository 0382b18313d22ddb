//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.
//!
//! Our kinds declare no patch strategies or merge keys in their schema, so a strategic merge
//! patch means what it means for such fields in kube-apiserver: maps merge, lists are replaced.
//! That is a JSON merge patch, plus the `$patch` directives, which are honoured here.

use crate::status::ApiError;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PatchType {
    Merge,
    Json,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" => Ok(PatchType::Apply),
            other => Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format ({other:?}): accepted patch media types are \
                 application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
            ))),
        }
    }
}

pub fn apply(kind: PatchType, target: &mut Value, body: &[u8]) -> Result<(), ApiError> {
    match kind {
        PatchType::Json => {
            let p: json_patch::Patch = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "invalid JSON patch (RFC 6902) in the request body: {e}"
                ))
            })?;
            json_patch::patch(target, &p).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the JSON patch could not be applied: {e}"),
                )
            })
        }
        PatchType::Merge => {
            let p = parse_object(body)?;
            json_patch::merge(target, &p);
            Ok(())
        }
        PatchType::Strategic => {
            let p = parse_object(body)?;
            strategic_merge(target, &p);
            Ok(())
        }
        PatchType::Apply => Err(ApiError::unsupported_media_type(
            "server-side apply is not supported by this server; use client-side apply \
             (kubectl apply without --server-side) or a merge patch",
        )),
    }
}

fn parse_object(body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON in the patch body: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "a merge patch body must be a JSON object",
        ));
    }
    Ok(v)
}

fn strategic_merge(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replaced = p.clone();
            replaced.remove("$patch");
            *target = Value::Object(replaced);
            return;
        }
        Some("delete") => {
            *target = Value::Null;
            return;
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let t = target.as_object_mut().expect("made an object above");
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(k);
        } else if v.is_object() {
            let entry = t.entry(k.clone()).or_insert(Value::Null);
            strategic_merge(entry, v);
            if entry.is_null() {
                t.remove(k);
            }
        } else {
            t.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_and_json_patch() {
        let mut o = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
        apply(
            PatchType::Merge,
            &mut o,
            br#"{"a":{"b":null,"c":[3]},"e":2}"#,
        )
        .unwrap();
        assert_eq!(o, json!({"a": {"c": [3]}, "d": 1, "e": 2}));
        apply(
            PatchType::Json,
            &mut o,
            br#"[{"op":"replace","path":"/d","value":5}]"#,
        )
        .unwrap();
        assert_eq!(o["d"], 5);
        let e = apply(
            PatchType::Json,
            &mut o,
            br#"[{"op":"test","path":"/d","value":6}]"#,
        )
        .unwrap_err();
        assert_eq!(e.code, 422);
    }

    #[test]
    fn strategic_merge_directives() {
        let mut o = json!({"a": {"b": 1, "c": 2}, "l": [1]});
        apply(
            PatchType::Strategic,
            &mut o,
            br#"{"a":{"$patch":"replace","x":1},"l":[2]}"#,
        )
        .unwrap();
        assert_eq!(o, json!({"a": {"x": 1}, "l": [2]}));
        apply(
            PatchType::Strategic,
            &mut o,
            br#"{"a":{"$patch":"delete"}}"#,
        )
        .unwrap();
        assert_eq!(o, json!({"l": [2]}));
        assert!(PatchType::from_content_type("text/plain").is_err());
    }
}
