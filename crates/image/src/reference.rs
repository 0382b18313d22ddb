use std::fmt;

use crate::{Error, Result};

/// A parsed image reference: `[registry[:port]/]repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host (with port); `docker.io` when the reference names none
    pub registry: String,
    /// Repository path (`library/` added for Docker Hub official images)
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    pub fn parse(input: &str) -> Result<Self> {
        let bad = |why: &str| Error::msg(format!("invalid image reference {input:?}: {why}"));
        if input.is_empty() {
            return Err(bad("empty"));
        }
        let (name, digest) = match input.split_once('@') {
            Some((n, d)) => {
                let (alg, hex) = d
                    .split_once(':')
                    .ok_or_else(|| bad("digest must look like sha256:<hex>"))?;
                if alg != "sha256" || hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(bad("digest must look like sha256:<64 hex digits>"));
                }
                (n, Some(d.to_ascii_lowercase()))
            }
            None => (input, None),
        };
        let (registry, rest) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest)
            }
            _ => ("docker.io".to_string(), name),
        };
        let (repo, tag) = match rest.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, Some(t.to_string())),
            _ => (rest, None),
        };
        if repo.is_empty() {
            return Err(bad("no repository"));
        }
        if !repo
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b))
        {
            return Err(bad(
                "repository names use lower-case letters, digits, '.', '_', '-' and '/'",
            ));
        }
        if let Some(t) = &tag {
            if t.is_empty()
                || t.len() > 128
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            {
                return Err(bad("invalid tag"));
            }
        }
        let repository = if registry == "docker.io" && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo.to_string()
        };
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// Host to connect to (Docker Hub's API lives at registry-1.docker.io).
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    /// What to ask the manifests endpoint for: the digest when given, else the tag.
    pub fn manifest_ref(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// `registry/repository` (the name used in repo tags and digests)
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

/// Host serving the API of `registry` (Docker Hub's lives at registry-1.docker.io).
pub(crate) fn api_host(registry: &str) -> &str {
    if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let r = Reference::parse("alpine").unwrap();
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/alpine");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(r.api_host(), "registry-1.docker.io");

        let r = Reference::parse("127.0.0.1:5000/kit/apps:v1").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "kit/apps");
        assert_eq!(r.tag.as_deref(), Some("v1"));

        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("localhost/x@{d}")).unwrap();
        assert_eq!(r.registry, "localhost");
        assert_eq!(r.tag, None);
        assert_eq!(r.manifest_ref(), d);

        let r = Reference::parse("quay.io/org/app:1.2").unwrap();
        assert_eq!(r.to_string(), "quay.io/org/app:1.2");
    }

    #[test]
    fn rejects_bad_references() {
        for bad in ["", "UPPER/case", "x@sha256:zz", "repo:", "a:b:c/d:"] {
            assert!(Reference::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
