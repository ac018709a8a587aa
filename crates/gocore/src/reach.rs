//! Reachability: mark the heap from the roots the way the GC does, and split the
//! allocated objects into live and garbage.
//!
//! [`Reachability::compute`] marks every object a root points into, then scans
//! marked objects with an explicit work stack (no recursion), following each pointer
//! slot of each object ([`Heap::pointers`]). As the runtime's `findObject`, a pointer
//! anywhere inside an allocated slot marks the object — its malloc header included
//! (counted apart in [`EdgeStats::to_header`]). Pointers that land in a free slot or
//! past a span's last slot are the GC's "bad pointers": they mark nothing and are
//! counted, so a reader can check they are zero.
//!
//! Byte totals count whole slots (`mspan.elemsize`), as `runtime.MemStats.HeapAlloc`
//! does.
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! let heap = gocore::Heap::new(&proc)?;
//! let roots = gocore::RootSet::collect(&proc, &heap)?;
//! let r = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
//! println!("live {} objects / {} bytes, garbage {} / {}",
//!     r.live_count(), r.live_bytes(), r.garbage_count(), r.garbage_bytes());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Result;
use crate::heap::{Heap, ObjId, Object};
use crate::process::Process;
use crate::roots::{land, Landing, Root};

/// Most warnings kept.
const MAX_WARNINGS: usize = 100;

/// A fixed-size bitset over [`ObjId`]s.
///
/// ```
/// let mut s = gocore::ObjSet::new(100);
/// assert!(s.insert(gocore::ObjId(7)));
/// assert!(!s.insert(gocore::ObjId(7)));
/// assert!(s.contains(gocore::ObjId(7)) && !s.contains(gocore::ObjId(8)));
/// assert_eq!(s.count(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjSet {
    words: Vec<u64>,
    len: usize,
}

impl ObjSet {
    /// An empty set for ids `0..len`.
    ///
    /// ```
    /// assert_eq!(gocore::ObjSet::new(10).len(), 10);
    /// ```
    pub fn new(len: usize) -> ObjSet {
        ObjSet {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// The number of ids the set covers.
    ///
    /// ```
    /// assert!(gocore::ObjSet::new(0).is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set covers no ids.
    ///
    /// ```
    /// assert!(!gocore::ObjSet::new(1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `id`; returns whether it was absent (ids out of range are ignored).
    ///
    /// ```
    /// let mut s = gocore::ObjSet::new(1);
    /// assert!(!s.insert(gocore::ObjId(5)));
    /// ```
    pub fn insert(&mut self, id: ObjId) -> bool {
        let i = id.index();
        if i >= self.len {
            return false;
        }
        match self.words.get_mut(i / 64) {
            Some(w) => {
                let bit = 1u64 << (i % 64);
                let was = *w & bit != 0;
                *w |= bit;
                !was
            }
            None => false,
        }
    }

    /// Whether `id` is in the set.
    ///
    /// ```
    /// assert!(!gocore::ObjSet::new(3).contains(gocore::ObjId(2)));
    /// ```
    pub fn contains(&self, id: ObjId) -> bool {
        let i = id.index();
        i < self.len
            && self
                .words
                .get(i / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Number of ids in the set.
    ///
    /// ```
    /// assert_eq!(gocore::ObjSet::new(3).count(), 0);
    /// ```
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// The ids in the set, ascending.
    ///
    /// ```
    /// let mut s = gocore::ObjSet::new(200);
    /// s.insert(gocore::ObjId(130));
    /// assert_eq!(s.iter().collect::<Vec<_>>(), vec![gocore::ObjId(130)]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = ObjId> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(ObjId((wi * 64 + b) as u32))
            })
        })
    }
}

/// Where the non-nil pointers of roots and live objects land.
///
/// ```
/// let e = gocore::EdgeStats::default();
/// assert_eq!(e.bad(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdgeStats {
    /// Into an allocated object (its first byte or inside it).
    pub to_objects: u64,
    /// Into the malloc header of an allocated slot (marks the object, as in the
    /// runtime).
    pub to_header: u64,
    /// Into a free slot of an in-use span (a bad pointer: marks nothing).
    pub to_free_slot: u64,
    /// Into an in-use span past its last slot (a bad pointer).
    pub to_span_tail: u64,
    /// Into a goroutine stack span.
    pub to_stack: u64,
    /// Outside the heap's spans (static data, code, off-heap runtime memory).
    pub outside_heap: u64,
}

impl EdgeStats {
    /// Pointers the GC would consider bad (free slot or span tail).
    ///
    /// ```
    /// let e = gocore::EdgeStats { to_free_slot: 2, to_span_tail: 1, ..Default::default() };
    /// assert_eq!(e.bad(), 3);
    /// ```
    pub fn bad(&self) -> u64 {
        self.to_free_slot + self.to_span_tail
    }

    fn add(&mut self, l: Landing) {
        match l {
            Landing::Object(_, false) => self.to_objects += 1,
            Landing::Object(_, true) => self.to_header += 1,
            Landing::FreeSlot => self.to_free_slot += 1,
            Landing::SpanTail => self.to_span_tail += 1,
            Landing::Stack => self.to_stack += 1,
            Landing::Outside => self.outside_heap += 1,
        }
    }
}

/// A bad pointer found while marking: where it is and what it holds.
///
/// ```
/// let b = gocore::BadPointer { from: None, slot: 0x1000, target: 0xc000010000 };
/// assert!(b.from.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPointer {
    /// The live object holding it (`None` for a root).
    pub from: Option<ObjId>,
    /// Address of the slot.
    pub slot: u64,
    /// The pointer.
    pub target: u64,
}

/// Most bad pointers recorded individually.
const MAX_BAD: usize = 64;

/// The result of marking. See the [module documentation](self).
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// # let roots = gocore::RootSet::collect(&proc, &heap)?;
/// let r = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
/// for obj in heap.objects().filter(|o| !r.is_live(o.id)).take(10) {
///     println!("garbage at {:#x}", obj.addr);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Reachability {
    /// The marked objects.
    pub live: ObjSet,
    live_bytes: u64,
    all_bytes: u64,
    all_count: u64,
    /// Where the pointers of the roots land.
    pub root_edges: EdgeStats,
    /// Where the pointers of live objects land.
    pub heap_edges: EdgeStats,
    /// The first bad pointers met (free slot, span tail).
    pub bad: Vec<BadPointer>,
    warnings: Vec<String>,
}

impl Reachability {
    /// Marks from `roots`. Memory that cannot be read stops the scan of that object
    /// with a [warning](Reachability::warnings).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// // Only the globals:
    /// let globals = roots.roots().filter(|r| r.kind.name() == "global");
    /// let r = gocore::Reachability::compute(&proc, &heap, globals)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compute<'r>(
        proc: &Process<'_>,
        heap: &Heap<'_>,
        roots: impl IntoIterator<Item = &'r Root>,
    ) -> Result<Reachability> {
        let _ = proc;
        let n = usize::try_from(heap.object_count()).unwrap_or(usize::MAX);
        let mut r = Reachability {
            live: ObjSet::new(n),
            live_bytes: 0,
            all_bytes: 0,
            all_count: heap.object_count(),
            root_edges: EdgeStats::default(),
            heap_edges: EdgeStats::default(),
            bad: Vec::new(),
            warnings: Vec::new(),
        };
        let mut work: Vec<ObjId> = Vec::new();
        let marks = AtomicSet::new(n);
        for root in roots {
            let l = land(heap, root.target);
            r.root_edges.add(l);
            r.note_bad(l, None, root.slot, root.target);
            if let Landing::Object(id, _) = l {
                if marks.insert(id) {
                    work.push(id);
                }
            }
        }
        // Scan in parallel: each object is scanned once, by the task that marked it,
        // so the marked set and the edge counts do not depend on the schedule; the
        // bad pointers kept and the warnings are sorted.
        let acc = std::sync::Mutex::new(Acc::default());
        heap.counters()
            .start(crate::Stage::Marking, heap.object_count());
        rayon::scope(|s| {
            for chunk in work.chunks(SPLIT) {
                let stack = chunk.to_vec();
                let (marks, acc) = (&marks, &acc);
                s.spawn(move |s| scan(s, heap, marks, acc, stack, None));
            }
        });
        let acc = acc.into_inner().unwrap_or_else(|e| e.into_inner());
        r.heap_edges = acc.edges;
        let mut bad = acc.bad;
        bad.sort_by_key(|b| (b.slot, b.target));
        r.bad.extend(bad);
        r.bad.truncate(MAX_BAD);
        let mut warnings = acc.warnings;
        warnings.sort();
        for w in warnings {
            r.warn(w);
        }
        r.live = marks.into_set();
        heap.counters().finish(crate::Stage::Marking);
        for obj in heap.objects() {
            let slot = obj.size + (obj.addr - obj.slot);
            r.all_bytes += slot;
            if r.live.contains(obj.id) {
                r.live_bytes += slot;
            }
        }
        Ok(r)
    }

    fn note_bad(&mut self, l: Landing, from: Option<ObjId>, slot: u64, target: u64) {
        if matches!(l, Landing::FreeSlot | Landing::SpanTail) && self.bad.len() < MAX_BAD {
            self.bad.push(BadPointer { from, slot, target });
        }
    }

    fn warn(&mut self, msg: String) {
        match self.warnings.len() {
            n if n < MAX_WARNINGS => self.warnings.push(msg),
            n if n == MAX_WARNINGS => self.warnings.push("further warnings suppressed".into()),
            _ => {}
        }
    }

    /// Whether the object is live (reachable from the roots).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # let r = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
    /// if let Some((id, _)) = heap.find_object(0xc000010000) {
    ///     println!("{}", if r.is_live(id) { "live" } else { "garbage" });
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_live(&self, id: ObjId) -> bool {
        self.live.contains(id)
    }

    /// Number of live objects.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # let r = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
    /// assert!(r.live_count() <= heap.object_count());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn live_count(&self) -> u64 {
        self.live.count()
    }

    /// Bytes of live objects (whole slots, as `HeapAlloc` counts).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # let r = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
    /// println!("{} live bytes", r.live_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    /// Number of allocated but unreachable objects.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # let r = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
    /// assert_eq!(r.live_count() + r.garbage_count(), heap.object_count());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn garbage_count(&self) -> u64 {
        self.all_count.saturating_sub(self.live_count())
    }

    /// Bytes of allocated but unreachable objects (whole slots).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # let r = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
    /// println!("{} garbage bytes", r.garbage_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn garbage_bytes(&self) -> u64 {
        self.all_bytes.saturating_sub(self.live_bytes)
    }

    /// Non-fatal problems met while marking.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # let r = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
    /// for w in r.warnings() { eprintln!("warning: {w}"); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// Objects a marking task scans before it hands half of its stack to a new task.
const SPLIT: usize = 256;

/// What marking tasks add up.
#[derive(Default)]
struct Acc {
    edges: EdgeStats,
    bad: Vec<BadPointer>,
    warnings: Vec<String>,
}

impl EdgeStats {
    fn merge(&mut self, o: &EdgeStats) {
        self.to_objects += o.to_objects;
        self.to_header += o.to_header;
        self.to_free_slot += o.to_free_slot;
        self.to_span_tail += o.to_span_tail;
        self.to_stack += o.to_stack;
        self.outside_heap += o.outside_heap;
    }
}

/// A bitset over object ids that tasks mark concurrently.
struct AtomicSet {
    words: Vec<AtomicU64>,
    len: usize,
}

impl AtomicSet {
    fn new(len: usize) -> AtomicSet {
        AtomicSet {
            words: (0..len.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            len,
        }
    }

    /// Marks `id`; whether this call marked it.
    #[inline]
    fn insert(&self, id: ObjId) -> bool {
        let i = id.index();
        if i >= self.len {
            return false;
        }
        let Some(w) = self.words.get(i / 64) else {
            return false;
        };
        let bit = 1u64 << (i % 64);
        // A plain load first: most pointers reach objects marked already.
        if w.load(Ordering::Relaxed) & bit != 0 {
            return false;
        }
        w.fetch_or(bit, Ordering::Relaxed) & bit == 0
    }

    fn into_set(self) -> ObjSet {
        ObjSet {
            words: self.words.into_iter().map(AtomicU64::into_inner).collect(),
            len: self.len,
        }
    }
}

/// Object words one marking task scans of a huge object (8 MiB): larger objects
/// are split into tasks of this many words.
const BIG_WORDS: u64 = 1 << 20;

/// Scans the objects of `stack` (and the `part` of a huge object) and everything
/// they mark, splitting off half of the stack into a new task whenever it grows
/// past `2 * SPLIT`, and huge objects into parts of `BIG_WORDS`.
fn scan<'s>(
    s: &rayon::Scope<'s>,
    heap: &'s Heap<'_>,
    marks: &'s AtomicSet,
    acc: &'s std::sync::Mutex<Acc>,
    mut stack: Vec<ObjId>,
    mut part: Option<(Object, std::ops::Range<u64>)>,
) {
    let mut mine = Acc::default();
    let mut mem = crate::heap::SpanMemory::default();
    // Objects taken off the stack, not yet added to the progress counters.
    let mut taken = 0u64;
    loop {
        let (obj, range) = match part.take() {
            Some(p) => p,
            None => {
                let Some(id) = stack.pop() else { break };
                taken += 1;
                if taken == crate::progress::STEP {
                    heap.counters().add(crate::Stage::Marking, taken);
                    taken = 0;
                }
                if stack.len() >= 2 * SPLIT {
                    let half = stack.split_off(stack.len() - SPLIT);
                    s.spawn(move |s| scan(s, heap, marks, acc, half, None));
                }
                let Some(obj) = heap.object(id) else {
                    mine.warnings
                        .push(format!("object id {} has no object", id.0));
                    continue;
                };
                // Split only where a part's scan costs its own length (not from a
                // bitmap walked from the object's start: Go 1.21's arena bitmap).
                match heap.splittable_words(&obj) {
                    Some(words) if words > BIG_WORDS => {
                        let mut at = BIG_WORDS;
                        while at < words {
                            let r = at..(at + BIG_WORDS).min(words);
                            s.spawn(move |s| scan(s, heap, marks, acc, Vec::new(), Some((obj, r))));
                            at += BIG_WORDS;
                        }
                        (obj, 0..BIG_WORDS)
                    }
                    _ => (obj, 0..u64::MAX),
                }
            }
        };
        let id = obj.id;
        let scanned = heap.scan_pointers_with(&obj, range, &mut mem, |offset, target| {
            let l = land(heap, target);
            mine.edges.add(l);
            if matches!(l, Landing::FreeSlot | Landing::SpanTail) {
                mine.bad.push(BadPointer {
                    from: Some(id),
                    slot: obj.addr + offset,
                    target,
                });
                // Keep the lowest slots, whatever order they are met in.
                if mine.bad.len() > 2 * MAX_BAD {
                    mine.bad.sort_by_key(|b| (b.slot, b.target));
                    mine.bad.truncate(MAX_BAD);
                }
            }
            if let Landing::Object(t, _) = l {
                if marks.insert(t) {
                    stack.push(t);
                }
            }
        });
        if let Err(e) = scanned {
            mine.warnings.push(format!("object {:#x}: {e}", obj.addr));
        }
    }
    heap.counters().add(crate::Stage::Marking, taken);
    let mut a = acc.lock().unwrap_or_else(|e| e.into_inner());
    a.edges.merge(&mine.edges);
    a.bad.extend(mine.bad);
    mine.warnings.sort();
    a.warnings
        .extend(mine.warnings.into_iter().take(MAX_WARNINGS + 1));
}
