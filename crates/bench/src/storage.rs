//! `storage-bench`: the storage server against kube-apiserver + etcd holding the same objects
//! as a CRD, on fixed inputs: create/update throughput (10 KB, 1 MB, 20 MB), LIST of 10,000
//! objects (full and metadata), watch latency, peak RSS.
//!
//! ```sh
//! cargo build --release -p kubescape-cli -p kubescape-bench
//! scripts/k8s-testenv.sh start /tmp/bench-k8s        # a fresh cluster for the CRD side
//! target/release/storage-bench --kubescape target/release/kubescape --cluster /tmp/bench-k8s
//! ```

use anyhow::{bail, Context, Result};
use kubescape_testenv::storage::StorageServer;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    kubescape: PathBuf,
    cluster: Option<PathBuf>,
    list_objects: usize,
    concurrency: usize,
    skip_ours: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        kubescape: "target/release/kubescape".into(),
        cluster: None,
        list_objects: 10_000,
        concurrency: 8,
        skip_ours: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--kubescape" => a.kubescape = value()?.into(),
            "--cluster" => a.cluster = Some(value()?.into()),
            "--list-objects" => a.list_objects = value()?.parse()?,
            "--concurrency" => a.concurrency = value()?.parse()?,
            "--skip-ours" => a.skip_ours = true,
            "-h" | "--help" => {
                println!("storage-bench [--kubescape BIN] [--cluster K8S_TESTENV_DIR] [--list-objects N] [--concurrency N]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other} (see --help)"),
        }
    }
    Ok(a)
}

/// Where objects go: our server or kube-apiserver with the CRD.
struct Target {
    name: &'static str,
    agent: ureq::Agent,
    token: Option<String>,
    /// `.../namespaces/{ns}/<plural>` without the namespace filled in.
    base: String,
    api_version: String,
    kind: String,
    pids: Vec<u32>,
}

impl Target {
    fn collection(&self, ns: &str) -> String {
        format!("{}/namespaces/{ns}/{}", self.base, "vulnerabilitymanifests")
    }

    fn request(&self, method: &str, url: &str) -> ureq::Request {
        let r = self.agent.request(method, url);
        match &self.token {
            Some(t) => r.set("Authorization", &format!("Bearer {t}")),
            None => r,
        }
    }

    /// The object as JSON text; the payload is incompressible-looking text of `size` bytes,
    /// generated once per size so that the client spends its time sending, not formatting.
    fn object(&self, ns: &str, name: &str, size: usize) -> String {
        let pad = pad(size);
        let head = json!({"apiVersion": self.api_version, "kind": self.kind,
            "metadata": {"name": name, "namespace": ns, "labels": {"bench": "yes"}},
            "spec": {"metadata": {"withRelevancy": false, "tool": {"name": "bench", "version": "1", "databaseVersion": "1"}},
                     "payload": {"pad": ""}}})
            .to_string();
        let cut = head.rfind("\"\"").expect("empty pad in the template");
        let mut out = String::with_capacity(head.len() + pad.len());
        out.push_str(&head[..cut + 1]);
        out.push_str(&pad);
        out.push_str(&head[cut + 1..]);
        out
    }

    fn peak_rss_mib(&self) -> f64 {
        self.pids
            .iter()
            .map(|p| vm_hwm_kib(*p).unwrap_or(0) as f64 / 1024.0)
            .sum()
    }
}

fn pad(size: usize) -> Arc<String> {
    static PADS: Mutex<Vec<(usize, Arc<String>)>> = Mutex::new(Vec::new());
    let mut pads = PADS.lock().unwrap();
    if let Some((_, p)) = pads.iter().find(|(s, _)| *s == size) {
        return p.clone();
    }
    let mut pad = String::with_capacity(size + 16);
    let mut x: u64 = 0x9E3779B97F4A7C15 ^ size as u64;
    while pad.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pad.push_str(&format!("{x:016x}"));
    }
    pad.truncate(size);
    let p = Arc::new(pad);
    pads.push((size, p.clone()));
    p
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

/// Writes `count` objects of `size` bytes with `concurrency` clients; returns writes per second
/// and how many failed (with the first error).
fn write_burst(
    t: &Target,
    ns: &str,
    prefix: &str,
    count: usize,
    size: usize,
    concurrency: usize,
    update: bool,
) -> (f64, usize, Option<String>) {
    let next = Arc::new(Mutex::new(0usize));
    let failures = Arc::new(Mutex::new((0usize, None::<String>)));
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..concurrency {
            let (next, failures) = (next.clone(), failures.clone());
            s.spawn(move || loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    if *n >= count {
                        return;
                    }
                    *n += 1;
                    *n - 1
                };
                let name = format!("{prefix}-{i:05}");
                let mut body = t.object(ns, &name, size);
                if update {
                    // A real change: an unchanged object is a no-op for both servers.
                    body = body.replacen("\"bench\":\"yes\"", "\"bench\":\"updated\"", 1);
                }
                // Updates are merge patches of the whole object: kube-apiserver refuses an
                // unconditional PUT of a custom resource, and a patch needs no prior read.
                let result = if update {
                    t.request("PATCH", &format!("{}/{name}", t.collection(ns)))
                        .set("Content-Type", "application/merge-patch+json")
                        .send_string(&body)
                } else {
                    t.request("POST", &t.collection(ns))
                        .set("Content-Type", "application/json")
                        .send_string(&body)
                };
                if let Err(e) = result {
                    let mut f = failures.lock().unwrap();
                    f.0 += 1;
                    if f.1.is_none() {
                        let msg = match e {
                            ureq::Error::Status(code, r) => format!(
                                "HTTP {code}: {}",
                                r.into_string()
                                    .unwrap_or_default()
                                    .chars()
                                    .take(200)
                                    .collect::<String>()
                            ),
                            other => other.to_string(),
                        };
                        f.1 = Some(msg);
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let f = failures.lock().unwrap();
    ((count - f.0) as f64 / elapsed, f.0, f.1.clone())
}

fn timed_list(
    t: &Target,
    ns: &str,
    query: &str,
    accept: Option<&str>,
) -> Result<(f64, usize, usize)> {
    let started = Instant::now();
    let mut r = t.request("GET", &format!("{}{query}", t.collection(ns)));
    if let Some(a) = accept {
        r = r.set("Accept", a);
    }
    let resp = r.call().context("list")?;
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body)?;
    let secs = started.elapsed().as_secs_f64();
    let v: Value = serde_json::from_slice(&body)?;
    Ok((secs, v["items"].as_array().map_or(0, Vec::len), body.len()))
}

/// Median and 99th percentile of the delay between sending a create and seeing its event.
fn watch_latency(t: &Target, ns: &str, n: usize) -> Result<(f64, f64)> {
    let rv = {
        let resp = t
            .request("GET", &format!("{}?limit=1", t.collection(ns)))
            .call()?;
        let v: Value = serde_json::from_reader(resp.into_reader())?;
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("0")
            .to_string()
    };
    let url = format!(
        "{}?watch=1&resourceVersion={rv}&timeoutSeconds=120",
        t.collection(ns)
    );
    let resp = t.request("GET", &url).call().context("watch")?;
    let seen: Arc<Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(resp.into_reader()).lines() {
            let Ok(line) = line else { return };
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if let Some(name) = v["object"]["metadata"]["name"].as_str() {
                    seen2
                        .lock()
                        .unwrap()
                        .entry(name.to_string())
                        .or_insert_with(Instant::now);
                }
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let mut sent = Vec::new();
    for i in 0..n {
        let name = format!("watch-{i:04}");
        let body = t.object(ns, &name, 1024);
        let at = Instant::now();
        t.request("POST", &t.collection(ns))
            .set("Content-Type", "application/json")
            .send_string(&body)?;
        sent.push((name, at));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen = seen.lock().unwrap();
    let mut lat: Vec<f64> = sent
        .iter()
        .filter_map(|(name, at)| {
            seen.get(name)
                .map(|s| s.duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    if lat.len() < n {
        bail!("{} of {n} watch events never arrived", n - lat.len());
    }
    lat.sort_by(f64::total_cmp);
    Ok((
        lat[lat.len() / 2],
        lat[(lat.len() * 99 / 100).min(lat.len() - 1)],
    ))
}

fn run(t: &Target, a: &Args) -> Result<()> {
    println!("## {}", t.name);
    let c = a.concurrency;
    let rss = |what: &str| println!("  {what}: peak RSS so far {:.0} MiB", t.peak_rss_mib());
    for (label, size, count) in [
        ("10 KB", 10 * 1024, 2_000),
        ("1 MB", 1024 * 1024, 200),
        ("20 MB", 20 * 1024 * 1024, 20),
    ] {
        let ns = format!("w{}", size);
        let (rate, failed, err) = write_burst(t, &ns, "obj", count, size, c, false);
        println!("  create {label} x{count} ({c} clients): {rate:.0} writes/s, {:.1} MB/s, {failed} failed{}", rate * size as f64 / 1e6, err.map(|e| format!(" (first: {e})")).unwrap_or_default());
        if failed < count {
            let (rate, failed, err) =
                write_burst(t, &ns, "obj", count.min(count - failed), size, c, true);
            println!("  update (merge patch of the whole object) {label} x{count}: {rate:.0} writes/s, {failed} failed{}", err.map(|e| format!(" (first: {e})")).unwrap_or_default());
        }
        rss(&format!("after {label}"));
    }
    let ns = "list";
    let (rate, failed, err) = write_burst(t, ns, "item", a.list_objects, 10 * 1024, c, false);
    println!(
        "  load {} x 10 KB for LIST: {rate:.0} writes/s, {failed} failed{}",
        a.list_objects,
        err.map(|e| format!(" (first: {e})")).unwrap_or_default()
    );
    let mut full = Vec::new();
    let mut meta = Vec::new();
    let mut items = (0, 0, 0);
    for _ in 0..3 {
        let (s, n, bytes) = timed_list(t, ns, "", None)?;
        full.push(s);
        items.0 = n;
        items.2 = bytes;
        let (s, n, _) = timed_list(
            t,
            ns,
            "",
            Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
        )?;
        meta.push(s);
        items.1 = n;
    }
    full.sort_by(f64::total_cmp);
    meta.sort_by(f64::total_cmp);
    println!("  LIST full: median {:.3} s ({} items, {:.1} MB); metadata (PartialObjectMetadataList): median {:.3} s ({} items)", full[1], items.0, items.2 as f64 / 1e6, meta[1], items.1);
    rss("after LIST");
    match watch_latency(t, "watch", 200) {
        Ok((p50, p99)) => println!("  watch latency (create sent -> event received, 200 creates): median {p50:.2} ms, p99 {p99:.2} ms"),
        Err(e) => println!("  watch latency: failed: {e:#}"),
    }
    println!(
        "  peak RSS: {:.0} MiB (current {:.0} MiB)",
        t.peak_rss_mib(),
        t.pids
            .iter()
            .map(|p| vm_rss_kib(*p).unwrap_or(0) as f64 / 1024.0)
            .sum::<f64>()
    );
    Ok(())
}

fn crd_target(dir: &Path) -> Result<Target> {
    let kubeconfig = dir.join("kubeconfig");
    let token = std::fs::read_to_string(dir.join("admin.token"))
        .context("admin.token of the test cluster")?
        .trim()
        .to_string();
    let env = std::fs::read_to_string(dir.join("env"))?;
    let server = env
        .lines()
        .find_map(|l| l.strip_prefix("export KUBESCAPE_TEST_APISERVER="))
        .map(|s| s.trim_matches('\'').to_string())
        .context("server in env")?;
    let crd = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"vulnerabilitymanifests.bench.kubescape.io"},
      "spec":{"group":"bench.kubescape.io","scope":"Namespaced","names":{"plural":"vulnerabilitymanifests","singular":"vulnerabilitymanifest","kind":"VulnerabilityManifest","listKind":"VulnerabilityManifestList"},
      "versions":[{"name":"v1beta1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}"#;
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(crd.as_bytes())?;
            c.wait_with_output()
        })?;
    if !out.status.success() {
        bail!("could not create the CRD");
    }
    std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "wait",
            "--for=condition=Established",
            "crd/vulnerabilitymanifests.bench.kubescape.io",
            "--timeout=60s",
        ])
        .status()?;
    for ns in ["w10240", "w1048576", "w20971520", "list", "watch"] {
        let _ = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["create", "namespace", ns])
            .output();
    }
    let ca = dir.join("pki/ca.crt");
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_file_iter(&ca)? {
        roots.add(c?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let pids: Vec<u32> = std::fs::read_to_string(dir.join("pids"))?
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter_map(|(_, p)| p.trim().parse().ok())
        .collect();
    Ok(Target {
        name: "kube-apiserver 1.20.2 + etcd 3.4, objects as a CRD (bench.kubescape.io)",
        agent: ureq::AgentBuilder::new()
            .tls_config(Arc::new(config))
            .timeout(Duration::from_secs(120))
            .build(),
        token: Some(token),
        base: format!("{server}/apis/bench.kubescape.io/v1beta1"),
        api_version: "bench.kubescape.io/v1beta1".into(),
        kind: "VulnerabilityManifest".into(),
        pids,
    })
}

fn main() -> Result<()> {
    let a = parse_args()?;
    println!(
        "storage-bench: {} objects for LIST, {} concurrent clients, machine: {} cores",
        a.list_objects,
        a.concurrency,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let dir = tempfile::tempdir()?;
    if a.skip_ours {
        let cluster = a.cluster.as_ref().context("--skip-ours needs --cluster")?;
        return run(&crd_target(cluster)?, &a);
    }
    let server = StorageServer::start(
        &a.kubescape,
        dir.path(),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        &["--write-queue-capacity=4096"],
    );
    let ours = Target {
        name: "kubescape-rs storage (SQLite WAL, synchronous=FULL)",
        agent: server.agent(),
        token: None,
        base: format!(
            "{}/apis/spdx.softwarecomposition.kubescape.io/v1beta1",
            server.url()
        ),
        api_version: "spdx.softwarecomposition.kubescape.io/v1beta1".into(),
        kind: "VulnerabilityManifest".into(),
        pids: server.pid().into_iter().collect(),
    };
    run(&ours, &a)?;
    let db = std::fs::metadata(server.data_dir.join("storage.sqlite"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("  database file: {:.0} MB", db as f64 / 1e6);
    drop(server);
    if let Some(cluster) = &a.cluster {
        let crd = crd_target(cluster)?;
        run(&crd, &a)?;
    }
    Ok(())
}
