use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::libsource::{self, LibraryArgs};

#[derive(Parser)]
#[command(
    name = "kubescape",
    version,
    about = "Kubernetes security posture scanner (misconfigurations, compliance frameworks)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log level (error, warn, info, debug); KUBESCAPE_LOG overrides
    #[arg(long, global = true)]
    pub log_level: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Scan manifests for misconfigurations (kubescape scan [framework|control] ...)
    Scan(Box<crate::scan::ScanArgs>),
    /// Download control-library release artifacts for offline use (--use-artifacts-from)
    Download(crate::download::DownloadArgs),
    /// Control-library tools
    Library {
        #[command(subcommand)]
        command: crate::download::LibraryCommand,
    },
    /// List frameworks or controls of the control library
    List(ListArgs),
    /// Tools for control-library authors
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The offline vulnerability database: import, status, query, export
    Vulndb(crate::vulndb::VulndbArgs),
    /// Make one HTTP request (what recurring-scan CronJobs run)
    HttpRequest(crate::http_request::HttpRequestArgs),
    /// Run an in-cluster service (role)
    Serve {
        #[command(subcommand)]
        command: Box<crate::serve::ServeCommand>,
    },
    /// Software bill of materials of a container image (registry, archive, OCI layout or directory)
    Sbom(Box<crate::sbom::SbomArgs>),
}

#[derive(Args, Clone)]
pub struct LibraryFlags {
    /// Control library to use: a library directory (source layout or release artifacts) or an artifact file
    #[arg(long, value_name = "PATH")]
    pub use_from: Option<PathBuf>,
    /// Directory of downloaded release artifacts (air-gapped use)
    #[arg(long, value_name = "DIR")]
    pub use_artifacts_from: Option<PathBuf>,
    /// Control configuration inputs (default-config-inputs.json or a postureControlInputs object)
    #[arg(long, value_name = "FILE")]
    pub controls_config: Option<PathBuf>,
}

impl LibraryFlags {
    pub fn args(&self) -> LibraryArgs<'_> {
        LibraryArgs {
            use_from: self.use_from.as_deref(),
            use_artifacts_from: self.use_artifacts_from.as_deref(),
            controls_config: self.controls_config.as_deref(),
        }
    }
}

#[derive(Args)]
pub struct ListArgs {
    /// What to list
    #[arg(value_enum)]
    pub what: ListWhat,
    /// Output as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub library: LibraryFlags,
}

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum ListWhat {
    Frameworks,
    Controls,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Run rule test cases (<rule>/test/<case>/ or <rule>/<case>/ with input/, expected.json, data.json)
    Test(PolicyTestArgs),
}

#[derive(Args)]
pub struct PolicyTestArgs {
    /// A library root (with rules/) or a directory of rule directories
    pub path: PathBuf,
    /// Compare alerts without their alertMessage
    #[arg(long)]
    pub ignore_messages: bool,
    /// Only run this rule (directory or rule name); repeatable
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    /// Print passing cases too
    #[arg(short, long)]
    pub verbose: bool,
    #[command(flatten)]
    pub library: LibraryFlags,
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(a) => crate::scan::run(*a),
        Command::List(a) => list(a),
        Command::Download(a) => crate::download::download(a),
        Command::Library { command } => crate::download::library(command),
        Command::Policy {
            command: PolicyCommand::Test(a),
        } => policy_test(a),
        Command::Serve { command } => crate::serve::run(*command),
        Command::HttpRequest(a) => crate::http_request::run(a),
        Command::Vulndb(a) => crate::vulndb::run(a),
        Command::Sbom(a) => crate::sbom::run(*a),
    }
}

fn list(a: ListArgs) -> Result<ExitCode> {
    let lib = libsource::load(&a.library.args())?;
    match a.what {
        ListWhat::Frameworks => {
            if a.json {
                let v: Vec<_> = lib
                    .frameworks
                    .iter()
                    .map(|f| serde_json::json!({"name": f.name, "controls": f.active_controls.len()}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{:<20} {:>8}", "FRAMEWORK", "CONTROLS");
                for f in &lib.frameworks {
                    println!("{:<20} {:>8}", f.name, f.active_controls.len());
                }
            }
        }
        ListWhat::Controls => {
            if a.json {
                let v: Vec<_> = lib
                    .controls
                    .values()
                    .map(|c| serde_json::json!({"controlID": c.control_id, "name": c.name, "baseScore": c.base_score}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{:<8} {:<70} {:>5}", "ID", "NAME", "SCORE");
                for c in lib.controls.values() {
                    println!("{:<8} {:<70} {:>5}", c.control_id, c.name, c.base_score);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn policy_test(a: PolicyTestArgs) -> Result<ExitCode> {
    let mut lib = libsource::load(&a.library.args())?;
    // A library root under test brings its own configuration inputs (--controls-config wins).
    let own_inputs = a.path.join("default-config-inputs.json");
    if a.library.controls_config.is_none() && own_inputs.is_file() {
        lib.set_config_inputs_from(&own_inputs)?;
    }
    let options = kubescape_posture::policytest::Options {
        ignore_messages: a.ignore_messages,
        rules: a.rules,
    };
    let outcomes = kubescape_posture::policytest::run(&a.path, &lib, &options)?;
    let mut failed = 0;
    for o in &outcomes {
        match &o.failure {
            Some(why) => {
                failed += 1;
                println!("FAIL {}/{}: {}", o.rule, o.case, why.replace('\n', "\n  "));
            }
            None if a.verbose => println!("ok   {}/{}", o.rule, o.case),
            None => {}
        }
    }
    println!("{} passed, {} failed", outcomes.len() - failed, failed);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
