//! Durable persistence: one SQLite database (WAL, `synchronous=FULL`), written by one thread
//! that commits queued changes in groups, read by a small pool of connections.
//!
//! Why one writer with a bounded queue: SQLite allows one writer at a time. Upstream storage
//! lets every request open its own write transaction and loses writes to "database is locked"
//! and pool timeouts under load. Here requests queue; when the queue is full the caller gets
//! `429 Too Many Requests` with `Retry-After` and nothing already accepted is dropped. A write
//! is acknowledged only after its transaction committed (fsync'd), so a crash loses nothing
//! that was acknowledged.

use crate::computed;
use bytes::Bytes;
use kubescape_apiserver::object;
use kubescape_apiserver::{
    ApiError, ApiResult, Backend, Event, EventLog, EventType, Registry, Row, Visit, WriteOp,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Writes waiting for the writer beyond which callers get 429.
    pub queue_capacity: usize,
    /// Changes kept for watches to resume from.
    pub watch_window_events: usize,
    pub watch_window_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            queue_capacity: 1024,
            watch_window_events: 10_000,
            watch_window_bytes: 32 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source} (is another storage server using this --data-dir?)")]
    Db {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

struct Job {
    op: WriteOp,
    size: usize,
    reply: SyncSender<ApiResult<Bytes>>,
}

struct Counts {
    objects: Vec<i64>,
    bytes: Vec<i64>,
}

pub struct Store {
    registry: Registry,
    events: Arc<EventLog>,
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    queue: SyncSender<Job>,
    queued: Arc<AtomicUsize>,
    counts: Arc<Mutex<Counts>>,
    commits: Arc<AtomicUsize>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    resource  TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    rv        INTEGER NOT NULL,
    labels    TEXT,
    data      BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS objects_key ON objects (resource, namespace, name);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('rv', 0);
";

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

impl Store {
    pub fn open(
        data_dir: &Path,
        registry: Registry,
        opts: StoreOptions,
    ) -> Result<Arc<Self>, OpenError> {
        std::fs::create_dir_all(data_dir).map_err(|source| OpenError::Dir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join("storage.sqlite");
        let db_err = |source| OpenError::Db {
            path: path.clone(),
            source,
        };
        // Opening replays the write-ahead log: a crash leaves every committed write in place
        // and no partial one.
        let writer = open_connection(&path).map_err(db_err)?;
        writer.execute_batch(SCHEMA).map_err(db_err)?;
        let rv: u64 = writer
            .query_row("SELECT value FROM meta WHERE key = 'rv'", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(db_err)? as u64;
        let mut counts = Counts {
            objects: vec![0; registry.resources.len()],
            bytes: vec![0; registry.resources.len()],
        };
        {
            let mut stmt = writer
                .prepare(
                    "SELECT resource, count(*), sum(length(data)) FROM objects GROUP BY resource",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(db_err)?;
            for row in rows {
                let (resource, n, bytes) = row.map_err(db_err)?;
                if let Some((i, _)) = registry.find(&resource) {
                    counts.objects[i] = n;
                    counts.bytes[i] = bytes;
                }
            }
        }
        tracing::info!(
            path = %path.display(),
            resource_version = rv,
            objects = counts.objects.iter().sum::<i64>(),
            bytes = counts.bytes.iter().sum::<i64>(),
            "storage opened"
        );
        let events = Arc::new(EventLog::new(
            rv,
            opts.watch_window_events,
            opts.watch_window_bytes,
        ));
        let (queue, rx) = sync_channel(opts.queue_capacity.max(1));
        let store = Arc::new(Store {
            registry: registry.clone(),
            events: events.clone(),
            path: path.clone(),
            readers: Mutex::new(Vec::new()),
            queue,
            queued: Arc::new(AtomicUsize::new(0)),
            counts: Arc::new(Mutex::new(counts)),
            commits: Arc::new(AtomicUsize::new(0)),
        });
        let w = Writer {
            conn: writer,
            registry,
            events,
            rv,
            queued: store.queued.clone(),
            counts: store.counts.clone(),
            commits: store.commits.clone(),
        };
        std::thread::Builder::new()
            .name("storage-writer".into())
            .spawn(move || w.run(rx))
            .expect("spawn writer thread");
        Ok(store)
    }

    fn reader(&self) -> ApiResult<PooledReader<'_>> {
        let conn = self.readers.lock().expect("reader pool").pop();
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path)
                .map_err(|e| ApiError::internal(format!("cannot open a read connection: {e}")))?,
        };
        Ok(PooledReader {
            store: self,
            conn: Some(conn),
        })
    }
}

struct PooledReader<'a> {
    store: &'a Store,
    conn: Option<Connection>,
}

impl std::ops::Deref for PooledReader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl Drop for PooledReader<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let mut pool = self.store.readers.lock().expect("reader pool");
            if pool.len() < 8 && c.is_autocommit() {
                pool.push(c);
            }
        }
    }
}

fn db_error(e: rusqlite::Error) -> ApiError {
    ApiError::internal(format!("storage database error: {e}"))
}

/// Rows of one resource in key order from an open read transaction.
pub(crate) fn scan_rows(
    conn: &Connection,
    plural: &str,
    namespace: Option<&str>,
    after: Option<(&str, &str)>,
    visit: &mut dyn FnMut(Row) -> Visit,
) -> ApiResult<()> {
    let (after_ns, after_name) = after.unwrap_or(("", ""));
    let has_after = after.is_some();
    let sql = match namespace {
        Some(_) => "SELECT namespace, name, labels, data FROM objects WHERE resource = ?1 AND namespace = ?2 \
                    AND (?3 = 0 OR (namespace, name) > (?4, ?5)) ORDER BY namespace, name",
        None => "SELECT namespace, name, labels, data FROM objects WHERE resource = ?1 AND ?2 IS NULL \
                 AND (?3 = 0 OR (namespace, name) > (?4, ?5)) ORDER BY namespace, name",
    };
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let mut rows = stmt
        .query(params![
            plural,
            namespace,
            has_after as i64,
            after_ns,
            after_name
        ])
        .map_err(db_error)?;
    while let Some(r) = rows.next().map_err(db_error)? {
        let ns = r
            .get_ref(0)
            .map_err(db_error)?
            .as_str()
            .map_err(|e| db_error(e.into()))?;
        let name = r
            .get_ref(1)
            .map_err(db_error)?
            .as_str()
            .map_err(|e| db_error(e.into()))?;
        let labels: Option<Map<String, Value>> =
            match r.get_ref(2).map_err(db_error)?.as_str_or_null() {
                Ok(Some(s)) => serde_json::from_str(s).ok(),
                _ => None,
            };
        let data = r
            .get_ref(3)
            .map_err(db_error)?
            .as_blob()
            .map_err(|e| db_error(e.into()))?;
        match visit(Row {
            namespace: ns,
            name,
            labels: labels.as_ref(),
            object: data,
        }) {
            Visit::Stop => break,
            Visit::Skip | Visit::Take => {}
        }
    }
    Ok(())
}

pub(crate) fn get_row(
    conn: &Connection,
    plural: &str,
    namespace: &str,
    name: &str,
) -> ApiResult<Option<Vec<u8>>> {
    conn.prepare_cached(
        "SELECT data FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
    )
    .map_err(db_error)?
    .query_row(params![plural, namespace, name], |r| r.get::<_, Vec<u8>>(0))
    .optional()
    .map_err(db_error)
}

impl Backend for Store {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn events(&self) -> &EventLog {
        &self.events
    }

    fn get(&self, resource: usize, namespace: &str, name: &str) -> ApiResult<Vec<u8>> {
        let def = &self.registry.resources[resource];
        let conn = self.reader()?;
        if def.computed {
            conn.execute_batch("BEGIN").map_err(db_error)?;
            let r = computed::get(&self.registry, &conn, resource, namespace, name);
            conn.execute_batch("COMMIT").map_err(db_error)?;
            return r?.ok_or_else(|| ApiError::not_found(def.group, def.plural, name));
        }
        get_row(&conn, def.plural, namespace, name)?
            .ok_or_else(|| ApiError::not_found(def.group, def.plural, name))
    }

    fn list(
        &self,
        resource: usize,
        namespace: Option<&str>,
        after: Option<(&str, &str)>,
        visit: &mut dyn FnMut(Row) -> Visit,
    ) -> ApiResult<u64> {
        let def = &self.registry.resources[resource];
        let conn = self.reader()?;
        // One read transaction: the version read first is the snapshot every row comes from.
        conn.execute_batch("BEGIN").map_err(db_error)?;
        let result = (|| {
            let rv: i64 = conn
                .query_row("SELECT value FROM meta WHERE key = 'rv'", [], |r| r.get(0))
                .map_err(db_error)?;
            if def.computed {
                computed::list(&self.registry, &conn, resource, namespace, after, visit)?;
            } else {
                scan_rows(&conn, def.plural, namespace, after, visit)?;
            }
            Ok(rv as u64)
        })();
        conn.execute_batch("COMMIT").map_err(db_error)?;
        result
    }

    fn write(&self, op: WriteOp) -> ApiResult<Bytes> {
        let size = match &op {
            WriteOp::Create { object, .. } | WriteOp::Update { object, .. } => approx_size(object),
            WriteOp::Delete { .. } => 0,
        };
        let (reply, answer) = sync_channel(1);
        self.queued.fetch_add(1, Ordering::Relaxed);
        match self.queue.try_send(Job { op, size, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                return Err(ApiError::too_many_requests(
                    "the storage write queue is full; retry after the indicated delay",
                    1,
                ));
            }
            Err(TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                return Err(ApiError::unavailable("the storage writer has stopped"));
            }
        }
        answer
            .recv()
            .map_err(|_| ApiError::unavailable("the storage writer stopped before answering"))?
    }

    fn metrics(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "# HELP storage_write_queue_depth Writes waiting for the writer.\n# TYPE storage_write_queue_depth gauge\nstorage_write_queue_depth {}", self.queued.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP storage_commits_total Transactions committed (each may hold several writes).\n# TYPE storage_commits_total counter\nstorage_commits_total {}", self.commits.load(Ordering::Relaxed));
        let counts = self.counts.lock().expect("counts");
        out.push_str(
            "# HELP storage_objects Stored objects by resource.\n# TYPE storage_objects gauge\n",
        );
        for (i, r) in self
            .registry
            .resources
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.computed)
        {
            let _ = writeln!(
                out,
                "storage_objects{{resource=\"{}\"}} {}",
                r.plural, counts.objects[i]
            );
        }
        out.push_str("# HELP storage_object_bytes Stored bytes by resource.\n# TYPE storage_object_bytes gauge\n");
        for (i, r) in self
            .registry
            .resources
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.computed)
        {
            let _ = writeln!(
                out,
                "storage_object_bytes{{resource=\"{}\"}} {}",
                r.plural, counts.bytes[i]
            );
        }
        out
    }
}

/// Rough serialized size, to bound how much one group commit holds.
fn approx_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 2,
        Value::Array(a) => a.iter().map(approx_size).sum::<usize>() + 2,
        Value::Object(o) => {
            o.iter()
                .map(|(k, v)| k.len() + 3 + approx_size(v))
                .sum::<usize>()
                + 2
        }
        _ => 8,
    }
}

struct Writer {
    conn: Connection,
    registry: Registry,
    events: Arc<EventLog>,
    rv: u64,
    queued: Arc<AtomicUsize>,
    counts: Arc<Mutex<Counts>>,
    commits: Arc<AtomicUsize>,
}

/// A successful change inside the current transaction, published once it commits.
struct Applied {
    event: Event,
    count_delta: i64,
    bytes_delta: i64,
}

const GROUP_MAX_WRITES: usize = 512;
const GROUP_MAX_BYTES: usize = 64 * 1024 * 1024;

impl Writer {
    fn run(mut self, rx: Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            let mut bytes = jobs[0].size;
            while jobs.len() < GROUP_MAX_WRITES && bytes < GROUP_MAX_BYTES {
                match rx.try_recv() {
                    Ok(j) => {
                        bytes += j.size;
                        jobs.push(j);
                    }
                    Err(_) => break,
                }
            }
            self.queued.fetch_sub(jobs.len(), Ordering::Relaxed);
            self.commit_group(jobs);
        }
        tracing::info!("storage writer stopped");
    }

    fn commit_group(&mut self, jobs: Vec<Job>) {
        let start_rv = self.rv;
        let (ops, replies): (Vec<WriteOp>, Vec<_>) =
            jobs.into_iter().map(|j| (j.op, j.reply)).unzip();
        let mut results: Vec<ApiResult<(Bytes, Option<Applied>)>> = Vec::with_capacity(ops.len());
        let mut derived = Vec::new();
        let outcome = (|| -> rusqlite::Result<()> {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Each op is consumed as it is applied: a large object's parsed form is freed as
            // soon as its bytes are written.
            for op in ops {
                // Savepoints keep one failed write from undoing the others of the group.
                tx.execute_batch("SAVEPOINT w")?;
                let r = apply(&tx, &self.registry, &mut self.rv, op);
                if r.is_ok() {
                    tx.execute_batch("RELEASE w")?;
                } else {
                    tx.execute_batch("ROLLBACK TO w; RELEASE w")?;
                }
                results.push(r);
            }
            let changed: Vec<&Event> = results
                .iter()
                .filter_map(|r| {
                    r.as_ref()
                        .ok()
                        .and_then(|(_, a)| a.as_ref())
                        .map(|a| &a.event)
                })
                .collect();
            derived = computed::derived_events(&self.registry, &tx, &changed).unwrap_or_else(|e| {
                tracing::warn!(error = %e.message, "computed kinds' change events skipped");
                Vec::new()
            });
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'rv'",
                params![self.rv as i64],
            )?;
            tx.commit()
        })();
        if let Err(e) = outcome {
            tracing::error!(error = %e, "storage commit failed; the group's writes were not applied");
            self.rv = start_rv;
            for reply in replies {
                let _ = reply.send(Err(ApiError::internal(format!(
                    "storage commit failed: {e}"
                ))));
            }
            return;
        }
        self.commits.fetch_add(1, Ordering::Relaxed);
        let mut events = Vec::new();
        {
            let mut counts = self.counts.lock().expect("counts");
            for r in results.iter_mut().flatten() {
                if let Some(applied) = r.1.take() {
                    counts.objects[applied.event.resource] += applied.count_delta;
                    counts.bytes[applied.event.resource] += applied.bytes_delta;
                    events.push(applied.event);
                }
            }
        }
        // Derived events carry their trigger's version and follow it (stable sort).
        events.extend(derived);
        events.sort_by_key(|e| e.rv);
        self.events.publish(events);
        for (reply, r) in replies.into_iter().zip(results) {
            let _ = reply.send(r.map(|(bytes, _)| bytes));
        }
    }
}

fn apply(
    tx: &rusqlite::Transaction,
    registry: &Registry,
    rv: &mut u64,
    op: WriteOp,
) -> ApiResult<(Bytes, Option<Applied>)> {
    match op {
        WriteOp::Create {
            resource,
            namespace,
            name,
            mut object,
        } => {
            let def = &registry.resources[resource];
            if get_row(tx, def.plural, &namespace, &name)?.is_some() {
                return Err(ApiError::already_exists(def.group, def.plural, &name));
            }
            let next = *rv + 1;
            object["metadata"]["resourceVersion"] = json!(next.to_string());
            let labels = labels_of(&object);
            let bytes = Bytes::from(
                serde_json::to_vec(&object).map_err(|e| ApiError::internal(e.to_string()))?,
            );
            drop(object);
            tx.prepare_cached("INSERT INTO objects (resource, namespace, name, rv, labels, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .and_then(|mut s| s.execute(params![def.plural, namespace, name, next as i64, labels_text(&labels), &bytes[..]]))
                .map_err(db_error)?;
            *rv = next;
            let len = bytes.len() as i64;
            Ok((
                bytes.clone(),
                Some(Applied {
                    event: Event {
                        rv: next,
                        kind: EventType::Added,
                        resource,
                        namespace,
                        name,
                        labels,
                        object: bytes,
                    },
                    count_delta: 1,
                    bytes_delta: len,
                }),
            ))
        }
        WriteOp::Update {
            resource,
            namespace,
            name,
            mut object,
            expected_rv,
        } => {
            let def = &registry.resources[resource];
            let Some(old_bytes) = get_row(tx, def.plural, &namespace, &name)? else {
                return Err(ApiError::not_found(def.group, def.plural, &name));
            };
            let old: Value = serde_json::from_slice(&old_bytes)
                .map_err(|e| ApiError::internal(format!("stored object is not JSON: {e}")))?;
            let old_rv: u64 = old["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if let Some(expected) = expected_rv {
                if expected != old_rv {
                    return Err(ApiError::conflict(def.group, def.plural, &name, "the object has been modified; please apply your changes to the latest version and try again"));
                }
            }
            object::prepare_update(&old, &mut object);
            object["metadata"]["resourceVersion"] = json!(old_rv.to_string());
            if object == old {
                // Nothing changed: no new version, no event (as kube-apiserver).
                return Ok((Bytes::from(old_bytes), None));
            }
            let next = *rv + 1;
            object["metadata"]["resourceVersion"] = json!(next.to_string());
            let labels = labels_of(&object);
            let bytes = Bytes::from(
                serde_json::to_vec(&object).map_err(|e| ApiError::internal(e.to_string()))?,
            );
            drop(object);
            tx.prepare_cached("UPDATE objects SET rv = ?4, labels = ?5, data = ?6 WHERE resource = ?1 AND namespace = ?2 AND name = ?3")
                .and_then(|mut s| s.execute(params![def.plural, namespace, name, next as i64, labels_text(&labels), &bytes[..]]))
                .map_err(db_error)?;
            *rv = next;
            let delta = bytes.len() as i64 - old_bytes.len() as i64;
            Ok((
                bytes.clone(),
                Some(Applied {
                    event: Event {
                        rv: next,
                        kind: EventType::Modified,
                        resource,
                        namespace,
                        name,
                        labels,
                        object: bytes,
                    },
                    count_delta: 0,
                    bytes_delta: delta,
                }),
            ))
        }
        WriteOp::Delete {
            resource,
            namespace,
            name,
            expected_rv,
            expected_uid,
        } => {
            let def = &registry.resources[resource];
            let Some(old_bytes) = get_row(tx, def.plural, &namespace, &name)? else {
                return Err(ApiError::not_found(def.group, def.plural, &name));
            };
            let mut old: Value = serde_json::from_slice(&old_bytes)
                .map_err(|e| ApiError::internal(format!("stored object is not JSON: {e}")))?;
            let old_rv: u64 = old["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if expected_rv.is_some_and(|e| e != old_rv) {
                return Err(ApiError::conflict(def.group, def.plural, &name, "Precondition failed: the resourceVersion in the precondition does not match the stored object"));
            }
            if let Some(uid) = &expected_uid {
                if old["metadata"]["uid"].as_str() != Some(uid.as_str()) {
                    return Err(ApiError::conflict(def.group, def.plural, &name, "Precondition failed: the UID in the precondition does not match the stored object"));
                }
            }
            let next = *rv + 1;
            tx.prepare_cached(
                "DELETE FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
            )
            .and_then(|mut s| s.execute(params![def.plural, namespace, name]))
            .map_err(db_error)?;
            old["metadata"]["resourceVersion"] = json!(next.to_string());
            let bytes = Bytes::from(
                serde_json::to_vec(&old).map_err(|e| ApiError::internal(e.to_string()))?,
            );
            *rv = next;
            let labels = labels_of(&old);
            Ok((
                bytes.clone(),
                Some(Applied {
                    event: Event {
                        rv: next,
                        kind: EventType::Deleted,
                        resource,
                        namespace,
                        name,
                        labels,
                        object: bytes,
                    },
                    count_delta: -1,
                    bytes_delta: -(old_bytes.len() as i64),
                }),
            ))
        }
    }
}

fn labels_of(obj: &Value) -> Option<Map<String, Value>> {
    obj["metadata"]["labels"]
        .as_object()
        .filter(|l| !l.is_empty())
        .cloned()
}

fn labels_text(labels: &Option<Map<String, Value>>) -> Option<String> {
    labels
        .as_ref()
        .map(|l| Value::Object(l.clone()).to_string())
}
