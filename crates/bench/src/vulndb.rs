//! `vulndb-bench`: import of every record in reference/vulndata (time, on-disk size), database
//! load time, and matching of a fixed 500-package inventory (median of 25 runs).
//!
//! ```sh
//! target/release/vulndb-bench ../shared/reference/vulndata
//! ```

use anyhow::{Context, Result};
use kubescape_vulndb::import::import_path;
use kubescape_vulndb::{Database, Package};
use std::time::Instant;

fn vm_hwm_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("VmHWM:")).map(|v| {
                v.trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse::<f64>()
                    .unwrap_or(0.0)
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn main() -> Result<()> {
    let root = std::env::args()
        .nth(1)
        .context("usage: vulndb-bench <vulndata dir>")?;
    let started = Instant::now();
    let mut all = Vec::new();
    for source in ["pypa-osv", "go-osv", "alpine-secdb"] {
        all.extend(import_path(&std::path::Path::new(&root).join(source))?.advisories);
    }
    let imported = started.elapsed().as_secs_f64();
    let db = Database::new(all, vec![]);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("vulndb.json.gz");
    let t = Instant::now();
    db.save(&path)?;
    let saved = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path)?.len();
    drop(db);
    let t = Instant::now();
    let db = Database::load(&path, None)?;
    let loaded = t.elapsed().as_secs_f64();

    // A fixed inventory of 500 packages: every PyPI/Go/Alpine package the records name, in
    // record order, at the first version the records mention for it (so that most match).
    let mut packages: Vec<Package> = Vec::new();
    for a in db.advisories() {
        for aff in &a.affected {
            if packages.len() >= 500
                || packages
                    .iter()
                    .any(|p| p.ecosystem == aff.ecosystem && p.name == aff.package)
            {
                continue;
            }
            let version = aff.versions.first().cloned().or_else(|| {
                aff.ranges
                    .iter()
                    .flat_map(|r| r.events.iter())
                    .map(|e| e.version().to_string())
                    .find(|v| v != "0")
            });
            let Some(mut version) = version else { continue };
            if aff.ecosystem == "Go" {
                version = format!("v{version}");
            }
            packages.push(Package {
                ecosystem: aff.ecosystem.clone(),
                name: aff.package.clone(),
                version,
                source_name: None,
            });
        }
    }
    let mut times = Vec::new();
    let mut findings = 0;
    for _ in 0..25 {
        let t = Instant::now();
        findings = packages.iter().map(|p| db.matches(p).len()).sum::<usize>();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!("records: {}", db.advisories().len());
    println!("import (parse all files): {imported:.2} s; save: {saved:.2} s; on disk: {:.2} MB (gzip JSON)", size as f64 / 1e6);
    println!("load + index: {loaded:.2} s");
    println!(
        "match {} packages: median {:.2} ms, max {:.2} ms, {findings} findings",
        packages.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    );
    println!("peak RSS of this process: {:.0} MiB", vm_hwm_mib());
    Ok(())
}
