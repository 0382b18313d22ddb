//! `kubescape scan`: scan manifests (files, directories, Helm charts, Kustomize, stdin).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use kubescape_api::posture::{severity_rank, PostureReport, ResourceResult, Status};
use kubescape_posture::exceptions::ExceptionPolicy;
use kubescape_posture::inputs::{self, Renderers};
use kubescape_posture::results::ScanResults;
use kubescape_posture::scan::{self, ObjectStore, ScanOptions, Scope, Target};
use kubescape_report::{Format, RenderOptions};

use crate::commands::LibraryFlags;
use crate::libsource;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ScanArgs {
    #[command(subcommand)]
    pub what: Option<ScanWhat>,
    /// Files, directories, Helm charts, Kustomize directories, or - for stdin
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub flags: ScanFlags,
}

#[derive(Subcommand)]
pub enum ScanWhat {
    /// Scan against one or more frameworks (comma separated: nsa,mitre)
    Framework {
        names: String,
        paths: Vec<PathBuf>,
        #[command(flatten)]
        flags: ScanFlags,
    },
    /// Scan with specific controls (comma separated IDs or names: C-0016,C-0017)
    Control {
        ids: String,
        paths: Vec<PathBuf>,
        #[command(flatten)]
        flags: ScanFlags,
    },
    /// Scan a container image for known vulnerabilities (offline database: `kubescape vulndb`)
    Image(Box<crate::image_scan::ImageScanArgs>),
}

#[derive(Args, Clone)]
pub struct ScanFlags {
    /// Output formats, comma separated: pretty-printer, json, junit, sarif, prometheus, html
    #[arg(short, long, default_value = "pretty-printer")]
    pub format: String,
    /// Output file (with several formats, one file per format with the format's extension)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show failed resources with paths and fixes in the terminal output
    #[arg(short, long)]
    pub verbose: bool,
    /// Scan only these namespaces (comma separated)
    #[arg(long, value_name = "NS", value_delimiter = ',')]
    pub include_namespaces: Vec<String>,
    /// Skip these namespaces (comma separated)
    #[arg(long, value_name = "NS", value_delimiter = ',')]
    pub exclude_namespaces: Vec<String>,
    /// Exception policies file (PostureExceptionPolicy JSON: one policy or a list)
    #[arg(long, value_name = "FILE")]
    pub exceptions: Option<PathBuf>,
    /// Do not apply the library's built-in system exceptions
    #[arg(long)]
    pub no_system_exceptions: bool,
    /// Exit with code 1 when the overall compliance score is below this percentage
    #[arg(long, value_name = "PERCENT")]
    pub compliance_threshold: Option<f64>,
    /// Exit with code 1 when a control of this severity or higher fails (low, medium, high, critical)
    #[arg(long, value_name = "SEVERITY")]
    pub severity_threshold: Option<String>,
    /// Kubeconfig context for a cluster scan (default: the current context)
    #[arg(long, value_name = "CONTEXT")]
    pub kube_context: Option<String>,
    /// Cluster scan: only objects matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub label_selector: Option<String>,
    /// Cloud provider passed to rules that need it (EKS, GKE, AKS)
    #[arg(long, value_name = "PROVIDER")]
    pub cloud_provider: Option<String>,
    /// Most namespaced objects evaluated at once (whole namespaces are never split); lower uses
    /// less memory on large clusters, 0 evaluates everything at once
    #[arg(long, value_name = "N", default_value_t = scan::DEFAULT_BATCH_OBJECTS)]
    pub batch_objects: usize,
    #[command(flatten)]
    pub library: LibraryFlags,
}

pub fn run(args: ScanArgs) -> Result<ExitCode> {
    if let Some(ScanWhat::Image(a)) = args.what {
        return crate::image_scan::run(*a);
    }
    let (target, paths, flags) = match args.what {
        Some(ScanWhat::Framework {
            names,
            paths,
            flags,
        }) => (Some(Target::Frameworks(split(&names))), paths, flags),
        Some(ScanWhat::Control { ids, paths, flags }) => {
            (Some(Target::Controls(split(&ids))), paths, flags)
        }
        None => (None, args.paths, args.flags),
        Some(ScanWhat::Image(_)) => unreachable!("handled above"),
    };
    let cluster = paths.is_empty();
    let target = target.unwrap_or_else(|| {
        let defaults: &[&str] = if cluster {
            &["clusterscan", "mitre", "nsa"]
        } else {
            &["WorkloadScan", "AllControls"]
        };
        Target::Frameworks(defaults.iter().map(|s| s.to_string()).collect())
    });
    let formats = parse_formats(&flags.format)?;
    if let Some(sev) = &flags.severity_threshold {
        if severity_rank(sev) == 0 {
            bail!("--severity-threshold {sev:?}: use one of low, medium, high, critical");
        }
    }
    let lib = libsource::load(&flags.library.args())?;
    let exceptions = match &flags.exceptions {
        Some(p) => load_exceptions(p)?,
        None => vec![],
    };
    let mut options = ScanOptions {
        target,
        scope: if cluster { Scope::Cluster } else { Scope::File },
        include_namespaces: flags.include_namespaces.clone(),
        exclude_namespaces: flags.exclude_namespaces.clone(),
        exceptions,
        apply_system_exceptions: !flags.no_system_exceptions,
        cluster_name: String::new(),
        cloud_provider: flags.cloud_provider.clone(),
        // The JSON writer takes objects from the store instead (never held twice).
        keep_objects: false,
        passed_results: formats.iter().any(|(f, _)| matches!(f, Format::Json)),
        failure_details: flags.verbose || formats.iter().any(|(f, _)| !matches!(f, Format::Pretty)),
        formats: formats.iter().map(|(_, n)| n.clone()).collect(),
        kubescape_version: env!("CARGO_PKG_VERSION").into(),
        unreadable: vec![],
        batch_objects: flags.batch_objects,
    };
    let started = std::time::Instant::now();
    let store = if cluster {
        read_cluster(&lib, &mut options, &flags)?
    } else {
        let inputs = inputs::load(&paths, &Renderers::discover());
        for p in &inputs.problems {
            eprintln!("warning: {}: {}", p.location, p.message);
        }
        if inputs.objects.is_empty() {
            bail!(
                "no Kubernetes objects found in {}",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let mut store = ObjectStore::new(&options);
        for o in inputs.objects {
            store.push(o);
        }
        store
    };
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        objects = store.len(),
        mem = %kubescape_posture::memstat::describe(),
        "inputs loaded"
    );
    let bar = progress_bar(store.len());
    let on_progress = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let started = std::time::Instant::now();
    let (mut report, results) = scan::scan_store_compact(&lib, &store, &options, &on_progress)?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, mem = %kubescape_posture::memstat::describe(), "scan finished");
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    report.report_guid = uuid::Uuid::new_v4().to_string();
    // The JSON report streams every result from the compact store; the formats that list
    // failures need those materialised (the terminal summary and Prometheus metrics only count).
    let lists_failures = |f: &Format| match f {
        Format::Json | Format::Prometheus => false,
        Format::Pretty => flags.verbose,
        Format::Junit | Format::Sarif | Format::Html => true,
    };
    if formats.iter().any(|(f, _)| lists_failures(f)) {
        report.results = results.iter(|s| s.status == Status::Failed).collect();
    }

    let started = std::time::Instant::now();
    write_outputs(&report, &results, &store, &formats, &flags, &paths)?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, mem = %kubescape_posture::memstat::describe(), "outputs written");
    Ok(exit_code(&report, &flags))
}

/// Reads the resources the selected rules need from the current cluster.
fn read_cluster(
    lib: &kubescape_posture::Library,
    options: &mut ScanOptions,
    flags: &ScanFlags,
) -> Result<ObjectStore> {
    let rules = scan::selected_rules(lib, options)?;
    let wanted = |r: &kubescape_cluster::ServedResource| {
        let api_version = if r.group.is_empty() {
            r.version.clone()
        } else {
            format!("{}/{}", r.group, r.version)
        };
        rules
            .iter()
            .any(|rule| kubescape_posture::select::rule_matches(rule, &api_version, &r.kind))
    };
    let opts = kubescape_cluster::ClusterOptions {
        context: flags.kube_context.clone(),
        label_selector: flags.label_selector.clone(),
        page_size: 500,
    };
    let spinner = std::io::stderr().is_terminal().then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    });
    let on_progress = |resource: &str, count: usize| {
        if let Some(s) = &spinner {
            s.set_message(format!("reading {resource}: {count}"));
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut store = ObjectStore::new(options);
    let read = runtime.block_on(kubescape_cluster::collect(
        &opts,
        wanted,
        on_progress,
        |o| store.push(o),
    ));
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let read = read?;
    tracing::info!(cluster = %read.cluster_name, server = %read.server, objects = read.objects, kept = store.len(), "cluster read");
    for u in &read.unreadable {
        eprintln!(
            "warning: cannot {}: {}; controls that need it are reported as skipped",
            u.what, u.reason
        );
        let api_version = if u.group.is_empty() {
            u.version.clone()
        } else {
            format!("{}/{}", u.group, u.version)
        };
        options
            .unreadable
            .push(kubescape_posture::scan::UnreadableKind {
                api_version,
                kind: u.kind.clone(),
                reason: format!("cannot {}: {}", u.what, u.reason),
            });
    }
    options.cluster_name = read.cluster_name;
    if store.is_empty() {
        bail!(
            "the cluster at {} has none of the objects the selected controls examine",
            read.server
        );
    }
    Ok(store)
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_formats(s: &str) -> Result<Vec<(Format, String)>> {
    split(s)
        .into_iter()
        .map(|name| {
            name.parse::<Format>()
                .map(|f| (f, name.clone()))
                .map_err(|e| anyhow::anyhow!("--format {name:?}: {e}"))
        })
        .collect()
}

fn load_exceptions(p: &Path) -> Result<Vec<ExceptionPolicy>> {
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("cannot read --exceptions {}", p.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--exceptions {}: invalid JSON", p.display()))?;
    Ok(ExceptionPolicy::parse_all(
        &v,
        &p.display().to_string(),
        chrono::Utc::now(),
    )?)
}

fn progress_bar(objects: usize) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} scanning {msg} [{bar:30}] {pos}/{len} rules",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(format!("{objects} objects"));
    Some(bar)
}

fn extension(f: &Format) -> &'static str {
    match f {
        Format::Pretty => "txt",
        Format::Json => "json",
        Format::Junit => "xml",
        Format::Sarif => "sarif",
        Format::Prometheus => "prom",
        Format::Html => "html",
    }
}

fn write_outputs(
    report: &PostureReport,
    results: &ScanResults,
    store: &ObjectStore,
    formats: &[(Format, String)],
    flags: &ScanFlags,
    roots: &[PathBuf],
) -> Result<()> {
    let sources = SourceLines::new(roots);
    let line_of =
        |rel: &str, doc: usize, path: &str| -> Option<usize> { sources.line(rel, doc, path) };
    let color = flags.output.is_none() && std::io::stdout().is_terminal();
    for (format, _) in formats {
        let opts = RenderOptions {
            verbose: flags.verbose,
            color: color && matches!(format, Format::Pretty),
            line_of: Some(&line_of),
        };
        let target = match &flags.output {
            None if formats.len() == 1 || matches!(format, Format::Pretty) => None,
            None => bail!("several formats need --output FILE (each format is written to FILE with its own extension)"),
            Some(out) if formats.len() == 1 => Some(out.clone()),
            Some(out) => Some(out.with_extension(extension(format))),
        };
        let object_of = |id: &str| store.object_json(id);
        let all_results = || -> Box<dyn Iterator<Item = ResourceResult> + '_> {
            Box::new(results.iter(|_| true))
        };
        let render = |w: &mut dyn std::io::Write| {
            match format {
                Format::Json => {
                    kubescape_report::write_json_streamed(report, &object_of, Some(&all_results), w)
                }
                _ => kubescape_report::render_to(report, *format, &opts, w),
            }
            .map_err(|e| anyhow::anyhow!("{e}"))
        };
        match target {
            None => {
                let mut stdout = std::io::stdout().lock();
                render(&mut stdout)?;
                stdout.flush()?;
            }
            Some(file) => {
                let f = std::fs::File::create(&file)
                    .with_context(|| format!("cannot write {}", file.display()))?;
                let mut w = std::io::BufWriter::new(f);
                render(&mut w)?;
                w.flush()
                    .with_context(|| format!("cannot write {}", file.display()))?;
                eprintln!("report written to {}", file.display());
            }
        }
    }
    Ok(())
}

/// For each document of a file: path (position in [`SourceLines::names`]) -> 1-based line.
type FileLines = std::rc::Rc<Vec<std::collections::HashMap<u32, u32>>>;

/// Lines of paths in the scanned files (for SARIF locations and `-v`), each file parsed once.
struct SourceLines<'a> {
    roots: &'a [PathBuf],
    /// Parsed files by relative path (None: unreadable). Bounded: reports visit files many times.
    files: std::cell::RefCell<std::collections::HashMap<String, Option<FileLines>>>,
    /// Every path seen, once: documents of generated or templated manifests share most of their
    /// paths, and 10,000 documents' own copies of them took about 60 MiB.
    names: std::cell::RefCell<std::collections::HashMap<String, u32>>,
}

impl<'a> SourceLines<'a> {
    const MAX_FILES: usize = 512;

    fn new(roots: &'a [PathBuf]) -> Self {
        SourceLines {
            roots,
            files: Default::default(),
            names: Default::default(),
        }
    }

    fn parsed(&self, rel: &str) -> Option<FileLines> {
        if let Some(hit) = self.files.borrow().get(rel) {
            return hit.clone();
        }
        let candidates =
            std::iter::once(PathBuf::from(rel)).chain(self.roots.iter().map(|r| r.join(rel)));
        let parsed = candidates
            .into_iter()
            .find(|p| p.is_file())
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|text| {
                let mut names = self.names.borrow_mut();
                let docs = kubescape_posture::yaml::path_lines(&text)
                    .into_iter()
                    .map(|doc| {
                        doc.into_iter()
                            .map(|(path, line)| {
                                let next = names.len() as u32;
                                let id = *names.entry(path).or_insert(next);
                                (id, u32::try_from(line).unwrap_or(u32::MAX))
                            })
                            .collect()
                    })
                    .collect();
                std::rc::Rc::new(docs)
            });
        let mut files = self.files.borrow_mut();
        if files.len() >= Self::MAX_FILES {
            files.clear();
        }
        files.insert(rel.to_string(), parsed.clone());
        parsed
    }

    /// Line of `path` in document `doc` of a scanned file.
    fn line(&self, rel: &str, doc: usize, path: &str) -> Option<usize> {
        let lines = self.parsed(rel)?;
        let map = lines.get(doc)?;
        // The failed path may not exist in the file (a field to add); fall back to its nearest parent.
        let names = self.names.borrow();
        let mut p = path.to_string();
        loop {
            if let Some(l) = names.get(&p).and_then(|id| map.get(id)) {
                return Some(*l as usize);
            }
            let cut = p.rfind(['.', '['])?;
            p.truncate(cut);
        }
    }
}

fn exit_code(report: &PostureReport, flags: &ScanFlags) -> ExitCode {
    let s = &report.summary_details;
    if let Some(t) = flags.compliance_threshold {
        if s.compliance_score < t {
            eprintln!(
                "compliance score {:.2}% is below the threshold {t}%",
                s.compliance_score
            );
            return ExitCode::from(1);
        }
    }
    if let Some(sev) = &flags.severity_threshold {
        let min = severity_rank(sev);
        let breached: Vec<&str> = s
            .controls
            .values()
            .filter(|c| c.status == Status::Failed && severity_rank(&c.severity) >= min)
            .map(|c| c.control_id.as_str())
            .collect();
        if !breached.is_empty() {
            eprintln!(
                "{} failed control(s) at or above severity {sev}: {}",
                breached.len(),
                breached.join(", ")
            );
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
