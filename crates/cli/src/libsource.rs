//! Where the control library comes from: `--use-from`, `--use-artifacts-from`, or the built-in one.

use std::path::Path;

use anyhow::{Context, Result};
use kubescape_posture::library::{Library, SourceFile};

pub struct LibraryArgs<'a> {
    pub use_from: Option<&'a Path>,
    pub use_artifacts_from: Option<&'a Path>,
    pub controls_config: Option<&'a Path>,
}

pub fn builtin() -> Result<Library> {
    let files = kubescape_controls::files()
        .into_iter()
        .map(|(p, c)| SourceFile {
            path: p.to_string(),
            contents: c.into(),
        });
    Library::from_source_files(files)
        .context("the built-in control library is damaged (this is a bug)")
}

pub fn load(args: &LibraryArgs) -> Result<Library> {
    let mut lib = match (args.use_from, args.use_artifacts_from) {
        (Some(p), _) | (None, Some(p)) => Library::load_path(p)
            .with_context(|| format!("cannot load the control library from {}", p.display()))?,
        (None, None) => builtin()?,
    };
    if let Some(cfg) = args.controls_config {
        lib.set_config_inputs_from(cfg)
            .with_context(|| format!("cannot read --controls-config {}", cfg.display()))?;
    } else if lib.config_inputs.is_empty()
        && (args.use_from.is_some() || args.use_artifacts_from.is_some())
    {
        tracing::info!("the chosen library has no default config inputs; using the built-in defaults (--controls-config overrides)");
        lib.config_inputs = builtin()?.config_inputs;
    }
    Ok(lib)
}
