//! Package catalogers and SBOM formats.
//!
//! [`catalog`] walks an image once ([`kubescape_image::Image::walk`]) and returns a [`Catalog`];
//! [`format`] writes it as SPDX 2.3 JSON, CycloneDX 1.6 JSON or Syft JSON.

mod catalog;
pub mod catalogers;
pub mod format;
pub mod license;
pub mod model;
pub mod purl;

pub use catalog::{catalog, catalog_with_progress, CatalogOptions};
pub use kubescape_image;
pub use model::{Catalog, Distro, Location, Package, PkgType};

/// Errors of cataloging: image access errors, passed through.
pub type Error = kubescape_image::Error;

/// Name and version written into SBOMs as the producing tool.
pub const TOOL_NAME: &str = "kubescape-rs";
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
