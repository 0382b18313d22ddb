//! `kubescape sbom IMAGE`: catalog the packages of an image and write an SBOM.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use kubescape_image::{Credentials, Image, OpenOptions, Platform, RegistryOptions};
use kubescape_sbom::format::Format;

#[derive(Args)]
pub struct SbomArgs {
    #[command(flatten)]
    pub source: ImageSource,
    /// Output format: spdx-json, cyclonedx-json or syft-json
    #[arg(long, short = 'f', default_value = "syft-json")]
    pub format: Format,
    /// Write the SBOM to this file instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Which image, and how to reach it (shared by `sbom` and `scan image`).
#[derive(Args)]
pub struct ImageSource {
    /// The image: a registry reference (registry/repo:tag, repo@sha256:...), or
    /// docker-archive:FILE, oci-archive:FILE[:REF], oci-dir:DIR[:REF], dir:DIR, or a path (detected)
    pub image: String,
    /// Registry user name (else Docker's config.json, else anonymous)
    #[arg(long, env = "KUBESCAPE_REGISTRY_USERNAME")]
    pub username: Option<String>,
    /// Registry password or token
    #[arg(long, env = "KUBESCAPE_REGISTRY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Docker config file with registry credentials (default ~/.docker/config.json)
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,
    /// Accept any TLS certificate and fall back to plain HTTP (local or self-signed registries)
    #[arg(long)]
    pub insecure: bool,
    /// Platform to pick from a multi-platform image (os/arch[/variant])
    #[arg(long, default_value = "linux/amd64")]
    pub platform: Platform,
    /// Largest image to scan: bytes, or with a KiB/MiB/GiB suffix (0 = no limit)
    #[arg(long, default_value = "5GiB", value_parser = parse_size)]
    pub max_image_size: u64,
}

pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = [
        ("GiB", 1u64 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("KB", 1000),
        ("B", 1),
    ]
    .iter()
    .find_map(|(suf, m)| s.strip_suffix(suf).map(|n| (n.trim(), *m)))
    .unwrap_or((s, 1));
    num.parse::<u64>()
        .map(|n| n.saturating_mul(mult))
        .map_err(|_| format!("invalid size {s:?}: use a number of bytes or e.g. 512MiB, 5GiB"))
}

pub fn run(args: SbomArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let a = &args.source;
    let catalog = open_and_catalog(a)?;
    let doc = kubescape_sbom::format::render(&catalog, args.format);
    match &args.output {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = std::io::BufWriter::new(f);
            serde_json::to_writer_pretty(&mut w, &doc)?;
            w.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            serde_json::to_writer_pretty(&mut w, &doc)?;
            writeln!(w)?;
            w.flush()?;
        }
    }
    summarize(a, &catalog, started);
    Ok(ExitCode::SUCCESS)
}

/// Opens the image and catalogs its packages, with a spinner on a terminal.
pub fn open_and_catalog(a: &ImageSource) -> Result<kubescape_sbom::Catalog> {
    let credentials = match (a.username.clone(), a.password.clone()) {
        (Some(username), Some(password)) => Some(Credentials { username, password }),
        (Some(_), None) | (None, Some(_)) => {
            anyhow::bail!("--username and --password go together (or set both KUBESCAPE_REGISTRY_USERNAME and KUBESCAPE_REGISTRY_PASSWORD)")
        }
        (None, None) => None,
    };
    let opts = OpenOptions {
        registry: RegistryOptions {
            credentials,
            insecure: a.insecure,
            docker_config: a.docker_config.clone(),
        },
        platform: Some(a.platform.clone()),
        max_size: (a.max_image_size > 0).then_some(a.max_image_size),
    };
    let image = Image::open(&a.image, &opts)?;
    let layers = image.metadata.layers.len();
    let spinner = std::io::stderr().is_terminal().then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    });
    let mut seen = 0u64;
    let mut on_entry = |e: &kubescape_image::Entry<'_>| {
        seen += 1;
        if let (Some(s), 0) = (&spinner, seen % 512) {
            let at = match e.layer {
                Some(l) => format!("layer {}/{layers}, ", l + 1),
                None => String::new(),
            };
            s.set_message(format!("reading {}: {at}{seen} entries", a.image));
        }
    };
    let catalog = kubescape_sbom::catalog_with_progress(
        &image,
        &kubescape_sbom::CatalogOptions::default(),
        &mut on_entry,
    );
    if let Some(s) = &spinner {
        s.finish_and_clear();
    }
    Ok(catalog?)
}

fn summarize(a: &ImageSource, catalog: &kubescape_sbom::Catalog, started: Instant) {
    let mut by_type: std::collections::BTreeMap<&str, usize> = Default::default();
    for p in &catalog.packages {
        *by_type.entry(p.kind.syft_type()).or_default() += 1;
    }
    let summary: Vec<String> = by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
    eprintln!(
        "{}: {} packages ({}){} from {} files in {:.2}s",
        a.image,
        catalog.packages.len(),
        summary.join(", "),
        catalog
            .distro
            .as_ref()
            .map(|d| format!(", OS {} {}", d.id, d.version_id))
            .unwrap_or_default(),
        catalog.file_count,
        started.elapsed().as_secs_f64()
    );
}
