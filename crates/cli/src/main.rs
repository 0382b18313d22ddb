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

// mimalloc: the storage server writes much faster with it, and the scan is as fast as with
// glibc's malloc (docs/decisions/0010-allocator.md).
#[cfg(all(feature = "mimalloc", not(feature = "heap-stats")))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Debug logs then show the live heap beside RSS (`KUBESCAPE_LOG=debug`).
#[cfg(all(feature = "mimalloc", feature = "heap-stats"))]
#[global_allocator]
static ALLOCATOR: kubescape_posture::memstat::Counting<mimalloc::MiMalloc> =
    kubescape_posture::memstat::Counting(mimalloc::MiMalloc);

use clap::Parser;

/// The bundled mimalloc (v3) returns freed pages to the system a second after they are freed. A
/// scan frees each batch's values and the cluster's pages in bursts, and with that delay its peak
/// RSS at 10,000 objects was about 20 MiB (25%) higher than when purging at once, which cost no
/// measurable time (docs/decisions/0010-allocator.md). The servers keep the default, which their
/// throughput was measured with. `MIMALLOC_PURGE_DELAY` in the environment still decides.
#[cfg(feature = "mimalloc")]
fn purge_freed_memory_at_once() {
    // The position of mi_option_purge_delay in mimalloc's mi_option_t (the same in its v2 and v3
    // headers: the enumeration keeps deprecated entries so that positions stay put).
    const PURGE_DELAY: std::os::raw::c_int = 15;
    extern "C" {
        fn mi_option_set(option: std::os::raw::c_int, value: std::os::raw::c_long);
    }
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a plain option setter of the linked mimalloc.
        unsafe { mi_option_set(PURGE_DELAY, 0) };
    }
}

fn main() -> ExitCode {
    let cli = commands::Cli::parse_from(http_request::normalize_go_flags(
        std::env::args_os().collect(),
    ));
    let server = matches!(cli.command, commands::Command::Serve { .. });
    #[cfg(feature = "mimalloc")]
    if !server {
        purge_freed_memory_at_once();
    }
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
