//! `json`: the report itself (upstream's v2 JSON shape), pretty-printed.

use kubescape_api::posture::PostureReport;

use crate::{Format, RenderError};

pub fn render(report: &PostureReport) -> Result<String, RenderError> {
    let mut text = serde_json::to_string_pretty(report).map_err(|source| RenderError::Json {
        format: Format::Json,
        source,
    })?;
    text.push('\n');
    Ok(text)
}

/// Streams the report as pretty-printed JSON.
pub fn write(report: &PostureReport, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(|source| RenderError::Json {
        format: Format::Json,
        source,
    })?;
    out.write_all(b"\n").map_err(RenderError::Io)
}
