//! `docker save` archives and OCI image layouts (a directory, or the same in a tar file).
//! A tar archive is indexed once (entry offsets); layers are then read in place with seeks.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::manifest::{self, Descriptor, ManifestDoc};
use crate::squash::{BlobSource, Layers};
use crate::verify;
use crate::{Error, ImageMetadata, LayerInfo, Platform, Result};

/// Largest manifest / config / index read into memory.
const MAX_DOC: u64 = 16 << 20;

/// Files of an archive or layout, by relative path.
trait Store: Send + Sync {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send + '_>>;
    fn exists(&self, name: &str) -> bool;
    fn size(&self, name: &str) -> Option<u64>;
    fn describe(&self) -> String;

    fn read_doc(&self, name: &str) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.open(name)?
            .take(MAX_DOC)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(format!("{}: {name}", self.describe()), e))?;
        Ok(buf)
    }
}

struct DirStore(PathBuf);

impl Store for DirStore {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send + '_>> {
        let p = self.0.join(name);
        let f = File::open(&p).map_err(|e| Error::io(p.display(), e))?;
        Ok(Box::new(BufReader::with_capacity(256 * 1024, f)))
    }
    fn exists(&self, name: &str) -> bool {
        self.0.join(name).is_file()
    }
    fn size(&self, name: &str) -> Option<u64> {
        self.0.join(name).metadata().ok().map(|m| m.len())
    }
    fn describe(&self) -> String {
        self.0.display().to_string()
    }
}

struct TarStore {
    path: PathBuf,
    entries: HashMap<String, (u64, u64)>,
}

impl TarStore {
    fn index(path: &Path) -> Result<Self> {
        let mut f = File::open(path).map_err(|e| Error::io(path.display(), e))?;
        let mut magic = [0u8; 4];
        let n = f
            .read(&mut magic)
            .map_err(|e| Error::io(path.display(), e))?;
        if n >= 2 && magic[..2] == [0x1f, 0x8b] {
            return Err(Error::msg(format!(
                "{}: the archive is gzip-compressed; decompress it first (gunzip) — layers are read in place and need an uncompressed tar",
                path.display()
            )));
        }
        f.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(path.display(), e))?;
        let not_image = |detail: String| {
            Error::msg(format!(
                "{}: not a container image archive ({detail}); expected the tar of `docker save` or of an OCI image layout",
                path.display()
            ))
        };
        let mut ar = tar::Archive::new(f);
        let mut entries = HashMap::new();
        for e in ar
            .entries_with_seek()
            .map_err(|e| not_image(e.to_string()))?
        {
            let e = e.map_err(|e| not_image(e.to_string()))?;
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let name = name.trim_start_matches("./").to_string();
            if e.header().entry_type().is_file() {
                entries.insert(name, (e.raw_file_position(), e.size()));
            }
        }
        if entries.is_empty() {
            return Err(not_image("no files in it".into()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            entries,
        })
    }
}

impl Store for TarStore {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send + '_>> {
        let &(off, size) = self.entries.get(name).ok_or_else(|| {
            Error::msg(format!(
                "{}: {name} is missing from the archive",
                self.path.display()
            ))
        })?;
        let mut f = File::open(&self.path).map_err(|e| Error::io(self.path.display(), e))?;
        f.seek(SeekFrom::Start(off))
            .map_err(|e| Error::io(self.path.display(), e))?;
        Ok(Box::new(BufReader::with_capacity(256 * 1024, f).take(size)))
    }
    fn exists(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }
    fn size(&self, name: &str) -> Option<u64> {
        self.entries.get(name).map(|e| e.1)
    }
    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// Layers addressed by file name in a store.
struct StoreLayers<S: Store> {
    store: S,
    files: Vec<String>,
    digest_known: Vec<bool>,
}

impl<S: Store> BlobSource for StoreLayers<S> {
    fn open_layer(&self, index: usize, _layer: &LayerInfo) -> Result<Box<dyn Read + Send + '_>> {
        self.store.open(&self.files[index])
    }
    fn blob_digest_known(&self, index: usize) -> bool {
        self.digest_known[index]
    }
}

fn blob_path(digest: &str, what: &str) -> Result<String> {
    match digest.split_once(':') {
        Some((alg, hex))
            if !alg.is_empty()
                && !hex.is_empty()
                && hex.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok(format!("blobs/{alg}/{hex}"))
        }
        _ => Err(Error::msg(format!("{what}: invalid digest {digest:?}"))),
    }
}

/// A tar file of either kind: told apart by `manifest.json` (docker) vs `index.json` (OCI).
pub fn open_archive_file(path: &Path, platform: &Platform) -> Result<(ImageMetadata, Layers)> {
    let store = TarStore::index(path)?;
    if store.exists("manifest.json") {
        open_docker(store)
    } else if store.exists("index.json") {
        open_oci(store, None, platform, "oci-archive")
    } else {
        Err(Error::msg(format!(
            "{}: not a container image archive (neither manifest.json of `docker save` nor index.json of an OCI layout in it)",
            path.display()
        )))
    }
}

pub fn open_oci_archive(
    path: &Path,
    ref_name: Option<&str>,
    platform: &Platform,
) -> Result<(ImageMetadata, Layers)> {
    let store = TarStore::index(path)?;
    if !store.exists("index.json") {
        return Err(Error::msg(format!(
            "{}: not an OCI layout archive (no index.json)",
            path.display()
        )));
    }
    open_oci(store, ref_name, platform, "oci-archive")
}

pub fn open_oci_dir(
    path: &Path,
    ref_name: Option<&str>,
    platform: &Platform,
) -> Result<(ImageMetadata, Layers)> {
    if !path.join("index.json").is_file() {
        return Err(Error::msg(format!(
            "{}: not an OCI image layout directory (no index.json)",
            path.display()
        )));
    }
    open_oci(DirStore(path.to_path_buf()), ref_name, platform, "oci-dir")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn open_docker<S: Store + 'static>(store: S) -> Result<(ImageMetadata, Layers)> {
    let what = store.describe();
    let doc = store.read_doc("manifest.json")?;
    let entries: Vec<DockerManifestEntry> = serde_json::from_slice(&doc).map_err(|e| {
        Error::msg(format!(
            "{what}: manifest.json is not a docker-save manifest: {e}"
        ))
    })?;
    let Some(entry) = entries.into_iter().next() else {
        return Err(Error::msg(format!("{what}: manifest.json lists no image")));
    };
    let config = store.read_doc(&entry.config)?;
    // newer docker versions name blobs by digest: verify the config when they do
    if let Some(hex) = entry.config.strip_prefix("blobs/sha256/") {
        verify::check(
            &config,
            &format!("sha256:{hex}"),
            &format!("{what}: config"),
        )?;
    } else if let Some(hex) = entry.config.strip_suffix(".json").filter(|h| h.len() == 64) {
        verify::check(
            &config,
            &format!("sha256:{hex}"),
            &format!("{what}: config"),
        )?;
    }
    let mut digest_known = Vec::new();
    let descriptors: Vec<Descriptor> = entry
        .layers
        .iter()
        .map(|l| {
            let size = store.size(l).ok_or_else(|| {
                Error::msg(format!(
                    "{what}: layer {l} listed in manifest.json is missing"
                ))
            })?;
            let by_digest = l
                .strip_prefix("blobs/sha256/")
                .map(|h| format!("sha256:{h}"));
            digest_known.push(by_digest.is_some());
            Ok(Descriptor {
                media_type: "application/vnd.docker.image.rootfs.diff.tar".into(),
                digest: by_digest.unwrap_or_default(),
                size,
                platform: None,
                annotations: Default::default(),
            })
        })
        .collect::<Result<_>>()?;
    let mut meta = ImageMetadata {
        source_kind: "docker-archive",
        tags: entry.repo_tags.unwrap_or_default(),
        ..Default::default()
    };
    manifest::fill_metadata(&mut meta, &descriptors, &config, &what)?;
    for l in meta.layers.iter_mut() {
        if l.digest.is_empty() {
            // legacy layout: the layer file is the uncompressed tar, named by its diff_id
            l.digest = l.diff_id.clone().unwrap_or_default();
        }
    }
    if meta.layers.iter().any(|l| l.diff_id.is_none()) && digest_known.iter().any(|k| !k) {
        return Err(Error::msg(format!(
            "{what}: the image config has no rootfs.diff_ids, so the layers cannot be verified"
        )));
    }
    let layers = StoreLayers {
        store,
        files: entry.layers,
        digest_known,
    };
    Ok((meta, Layers::Blobs(Box::new(layers))))
}

fn open_oci<S: Store + 'static>(
    store: S,
    ref_name: Option<&str>,
    platform: &Platform,
    kind: &'static str,
) -> Result<(ImageMetadata, Layers)> {
    let what = store.describe();
    let mut doc_bytes = store.read_doc("index.json")?;
    let mut doc = ManifestDoc::parse(&doc_bytes, &format!("{what}: index.json"))?;
    let mut tags = Vec::new();
    let mut manifest_digest = None;
    // follow nested indexes down to an image manifest
    for depth in 0..4 {
        if !doc.is_index() {
            break;
        }
        let mut list = doc.manifests.clone().unwrap_or_default();
        if let (0, Some(r)) = (depth, ref_name) {
            let names: Vec<String> = list
                .iter()
                .filter_map(|d| {
                    d.annotations
                        .get("org.opencontainers.image.ref.name")
                        .cloned()
                })
                .collect();
            list.retain(|d| {
                d.annotations
                    .get("org.opencontainers.image.ref.name")
                    .is_some_and(|n| n == r)
            });
            if list.is_empty() {
                return Err(Error::msg(format!(
                    "{what}: no image named {r:?} in index.json (names: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )));
            }
        }
        if list.is_empty() {
            return Err(Error::msg(format!("{what}: the index lists no image")));
        }
        let d = manifest::choose(&list, platform, &what)?;
        if let Some(t) = d.annotations.get("org.opencontainers.image.ref.name") {
            tags.push(t.clone());
        }
        let p = blob_path(&d.digest, &what)?;
        doc_bytes = store.read_doc(&p)?;
        verify::check(&doc_bytes, &d.digest, &format!("{what}: manifest"))?;
        manifest_digest = Some(d.digest.clone());
        doc = ManifestDoc::parse(&doc_bytes, &format!("{what}: {p}"))?;
    }
    let (Some(cfg), Some(layers)) = (doc.config.clone(), doc.layers.clone()) else {
        return Err(Error::msg(format!("{what}: no image manifest found")));
    };
    let cfg_bytes = store.read_doc(&blob_path(&cfg.digest, &what)?)?;
    verify::check(&cfg_bytes, &cfg.digest, &format!("{what}: config"))?;
    let mut meta = ImageMetadata {
        source_kind: kind,
        tags,
        manifest_digest,
        manifest_media_type: doc.media_type.clone(),
        raw_manifest: Some(doc_bytes),
        ..Default::default()
    };
    manifest::fill_metadata(&mut meta, &layers, &cfg_bytes, &what)?;
    let files = layers
        .iter()
        .map(|l| blob_path(&l.digest, &what))
        .collect::<Result<Vec<_>>>()?;
    let digest_known = vec![true; files.len()];
    Ok((
        meta,
        Layers::Blobs(Box::new(StoreLayers {
            store,
            files,
            digest_known,
        })),
    ))
}
