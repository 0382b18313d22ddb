//! `kubescape`: scan Kubernetes manifests and clusters for misconfigurations.

mod commands;
mod download;
mod http_request;
mod http_service;
mod image_scan;
mod libsource;
mod operator_commands;
mod operator_images;
mod sbom;
mod scan;
mod serve;
mod serve_kubescape;
mod serve_kubevuln;
mod serve_operator;
mod service_metrics;
mod vulndb;

use std::process::ExitCode;

// Rule evaluation allocates and frees small values at a high rate on every core; mimalloc's
// per-thread free lists make that faster than glibc's malloc and return memory sooner.
#[cfg(all(feature = "mimalloc", not(feature = "heap-stats")))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Debug logs then show the live heap beside RSS (`KUBESCAPE_LOG=debug`).
#[cfg(all(feature = "mimalloc", feature = "heap-stats"))]
#[global_allocator]
static ALLOCATOR: kubescape_posture::memstat::Counting<mimalloc::MiMalloc> =
    kubescape_posture::memstat::Counting(mimalloc::MiMalloc);

use clap::Parser;

/// mimalloc's defaults favour speed over footprint: arenas committed up front and freed pages
/// returned 10 ms later. A scan frees its batches' values and the cluster's pages in bursts, and
/// with the defaults its peak RSS was about 45 MiB (50%) above the live heap's at 10,000 objects;
/// committing on demand and purging at once cost no measurable time (docs/benchmarks.md). An
/// environment variable (MIMALLOC_PURGE_DELAY, MIMALLOC_ARENA_EAGER_COMMIT) still overrides.
#[cfg(feature = "mimalloc")]
fn tune_allocator() {
    // Positions in mimalloc's mi_option_t (the same in its v2 and v3 headers; the enumeration
    // keeps deprecated entries so that these stay put).
    const ARENA_EAGER_COMMIT: std::os::raw::c_int = 4;
    const PURGE_DELAY: std::os::raw::c_int = 15;
    extern "C" {
        fn mi_option_set(option: std::os::raw::c_int, value: std::os::raw::c_long);
    }
    for (option, variable) in [
        (ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT"),
        (PURGE_DELAY, "MIMALLOC_PURGE_DELAY"),
    ] {
        if std::env::var_os(variable).is_none() {
            // SAFETY: a plain option setter of the linked mimalloc, called before any thread
            // starts.
            unsafe { mi_option_set(option, 0) };
        }
    }
}

fn main() -> ExitCode {
    #[cfg(feature = "mimalloc")]
    tune_allocator();
    let cli = commands::Cli::parse_from(http_request::normalize_go_flags(
        std::env::args_os().collect(),
    ));
    let server = matches!(cli.command, commands::Command::Serve { .. });
    init_logging(cli.log_level.as_deref(), server);
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Commands log warnings to a terminal; services log progress, as JSON unless on a terminal
/// (in a pod, log collectors parse it).
fn init_logging(level: Option<&str>, server: bool) {
    use std::io::IsTerminal;
    let default = if server { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KUBESCAPE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level.unwrap_or(default)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if server && !std::io::stderr().is_terminal() {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}
