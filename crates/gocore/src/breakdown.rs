//! [`Breakdown`]: where every mapped byte of the process goes — live heap, garbage,
//! free slots and pages, goroutine stacks, runtime metadata, the executable, shared
//! libraries, thread stacks — cross-checked against the runtime's own counters read
//! from the same core.
//!
//! # How the bytes are attributed
//!
//! Every mapping of the core is counted once. Mappings without any access
//! (`PROT_NONE`: arena reservations, guard pages) form one node. The accessible
//! bytes are then *claimed*, in this order, each byte by the first claimant:
//!
//! 1. **Go heap**: in-use spans (split into live objects, garbage objects, free slots
//!    and the span tail past the last slot), manual spans (goroutine stacks — used
//!    below the saved stack pointer or not — stacks kept by dead goroutines, and the
//!    rest: free stacks and GC work buffers), the unused part of the arena the heap is
//!    growing into (`mheap_.curArena`), and the remaining free pages of every arena in
//!    `mheap_.allArenas`; when the heap has user arena chunks (`GOEXPERIMENT=arenas`),
//!    live and garbage objects split into the chunks (live ones into what the arena
//!    allocated and its not yet allocated middle, `userArenaChunkFree`) and the rest
//!    (a freed chunk in quarantine has no access: it is reserved memory);
//! 2. **executable image**: data and bss (from `moduledata`), then the executable's
//!    file mappings (text, read-only data);
//! 3. **runtime metadata** located by address: the `heapArena` of every arena, the
//!    arena index (`mheap_.arenas` second-level maps), every `mspan` of
//!    `mheap_.allspans`;
//! 4. **other files** (shared libraries by name), the **vdso**, **thread stacks**
//!    (the rest of a mapping holding a thread's stack pointer);
//! 5. what remains: **other anonymous memory**, reported as unattributed (the
//!    runtime's off-heap allocations, cgo's malloc, …; the runtime's own counters for
//!    them are in [`Breakdown::counters`]).
//!
//! So the children of each node add up exactly to it, and the root is exactly the
//! total size of the core's mappings.
//!
//! # Cross-checks
//!
//! [`Breakdown::checks`] compares what was found in the heap's own structures with
//! the counters the runtime keeps (`mheap_.pagesInUse`, `gcController.heapInUse`,
//! the consistent `memstats.heapStats`, `mheap_.spanalloc.inuse` …).
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! let heap = gocore::Heap::new(&proc)?;
//! let roots = gocore::RootSet::collect(&proc, &heap)?;
//! let reach = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
//! let b = gocore::Breakdown::compute(&proc, &heap, Some(&reach));
//! b.root.walk(&mut |depth, n| println!("{:indent$}{} {}", "", n.name, n.bytes, indent = 2 * depth));
//! for c in &b.checks {
//!     println!("{}: {} vs {:?} {}", c.name, c.ours, c.runtime, if c.ok() { "ok" } else { "MISMATCH" });
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Result;
use crate::heap::{Heap, SpanState};
use crate::process::Process;
use crate::reach::Reachability;
use crate::region::Region;

/// Most `allgs` entries read (a sanity bound on a length read from the core).
const MAX_GOROUTINES: u64 = 1 << 24;
/// Most arenas read from `mheap_.allArenas`.
const MAX_ARENAS: u64 = 1 << 20;
/// Most warnings kept.
const MAX_WARNINGS: usize = 50;

/// One node of the breakdown tree: a name, a byte count and the parts it splits into
/// (whose bytes add up exactly to its own when there are any).
///
/// ```
/// use gocore::BreakdownNode as Node;
/// let n = Node::parent("heap", vec![Node::leaf("live", 48), Node::leaf("free", 16)]);
/// assert_eq!(n.bytes, 64);
/// assert_eq!(n.find("heap/free").map(|n| n.bytes), Some(16));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakdownNode {
    /// What the bytes are.
    pub name: String,
    /// How many bytes.
    pub bytes: u64,
    /// Parts (empty for a leaf).
    pub children: Vec<BreakdownNode>,
}

impl BreakdownNode {
    /// A node without parts.
    ///
    /// ```
    /// let n = gocore::BreakdownNode::leaf("vdso", 8192);
    /// assert!(n.children.is_empty());
    /// ```
    pub fn leaf(name: impl Into<String>, bytes: u64) -> BreakdownNode {
        BreakdownNode {
            name: name.into(),
            bytes,
            children: Vec::new(),
        }
    }

    /// A node whose bytes are the sum of its parts.
    ///
    /// ```
    /// use gocore::BreakdownNode as Node;
    /// let n = Node::parent("stacks", vec![Node::leaf("used", 3), Node::leaf("unused", 5)]);
    /// assert_eq!(n.bytes, 8);
    /// ```
    pub fn parent(name: impl Into<String>, children: Vec<BreakdownNode>) -> BreakdownNode {
        BreakdownNode {
            name: name.into(),
            bytes: children.iter().fold(0u64, |s, c| s.saturating_add(c.bytes)),
            children,
        }
    }

    /// The descendant at a `/`-separated path of names, starting with this node's
    /// own name.
    ///
    /// ```
    /// use gocore::BreakdownNode as Node;
    /// let n = Node::parent("all", vec![Node::parent("a", vec![Node::leaf("b", 1)])]);
    /// assert_eq!(n.find("all/a/b").unwrap().bytes, 1);
    /// assert!(n.find("all/x").is_none());
    /// ```
    pub fn find(&self, path: &str) -> Option<&BreakdownNode> {
        let mut parts = path.split('/');
        if parts.next()? != self.name {
            return None;
        }
        let mut node = self;
        for p in parts {
            node = node.children.iter().find(|c| c.name == p)?;
        }
        Some(node)
    }

    /// Calls `f` on this node and every descendant, depth first, with its depth.
    ///
    /// ```
    /// use gocore::BreakdownNode as Node;
    /// let n = Node::parent("all", vec![Node::leaf("a", 1), Node::leaf("b", 2)]);
    /// let mut names = Vec::new();
    /// n.walk(&mut |depth, n| names.push((depth, n.name.clone())));
    /// assert_eq!(names[2], (1, "b".to_string()));
    /// ```
    pub fn walk(&self, f: &mut dyn FnMut(usize, &BreakdownNode)) {
        self.walk_at(0, f);
    }

    fn walk_at(&self, depth: usize, f: &mut dyn FnMut(usize, &BreakdownNode)) {
        f(depth, self);
        for c in &self.children {
            c.walk_at(depth + 1, f);
        }
    }

    /// Whether every node with parts equals the sum of its parts.
    ///
    /// ```
    /// use gocore::BreakdownNode as Node;
    /// let mut n = Node::parent("all", vec![Node::leaf("a", 1)]);
    /// assert!(n.is_consistent());
    /// n.bytes = 2;
    /// assert!(!n.is_consistent());
    /// ```
    pub fn is_consistent(&self) -> bool {
        if self.children.is_empty() {
            return true;
        }
        let sum = self
            .children
            .iter()
            .fold(0u64, |s, c| s.saturating_add(c.bytes));
        sum == self.bytes && self.children.iter().all(BreakdownNode::is_consistent)
    }
}

/// One comparison of a quantity found in the heap's structures with the runtime's
/// own counter of it.
///
/// ```
/// let c = gocore::BreakdownCheck {
///     name: "in-use span bytes == mheap_.pagesInUse x pageSize".into(),
///     ours: 8192,
///     runtime: Some(8192),
///     tolerance: 0,
///     at_most: false,
/// };
/// assert!(c.ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakdownCheck {
    /// What is compared, and with which counter.
    pub name: String,
    /// The value found by walking the heap.
    pub ours: u64,
    /// The runtime's counter, if it could be read.
    pub runtime: Option<u64>,
    /// Allowed difference, in bytes.
    pub tolerance: u64,
    /// Only `ours <= runtime + tolerance` is required (a part of what the counter
    /// counts).
    pub at_most: bool,
}

impl BreakdownCheck {
    /// Whether the values agree (a counter that could not be read is not a
    /// disagreement).
    ///
    /// ```
    /// let c = gocore::BreakdownCheck {
    ///     name: "stacks".into(), ours: 10, runtime: Some(16), tolerance: 0, at_most: true,
    /// };
    /// assert!(c.ok());
    /// ```
    pub fn ok(&self) -> bool {
        let Some(r) = self.runtime else {
            return true;
        };
        if self.at_most {
            self.ours <= r.saturating_add(self.tolerance)
        } else {
            self.ours.abs_diff(r) <= self.tolerance
        }
    }
}

/// The runtime's own memory counters, as read from the core (each `None` when it
/// could not be read in this release or core).
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// let b = gocore::Breakdown::compute(&proc, &heap, None);
/// if let Some(n) = b.counters.in_stacks { println!("StackInuse {n}"); }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeCounters {
    /// Bytes per heap page.
    pub page_size: Option<u64>,
    /// `mheap_.pagesInUse`: pages of in-use spans.
    pub pages_in_use: Option<u64>,
    /// `gcController.heapInUse` (`MemStats.HeapInuse`).
    pub heap_in_use: Option<u64>,
    /// `gcController.heapFree`: free pages not released to the OS.
    pub heap_free: Option<u64>,
    /// `gcController.heapReleased` (`MemStats.HeapReleased`).
    pub heap_released: Option<u64>,
    /// `gcController.mappedReady`: mapped memory in the Ready state.
    pub mapped_ready: Option<u64>,
    /// Sum of `memstats.heapStats.stats[*].inHeap`.
    pub in_heap: Option<i64>,
    /// Sum of `memstats.heapStats.stats[*].inStacks` (`MemStats.StackInuse`).
    pub in_stacks: Option<i64>,
    /// Sum of `memstats.heapStats.stats[*].inWorkBufs`.
    pub in_work_bufs: Option<i64>,
    /// Sum of `memstats.heapStats.stats[*].inPtrScalarBits` (releases that have it).
    pub in_ptr_scalar_bits: Option<i64>,
    /// Sum of `memstats.heapStats.stats[*].committed`.
    pub committed: Option<i64>,
    /// `memstats.mspan_sys`, `mcache_sys`, `buckhash_sys`, `gcMiscSys`, `other_sys`,
    /// `stacks_sys`: off-heap runtime memory by purpose.
    pub off_heap: BTreeMap<&'static str, u64>,
    /// `mheap_.spanalloc.inuse`: bytes of allocated `mspan` structures
    /// (`MemStats.MSpanInuse`).
    pub mspan_in_use: Option<u64>,
    /// `mheap_.cachealloc.inuse`: bytes of allocated `mcache` structures.
    pub mcache_in_use: Option<u64>,
}

/// Where every mapped byte goes. See the [module documentation](self).
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// let b = gocore::Breakdown::compute(&proc, &heap, None);
/// let total: u64 = core.mappings().iter().map(|m| m.len()).sum();
/// assert_eq!(b.root.bytes, total);
/// assert!(b.root.is_consistent());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Breakdown {
    /// The tree; its bytes are the total size of the core's mappings.
    pub root: BreakdownNode,
    /// Comparisons with the runtime's counters.
    pub checks: Vec<BreakdownCheck>,
    /// The counters themselves.
    pub counters: RuntimeCounters,
    /// Problems met (unreadable counters or structures); the tree is still exact.
    pub warnings: Vec<String>,
}

/// Node names, so that callers and tests can [`find`](BreakdownNode::find) them.
pub mod names {
    /// The root.
    pub const TOTAL: &str = "mapped";
    /// Mappings without access.
    pub const RESERVED: &str = "reserved without access";
    /// The Go heap.
    pub const HEAP: &str = "go heap";
    /// In-use spans.
    pub const IN_USE: &str = "in-use spans";
    /// Objects found reachable.
    pub const LIVE: &str = "live objects";
    /// Objects allocated but unreachable.
    pub const GARBAGE: &str = "garbage objects";
    /// Objects when reachability was not computed.
    pub const OBJECTS: &str = "allocated objects";
    /// Unallocated slots of in-use spans.
    pub const FREE_SLOTS: &str = "free slots";
    /// Bytes of in-use spans past the last slot.
    pub const TAIL: &str = "span tail";
    /// Part of the live or garbage objects: user arena chunks (`GOEXPERIMENT=arenas`;
    /// the node is split so only when the heap has some).
    pub const USER_ARENA: &str = "user arena chunks";
    /// Part of live user arena chunks: the arena's allocations.
    pub const USER_ARENA_USED: &str = "allocated in the arena";
    /// Part of live user arena chunks: not yet allocated (`userArenaChunkFree`).
    pub const USER_ARENA_FREE: &str = "not yet allocated";
    /// The objects that are not user arena chunks, beside [`USER_ARENA`].
    pub const OTHER_OBJECTS: &str = "other objects";
    /// Manual spans.
    pub const MANUAL: &str = "manual spans";
    /// Stacks of live goroutines.
    pub const STACKS: &str = "goroutine stacks";
    /// The used part of live goroutines' stacks.
    pub const STACK_USED: &str = "used";
    /// The unused part of live goroutines' stacks.
    pub const STACK_UNUSED: &str = "unused";
    /// Stacks kept by dead goroutines.
    pub const DEAD_STACKS: &str = "stacks of dead goroutines";
    /// Stacks of the Ms' `g0` and `gsignal` goroutines.
    pub const M_STACKS: &str = "thread stacks (g0, gsignal)";
    /// The rest of manual spans.
    pub const MANUAL_OTHER: &str = "free stacks and GC work buffers";
    /// The unused part of `mheap_.curArena`.
    pub const CUR_ARENA: &str = "arena growth reserve";
    /// Free pages of the arenas.
    pub const FREE_PAGES: &str = "free pages";
    /// The executable.
    pub const EXE: &str = "executable";
    /// Text.
    pub const TEXT: &str = "text";
    /// Read-only data.
    pub const RODATA: &str = "read-only data";
    /// Data and bss.
    pub const DATA: &str = "data and bss";
    /// Runtime metadata located by address.
    pub const METADATA: &str = "runtime metadata";
    /// `heapArena` structures.
    pub const HEAP_ARENAS: &str = "heapArena structures";
    /// Second-level arena maps.
    pub const ARENA_INDEX: &str = "arena index";
    /// `mspan` structures.
    pub const MSPANS: &str = "mspan structures";
    /// Other mapped files.
    pub const FILES: &str = "other files";
    /// The vdso.
    pub const VDSO: &str = "vdso";
    /// Thread stacks outside the Go heap.
    pub const THREAD_STACKS: &str = "OS thread stacks";
    /// The rest.
    pub const OTHER: &str = "other anonymous memory (unattributed)";
}

use names as n;

impl Breakdown {
    /// Attributes every mapped byte of the process. With `reach`, in-use object bytes
    /// are split into live and garbage. Never fails: what cannot be read becomes a
    /// [warning](Breakdown::warnings) and its bytes fall to a less specific node.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let b = gocore::Breakdown::compute(&proc, &heap, None);
    /// let heap_bytes = b.root.find("mapped/go heap").map_or(0, |n| n.bytes);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compute(proc: &Process<'_>, heap: &Heap<'_>, reach: Option<&Reachability>) -> Breakdown {
        let mut b = Builder {
            proc,
            heap,
            warnings: Vec::new(),
            os_stacks: Vec::new(),
        };
        let counters = b.counters();
        let core = proc.core();
        let total: u64 = core.mappings().iter().map(|m| m.len()).sum();
        let mut free = Claims::default();
        let mut reserved = 0u64;
        for m in core.mappings() {
            let p = m.perms();
            if p.read || p.write || p.exec {
                free.add(m.start(), m.end());
            } else {
                reserved += m.len();
            }
        }

        let (heap_node, heap_facts) = b.heap(&mut free, reach);
        let exe = b.executable(&mut free);
        let (meta, mspan_count) = b.metadata(&mut free);
        let mut rest = b.rest(&mut free);

        let mut children = vec![heap_node, exe, meta];
        children.append(&mut rest);
        children.push(BreakdownNode::leaf(n::RESERVED, reserved));
        let root = BreakdownNode::parent(n::TOTAL, children);
        if root.bytes != total {
            b.warn(format!(
                "attributed {} bytes of {total} mapped (a claim outside the mappings)",
                root.bytes
            ));
        }
        let checks = checks(&heap_facts, &counters, mspan_count, proc);
        let mut warnings = b.warnings;
        warnings.truncate(MAX_WARNINGS);
        Breakdown {
            root,
            checks,
            counters,
            warnings,
        }
    }
}

/// Bytes of `heapArena`s and of the arena index, and (in-use + manual mspans,
/// all allspans) for the checks.
type MetaBytes = (u64, u64, Option<(u64, u64)>);

/// Sizes found in the heap's structures, for the checks.
#[derive(Debug, Default)]
struct HeapFacts {
    in_use: u64,
    /// In-use spans of quarantined user arena chunks (freed, noscan, set to fault):
    /// in `pagesInUse` until the sweeper retires them, no longer in `heapInUse`.
    quarantined: u64,
    manual: u64,
    goroutine_stacks: u64,
    free_pages: u64,
}

fn checks(
    f: &HeapFacts,
    c: &RuntimeCounters,
    mspans: Option<(u64, u64)>,
    proc: &Process<'_>,
) -> Vec<BreakdownCheck> {
    let pos = |v: Option<i64>| v.map(|v| v.max(0) as u64);
    let check = |name: &str, ours: u64, runtime: Option<u64>, at_most: bool| BreakdownCheck {
        name: name.to_string(),
        ours,
        runtime,
        tolerance: 0,
        at_most,
    };
    let manual_counter = match (c.in_stacks, c.in_work_bufs) {
        (Some(s), Some(w)) => pos(Some(
            s.saturating_add(w)
                .saturating_add(c.in_ptr_scalar_bits.unwrap_or(0)),
        )),
        _ => None,
    };
    let idle = match (c.heap_free, c.heap_released) {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        _ => None,
    };
    let mut v = vec![
        check(
            "in-use span bytes == mheap_.pagesInUse x pageSize",
            f.in_use.saturating_add(f.quarantined),
            c.pages_in_use
                .zip(c.page_size)
                .map(|(p, s)| p.saturating_mul(s)),
            false,
        ),
        check(
            "in-use span bytes == gcController.heapInUse (HeapInuse)",
            f.in_use,
            c.heap_in_use,
            false,
        ),
        check(
            "in-use span bytes == sum of heapStats.inHeap",
            f.in_use,
            pos(c.in_heap),
            false,
        ),
        check(
            "manual span bytes == heapStats.inStacks + inWorkBufs (+ inPtrScalarBits)",
            f.manual,
            manual_counter,
            false,
        ),
        check(
            "goroutine and M stack bytes <= heapStats.inStacks (StackInuse)",
            f.goroutine_stacks,
            pos(c.in_stacks),
            true,
        ),
        check(
            "mapped free pages of the arenas == heapFree + heapReleased (HeapIdle)",
            f.free_pages,
            idle,
            false,
        ),
    ];
    if let Some((live_spans, all)) = mspans {
        let size = proc.layouts().size("runtime.mspan").unwrap_or(0);
        v.push(check(
            "in-use and manual mspans x size <= spanalloc.inuse (MSpanInuse)",
            live_spans.saturating_mul(size),
            c.mspan_in_use,
            true,
        ));
        v.push(BreakdownCheck {
            name: "spanalloc.inuse <= allspans x size of mspan".into(),
            ours: c.mspan_in_use.unwrap_or(0),
            runtime: c.mspan_in_use.map(|_| all.saturating_mul(size)),
            tolerance: 0,
            at_most: true,
        });
    }
    v
}

/// Accessible address ranges not yet attributed (start → end).
#[derive(Debug, Default)]
struct Claims {
    free: BTreeMap<u64, u64>,
}

impl Claims {
    fn add(&mut self, start: u64, end: u64) {
        if start < end {
            self.free.insert(start, end);
        }
    }

    /// Removes `[start, end)` from the unattributed ranges and returns how many
    /// bytes of it were still unattributed.
    fn claim(&mut self, start: u64, end: u64) -> u64 {
        if start >= end {
            return 0;
        }
        let hits: Vec<(u64, u64)> = self
            .free
            .range(..end)
            .rev()
            .take_while(|(_, &e)| e > start)
            .map(|(&s, &e)| (s, e))
            .collect();
        let mut got = 0u64;
        for (s, e) in hits {
            self.free.remove(&s);
            let (lo, hi) = (s.max(start), e.min(end));
            got += hi - lo;
            if s < lo {
                self.free.insert(s, lo);
            }
            if hi < e {
                self.free.insert(hi, e);
            }
        }
        got
    }

    /// Unattributed ranges overlapping `[start, end)`.
    fn within(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        self.free
            .range(..end)
            .filter(|(_, &e)| e > start)
            .map(|(&s, &e)| (s.max(start), e.min(end)))
            .collect()
    }
}

struct Builder<'p, 'h> {
    proc: &'p Process<'p>,
    heap: &'h Heap<'h>,
    warnings: Vec<String>,
    /// An address in each M stack outside the Go heap.
    os_stacks: Vec<u64>,
}

impl Builder<'_, '_> {
    fn warn(&mut self, w: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        }
    }

    fn ok<T>(&mut self, what: &str, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.warn(format!("{what}: {e}"));
                None
            }
        }
    }

    fn counters(&mut self) -> RuntimeCounters {
        let proc = self.proc;
        let l = proc.layouts();
        let mut c = RuntimeCounters {
            page_size: l
                .constant_any(&[
                    "runtime._PageSize",
                    "runtime.pageSize",
                    "internal/runtime/gc.PageSize",
                ])
                .ok()
                .map(|v| v as u64),
            ..RuntimeCounters::default()
        };
        let read = |r: &Region<'_>, f: &str| r.field(f).and_then(|v| v.uint());
        if let Some(mheap) = self.ok("mheap_", proc.global("runtime.mheap_", "runtime.mheap")) {
            c.pages_in_use = self.ok("mheap_.pagesInUse", read(&mheap, "pagesInUse"));
            c.mspan_in_use = self.ok(
                "mheap_.spanalloc.inuse",
                mheap.field("spanalloc").and_then(|r| read(&r, "inuse")),
            );
            c.mcache_in_use = self.ok(
                "mheap_.cachealloc.inuse",
                mheap.field("cachealloc").and_then(|r| read(&r, "inuse")),
            );
        }
        if let Some(gc) = self.ok(
            "gcController",
            proc.global("runtime.gcController", "runtime.gcControllerState"),
        ) {
            c.heap_in_use = self.ok("gcController.heapInUse", read(&gc, "heapInUse"));
            c.heap_free = self.ok("gcController.heapFree", read(&gc, "heapFree"));
            c.heap_released = self.ok("gcController.heapReleased", read(&gc, "heapReleased"));
            c.mapped_ready = self.ok("gcController.mappedReady", read(&gc, "mappedReady"));
        }
        if let Some(ms) = self.ok(
            "memstats",
            proc.global("runtime.memstats", "runtime.mstats"),
        ) {
            for name in [
                "mspan_sys",
                "mcache_sys",
                "buckhash_sys",
                "gcMiscSys",
                "other_sys",
                "stacks_sys",
            ] {
                if let Some(v) = self.ok(&format!("memstats.{name}"), read(&ms, name)) {
                    c.off_heap.insert(name, v);
                }
            }
            let stats = ms
                .field("heapStats")
                .and_then(|h| h.field("stats"))
                .and_then(|s| Ok((s.array_len()?, s)));
            if let Some((len, stats)) = self.ok("memstats.heapStats", stats) {
                let sum = |f: &str| -> Result<i64> {
                    let mut t = 0i64;
                    for i in 0..len.min(8) {
                        t = t.wrapping_add(stats.index(i)?.field(f)?.int()?);
                    }
                    Ok(t)
                };
                let (h, s, w, c2, p) = (
                    sum("inHeap"),
                    sum("inStacks"),
                    sum("inWorkBufs"),
                    sum("committed"),
                    sum("inPtrScalarBits"),
                );
                c.in_heap = self.ok("heapStats.inHeap", h);
                c.in_stacks = self.ok("heapStats.inStacks", s);
                c.in_work_bufs = self.ok("heapStats.inWorkBufs", w);
                c.committed = self.ok("heapStats.committed", c2);
                // Removed in Go 1.25: absent is not a problem.
                c.in_ptr_scalar_bits = p.ok();
            }
        }
        c
    }

    /// The Go heap node.
    fn heap(
        &mut self,
        free: &mut Claims,
        reach: Option<&Reachability>,
    ) -> (BreakdownNode, HeapFacts) {
        let heap = self.heap;
        let mut facts = HeapFacts::default();

        // Object slots per span, live or not.
        let spans = heap.spans();
        let mut live_slots = vec![0u64; spans.len()];
        let mut garbage_slots = vec![0u64; spans.len()];
        for obj in heap.objects() {
            let i = obj.span as usize;
            let is_live = reach.is_none_or(|r| r.is_live(obj.id));
            let v = if is_live {
                live_slots.get_mut(i)
            } else {
                garbage_slots.get_mut(i)
            };
            if let Some(v) = v {
                *v += 1;
            }
        }

        let (mut live, mut garbage, mut free_slots, mut tail, mut partial) =
            (0u64, 0u64, 0u64, 0u64, 0u64);
        // User arena chunks: (live, of which not yet allocated, garbage).
        let (mut ua_live, mut ua_free, mut ua_garbage) = (0u64, 0u64, 0u64);
        let mut manual_spans = Vec::new();
        for (i, s) in spans.iter().enumerate() {
            let got = free.claim(s.base, s.end());
            match s.state {
                SpanState::InUse if s.user_arena && s.noscan() => {
                    // A quarantined user arena chunk: no object, memory set to
                    // fault (its mapping has no access), out of the heap counters.
                    facts.quarantined = facts.quarantined.saturating_add(s.bytes());
                    if got > 0 {
                        partial += got;
                    }
                }
                SpanState::InUse => {
                    facts.in_use = facts.in_use.saturating_add(s.bytes());
                    if got != s.bytes() {
                        partial += got;
                        continue;
                    }
                    let lv = live_slots.get(i).copied().unwrap_or(0) * s.elemsize;
                    let gb = garbage_slots.get(i).copied().unwrap_or(0) * s.elemsize;
                    let fr = s.nelems.saturating_sub(s.allocated) * s.elemsize;
                    let used = s.nelems.saturating_mul(s.elemsize);
                    if lv + gb + fr != used || used > got {
                        partial += got;
                        continue;
                    }
                    live += lv;
                    garbage += gb;
                    free_slots += fr;
                    tail += got - used;
                    if s.user_arena {
                        ua_live += lv;
                        ua_garbage += gb;
                        if lv > 0 {
                            // The free middle, within the chunk's object.
                            let (lo, hi) = s.user_arena_free.unwrap_or((0, 0));
                            let end = s.base.saturating_add(s.elemsize);
                            let (lo, hi) = (lo.max(s.base), hi.min(end));
                            ua_free += hi.saturating_sub(lo);
                        }
                    }
                }
                _ => {
                    facts.manual = facts.manual.saturating_add(s.bytes());
                    manual_spans.push((s.base, s.end(), got));
                }
            }
        }
        if partial > 0 {
            self.warn(format!(
                "{partial} bytes of in-use spans are only partly mapped or inconsistent"
            ));
        }
        // With user arena chunks, objects split into the chunks and the rest.
        let split = |name: &str, total: u64, chunks: u64, free: Option<u64>| {
            if ua_live + ua_garbage == 0 {
                return BreakdownNode::leaf(name, total);
            }
            let other = total.saturating_sub(chunks);
            let chunks = match free {
                Some(f) if f > 0 => BreakdownNode::parent(
                    n::USER_ARENA,
                    vec![
                        BreakdownNode::leaf(n::USER_ARENA_USED, chunks.saturating_sub(f)),
                        BreakdownNode::leaf(n::USER_ARENA_FREE, f.min(chunks)),
                    ],
                ),
                _ => BreakdownNode::leaf(n::USER_ARENA, chunks),
            };
            BreakdownNode::parent(
                name,
                vec![chunks, BreakdownNode::leaf(n::OTHER_OBJECTS, other)],
            )
        };
        let mut in_use = if reach.is_some() {
            vec![
                split(n::LIVE, live, ua_live, Some(ua_free)),
                split(n::GARBAGE, garbage, ua_garbage, None),
            ]
        } else {
            vec![split(
                n::OBJECTS,
                live + garbage,
                ua_live + ua_garbage,
                Some(ua_free),
            )]
        };
        in_use.push(BreakdownNode::leaf(n::FREE_SLOTS, free_slots));
        in_use.push(BreakdownNode::leaf(n::TAIL, tail));
        if partial > 0 {
            in_use.push(BreakdownNode::leaf(
                "partly mapped or inconsistent spans",
                partial,
            ));
        }

        // Goroutine stacks in manual spans.
        let manual_claimed: u64 = manual_spans.iter().map(|m| m.2).sum();
        let (used, unused, dead) = self.stacks(&manual_spans);
        let m_stacks = self.m_stacks(&manual_spans);
        facts.goroutine_stacks = used + unused + dead + m_stacks;
        let manual = vec![
            BreakdownNode::parent(
                n::STACKS,
                vec![
                    BreakdownNode::leaf(n::STACK_USED, used),
                    BreakdownNode::leaf(n::STACK_UNUSED, unused),
                ],
            ),
            BreakdownNode::leaf(n::DEAD_STACKS, dead),
            BreakdownNode::leaf(n::M_STACKS, m_stacks),
            BreakdownNode::leaf(
                n::MANUAL_OTHER,
                manual_claimed.saturating_sub(used + unused + dead + m_stacks),
            ),
        ];

        // The growth reserve, then the rest of each arena.
        let cur_bytes = self.cur_arena().map_or(0, |(a, b)| free.claim(a, b));
        let mut free_pages = 0u64;
        for (a, b) in self.arenas() {
            free_pages += free.claim(a, b);
        }
        facts.free_pages = free_pages;
        let node = BreakdownNode::parent(
            n::HEAP,
            vec![
                BreakdownNode::parent(n::IN_USE, in_use),
                BreakdownNode::parent(n::MANUAL, manual),
                BreakdownNode::leaf(n::CUR_ARENA, cur_bytes),
                BreakdownNode::leaf(n::FREE_PAGES, free_pages),
            ],
        );
        (node, facts)
    }

    /// Bytes of goroutine stacks inside manual spans: (used by live goroutines,
    /// unused by live goroutines, kept by dead goroutines).
    fn stacks(&mut self, manual: &[(u64, u64, u64)]) -> (u64, u64, u64) {
        let proc = self.proc;
        let Some(allgs) = self.ok("allgs", proc.global("runtime.allgs", "[]*runtime.g")) else {
            return (0, 0, 0);
        };
        let Some(len) = self.ok("len(allgs)", allgs.slice_len()) else {
            return (0, 0, 0);
        };
        if len > MAX_GOROUTINES {
            self.warn(format!("len(allgs) {len} is implausible"));
            return (0, 0, 0);
        }
        let l = proc.layouts();
        let dead_status = l.constant_u64("runtime._Gdead").unwrap_or(6);
        let scan = l.constant_u64("runtime._Gscan").unwrap_or(0x1000);
        let thread_sps: Vec<u64> = proc
            .core()
            .threads()
            .iter()
            .map(|t| t.registers.sp())
            .collect();
        let in_manual = |lo: u64, hi: u64| {
            let i = manual.partition_point(|m| m.1 <= lo);
            manual
                .get(i)
                .is_some_and(|m| m.0 <= lo && hi <= m.1 && m.2 == m.1 - m.0)
        };
        let (mut used, mut unused, mut dead) = (0u64, 0u64, 0u64);
        let mut seen = BTreeSet::new();
        let mut errors = 0u64;
        for i in 0..len {
            let g = match allgs.index(i).and_then(|p| p.deref()) {
                Ok(g) => g,
                Err(crate::Error::Nil { .. }) => continue,
                Err(_) => {
                    errors += 1;
                    continue;
                }
            };
            let rd = |f: &str| g.field(f).and_then(|v| v.uint());
            let (Ok(lo), Ok(hi), Ok(status)) = (rd("stack.lo"), rd("stack.hi"), rd("atomicstatus"))
            else {
                errors += 1;
                continue;
            };
            if lo == 0 || hi <= lo || !in_manual(lo, hi) || !seen.insert(lo) {
                continue;
            }
            let size = hi - lo;
            if status & !scan == dead_status {
                dead += size;
                continue;
            }
            let within = |sp: u64| (lo..=hi).contains(&sp).then_some(sp);
            let sp = thread_sps
                .iter()
                .filter_map(|&sp| within(sp))
                .min()
                .or_else(|| rd("syscallsp").ok().and_then(within))
                .or_else(|| rd("sched.sp").ok().and_then(within))
                .unwrap_or(lo);
            used += hi - sp;
            unused += sp - lo;
        }
        if errors > 0 {
            self.warn(format!("{errors} goroutines of allgs could not be read"));
        }
        (used, unused, dead)
    }

    /// Bytes of the Ms' own stacks (`g0`, `gsignal`) inside manual spans; the stacks
    /// outside the heap (the OS's, cgo's) are remembered for [`Builder::rest`].
    fn m_stacks(&mut self, manual: &[(u64, u64, u64)]) -> u64 {
        let proc = self.proc;
        let Some(mut m) = self.ok("allm", proc.global("runtime.allm", "*runtime.m")) else {
            return 0;
        };
        let in_manual = |lo: u64, hi: u64| {
            let i = manual.partition_point(|m| m.1 <= lo);
            manual
                .get(i)
                .is_some_and(|m| m.0 <= lo && hi <= m.1 && m.2 == m.1 - m.0)
        };
        let mut seen = BTreeSet::new();
        let mut bytes = 0u64;
        // Bounded: at most this many Ms.
        for _ in 0..(1 << 16) {
            let Ok(mm) = m.deref() else { break };
            for g in ["g0", "gsignal"] {
                let stack = mm
                    .field(g)
                    .and_then(|g| g.deref())
                    .and_then(|g| Ok((g.field("stack.lo")?.uint()?, g.field("stack.hi")?.uint()?)));
                let Ok((lo, hi)) = stack else { continue };
                if lo == 0 || hi <= lo || !seen.insert(lo) {
                    continue;
                }
                if in_manual(lo, hi) {
                    bytes += hi - lo;
                } else {
                    self.os_stacks.push(hi - 1);
                }
            }
            match mm.field("alllink") {
                Ok(next) => m = next,
                Err(_) => break,
            }
        }
        bytes
    }

    fn cur_arena(&mut self) -> Option<(u64, u64)> {
        let mheap = self.proc.global("runtime.mheap_", "runtime.mheap").ok()?;
        let r = (|| {
            Ok((
                mheap.field("curArena.base")?.uint()?,
                mheap.field("curArena.end")?.uint()?,
            ))
        })();
        let (a, b) = self.ok("mheap_.curArena", r)?;
        (a < b).then_some((a, b))
    }

    /// Address ranges of every heap arena (`mheap_.allArenas`).
    fn arenas(&mut self) -> Vec<(u64, u64)> {
        let proc = self.proc;
        let l = proc.layouts();
        let r = (|| -> Result<Vec<(u64, u64)>> {
            let bytes = l.constant_u64("runtime.heapArenaBytes")?;
            let base_offset = l
                .constant_any(&["runtime.arenaBaseOffset", "runtime.arenaBaseOffsetUintptr"])?
                as u64;
            let mheap = proc.global("runtime.mheap_", "runtime.mheap")?;
            // allArenas (up to 1.26) lists every arena; later releases keep heap
            // and user arenas apart.
            let mut idxs = BTreeSet::new();
            let mut found = None;
            for name in ["allArenas", "heapArenas", "userArenaArenas"] {
                let all = match mheap.field(name) {
                    Ok(r) => r.cast("[]uintptr"),
                    Err(e) => {
                        found.get_or_insert(Err(e));
                        continue;
                    }
                };
                found = Some(Ok(()));
                let n = all.slice_len()?.min(MAX_ARENAS);
                for i in 0..n {
                    idxs.insert(all.index(i)?.uint()?);
                }
            }
            found.unwrap_or(Ok(()))?;
            Ok(idxs
                .into_iter()
                .map(|idx| {
                    let base = idx.wrapping_mul(bytes).wrapping_add(base_offset);
                    (base, base.saturating_add(bytes))
                })
                .collect())
        })();
        self.ok("mheap_.allArenas", r).unwrap_or_default()
    }

    /// The executable node: data and bss from moduledata, then its file mappings.
    fn executable(&mut self, free: &mut Claims) -> BreakdownNode {
        let proc = self.proc;
        let core = proc.core();
        let bias = proc.load_bias();
        let mut data = 0u64;
        match proc.binary().moduledata() {
            Ok(md) => {
                let ranges = [
                    md.noptrdata_range(),
                    md.data_range(),
                    md.bss_range(),
                    md.noptrbss_range(),
                ];
                let lo = ranges.iter().map(|r| r.0).filter(|&a| a != 0).min();
                let hi = ranges.iter().map(|r| r.1).max();
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    // Whole pages: the mapping rounds the segment out.
                    let page = 4096u64;
                    let lo = lo.wrapping_add(bias) & !(page - 1);
                    let hi = hi.wrapping_add(bias).saturating_add(page - 1) & !(page - 1);
                    data += free.claim(lo, hi);
                }
            }
            Err(e) => self.warn(format!("moduledata: {e}")),
        }
        let (mut text, mut rodata) = (0u64, 0u64);
        let exe_paths: Vec<&std::path::Path> = core
            .executable()
            .into_iter()
            .flat_map(|e| [Some(e.path()), e.core_path()])
            .flatten()
            .collect();
        for m in core.mappings() {
            let Some(p) = m.path() else { continue };
            if !exe_paths.contains(&p) {
                continue;
            }
            let got = free.claim(m.start(), m.end());
            let perms = m.perms();
            if perms.exec {
                text += got;
            } else if perms.write {
                data += got;
            } else {
                rodata += got;
            }
        }
        BreakdownNode::parent(
            n::EXE,
            vec![
                BreakdownNode::leaf(n::TEXT, text),
                BreakdownNode::leaf(n::RODATA, rodata),
                BreakdownNode::leaf(n::DATA, data),
            ],
        )
    }

    /// Runtime metadata located by address, and (in-use + manual mspans, all
    /// allspans) for the checks.
    fn metadata(&mut self, free: &mut Claims) -> (BreakdownNode, Option<(u64, u64)>) {
        let proc = self.proc;
        let l = proc.layouts();
        let ps = proc.ptr_size();
        let (mut arenas, mut index, mut mspans) = (0u64, 0u64, 0u64);
        let r = (|| -> Result<MetaBytes> {
            let mheap = proc.global("runtime.mheap_", "runtime.mheap")?;
            let ha_size = l.size("runtime.heapArena")?;
            let l2_bits = l.constant_u64("runtime.arenaL2Bits")?;
            let l2_len = 1u64.checked_shl(l2_bits as u32).unwrap_or(0);
            let l1 = mheap.field("arenas")?;
            let l1_len = l1.array_len()?.min(1 << 16);
            let (mut a, mut x) = (0u64, 0u64);
            for i in 0..l1_len {
                let l2 = proc.read_ptr(l1.addr().wrapping_add(i * ps))?;
                if l2 == 0 {
                    continue;
                }
                // Arena pointers first (the map's own memory is claimed after).
                let in_map = free.within(l2, l2.saturating_add(l2_len * ps));
                for (s, e) in in_map {
                    let Ok(words) = proc.core().read(s, (e - s) as usize) else {
                        continue;
                    };
                    for w in words.chunks_exact(ps as usize) {
                        let ha = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
                        if ha != 0 {
                            a += free.claim(ha, ha.saturating_add(ha_size));
                        }
                    }
                }
                x += free.claim(l2, l2.saturating_add(l2_len * ps));
            }
            let allspans = mheap.field("allspans")?;
            let ms_size = l.size("runtime.mspan")?;
            let nspans = allspans.slice_len()?.min(1 << 26);
            let data = allspans.ptr()?;
            let ptrs = proc
                .core()
                .read(data, (nspans * ps) as usize)
                .map_err(|source| crate::Error::Memory {
                    what: "mheap_.allspans".into(),
                    source,
                })?;
            let mut m = 0u64;
            let mut starts: Vec<u64> = ptrs
                .chunks_exact(ps as usize)
                .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
                .filter(|&p| p != 0)
                .collect();
            starts.sort_unstable();
            starts.dedup();
            for p in &starts {
                m += free.claim(*p, p.saturating_add(ms_size));
            }
            mspans = m;
            Ok((
                a,
                x,
                Some((self.heap.spans().len() as u64, starts.len() as u64)),
            ))
        })();
        let counts = match r {
            Ok((a, x, c)) => {
                arenas = a;
                index = x;
                c
            }
            Err(e) => {
                self.warn(format!("runtime metadata: {e}"));
                None
            }
        };
        let node = BreakdownNode::parent(
            n::METADATA,
            vec![
                BreakdownNode::leaf(n::HEAP_ARENAS, arenas),
                BreakdownNode::leaf(n::ARENA_INDEX, index),
                BreakdownNode::leaf(n::MSPANS, mspans),
            ],
        );
        (node, counts)
    }

    /// Other files, the vdso, thread stacks and the unattributed rest.
    fn rest(&mut self, free: &mut Claims) -> Vec<BreakdownNode> {
        let core = self.proc.core();
        let mut files: BTreeMap<String, u64> = BTreeMap::new();
        for m in core.mappings() {
            let Some(p) = m.path() else { continue };
            let got = free.claim(m.start(), m.end());
            if got > 0 {
                let name = p.file_name().map_or_else(
                    || p.display().to_string(),
                    |f| f.to_string_lossy().into_owned(),
                );
                *files.entry(name).or_default() += got;
            }
        }
        const AT_SYSINFO_EHDR: u64 = 33;
        let mut vdso = 0u64;
        if let Some(&(_, base)) = core.auxv().iter().find(|(k, _)| *k == AT_SYSINFO_EHDR) {
            if let Some(m) = core.mapping_at(base) {
                vdso = free.claim(m.start(), m.end());
            }
        }
        let mut stacks = 0u64;
        let sps = core.threads().iter().map(|t| t.registers.sp());
        for sp in sps.chain(self.os_stacks.iter().copied()) {
            if let Some(m) = core.mapping_at(sp) {
                stacks += free.claim(m.start(), m.end());
            }
        }
        let other: u64 = free.free.iter().map(|(s, e)| e - s).sum();
        vec![
            BreakdownNode::parent(
                n::FILES,
                files
                    .into_iter()
                    .map(|(name, b)| BreakdownNode::leaf(name, b))
                    .collect(),
            ),
            BreakdownNode::leaf(n::VDSO, vdso),
            BreakdownNode::leaf(n::THREAD_STACKS, stacks),
            BreakdownNode::leaf(n::OTHER, other),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::Claims;

    #[test]
    fn claims() {
        let mut c = Claims::default();
        c.add(0, 100);
        c.add(200, 300);
        assert_eq!(c.claim(50, 250), 100);
        assert_eq!(c.claim(0, 300), 100);
        assert_eq!(c.claim(0, 300), 0);
        assert!(c.free.is_empty());
        c.add(10, 20);
        assert_eq!(c.claim(20, 10), 0);
        assert_eq!(c.within(0, 15), vec![(10, 15)]);
    }
}
