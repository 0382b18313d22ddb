//! Fault test: SIGKILL the storage server in the middle of a burst of concurrent writes; after a
//! restart every acknowledged write is present and intact, and versions keep increasing.

use kubescape_testenv::storage::StorageServer;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const GV: &str = "spdx.softwarecomposition.kubescape.io/v1beta1";

fn payload(writer: usize, seq: usize) -> Value {
    // ~10 KB of content that differs per object, so a torn or swapped write cannot pass.
    let rows: Vec<String> = (0..160)
        .map(|i| {
            format!(
                "w{writer}-s{seq}-row{i:03}-{:08x}",
                (writer * 7919 + seq * 104729 + i) as u32
            )
        })
        .collect();
    json!({"controls": {"C-0017": {"controlID": "C-0017", "status": {"status": "failed"}}}, "rows": rows})
}

#[test]
fn every_acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = StorageServer::start(
        env!("CARGO_BIN_EXE_kubescape").as_ref(),
        dir.path(),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        &[],
    );
    let url = format!(
        "{}/apis/{GV}/namespaces/burst/workloadconfigurationscans",
        server.url()
    );
    let acknowledged: Arc<Mutex<Vec<(String, Value, u64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let (agent, url, acked, stop) = (
                server.agent(),
                url.clone(),
                acknowledged.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                for seq in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let name = format!("deployment-w{w}-{seq}");
                    let spec = payload(w, seq);
                    let body = json!({"apiVersion": GV, "kind": "WorkloadConfigurationScan",
                        "metadata": {"name": name, "namespace": "burst"}, "spec": spec});
                    match agent
                        .post(&url)
                        .set("Content-Type", "application/json")
                        .send_string(&body.to_string())
                    {
                        Ok(resp) => {
                            let stored: Value =
                                serde_json::from_reader(resp.into_reader()).unwrap();
                            let rv = stored["metadata"]["resourceVersion"]
                                .as_str()
                                .unwrap()
                                .parse()
                                .unwrap();
                            acked.lock().unwrap().push((name, spec, rv));
                        }
                        Err(_) => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    // Kill once the burst is well under way.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 300 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = std::mem::take(&mut *acknowledged.lock().unwrap());
    assert!(
        acked.len() >= 300,
        "the burst was too small to mean anything: {}",
        acked.len()
    );

    server.restart();
    let agent = server.agent();
    for (name, spec, rv) in &acked {
        let got: Value = serde_json::from_reader(
            agent
                .get(&format!("{url}/{name}"))
                .call()
                .unwrap_or_else(|e| panic!("acknowledged write {name} lost after SIGKILL: {e}"))
                .into_reader(),
        )
        .unwrap();
        assert_eq!(&got["spec"], spec, "{name} changed");
        assert_eq!(got["metadata"]["resourceVersion"], rv.to_string(), "{name}");
    }
    // Everything stored is intact JSON, and new writes get versions above every old one.
    let list: Value =
        serde_json::from_reader(agent.get(&url).call().unwrap().into_reader()).unwrap();
    let items = list["items"].as_array().unwrap();
    assert!(items.len() >= acked.len());
    let max_rv = acked.iter().map(|a| a.2).max().unwrap();
    let body = json!({"apiVersion": GV, "kind": "WorkloadConfigurationScan", "metadata": {"name": "after-restart"}, "spec": {}});
    let created: Value = serde_json::from_reader(
        agent
            .post(&url)
            .set("Content-Type", "application/json")
            .send_string(&body.to_string())
            .unwrap()
            .into_reader(),
    )
    .unwrap();
    let rv: u64 = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        rv > max_rv,
        "resourceVersion went back after restart: {rv} <= {max_rv}"
    );
    eprintln!(
        "{} acknowledged writes before SIGKILL, all present; {} objects stored",
        acked.len(),
        items.len()
    );
}

/// A full write queue answers 429 with Retry-After instead of waiting on a lock; every write
/// that was accepted is stored, and the refused ones can be retried.
#[test]
fn a_full_write_queue_answers_429_and_loses_nothing_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = StorageServer::start(
        env!("CARGO_BIN_EXE_kubescape").as_ref(),
        dir.path(),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        &["--write-queue-capacity=1"],
    );
    let url = format!(
        "{}/apis/{GV}/namespaces/queue/workloadconfigurationscans",
        server.url()
    );
    let big = "x".repeat(512 * 1024);
    // (object name, accepted or (HTTP code, Retry-After))
    type Outcome = (String, Result<(), (u16, Option<String>)>);
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let (agent, url, big) = (server.agent(), url.clone(), big.clone());
                s.spawn(move || {
                    let name = format!("w{i}");
                    let body = json!({"apiVersion": GV, "kind": "WorkloadConfigurationScan",
                        "metadata": {"name": name}, "spec": {"pad": big}});
                    let r = match agent
                        .post(&url)
                        .set("Content-Type", "application/json")
                        .send_string(&body.to_string())
                    {
                        Ok(_) => Ok(()),
                        Err(ureq::Error::Status(code, resp)) => {
                            Err((code, resp.header("retry-after").map(str::to_string)))
                        }
                        Err(e) => panic!("{e}"),
                    };
                    (name, r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let refused: Vec<_> = outcomes.iter().filter(|(_, r)| r.is_err()).collect();
    assert!(
        !refused.is_empty(),
        "40 concurrent writes never filled a one-slot queue"
    );
    for (_, r) in &refused {
        let (code, retry_after) = r.as_ref().unwrap_err();
        assert_eq!(*code, 429);
        assert_eq!(retry_after.as_deref(), Some("1"));
    }
    let agent = server.agent();
    for (name, r) in &outcomes {
        let stored = agent.get(&format!("{url}/{name}")).call();
        assert_eq!(
            stored.is_ok(),
            r.is_ok(),
            "{name}: accepted writes are stored, refused ones are not"
        );
    }
    eprintln!("{} of 40 writes refused with 429", refused.len());
}
