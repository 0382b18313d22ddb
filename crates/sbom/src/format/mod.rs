//! SBOM formats. Each writer takes a [`Catalog`] and returns a JSON document; Syft JSON can
//! also be read back into a [`Catalog`] ([`from_syft`]).

mod cyclonedx;
mod spdx;
mod syft;

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::model::{Catalog, Package};

/// The component renderers, for documents that extend the inventory (the vulnerability BOM).
pub use cyclonedx::{
    component as cyclonedx_component, component_ref as cyclonedx_component_ref,
    inventory as cyclonedx_inventory, os_component as cyclonedx_os_component,
    os_component_ref as cyclonedx_os_component_ref, to_cyclonedx,
};
pub use spdx::to_spdx;
pub use syft::{from_syft, to_syft, SYFT_JSON_FOUND_BY, SYFT_SCHEMA_VERSION};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    SpdxJson,
    CycloneDxJson,
    SyftJson,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "spdx-json" | "spdx" => Ok(Self::SpdxJson),
            "cyclonedx-json" | "cyclonedx" => Ok(Self::CycloneDxJson),
            "syft-json" | "syft" | "json" => Ok(Self::SyftJson),
            other => Err(format!(
                "unknown SBOM format {other:?}: use spdx-json, cyclonedx-json or syft-json"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SpdxJson => "spdx-json",
            Self::CycloneDxJson => "cyclonedx-json",
            Self::SyftJson => "syft-json",
        })
    }
}

/// Serializes a catalog in the chosen format.
pub fn render(catalog: &Catalog, format: Format) -> serde_json::Value {
    match format {
        Format::SpdxJson => to_spdx(catalog),
        Format::CycloneDxJson => to_cyclonedx(catalog),
        Format::SyftJson => to_syft(catalog),
    }
}

/// Stable 16-hex-digit identifier of a package (type, name, version, first location, purl).
pub fn package_id(p: &Package) -> String {
    let mut h = Sha256::new();
    for part in [
        p.kind.syft_type(),
        &p.name,
        &p.version,
        &p.purl,
        p.locations.first().map(|l| l.path.as_str()).unwrap_or(""),
        p.metadata
            .get("virtualPath")
            .and_then(|v| v.as_str())
            .unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Name of the image for document titles: the first tag, else what the user typed.
pub fn image_name(c: &Catalog) -> String {
    c.source
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| c.source.user_input.clone())
}
