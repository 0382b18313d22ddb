//! role-bench: the memory of each in-cluster role while the platform works on a loaded cluster.
//!
//! Runs the roles as processes the way the chart does, against the test cluster of
//! `KUBESCAPE_TEST_ENV_DIR` (load it first, e.g. with `posture-bench --cluster`): storage behind
//! kube-apiserver as an APIService (veth pair, needs root), the posture service, kubevuln and the
//! operator. The operator's start-up posture scan (allcontrols, nsa, mitre over the whole cluster)
//! runs and is published to storage; then kubevuln scans one image. The resident memory of each
//! role's process tree (the posture service's scans run as child processes) is sampled every
//! 100 ms; the peak is what a container limit has to cover.
//!
//! ```text
//! role-bench --kubescape target/release/kubescape --image oci-dir:DIR:TAG --vulndata DIR...
//! ```

use anyhow::{bail, Context, Result};
use kubescape_testenv::storage::{free_port, StorageServer};
use kubescape_testenv::TestCluster;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    kubescape: PathBuf,
    image: String,
    vulndata: Vec<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        kubescape: PathBuf::from("target/release/kubescape"),
        image: String::new(),
        vulndata: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--kubescape" => a.kubescape = PathBuf::from(val()?),
            "--image" => a.image = val()?,
            "--vulndata" => a.vulndata.push(PathBuf::from(val()?)),
            other => bail!("unknown flag {other}; see the module documentation"),
        }
    }
    if a.image.is_empty() || a.vulndata.is_empty() {
        bail!("--image REF and at least one --vulndata DIR are required");
    }
    Ok(a)
}

/// A role's name, peak resident bytes and resident bytes at the end (after the work).
type Peak = (&'static str, u64, u64);

/// A role process, killed on drop.
struct Role {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Role {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn start(
    name: &'static str,
    bin: &Path,
    dir: &Path,
    kubeconfig: &Path,
    args: &[String],
) -> Result<Role> {
    let log = dir.join(format!("{name}.log"));
    let child = Command::new(bin)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("KUBESCAPE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    Ok(Role { name, child, log })
}

/// Resident bytes of `root` and all its descendants (what the container's cgroup is charged).
fn tree_rss(root: u32, page: u64) -> u64 {
    let mut parent: HashMap<u32, u32> = HashMap::new();
    let mut rss: HashMap<u32, u64> = HashMap::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may hold spaces; the fields after its closing parenthesis do not.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(ppid), Some(pages)) = (
            fields.get(1).and_then(|p| p.parse::<u32>().ok()),
            fields.get(21).and_then(|p| p.parse::<u64>().ok()),
        ) else {
            continue;
        };
        parent.insert(pid, ppid);
        rss.insert(pid, pages * page);
    }
    let in_tree = |mut pid: u32| {
        for _ in 0..64 {
            if pid == root {
                return true;
            }
            match parent.get(&pid) {
                Some(&p) if p > 1 => pid = p,
                _ => return false,
            }
        }
        false
    };
    rss.iter()
        .filter(|(pid, _)| in_tree(**pid))
        .map(|(_, b)| *b)
        .sum()
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

fn main() -> Result<()> {
    let a = parse_args()?;
    let bin = std::fs::canonicalize(&a.kubescape)
        .with_context(|| format!("--kubescape {}", a.kubescape.display()))?;
    let cluster = TestCluster::try_get().map_err(anyhow::Error::msg)?;
    let dir = tempfile::tempdir()?;
    let (_veth, host) = kubescape_testenv::aggregated::Veth::create(std::process::id() % 10_000)
        .map_err(|e| anyhow::anyhow!("a veth pair is needed (root, iproute2): {e}"))?;
    let ns = cluster.unique_namespace("role-bench");
    let storage = StorageServer::start_with_names(
        &bin,
        &dir.path().join("storage"),
        IpAddr::V4(host),
        &[&format!("storage.{ns}.svc")],
        &[
            "--authorization-mode=Delegated",
            &format!(
                "--authentication-kubeconfig={}",
                cluster.kubeconfig().display()
            ),
        ],
    );
    let _registration = kubescape_testenv::aggregated::register(cluster, &storage, &ns);

    let db = dir.path().join("vulndb.json.gz");
    let mut import = Command::new(&bin);
    import
        .args(["vulndb", "--db"])
        .arg(&db)
        .arg("import")
        .args(&a.vulndata);
    let out = import.output()?;
    if !out.status.success() {
        bail!("vulndb import: {}", String::from_utf8_lossy(&out.stderr));
    }
    let token = dir.path().join("token");
    std::fs::write(&token, cluster.admin_token())?;
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (kubescape_port, kubevuln_port, operator_port) =
        (free_port(local), free_port(local), free_port(local));
    let kubeconfig = cluster.kubeconfig();
    let s = |v: &str| v.to_string();

    let samples: Arc<Mutex<Vec<Peak>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let posture = start(
        "kubescape",
        &bin,
        dir.path(),
        kubeconfig,
        &[
            s("serve"),
            s("kubescape"),
            s("--bind-address=127.0.0.1"),
            format!("--port={kubescape_port}"),
            format!("--namespace={ns}"),
            format!("--results-dir={}", dir.path().join("results").display()),
        ],
    )?;
    let kubevuln = start(
        "kubevuln",
        &bin,
        dir.path(),
        kubeconfig,
        &[
            s("serve"),
            s("kubevuln"),
            s("--bind-address=127.0.0.1"),
            format!("--port={kubevuln_port}"),
            format!("--namespace={ns}"),
            s("--allowed-users=admin"),
            format!("--db={}", db.display()),
        ],
    )?;
    let started = Instant::now();
    let operator = start(
        "operator",
        &bin,
        dir.path(),
        kubeconfig,
        &[
            s("serve"),
            s("operator"),
            s("--bind-address=127.0.0.1"),
            format!("--port={operator_port}"),
            format!("--namespace={ns}"),
            s("--allowed-users=admin"),
            format!("--kubescape-url=http://127.0.0.1:{kubescape_port}"),
            format!("--kubevuln-url=http://127.0.0.1:{kubevuln_port}"),
            format!("--token-file={}", token.display()),
        ],
    )?;
    let roles: Vec<(&'static str, u32)> = vec![
        ("storage", storage.pid().context("storage pid")?),
        (posture.name, posture.child.id()),
        (kubevuln.name, kubevuln.child.id()),
        (operator.name, operator.child.id()),
    ];
    let sampler = {
        let (samples, stop, roles) = (samples.clone(), stop.clone(), roles.clone());
        std::thread::spawn(move || {
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
            let mut peaks: HashMap<&'static str, u64> = HashMap::new();
            let mut last: HashMap<&'static str, u64> = HashMap::new();
            while !stop.load(Ordering::Relaxed) {
                for (name, pid) in &roles {
                    let rss = tree_rss(*pid, page);
                    let p = peaks.entry(name).or_default();
                    *p = (*p).max(rss);
                    last.insert(name, rss);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let mut s = samples.lock().expect("samples");
            for (name, _) in &roles {
                s.push((
                    name,
                    peaks.get(name).copied().unwrap_or(0),
                    last.get(name).copied().unwrap_or(0),
                ));
            }
        })
    };

    // The operator's start-up scan of the whole cluster, published to storage.
    wait_until(
        "the start-up posture scan",
        Duration::from_secs(1800),
        || {
            posture.log_text().contains("scan finished")
                || posture.log_text().contains("scan failed")
        },
    )?;
    let posture_done = started.elapsed();
    let line = posture
        .log_text()
        .lines()
        .find(|l| l.contains("scan finished") || l.contains("scan failed"))
        .unwrap_or_default()
        .to_string();
    let published = serde_json::from_str::<serde_json::Value>(&line)
        .ok()
        .and_then(|v| v["published"].as_u64())
        .unwrap_or(0);
    if line.contains("scan failed") {
        bail!("the posture scan failed: {line}");
    }

    // kubevuln: one image, SBOM + matching + four objects written.
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    wait_until("kubevuln readiness", Duration::from_secs(120), || {
        agent
            .get(&format!("http://127.0.0.1:{kubevuln_port}/v1/readiness"))
            .call()
            .is_ok()
    })?;
    let image_started = Instant::now();
    agent
        .post(&format!("http://127.0.0.1:{kubevuln_port}/v1/scanImage"))
        .set("Authorization", &format!("Bearer {}", cluster.admin_token()))
        .send_string(&serde_json::json!({"imageTag": a.image, "jobID": "bench-image", "wlid": format!("wlid://cluster-bench/namespace-{ns}/deployment-bench")}).to_string())
        .context("scanImage")?;
    let mut detail = String::new();
    wait_until("the image scan", Duration::from_secs(900), || {
        let Ok(r) = agent
            .get(&format!(
                "http://127.0.0.1:{kubevuln_port}/v1/scanStatus/bench-image"
            ))
            .set(
                "Authorization",
                &format!("Bearer {}", cluster.admin_token()),
            )
            .call()
        else {
            return false;
        };
        let v: serde_json::Value = serde_json::from_reader(r.into_reader()).unwrap_or_default();
        detail = v["detail"].as_str().unwrap_or_default().to_string();
        matches!(v["status"].as_str(), Some("done" | "failed"))
    })?;
    let image_done = image_started.elapsed();
    // Settle, so the last sample shows what each role keeps once its work is done.
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");

    let workloads = cluster
        .kubectl_ok(&[
            "get",
            "workloadconfigurationscansummaries",
            "-A",
            "--no-headers",
        ])
        .lines()
        .count();
    println!("posture: start-up scan of the cluster and publication {:.1} s ({published} workloads published, {workloads} summaries listed through kube-apiserver)", posture_done.as_secs_f64());
    println!(
        "kubevuln: {} in {:.1} s: {detail}",
        a.image,
        image_done.as_secs_f64()
    );
    println!("| role | peak RSS of the process tree (MiB) | RSS after the work (MiB) |");
    println!("|---|---:|---:|");
    for (name, peak, last) in samples.lock().expect("samples").iter() {
        println!("| {name} | {:.0} | {:.0} |", mib(*peak), mib(*last));
    }
    drop(operator);
    drop(kubevuln);
    drop(posture);
    Ok(())
}
