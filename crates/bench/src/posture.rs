//! Posture scan benchmark: generates N Kubernetes objects (fixed seed), scans them with our
//! `kubescape` (all built-in controls) and with `trivy config`, and prints median wall time,
//! peak RSS and the ratios, as Markdown rows for docs/benchmarks.md.
//!
//! usage: posture-bench --kubescape PATH [--trivy PATH] [--objects 1000,10000] [--runs 3] [--keep DIR]
//!        [--cluster KUBECONFIG]   (load the objects into that cluster step by step and scan the cluster)

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

struct Args {
    kubescape: PathBuf,
    trivy: Option<PathBuf>,
    objects: Vec<usize>,
    runs: usize,
    keep: Option<PathBuf>,
    cluster: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        kubescape: PathBuf::new(),
        trivy: None,
        objects: vec![1000, 10000],
        runs: 3,
        keep: None,
        cluster: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--kubescape" => a.kubescape = PathBuf::from(val()?),
            "--trivy" => a.trivy = Some(PathBuf::from(val()?)),
            "--objects" => {
                a.objects = val()?
                    .split(',')
                    .map(|s| s.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--runs" => a.runs = val()?.parse()?,
            "--keep" => a.keep = Some(PathBuf::from(val()?)),
            "--cluster" => a.cluster = Some(PathBuf::from(val()?)),
            other => bail!("unknown flag {other}; see the header of crates/bench/src/posture.rs"),
        }
    }
    if a.kubescape.as_os_str().is_empty() {
        bail!("--kubescape PATH is required (build with `cargo build --release`)");
    }
    Ok(a)
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// CronJob's API version: batch/v1, or batch/v1beta1 for clusters older than 1.21.
static CRONJOB_API: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

fn workload(r: &mut Rng, i: usize, ns: &str) -> String {
    let kind = r.pick(&[
        "Deployment",
        "Deployment",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "CronJob",
        "Job",
    ]);
    let image = r.pick(&[
        "nginx:1.25",
        "nginx:latest",
        "registry.example.com/app/api:2.3.1",
        "redis",
        "postgres:16",
        "busybox:1.36",
    ]);
    // The pod spec at column 0; containers' fields at column 2.
    let mut pod =
        format!("containers:\n- name: main\n  image: {image}\n  ports:\n  - containerPort: 8080\n");
    if r.chance(50) {
        pod.push_str("  securityContext:\n");
        let privileged = r.chance(10);
        let _ = writeln!(pod, "    privileged: {privileged}");
        // The API server rejects privileged containers that forbid escalation.
        let _ = writeln!(
            pod,
            "    allowPrivilegeEscalation: {}",
            privileged || r.chance(30)
        );
        let _ = writeln!(pod, "    readOnlyRootFilesystem: {}", r.chance(60));
        if r.chance(60) {
            pod.push_str("    runAsNonRoot: true\n    runAsUser: 1000\n");
        }
        if r.chance(40) {
            pod.push_str("    capabilities:\n      drop: [\"ALL\"]\n");
        } else if r.chance(20) {
            pod.push_str("    capabilities:\n      add: [\"NET_ADMIN\"]\n");
        }
    }
    if r.chance(60) {
        pod.push_str("  resources:\n    limits: {cpu: 500m, memory: 256Mi}\n    requests: {cpu: 100m, memory: 128Mi}\n");
    }
    if r.chance(50) {
        pod.push_str("  livenessProbe:\n    httpGet: {path: /healthz, port: 8080}\n  readinessProbe:\n    httpGet: {path: /ready, port: 8080}\n");
    }
    if r.chance(15) {
        pod.push_str("  env:\n  - name: DB_PASSWORD\n    value: hunter2\n");
    }
    if r.chance(10) {
        pod.push_str("  volumeMounts:\n  - {name: host, mountPath: /host}\nvolumes:\n- name: host\n  hostPath: {path: /var/log}\n");
    }
    if r.chance(8) {
        pod.push_str("hostNetwork: true\n");
    }
    let (api, spec) = match kind {
        "CronJob" => (
            CRONJOB_API.get().copied().unwrap_or("batch/v1"),
            format!("  schedule: \"*/30 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n{}", indent(&pod, 10)),
        ),
        "Job" => ("batch/v1", format!("  template:\n    spec:\n      restartPolicy: Never\n{}", indent(&pod, 6))),
        _ => {
            let mut replicas = if kind == "DaemonSet" { String::new() } else { format!("  replicas: {}\n", 1 + r.next() % 4) };
            if kind == "StatefulSet" {
                replicas.push_str(&format!("  serviceName: w{i}\n"));
            }
            (
                "apps/v1",
                format!("{replicas}  selector:\n    matchLabels: {{app: w{i}}}\n  template:\n    metadata:\n      labels: {{app: w{i}}}\n    spec:\n{}", indent(&pod, 6)),
            )
        }
    };
    format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: w{i}\n  namespace: {ns}\n  labels: {{app: w{i}, team: t{}}}\nspec:\n{spec}", i % 7)
}

fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines().map(|l| format!("{pad}{l}\n")).collect()
}

fn other(r: &mut Rng, i: usize, ns: &str) -> String {
    match r.next() % 6 {
        0 => format!("apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: {ns}}}\nspec:\n  type: {}\n  selector: {{app: w{i}}}\n  ports:\n  - port: 80\n    targetPort: 8080\n", r.pick(&["ClusterIP", "ClusterIP", "NodePort", "LoadBalancer"])),
        1 => format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, namespace: {ns}}}\ndata:\n  LOG_LEVEL: info\n  {}: value{i}\n", r.pick(&["endpoint", "api_key", "feature"])),
        2 => format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: r{i}, namespace: {ns}}}\nrules:\n- apiGroups: [\"\"]\n  resources: [{}]\n  verbs: [{}]\n", r.pick(&["\"pods\"", "\"secrets\"", "\"configmaps\"", "\"*\""]), r.pick(&["\"get\", \"list\"", "\"*\"", "\"delete\"", "\"create\""])),
        3 => format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: rb{i}, namespace: {ns}}}\nsubjects:\n- kind: ServiceAccount\n  name: sa{i}\n  namespace: {ns}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: r{}\n", i.saturating_sub(1)),
        4 => format!("apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: sa{i}, namespace: {ns}}}\n"),
        _ => format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np{i}, namespace: {ns}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n"),
    }
}

/// Writes `n` objects (60% workloads) into files of 100 documents.
fn generate(dir: &Path, n: usize) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut r = Rng(0x9E3779B97F4A7C15);
    let mut docs = Vec::with_capacity(100);
    for i in 0..n {
        let ns = format!("ns{}", i % 20);
        docs.push(if r.chance(60) {
            workload(&mut r, i, &ns)
        } else {
            other(&mut r, i, &ns)
        });
        if docs.len() == 100 || i + 1 == n {
            std::fs::write(
                dir.join(format!("objects-{:05}.yaml", i / 100)),
                docs.join("---\n"),
            )?;
            docs.clear();
        }
    }
    Ok(())
}

struct Measure {
    seconds: f64,
    peak_rss_mib: f64,
    status: i32,
}

/// Runs a command to completion; wall time and the child's peak RSS (from wait4's rusage).
fn measure(cmd: &mut Command) -> Result<Measure> {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid pointers; the Child handle is not waited on again.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = start.elapsed().as_secs_f64();
    if r < 0 {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    std::mem::forget(child);
    Ok(Measure {
        seconds,
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
        status: code,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn run_tool(name: &str, runs: usize, mut make: impl FnMut() -> Command) -> Result<(f64, f64)> {
    let mut times = vec![];
    let mut rss = vec![];
    for _ in 0..runs {
        let m = measure(&mut make())?;
        if m.status != 0 && m.status != 1 {
            bail!("{name} exited with {}", m.status);
        }
        times.push(m.seconds);
        rss.push(m.peak_rss_mib);
    }
    Ok((median(times), median(rss)))
}

/// The generated manifests must all parse, or the figures would measure skipped documents.
fn check_input(kubescape: &Path, dir: &Path, n: usize) -> Result<()> {
    let out = Command::new(kubescape)
        .args(["scan", "control", "C-0057"])
        .arg(dir)
        .args(["--format", "json"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("warning:") {
        bail!(
            "generated input for {n} objects has invalid documents:\n{}",
            stderr.lines().take(5).collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let a = parse_args()?;
    if let Some(kubeconfig) = a.cluster.clone() {
        return cluster_bench(&a, &kubeconfig);
    }
    let base = match &a.keep {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("posture-bench-{}", std::process::id())),
    };
    let controls = {
        let out = Command::new(&a.kubescape)
            .args(["list", "controls", "--json"])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.matches("\"controlID\"").count()
    };
    println!(
        "| objects | tool | median wall (s) | median peak RSS (MiB) | resources x controls / s |"
    );
    println!("|---:|---|---:|---:|---:|");
    for &n in &a.objects {
        let dir = base.join(format!("n{n}"));
        generate(&dir, n)?;
        let report = base.join(format!("report-{n}.json"));
        check_input(&a.kubescape, &dir, n)?;
        let (ks_t, ks_m) = run_tool("kubescape", a.runs, || {
            let mut c = Command::new(&a.kubescape);
            c.args(["scan", "framework", "allcontrols"])
                .arg(&dir)
                .args(["--format", "json", "--output"])
                .arg(&report);
            c
        })?;
        println!(
            "| {n} | kubescape-rs | {ks_t:.2} | {ks_m:.0} | {:.0} |",
            (n * controls) as f64 / ks_t
        );
        if let Some(trivy) = &a.trivy {
            let cache = base.join("trivy-cache");
            let (tr_t, tr_m) = run_tool("trivy", a.runs, || {
                let mut c = Command::new(trivy);
                c.args(["config", "--skip-check-update", "--quiet", "--cache-dir"])
                    .arg(&cache)
                    .args(["--format", "json", "--output"])
                    .arg(base.join("trivy.json"))
                    .arg(&dir);
                c
            })?;
            println!("| {n} | trivy 0.59.1 config | {tr_t:.2} | {tr_m:.0} | - |");
            println!(
                "| {n} | ratio trivy / ours | {:.1}x | {:.1}x | |",
                tr_t / ks_t,
                tr_m / ks_m
            );
        }
    }
    if a.keep.is_none() {
        let _ = std::fs::remove_dir_all(&base);
    }
    Ok(())
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> Result<std::process::Output> {
    Ok(Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .output()?)
}

/// Loads the generated objects into a cluster in steps and scans the whole cluster after each.
fn cluster_bench(a: &Args, kubeconfig: &Path) -> Result<()> {
    let served = kubectl(
        kubeconfig,
        &["api-resources", "--api-group=batch", "-o", "wide"],
    )?;
    if !String::from_utf8_lossy(&served.stdout)
        .lines()
        .any(|l| l.starts_with("cronjobs") && l.contains("batch/v1 "))
    {
        let _ = CRONJOB_API.set("batch/v1beta1");
    }
    let max = *a.objects.iter().max().unwrap_or(&10000);
    let base = a.keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("cluster-bench-{}", std::process::id()))
    });
    let dir = base.join(format!("cluster-n{max}"));
    generate(&dir, max)?;
    for i in 0..20 {
        let _ = kubectl(kubeconfig, &["create", "namespace", &format!("ns{i}")])?;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    println!("| objects loaded | tool | median wall (s) | median peak RSS (MiB) |");
    println!("|---:|---|---:|---:|");
    let mut loaded = 0usize;
    let mut steps = a.objects.clone();
    steps.sort();
    for n in steps {
        let wanted_files = n.div_ceil(100);
        while loaded < wanted_files {
            let chunk: Vec<&PathBuf> = files[loaded..wanted_files.min(loaded + 10)]
                .iter()
                .collect();
            let mut args: Vec<String> = vec!["create".into()];
            for f in &chunk {
                args.push("-f".into());
                args.push(f.display().to_string());
            }
            let out = kubectl(
                kubeconfig,
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            )?;
            if !out.status.success()
                && !String::from_utf8_lossy(&out.stderr).contains("AlreadyExists")
            {
                let err = String::from_utf8_lossy(&out.stderr);
                bail!(
                    "kubectl create failed: {}",
                    err.lines().take(3).collect::<Vec<_>>().join("\n")
                );
            }
            loaded += chunk.len();
        }
        let report = base.join(format!("cluster-report-{n}.json"));
        let (t, m) = run_tool("kubescape", a.runs, || {
            let mut c = Command::new(&a.kubescape);
            c.env("KUBECONFIG", kubeconfig)
                .args([
                    "scan",
                    "framework",
                    "allcontrols",
                    "--format",
                    "json",
                    "--output",
                ])
                .arg(&report);
            c
        })?;
        println!("| {n} | kubescape-rs (all controls) | {t:.2} | {m:.0} |");
        if let Some(trivy) = &a.trivy {
            let cache = base.join("trivy-cache");
            let (tt, tm) = run_tool("trivy", a.runs, || {
                let mut c = Command::new(trivy);
                c.env("KUBECONFIG", kubeconfig)
                    .args([
                        "k8s",
                        "--scanners",
                        "misconfig",
                        "--skip-check-update",
                        "--skip-db-update",
                        "--disable-node-collector",
                        "--report",
                        "summary",
                        "--format",
                        "json",
                        "--cache-dir",
                    ])
                    .arg(&cache)
                    .arg("--output")
                    .arg(base.join("trivy-k8s.json"));
                c
            })?;
            println!("| {n} | trivy 0.59.1 k8s --scanners misconfig | {tt:.2} | {tm:.0} |");
            println!(
                "| {n} | ratio trivy / ours | {:.1}x | {:.1}x |",
                tt / t,
                tm / m
            );
        }
    }
    Ok(())
}
