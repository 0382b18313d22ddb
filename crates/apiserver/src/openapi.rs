//! OpenAPI documents generated from the registry: v3 per group version (`kubectl explain`,
//! kubectl's field-validation and patch detection) and v2 (kube-apiserver's aggregator merges it).

use crate::resource::{Registry, ResourceDef};
use serde_json::{json, Map, Value};
use std::hash::{Hash, Hasher};

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

/// Schema-name prefix of our kinds, as upstream storage names them.
pub fn schema_prefix(reg: &Registry) -> String {
    let short = reg.group.split('.').next().unwrap_or(reg.group);
    format!(
        "com.github.kubescape.storage.pkg.apis.{short}.{}",
        reg.version
    )
}

fn object_meta() -> Value {
    let s = |d: &str| json!({"type": "string", "description": d});
    let map = |d: &str| json!({"type": "object", "description": d, "additionalProperties": {"type": "string", "default": ""}});
    json!({
        "type": "object",
        "description": "Standard object metadata: name, namespace, labels, annotations and the fields the server maintains.",
        "properties": {
            "name": s("Name, unique within a namespace (or the cluster for cluster-scoped resources)."),
            "generateName": s("Prefix from which the server generates a unique name when name is empty."),
            "namespace": s("Namespace of the object."),
            "selfLink": s("Deprecated, not set."),
            "uid": s("Unique identifier set by the server on creation."),
            "resourceVersion": s("Opaque version of the object, for optimistic concurrency and watches."),
            "generation": {"type": "integer", "format": "int64", "description": "Incremented when the content changes."},
            "creationTimestamp": {"type": "string", "format": "date-time", "description": "When the object was created."},
            "deletionTimestamp": {"type": "string", "format": "date-time", "description": "When the object will be deleted."},
            "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
            "labels": map("Key-value pairs for selecting objects."),
            "annotations": map("Key-value pairs for tools and automation."),
            "ownerReferences": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            "finalizers": {"type": "array", "items": {"type": "string", "default": ""}},
            "managedFields": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
        },
    })
}

fn list_meta() -> Value {
    json!({
        "type": "object",
        "properties": {
            "resourceVersion": {"type": "string"},
            "continue": {"type": "string"},
            "remainingItemCount": {"type": "integer", "format": "int64"},
            "selfLink": {"type": "string"},
        },
    })
}

fn gvk(r: &ResourceDef, kind: &str) -> Value {
    json!({"group": r.group, "version": r.version, "kind": kind})
}

/// The full schema of one kind (what strict field validation checks objects against).
pub fn kind_schema(r: &ResourceDef, meta_ref: &str) -> Value {
    let mut props = Map::new();
    props.insert(
        "apiVersion".into(),
        json!({"type": "string", "description": "Versioned schema of this object."}),
    );
    props.insert(
        "kind".into(),
        json!({"type": "string", "description": "The kind of this object."}),
    );
    props.insert("metadata".into(), json!({"$ref": meta_ref}));
    if let Some(p) = r.properties.as_object() {
        props.extend(p.clone());
    }
    json!({
        "type": "object",
        "description": r.description,
        "properties": props,
        "x-kubernetes-group-version-kind": [gvk(r, r.kind)],
    })
}

/// A kind's schema with metadata inlined, for validating request bodies.
pub fn validation_schema(r: &ResourceDef) -> Value {
    let mut s = kind_schema(r, "");
    s["properties"]["metadata"] = object_meta();
    s
}

fn schemas(reg: &Registry, ref_prefix: &str) -> Map<String, Value> {
    let prefix = schema_prefix(reg);
    let meta_ref = format!("{ref_prefix}{META}.ObjectMeta");
    let mut out = Map::new();
    out.insert(format!("{META}.ObjectMeta"), object_meta());
    out.insert(format!("{META}.ListMeta"), list_meta());
    for r in &reg.resources {
        out.insert(format!("{prefix}.{}", r.kind), kind_schema(r, &meta_ref));
        out.insert(
            format!("{prefix}.{}", r.list_kind),
            json!({
                "type": "object",
                "description": format!("A list of {}.", r.kind),
                "required": ["items"],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"$ref": format!("{ref_prefix}{META}.ListMeta")},
                    "items": {"type": "array", "items": {"$ref": format!("{ref_prefix}{prefix}.{}", r.kind)}},
                },
                "x-kubernetes-group-version-kind": [gvk(r, &r.list_kind)],
            }),
        );
    }
    out
}

struct Op<'a> {
    action: &'static str,
    r: &'a ResourceDef,
    list: bool,
    body: bool,
    patch: bool,
}

fn param(name: &str, location: &str, v3: bool, description: &str) -> Value {
    let mut p = json!({"name": name, "in": location, "description": description});
    if location == "path" {
        p["required"] = json!(true);
    }
    if v3 {
        p["schema"] = json!({"type": "string", "uniqueItems": true});
    } else {
        p["type"] = json!("string");
        p["uniqueItems"] = json!(true);
    }
    p
}

fn operation(op: &Op, prefix: &str, ref_prefix: &str, v3: bool) -> Value {
    let kind = if op.list { &op.r.list_kind } else { op.r.kind };
    let schema_ref = json!({"$ref": format!("{ref_prefix}{prefix}.{kind}")});
    let mut params = Vec::new();
    if op.body {
        params.push(param(
            "dryRun",
            "query",
            v3,
            "When present (All), the change is validated but not persisted.",
        ));
        params.push(param(
            "fieldManager",
            "query",
            v3,
            "Name of the actor making the change.",
        ));
        params.push(param(
            "fieldValidation",
            "query",
            v3,
            "Ignore, Warn or Strict: how to treat fields the schema does not know.",
        ));
    }
    if op.list {
        for (n, d) in [
            (
                "labelSelector",
                "Restrict the list to objects whose labels match.",
            ),
            (
                "fieldSelector",
                "Restrict the list by metadata.name / metadata.namespace.",
            ),
            ("limit", "Maximum number of objects in one page."),
            ("continue", "Token from the previous page."),
            (
                "resourceVersion",
                "Watch from this version; 'metadata' lists metadata only.",
            ),
            ("watch", "Stream changes instead of listing."),
            ("allowWatchBookmarks", "Send BOOKMARK events."),
            (
                "timeoutSeconds",
                "End a list or watch after this many seconds.",
            ),
        ] {
            params.push(param(n, "query", v3, d));
        }
    }
    let mut o = json!({
        "operationId": format!("{}{}{}", op.action, op.r.kind, if op.list { "List" } else { "" }),
        "description": format!("{} {}", op.action, op.r.plural),
        "tags": [op.r.group],
        "parameters": params,
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": gvk(op.r, op.r.kind),
    });
    if v3 {
        o["responses"] = json!({"200": {"description": "OK", "content": {"application/json": {"schema": schema_ref}}}});
        if op.body {
            let types: &[&str] = if op.patch {
                &[
                    "application/json-patch+json",
                    "application/merge-patch+json",
                    "application/strategic-merge-patch+json",
                ]
            } else {
                &["application/json"]
            };
            let body_schema = if op.patch {
                json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
            } else {
                schema_ref.clone()
            };
            let content: Map<String, Value> = types
                .iter()
                .map(|t| (t.to_string(), json!({"schema": body_schema})))
                .collect();
            o["requestBody"] = json!({"required": true, "content": content});
        }
    } else {
        o["responses"] = json!({"200": {"description": "OK", "schema": schema_ref}});
        o["produces"] = json!(["application/json"]);
        if op.patch {
            o["consumes"] = json!([
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json"
            ]);
        } else {
            o["consumes"] = json!(["application/json"]);
        }
        if op.body {
            let body_schema = if op.patch {
                json!({"type": "object"})
            } else {
                schema_ref
            };
            o["parameters"].as_array_mut().expect("array").push(
                json!({"name": "body", "in": "body", "required": true, "schema": body_schema}),
            );
        }
    }
    o
}

fn paths(reg: &Registry, ref_prefix: &str, v3: bool) -> Map<String, Value> {
    let prefix = schema_prefix(reg);
    let base = format!("/apis/{}/{}", reg.group, reg.version);
    let mut out = Map::new();
    for r in &reg.resources {
        let op = |method, action, list, body, patch| {
            (
                method,
                operation(
                    &Op {
                        action,
                        r,
                        list,
                        body,
                        patch,
                    },
                    &prefix,
                    ref_prefix,
                    v3,
                ),
            )
        };
        let collection_ops = if r.computed {
            vec![op("get", "list", true, false, false)]
        } else {
            vec![
                op("get", "list", true, false, false),
                op("post", "post", false, true, false),
                op("delete", "deletecollection", true, false, false),
            ]
        };
        let item_ops = if r.computed {
            vec![op("get", "get", false, false, false)]
        } else {
            vec![
                op("get", "get", false, false, false),
                op("put", "put", false, true, false),
                op("patch", "patch", false, true, true),
                op("delete", "delete", false, false, false),
            ]
        };
        let scope = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{base}/{}", r.plural)
        };
        let ns_param = r
            .namespaced
            .then(|| param("namespace", "path", v3, "Object namespace."));
        let with_params = |ops: Vec<(&str, Value)>, extra: Vec<Value>| {
            let mut m: Map<String, Value> =
                ops.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let p: Vec<Value> = ns_param.iter().cloned().chain(extra).collect();
            m.insert("parameters".into(), json!(p));
            Value::Object(m)
        };
        out.insert(scope.clone(), with_params(collection_ops, vec![]));
        out.insert(
            format!("{scope}/{{name}}"),
            with_params(item_ops, vec![param("name", "path", v3, "Object name.")]),
        );
        if r.namespaced {
            let all = vec![op("get", "list", true, false, false)];
            let m: Map<String, Value> = all.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            out.insert(format!("{base}/{}", r.plural), Value::Object(m));
        }
    }
    out
}

pub fn v3_document(reg: &Registry) -> Value {
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubescape storage", "version": reg.version},
        "paths": paths(reg, "#/components/schemas/", true),
        "components": {"schemas": schemas(reg, "#/components/schemas/")},
    })
}

pub fn v2_document(reg: &Registry) -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubescape storage", "version": reg.version},
        "paths": paths(reg, "#/definitions/", false),
        "definitions": schemas(reg, "#/definitions/"),
    })
}

/// `/openapi/v3`: where each group version's document is, with a content hash for caching.
pub fn v3_root(reg: &Registry, doc: &[u8]) -> Value {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    doc.hash(&mut h);
    let key = format!("apis/{}/{}", reg.group, reg.version);
    json!({"paths": {key.clone(): {"serverRelativeURL": format!("/openapi/v3/{key}?hash={:016X}", h.finish())}}})
}
