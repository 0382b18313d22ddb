//! Runs the catalogers over an image in one streaming walk.
//!
//! During the walk, small package-database files (dpkg status, apk installed, Python METADATA,
//! package.json, ...) are kept in memory; Go binaries are scanned for their build info as they
//! stream by; Java archives are read one at a time. After the walk the kept files are parsed.
//! Memory is bounded by what the catalogers need, not by the size of the image.

use std::io::{self, Read};

use kubescape_image::{Entry, EntryKind, Image, Visitor};

use crate::catalogers::{
    apk, dotnet, dpkg, golang, java, lockfiles, npm, osrelease, php, python, rpm, ruby, rust,
};
use crate::model::{Catalog, Distro, Location, Package};
use crate::Error;

/// Limits of the catalog walk.
#[derive(Debug, Clone)]
pub struct CatalogOptions {
    /// Largest package-database file kept in memory (dpkg status, METADATA, package.json...)
    pub max_record_file: u64,
    /// Largest Java archive read into memory (bigger ones are read entry by entry as they stream)
    pub max_archive: u64,
    /// Largest executable read into memory to look for Go and Rust (cargo-auditable) metadata;
    /// bigger ELF files are only scanned, as they stream, for Go build info
    pub max_binary: u64,
}

impl Default for CatalogOptions {
    fn default() -> Self {
        Self {
            max_record_file: 64 << 20,
            max_archive: 64 << 20,
            max_binary: 48 << 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // PythonRecord is the RECORD file, not a naming echo
pub(crate) enum Record {
    OsRelease,
    DpkgStatus,
    DpkgStatusD,
    DpkgList,
    DpkgCopyright,
    ApkInstalled,
    RpmDb,
    PythonMetadata,
    PythonRecord,
    PackageJson,
    Gemspec,
    ComposerInstalled,
    DotnetDeps,
    NpmLock,
    CargoLock,
}

/// A kept file.
pub(crate) struct Kept {
    pub kind: Record,
    pub path: String,
    pub layer: Option<usize>,
    pub data: Vec<u8>,
}

fn classify(path: &str) -> Option<Record> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match path {
        "/etc/os-release" | "/usr/lib/os-release" => return Some(Record::OsRelease),
        "/var/lib/dpkg/status" => return Some(Record::DpkgStatus),
        "/lib/apk/db/installed" => return Some(Record::ApkInstalled),
        "/var/lib/rpm/rpmdb.sqlite" | "/usr/lib/sysimage/rpm/rpmdb.sqlite" => {
            return Some(Record::RpmDb)
        }
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("/var/lib/dpkg/") {
        if let Some(f) = rest.strip_prefix("status.d/") {
            if !f.contains('/') && !f.ends_with(".md5sums") {
                return Some(Record::DpkgStatusD);
            }
        }
        if rest.starts_with("info/") && name.ends_with(".list") {
            return Some(Record::DpkgList);
        }
        return None;
    }
    if let Some(rest) = path.strip_prefix("/usr/share/doc/") {
        if name == "copyright" && rest.matches('/').count() == 1 {
            return Some(Record::DpkgCopyright);
        }
        return None;
    }
    match name {
        "METADATA" if path.ends_with(".dist-info/METADATA") => Some(Record::PythonMetadata),
        "RECORD" if path.ends_with(".dist-info/RECORD") => Some(Record::PythonRecord),
        "PKG-INFO" if path.ends_with(".egg-info/PKG-INFO") => Some(Record::PythonMetadata),
        "package.json" => Some(Record::PackageJson),
        "package-lock.json" => Some(Record::NpmLock),
        "Cargo.lock" => Some(Record::CargoLock),
        "installed.json" if path.ends_with("/composer/installed.json") => {
            Some(Record::ComposerInstalled)
        }
        _ if name.ends_with(".egg-info") => Some(Record::PythonMetadata),
        _ if name.ends_with(".gemspec") && path.contains("/specifications/") => {
            Some(Record::Gemspec)
        }
        _ if name.ends_with(".deps.json") => Some(Record::DotnetDeps),
        _ => None,
    }
}

pub(crate) fn is_java_archive(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jar", ".war", ".ear", ".jpi", ".hpi"]
        .iter()
        .any(|e| lower.ends_with(e))
}

struct Collector<'a> {
    opts: &'a CatalogOptions,
    on_entry: &'a mut dyn FnMut(&Entry<'_>),
    layer_ids: Vec<String>,
    kept: Vec<Kept>,
    found: Vec<Package>,
    symlinks: Vec<(String, String)>,
    files: u64,
    /// Package databases of lower layers, shadowed by the visible one (install-layer attribution)
    history: Vec<Kept>,
    /// Catalog lock files (directory sources only)
    lockfiles: bool,
}

const HISTORY: [&str; 2] = ["/var/lib/dpkg/status", "/lib/apk/db/installed"];

impl Collector<'_> {
    fn location(&self, path: &str, layer: Option<usize>) -> Location {
        Location {
            path: path.to_string(),
            layer: layer.and_then(|l| self.layer_ids.get(l).cloned()),
        }
    }
}

impl Visitor for Collector<'_> {
    fn wants_hidden(&self, path: &str) -> bool {
        HISTORY.contains(&path)
    }

    fn visit_hidden(&mut self, e: &Entry<'_>, content: &mut dyn Read) -> io::Result<()> {
        if e.size > self.opts.max_record_file {
            return Ok(());
        }
        let mut data = Vec::with_capacity(e.size as usize);
        content.read_to_end(&mut data)?;
        let kind = if e.path == HISTORY[0] {
            Record::DpkgStatus
        } else {
            Record::ApkInstalled
        };
        self.history.push(Kept {
            kind,
            path: e.path.to_string(),
            layer: e.layer,
            data,
        });
        Ok(())
    }

    fn visit(&mut self, e: &Entry<'_>, content: &mut dyn Read) -> io::Result<()> {
        (self.on_entry)(e);
        match e.kind {
            EntryKind::Symlink => {
                if matches!(e.path, "/etc/os-release") {
                    if let Some(t) = e.link_target {
                        self.symlinks.push((e.path.to_string(), t.to_string()));
                    }
                }
                return Ok(());
            }
            EntryKind::File => self.files += 1,
            _ => return Ok(()),
        }
        if let Some(kind) = classify(e.path)
            .filter(|k| self.lockfiles || !matches!(k, Record::NpmLock | Record::CargoLock))
        {
            if e.size > self.opts.max_record_file {
                tracing::warn!(
                    "skipping {} ({} bytes): larger than the limit for package records",
                    e.path,
                    e.size
                );
                return Ok(());
            }
            let mut data = Vec::with_capacity(e.size as usize);
            content
                .take(self.opts.max_record_file)
                .read_to_end(&mut data)?;
            self.kept.push(Kept {
                kind,
                path: e.path.to_string(),
                layer: e.layer,
                data,
            });
            return Ok(());
        }
        let name = e.path.rsplit('/').next().unwrap_or("");
        if is_java_archive(name) {
            if e.size > self.opts.max_archive {
                // too big to hold: read its entries as they stream by
                let loc = self.location(e.path, e.layer);
                match java::catalog_stream(content, e.path, &loc, self.opts.max_archive, 0) {
                    Ok(pkgs) => self.found.extend(pkgs),
                    Err(err) => tracing::warn!("{}: not a readable Java archive: {err}", e.path),
                }
                return Ok(());
            }
            let mut data = Vec::with_capacity(e.size as usize);
            content.read_to_end(&mut data)?;
            let loc = self.location(e.path, e.layer);
            match java::catalog_archive(&data, e.path, &loc, self.opts.max_archive, 0) {
                Ok(pkgs) => self.found.extend(pkgs),
                Err(err) => tracing::warn!("{}: not a readable Java archive: {err}", e.path),
            }
            return Ok(());
        }
        if e.mode & 0o111 != 0 && e.size > 1024 {
            let loc = self.location(e.path, e.layer);
            if e.size <= self.opts.max_binary {
                let mut head = [0u8; 4];
                let n = read_up_to(content, &mut head)?;
                if n < 4 || &head != b"\x7fELF" {
                    return Ok(());
                }
                let mut data = Vec::with_capacity(e.size as usize);
                data.extend_from_slice(&head);
                content.read_to_end(&mut data)?;
                if let Some(info) = golang::from_bytes(&data) {
                    self.found.extend(golang::packages(&info, &loc));
                }
                if let Some(pkgs) = rust::packages(&data, &loc) {
                    self.found.extend(pkgs);
                }
            } else if let Some(info) = golang::scan_binary(content)? {
                self.found.extend(golang::packages(&info, &loc));
            }
        }
        Ok(())
    }
}

/// Fills `buf` as far as the reader goes; the count is short only at the end of the input.
pub(crate) fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Catalogs the packages of an image.
pub fn catalog(image: &Image, opts: &CatalogOptions) -> Result<Catalog, Error> {
    catalog_with_progress(image, opts, &mut |_| {})
}

/// [`catalog`], calling `on_entry` for every visible entry of the squashed filesystem (for
/// progress display).
pub fn catalog_with_progress(
    image: &Image,
    opts: &CatalogOptions,
    on_entry: &mut dyn FnMut(&Entry<'_>),
) -> Result<Catalog, Error> {
    let layer_ids = image
        .metadata
        .layers
        .iter()
        .map(|l| l.diff_id.clone().unwrap_or_else(|| l.digest.clone()))
        .collect();
    let mut c = Collector {
        opts,
        on_entry,
        layer_ids,
        kept: Vec::new(),
        found: Vec::new(),
        symlinks: Vec::new(),
        files: 0,
        history: Vec::new(),
        lockfiles: image.metadata.source_kind == "dir",
    };
    image.walk(&mut c)?;
    let Collector {
        layer_ids,
        kept,
        found,
        symlinks,
        files,
        history,
        ..
    } = c;
    let loc = |path: &str, layer: Option<usize>| Location {
        path: path.to_string(),
        layer: layer.and_then(|l| layer_ids.get(l).cloned()),
    };

    let distro = os_release(&kept, &symlinks);
    let mut packages = found;
    let mut os_packages = dpkg::catalog(&kept, distro.as_ref(), &loc);
    os_packages.extend(apk::catalog(&kept, distro.as_ref(), &loc));
    attribute_install_layers(&mut os_packages, &kept, &history, &layer_ids);
    packages.extend(os_packages);
    packages.extend(rpm::catalog(&kept, distro.as_ref(), &loc));
    packages.extend(python::catalog(&kept, &loc));
    packages.extend(npm::catalog(&kept, &loc));
    packages.extend(ruby::catalog(&kept, &loc));
    packages.extend(php::catalog(&kept, &loc));
    packages.extend(dotnet::catalog(&kept, &loc));
    packages.extend(lockfiles::catalog(&kept, &loc));
    packages.sort_by(|a, b| {
        (
            a.kind,
            &a.name,
            &a.version,
            a.locations.first().map(|l| &l.path),
        )
            .cmp(&(
                b.kind,
                &b.name,
                &b.version,
                b.locations.first().map(|l| &l.path),
            ))
    });
    Ok(Catalog {
        source: image.metadata.clone(),
        distro,
        packages,
        file_count: files,
    })
}

/// (name, version) pairs a package database lists.
type InstalledSet = std::collections::HashSet<(String, String)>;

/// An OS package's layer is the lowest layer from which every package database up to the top
/// lists it at the same version (Trivy reports the same); the visible database's layer is only
/// where the last change happened.
fn attribute_install_layers(
    packages: &mut [Package],
    kept: &[Kept],
    history: &[Kept],
    layer_ids: &[String],
) {
    for path in HISTORY {
        let Some(visible) = kept.iter().find(|k| k.path == path) else {
            continue;
        };
        let mut lower: Vec<&Kept> = history.iter().filter(|k| k.path == path).collect();
        if lower.is_empty() {
            continue;
        }
        lower.sort_by_key(|k| std::cmp::Reverse(k.layer));
        let sets: Vec<(Option<usize>, InstalledSet)> = lower
            .iter()
            .map(|k| {
                let text = String::from_utf8_lossy(&k.data);
                let set = if path == HISTORY[0] {
                    dpkg::installed_set(&text)
                } else {
                    apk::installed_set(&text)
                };
                (k.layer, set)
            })
            .collect();
        for p in packages.iter_mut() {
            if p.locations.first().map(|l| l.path.as_str()) != Some(path) {
                continue;
            }
            let key = (p.name.clone(), p.version.clone());
            let mut layer = visible.layer;
            for (l, set) in &sets {
                if !set.contains(&key) {
                    break;
                }
                layer = *l;
            }
            p.locations[0].layer = layer.and_then(|l| layer_ids.get(l).cloned());
        }
    }
}

fn os_release(kept: &[Kept], symlinks: &[(String, String)]) -> Option<Distro> {
    let get = |p: &str| {
        kept.iter()
            .find(|k| k.kind == Record::OsRelease && k.path == p)
    };
    let etc_link = symlinks.iter().any(|(p, _)| p == "/etc/os-release");
    let file = if etc_link {
        get("/usr/lib/os-release")
    } else {
        get("/etc/os-release").or_else(|| get("/usr/lib/os-release"))
    }?;
    Some(osrelease::parse(&String::from_utf8_lossy(&file.data)))
}
