//! Rust: dependency lists embedded by `cargo auditable` (an ELF section `.dep-v0` holding
//! zlib-compressed JSON: `{"packages":[{"name","version","source","kind","dependencies","root"}]}`).

use std::io::Read;

use serde_json::{json, Value};

use super::base;
use crate::model::{Location, Package, PkgType};
use crate::purl::{cpe, purl};

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "cargo-auditable-binary-cataloger";

const MAX_JSON: u64 = 16 << 20;

fn le16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn le64(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
}

/// The bytes of a named section of a little-endian ELF64 file.
pub fn elf_section<'a>(elf: &'a [u8], wanted: &str) -> Option<&'a [u8]> {
    if elf.get(..4)? != b"\x7fELF" || elf.get(4)? != &2 || elf.get(5)? != &1 {
        return None; // not ELF64 little-endian
    }
    let shoff = usize::try_from(le64(elf, 0x28)?).ok()?;
    let shentsize = usize::from(le16(elf, 0x3a)?);
    let shnum = usize::from(le16(elf, 0x3c)?);
    let shstrndx = usize::from(le16(elf, 0x3e)?);
    if shentsize < 0x40 || shnum == 0 {
        return None;
    }
    let sh = |i: usize| -> Option<(u32, usize, usize)> {
        let at = shoff.checked_add(i.checked_mul(shentsize)?)?;
        Some((
            le32(elf, at)?,
            usize::try_from(le64(elf, at + 0x18)?).ok()?,
            usize::try_from(le64(elf, at + 0x20)?).ok()?,
        ))
    };
    let (_, str_off, str_size) = sh(shstrndx)?;
    let names = elf.get(str_off..str_off.checked_add(str_size)?)?;
    for i in 0..shnum {
        let (name_off, off, size) = sh(i)?;
        let name = names.get(name_off as usize..)?;
        let end = name.iter().position(|&c| c == 0)?;
        if &name[..end] == wanted.as_bytes() {
            return elf.get(off..off.checked_add(size)?);
        }
    }
    None
}

/// Packages listed in a binary's `.dep-v0` section; `None` when there is none.
pub fn packages(elf: &[u8], loc: &Location) -> Option<Vec<Package>> {
    let section = elf_section(elf, ".dep-v0")?;
    let mut text = String::new();
    if let Err(e) = flate2::read::ZlibDecoder::new(section)
        .take(MAX_JSON)
        .read_to_string(&mut text)
    {
        tracing::warn!("{}: unreadable cargo-auditable data: {e}", loc.path);
        return None;
    }
    let v: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("{}: cargo-auditable data is not JSON: {e}", loc.path);
            return None;
        }
    };
    let mut out = Vec::new();
    for p in v.get("packages")?.as_array()? {
        let (Some(name), Some(version)) = (
            p.get("name").and_then(Value::as_str),
            p.get("version").and_then(Value::as_str),
        ) else {
            continue;
        };
        // build-time dependencies (build scripts, proc macros) are not in the binary
        let kind = p.get("kind").and_then(Value::as_str).unwrap_or("runtime");
        if kind == "build" {
            continue;
        }
        let mut pkg = base(
            PkgType::RustCrate,
            name,
            version,
            purl("cargo", None, name, version, &[]),
            loc.clone(),
            CATALOGER,
        );
        pkg.cpes = vec![cpe(name, name, version)];
        pkg.metadata_type = "rust-cargo-audit-entry".into();
        pkg.metadata = json!({
            "name": name, "version": version,
            "source": p.get("source").and_then(Value::as_str).unwrap_or(""),
            "root": p.get("root").and_then(Value::as_bool).unwrap_or(false),
        });
        out.push(pkg);
    }
    Some(out)
}
