//! Resident memory of this process, for debug logs that show which phase of a scan sets the peak.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// (current, peak) resident set size in MiB, from `/proc/self/status` (None elsewhere).
pub fn rss_mib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// `rss=<MiB> peak=<MiB>` for a log line ("" when unknown), with the live and peak heap when
/// the binary counts it ([`Counting`]).
pub fn describe() -> String {
    let mut out = match rss_mib() {
        Some((rss, peak)) => format!("rss={rss}MiB peak={peak}MiB"),
        None => String::new(),
    };
    if let Some((live, peak)) = heap_mib() {
        out.push_str(&format!(" heap={live}MiB heap_peak={peak}MiB"));
    }
    out
}

/// A global allocator that counts the bytes allocated through it, so debug logs can tell live
/// heap from what the allocator keeps (RSS). Counting costs an atomic add per allocation, so
/// binaries use it only when built for memory analysis (the CLI's `heap-stats` feature).
pub struct Counting<A>(pub A);

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the wrapped allocator; only counters are added.
unsafe impl<A: std::alloc::GlobalAlloc> std::alloc::GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            let live = LIVE.fetch_add(new_size, Relaxed) + new_size;
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }
}

/// (live, peak) bytes allocated through [`Counting`], if the binary uses it.
fn heap_mib() -> Option<(usize, usize)> {
    let peak = PEAK.load(Relaxed);
    (peak > 0).then(|| (LIVE.load(Relaxed) >> 20, peak >> 20))
}
