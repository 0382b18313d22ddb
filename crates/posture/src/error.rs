use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A user-supplied input (file, directory, flag value) is wrong; `what` names it.
    #[error("{what}: {message}")]
    Input { what: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A rule's Rego could not be compiled or evaluated.
    #[error("rule {rule}: {message}")]
    Rego { rule: String, message: String },
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
