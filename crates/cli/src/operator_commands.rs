//! Commands delivered as OperatorCommand objects (`operatorcommands.kubescape.io/v1alpha1`, in
//! the operator's namespace; the chart installs the CRD). Each new object runs once, as the same
//! command through `triggerAction` would, and its status records the outcome: `started` when it
//! begins (so a restarted operator does not run it twice), then `completed` with a `payload` or
//! an `error`. Commands older than their `ttl` are not started.
//!
//! Who may create these objects is decided by RBAC on the CRD, which replaces the token check of
//! `triggerAction`.

use crate::serve_operator::{execute, Change, Operator};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const GROUP: &str = "kubescape.io";
const VERSION: &str = "v1alpha1";
const PLURAL: &str = "operatorcommands";

fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GROUP, VERSION, "OperatorCommand"),
        PLURAL,
    )
}

/// Runs the OperatorCommands of the namespace: the pending ones at start, then new ones. Waits
/// for the CRD to be served (checked every minute) rather than failing without it.
pub async fn watch(op: Arc<Operator>, namespace: String) {
    let mut told = false;
    loop {
        match op
            .client
            .list_api_group_resources(&format!("{GROUP}/{VERSION}"))
            .await
        {
            Ok(list) if list.resources.iter().any(|r| r.name == PLURAL) => break,
            _ => {
                if !told {
                    tracing::info!("the OperatorCommand CRD is not installed; commands arrive only through triggerAction until it is");
                    told = true;
                }
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        }
    }
    let api: Api<DynamicObject> = Api::namespaced_with(op.client.clone(), &namespace, &resource());
    let version = loop {
        match api.list(&ListParams::default()).await {
            Ok(list) => {
                for obj in &list.items {
                    run(&op, &api, obj).await;
                }
                break list.metadata.resource_version.unwrap_or_default();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot list OperatorCommands; retrying");
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
        }
    };
    tracing::info!(%namespace, "running OperatorCommands as they are created");
    let mut changes =
        crate::serve_operator::follow_from(api.clone(), "OperatorCommand".into(), version);
    while let Some(change) = changes.recv().await {
        if let Change::Applied(obj) = change {
            run(&op, &api, &obj).await;
        }
    }
}

/// A Go duration (`90s`, `5m`, `1h30m`) or a number of seconds.
fn parse_ttl(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some(Duration::from_secs(n));
    }
    let mut total = 0f64;
    let mut number = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push(chars.next()?);
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        total += n * match unit.as_str() {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
    }
    number.is_empty().then(|| Duration::from_secs_f64(total))
}

/// The triggerAction commands an OperatorCommand stands for.
fn commands_of(spec: &Value) -> Result<Vec<Value>, String> {
    if let Some(commands) = spec["body"]["commands"].as_array() {
        return Ok(commands.clone());
    }
    let name = spec["commandType"].as_str().filter(|s| !s.is_empty()).ok_or(
        "spec.commandType (a triggerAction commandName) or spec.body ({\"commands\":[...]}) is required",
    )?;
    let args = spec.get("args").cloned().unwrap_or(json!({}));
    Ok(vec![json!({
        "commandName": name,
        "designators": spec.get("designators").cloned().unwrap_or(json!([])),
        "wlid": args.get("wlid").cloned().unwrap_or(json!("")),
        "wildWlid": args.get("wildWlid").cloned().unwrap_or(json!("")),
        "args": args,
    })])
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn set_status(
    api: &Api<DynamicObject>,
    name: &str,
    status: Value,
) -> Result<(), kube::Error> {
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": status})),
    )
    .await
    .map(|_| ())
}

async fn run(op: &Operator, api: &Api<DynamicObject>, obj: &DynamicObject) {
    use tracing::Instrument;
    let status = &obj.data["status"];
    if status["started"].as_bool() == Some(true) || status["completed"].as_bool() == Some(true) {
        return;
    }
    let name = obj.metadata.name.clone().unwrap_or_default();
    let job_id = obj.data["spec"]["guid"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| obj.metadata.uid.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("operatorcommand", jobId = %job_id, object = %name);
    run_pending(op, api, obj, &name, &job_id)
        .instrument(span)
        .await
}

async fn run_pending(
    op: &Operator,
    api: &Api<DynamicObject>,
    obj: &DynamicObject,
    name: &str,
    job_id: &str,
) {
    let spec = &obj.data["spec"];
    if let (Some(ttl), Some(created)) = (
        spec["ttl"].as_str().and_then(parse_ttl),
        obj.metadata.creation_timestamp.as_ref(),
    ) {
        let age = k8s_openapi::jiff::Timestamp::now().as_second() - created.0.as_second();
        if age > ttl.as_secs() as i64 {
            tracing::info!(
                age_seconds = age,
                "OperatorCommand expired before it started"
            );
            let _ = set_status(api, name, json!({"completed": true, "completedAt": now(),
                "error": {"reason": "expired", "message": format!("not started within its ttl {}", spec["ttl"].as_str().unwrap_or_default()), "errorCode": 408}})).await;
            return;
        }
    }
    // Claimed first: a command is never run twice, even across restarts.
    let executer = format!(
        "operator@{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into())
    );
    if let Err(e) = set_status(
        api,
        name,
        json!({"started": true, "startedAt": now(), "executer": executer}),
    )
    .await
    {
        tracing::warn!(error = %e, "cannot mark the OperatorCommand started; not running it");
        return;
    }
    let commands = match commands_of(spec) {
        Ok(c) => c,
        Err(e) => {
            let _ = set_status(
                api,
                name,
                json!({"completed": true, "completedAt": now(),
                "error": {"reason": "invalid", "message": e, "errorCode": 400}}),
            )
            .await;
            return;
        }
    };
    let mut done = Vec::new();
    let mut failure: Option<(u16, String)> = None;
    for command in &commands {
        let command_name = command["commandName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        tracing::info!(command = %command_name, "OperatorCommand started");
        match execute(op, &command_name, command, job_id).await {
            Ok(detail) => done.push(format!("{command_name}: {detail}")),
            Err((code, e)) => {
                failure = Some((code.as_u16(), format!("{command_name}: {e}")));
                break;
            }
        }
    }
    let mut status = json!({"completed": true, "completedAt": now()});
    if !done.is_empty() {
        status["payload"] = json!(done.join("; "));
    }
    if let Some((code, message)) = failure {
        tracing::warn!(error = %message, "OperatorCommand failed");
        status["error"] = json!({"reason": "failed", "message": message, "errorCode": code});
    }
    if let Err(e) = set_status(api, name, status).await {
        tracing::warn!(error = %e, "cannot record the OperatorCommand's outcome");
    } else {
        tracing::info!("OperatorCommand completed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_and_commands() {
        assert_eq!(parse_ttl("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_ttl("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_ttl("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_ttl("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_ttl("5 minutes"), None);
        assert_eq!(parse_ttl("10x"), None);
        let c = commands_of(
            &json!({"commandType": "scan", "args": {"wlid": "wlid://x/namespace-a/pod-b"}}),
        )
        .unwrap();
        assert_eq!(c[0]["commandName"], "scan");
        assert_eq!(c[0]["wlid"], "wlid://x/namespace-a/pod-b");
        let c = commands_of(&json!({"body": {"commands": [{"commandName": "kubescapeScan"}, {"commandName": "scan"}]}})).unwrap();
        assert_eq!(c.len(), 2);
        assert!(commands_of(&json!({})).unwrap_err().contains("commandType"));
    }
}
