//! A posture scan: objects + library + options -> per-resource results, control and framework
//! summaries, scores, as a [`PostureReport`].
//!
//! Objects are kept as compact JSON (on disk when possible) and become Rego values batch by
//! batch: a rule whose alerts each come from one object, or (by the library's word) from objects
//! of one namespace, is evaluated over batches of whole namespaces, with cluster-scoped and RBAC
//! objects as shared context; other rules over all the objects they match at once. A rule is
//! compiled for each evaluation; rules run in parallel within a batch. See docs/decisions/0012.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use kubescape_api::posture::*;
use kubescape_api::resource_id;
use rayon::prelude::*;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::exceptions::ExceptionPolicy;
use crate::findings::{Failure, Named, RuleFindings};
use crate::inputs::InputObject;
use crate::intern::Interner;
use crate::library::{Control, Library, Rule};
use crate::rego::RegoProgram;
use crate::results::{ResultsBuilder, ScanResults};
use crate::select;

/// The Kubescape version our rule-version attributes are compared against.
pub const COMPATIBLE_KUBESCAPE_VERSION: (u64, u64, u64) = (4, 0, 0);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    File,
    Cluster,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::File => "file",
            Scope::Cluster => "cluster",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Target {
    Frameworks(Vec<String>),
    Controls(Vec<String>),
}

pub struct ScanOptions {
    pub target: Target,
    pub scope: Scope,
    pub include_namespaces: Vec<String>,
    pub exclude_namespaces: Vec<String>,
    /// User exception policies; the library's system exceptions are added unless disabled.
    pub exceptions: Vec<ExceptionPolicy>,
    pub apply_system_exceptions: bool,
    pub cluster_name: String,
    /// `EKS`, `GKE`, `AKS`, ... (passed to rules as `data.dataControlInputs.cloudProvider`).
    pub cloud_provider: Option<String>,
    /// Keep full objects in `report.resources` (the JSON format needs them).
    pub keep_objects: bool,
    /// List passed controls per resource in `report.results` (the JSON format does; the other
    /// formats show failures only, and leaving passes out saves memory on large scans).
    pub passed_results: bool,
    /// Keep failed/fix paths of failures (every format but a plain terminal summary shows them).
    pub failure_details: bool,
    pub formats: Vec<String>,
    pub kubescape_version: String,
    /// Resource types the scan could not read (cluster scans with limited RBAC): rules that
    /// need them are skipped with the reason.
    pub unreadable: Vec<UnreadableKind>,
    /// Most namespaced objects evaluated together (whole namespaces are never split); 0: all at
    /// once. Bounds a large scan's memory by a batch instead of the whole cluster.
    pub batch_objects: usize,
}

/// The default of [`ScanOptions::batch_objects`].
pub const DEFAULT_BATCH_OBJECTS: usize = 2000;

/// A resource type that could not be read, and why.
#[derive(Debug, Clone)]
pub struct UnreadableKind {
    pub api_version: String,
    pub kind: String,
    pub reason: String,
}

/// The rules a scan with these options evaluates (to know which resources to read).
pub fn selected_rules<'l>(lib: &'l Library, opts: &ScanOptions) -> Result<Vec<&'l Rule>> {
    let selected = select_controls(lib, opts)?;
    let names: BTreeSet<&str> = selected
        .iter()
        .flat_map(|s| s.control.rules_names.iter().map(String::as_str))
        .collect();
    Ok(names
        .into_iter()
        .filter_map(|n| lib.rules.get(n))
        .filter(|r| rule_in_version(r))
        .collect())
}

/// Progress callback: rules evaluated so far, total rules.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// One scanned object: the few fields the engine reads (the object itself is in the store's spill).
struct ScanObject {
    id: String,
    key: ObjectKey,
    source: Option<Source>,
    weight: f64,
}

/// apiVersion, kind, namespace, name.
type ObjectKey = (String, String, String, String);

/// Lookups from what alerts name to the scanned objects.
struct Index<'a> {
    /// The store's own resource ID -> position map.
    by_id: &'a HashMap<String, usize>,
    by_key: HashMap<&'a ObjectKey, usize>,
    /// Object positions (ascending) per (apiVersion, kind): rules match kinds, so each rule tests
    /// each distinct kind once instead of every object.
    by_kind: BTreeMap<(&'a str, &'a str), Vec<usize>>,
}

impl<'a> Index<'a> {
    fn new(store: &'a ObjectStore) -> Index<'a> {
        let objects = &store.objects;
        Index {
            by_id: &store.positions,
            by_key: objects
                .iter()
                .enumerate()
                .map(|(i, o)| (&o.key, i))
                .collect(),
            by_kind: by_kind(objects, 0..objects.len()),
        }
    }

    /// Positions of the objects of these (apiVersion, kind) pairs, in input order.
    fn positions_of(&self, kinds: &[(&str, &str)]) -> Vec<usize> {
        let mut out = of_kinds(&self.by_kind, kinds);
        out.sort_unstable();
        out
    }
}

/// Positions (ascending, as given) of the objects at `positions`, per (apiVersion, kind).
type ByKind<'a> = BTreeMap<(&'a str, &'a str), Vec<usize>>;

fn by_kind(objects: &[ScanObject], positions: impl IntoIterator<Item = usize>) -> ByKind<'_> {
    let mut m = ByKind::new();
    for i in positions {
        let k = &objects[i].key;
        m.entry((k.0.as_str(), k.1.as_str())).or_default().push(i);
    }
    m
}

/// The positions in `grouped` of objects of these kinds, kind by kind.
fn of_kinds(grouped: &ByKind, kinds: &[(&str, &str)]) -> Vec<usize> {
    kinds
        .iter()
        .filter_map(|k| grouped.get(k))
        .flatten()
        .copied()
        .collect()
}

/// The findings of one rule.
enum RuleOutcome {
    Evaluated(Box<RuleFindings>),
    Skipped(String),
}

struct SelectedControl {
    control: Control,
    /// (framework name, control name inside that framework)
    frameworks: Vec<(String, String)>,
}

/// Scans `objects` (convenience over [`scan_store`]).
pub fn scan(
    lib: &Library,
    objects: Vec<InputObject>,
    opts: &ScanOptions,
    progress: Progress,
) -> Result<PostureReport> {
    let mut store = ObjectStore::new(opts);
    for o in objects {
        store.push(o);
    }
    scan_store(lib, &store, opts, progress)
}

/// Scans the objects of a store; the store stays available (for writing objects into reports).
/// The report's `results` are materialised; see [`scan_store_compact`] for large scans.
pub fn scan_store(
    lib: &Library,
    store: &ObjectStore,
    opts: &ScanOptions,
    progress: Progress,
) -> Result<PostureReport> {
    let (mut report, results) = scan_store_compact(lib, store, opts, progress)?;
    report.results = results.to_vec();
    Ok(report)
}

/// Scans the objects of a store and returns the report without its `results`, which are in the
/// returned [`ScanResults`] instead, compact, for writers that take one resource at a time (the
/// JSON report of a large scan would otherwise hold hundreds of thousands of result structs).
/// Objects are read back from the store's spill with [`ObjectStore::object_json`].
pub fn scan_store_compact(
    lib: &Library,
    store: &ObjectStore,
    opts: &ScanOptions,
    progress: Progress,
) -> Result<(PostureReport, ScanResults)> {
    let selected = select_controls(lib, opts)?;
    let index = Index::new(store);
    let outcomes = evaluate_rules(lib, &selected, store, &index, opts, progress);
    tracing::debug!(mem = %crate::memstat::describe(), "rules evaluated");
    let object_json = |i: usize| store.json_at(i).unwrap_or(Value::Null);
    assemble(
        lib,
        &selected,
        &store.objects,
        &index,
        outcomes,
        opts,
        &object_json,
    )
}

/// What a rule's alerts may relate, which decides the objects it can be evaluated over at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Each alert comes from one object (read from the Rego, see `rego_shape`).
    Object,
    /// Alerts relate objects of one namespace, with cluster-scoped and RBAC objects as context
    /// (the library says so with the rule attribute `evaluationScope: namespace`).
    Namespace,
    /// Anything: all matched objects at once.
    Whole,
}

fn reach_of(rule: &Rule) -> Reach {
    if rule.attribute_str("resourcesAggregator") == Some("subject-role-rolebinding") {
        // Subjects aggregate bindings of every namespace.
        return Reach::Whole;
    }
    if rule.attribute_str("evaluationScope") == Some("namespace") {
        return Reach::Namespace;
    }
    let enumerator_per_object = rule.resource_enumerator.trim().is_empty()
        || crate::rego_shape::alerts_per_object(&rule.resource_enumerator);
    if enumerator_per_object && crate::rego_shape::alerts_per_object(&rule.rule) {
        Reach::Object
    } else {
        Reach::Whole
    }
}

/// Namespaced kinds that rules relate across namespaces (a RoleBinding grants to service
/// accounts of any namespace; routes and virtual services attach to gateways elsewhere): they
/// are context in every batch, like cluster-scoped objects.
const CONTEXT_KINDS: &[&str] = &[
    "Role",
    "RoleBinding",
    "HTTPRoute",
    "GRPCRoute",
    "TCPRoute",
    "TLSRoute",
    "UDPRoute",
    "Gateway",
    "Gateways",
    "VirtualService",
    // Whether Cilium policies exist anywhere changes how some rules report.
    "CiliumNetworkPolicy",
];

/// Positions of the objects of each batch, and of the context shared by all batches.
struct Batches {
    context: Vec<usize>,
    batches: Vec<Vec<usize>>,
}

/// Whole namespaces, in name order, packed into batches of at most `limit` objects (a larger
/// namespace is a batch of its own); a Namespace object goes with its namespace's objects.
fn batches(objects: &[ScanObject], limit: usize) -> Batches {
    let mut context = Vec::new();
    let mut by_namespace: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, o) in objects.iter().enumerate() {
        let (_, kind, namespace, name) = &o.key;
        if namespace.is_empty() && kind == "Namespace" {
            by_namespace.entry(name.as_str()).or_default().push(i);
        } else if namespace.is_empty() || CONTEXT_KINDS.contains(&kind.as_str()) {
            context.push(i);
        } else {
            by_namespace.entry(namespace.as_str()).or_default().push(i);
        }
    }
    let mut batches: Vec<Vec<usize>> = vec![Vec::new()];
    for (_, positions) in by_namespace {
        let current = batches.last_mut().expect("never empty");
        if limit == 0 || current.is_empty() || current.len() + positions.len() <= limit {
            current.extend(positions);
        } else {
            batches.push(positions);
        }
    }
    for b in &mut batches {
        b.sort_unstable();
    }
    Batches { context, batches }
}

/// Rego values of the objects being evaluated: the batch's, then the shared context's.
struct Live<'a> {
    batch: &'a HashMap<usize, regorus::Value>,
    context: &'a HashMap<usize, regorus::Value>,
}

impl Live<'_> {
    fn get(&self, i: usize) -> regorus::Value {
        self.batch
            .get(&i)
            .or_else(|| self.context.get(&i))
            .cloned()
            .unwrap_or(regorus::Value::Null)
    }
}

/// A rule checked to run in this scan, with what every evaluation of it needs. Its Rego is
/// compiled for each evaluation and dropped after it: a compiled rule takes about 150 KiB, and
/// holding every rule's across batches cost more than the batches saved.
struct Prepared<'l> {
    name: &'l str,
    rule: &'l Rule,
    reach: Reach,
    data: regorus::Value,
    /// The (apiVersion, kind) pairs of this scan that the rule matches.
    kinds: Vec<(&'l str, &'l str)>,
}

/// Evaluates every rule the selected controls use: rules that need all their objects at once
/// first, then every batch with the others (in parallel within a batch).
fn evaluate_rules<'l>(
    lib: &'l Library,
    selected: &[SelectedControl],
    store: &'l ObjectStore,
    index: &Index<'l>,
    opts: &ScanOptions,
    progress: Progress,
) -> HashMap<&'l str, RuleOutcome> {
    let objects = &store.objects[..];
    let aggregates = SubjectCache::default();
    let rule_names: BTreeSet<&str> = selected
        .iter()
        .flat_map(|s| s.control.rules_names.iter().map(String::as_str))
        .filter(|n| lib.rules.get(*n).is_some_and(rule_in_version))
        .collect();
    let mut outcomes: HashMap<&str, RuleOutcome> = HashMap::new();
    let prepared: Vec<Prepared> = rule_names
        .par_iter()
        .map(|name| {
            let (name, rule) = lib.rules.get_key_value(*name).expect("filtered above");
            (name.as_str(), prepare_rule(lib, rule, index, opts))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|(name, p)| match p {
            Ok(p) => Some(p),
            Err(why) => {
                outcomes.insert(name, RuleOutcome::Skipped(why));
                None
            }
        })
        .collect();
    let Batches { context, batches } = batches(objects, opts.batch_objects);
    let (whole, batched): (Vec<&Prepared>, Vec<&Prepared>) =
        prepared.iter().partition(|p| p.reach == Reach::Whole);
    tracing::debug!(rules = ?whole.iter().map(|p| p.name).collect::<Vec<_>>(), "rules evaluated over all their objects at once");
    let total = whole.len() + batched.len() * batches.len();
    let done = AtomicUsize::new(0);
    progress(0, total);
    let tick = || progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);

    let context_values = store.materialize(&context);
    let context_by_kind = by_kind(objects, context.iter().copied());
    let evaluate = |p: &Prepared, matched: Vec<usize>, live: &Live| {
        evaluate_prepared(p, matched, live, objects, index, &aggregates, opts)
    };
    let mut found: HashMap<&str, RuleFindings> = HashMap::new();
    let mut failed: HashMap<&str, String> = HashMap::new();
    let mut record = |name: &'l str, r: std::result::Result<RuleFindings, String>| match r {
        Ok(f) => found.entry(name).or_default().merge(f),
        Err(e) => {
            failed.entry(name).or_insert(e);
        }
    };

    if !whole.is_empty() {
        let needed: BTreeSet<usize> = whole
            .iter()
            .flat_map(|p| index.positions_of(&p.kinds))
            .filter(|i| !context_values.contains_key(i))
            .collect();
        let values = store.materialize(&needed.into_iter().collect::<Vec<_>>());
        let live = Live {
            batch: &values,
            context: &context_values,
        };
        let results: Vec<_> = whole
            .par_iter()
            .map(|p| {
                let r = evaluate(p, index.positions_of(&p.kinds), &live);
                tick();
                (p.name, r)
            })
            .collect();
        for (name, r) in results {
            record(name, r);
        }
        tracing::debug!(rules = whole.len(), objects = values.len(), mem = %crate::memstat::describe(), "rules over all their objects evaluated");
    }

    for (n, batch) in batches.iter().enumerate() {
        let values = store.materialize(batch);
        let live = Live {
            batch: &values,
            context: &context_values,
        };
        let batch_by_kind = by_kind(objects, batch.iter().copied());
        let results: Vec<_> = batched
            .par_iter()
            .map(|p| {
                let own = of_kinds(&batch_by_kind, &p.kinds);
                // Context objects are evaluated with every batch for rules that relate them to
                // a namespace's objects, and once (with the first batch) for the others.
                let with_context = p.reach == Reach::Namespace || n == 0;
                let r = if own.is_empty() && n > 0 {
                    None
                } else {
                    let mut matched = own;
                    if with_context {
                        matched.extend(of_kinds(&context_by_kind, &p.kinds));
                    }
                    matched.sort_unstable();
                    Some(evaluate(p, matched, &live))
                };
                tick();
                (p.name, r)
            })
            .collect();
        for (name, r) in results {
            if let Some(r) = r {
                record(name, r);
            }
        }
        tracing::debug!(batch = n + 1, of = batches.len(), objects = batch.len(), mem = %crate::memstat::describe(), "batch evaluated");
    }
    for p in &prepared {
        let outcome = match failed.remove(p.name) {
            Some(why) => RuleOutcome::Skipped(why),
            None => {
                // Context objects are inputs of every batch of a namespace-wide rule.
                let mut f = found.remove(p.name).unwrap_or_default();
                f.finish();
                RuleOutcome::Evaluated(Box::new(f))
            }
        };
        outcomes.insert(p.name, outcome);
    }
    outcomes
}

fn select_controls(lib: &Library, opts: &ScanOptions) -> Result<Vec<SelectedControl>> {
    let mut selected: Vec<SelectedControl> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    // Controls scoped to a managed Kubernetes service (EKS, AKS, GKE) or to cloud APIs in general
    // apply when the scan names that provider.
    let provider_matches = |m: &str| {
        opts.cloud_provider
            .as_deref()
            .is_some_and(|p| m.eq_ignore_ascii_case(p) || m == "cloud")
    };
    let in_scope = |c: &Control| match &c.scanning_scope {
        Some(s) if !s.matches.is_empty() => s
            .matches
            .iter()
            .any(|m| m == opts.scope.as_str() || provider_matches(m)),
        _ => true,
    };
    match &opts.target {
        Target::Frameworks(names) => {
            for name in names {
                let fw = lib.framework(name).ok_or_else(|| Error::Input {
                    what: format!("framework {name:?}"),
                    message: format!(
                        "not in the control library; available: {}",
                        lib.frameworks
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
                for ac in &fw.active_controls {
                    let Some(c) = lib.control_in_framework(fw, &ac.control_id) else {
                        continue;
                    };
                    if !in_scope(&c) {
                        continue;
                    }
                    let i = *index.entry(c.control_id.clone()).or_insert_with(|| {
                        selected.push(SelectedControl {
                            control: lib.controls[&c.control_id].clone(),
                            frameworks: vec![],
                        });
                        selected.len() - 1
                    });
                    selected[i]
                        .frameworks
                        .push((fw.name.clone(), c.name.clone()));
                }
            }
        }
        Target::Controls(ids) => {
            for id in ids {
                let c = lib
                    .controls
                    .get(&id.to_uppercase())
                    .or_else(|| {
                        lib.controls
                            .values()
                            .find(|c| c.name.eq_ignore_ascii_case(id))
                    })
                    .ok_or_else(|| Error::Input {
                        what: format!("control {id:?}"),
                        message: "not in the control library; `kubescape list controls` shows them"
                            .into(),
                    })?;
                if index.insert(c.control_id.clone(), selected.len()).is_none() {
                    selected.push(SelectedControl {
                        control: c.clone(),
                        frameworks: vec![],
                    });
                }
            }
        }
    }
    Ok(selected)
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut it = v
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u64>().ok());
    Some((
        it.next()??,
        it.next().flatten().unwrap_or(0),
        it.next().flatten().unwrap_or(0),
    ))
}

fn rule_in_version(rule: &Rule) -> bool {
    let from = rule
        .attribute_str("useFromKubescapeVersion")
        .and_then(parse_version);
    let until = rule
        .attribute_str("useUntilKubescapeVersion")
        .and_then(parse_version);
    from.is_none_or(|f| COMPATIBLE_KUBESCAPE_VERSION >= f)
        && until.is_none_or(|u| COMPATIBLE_KUBESCAPE_VERSION < u)
}

/// Kinds whose objects are normally created by an owner; the owner is scanned instead.
const OWNED_KINDS: &[&str] = &["Pod", "ReplicaSet", "Job"];

/// The objects of a scan. Each is kept as compact JSON in a spill (a temporary file when one can
/// be made, else memory) and becomes a Rego value only while its batch is evaluated, so a large
/// cluster is never in memory as Rego values at once (see docs/decisions/0012).
pub struct ObjectStore {
    objects: Vec<ScanObject>,
    spill: Spill,
    /// Where each object is in the spill, by position.
    spans: Vec<Span>,
    /// Resource ID -> position; also how duplicates are recognised.
    positions: HashMap<String, usize>,
    include_namespaces: Vec<String>,
    exclude_namespaces: Vec<String>,
    scope: Scope,
}

impl ObjectStore {
    pub fn new(opts: &ScanOptions) -> ObjectStore {
        ObjectStore {
            objects: Vec::new(),
            spill: Spill::new(),
            spans: Vec::new(),
            positions: HashMap::new(),
            include_namespaces: opts.include_namespaces.clone(),
            exclude_namespaces: opts.exclude_namespaces.clone(),
            scope: opts.scope,
        }
    }

    /// Adds one object unless namespace filters exclude it, its owner is scanned instead
    /// (cluster scans), or the same object was already added.
    pub fn push(&mut self, o: InputObject) {
        let v = &o.value;
        let ns = v
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !ns.is_empty()
            && ((!self.include_namespaces.is_empty()
                && !self.include_namespaces.iter().any(|n| n == ns))
                || self.exclude_namespaces.iter().any(|n| n == ns))
        {
            return;
        }
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        let owned = OWNED_KINDS.contains(&kind)
            && v.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| {
                    refs.iter()
                        .any(|r| r.get("controller").and_then(Value::as_bool).unwrap_or(true))
                });
        if self.scope == Scope::Cluster && owned {
            return;
        }
        let id = resource_id::of_value(v);
        if self.positions.contains_key(&id) {
            return;
        }
        self.positions.insert(id.clone(), self.objects.len());
        let weight = weight_of(v);
        let key = key_of_json(v);
        let bytes = serde_json::to_vec(v).unwrap_or_default();
        self.spans.push(self.spill.append(&bytes));
        self.objects.push(ScanObject {
            id,
            key,
            source: o.source,
            weight,
        });
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The object with this resource ID as JSON (read back from the spill, e.g. while writing a
    /// report).
    pub fn object_json(&self, id: &str) -> Option<Value> {
        self.json_at(*self.positions.get(id)?)
    }

    fn json_at(&self, i: usize) -> Option<Value> {
        let bytes = self.spill.read(self.spans.get(i)?)?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Rego values of the objects at `positions`, sharing their strings with each other.
    fn materialize(&self, positions: &[usize]) -> HashMap<usize, regorus::Value> {
        let mut interner = Interner::default();
        positions
            .iter()
            .filter_map(|&i| Some((i, interner.convert(self.json_at(i)?))))
            .collect()
    }
}

/// Where one object's JSON is in a [`Spill`].
#[derive(Clone, Copy)]
struct Span {
    in_file: bool,
    offset: u64,
    len: u32,
}

/// Append-only storage of objects' JSON: a temporary file (removed when closed), or memory when
/// no file can be written.
struct Spill {
    file: Option<std::fs::File>,
    file_len: u64,
    /// False once a write to the file failed (what it holds stays readable).
    file_writable: bool,
    memory: Vec<u8>,
}

impl Spill {
    fn new() -> Spill {
        let file = tempfile::tempfile()
            .inspect_err(|e| {
                tracing::debug!(error = %e, "no temporary file for the scanned objects; keeping them in memory")
            })
            .ok();
        Spill {
            file,
            file_len: 0,
            file_writable: true,
            memory: Vec::new(),
        }
    }

    fn append(&mut self, bytes: &[u8]) -> Span {
        use std::os::unix::fs::FileExt;
        if let Some(f) = self.file.as_ref().filter(|_| self.file_writable) {
            match f.write_all_at(bytes, self.file_len) {
                Ok(()) => {
                    let span = Span {
                        in_file: true,
                        offset: self.file_len,
                        len: bytes.len() as u32,
                    };
                    self.file_len += bytes.len() as u64;
                    return span;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write scanned objects to the temporary file; keeping the rest in memory");
                    self.file_writable = false;
                }
            }
        }
        let span = Span {
            in_file: false,
            offset: self.memory.len() as u64,
            len: bytes.len() as u32,
        };
        self.memory.extend_from_slice(bytes);
        span
    }

    fn read(&self, span: &Span) -> Option<std::borrow::Cow<'_, [u8]>> {
        use std::os::unix::fs::FileExt;
        let (start, len) = (span.offset as usize, span.len as usize);
        if !span.in_file {
            return self
                .memory
                .get(start..start + len)
                .map(std::borrow::Cow::Borrowed);
        }
        let mut buf = vec![0; len];
        self.file
            .as_ref()?
            .read_exact_at(&mut buf, span.offset)
            .ok()?;
        Some(std::borrow::Cow::Owned(buf))
    }
}

fn key_of_json(v: &Value) -> ObjectKey {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (
        s("/apiVersion"),
        s("/kind"),
        s("/metadata/namespace"),
        s("/metadata/name"),
    )
}

/// Score weight: workloads count by replicas (x1.1 above one), DaemonSets by scheduled nodes.
fn weight_of(v: &Value) -> f64 {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind == "DaemonSet" {
        return v
            .pointer("/status/desiredNumberScheduled")
            .and_then(Value::as_f64)
            .filter(|n| *n > 0.0)
            .unwrap_or(1.0);
    }
    match v.pointer("/spec/replicas").and_then(Value::as_f64) {
        Some(r) if r > 1.0 => r * 1.1,
        _ => 1.0,
    }
}

/// A string at `path` inside a Rego value ("" when absent or not a string).
fn rstr<'v>(v: &'v regorus::Value, path: &[&str]) -> &'v str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    match cur {
        regorus::Value::String(s) => s,
        _ => "",
    }
}

fn rlist(v: &regorus::Value) -> &[regorus::Value] {
    match v {
        regorus::Value::Array(a) => a.as_slice(),
        _ => &[],
    }
}

/// The scanned object an alert names: by file ID when it carries its `sourcePath`, else by
/// apiVersion/kind/namespace/name.
fn lookup(o: &regorus::Value, objects: &[ScanObject], index: &Index) -> Option<usize> {
    let source_path = rstr(o, &["sourcePath"]);
    let key: ObjectKey = (
        rstr(o, &["apiVersion"]).to_string(),
        rstr(o, &["kind"]).to_string(),
        rstr(o, &["metadata", "namespace"]).to_string(),
        rstr(o, &["metadata", "name"]).to_string(),
    );
    if !source_path.is_empty() {
        let file = source_path
            .rsplit_once(':')
            .map(|(f, _)| f)
            .unwrap_or(source_path);
        let id = resource_id::for_file_object(file, &key.0, &key.2, &key.1, &key.3);
        if let Some(i) = index.by_id.get(id.as_str()) {
            return Some(*i);
        }
    }
    index
        .by_key
        .get(&key)
        .copied()
        .filter(|i| objects[*i].key == key)
}

/// ID for an object an alert names: the scanned object's, else its own.
fn id_of(o: &regorus::Value, objects: &[ScanObject], index: &Index) -> String {
    match alerted(o, objects, index) {
        Alerted::Object(i) => objects[i as usize].id.clone(),
        Alerted::Other(id) => id,
    }
}

/// A resource an alert names.
#[derive(PartialEq, Eq, Hash)]
enum Alerted {
    /// A scanned object, by position.
    Object(u32),
    /// Anything else, by its own ID.
    Other(String),
}

fn alerted(o: &regorus::Value, objects: &[ScanObject], index: &Index) -> Alerted {
    if let Some(i) = lookup(o, objects, index) {
        return Alerted::Object(i as u32);
    }
    let id = resource_id::of_value(&serde_json::to_value(o).unwrap_or(Value::Null));
    // A scanned object is always named by position, whichever way the alert spells it.
    match index.by_id.get(id.as_str()) {
        Some(i) => Alerted::Object(*i as u32),
        None => Alerted::Other(id),
    }
}

/// Checks that a rule can run in this scan.
fn prepare_rule<'l>(
    lib: &Library,
    rule: &'l Rule,
    index: &Index<'l>,
    opts: &ScanOptions,
) -> std::result::Result<Prepared<'l>, String> {
    if rule.rule.trim().is_empty() {
        return Err(format!(
            "rule {} has no Rego in this control library",
            rule.name
        ));
    }
    if rule.rule_language != "Rego" && !rule.rule_language.is_empty() {
        return Err(format!(
            "rule {} is written in {}, which this engine does not evaluate",
            rule.name, rule.rule_language
        ));
    }
    if !rule.dynamic_match.is_empty() {
        let present = index
            .by_kind
            .keys()
            .any(|(api_version, kind)| select::dynamic_matches(rule, api_version, kind));
        if !present {
            let kinds: BTreeSet<&str> = rule
                .dynamic_match
                .iter()
                .flat_map(|m| m.resources.iter().map(String::as_str))
                .collect();
            return Err(format!(
                "needs {} data, which this scan did not collect (it comes from the node agent's host scanner, cloud provider APIs or image scans)",
                kinds.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let unreadable: Vec<&str> = opts
        .unreadable
        .iter()
        .filter(|u| select::rule_matches(rule, &u.api_version, &u.kind))
        .map(|u| u.reason.as_str())
        .collect();
    if !unreadable.is_empty() {
        return Err(format!(
            "cannot read all its input: {}",
            unreadable.join("; ")
        ));
    }
    if RegoProgram::uses_image_signatures(&rule.rule) {
        return Err("verifying image signatures is not supported yet".into());
    }
    let kinds = index
        .by_kind
        .keys()
        .filter(|(api_version, kind)| select::rule_matches(rule, api_version, kind))
        .copied()
        .collect();
    Ok(Prepared {
        name: rule.name.as_str(),
        rule,
        reach: reach_of(rule),
        data: rule_data(lib, rule, opts),
        kinds,
    })
}

/// Evaluates a prepared rule over the objects at `matched` (ascending positions, all live).
fn evaluate_prepared(
    prepared: &Prepared,
    mut matched: Vec<usize>,
    live: &Live,
    objects: &[ScanObject],
    index: &Index,
    aggregates: &SubjectCache,
    opts: &ScanOptions,
) -> std::result::Result<RuleFindings, String> {
    let (rule, data) = (prepared.rule, &prepared.data);
    let program = RegoProgram::compile(&rule.name, &rule.rule).map_err(|e| e.to_string())?;
    if !rule.resource_enumerator.trim().is_empty() && !matched.is_empty() {
        let filter =
            RegoProgram::compile(&format!("{}-filter", rule.name), &rule.resource_enumerator)
                .map_err(|e| e.to_string())?;
        let input = regorus::Value::from(matched.iter().map(|i| live.get(*i)).collect::<Vec<_>>());
        let alerts = filter.alerts(input, data).map_err(|e| e.to_string())?;
        let mut keep = BTreeSet::new();
        for a in &alerts {
            for o in rlist(&a["alertObject"]["k8sApiObjects"]) {
                if let Some(i) = lookup(o, objects, index) {
                    keep.insert(i);
                }
            }
        }
        matched = keep.into_iter().collect();
    }
    let mut findings = RuleFindings::default();
    let input: Vec<regorus::Value> = match rule.attribute_str("resourcesAggregator") {
        Some("subject-role-rolebinding") => {
            let subjects = aggregated_subjects(&matched, live, aggregates);
            subjects
                .iter()
                .map(|(id, rego, plain)| {
                    findings.external_inputs.push(id.clone());
                    findings.external.insert(id.clone(), plain.clone());
                    rego.clone()
                })
                .collect()
        }
        aggregator => matched
            .iter()
            .filter(|i| {
                let k = &objects[**i].key;
                aggregator != Some("apiserver-pod")
                    || (k.1 == "Pod"
                        && k.2 == "kube-system"
                        && (k.3.contains("apiserver") || k.3.contains("api-server")))
            })
            .map(|i| {
                findings.inputs.push(*i as u32);
                live.get(*i)
            })
            .collect(),
    };
    if input.is_empty() {
        return Ok(findings);
    }
    let alerts = program
        .alerts(regorus::Value::from(input), data)
        .map_err(|e| e.to_string())?;
    let mut shared_paths: HashMap<RulePath, std::sync::Arc<RulePath>> = HashMap::new();
    let mut failures: HashMap<Alerted, Vec<Failure>> = HashMap::new();
    for a in &alerts {
        let paths: Vec<std::sync::Arc<RulePath>> = if opts.failure_details {
            paths_of(a)
                .into_iter()
                .map(|p| {
                    shared_paths
                        .entry(p)
                        .or_insert_with_key(|p| std::sync::Arc::new(p.clone()))
                        .clone()
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut related: Vec<String> = Vec::new();
        let mut failed: Vec<Alerted> = Vec::new();
        let alert_object = &a["alertObject"];
        for o in rlist(&alert_object["k8sApiObjects"]) {
            failed.push(alerted(o, objects, index));
        }
        // A few host rules put the object itself directly under alertObject.
        if !matches!(alert_object["kind"], regorus::Value::Undefined)
            && matches!(alert_object["k8sApiObjects"], regorus::Value::Undefined)
        {
            failed.push(alerted(alert_object, objects, index));
        }
        let ext = &alert_object["externalObjects"];
        if let regorus::Value::Object(_) = ext {
            for r in rlist(&ext["relatedObjects"]) {
                related.push(id_of(r, objects, index));
            }
            // Some rules name a scanned workload here; only objects that were not scanned (RBAC
            // subjects) are external resources.
            match lookup(ext, objects, index)
                .filter(|_| !matches!(ext["metadata"], regorus::Value::Undefined))
            {
                Some(i) => failed.push(Alerted::Object(i as u32)),
                None => {
                    let ext_json = serde_json::to_value(ext).unwrap_or(Value::Null);
                    let id = resource_id::of_value(&ext_json);
                    findings
                        .external
                        .entry(id.clone())
                        .or_insert_with(|| subject_without_related(ext_json));
                    failed.push(Alerted::Other(id));
                }
            }
        }
        for r in rlist(&a["relatedObjects"]) {
            let obj = match &r["object"] {
                regorus::Value::Undefined => r,
                o => o,
            };
            related.push(id_of(obj, objects, index));
        }
        for a in failed {
            failures.entry(a).or_default().push(Failure {
                paths: paths.clone(),
                related: related.clone(),
            });
        }
    }
    for (a, list) in failures {
        let named = match &a {
            Alerted::Object(i) => Named::Object(*i),
            Alerted::Other(id) => Named::Other(id),
        };
        findings.add(named, list);
    }
    Ok(findings)
}

/// RBAC subjects (ID, Rego value with related objects, plain JSON), computed once per distinct set
/// of input objects: about twenty rules aggregate the same bindings and roles.
type Subjects = std::sync::Arc<Vec<(String, regorus::Value, Value)>>;
type SubjectCache = std::sync::Mutex<HashMap<Vec<usize>, Subjects>>;

fn aggregated_subjects(matched: &[usize], live: &Live, cache: &SubjectCache) -> Subjects {
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(matched).cloned()) {
        return hit;
    }
    // RBAC objects are small; the aggregator works on JSON.
    let values: Vec<Value> = matched
        .iter()
        .map(|i| serde_json::to_value(live.get(*i)).unwrap_or(Value::Null))
        .collect();
    let subjects: Subjects = std::sync::Arc::new(
        select::subjects_with_roles(&values.iter().collect::<Vec<_>>())
            .into_iter()
            .map(|s| {
                let id = resource_id::of_value(&s);
                let rego = regorus::Value::from(s.clone());
                (id, rego, subject_without_related(s))
            })
            .collect(),
    );
    if let Ok(mut c) = cache.lock() {
        c.insert(matched.to_vec(), subjects.clone());
    }
    subjects
}

fn subject_without_related(mut s: Value) -> Value {
    if let Value::Object(m) = &mut s {
        m.remove("relatedObjects");
    }
    s
}

fn paths_of(a: &regorus::Value) -> Vec<RulePath> {
    let strings = |key: &str| -> Vec<String> {
        rlist(&a[key])
            .iter()
            .filter_map(|v| match v {
                regorus::Value::String(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    };
    let mut paths = Vec::new();
    for p in strings("failedPaths") {
        paths.push(RulePath {
            failed_path: Some(p),
            ..Default::default()
        });
    }
    for p in strings("reviewPaths") {
        if !paths.iter().any(|x| x.failed_path.as_deref() == Some(&p)) {
            paths.push(RulePath {
                review_path: Some(p),
                ..Default::default()
            });
        }
    }
    for p in strings("deletePaths") {
        paths.push(RulePath {
            delete_path: Some(p),
            ..Default::default()
        });
    }
    for f in rlist(&a["fixPaths"]) {
        let path = rstr(f, &["path"]).to_string();
        let value = match &f["value"] {
            regorus::Value::String(s) => s.to_string(),
            regorus::Value::Undefined => String::new(),
            v => serde_json::to_string(v).unwrap_or_default(),
        };
        paths.push(RulePath {
            fix_path: Some(FixPath { path, value }),
            ..Default::default()
        });
    }
    let cmd = rstr(a, &["fixCommand"]);
    if !cmd.is_empty() {
        paths.push(RulePath {
            fix_command: Some(cmd.to_string()),
            ..Default::default()
        });
    }
    paths
}

/// `data` for a rule: the config inputs its `controlConfigInputs` name, and the cloud provider.
fn rule_data(lib: &Library, rule: &Rule, opts: &ScanOptions) -> regorus::Value {
    let mut inputs = serde_json::Map::new();
    for ci in &rule.control_config_inputs {
        let key = ci.path.rsplit('.').next().unwrap_or(&ci.path);
        if let Some(v) = lib.config_inputs.get(key) {
            inputs.insert(key.to_string(), v.clone());
        }
    }
    let cloud = opts
        .cloud_provider
        .as_ref()
        .map(|c| serde_json::json!({"cloudProvider": c}))
        .unwrap_or(Value::Null);
    regorus::Value::from(
        serde_json::json!({"postureControlInputs": inputs, "dataControlInputs": cloud}),
    )
}

fn config_keys_empty(lib: &Library, control: &Control) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    for r in control.rules_names.iter().filter_map(|n| lib.rules.get(n)) {
        for ci in &r.control_config_inputs {
            keys.push(ci.path.rsplit('.').next().unwrap_or(&ci.path).to_string());
        }
    }
    let empty = |k: &String| match lib.config_inputs.get(k) {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    };
    (!keys.is_empty() && keys.iter().all(empty)).then_some(keys)
}

struct ControlOutcome {
    summary: ControlSummary,
    /// Status per resource with a result (positions in the sorted IDs); the results themselves
    /// are in the compact store.
    statuses: Vec<(u32, Status)>,
    /// Resources that passed and are only counted, with the status they count as.
    passed: Vec<u32>,
    passed_status: Status,
    weights_failed: f64,
    weights_all: f64,
}

/// Exceptions, statuses, summaries and scores from the rules' outcomes.
fn assemble(
    lib: &Library,
    selected: &[SelectedControl],
    objects: &[ScanObject],
    index: &Index,
    outcomes: HashMap<&str, RuleOutcome>,
    opts: &ScanOptions,
    object_json: &dyn Fn(usize) -> Value,
) -> Result<(PostureReport, ScanResults)> {
    let mut exceptions: Vec<ExceptionPolicy> = Vec::new();
    if opts.apply_system_exceptions {
        for (i, e) in lib.exceptions.iter().enumerate() {
            exceptions.extend(ExceptionPolicy::parse_all(
                e,
                &format!("library exception {i}"),
                chrono::Utc::now(),
            )?);
        }
    }
    let all_exceptions: Vec<&ExceptionPolicy> =
        opts.exceptions.iter().chain(exceptions.iter()).collect();
    let exceptions = &all_exceptions[..];
    let mut external: BTreeMap<String, Value> = BTreeMap::new();
    // Every resource a result may name, sorted: the compact results refer to resources by
    // rank, and sorting by rank then sorts by ID as the report does.
    let mut ids: Vec<String> = objects.iter().map(|o| o.id.clone()).collect();
    for o in outcomes.values() {
        if let RuleOutcome::Evaluated(f) = o {
            ids.extend(f.external_inputs.iter().cloned());
            ids.extend(f.external.keys().cloned());
            ids.extend(f.failed().filter_map(|(n, _)| match n {
                Named::Other(id) => Some(id.to_string()),
                Named::Object(_) => None,
            }));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    let rank: HashMap<&str, u32> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u32))
        .collect();
    let object_rank: Vec<u32> = objects.iter().map(|o| rank[o.id.as_str()]).collect();
    // The scanned object at each rank, if it is one.
    let mut object_at: Vec<Option<u32>> = vec![None; ids.len()];
    for (i, r) in object_rank.iter().enumerate() {
        object_at[*r as usize] = Some(i as u32);
    }
    let rank_of = |n: Named| match n {
        Named::Object(i) => object_rank[i as usize],
        Named::Other(id) => rank[id],
    };
    let weight_at = |r: u32| object_at[r as usize].map_or(1.0, |i| objects[i as usize].weight);
    // Controls by ID: the order of each resource's results in the report.
    let mut results = ResultsBuilder::new();
    let mut by_id: Vec<&Control> = selected.iter().map(|s| &s.control).collect();
    by_id.sort_unstable_by(|a, b| a.control_id.cmp(&b.control_id));
    let control_pos: HashMap<&str, u32> = by_id
        .iter()
        .map(|c| {
            let i = results.add_control(&c.control_id, &c.name, severity_of(c.base_score));
            (c.control_id.as_str(), i)
        })
        .collect();
    let mut worst_severity: HashMap<u32, &str> = HashMap::new();

    // What can except each failed resource (by rank; None: nothing is known about it).
    let mut excepting: HashMap<u32, Option<Excepting>> = HashMap::new();
    let mut controls: BTreeMap<String, ControlOutcome> = BTreeMap::new();
    for sel in selected {
        let c = &sel.control;
        let severity = severity_of(c.base_score).to_string();
        let applicable = applicable_exceptions(c, sel, exceptions);
        // Resources only counted as passed (by rank).
        let mut passed: Vec<u32> = Vec::new();
        // The control's rule results per resource (by rank): the rule and how it failed (None:
        // it passed). Results are built one resource at a time from these.
        let mut per_resource: BTreeMap<u32, RuleOutcomes> = BTreeMap::new();
        let mut skip_reasons: Vec<String> = Vec::new();
        let mut evaluated_any = false;
        for rule_name in &c.rules_names {
            let Some(outcome) = outcomes.get(rule_name.as_str()) else {
                if !lib.rules.contains_key(rule_name) {
                    skip_reasons.push(format!("rule {rule_name} is not in the control library"));
                }
                continue;
            };
            let findings = match outcome {
                RuleOutcome::Skipped(why) => {
                    skip_reasons.push(why.clone());
                    continue;
                }
                RuleOutcome::Evaluated(f) => f,
            };
            evaluated_any = true;
            for (id, obj) in &findings.external {
                external.entry(id.clone()).or_insert_with(|| obj.clone());
            }
            let inputs = findings
                .inputs
                .iter()
                .map(|i| Named::Object(*i))
                .chain(findings.external_inputs.iter().map(|id| Named::Other(id)));
            for named in inputs {
                if findings.failures_of(named).is_some() {
                    continue;
                }
                let r = rank_of(named);
                // Plain passes are only counted unless the report lists them (JSON): on large
                // scans they are most of the (control, resource) pairs.
                if !opts.passed_results && !per_resource.contains_key(&r) {
                    passed.push(r);
                    continue;
                }
                add_rule_result(&mut per_resource, r, rule_name, None);
            }
            for (named, fails) in findings.failed() {
                add_rule_result(&mut per_resource, rank_of(named), rule_name, Some(fails));
            }
        }
        let action = c
            .attributes
            .get("actionRequired")
            .and_then(Value::as_str)
            .unwrap_or("");
        let config_missing = if action == "configuration" {
            config_keys_empty(lib, c)
        } else {
            None
        };
        let mut weights_failed = 0.0;
        let mut weights_all = 0.0;
        let mut counters = ResourceCounters::default();
        passed.sort_unstable();
        passed.dedup();
        passed.retain(|r| !per_resource.contains_key(r));
        let passed_status = if config_missing.is_some() {
            Status::Skipped
        } else {
            Status::Passed
        };
        for r in &passed {
            weights_all += weight_at(*r);
            match passed_status {
                Status::Skipped => counters.skipped_resources += 1,
                _ => counters.passed_resources += 1,
            }
        }
        // Each resource's result is built, given its status and moved into the compact store;
        // only its status stays, for the counters.
        let mut statuses: Vec<(u32, Status)> = Vec::with_capacity(per_resource.len());
        let mut first_skipped: Option<StatusInfo> = None;
        let mut any_excepted = false;
        for (r, rules) in per_resource {
            let mut rc = resource_control(c, &severity, &rules);
            let failed = rc.rules.iter().any(|r| r.status == Status::Failed);
            rc.status.status = if failed {
                Status::Failed
            } else {
                Status::Passed
            };
            let excepting = failed.then(|| {
                excepting.entry(r).or_insert_with(|| {
                    let id = ids[r as usize].as_str();
                    match object_at[r as usize] {
                        // Scanned objects are read back from the spill, once per failed one.
                        Some(i) => Some(Excepting::of(
                            &object_json(i as usize),
                            id,
                            exceptions,
                            opts,
                        )),
                        None => external
                            .get(id)
                            .map(|o| Excepting::of(o, id, exceptions, opts)),
                    }
                })
            });
            if let Some(Some(excepting)) = excepting {
                if let Some(exc) = excepting.exception(c, &applicable) {
                    rc.status = StatusInfo {
                        status: Status::Passed,
                        sub_status: "w/exceptions".into(),
                        info: String::new(),
                    };
                    for r in rc.rules.iter_mut().filter(|r| r.status == Status::Failed) {
                        r.status = Status::Passed;
                        r.sub_status = "w/exceptions".into();
                        r.exception.push(exc.clone());
                    }
                }
            }
            if rc.status.status == Status::Failed
                && matches!(action, "requires review" | "manual review")
            {
                rc.status = StatusInfo {
                    status: Status::Skipped,
                    sub_status: action.into(),
                    info: String::new(),
                };
            }
            if let Some(keys) = &config_missing {
                rc.status = StatusInfo {
                    status: Status::Skipped,
                    sub_status: "configuration".into(),
                    info: format!("configure {} with --controls-config", keys.join(", ")),
                };
            }
            let w = weight_at(r);
            weights_all += w;
            match rc.status.status {
                Status::Passed => counters.passed_resources += 1,
                Status::Failed => {
                    counters.failed_resources += 1;
                    weights_failed += w;
                    let worst = worst_severity.entry(r).or_insert("Unknown");
                    if severity_rank(&severity) > severity_rank(worst) {
                        *worst = severity_of(c.base_score);
                    }
                }
                Status::Skipped => {
                    counters.skipped_resources += 1;
                    first_skipped.get_or_insert_with(|| rc.status.clone());
                }
            }
            any_excepted |= rc.status.sub_status == "w/exceptions";
            statuses.push((r, rc.status.status));
            let plain_pass = rc.status.status == Status::Passed && rc.status.sub_status.is_empty();
            if plain_pass && !opts.passed_results {
                continue;
            }
            results.add(r, control_pos[c.control_id.as_str()], rc);
        }
        let mut status_info = if counters.failed_resources > 0 {
            StatusInfo {
                status: Status::Failed,
                ..Default::default()
            }
        } else if !evaluated_any {
            let info = if skip_reasons.is_empty() {
                "the control has no rules".to_string()
            } else {
                dedup_join(&skip_reasons)
            };
            StatusInfo {
                status: Status::Skipped,
                sub_status: String::new(),
                info,
            }
        } else if counters.skipped_resources > 0 {
            match &config_missing {
                Some(keys) => StatusInfo {
                    status: Status::Skipped,
                    sub_status: "configuration".into(),
                    info: format!("configure {} with --controls-config", keys.join(", ")),
                },
                None => StatusInfo {
                    status: Status::Skipped,
                    ..first_skipped.unwrap_or_default()
                },
            }
        } else if counters.all() == 0 {
            StatusInfo {
                status: Status::Passed,
                sub_status: "irrelevant".into(),
                info: String::new(),
            }
        } else if any_excepted {
            StatusInfo {
                status: Status::Passed,
                sub_status: "w/exceptions".into(),
                info: String::new(),
            }
        } else {
            StatusInfo {
                status: Status::Passed,
                ..Default::default()
            }
        };
        if let (Some(keys), Status::Passed) = (&config_missing, status_info.status) {
            status_info = StatusInfo {
                status: Status::Skipped,
                sub_status: "configuration".into(),
                info: format!("configure {} with --controls-config", keys.join(", ")),
            };
        }
        let compliance = compliance_of(status_info.status, &counters);
        let score = if weights_all > 0.0 {
            100.0 * weights_failed / weights_all
        } else {
            0.0
        };
        let summary = ControlSummary {
            control_id: c.control_id.clone(),
            name: c.name.clone(),
            status: status_info.status,
            status_info,
            resource_counters: counters,
            score: round2(score),
            compliance_score: round2(compliance),
            score_factor: c.base_score,
            severity,
            category: c.category.clone(),
            description: c.description.clone(),
            remediation: c.remediation.clone(),
        };
        controls.insert(
            c.control_id.clone(),
            ControlOutcome {
                summary,
                statuses,
                passed,
                passed_status,
                weights_failed,
                weights_all,
            },
        );
    }

    // Framework summaries.
    let mut frameworks: Vec<FrameworkSummary> = Vec::new();
    if let Target::Frameworks(names) = &opts.target {
        for name in names {
            let Some(fw) = lib.framework(name) else {
                continue;
            };
            let mut fs = FrameworkSummary {
                name: fw.name.clone(),
                ..Default::default()
            };
            let mut ids: Vec<&ControlOutcome> = Vec::new();
            for sel in selected {
                if let Some((_, shown)) = sel.frameworks.iter().find(|(f, _)| *f == fw.name) {
                    let co = &controls[&sel.control.control_id];
                    let mut s = co.summary.clone();
                    s.name = shown.clone();
                    fs.controls.insert(s.control_id.clone(), s);
                    ids.push(co);
                }
            }
            let (score, compliance, status) = aggregate_scores(&ids);
            fs.score = score;
            fs.compliance_score = compliance;
            fs.status = status;
            fs.resource_counters = resource_counters(&ids);
            frameworks.push(fs);
        }
    }

    let all: Vec<&ControlOutcome> = controls.values().collect();
    let (score, compliance, status) = aggregate_scores(&all);
    let counters = resource_counters(&all);
    let mut summary = SummaryDetails {
        frameworks,
        status,
        score,
        compliance_score: compliance,
        resource_counters: counters,
        ..Default::default()
    };
    // Severity counters; the per-resource results are already in the compact store.
    for co in controls.values() {
        if co.summary.status == Status::Failed {
            summary.controls_severity_counters.add(&co.summary.severity);
        }
    }
    for sev in worst_severity.values() {
        summary.resources_severity_counters.add(sev);
    }
    summary.controls = controls.into_iter().map(|(k, v)| (k, v.summary)).collect();
    drop(rank);
    let results = results.finish(ids);
    let resources: Vec<Resource> = results
        .resource_ids()
        .map(|id| match index.by_id.get(id) {
            Some(i) => Resource {
                resource_id: id.to_string(),
                object: if opts.keep_objects {
                    object_json(*i)
                } else {
                    Value::Null
                },
                source: objects[*i].source.clone(),
            },
            None => Resource {
                resource_id: id.to_string(),
                object: if opts.keep_objects {
                    external.get(id).cloned().unwrap_or(Value::Null)
                } else {
                    Value::Null
                },
                source: None,
            },
        })
        .collect();
    let (target_type, target_names) = match &opts.target {
        Target::Frameworks(n) => ("framework", n.clone()),
        Target::Controls(n) => ("control", n.clone()),
    };
    let report = PostureReport {
        generation_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        cluster_name: opts.cluster_name.clone(),
        report_guid: String::new(),
        summary_details: summary,
        resources,
        results: Vec::new(),
        metadata: Metadata {
            scan_metadata: ScanMetadata {
                target_type: target_type.into(),
                target_names,
                formats: opts.formats.clone(),
                kubescape_version: opts.kubescape_version.clone(),
                scanning_target: opts.scope.as_str().into(),
                include_namespaces: opts.include_namespaces.clone(),
                exclude_namespaces: opts.exclude_namespaces.clone(),
            },
        },
    };
    Ok((report, results))
}

fn dedup_join(items: &[String]) -> String {
    let mut seen = Vec::new();
    for i in items {
        if !seen.contains(i) {
            seen.push(i.clone());
        }
    }
    seen.join("; ")
}

/// The rules of a control that looked at one resource, each with how it failed (None: passed).
type RuleOutcomes<'f> = Vec<(&'f str, Option<&'f [Failure]>)>;

/// Adds a rule's outcome for the resource at rank `r` (once per rule).
fn add_rule_result<'f>(
    per_resource: &mut BTreeMap<u32, RuleOutcomes<'f>>,
    r: u32,
    rule_name: &'f str,
    fails: Option<&'f [Failure]>,
) {
    // Most controls have one rule.
    let rules = per_resource
        .entry(r)
        .or_insert_with(|| Vec::with_capacity(1));
    if !rules.iter().any(|(name, _)| *name == rule_name) {
        rules.push((rule_name, fails));
    }
}

/// A control's result for one resource from its rules' outcomes (status not yet decided).
fn resource_control(c: &Control, severity: &str, rules: &RuleOutcomes) -> ResourceControl {
    ResourceControl {
        control_id: c.control_id.clone(),
        name: c.name.clone(),
        severity: severity.to_string(),
        status: StatusInfo::default(),
        rules: rules
            .iter()
            .map(|(name, fails)| {
                let mut rr = RuleResult {
                    name: name.to_string(),
                    status: Status::Passed,
                    ..Default::default()
                };
                if let Some(fails) = fails {
                    rr.status = Status::Failed;
                    for f in *fails {
                        rr.paths.extend(f.paths.iter().map(|p| RulePath::clone(p)));
                        rr.related_resources_ids.extend(f.related.iter().cloned());
                    }
                    rr.related_resources_ids.sort();
                    rr.related_resources_ids.dedup();
                }
                rr
            })
            .collect(),
    }
}

/// Exception policies whose posture policies cover this control (in any of its frameworks).
fn applicable_exceptions<'e>(
    c: &Control,
    sel: &SelectedControl,
    exceptions: &[&'e ExceptionPolicy],
) -> Vec<(usize, &'e ExceptionPolicy)> {
    let frameworks: Vec<&str> = if sel.frameworks.is_empty() {
        vec![""]
    } else {
        sel.frameworks.iter().map(|(f, _)| f.as_str()).collect()
    };
    exceptions
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            frameworks.iter().any(|fw| {
                c.rules_names
                    .iter()
                    .any(|r| e.matches_policy(fw, &c.control_id, &c.name, r))
            })
        })
        .map(|(i, e)| (i, *e))
        .collect()
}

/// What can except a failed resource, computed once per resource as neither depends on the
/// control (keyed by (exception, resource ID) instead, matches took about 50 MiB on a
/// 10,000-object cluster with the 48 system exceptions).
struct Excepting {
    /// The `kubescape.io/skip-controls` annotation.
    skip_controls: Option<String>,
    /// Positions of the exceptions whose resource designators match it, ascending.
    matching: Box<[u32]>,
}

impl Excepting {
    fn of(object: &Value, id: &str, exceptions: &[&ExceptionPolicy], opts: &ScanOptions) -> Self {
        Excepting {
            skip_controls: object
                .pointer("/metadata/annotations/kubescape.io~1skip-controls")
                .and_then(Value::as_str)
                .map(str::to_string),
            matching: exceptions
                .iter()
                .enumerate()
                .filter(|(_, e)| e.matches_resource(object, id, &opts.cluster_name))
                .map(|(i, _)| i as u32)
                .collect(),
        }
    }

    /// The exception that turns a failure of `c` into a pass, if any: the skip annotation, else
    /// the first exception that applies to the control and matches the resource.
    fn exception(&self, c: &Control, applicable: &[(usize, &ExceptionPolicy)]) -> Option<Value> {
        if let Some(skip) = &self.skip_controls {
            if skip
                .split(',')
                .any(|s| s.trim().eq_ignore_ascii_case(&c.control_id))
            {
                return Some(
                    serde_json::json!({"name": "annotation kubescape.io/skip-controls", "policyType": "postureExceptionPolicy"}),
                );
            }
        }
        applicable
            .iter()
            .find(|(i, _)| self.matching.binary_search(&(*i as u32)).is_ok())
            .map(|(_, e)| e.raw.clone())
    }
}

/// Compliance of one control: 100 when passed, else the share of passed resources.
fn compliance_of(status: Status, c: &ResourceCounters) -> f64 {
    if status == Status::Passed {
        100.0
    } else if c.all() == 0 {
        0.0
    } else {
        100.0 * c.passed_resources as f64 / c.all() as f64
    }
}

/// (risk score, compliance score, status) over a set of controls.
fn aggregate_scores(controls: &[&ControlOutcome]) -> (f64, f64, Status) {
    if controls.is_empty() {
        return (0.0, 100.0, Status::Passed);
    }
    let compliance = controls
        .iter()
        .map(|c| c.summary.compliance_score)
        .sum::<f64>()
        / controls.len() as f64;
    let (num, den) = controls.iter().fold((0.0, 0.0), |(n, d), c| {
        (
            n + c.summary.score_factor * c.weights_failed,
            d + c.summary.score_factor * c.weights_all,
        )
    });
    let score = if den > 0.0 { 100.0 * num / den } else { 0.0 };
    let status = if controls.iter().any(|c| c.summary.status == Status::Failed) {
        Status::Failed
    } else if controls.iter().any(|c| c.summary.status == Status::Skipped) {
        Status::Skipped
    } else {
        Status::Passed
    };
    (round2(score), round2(compliance), status)
}

/// Unique resources, each counted once with its worst status over the given controls.
fn resource_counters(controls: &[&ControlOutcome]) -> ResourceCounters {
    let mut worst: HashMap<u32, Status> = HashMap::new();
    for co in controls {
        let listed = co.statuses.iter().copied();
        for (id, status) in listed.chain(co.passed.iter().map(|id| (*id, co.passed_status))) {
            let e = worst.entry(id).or_insert(Status::Passed);
            *e = (*e).max(status);
        }
    }
    let mut c = ResourceCounters::default();
    for s in worst.values() {
        match s {
            Status::Passed => c.passed_resources += 1,
            Status::Failed => c.failed_resources += 1,
            Status::Skipped => c.skipped_resources += 1,
        }
    }
    c
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
