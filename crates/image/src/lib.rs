//! Container image sources and the streaming layer squash.
//!
//! An [`Image`] is opened from a registry (OCI distribution API), a `docker save` archive, an OCI
//! layout (directory or tar) or a plain root-filesystem directory. [`Image::walk`] streams every
//! layer once, from the top layer down, and hands each *visible* file of the squashed filesystem
//! to a [`Visitor`] together with a reader of its content: nothing is extracted to disk and only
//! what the visitor chooses to keep stays in memory. Every blob is checked against its digest.
//!
//! [`list_repositories`] and [`list_tags`] list what a registry holds.

mod archive;
mod error;
mod list;
mod manifest;
mod reference;
mod registry;
mod squash;
mod verify;

pub use error::Error;
pub use list::{list_repositories, list_tags, ListOptions};
pub use manifest::Platform;
pub use reference::Reference;
pub use registry::{Credentials, RegistryOptions};
pub use squash::{Entry, EntryKind, Visitor, WalkStats};

use std::path::{Path, PathBuf};

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where an image comes from, as parsed from user input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `registry/repo[:tag][@digest]` (also with the `registry:` or `docker://` prefix)
    Registry(Reference),
    /// `docker-archive:FILE` — output of `docker save`
    DockerArchive(PathBuf),
    /// `oci-dir:DIR[:REF]` / `oci:DIR[:REF]` — an OCI image layout directory; REF picks the
    /// manifest annotated `org.opencontainers.image.ref.name=REF`
    OciDir(PathBuf, Option<String>),
    /// `oci-archive:FILE[:REF]` — an OCI image layout in a tar file
    OciArchive(PathBuf, Option<String>),
    /// `dir:DIR` — a root filesystem
    Dir(PathBuf),
}

impl SourceSpec {
    /// Parses user input. Explicit prefixes win; otherwise an existing path is probed (a directory
    /// with `oci-layout` is an OCI layout, any other directory a root filesystem, a file an archive
    /// whose kind is detected when opened) and anything else is a registry reference.
    pub fn parse(input: &str) -> Result<Self> {
        let prefixed = |p: &str| input.strip_prefix(p).map(PathBuf::from);
        if let Some(p) = prefixed("docker-archive:") {
            return Ok(Self::DockerArchive(p));
        }
        // `PATH:REF` when PATH alone exists and the whole string does not
        let with_ref = |p: PathBuf| -> (PathBuf, Option<String>) {
            if p.exists() {
                return (p, None);
            }
            let s = p.to_string_lossy().into_owned();
            match s.rsplit_once(':') {
                Some((path, r))
                    if !r.is_empty() && !r.contains('/') && Path::new(path).exists() =>
                {
                    (PathBuf::from(path), Some(r.to_string()))
                }
                _ => (p, None),
            }
        };
        if let Some(p) = prefixed("oci-archive:") {
            let (p, r) = with_ref(p);
            return Ok(Self::OciArchive(p, r));
        }
        if let Some(p) = prefixed("oci-dir:").or_else(|| prefixed("oci:")) {
            let (p, r) = with_ref(p);
            return Ok(Self::OciDir(p, r));
        }
        if let Some(p) = prefixed("dir:") {
            return Ok(Self::Dir(p));
        }
        if let Some(r) = input
            .strip_prefix("docker://")
            .or_else(|| input.strip_prefix("registry:"))
        {
            return Ok(Self::Registry(Reference::parse(r)?));
        }
        let path = Path::new(input);
        if path.is_dir() {
            if path.join("oci-layout").is_file() {
                return Ok(Self::OciDir(path.to_path_buf(), None));
            }
            return Ok(Self::Dir(path.to_path_buf()));
        }
        if path.is_file() {
            // docker-archive or oci-archive: decided from the content when opened
            return Ok(Self::DockerArchive(path.to_path_buf()));
        }
        Reference::parse(input).map(Self::Registry).map_err(|e| {
            Error::msg(format!(
                "{input:?} is neither an existing file or directory nor a valid image reference ({e})"
            ))
        })
    }
}

/// Options for opening an image.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub registry: RegistryOptions,
    /// Platform to choose from a multi-platform index (default `linux/amd64`).
    pub platform: Option<Platform>,
    /// Largest image accepted, in bytes (sum of the layer blobs as stored; for a directory, the
    /// sum of file sizes). `None` = unlimited.
    pub max_size: Option<u64>,
}

/// One layer of an image as described by its manifest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerInfo {
    /// Digest of the layer blob as stored (compressed), `sha256:...`
    pub digest: String,
    /// Digest of the uncompressed tar (`rootfs.diff_ids` of the config), when known
    pub diff_id: Option<String>,
    pub media_type: String,
    /// Size of the blob as stored
    pub size: u64,
}

/// Facts about an opened image, for the SBOM's source section.
#[derive(Debug, Clone, Default)]
pub struct ImageMetadata {
    /// What the user asked for
    pub user_input: String,
    /// The kind of source (`registry`, `docker-archive`, `oci-dir`, `oci-archive`, `dir`)
    pub source_kind: &'static str,
    /// Repository tags (`repo:tag`)
    pub tags: Vec<String>,
    /// `repo@sha256:...` when pulled from a registry
    pub repo_digests: Vec<String>,
    /// Digest of the image manifest, when there is one
    pub manifest_digest: Option<String>,
    pub manifest_media_type: Option<String>,
    /// Raw bytes of the manifest and config (Syft JSON carries them base64-encoded)
    pub raw_manifest: Option<Vec<u8>>,
    pub raw_config: Option<Vec<u8>>,
    /// `sha256:` of the config blob (the image ID)
    pub image_id: Option<String>,
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    pub layers: Vec<LayerInfo>,
    /// Sum of the layer blob sizes
    pub size: u64,
}

/// An opened image, ready to be walked.
pub struct Image {
    pub metadata: ImageMetadata,
    inner: squash::Layers,
    max_size: Option<u64>,
}

impl Image {
    /// Opens an image from user input (see [`SourceSpec::parse`]).
    pub fn open(input: &str, opts: &OpenOptions) -> Result<Self> {
        let spec = SourceSpec::parse(input)?;
        Self::open_spec(input, spec, opts)
    }

    /// Opens an image from an already parsed source.
    pub fn open_spec(input: &str, spec: SourceSpec, opts: &OpenOptions) -> Result<Self> {
        let platform = opts.platform.clone().unwrap_or_default();
        let (mut metadata, inner) = match spec {
            SourceSpec::Registry(r) => registry::open(&r, &opts.registry, &platform)?,
            SourceSpec::DockerArchive(p) => archive::open_archive_file(&p, &platform)?,
            SourceSpec::OciArchive(p, r) => archive::open_oci_archive(&p, r.as_deref(), &platform)?,
            SourceSpec::OciDir(p, r) => archive::open_oci_dir(&p, r.as_deref(), &platform)?,
            SourceSpec::Dir(p) => {
                if !p.is_dir() {
                    return Err(Error::msg(format!(
                        "{}: not a directory (dir: expects a root filesystem directory)",
                        p.display()
                    )));
                }
                let m = ImageMetadata {
                    source_kind: "dir",
                    ..Default::default()
                };
                (m, squash::Layers::Dir(p))
            }
        };
        metadata.user_input = input.to_string();
        metadata.size = metadata.layers.iter().map(|l| l.size).sum();
        if let Some(max) = opts.max_size {
            if metadata.size > max {
                return Err(Error::TooLarge {
                    image: input.to_string(),
                    size: metadata.size,
                    max,
                });
            }
        }
        Ok(Self {
            metadata,
            inner,
            max_size: opts.max_size,
        })
    }

    /// Streams the squashed filesystem through `visitor` (see the crate documentation).
    pub fn walk(&self, visitor: &mut dyn Visitor) -> Result<WalkStats> {
        squash::walk(&self.inner, &self.metadata, self.max_size, visitor)
    }
}
