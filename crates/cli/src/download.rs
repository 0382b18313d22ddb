//! `kubescape download`: fetch control-library release artifacts for offline use, and
//! `kubescape library export`: write the built-in library in that same artifact format.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};

/// Where upstream publishes its control-library release artifacts.
pub const DEFAULT_ARTIFACTS_URL: &str =
    "https://github.com/kubescape/regolibrary/releases/latest/download";

/// The largest artifact accepted (the upstream all-frameworks file is a few MB).
const MAX_ARTIFACT_BYTES: u64 = 256 << 20;

#[derive(Args)]
pub struct DownloadArgs {
    #[arg(value_enum)]
    pub what: DownloadWhat,
    /// Framework name (for `framework`)
    pub name: Option<String>,
    /// Output directory (default ~/.kubescape)
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Base URL of the release artifacts (an air-gapped mirror works too)
    #[arg(long, env = "KUBESCAPE_ARTIFACTS_URL", default_value = DEFAULT_ARTIFACTS_URL)]
    pub base_url: String,
}

#[derive(ValueEnum, Clone, Copy)]
pub enum DownloadWhat {
    /// Everything needed for offline scans: frameworks, controls, rules, inputs, exceptions, attack tracks
    Artifacts,
    /// One framework with its controls and rules embedded
    Framework,
    /// Default control configuration inputs
    ControlsInputs,
    /// System exceptions
    Exceptions,
    /// Attack tracks
    AttackTracks,
}

#[derive(Subcommand)]
pub enum LibraryCommand {
    /// Write the built-in control library as release artifacts (servable as a download mirror)
    Export {
        /// Output directory
        dir: PathBuf,
    },
}

pub fn download(a: DownloadArgs) -> Result<ExitCode> {
    let names: Vec<String> = match a.what {
        DownloadWhat::Artifacts => ["frameworks", "controls", "rules", "default_config_inputs", "exceptions", "attack_tracks"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        DownloadWhat::Framework => match &a.name {
            Some(n) => vec![n.to_lowercase()],
            None => bail!("`kubescape download framework` needs a framework name, e.g. `kubescape download framework nsa`"),
        },
        DownloadWhat::ControlsInputs => vec!["default_config_inputs".into()],
        DownloadWhat::Exceptions => vec!["exceptions".into()],
        DownloadWhat::AttackTracks => vec!["attack_tracks".into()],
    };
    let dir = match &a.output {
        Some(d) => d.clone(),
        None => home_dir()?.join(".kubescape"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(60))
        .build();
    for name in names {
        let body = fetch(&agent, &a.base_url, &name)?;
        let target = dir.join(format!("{name}.json"));
        write_atomically(&target, &body)?;
        eprintln!("downloaded {name} -> {}", target.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn home_dir() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .context("HOME is not set; pass --output DIR")
}

/// Upstream artifacts have no extension; mirrors made with `library export` have `.json`.
fn fetch(agent: &ureq::Agent, base: &str, name: &str) -> Result<Vec<u8>> {
    let base = base.trim_end_matches('/');
    let mut last_err = String::new();
    for url in [format!("{base}/{name}"), format!("{base}/{name}.json")] {
        match agent.get(&url).call() {
            Ok(resp) => {
                let mut body = Vec::new();
                resp.into_reader()
                    .take(MAX_ARTIFACT_BYTES + 1)
                    .read_to_end(&mut body)
                    .with_context(|| format!("reading {url}"))?;
                if body.len() as u64 > MAX_ARTIFACT_BYTES {
                    bail!(
                        "{url}: larger than {} MiB; refusing",
                        MAX_ARTIFACT_BYTES >> 20
                    );
                }
                serde_json::from_slice::<serde_json::Value>(&body)
                    .with_context(|| format!("{url} did not return JSON (is --base-url right?)"))?;
                return Ok(body);
            }
            Err(ureq::Error::Status(404, _)) => last_err = format!("{url}: 404 Not Found"),
            Err(e) => bail!("cannot download {url}: {e}"),
        }
    }
    bail!("artifact {name:?} not found at {base} ({last_err})")
}

fn write_atomically(target: &Path, body: &[u8]) -> Result<()> {
    let tmp = target.with_extension("json.partial");
    std::fs::write(&tmp, body).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, target).with_context(|| format!("cannot write {}", target.display()))?;
    Ok(())
}

pub fn library(cmd: LibraryCommand) -> Result<ExitCode> {
    match cmd {
        LibraryCommand::Export { dir } => {
            let lib = crate::libsource::builtin()?;
            let files = kubescape_posture::library::export_artifacts(&lib, &dir)?;
            eprintln!("wrote {} artifact files to {}", files.len(), dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
