//! OCI / Docker manifest, index and config documents (only the fields we use).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::{Error, ImageMetadata, LayerInfo, Result};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<PlatformDoc>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlatformDoc {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

/// A manifest or an index (told apart by `manifests` vs `layers`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestDoc {
    #[serde(default)]
    pub schema_version: Option<u32>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    pub manifests: Option<Vec<Descriptor>>,
}

impl ManifestDoc {
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self> {
        let doc: ManifestDoc = serde_json::from_slice(bytes)
            .map_err(|e| Error::msg(format!("{what}: not a valid manifest or index: {e}")))?;
        if doc.schema_version == Some(1) {
            return Err(Error::msg(format!(
                "{what}: Docker schema 1 manifests are deprecated and not supported; re-push the image with a current client"
            )));
        }
        if doc.manifests.is_none() && (doc.config.is_none() || doc.layers.is_none()) {
            return Err(Error::msg(format!(
                "{what}: neither an image manifest (config + layers) nor an index (manifests)"
            )));
        }
        Ok(doc)
    }

    pub fn is_index(&self) -> bool {
        self.manifests.is_some()
    }
}

/// A platform choice `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Self {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl FromStr for Platform {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, v] if !os.is_empty() && !arch.is_empty() && !v.is_empty() => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(v.to_string()),
            }),
            _ => Err(Error::msg(format!(
                "invalid platform {s:?}: expected os/arch[/variant], e.g. linux/arm64"
            ))),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Picks the manifest for `platform` from an index. Entries without a platform (attestations,
/// single-image layouts) are used only when nothing else is there.
pub fn choose<'a>(
    index: &'a [Descriptor],
    platform: &Platform,
    what: &str,
) -> Result<&'a Descriptor> {
    let images: Vec<&Descriptor> = index
        .iter()
        .filter(|d| {
            d.annotations
                .get("vnd.docker.reference.type")
                .is_none_or(|t| t != "attestation-manifest")
        })
        .collect();
    let matches = |d: &&Descriptor| {
        d.platform.as_ref().is_some_and(|p| {
            p.os == platform.os
                && p.architecture == platform.architecture
                && (platform.variant.is_none() || p.variant == platform.variant)
        })
    };
    if let Some(d) = images.iter().copied().find(matches) {
        return Ok(d);
    }
    if images.len() == 1 && images[0].platform.is_none() {
        return Ok(images[0]);
    }
    let available: Vec<String> = images
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .map(|p| match &p.variant {
            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        })
        .collect();
    Err(Error::msg(format!(
        "{what}: no image for platform {platform} (available: {}); choose one with --platform",
        if available.is_empty() {
            "none".to_string()
        } else {
            available.join(", ")
        }
    )))
}

#[derive(Debug, Deserialize, Default)]
pub struct ConfigDoc {
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub rootfs: Option<RootFs>,
}

#[derive(Debug, Deserialize, Default)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// Fills the metadata from a manifest's layers and the image config.
pub fn fill_metadata(
    meta: &mut ImageMetadata,
    layers: &[Descriptor],
    config: &[u8],
    what: &str,
) -> Result<()> {
    let cfg: ConfigDoc = serde_json::from_slice(config)
        .map_err(|e| Error::msg(format!("{what}: image config is not valid JSON: {e}")))?;
    let diff_ids = cfg.rootfs.map(|r| r.diff_ids).unwrap_or_default();
    if !diff_ids.is_empty() && diff_ids.len() != layers.len() {
        return Err(Error::msg(format!(
            "{what}: the manifest lists {} layers but the config has {} diff_ids",
            layers.len(),
            diff_ids.len()
        )));
    }
    meta.layers = layers
        .iter()
        .enumerate()
        .map(|(i, d)| LayerInfo {
            digest: d.digest.clone(),
            diff_id: diff_ids.get(i).cloned(),
            media_type: d.media_type.clone(),
            size: d.size,
        })
        .collect();
    meta.os = cfg.os;
    meta.architecture = cfg.architecture;
    meta.variant = cfg.variant;
    meta.image_id = Some(crate::verify::sha256(config));
    meta.raw_config = Some(config.to_vec());
    Ok(())
}
