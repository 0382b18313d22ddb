//! The watch window: recent committed changes in resourceVersion order, shared by all watchers.
//!
//! Watchers do not get their own buffers that overflow silently (upstream storage drops events
//! when a 100-event channel is full). Each watcher keeps a cursor into this one log and reads
//! forward; a watcher that falls behind the retained window gets `410 Gone` and relists, which
//! is what Kubernetes clients (informers, `kubectl get -w`) are built to handle.

use bytes::Bytes;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub kind: EventType,
    /// Index of the resource in the server's registry.
    pub resource: usize,
    pub namespace: String,
    pub name: String,
    pub labels: Option<Map<String, Value>>,
    /// The object as stored after this change (for a deletion: the last state).
    pub object: Bytes,
}

struct Window {
    events: VecDeque<Arc<Event>>,
    bytes: usize,
    /// Watches may start from any resourceVersion >= horizon: every later change is retained.
    horizon: u64,
}

pub struct EventLog {
    window: Mutex<Window>,
    max_events: usize,
    max_bytes: usize,
    latest: tokio::sync::watch::Sender<u64>,
}

/// The requested resourceVersion is older than the retained window.
#[derive(Debug)]
pub struct TooOld {
    pub horizon: u64,
}

impl EventLog {
    pub fn new(current_rv: u64, max_events: usize, max_bytes: usize) -> Self {
        EventLog {
            window: Mutex::new(Window {
                events: VecDeque::new(),
                bytes: 0,
                horizon: current_rv,
            }),
            max_events: max_events.max(1),
            max_bytes,
            latest: tokio::sync::watch::channel(current_rv).0,
        }
    }

    /// Appends committed changes; `events` must be in increasing resourceVersion order.
    pub fn publish(&self, events: Vec<Event>) {
        let Some(last) = events.last().map(|e| e.rv) else {
            return;
        };
        {
            let mut w = self.window.lock().expect("event log lock");
            for e in events {
                w.bytes += e.object.len();
                w.events.push_back(Arc::new(e));
            }
            while w.events.len() > self.max_events
                || (w.bytes > self.max_bytes && w.events.len() > 1)
            {
                let old = w.events.pop_front().expect("non-empty");
                w.bytes -= old.object.len();
                w.horizon = old.rv;
            }
        }
        self.latest.send_replace(last);
    }

    /// Changes after `rv`, appended to `out`.
    pub fn since(&self, rv: u64, out: &mut Vec<Arc<Event>>) -> Result<(), TooOld> {
        let w = self.window.lock().expect("event log lock");
        if rv < w.horizon {
            return Err(TooOld { horizon: w.horizon });
        }
        let start = w.events.partition_point(|e| e.rv <= rv);
        out.extend(w.events.range(start..).cloned());
        Ok(())
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.latest.subscribe()
    }

    /// The newest committed resourceVersion.
    pub fn current(&self) -> u64 {
        *self.latest.borrow()
    }

    pub fn retained(&self) -> (usize, usize) {
        let w = self.window.lock().expect("event log lock");
        (w.events.len(), w.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(rv: u64, size: usize) -> Event {
        Event {
            rv,
            kind: EventType::Added,
            resource: 0,
            namespace: String::new(),
            name: format!("o{rv}"),
            labels: None,
            object: Bytes::from(vec![b'x'; size]),
        }
    }

    #[test]
    fn window_keeps_recent_and_reports_gone() {
        let log = EventLog::new(10, 3, 1_000);
        log.publish((11..=15).map(|rv| ev(rv, 10)).collect());
        assert_eq!(log.current(), 15);
        let mut out = Vec::new();
        log.since(12, &mut out).unwrap();
        assert_eq!(
            out.iter().map(|e| e.rv).collect::<Vec<_>>(),
            vec![13, 14, 15]
        );
        assert!(log.since(11, &mut Vec::new()).is_err());
        log.publish(vec![ev(16, 2_000)]);
        assert_eq!(log.retained().0, 1);
        let mut out = Vec::new();
        log.since(15, &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }
}
