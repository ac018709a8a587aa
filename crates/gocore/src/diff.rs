//! Comparing two cores: what grew between two snapshots of a process.
//!
//! A [`Snapshot`] summarises one core by names only, so cores of different builds
//! compare (type names, function names and source lines rather than addresses):
//!
//! * **types**: live objects and their bytes (whole slots, as `HeapAlloc` counts)
//!   per type name — from [`Typing`], else the allocation header's type, else the
//!   size class (`class 5 (48 B)`);
//! * **retainer paths**: the same per path of types from a root — the root's name
//!   (a global by symbol, a goroutine frame by function and line …), then the type of
//!   each object along the shortest path from the roots, the object's type last
//!   ([`crate::pprof::heap_profile`] builds the same paths as stacks);
//! * **retainers**: per retainer path, the largest retained size of an object on it
//!   (from the [dominator tree](crate::Dominators)): `main.gServer > main.Server`
//!   retaining 0.9 MiB, then 1.7 MiB;
//! * **goroutine sites**: goroutines per start function, state and the place they
//!   are at (their topmost frame outside the runtime, `function (file:line)`).
//!
//! [`SnapshotDiff::new`] lists, for each of the three, the keys whose count or bytes
//! changed, largest byte growth first.
//!
//! ```no_run
//! let (a, b) = (corefile::Core::open("old.core")?, corefile::Core::open("new.core")?);
//! let (pa, pb) = (gocore::Process::new(&a)?, gocore::Process::new(&b)?);
//! let old = gocore::Snapshot::compute(&pa, &gocore::Heap::new(&pa)?)?;
//! let new = gocore::Snapshot::compute(&pb, &gocore::Heap::new(&pb)?)?;
//! for c in gocore::SnapshotDiff::new(&old, &new).types.iter().take(5) {
//!     println!("{:+8} objects {:+10} bytes  {}", c.count_delta(), c.bytes_delta(), c.key);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap};

use crate::dominators::Dominators;
use crate::goroutine::{is_runtime_function, Goroutine};
use crate::graph::ObjectGraph;
use crate::heap::{Heap, Object};
use crate::pprof::StackId;
use crate::process::Process;
use crate::reach::{ObjSet, Reachability};
use crate::roots::RootSet;
use crate::types::Typing;

/// Objects and bytes (or goroutines, with `bytes` 0).
///
/// ```
/// let a = gocore::Amount { count: 2, bytes: 64 };
/// assert_eq!(a.count, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Amount {
    /// How many.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Amount {
    fn add(&mut self, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
    }
}

/// One core, summarised by names; see the [module documentation](self).
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// let proc = gocore::Process::new(&core)?;
/// let heap = gocore::Heap::new(&proc)?;
/// let snap = gocore::Snapshot::compute(&proc, &heap)?;
/// println!("{} live objects, {} bytes", snap.live.count, snap.live.bytes);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// All live objects.
    pub live: Amount,
    /// Live objects per type name.
    pub types: BTreeMap<String, Amount>,
    /// Live objects per retainer path (`root > T1 > T2 > T`).
    pub paths: BTreeMap<String, Amount>,
    /// Per retainer path: the objects on it (`count`) and the largest retained size
    /// of one of them (`bytes`).
    pub retainers: BTreeMap<String, Amount>,
    /// Goroutines per site (`start [state] at function (file:line)`).
    pub sites: BTreeMap<String, Amount>,
    /// Problems met (unreadable goroutines, typing or path warnings).
    pub warnings: Vec<String>,
}

/// How objects are grouped by type before names are made (no string per object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TypeKey {
    Typed(u32, u64),
    Header(u64),
    Class(u8, bool, u64),
}

/// The type name of each live object's group, as [`Snapshot::types`] counts them:
/// `(name, count and slot bytes)`, most bytes first.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// # let roots = gocore::RootSet::collect(&proc, &heap)?;
/// let reach = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
/// let typing = gocore::Typing::compute(&proc, &heap).ok();
/// for (name, a) in gocore::diff::live_types(&heap, typing.as_ref(), &reach.live).iter().take(5) {
///     println!("{:>8} {:>10} {name}", a.count, a.bytes);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn live_types(
    heap: &Heap<'_>,
    typing: Option<&Typing>,
    live: &ObjSet,
) -> Vec<(String, Amount)> {
    let mut groups: HashMap<TypeKey, Amount> = HashMap::new();
    let mut sample: HashMap<TypeKey, Object> = HashMap::new();
    for obj in heap.objects() {
        if !live.contains(obj.id) {
            continue;
        }
        let key = type_key(heap, typing, &obj);
        groups.entry(key).or_default().add(slot_bytes(&obj));
        sample.entry(key).or_insert(obj);
    }
    let mut named: BTreeMap<String, Amount> = BTreeMap::new();
    for (k, a) in groups {
        let name = match sample.get(&k) {
            Some(obj) => type_name(heap, typing, obj),
            None => continue,
        };
        let e = named.entry(name).or_default();
        e.count += a.count;
        e.bytes += a.bytes;
    }
    let mut v: Vec<(String, Amount)> = named.into_iter().collect();
    v.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Whole slot of an object (header included), as `HeapAlloc` and
/// [`Reachability::live_bytes`] count.
pub(crate) fn slot_bytes(obj: &Object) -> u64 {
    obj.size + (obj.addr - obj.slot)
}

pub(crate) fn type_key(heap: &Heap<'_>, typing: Option<&Typing>, obj: &Object) -> TypeKey {
    if let Some(t) = typing.and_then(|t| t.object_type(obj.id)) {
        return TypeKey::Typed(t.ty.0, t.elems);
    }
    if let Some(t) = heap.object_type(obj) {
        return TypeKey::Header(t.addr);
    }
    let s = heap.span(obj);
    TypeKey::Class(s.size_class(), s.noscan(), s.elemsize)
}

/// The name an object is grouped under: its type's name (`[N]T` for N values), else
/// its allocation header's type, else its size class (`class 5 (48 B)`,
/// `large (40960 B, noscan)`).
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// let obj = heap.objects().next().unwrap();
/// println!("{}", gocore::diff::type_name(&heap, None, &obj));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn type_name(heap: &Heap<'_>, typing: Option<&Typing>, obj: &Object) -> String {
    if let Some(n) = typing.and_then(|t| t.object_type_name(obj.id)) {
        return n;
    }
    if let Some(t) = heap.object_type(obj) {
        return t.display_name();
    }
    let s = heap.span(obj);
    let noscan = if s.noscan() { ", noscan" } else { "" };
    match s.size_class() {
        0 => format!("large ({} B{noscan})", s.elemsize),
        c => format!("class {c} ({} B{noscan})", s.elemsize),
    }
}

/// The site of a goroutine: `start [state] at function (file:line)`, where the place
/// is its topmost frame outside the runtime (or its topmost frame).
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// let g = proc.goroutines()?.next().unwrap()?;
/// println!("{}", gocore::diff::goroutine_site(&proc, &g));
/// // main.awaitReply [chan receive] at main.awaitReply (main.go:238)
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn goroutine_site(proc: &Process<'_>, g: &Goroutine) -> String {
    let start = g.start_function.as_deref().unwrap_or("?");
    let stack = g.stack(proc);
    let top = stack
        .frames
        .iter()
        .find(|f| !is_runtime_function(&f.function))
        .or(stack.frames.first());
    match top {
        Some(f) => {
            let file = f.file.rsplit('/').next().unwrap_or(&f.file);
            format!(
                "{start} [{}] at {} ({file}:{})",
                g.state(),
                f.function,
                f.line
            )
        }
        None => format!("{start} [{}]", g.state()),
    }
}

impl Snapshot {
    /// Summarises a core: collects the roots, marks, types the heap and walks the
    /// goroutines. Only a heap without roots is an error; a typing or goroutine
    /// failure leaves that part coarser, with a [warning](Snapshot::warnings).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let snap = gocore::Snapshot::compute(&proc, &heap)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compute(proc: &Process<'_>, heap: &Heap<'_>) -> crate::Result<Snapshot> {
        let roots = RootSet::collect(proc, heap)?;
        let typing = match Typing::compute(proc, heap) {
            Ok(t) => Some(t),
            Err(e) => {
                let mut s = Snapshot::default();
                s.warnings
                    .push(format!("no types beyond allocation headers: {e}"));
                return Ok(s.fill(proc, heap, &roots, None));
            }
        };
        Ok(Snapshot::default().fill(proc, heap, &roots, typing.as_ref()))
    }

    /// [`Snapshot::compute`] from roots and types already computed.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let typing = gocore::Typing::compute(&proc, &heap)?;
    /// let snap = gocore::Snapshot::from_parts(&proc, &heap, &roots, Some(&typing));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_parts(
        proc: &Process<'_>,
        heap: &Heap<'_>,
        roots: &RootSet,
        typing: Option<&Typing>,
    ) -> Snapshot {
        Snapshot::default().fill(proc, heap, roots, typing)
    }

    fn fill(
        mut self,
        proc: &Process<'_>,
        heap: &Heap<'_>,
        roots: &RootSet,
        typing: Option<&Typing>,
    ) -> Snapshot {
        match Reachability::compute(proc, heap, roots.roots()) {
            Ok(reach) => {
                self.live = Amount {
                    count: reach.live_count(),
                    bytes: reach.live_bytes(),
                };
                self.types = live_types(heap, typing, &reach.live).into_iter().collect();
            }
            Err(e) => self.warnings.push(format!("marking failed: {e}")),
        }
        let hp = crate::pprof::heap_profile(proc, heap, roots, typing, None);
        for (path, a) in hp.paths() {
            let e = self.paths.entry(path).or_default();
            e.count += a.count;
            e.bytes += a.bytes;
        }
        match ObjectGraph::build(heap, roots) {
            Ok(graph) => {
                let dom = Dominators::compute(&graph, heap);
                // Per stack: objects and the largest retained size.
                let mut by_stack: HashMap<StackId, Amount> = HashMap::new();
                for obj in heap.objects() {
                    if let Some(s) = hp.stack_of(obj.id) {
                        let r = dom.retained(graph.object_node(obj.id));
                        let e = by_stack.entry(s).or_default();
                        e.count += 1;
                        e.bytes = e.bytes.max(r);
                    }
                }
                for (s, a) in by_stack {
                    let e = self.retainers.entry(hp.path(s)).or_default();
                    e.count += a.count;
                    e.bytes = e.bytes.max(a.bytes);
                }
            }
            Err(e) => self
                .warnings
                .push(format!("no retained sizes (object graph: {e})")),
        }
        self.warnings.extend(hp.warnings);
        match proc.goroutines() {
            Ok(gs) => {
                for g in gs {
                    match g {
                        Ok(g) => self
                            .sites
                            .entry(goroutine_site(proc, &g))
                            .or_default()
                            .add(0),
                        Err(e) => self.warnings.push(format!("unreadable goroutine: {e}")),
                    }
                }
            }
            Err(e) => self.warnings.push(format!("no goroutines: {e}")),
        }
        self
    }
}

/// How one key changed between two snapshots.
///
/// ```
/// let c = gocore::Change {
///     key: "main.Session".into(),
///     old: gocore::Amount { count: 750, bytes: 72000 },
///     new: gocore::Amount { count: 1500, bytes: 144000 },
/// };
/// assert_eq!(c.count_delta(), 750);
/// assert_eq!(c.bytes_delta(), 72000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Change {
    /// Type name, path or site.
    pub key: String,
    /// In the old snapshot (zero when absent).
    pub old: Amount,
    /// In the new snapshot (zero when absent).
    pub new: Amount,
}

impl Change {
    /// New count minus old count.
    pub fn count_delta(&self) -> i64 {
        self.new.count as i64 - self.old.count as i64
    }
    /// New bytes minus old bytes.
    pub fn bytes_delta(&self) -> i64 {
        self.new.bytes as i64 - self.old.bytes as i64
    }
}

/// What changed between two [`Snapshot`]s; see the [module documentation](self).
///
/// ```
/// let mut old = gocore::Snapshot::default();
/// let mut new = gocore::Snapshot::default();
/// old.types.insert("main.T".into(), gocore::Amount { count: 1, bytes: 16 });
/// new.types.insert("main.T".into(), gocore::Amount { count: 3, bytes: 48 });
/// new.types.insert("main.U".into(), gocore::Amount { count: 1, bytes: 8 });
/// let d = gocore::SnapshotDiff::new(&old, &new);
/// assert_eq!(d.types[0].key, "main.T");
/// assert_eq!(d.types[0].count_delta(), 2);
/// assert_eq!(d.types.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SnapshotDiff {
    /// All live objects.
    pub live: Change,
    /// Per type name, changed ones only.
    pub types: Vec<Change>,
    /// Per retainer path, changed ones only.
    pub paths: Vec<Change>,
    /// Largest retained size per retainer path, changed ones only.
    pub retainers: Vec<Change>,
    /// Per goroutine site, changed ones only.
    pub sites: Vec<Change>,
}

impl SnapshotDiff {
    /// Compares `old` with `new`: each list holds the keys whose count or bytes
    /// differ, sorted by byte growth (largest first), then count growth, then key.
    ///
    /// ```
    /// let s = gocore::Snapshot::default();
    /// assert!(gocore::SnapshotDiff::new(&s, &s).types.is_empty());
    /// ```
    pub fn new(old: &Snapshot, new: &Snapshot) -> SnapshotDiff {
        SnapshotDiff {
            live: Change {
                key: "live heap".into(),
                old: old.live,
                new: new.live,
            },
            types: changes(&old.types, &new.types),
            paths: changes(&old.paths, &new.paths),
            retainers: changes(&old.retainers, &new.retainers),
            sites: changes(&old.sites, &new.sites),
        }
    }
}

fn changes(old: &BTreeMap<String, Amount>, new: &BTreeMap<String, Amount>) -> Vec<Change> {
    let mut v: Vec<Change> = Vec::new();
    for (k, o) in old {
        let n = new.get(k).copied().unwrap_or_default();
        if n != *o {
            v.push(Change {
                key: k.clone(),
                old: *o,
                new: n,
            });
        }
    }
    for (k, n) in new {
        if !old.contains_key(k) && *n != Amount::default() {
            v.push(Change {
                key: k.clone(),
                old: Amount::default(),
                new: *n,
            });
        }
    }
    v.sort_by(|a, b| {
        b.bytes_delta()
            .cmp(&a.bytes_delta())
            .then_with(|| b.count_delta().cmp(&a.count_delta()))
            .then_with(|| a.key.cmp(&b.key))
    });
    v
}
