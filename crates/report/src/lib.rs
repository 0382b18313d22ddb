//! Output formats of a posture report: `pretty-printer`, `json`, `junit`, `sarif`, `prometheus`
//! and `html`. Every format is a pure function of the [`PostureReport`]; the caller decides where
//! the text goes.

use std::fmt;
use std::str::FromStr;

use kubescape_api::posture::PostureReport;

mod common;
mod html;
mod json;
mod junit;
mod pretty;
mod prometheus;
mod sarif;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Pretty,
    Json,
    Junit,
    Sarif,
    Prometheus,
    Html,
}

impl Format {
    /// Every format, in the order they are documented.
    pub const ALL: [Format; 6] = [
        Format::Pretty,
        Format::Json,
        Format::Junit,
        Format::Sarif,
        Format::Prometheus,
        Format::Html,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pretty => "pretty-printer",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Sarif => "sarif",
            Format::Prometheus => "prometheus",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown output format {:?}; supported formats: pretty-printer (or pretty), json, junit, sarif, prometheus, html",
            self.0
        )
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pretty-printer" | "pretty" => Ok(Format::Pretty),
            "json" => Ok(Format::Json),
            "junit" => Ok(Format::Junit),
            "sarif" => Ok(Format::Sarif),
            "prometheus" => Ok(Format::Prometheus),
            "html" => Ok(Format::Html),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// Finds the 1-based line of a path in document `doc_index` of a file:
/// `(relative_path, doc_index, path)`.
pub type LineOf<'a> = &'a dyn Fn(&str, usize, &str) -> Option<usize>;

/// How to render.
#[derive(Clone, Copy, Default)]
pub struct RenderOptions<'a> {
    /// pretty: list failed resources with paths and fix values.
    pub verbose: bool,
    /// pretty: ANSI colours (the caller decides from the TTY).
    pub color: bool,
    /// Finds the 1-based line of `path` (e.g. "spec.containers[0].securityContext.privileged") in
    /// document `doc_index` of the file `relative_path`; the CLI supplies it (it owns the YAML
    /// parser). None = unknown.
    pub line_of: Option<LineOf<'a>>,
}

impl fmt::Debug for RenderOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderOptions")
            .field("verbose", &self.verbose)
            .field("color", &self.color)
            .field("line_of", &self.line_of.map(|_| "Fn"))
            .finish()
    }
}

/// A report that could not be rendered.
#[derive(Debug)]
pub enum RenderError {
    /// JSON serialisation failed (json and sarif formats).
    Json {
        format: Format,
        source: serde_json::Error,
    },
    /// Writing the output failed.
    Io(std::io::Error),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Json { format, source } => {
                write!(f, "cannot write the {format} report: {source}")
            }
            RenderError::Io(e) => write!(f, "cannot write the report: {e}"),
        }
    }
}

impl std::error::Error for RenderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RenderError::Json { source, .. } => Some(source),
            RenderError::Io(e) => Some(e),
        }
    }
}

/// Renders `report` in `format`.
pub fn render(
    report: &PostureReport,
    format: Format,
    opts: &RenderOptions,
) -> Result<String, RenderError> {
    match format {
        Format::Pretty => Ok(pretty::render(report, opts)),
        Format::Json => json::render(report),
        Format::Junit => Ok(junit::render(report)),
        Format::Sarif => sarif::render(report, opts),
        Format::Prometheus => Ok(prometheus::render(report)),
        Format::Html => Ok(html::render(report, opts)),
    }
}

/// Renders `report` into `out`. The JSON and SARIF reports are streamed (they can be large); the
/// other formats are rendered in memory first.
pub fn render_to(
    report: &PostureReport,
    format: Format,
    opts: &RenderOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    match format {
        Format::Json => json::write(report, out),
        Format::Sarif => sarif::write(report, opts, out),
        other => out
            .write_all(render(report, other, opts)?.as_bytes())
            .map_err(RenderError::Io),
    }
}

pub use json::ResultsSource;

/// Streams the JSON report, taking resources' objects from `object_of` where the report has none
/// and, when `results` is given, the results from it instead of `report.results` (see
/// [`json::write_streamed`]).
pub fn write_json_streamed(
    report: &PostureReport,
    object_of: &dyn Fn(&str) -> Option<serde_json::Value>,
    results: Option<ResultsSource<'_, '_>>,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    json::write_streamed(report, object_of, results, out)
}

/// Streams the JSON report, taking resources' objects from `object_of` where the report has none
/// (see [`json::write_with_objects`]).
pub fn write_json_with_objects(
    report: &PostureReport,
    object_of: &dyn Fn(&str) -> Option<serde_json::Value>,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    json::write_with_objects(report, object_of, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_takes_a_capturing_closure() {
        // The CLI's shape: a closure over the scan roots.
        let roots = ["a.yaml".to_string()];
        let line_of = |rel: &str, doc: usize, _path: &str| -> Option<usize> {
            roots.iter().position(|r| r == rel).map(|i| i + doc + 1)
        };
        let opts = RenderOptions {
            verbose: true,
            color: false,
            line_of: Some(&line_of),
        };
        assert_eq!(opts.line_of.unwrap()("a.yaml", 2, "spec"), Some(3));
        let text = render(&PostureReport::default(), Format::Pretty, &opts).unwrap();
        assert!(text.contains("Overall compliance score: 0%"), "{text}");
    }

    #[test]
    fn parses_format_names() {
        assert_eq!("pretty-printer".parse::<Format>().unwrap(), Format::Pretty);
        assert_eq!("pretty".parse::<Format>().unwrap(), Format::Pretty);
        assert_eq!("SARIF".parse::<Format>().unwrap(), Format::Sarif);
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        let err = "pdf".parse::<Format>().unwrap_err().to_string();
        assert!(
            err.contains("\"pdf\"") && err.contains("junit") && err.contains("prometheus"),
            "{err}"
        );
    }
}
