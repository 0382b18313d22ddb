//! A reader that hashes what passes through it and checks the digest and a size limit.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use crate::Error;

/// Hashes every byte read; [`Verify::finish`] drains the rest and compares with the expected
/// `sha256:<hex>` digest. Reading past `limit` bytes fails with a size error.
pub struct Verify<R> {
    inner: R,
    hasher: Sha256,
    expected: Option<String>,
    what: String,
    count: u64,
    limit: Option<(u64, String)>,
}

impl<R: Read> Verify<R> {
    pub fn new(inner: R, expected: Option<&str>, what: impl Into<String>) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            expected: expected.map(|s| s.to_ascii_lowercase()),
            what: what.into(),
            count: 0,
            limit: None,
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
        let count = self.count;
        self.finish_into_inner().map(|_| count)
    }

    /// Reads to the end, checks the digest and gives back the inner reader.
    pub fn finish_into_inner(mut self) -> Result<R, Error> {
        io::copy(&mut self, &mut io::sink()).map_err(|e| Error::io(&self.what, e))?;
        let actual = format!("sha256:{:x}", self.hasher.finalize());
        match self.expected {
            Some(exp) if exp != actual => Err(Error::DigestMismatch {
                what: self.what,
                expected: exp,
                actual,
            }),
            _ => Ok(self.inner),
        }
    }
}

impl<R: Read> Read for Verify<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
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
        Ok(n)
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
