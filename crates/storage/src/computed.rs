//! The kinds computed on read: per-namespace summaries and generated network policies.
//!
//! They hold no data of their own, so they cannot go stale: each read folds the objects they
//! summarise from the same read transaction (one snapshot).

use crate::store::{get_row, scan_rows};
use kubescape_apiserver::{ApiError, ApiResult, Event, EventType, Registry, Row, Visit};
use rusqlite::Connection;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

fn sources_of(plural: &str) -> Option<&'static str> {
    match plural {
        "vulnerabilitysummaries" => Some("vulnerabilitymanifestsummaries"),
        "configurationscansummaries" => Some("workloadconfigurationscansummaries"),
        "generatednetworkpolicies" => Some("networkneighborhoods"),
        _ => None,
    }
}

pub(crate) fn get(
    registry: &Registry,
    conn: &Connection,
    resource: usize,
    namespace: &str,
    name: &str,
) -> ApiResult<Option<Vec<u8>>> {
    let mut found = None;
    let plural = registry.resources[resource].plural;
    if plural == "generatednetworkpolicies" {
        let Some(nn) = get_row(conn, "networkneighborhoods", namespace, name)? else {
            return Ok(None);
        };
        let nn: Value =
            serde_json::from_slice(&nn).map_err(|e| ApiError::internal(e.to_string()))?;
        let known = known_servers(conn)?;
        return Ok(Some(
            serde_json::to_vec(&network_policy(&nn, &known)).expect("serialisable"),
        ));
    }
    // Summaries are named after the namespace they summarise.
    list(
        registry,
        conn,
        resource,
        Some(name),
        None,
        &mut |row: Row| {
            found = Some(row.object.to_vec());
            Visit::Stop
        },
    )?;
    Ok(found)
}

pub(crate) fn list(
    registry: &Registry,
    conn: &Connection,
    resource: usize,
    namespace: Option<&str>,
    after: Option<(&str, &str)>,
    visit: &mut dyn FnMut(Row) -> Visit,
) -> ApiResult<()> {
    let plural = registry.resources[resource].plural;
    let source = sources_of(plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} has no source kind")))?;
    if plural == "generatednetworkpolicies" {
        let known = known_servers(conn)?;
        return scan_rows(conn, source, namespace, after, &mut |row: Row| {
            let Ok(nn) = serde_json::from_slice::<Value>(row.object) else {
                return Visit::Skip;
            };
            let policy = network_policy(&nn, &known);
            let bytes = serde_json::to_vec(&policy).expect("serialisable");
            let labels = policy["metadata"]["labels"].as_object().cloned();
            visit(Row {
                namespace: row.namespace,
                name: row.name,
                labels: labels.as_ref(),
                object: &bytes,
            })
        });
    }
    // Cluster-scoped summaries: `namespace` here is the summary's name (a namespace).
    let mut per_ns: BTreeMap<String, Summary> = BTreeMap::new();
    scan_rows(conn, source, namespace, None, &mut |row: Row| {
        if let Ok(obj) = serde_json::from_slice::<Value>(row.object) {
            per_ns
                .entry(row.namespace.to_string())
                .or_default()
                .add(&obj);
        }
        Visit::Skip
    })?;
    let vulnerability = plural == "vulnerabilitysummaries";
    for (ns, summary) in per_ns {
        if after.is_some_and(|(_, name)| ns.as_str() <= name) {
            continue;
        }
        let obj = summary.into_object(registry, resource, &ns, vulnerability);
        let bytes = serde_json::to_vec(&obj).expect("serialisable");
        if let Visit::Stop = visit(Row {
            namespace: "",
            name: &ns,
            labels: None,
            object: &bytes,
        }) {
            break;
        }
    }
    Ok(())
}

/// Changes of the computed kinds caused by changes of their sources in this transaction: one
/// event per affected summary (namespace) or policy, carrying the triggering resourceVersion,
/// so that watches of computed kinds see them change.
pub(crate) fn derived_events(
    registry: &Registry,
    conn: &Connection,
    sources: &[&Event],
) -> ApiResult<Vec<Event>> {
    let mut out = Vec::new();
    let mut done: Vec<(usize, String)> = Vec::new();
    // Read once per transaction, on the first neighborhood change that needs them.
    let mut known: Option<Vec<KnownServer>> = None;
    // Newest first: a namespace changed several times in one transaction gets one summary
    // event, at the version of its last change.
    for e in sources.iter().rev() {
        let source = registry.resources[e.resource].plural;
        for (i, def) in registry.resources.iter().enumerate() {
            if !def.computed || sources_of(def.plural) != Some(source) {
                continue;
            }
            if def.plural == "generatednetworkpolicies" {
                let Ok(nn) = serde_json::from_slice::<Value>(&e.object) else {
                    continue;
                };
                let known = match &mut known {
                    Some(k) => k,
                    None => known.insert(known_servers(conn)?),
                };
                let policy = network_policy(&nn, known);
                out.push(Event {
                    rv: e.rv,
                    kind: e.kind,
                    resource: i,
                    namespace: e.namespace.clone(),
                    name: e.name.clone(),
                    labels: policy["metadata"]["labels"].as_object().cloned(),
                    object: serde_json::to_vec(&policy).expect("serialisable").into(),
                });
                continue;
            }
            // A namespace summary: recomputed once per namespace and transaction.
            if done.iter().any(|(r, ns)| *r == i && *ns == e.namespace) {
                continue;
            }
            done.push((i, e.namespace.clone()));
            let mut summary = Summary::default();
            let mut sources_left = 0usize;
            scan_rows(conn, source, Some(&e.namespace), None, &mut |row: Row| {
                if let Ok(obj) = serde_json::from_slice::<Value>(row.object) {
                    summary.add(&obj);
                    sources_left += 1;
                }
                Visit::Skip
            })?;
            let kind = match (e.kind, sources_left) {
                (_, 0) => EventType::Deleted,
                (EventType::Added, 1) => EventType::Added,
                _ => EventType::Modified,
            };
            let vulnerability = def.plural == "vulnerabilitysummaries";
            let mut obj = summary.into_object(registry, i, &e.namespace, vulnerability);
            obj["metadata"]["resourceVersion"] = json!(e.rv.to_string());
            out.push(Event {
                rv: e.rv,
                kind,
                resource: i,
                namespace: String::new(),
                name: e.namespace.clone(),
                labels: None,
                object: serde_json::to_vec(&obj).expect("serialisable").into(),
            });
        }
    }
    Ok(out)
}

#[derive(Default)]
struct Summary {
    severities: Map<String, Value>,
    refs: Vec<Value>,
    newest_rv: u64,
    oldest_created: Option<String>,
}

fn add_counts(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        match v {
            Value::Number(n) => {
                let cur = into.get(k).and_then(Value::as_i64).unwrap_or(0);
                into.insert(k.clone(), json!(cur + n.as_i64().unwrap_or(0)));
            }
            Value::Object(inner) => {
                let entry = into.entry(k.clone()).or_insert_with(|| json!({}));
                if let Some(e) = entry.as_object_mut() {
                    add_counts(e, inner);
                }
            }
            _ => {}
        }
    }
}

impl Summary {
    fn add(&mut self, obj: &Value) {
        if let Some(s) = obj["spec"]["severities"].as_object() {
            add_counts(&mut self.severities, s);
        }
        self.refs.push(json!({
            "kind": obj["kind"],
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
        }));
        let rv = obj["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        self.newest_rv = self.newest_rv.max(rv);
        if let Some(c) = obj["metadata"]["creationTimestamp"].as_str() {
            if self.oldest_created.as_deref().is_none_or(|o| c < o) {
                self.oldest_created = Some(c.to_string());
            }
        }
    }

    fn into_object(
        self,
        registry: &Registry,
        resource: usize,
        namespace: &str,
        vulnerability: bool,
    ) -> Value {
        let def = &registry.resources[resource];
        let refs_key = if vulnerability {
            "vulnerabilitiesRef"
        } else {
            "summaryRef"
        };
        json!({
            "apiVersion": def.api_version(),
            "kind": def.kind,
            "metadata": {
                "name": namespace,
                "resourceVersion": self.newest_rv.to_string(),
                "creationTimestamp": self.oldest_created,
            },
            "spec": {"severities": self.severities, refs_key: self.refs},
        })
    }
}

struct KnownServer {
    net: (u32, u32),
    cidr: String,
    name: String,
    server: String,
}

fn known_servers(conn: &Connection) -> ApiResult<Vec<KnownServer>> {
    let mut out = Vec::new();
    scan_rows(conn, "knownservers", None, None, &mut |row: Row| {
        if let Ok(obj) = serde_json::from_slice::<Value>(row.object) {
            for entry in obj["spec"].as_array().into_iter().flatten() {
                let cidr = entry["ipBlock"].as_str().unwrap_or_default();
                if let Some(net) = parse_cidr(cidr) {
                    out.push(KnownServer {
                        net,
                        cidr: cidr.to_string(),
                        name: entry["name"].as_str().unwrap_or_default().to_string(),
                        server: entry["server"].as_str().unwrap_or_default().to_string(),
                    });
                }
            }
        }
        Visit::Skip
    })?;
    Ok(out)
}

/// IPv4 network and mask of `a.b.c.d/n`.
fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, bits) = cidr.split_once('/').unwrap_or((cidr, "32"));
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    Some((u32::from(ip) & mask, mask))
}

/// The NetworkPolicy that allows what a NetworkNeighborhood observed and nothing else. An
/// address inside a known server's block is allowed as that whole block (and named in
/// `policyRef`), so that a policy does not break when a service moves within its range.
fn network_policy(nn: &Value, known: &[KnownServer]) -> Value {
    let mut refs: Vec<Value> = Vec::new();
    let mut rules = |direction: &str| -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        for container in nn["spec"]["containers"].as_array().into_iter().flatten() {
            for peer in container[direction].as_array().into_iter().flatten() {
                let mut p = Map::new();
                if let Some(ip) = peer["ipAddress"].as_str().filter(|s| !s.is_empty()) {
                    let server = ip
                        .parse::<std::net::Ipv4Addr>()
                        .ok()
                        .and_then(|a| known.iter().find(|k| u32::from(a) & k.net.1 == k.net.0));
                    let cidr = match server {
                        Some(k) => {
                            refs.push(json!({"ipBlock": k.cidr, "originalIP": ip, "dns": peer["dns"], "name": k.name, "server": k.server}));
                            k.cidr.clone()
                        }
                        None => {
                            if let Some(dns) = peer["dns"].as_str().filter(|d| !d.is_empty()) {
                                refs.push(json!({"ipBlock": format!("{ip}/32"), "originalIP": ip, "dns": dns, "name": "", "server": ""}));
                            }
                            format!("{ip}/32")
                        }
                    };
                    p.insert("ipBlock".into(), json!({"cidr": cidr}));
                }
                for sel in ["podSelector", "namespaceSelector"] {
                    if peer[sel].is_object() {
                        p.insert(sel.into(), peer[sel].clone());
                    }
                }
                let ports: Vec<Value> = peer["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|port| json!({"protocol": port["protocol"], "port": port["port"]}))
                    .collect();
                let side = if direction == "ingress" { "from" } else { "to" };
                let mut rule = Map::new();
                if !p.is_empty() {
                    rule.insert(side.into(), json!([Value::Object(p)]));
                }
                if !ports.is_empty() {
                    rule.insert("ports".into(), json!(ports));
                }
                let rule = Value::Object(rule);
                if !out.contains(&rule) {
                    out.push(rule);
                }
            }
        }
        out
    };
    let ingress = rules("ingress");
    let egress = rules("egress");
    let meta = &nn["metadata"];
    let mut selector = Map::new();
    if let Some(l) = nn["spec"]["matchLabels"]
        .as_object()
        .filter(|l| !l.is_empty())
    {
        selector.insert("matchLabels".into(), Value::Object(l.clone()));
    }
    if let Some(e) = nn["spec"]["matchExpressions"]
        .as_array()
        .filter(|e| !e.is_empty())
    {
        selector.insert("matchExpressions".into(), Value::Array(e.clone()));
    }
    json!({
        "apiVersion": "spdx.softwarecomposition.kubescape.io/v1beta1",
        "kind": "GeneratedNetworkPolicy",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "labels": meta["labels"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            "spec": {
                "podSelector": selector,
                "policyTypes": ["Ingress", "Egress"],
                "ingress": ingress,
                "egress": egress,
            },
        },
        "policyRef": refs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_uses_known_server_blocks() {
        let nn = json!({"metadata": {"name": "deployment-web", "namespace": "shop"},
            "spec": {"matchLabels": {"app": "web"}, "containers": [{"name": "web",
                "ingress": [{"podSelector": {"matchLabels": {"app": "lb"}}, "ports": [{"name": "TCP-80", "protocol": "TCP", "port": 80}]}],
                "egress": [{"ipAddress": "10.1.2.3", "dns": "db.example.com", "ports": [{"protocol": "TCP", "port": 5432}]},
                           {"ipAddress": "8.8.8.8", "ports": [{"protocol": "UDP", "port": 53}]}]}]}});
        let known = vec![KnownServer {
            net: parse_cidr("10.1.0.0/16").unwrap(),
            cidr: "10.1.0.0/16".into(),
            name: "db".into(),
            server: "db.example.com".into(),
        }];
        let p = network_policy(&nn, &known);
        let spec = &p["spec"]["spec"];
        assert_eq!(spec["podSelector"]["matchLabels"]["app"], "web");
        assert_eq!(
            spec["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app"],
            "lb"
        );
        assert_eq!(spec["egress"][0]["to"][0]["ipBlock"]["cidr"], "10.1.0.0/16");
        assert_eq!(spec["egress"][1]["to"][0]["ipBlock"]["cidr"], "8.8.8.8/32");
        assert_eq!(p["policyRef"][0]["name"], "db");
        assert_eq!(p["policyRef"].as_array().unwrap().len(), 1);
    }
}
