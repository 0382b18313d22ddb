//! A reader that checks the sha256 digest of what passes through it and enforces a size limit.
//! Hashing runs on a helper thread, fed with the chunks as they are read, so that verification
//! overlaps with decompression and tar parsing instead of adding to them.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::Error;

const CHUNK: usize = 256 * 1024;

/// The channel feeding the hashing thread and the thread itself.
type Hasher = (SyncSender<Arc<Vec<u8>>>, JoinHandle<Sha256>);

/// Reads `inner` in large chunks; when a digest is expected, every chunk is also hashed on a
/// helper thread. [`Verify::finish`] drains the rest and compares. Reading past `limit` bytes
/// fails with a size error.
pub struct Verify<R> {
    inner: R,
    expected: Option<String>,
    what: String,
    count: u64,
    limit: Option<(u64, String)>,
    chunk: Arc<Vec<u8>>,
    pos: usize,
    hasher: Option<Hasher>,
}

impl<R: Read> Verify<R> {
    pub fn new(inner: R, expected: Option<&str>, what: impl Into<String>) -> Self {
        let hasher = expected.map(|_| {
            let (tx, rx) = sync_channel::<Arc<Vec<u8>>>(16);
            let h = std::thread::spawn(move || {
                let mut h = Sha256::new();
                for c in rx {
                    h.update(&c[..]);
                }
                h
            });
            (tx, h)
        });
        Self {
            inner,
            expected: expected.map(|s| s.to_ascii_lowercase()),
            what: what.into(),
            count: 0,
            limit: None,
            chunk: Arc::new(Vec::new()),
            pos: 0,
            hasher,
        }
    }

    /// Fails reads once more than `limit` bytes went through (`image` names the input).
    pub fn with_limit(mut self, limit: Option<u64>, image: &str) -> Self {
        self.limit = limit.map(|l| (l, image.to_string()));
        self
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Reads to the end and checks the digest; returns the byte count.
    pub fn finish(self) -> Result<u64, Error> {
        let mut s = self;
        s.drain()?;
        let count = s.count;
        s.check().map(|_| count)
    }

    /// Reads to the end, checks the digest and gives back the inner reader.
    pub fn finish_into_inner(self) -> Result<R, Error> {
        let mut s = self;
        s.drain()?;
        s.check()
    }

    fn drain(&mut self) -> Result<(), Error> {
        io::copy(self, &mut io::sink()).map_err(|e| Error::io(&self.what, e))?;
        Ok(())
    }

    fn check(mut self) -> Result<R, Error> {
        if let (Some(exp), Some((tx, worker))) = (self.expected.take(), self.hasher.take()) {
            drop(tx);
            let h = worker
                .join()
                .map_err(|_| Error::msg(format!("{}: hashing thread failed", self.what)))?;
            let actual = format!("sha256:{:x}", h.finalize());
            if exp != actual {
                return Err(Error::DigestMismatch {
                    what: self.what,
                    expected: exp,
                    actual,
                });
            }
        }
        Ok(self.inner)
    }

    fn refill(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        let n = loop {
            match self.inner.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        buf.truncate(n);
        self.count += n as u64;
        if let Some((limit, image)) = &self.limit {
            if self.count > *limit {
                return Err(io::Error::other(Error::TooLarge {
                    image: image.clone(),
                    size: self.count,
                    max: *limit,
                }));
            }
        }
        let chunk = Arc::new(buf);
        if let Some((tx, _)) = &self.hasher {
            if n > 0 && tx.send(chunk.clone()).is_err() {
                return Err(io::Error::other("hashing thread stopped"));
            }
        }
        self.chunk = chunk;
        self.pos = 0;
        Ok(())
    }
}

impl<R: Read> Read for Verify<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.chunk.len() {
            self.refill()?;
            if self.chunk.is_empty() {
                return Ok(0);
            }
        }
        let n = out.len().min(self.chunk.len() - self.pos);
        out[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl<R: Read> io::BufRead for Verify<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.chunk.len() {
            self.refill()?;
        }
        Ok(&self.chunk[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.chunk.len());
    }
}

/// sha256 of a byte slice as `sha256:<hex>`.
pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

/// Checks `data` against an expected digest.
pub fn check(data: &[u8], expected: &str, what: &str) -> Result<(), Error> {
    let actual = sha256(data);
    if !actual.eq_ignore_ascii_case(expected) {
        if !expected.starts_with("sha256:") {
            return Err(Error::msg(format!(
                "{what}: unsupported digest algorithm in {expected} (only sha256 is supported)"
            )));
        }
        return Err(Error::DigestMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_and_limits() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let good = sha256(&data);
        let mut v = Verify::new(&data[..], Some(&good), "blob");
        let mut first = [0u8; 1000];
        v.read_exact(&mut first).unwrap();
        assert_eq!(v.finish().unwrap(), 1_000_000);
        let bad = sha256(b"other");
        let e = Verify::new(&data[..], Some(&bad), "blob")
            .finish()
            .err()
            .unwrap();
        assert!(matches!(e, Error::DigestMismatch { .. }));
        let e = Verify::new(&data[..], None, "blob")
            .with_limit(Some(10_000), "img")
            .finish()
            .err()
            .unwrap();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    }
}
