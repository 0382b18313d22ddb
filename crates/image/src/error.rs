use std::fmt;

/// Errors of image access. Messages name the input at fault and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Message(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "image {image} exceeds the size limit of {} MiB ({} MiB or more; raise --max-image-size to scan it)",
        max / (1 << 20),
        size.div_ceil(1 << 20)
    )]
    TooLarge { image: String, size: u64, max: u64 },
    #[error("{what}: digest mismatch: expected {expected}, got {actual} (the blob is truncated or corrupted)")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("registry {registry}: authentication failed for {repository}: {detail}")]
    Unauthorized {
        registry: String,
        repository: String,
        detail: String,
    },
    #[error("{reference}: not found in the registry ({detail})")]
    NotFound { reference: String, detail: String },
}

impl Error {
    pub fn msg(m: impl fmt::Display) -> Self {
        Self::Message(m.to_string())
    }

    pub fn io(context: impl fmt::Display, source: std::io::Error) -> Self {
        // a digest or size error raised inside a reader chain travels as an io::Error; unwrap it
        if source.get_ref().is_some_and(|e| e.is::<Error>()) {
            let inner = source.into_inner().expect("checked above");
            let e = *inner.downcast::<Error>().expect("checked above");
            return match e {
                Error::Message(m) => Error::Message(format!("{context}: {m}")),
                other => other,
            };
        }
        Self::Io {
            context: context.to_string(),
            source,
        }
    }

    /// Prefixes the message with where it happened.
    pub fn context(self, c: impl fmt::Display) -> Self {
        match self {
            Error::Message(m) => Error::Message(format!("{c}: {m}")),
            Error::Io { context, source } => Error::Io {
                context: format!("{c}: {context}"),
                source,
            },
            Error::DigestMismatch {
                what,
                expected,
                actual,
            } => Error::DigestMismatch {
                what: format!("{c}: {what}"),
                expected,
                actual,
            },
            other => other,
        }
    }
}
