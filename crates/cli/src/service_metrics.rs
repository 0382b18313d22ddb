//! Prometheus metrics of the plain-HTTP roles (posture service, kubevuln, operator): counters the
//! role increments, gauges it reports when scraped, and the process's own resident memory, CPU
//! time and start time, in the text exposition format at `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

pub struct Metrics {
    /// `(metric name, label set)` -> count; the help text per name.
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    help: BTreeMap<&'static str, &'static str>,
}

/// One gauge value reported at scrape time.
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub value: f64,
}

impl Metrics {
    /// `counters`: the counter names this role increments, with their help text (all are
    /// exported from the start, at zero when unlabelled).
    pub fn new(counters: &[(&'static str, &'static str)]) -> Self {
        Metrics {
            counters: Mutex::new(BTreeMap::new()),
            help: counters.iter().copied().collect(),
        }
    }

    /// Adds one to `name{labels}`; `labels` is the inside of the braces, e.g. `outcome="done"`,
    /// built by the role from fixed words (never from request text, which could grow the
    /// series without bound or break the format).
    pub fn inc(&self, name: &'static str, labels: String) {
        debug_assert!(self.help.contains_key(name), "undeclared counter {name}");
        *self
            .counters
            .lock()
            .expect("metrics")
            .entry((name, labels))
            .or_default() += 1;
    }

    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::new();
        let counters = self.counters.lock().expect("metrics");
        for (name, help) in &self.help {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let mut any = false;
            for ((n, labels), v) in counters.iter().filter(|((n, _), _)| n == name) {
                any = true;
                let _ = writeln!(out, "{n}{{{labels}}} {v}");
            }
            if !any {
                let _ = writeln!(out, "{name} 0");
            }
        }
        drop(counters);
        for g in gauges {
            let _ = writeln!(
                out,
                "# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}",
                g.name, g.help, g.value
            );
        }
        out.push_str(&process_metrics());
        out
    }
}

/// Resident memory, CPU seconds and start time of this process, from /proc.
fn process_metrics() -> String {
    let mut out = String::new();
    // SAFETY: sysconf only reads configuration values.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as f64;
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    if let Some(rss) = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
    {
        let _ = writeln!(out, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {}", rss * page);
    }
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which may hold spaces, closed by the last parenthesis.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let num = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    if let (Some(user), Some(system)) = (num(11), num(12)) {
        let _ = writeln!(out, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {}", (user + system) / ticks);
    }
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<f64>().ok())
    });
    if let (Some(start), Some(boot)) = (num(19), boot) {
        let _ = writeln!(out, "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {}", boot + start / ticks);
    }
    out
}

/// The `/metrics` answer.
pub fn reply(text: String) -> crate::http_service::Reply {
    hyper::Response::builder()
        .status(hyper::StatusCode::OK)
        .header("content-type", "text/plain; version=0.0.4")
        .body(http_body_util::Full::new(bytes::Bytes::from(text)))
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let m = Metrics::new(&[
            ("kubevuln_scans_total", "Scans by outcome."),
            ("x_total", "X."),
        ]);
        m.inc("kubevuln_scans_total", "outcome=\"done\"".into());
        m.inc("kubevuln_scans_total", "outcome=\"done\"".into());
        let text = m.render(&[Gauge {
            name: "kubevuln_queue",
            help: "Queued.",
            value: 2.0,
        }]);
        assert!(
            text.contains("kubevuln_scans_total{outcome=\"done\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE x_total counter\nx_total 0\n"),
            "{text}"
        );
        assert!(text.contains("kubevuln_queue 2\n"), "{text}");
        assert!(text.contains("process_resident_memory_bytes "), "{text}");
        assert!(text.contains("process_cpu_seconds_total "), "{text}");
    }
}
