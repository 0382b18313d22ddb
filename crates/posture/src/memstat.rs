//! Resident memory of this process, for debug logs that show which phase of a scan sets the peak.

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

/// `rss=<MiB> peak=<MiB>` for a log line ("" when unknown).
pub fn describe() -> String {
    match rss_mib() {
        Some((rss, peak)) => format!("rss={rss}MiB peak={peak}MiB"),
        None => String::new(),
    }
}
