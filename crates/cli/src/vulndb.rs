//! `kubescape vulndb`: build, inspect and query the offline vulnerability database.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use kubescape_vulndb::db::SourceInfo;
use kubescape_vulndb::{Database, Package};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct VulndbArgs {
    /// Database file [default: $KUBESCAPE_VULNDB or ~/.cache/kubescape/vulndb.json.gz]
    #[arg(long, global = true, value_name = "FILE")]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub command: VulndbCommand,
}

#[derive(Subcommand)]
pub enum VulndbCommand {
    /// Build the database from record files or directories: OSV (JSON/YAML), Alpine secdb,
    /// Debian security tracker JSON
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Rebuild the database from a listing of record archives served over HTTP(S): JSON
    /// `{"sources":[{"url":"all.zip","sha256":"..."}]}` (URLs may be relative to the listing).
    /// Every download is checked against its checksum before anything is replaced, so a mirror
    /// for air-gapped clusters only needs to serve the same files.
    Update {
        /// Listing URL [env: KUBESCAPE_VULNDB_LISTING]
        #[arg(long, env = "KUBESCAPE_VULNDB_LISTING")]
        listing: Option<String>,
    },
    /// Show what the database holds and when it was built
    Status {
        /// Fail when the database is older than this many hours
        #[arg(long)]
        max_age_hours: Option<u64>,
    },
    /// The vulnerabilities of one package version
    Query {
        /// OSV ecosystem (PyPI, Go, npm, crates.io, Alpine:v3.19, Debian:12, ...)
        ecosystem: String,
        name: String,
        version: String,
    },
    /// Write every record as JSON lines to stdout
    Export,
}

/// The database file: the explicit one, else $KUBESCAPE_VULNDB, else the user's cache.
pub fn db_path(explicit: Option<&PathBuf>) -> PathBuf {
    explicit
        .cloned()
        .or_else(|| std::env::var_os("KUBESCAPE_VULNDB").map(PathBuf::from))
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".cache/kubescape/vulndb.json.gz")
        })
}

pub fn run(a: VulndbArgs) -> Result<ExitCode> {
    let path = db_path(a.db.as_ref());
    match &a.command {
        VulndbCommand::Import { paths } => {
            let started = std::time::Instant::now();
            let mut all = Vec::new();
            let mut sources = Vec::new();
            for p in paths {
                let imported = kubescape_vulndb::import::import_path(p)?;
                for problem in imported.problems.iter().take(20) {
                    eprintln!("warning: {problem}");
                }
                if imported.advisories.is_empty() {
                    bail!("{} holds no vulnerability records (OSV JSON/YAML, Alpine secdb or Debian tracker JSON)", p.display());
                }
                eprintln!(
                    "{}: {} records ({} other files skipped)",
                    p.display(),
                    imported.advisories.len(),
                    imported.skipped_files
                );
                sources.push(SourceInfo {
                    location: p.display().to_string(),
                    records: imported.advisories.len(),
                });
                all.extend(imported.advisories);
            }
            let db = Database::new(all, sources);
            db.save(&path)?;
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            eprintln!(
                "wrote {} ({} records, {:.1} MB) in {:.1} s",
                path.display(),
                db.metadata.records,
                size as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        VulndbCommand::Update { listing } => {
            let listing = listing
                .as_deref()
                .context("no listing URL: pass --listing URL or set KUBESCAPE_VULNDB_LISTING")?;
            let started = std::time::Instant::now();
            let db = update_database(&path, listing)?;
            for source in &db.metadata.sources {
                eprintln!("{}: {} records", source.location, source.records);
            }
            eprintln!(
                "updated {} from {listing}: {} records in {:.1} s",
                path.display(),
                db.metadata.records,
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        VulndbCommand::Status { max_age_hours } => {
            let db = Database::load(
                &path,
                max_age_hours.map(|h| std::time::Duration::from_secs(h * 3600)),
            )?;
            println!("database: {}", path.display());
            println!("schema:   {}", db.metadata.schema_version);
            println!("built:    {}", db.metadata.built);
            println!("records:  {}", db.metadata.records);
            for s in &db.metadata.sources {
                println!("  {:>8}  {}", s.records, s.location);
            }
            Ok(ExitCode::SUCCESS)
        }
        VulndbCommand::Query {
            ecosystem,
            name,
            version,
        } => {
            if let Err(e) = ecosystem.parse::<kubescape_vulndb::version::Ecosystem>() {
                bail!("{e}");
            }
            let db = Database::load(&path, None)?;
            let findings = db.matches(&Package {
                ecosystem: ecosystem.clone(),
                name: name.clone(),
                version: version.clone(),
                source_name: None,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&findings).context("serialising findings")?
            );
            Ok(if findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        VulndbCommand::Export => {
            let db = Database::load(&path, None)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            kubescape_vulndb::db::export_jsonl(&db, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn resolve(base: &str, url: &str) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    match base.rfind('/') {
        Some(i) => format!("{}/{}", &base[..i], url.trim_start_matches('/')),
        None => url.to_string(),
    }
}

/// Rebuilds the database at `path` from the record archives a listing names (each checked
/// against its sha256). Nothing is replaced unless every archive downloads and verifies.
pub fn update_database(path: &std::path::Path, listing_url: &str) -> Result<Database> {
    use sha2::Digest;
    let started = std::time::Instant::now();
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(600))
        .build();
    let listing: serde_json::Value = agent
        .get(listing_url)
        .call()
        .with_context(|| format!("cannot fetch the listing {listing_url}"))?
        .into_string()
        .map_err(anyhow::Error::from)
        .and_then(|t| serde_json::from_str(&t).map_err(anyhow::Error::from))
        .with_context(|| format!("the listing {listing_url} is not JSON of the form {{\"sources\":[{{\"url\",\"sha256\"}}]}}"))?;
    let sources = listing["sources"]
        .as_array()
        .filter(|s| !s.is_empty())
        .with_context(|| format!("the listing {listing_url} names no sources"))?;
    let dir = tempfile::tempdir()?;
    let mut all = Vec::new();
    let mut infos = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let url = resolve(
            listing_url,
            source["url"]
                .as_str()
                .with_context(|| format!("source {i} of the listing has no url"))?,
        );
        let want = source["sha256"]
            .as_str()
            .with_context(|| format!("{url}: the listing gives no sha256"))?
            .to_ascii_lowercase();
        let name = url
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or("records.json")
            .to_string();
        let file = dir.path().join(format!("{i}-{name}"));
        let mut reader = agent
            .get(&url)
            .call()
            .with_context(|| format!("cannot download {url}"))?
            .into_reader();
        let mut out = std::fs::File::create(&file)?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = std::io::Read::read(&mut reader, &mut buf)
                .with_context(|| format!("download of {url} broke off"))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            std::io::Write::write_all(&mut out, &buf[..n])?;
        }
        let got: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if got != want {
            bail!("{url}: checksum mismatch (listing says sha256 {want}, downloaded {got}); the database was not changed");
        }
        let imported = kubescape_vulndb::import::import_path(&file)?;
        tracing::info!(source = %url, records = imported.advisories.len(), "records imported");
        infos.push(SourceInfo {
            location: url,
            records: imported.advisories.len(),
        });
        all.extend(imported.advisories);
    }
    let db = Database::new(all, infos);
    db.save(path)?;
    tracing::info!(
        db = %path.display(),
        listing = listing_url,
        records = db.metadata.records,
        seconds = started.elapsed().as_secs_f64(),
        "vulnerability database updated"
    );
    Ok(db)
}
