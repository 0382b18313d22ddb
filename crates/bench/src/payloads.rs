//! `payload-bench`: where the storage server should keep object payloads — in SQLite rows (what
//! it does) or in files next to a SQLite metadata table (what upstream does). Both variants are
//! durable per write: SQLite WAL with `synchronous=FULL` commits, or file write + fsync + rename +
//! directory fsync followed by the metadata commit. Sequential writes, then reading every object
//! back, for 10 KB, 1 MB and 20 MB payloads.

use anyhow::Result;
use rusqlite::{params, Connection};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

fn open(path: &Path) -> Result<Connection> {
    let c = Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS objects (name TEXT PRIMARY KEY, rv INTEGER, data BLOB)",
    )?;
    Ok(c)
}

fn payload(size: usize, seed: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ seed as u64;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'a' + (x % 26) as u8
        })
        .collect()
}

fn sqlite_rows(dir: &Path, size: usize, count: usize) -> Result<(f64, f64)> {
    let c = open(&dir.join("rows.sqlite"))?;
    let started = Instant::now();
    for i in 0..count {
        let data = payload(size, i);
        c.execute(
            "INSERT OR REPLACE INTO objects (name, rv, data) VALUES (?1, ?2, ?3)",
            params![format!("o{i}"), i as i64, data],
        )?;
    }
    let write = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut total = 0usize;
    for i in 0..count {
        let d: Vec<u8> = c.query_row(
            "SELECT data FROM objects WHERE name = ?1",
            params![format!("o{i}")],
            |r| r.get(0),
        )?;
        total += d.len();
    }
    assert_eq!(total, size * count);
    Ok((write, started.elapsed().as_secs_f64()))
}

fn files_and_metadata(dir: &Path, size: usize, count: usize) -> Result<(f64, f64)> {
    let c = open(&dir.join("meta.sqlite"))?;
    let payloads = dir.join("payloads");
    std::fs::create_dir_all(&payloads)?;
    let dir_handle = std::fs::File::open(&payloads)?;
    let started = Instant::now();
    for i in 0..count {
        let data = payload(size, i);
        let tmp = payloads.join(format!("o{i}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, payloads.join(format!("o{i}")))?;
        dir_handle.sync_all()?;
        c.execute(
            "INSERT OR REPLACE INTO objects (name, rv, data) VALUES (?1, ?2, NULL)",
            params![format!("o{i}"), i as i64],
        )?;
    }
    let write = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut total = 0usize;
    for i in 0..count {
        let _: i64 = c.query_row(
            "SELECT rv FROM objects WHERE name = ?1",
            params![format!("o{i}")],
            |r| r.get(0),
        )?;
        total += std::fs::read(payloads.join(format!("o{i}")))?.len();
    }
    assert_eq!(total, size * count);
    Ok((write, started.elapsed().as_secs_f64()))
}

fn main() -> Result<()> {
    println!("| payload | count | variant | writes/s | MB/s written | read all (s) |");
    println!("|---|---:|---|---:|---:|---:|");
    for (label, size, count) in [
        ("10 KB", 10 * 1024, 2000),
        ("1 MB", 1 << 20, 200),
        ("20 MB", 20 << 20, 20),
    ] {
        for variant in ["SQLite rows", "files + SQLite metadata"] {
            let dir = tempfile::tempdir_in(
                std::env::var("PAYLOAD_BENCH_DIR").unwrap_or_else(|_| "/tmp".into()),
            )?;
            let (w, r) = if variant == "SQLite rows" {
                sqlite_rows(dir.path(), size, count)?
            } else {
                files_and_metadata(dir.path(), size, count)?
            };
            println!(
                "| {label} | {count} | {variant} | {:.0} | {:.1} | {r:.3} |",
                count as f64 / w,
                (size * count) as f64 / w / 1e6
            );
        }
    }
    Ok(())
}
