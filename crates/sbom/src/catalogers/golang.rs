//! Go binaries: the module build info embedded by the Go toolchain (1.18+ inline format), found
//! by scanning the executable as it streams by, without holding it in memory.

use std::io::{self, Read};

use serde_json::json;

use super::base;
use crate::catalog::read_up_to;
use crate::model::{Location, Package, PkgType};
use crate::purl::{cpe, purl};

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "go-module-binary-cataloger";

const MAGIC: &[u8] = b"\xff Go buildinf:";
/// Enough for the header and the module list of any realistic binary
const MAX_INFO: usize = 4 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    pub version: String,
    pub sum: String,
}

#[derive(Debug, Clone, Default)]
pub struct BuildInfo {
    pub go_version: String,
    pub main: Module,
    pub deps: Vec<Module>,
    pub settings: Vec<(String, String)>,
}

/// Reads an executable; returns its Go build info when it is an ELF Go binary built by Go 1.18
/// or later. Non-ELF files cost a 4-byte read.
pub fn scan_binary(r: &mut dyn Read) -> io::Result<Option<BuildInfo>> {
    let mut head = [0u8; 4];
    if read_up_to(r, &mut head)? < 4 || &head != b"\x7fELF" {
        return Ok(None);
    }
    let finder = memchr::memmem::Finder::new(MAGIC);
    let mut win: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = read_up_to(r, &mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        win.extend_from_slice(&chunk[..n]);
        if let Some(pos) = finder.find(&win) {
            win.drain(..pos);
            // pull in what follows the header (the strings are right after it)
            while win.len() < MAX_INFO {
                let n = read_up_to(r, &mut chunk)?;
                if n == 0 {
                    break;
                }
                win.extend_from_slice(&chunk[..n]);
                if let Some(info) = parse_header(&win) {
                    return Ok(info);
                }
            }
            return Ok(parse_header(&win).flatten());
        }
        let keep = win.len().saturating_sub(MAGIC.len() - 1);
        win.drain(..keep);
    }
}

/// Build info of a Go binary held in memory (same format as [`scan_binary`] reads).
pub fn from_bytes(elf: &[u8]) -> Option<BuildInfo> {
    let pos = memchr::memmem::find(elf, MAGIC)?;
    let hdr = &elf[pos..];
    if hdr.len() >= 32 && hdr[15] & 0x2 == 0 {
        return old_format(elf, hdr);
    }
    parse_header(hdr).flatten()
}

/// Go 1.13-1.17: the header holds two pointers (to the version and modinfo string headers);
/// addresses are mapped to file offsets through the ELF program headers (PT_LOAD).
fn old_format(elf: &[u8], hdr: &[u8]) -> Option<BuildInfo> {
    let ptr_size = usize::from(hdr[14]);
    let big_endian = hdr[15] & 0x1 != 0;
    if (ptr_size != 4 && ptr_size != 8) || elf.get(4)? != &2 || big_endian || elf.get(5)? != &1 {
        return None; // only 64-bit little-endian ELF is read
    }
    let u64_at = |b: &[u8], at: usize| -> Option<u64> {
        let s = b.get(at..at + 8)?;
        Some(u64::from_le_bytes([
            s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
        ]))
    };
    let word = |b: &[u8], at: usize| -> Option<u64> {
        if ptr_size == 8 {
            u64_at(b, at)
        } else {
            let s = b.get(at..at + 4)?;
            Some(u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
        }
    };
    let phoff = usize::try_from(u64_at(elf, 0x20)?).ok()?;
    let phentsize = usize::from(u16::from_le_bytes([*elf.get(0x36)?, *elf.get(0x37)?]));
    let phnum = usize::from(u16::from_le_bytes([*elf.get(0x38)?, *elf.get(0x39)?]));
    let mut loads = Vec::new();
    for i in 0..phnum {
        let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
        let p_type = u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?);
        if p_type == 1 {
            loads.push((
                u64_at(elf, at + 0x08)?,
                u64_at(elf, at + 0x10)?,
                u64_at(elf, at + 0x20)?,
            ));
        }
    }
    let to_off = |addr: u64| -> Option<usize> {
        loads
            .iter()
            .find(|(_, vaddr, filesz)| addr >= *vaddr && addr < vaddr + filesz)
            .and_then(|(off, vaddr, _)| usize::try_from(off + (addr - vaddr)).ok())
    };
    let read_string = |ptr: u64| -> Option<String> {
        let hdr_off = to_off(ptr)?;
        let data = word(elf, hdr_off)?;
        let len = usize::try_from(word(elf, hdr_off + ptr_size)?).ok()?;
        if len > MAX_INFO {
            return None;
        }
        let start = to_off(data)?;
        Some(String::from_utf8_lossy(elf.get(start..start.checked_add(len)?)?).into_owned())
    };
    let version = read_string(word(hdr, 16)?)?;
    let modinfo = read_string(word(hdr, 16 + ptr_size)?)?;
    if !version.starts_with("go") {
        return None;
    }
    let bytes = modinfo.as_bytes();
    let body = if bytes.len() >= 33 && bytes[bytes.len() - 17] == b'\n' {
        String::from_utf8_lossy(&bytes[16..bytes.len() - 16]).into_owned()
    } else {
        modinfo
    };
    let mut info = parse_modinfo(&body);
    info.go_version = version;
    Some(info)
}

fn varint(b: &[u8]) -> Option<(usize, usize)> {
    let mut v: u64 = 0;
    for (i, &c) in b.iter().enumerate().take(10) {
        v |= u64::from(c & 0x7f) << (7 * i);
        if c & 0x80 == 0 {
            return Some((v as usize, i + 1));
        }
    }
    None
}

/// `None` = need more bytes; `Some(None)` = not readable (old format); `Some(Some)` = parsed.
fn parse_header(b: &[u8]) -> Option<Option<BuildInfo>> {
    if b.len() < 32 {
        return None;
    }
    let flags = b[15];
    if flags & 0x2 == 0 {
        tracing::debug!("Go binary built before Go 1.18: build info not read");
        return Some(None);
    }
    let mut off = 32;
    let (vlen, k) = varint(&b[off..])?;
    off += k;
    if b.len() < off + vlen {
        return None;
    }
    let version = String::from_utf8_lossy(&b[off..off + vlen]).into_owned();
    off += vlen;
    let (mlen, k) = varint(&b[off..])?;
    off += k;
    if mlen > MAX_INFO {
        return Some(None);
    }
    if b.len() < off + mlen {
        return None;
    }
    let mut modinfo = &b[off..off + mlen];
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        modinfo = &modinfo[16..modinfo.len() - 16];
    }
    let mut info = parse_modinfo(&String::from_utf8_lossy(modinfo));
    info.go_version = version;
    Some(Some(info))
}

pub fn parse_modinfo(text: &str) -> BuildInfo {
    let mut info = BuildInfo::default();
    let module = |f: &[&str]| Module {
        path: f.get(1).unwrap_or(&"").to_string(),
        version: f.get(2).unwrap_or(&"").to_string(),
        sum: f.get(3).unwrap_or(&"").to_string(),
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f[0] {
            "mod" => info.main = module(&f),
            "dep" => info.deps.push(module(&f)),
            "=>" => {
                if let Some(last) = info.deps.last_mut() {
                    *last = module(&f);
                }
            }
            "build" => {
                if let Some((k, v)) = f.get(1).and_then(|s| s.split_once('=')) {
                    info.settings.push((k.to_string(), v.to_string()));
                }
            }
            _ => {}
        }
    }
    info
}

fn module_package(m: &Module, info: &BuildInfo, loc: &Location, main: bool) -> Package {
    let (ns, name) = m
        .path
        .rsplit_once('/')
        .map(|(a, b)| (Some(a), b))
        .unwrap_or((None, m.path.as_str()));
    let version = if m.version.is_empty() {
        "(devel)"
    } else {
        &m.version
    };
    let p = purl(
        "golang",
        ns,
        name,
        if version == "(devel)" { "" } else { version },
        &[],
    );
    let mut pkg = base(
        PkgType::GoModule,
        &m.path,
        version,
        p,
        loc.clone(),
        CATALOGER,
    );
    let parts: Vec<&str> = m.path.split('/').collect();
    if parts.len() >= 3
        && (parts[0] == "github.com" || parts[0] == "gitlab.com")
        && version != "(devel)"
    {
        pkg.cpes = vec![cpe(parts[1], parts[2], version.trim_start_matches('v'))];
    }
    pkg.metadata_type = "go-module-buildinfo-entry".into();
    pkg.metadata = json!({
        "goCompiledVersion": info.go_version,
        "architecture": info.settings.iter().find(|(k, _)| k == "GOARCH").map(|(_, v)| v.as_str()).unwrap_or(""),
        "h1Digest": m.sum,
        "mainModule": info.main.path,
        "goBuildSettings": if main { info.settings.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>() } else { Vec::new() },
    });
    pkg
}

/// Packages of one binary: the main module, its dependencies and the Go standard library.
pub fn packages(info: &BuildInfo, loc: &Location) -> Vec<Package> {
    let mut out = Vec::new();
    if !info.main.path.is_empty() {
        out.push(module_package(&info.main, info, loc, true));
    }
    for d in &info.deps {
        out.push(module_package(d, info, loc, false));
    }
    if let Some(v) = info.go_version.strip_prefix("go") {
        // the toolchain version may carry suffixes ("go1.22.1 X:boringcrypto")
        let v = v.split_whitespace().next().unwrap_or(v);
        let version = format!("go{v}");
        let mut pkg = base(
            PkgType::GoModule,
            "stdlib",
            &version,
            purl("golang", None, "stdlib", &version, &[]),
            loc.clone(),
            CATALOGER,
        );
        pkg.cpes = vec![cpe("golang", "go", v)];
        pkg.metadata_type = "go-module-buildinfo-entry".into();
        pkg.metadata = json!({"goCompiledVersion": info.go_version, "mainModule": info.main.path});
        out.push(pkg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let modinfo = "path\texample.com/x\nmod\texample.com/x\t(devel)\t\ndep\tgithub.com/a/b\tv1.0.0\th1:abc=\n=>\tgithub.com/c/b\tv1.1.0\th1:def=\nbuild\tGOARCH=amd64\n";
        let mut body = Vec::new();
        body.extend_from_slice(&[0u8; 16]);
        body.extend_from_slice(modinfo.as_bytes());
        body.extend_from_slice(&[0u8; 16]);
        let n = body.len();
        body[n - 17] = b'\n';
        let mut b = b"\x7fELF".to_vec();
        b.extend(std::iter::repeat_n(7u8, 3_000_000)); // the header lands past the first chunk
        b.extend_from_slice(MAGIC);
        b.push(8);
        b.push(2);
        b.extend_from_slice(&[0u8; 16]);
        let v = b"go1.21.5";
        b.push(v.len() as u8);
        b.extend_from_slice(v);
        assert!(body.len() < 16384);
        b.push((body.len() as u8 & 0x7f) | 0x80);
        b.push((body.len() >> 7) as u8);
        b.extend_from_slice(&body);
        b.extend_from_slice(&[1u8; 100]);
        b
    }

    #[test]
    fn finds_build_info_in_a_stream() {
        let data = sample();
        let info = scan_binary(&mut data.as_slice()).unwrap().unwrap();
        assert_eq!(info.go_version, "go1.21.5");
        assert_eq!(info.main.path, "example.com/x");
        assert_eq!(
            info.deps,
            vec![Module {
                path: "github.com/c/b".into(),
                version: "v1.1.0".into(),
                sum: "h1:def=".into()
            }]
        );
        let loc = Location {
            path: "/bin/x".into(),
            layer: None,
        };
        let p = packages(&info, &loc);
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].purl, "pkg:golang/github.com/c/b@v1.1.0");
        assert_eq!(p[2].name, "stdlib");
        assert_eq!(p[2].version, "go1.21.5");
    }

    /// An ELF64 with one PT_LOAD segment mapping vaddr 0x400000 to file offset 0, holding an
    /// old-format (Go 1.17) build-info header whose pointers lead to Go string headers.
    fn old_format_elf() -> Vec<u8> {
        let base = 0x400000u64;
        let mut b = vec![0u8; 0x1000];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2; // 64-bit
        b[5] = 1; // little endian
        b[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes()); // e_phoff
        b[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        b[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        b[0x40..0x44].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        b[0x48..0x50].copy_from_slice(&0u64.to_le_bytes()); // p_offset
        b[0x50..0x58].copy_from_slice(&base.to_le_bytes()); // p_vaddr
        b[0x60..0x68].copy_from_slice(&0x1000u64.to_le_bytes()); // p_filesz
        let version = b"go1.16.15";
        let mut modinfo = vec![0u8; 16];
        modinfo.extend_from_slice(b"path\texample.com/old\nmod\texample.com/old\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.7\th1:x=\n");
        modinfo.extend_from_slice(&[0u8; 16]);
        let n = modinfo.len();
        modinfo[n - 17] = b'\n';
        b[0x300..0x300 + version.len()].copy_from_slice(version);
        b[0x400..0x400 + n].copy_from_slice(&modinfo);
        // string headers (data pointer, length)
        b[0x200..0x208].copy_from_slice(&(base + 0x300).to_le_bytes());
        b[0x208..0x210].copy_from_slice(&(version.len() as u64).to_le_bytes());
        b[0x210..0x218].copy_from_slice(&(base + 0x400).to_le_bytes());
        b[0x218..0x220].copy_from_slice(&(n as u64).to_le_bytes());
        // the build-info header: magic, pointer size 8, flags 0 (little endian, old format)
        b[0x100..0x10e].copy_from_slice(MAGIC);
        b[0x10e] = 8;
        b[0x10f] = 0;
        b[0x110..0x118].copy_from_slice(&(base + 0x200).to_le_bytes());
        b[0x118..0x120].copy_from_slice(&(base + 0x210).to_le_bytes());
        b
    }

    #[test]
    fn reads_pre_go_1_18_build_info() {
        let info = from_bytes(&old_format_elf()).unwrap();
        assert_eq!(info.go_version, "go1.16.15");
        assert_eq!(info.main.path, "example.com/old");
        assert_eq!(info.deps[0].path, "golang.org/x/text");
        assert_eq!(info.deps[0].version, "v0.3.7");
        // truncated files give nothing, not a panic
        let elf = old_format_elf();
        for cut in [0x120, 0x210, 0x310, 0x420] {
            let _ = from_bytes(&elf[..cut]);
        }
    }

    #[test]
    fn ignores_non_go_files() {
        assert!(scan_binary(&mut &b"#!/bin/sh\necho hi\n"[..])
            .unwrap()
            .is_none());
        let mut elf = b"\x7fELF".to_vec();
        elf.extend_from_slice(&[0u8; 5000]);
        assert!(scan_binary(&mut elf.as_slice()).unwrap().is_none());
    }
}
