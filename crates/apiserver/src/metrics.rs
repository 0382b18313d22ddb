//! Prometheus metrics of the server: requests by verb/resource/code, latency, open watches,
//! the watch window, plus what the backend reports (queue depth, objects, bytes).

use crate::backend::Backend;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str, u16), u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    watchers: AtomicI64,
}

impl Metrics {
    pub fn new(_resources: Vec<&'static str>) -> Self {
        Metrics {
            requests: Mutex::new(BTreeMap::new()),
            latency: Mutex::new(BTreeMap::new()),
            watchers: AtomicI64::new(0),
        }
    }

    pub fn observe_request(
        &self,
        verb: &'static str,
        resource: &'static str,
        code: u16,
        took: Duration,
    ) {
        *self
            .requests
            .lock()
            .expect("metrics")
            .entry((verb, resource, code))
            .or_default() += 1;
        // Watches last as long as the client wants: their duration says nothing about latency.
        if verb == "watch" {
            return;
        }
        let secs = took.as_secs_f64();
        let mut l = self.latency.lock().expect("metrics");
        let h = l.entry(verb).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.total += 1;
    }

    pub fn watchers(&self, delta: i64) {
        self.watchers.fetch_add(delta, Ordering::Relaxed);
    }

    pub fn render(&self, backend: &dyn Backend) -> String {
        let mut out = String::new();
        out.push_str("# HELP apiserver_request_total Requests by verb, resource and HTTP code.\n# TYPE apiserver_request_total counter\n");
        for ((verb, resource, code), n) in self.requests.lock().expect("metrics").iter() {
            let _ = writeln!(out, "apiserver_request_total{{verb=\"{verb}\",resource=\"{resource}\",code=\"{code}\"}} {n}");
        }
        out.push_str("# HELP apiserver_request_duration_seconds Request latency by verb (watches excluded).\n# TYPE apiserver_request_duration_seconds histogram\n");
        for (verb, h) in self.latency.lock().expect("metrics").iter() {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "apiserver_request_duration_seconds_bucket{{verb=\"{verb}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_bucket{{verb=\"{verb}\",le=\"+Inf\"}} {}",
                h.total
            );
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_sum{{verb=\"{verb}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_count{{verb=\"{verb}\"}} {}",
                h.total
            );
        }
        let (events, bytes) = backend.events().retained();
        let _ = writeln!(out, "# HELP apiserver_watchers Open watch streams.\n# TYPE apiserver_watchers gauge\napiserver_watchers {}", self.watchers.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP apiserver_watch_window_events Changes retained for watches to resume from.\n# TYPE apiserver_watch_window_events gauge\napiserver_watch_window_events {events}");
        let _ = writeln!(out, "# HELP apiserver_watch_window_bytes Bytes of retained changes.\n# TYPE apiserver_watch_window_bytes gauge\napiserver_watch_window_bytes {bytes}");
        let _ = writeln!(out, "# HELP apiserver_resource_version Newest committed resourceVersion.\n# TYPE apiserver_resource_version gauge\napiserver_resource_version {}", backend.events().current());
        out.push_str(&backend.metrics());
        out
    }
}
