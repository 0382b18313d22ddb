//! Streaming squash: layers are read once each, top layer first, so the first time a path is seen
//! it is the visible version; whiteouts (`.wh.NAME`) and opaque markers (`.wh..wh..opq`) of a
//! layer hide paths of the layers below it. Only a mark per path is remembered, never contents.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::verify::Verify;
use crate::{Error, ImageMetadata, LayerInfo, Result};

/// Access to the layer blobs of an image.
pub trait BlobSource: Send + Sync {
    /// Opens layer `index` as stored (possibly compressed). The caller verifies the digest.
    fn open_layer(&self, index: usize, layer: &LayerInfo) -> Result<Box<dyn Read + Send + '_>>;
    /// Whether `layer.digest` is the digest of what `open_layer` returns. When it is not (legacy
    /// `docker save` archives), the uncompressed stream is checked against the diff_id instead.
    fn blob_digest_known(&self, index: usize) -> bool;
}

pub enum Layers {
    Dir(PathBuf),
    Blobs(Box<dyn BlobSource>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Other,
}

/// One visible entry of the squashed filesystem.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Absolute path (`/etc/os-release`)
    pub path: &'a str,
    pub kind: EntryKind,
    pub mode: u32,
    pub size: u64,
    /// Target of a symlink or hard link
    pub link_target: Option<&'a str>,
    /// Index of the layer the entry comes from (`None` for a directory source)
    pub layer: Option<usize>,
}

/// Receives the visible entries. `content` reads the entry's data (empty for non-files); what is
/// not read is skipped. An error aborts the walk.
pub trait Visitor {
    fn visit(&mut self, entry: &Entry<'_>, content: &mut dyn Read) -> io::Result<()>;

    /// Whether the visitor also wants to see `path` in lower layers where it is hidden (shadowed
    /// or deleted by an upper layer), e.g. to tell in which layer a package was installed.
    fn wants_hidden(&self, _path: &str) -> bool {
        false
    }

    /// Receives a hidden copy asked for with [`Visitor::wants_hidden`].
    fn visit_hidden(&mut self, _entry: &Entry<'_>, _content: &mut dyn Read) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct WalkStats {
    /// Visible entries handed to the visitor
    pub entries: u64,
    /// Entries read in all layers (including hidden ones)
    pub layer_entries: u64,
    /// Uncompressed bytes streamed
    pub bytes: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// A directory seen in an upper layer: lower layers add to it
    Dir,
    /// A non-directory seen in an upper layer: hides the path and anything below it
    File,
    /// Deleted by a whiteout: hides the path and anything below it
    Whiteout,
}

struct State {
    marks: HashMap<Box<str>, Mark>,
    opaque: HashSet<Box<str>>,
}

impl State {
    /// Whether a lower-layer entry at `path` is hidden by the layers above.
    fn hidden(&self, path: &str) -> bool {
        if matches!(
            self.marks.get(path),
            Some(Mark::Whiteout) | Some(Mark::File)
        ) {
            return true;
        }
        let b = path.as_bytes();
        for (i, &c) in b.iter().enumerate().skip(1) {
            if c == b'/' {
                let anc = &path[..i];
                if matches!(self.marks.get(anc), Some(Mark::Whiteout) | Some(Mark::File))
                    || self.opaque.contains(anc)
                {
                    return true;
                }
            }
        }
        !self.opaque.is_empty() && self.opaque.contains("/")
    }
}

/// `./usr//bin/` -> `/usr/bin`; `None` for the root itself or paths escaping it.
pub(crate) fn normalize(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len() + 1);
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => {
                out.push('/');
                out.push_str(p);
            }
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
}

impl<R: BufRead> Decoder<R> {
    fn new(mut r: R, what: &str) -> Result<Self> {
        let head = r.fill_buf().map_err(|e| Error::io(what, e))?;
        if head.starts_with(&[0x1f, 0x8b]) {
            Ok(Self::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(
                r,
            ))))
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            let d = zstd::stream::read::Decoder::with_buffer(r)
                .map_err(|e| Error::io(format!("{what}: zstd"), e))?;
            Ok(Self::Zstd(d))
        } else {
            Ok(Self::Plain(r))
        }
    }

    fn into_inner(self) -> R {
        match self {
            Self::Plain(r) => r,
            Self::Gzip(d) => (*d).into_inner(),
            Self::Zstd(d) => d.finish(),
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(r) => r.read(buf),
            Self::Gzip(d) => d.read(buf),
            Self::Zstd(d) => d.read(buf),
        }
    }
}

pub fn walk(
    layers: &Layers,
    meta: &ImageMetadata,
    max_size: Option<u64>,
    visitor: &mut dyn Visitor,
) -> Result<WalkStats> {
    match layers {
        Layers::Dir(root) => walk_dir(root, max_size, visitor),
        Layers::Blobs(src) => walk_blobs(src.as_ref(), meta, max_size, visitor),
    }
}

/// Chunks of decompressed layer data handed from the decompressing thread to the walker.
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(c)) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0), // producer finished
            }
        }
        let n = out.len().min(self.chunk.len() - self.pos);
        out[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads, verifies and decompresses one layer blob, sending the tar stream in chunks; returns
/// the number of stored bytes once the blob digest has been checked.
fn produce(
    raw: Box<dyn Read + Send + '_>,
    blob_digest: Option<&str>,
    remaining: Option<u64>,
    image: &str,
    what: &str,
    tx: SyncSender<io::Result<Vec<u8>>>,
) -> Result<u64> {
    let stored = Verify::new(raw, blob_digest, format!("{what} blob")).with_limit(remaining, image);
    let mut dec = match Decoder::new(stored, what) {
        Ok(d) => d,
        Err(e) => {
            let _ = tx.send(Err(io::Error::other(e.to_string())));
            return Err(e);
        }
    };
    loop {
        let mut buf = vec![0u8; 256 * 1024];
        match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                buf.truncate(n);
                if tx.send(Ok(buf)).is_err() {
                    // the walker stopped (it reports its own error)
                    return Ok(0);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send(Err(e));
                return Err(Error::msg(format!("{what}: decompression failed")));
            }
        }
    }
    drop(tx);
    dec.into_inner().finish()
}

fn walk_blobs(
    src: &dyn BlobSource,
    meta: &ImageMetadata,
    max_size: Option<u64>,
    visitor: &mut dyn Visitor,
) -> Result<WalkStats> {
    let mut st = State {
        marks: HashMap::new(),
        opaque: HashSet::new(),
    };
    let mut stats = WalkStats::default();
    let mut stored_total = 0u64;
    for i in (0..meta.layers.len()).rev() {
        let layer = &meta.layers[i];
        let what = format!("{}: layer {} ({})", meta.user_input, i + 1, layer.digest);
        let remaining = max_size.map(|m| m.saturating_sub(stored_total));
        let raw = src.open_layer(i, layer).map_err(|e| e.context(&what))?;
        let blob_digest = src.blob_digest_known(i).then_some(layer.digest.as_str());
        let diff_check = if blob_digest.is_none() {
            layer.diff_id.as_deref()
        } else {
            None
        };
        // decompression runs on its own thread, overlapping with tar parsing and cataloging
        let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(8);
        let stored = std::thread::scope(|scope| -> Result<u64> {
            let producer =
                scope.spawn(|| produce(raw, blob_digest, remaining, &meta.user_input, &what, tx));
            let reader = ChannelReader {
                rx,
                chunk: Vec::new(),
                pos: 0,
            };
            let tar_stream = Verify::new(reader, diff_check, format!("{what} (uncompressed)"));
            let walked = walk_layer(tar_stream, i, &mut st, &mut stats, visitor)
                .map_err(|e| e.context(&what))
                .and_then(|(n, mut t)| {
                    stats.layer_entries += n;
                    // drain trailing data so that both digests cover the whole blob
                    io::copy(&mut t, &mut io::sink()).map_err(|e| Error::io(&what, e))?;
                    stats.bytes += t.count();
                    t.finish_into_inner().map(|_| ())
                });
            let produced = producer
                .join()
                .map_err(|_| Error::msg(format!("{what}: the decompressing thread failed")))?;
            walked?;
            produced
        })?;
        stored_total += stored;
    }
    Ok(stats)
}

fn walk_layer<R: Read>(
    stream: R,
    layer: usize,
    st: &mut State,
    stats: &mut WalkStats,
    visitor: &mut dyn Visitor,
) -> Result<(u64, R)> {
    let mut archive = tar::Archive::new(stream);
    let mut pending_whiteouts: Vec<String> = Vec::new();
    let mut pending_opaque: Vec<String> = Vec::new();
    let mut seen_here: Vec<(String, Mark)> = Vec::new();
    let mut n = 0u64;
    {
        let entries = archive
            .entries()
            .map_err(|e| Error::io("not a tar stream", e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| {
                Error::io(
                    "cannot read the layer tar (blob truncated, corrupted or download interrupted)",
                    e,
                )
            })?;
            n += 1;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(path) = normalize(&raw) else {
                continue;
            };
            let (parent, name) = path.rsplit_once('/').unwrap_or(("", &path));
            if name == ".wh..wh..opq" {
                pending_opaque.push(if parent.is_empty() {
                    "/".into()
                } else {
                    parent.to_string()
                });
                continue;
            }
            if let Some(deleted) = name.strip_prefix(".wh.") {
                pending_whiteouts.push(format!("{parent}/{deleted}"));
                continue;
            }
            let header = entry.header();
            let kind = match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
                tar::EntryType::Directory => EntryKind::Dir,
                tar::EntryType::Symlink => EntryKind::Symlink,
                tar::EntryType::Link => EntryKind::Hardlink,
                _ => EntryKind::Other,
            };
            if st.hidden(&path) || st.marks.contains_key(path.as_str()) {
                // an upper layer (or an earlier entry) provided or deleted it
                if kind == EntryKind::File && visitor.wants_hidden(&path) {
                    let e = Entry {
                        path: &path,
                        kind,
                        mode: header.mode().unwrap_or(0o644),
                        size: header.size().unwrap_or(0),
                        link_target: None,
                        layer: Some(layer),
                    };
                    visitor
                        .visit_hidden(&e, &mut entry)
                        .map_err(|err| Error::io(format!("reading {path}"), err))?;
                }
                continue;
            }
            match st.marks.get(path.as_str()) {
                Some(_) => continue,
                None => {
                    let mark = if kind == EntryKind::Dir {
                        Mark::Dir
                    } else {
                        Mark::File
                    };
                    seen_here.push((path.clone(), mark));
                }
            }
            let mode = header.mode().unwrap_or(0o644);
            let size = header.size().unwrap_or(0);
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned());
            let link = match (kind, link) {
                (EntryKind::Hardlink, Some(l)) => normalize(&l),
                (_, l) => l,
            };
            let e = Entry {
                path: &path,
                kind,
                mode,
                size,
                link_target: link.as_deref(),
                layer: Some(layer),
            };
            stats.entries += 1;
            visitor
                .visit(&e, &mut entry)
                .map_err(|err| Error::io(format!("reading {path}"), err))?;
        }
    }
    // marks of this layer apply to the layers below
    for (p, m) in seen_here {
        st.marks.entry(p.into_boxed_str()).or_insert(m);
    }
    for p in pending_whiteouts {
        st.marks.entry(p.into_boxed_str()).or_insert(Mark::Whiteout);
    }
    for p in pending_opaque {
        st.opaque.insert(p.into_boxed_str());
    }
    Ok((n, archive.into_inner()))
}

fn walk_dir(root: &Path, max_size: Option<u64>, visitor: &mut dyn Visitor) -> Result<WalkStats> {
    let mut stats = WalkStats::default();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if rel.is_empty() => return Err(Error::io(dir.display(), e)),
            Err(e) => {
                tracing::warn!("skipping {}: {e}", dir.display());
                continue;
            }
        };
        let mut names: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        names.sort();
        for name in names.into_iter().rev() {
            let full = dir.join(&name);
            let path = format!("{rel}/{}", name.to_string_lossy());
            let Ok(md) = fs::symlink_metadata(&full) else {
                continue;
            };
            let ft = md.file_type();
            let kind = if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_file() {
                EntryKind::File
            } else if ft.is_symlink() {
                EntryKind::Symlink
            } else {
                EntryKind::Other
            };
            let link = if kind == EntryKind::Symlink {
                fs::read_link(&full)
                    .ok()
                    .map(|l| l.to_string_lossy().into_owned())
            } else {
                None
            };
            use std::os::unix::fs::PermissionsExt;
            let size = if kind == EntryKind::File { md.len() } else { 0 };
            stats.bytes += size;
            if let Some(max) = max_size {
                if stats.bytes > max {
                    return Err(Error::TooLarge {
                        image: root.display().to_string(),
                        size: stats.bytes,
                        max,
                    });
                }
            }
            let e = Entry {
                path: &path,
                kind,
                mode: md.permissions().mode() & 0o7777,
                size,
                link_target: link.as_deref(),
                layer: None,
            };
            stats.entries += 1;
            let mut content = LazyFile {
                path: if kind == EntryKind::File {
                    Some(full.clone())
                } else {
                    None
                },
                file: None,
            };
            visitor
                .visit(&e, &mut content)
                .map_err(|err| Error::io(full.display(), err))?;
            if kind == EntryKind::Dir {
                stack.push((full, path));
            }
        }
    }
    Ok(stats)
}

/// Opens a file of a directory source only when the visitor reads it.
struct LazyFile {
    path: Option<PathBuf>,
    file: Option<fs::File>,
}

impl Read for LazyFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.file.is_none() {
            match &self.path {
                Some(p) => self.file = Some(fs::File::open(p)?),
                None => return Ok(0),
            }
        }
        self.file.as_mut().map_or(Ok(0), |f| f.read(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize("./usr//bin/").as_deref(), Some("/usr/bin"));
        assert_eq!(
            normalize("etc/os-release").as_deref(),
            Some("/etc/os-release")
        );
        assert_eq!(normalize("./"), None);
        assert_eq!(normalize("../etc/passwd"), None);
    }
}
