//! GC roots: every pointer slot outside the heap that the garbage collector scans,
//! found the way `runtime/mgcmark.go` finds them.
//!
//! [`RootSet::collect`] mirrors `markroot`:
//!
//! * **data and bss** (`markrootBlock`): every word set in `moduledata.gcdatamask` /
//!   `gcbssmask`, named from the executable's symbol table when it has one;
//! * **goroutine stacks** (`scanstack`, `scanframeworker`): for each frame,
//!   `PCDATA_StackMapIndex` at the frame's continuation PC picks bitmaps in
//!   `FUNCDATA_LocalsPointerMaps` (below `varp`) and `FUNCDATA_ArgsPointerMaps`
//!   (from `argp`); `FUNCDATA_StackObjects` lists address-taken stack objects, scanned
//!   only when a pointer into them is found on the stack (as the runtime's
//!   `stackScanState` does). Frames are scanned conservatively only where the runtime
//!   would: `asyncPreempt`/`debugCallV2` and the frame they interrupted — and, since a
//!   core catches goroutines at arbitrary instructions, the innermost frame of a
//!   goroutine stopped by a signal together with its thread's registers (what an
//!   asynchronous preemption would have saved). Callers of `sigpanic` use the
//!   `deferreturn` continuation or are dead, as in `getStackMap`. Then `g.sched.ctxt`,
//!   defer records (`fn`, `link`, heap records themselves) and `g._panic`;
//! * **specials** (`markrootSpans`): a finalizer's function, and the *contents* of
//!   the object with the finalizer (not the object itself); a cleanup's function
//!   (and, from Go 1.26, its `call`/`arg` words); a weak handle's cell (the cell is a
//!   `noscan` object, so the address it holds is not followed);
//! * **queued finalizers** (`runtime.allfin` blocks, `finptrmask`) and, from Go 1.25,
//!   **queued cleanups** (`runtime.gcCleanups.all` blocks).
//!
//! Runtime structures that live in data/bss (`runtime.allm`, `runtime.allgs`, …) are
//! roots through the masks, as for the GC.
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! let heap = gocore::Heap::new(&proc)?;
//! let roots = gocore::RootSet::collect(&proc, &heap)?;
//! for (kind, n) in roots.counts() {
//!     println!("{kind}: {n}");
//! }
//! for r in roots.roots().take(5) {
//!     println!("{} at {:#x} -> {:#x}", r.kind, r.slot, r.target);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use corefile::Arch;
use gobinary::{funcdata, pcdata, Func};
use object::{Object as _, ObjectSection as _, ObjectSymbol as _};

use crate::error::{Error, Result};
use crate::heap::{Heap, SpanState};
use crate::process::Process;

/// Most warnings kept per root set.
const MAX_WARNINGS: usize = 100;
/// Most specials walked on one span, and in all.
const MAX_SPECIALS: u64 = 1 << 22;
/// Most blocks followed on a finalizer/cleanup/defer chain.
const MAX_CHAIN: u64 = 1 << 20;
/// Most stack objects one goroutine may have.
const MAX_STACK_OBJECTS: u64 = 1 << 20;
/// Largest stack bitmap (in bits) read for one frame.
const MAX_FRAME_BITS: u64 = 1 << 24;
/// `abi.ArgsSizeUnknown`.
const ARGS_SIZE_UNKNOWN: i32 = i32::MIN;

/// What kind of root a slot is, and where it comes from.
///
/// ```
/// use gocore::RootKind;
/// let k = RootKind::Global { symbol: Some("main.gList".into()), offset: 0 };
/// assert_eq!(k.name(), "global");
/// assert_eq!(k.to_string(), "global main.gList");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootKind {
    /// A pointer word of the data or bss section.
    Global {
        /// The symbol containing the word (from `.symtab`), when known.
        symbol: Option<String>,
        /// Offset of the word within the symbol (or within the section without one).
        offset: u64,
    },
    /// A live pointer slot of a stack frame (locals or arguments).
    Frame {
        /// Goroutine id.
        goroutine: u64,
        /// The frame's (physical) function.
        function: String,
        /// The frame's PC.
        pc: u64,
        /// Offset of the slot from the frame's `varp` (negative: a local; at or above
        /// `argp - varp`: an argument).
        offset: i64,
        /// Whether the frame was scanned conservatively.
        conservative: bool,
    },
    /// A pointer slot of an address-taken stack object that a stack pointer reaches.
    StackObject {
        /// Goroutine id.
        goroutine: u64,
        /// The function whose frame declares the object.
        function: String,
        /// The frame's PC.
        pc: u64,
        /// Offset of the slot from the frame's `varp`.
        offset: i64,
        /// Whether the object was scanned conservatively.
        conservative: bool,
    },
    /// A register of the thread running a goroutine that a signal interrupted
    /// (scanned conservatively, as `asyncPreempt` saves them).
    Register {
        /// Goroutine id.
        goroutine: u64,
        /// Register name.
        register: &'static str,
    },
    /// `g.sched.ctxt` (the closure context of a parked goroutine).
    Context {
        /// Goroutine id.
        goroutine: u64,
    },
    /// A defer record's `fn` or `link`, or a heap-allocated defer record itself.
    Defer {
        /// Goroutine id.
        goroutine: u64,
    },
    /// A finalizer's function (`specialfinalizer.fn`).
    Finalizer {
        /// The object the finalizer is set on.
        object: u64,
    },
    /// A pointer slot *inside* an object with a finalizer: the GC scans the object's
    /// contents as roots but does not mark the object itself.
    FinalizerObjectField {
        /// The object the finalizer is set on.
        object: u64,
    },
    /// A cleanup's function (`specialCleanup.fn`; from Go 1.26 the `cleanupFn` words).
    Cleanup {
        /// The object the cleanup is attached to (not itself a root).
        object: u64,
    },
    /// A weak handle cell (`specialWeakHandle.handle`): the cell is kept, the address
    /// it holds is not followed.
    WeakHandle {
        /// The weakly referenced object.
        object: u64,
    },
    /// A queued finalizer (`runtime.allfin` blocks: `fn`, `arg`, `fint`, `ot`).
    FinQueue,
    /// A queued cleanup (`runtime.gcCleanups` blocks, Go 1.25+).
    CleanupQueue,
}

impl RootKind {
    /// Short name of the kind (`global`, `frame`, `stack-object`, `register`,
    /// `context`, `defer`, `finalizer`, `finalizer-object-field`, `cleanup`,
    /// `weak-handle`, `finq`, `cleanup-queue`).
    ///
    /// ```
    /// assert_eq!(gocore::RootKind::FinQueue.name(), "finq");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            RootKind::Global { .. } => "global",
            RootKind::Frame { .. } => "frame",
            RootKind::StackObject { .. } => "stack-object",
            RootKind::Register { .. } => "register",
            RootKind::Context { .. } => "context",
            RootKind::Defer { .. } => "defer",
            RootKind::Finalizer { .. } => "finalizer",
            RootKind::FinalizerObjectField { .. } => "finalizer-object-field",
            RootKind::Cleanup { .. } => "cleanup",
            RootKind::WeakHandle { .. } => "weak-handle",
            RootKind::FinQueue => "finq",
            RootKind::CleanupQueue => "cleanup-queue",
        }
    }

    /// Whether the root comes from a goroutine's stack or registers.
    ///
    /// ```
    /// assert!(gocore::RootKind::Context { goroutine: 1 }.is_stack());
    /// assert!(!gocore::RootKind::FinQueue.is_stack());
    /// ```
    pub fn is_stack(&self) -> bool {
        matches!(
            self,
            RootKind::Frame { .. }
                | RootKind::StackObject { .. }
                | RootKind::Register { .. }
                | RootKind::Context { .. }
                | RootKind::Defer { .. }
        )
    }

    /// Whether the root comes from a span special (finalizer, cleanup, weak handle).
    ///
    /// ```
    /// assert!(gocore::RootKind::Finalizer { object: 0xc000010000 }.is_special());
    /// ```
    pub fn is_special(&self) -> bool {
        matches!(
            self,
            RootKind::Finalizer { .. }
                | RootKind::FinalizerObjectField { .. }
                | RootKind::Cleanup { .. }
                | RootKind::WeakHandle { .. }
        )
    }
}

impl fmt::Display for RootKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootKind::Global {
                symbol: Some(s),
                offset: 0,
            } => write!(f, "global {s}"),
            RootKind::Global {
                symbol: Some(s),
                offset,
            } => write!(f, "global {s}+{offset}"),
            RootKind::Global { symbol: None, .. } => write!(f, "global"),
            RootKind::Frame {
                goroutine,
                function,
                offset,
                conservative,
                ..
            } => write!(
                f,
                "goroutine {goroutine} {function} varp{offset:+}{}",
                if *conservative { " (conservative)" } else { "" }
            ),
            RootKind::StackObject {
                goroutine,
                function,
                offset,
                conservative,
                ..
            } => write!(
                f,
                "goroutine {goroutine} {function} stack object varp{offset:+}{}",
                if *conservative { " (conservative)" } else { "" }
            ),
            RootKind::Register {
                goroutine,
                register,
            } => write!(f, "goroutine {goroutine} register {register}"),
            RootKind::Context { goroutine } => write!(f, "goroutine {goroutine} sched.ctxt"),
            RootKind::Defer { goroutine } => write!(f, "goroutine {goroutine} defer"),
            RootKind::Finalizer { object } => write!(f, "finalizer of {object:#x}"),
            RootKind::FinalizerObjectField { object } => {
                write!(f, "field of finalized {object:#x}")
            }
            RootKind::Cleanup { object } => write!(f, "cleanup of {object:#x}"),
            RootKind::WeakHandle { object } => write!(f, "weak handle to {object:#x}"),
            RootKind::FinQueue => write!(f, "queued finalizer"),
            RootKind::CleanupQueue => write!(f, "queued cleanup"),
        }
    }
}

/// One root: a slot the GC scans, and the non-nil pointer in it.
///
/// ```
/// let r = gocore::Root { kind: gocore::RootKind::FinQueue, slot: 0x1000, target: 0xc000010000 };
/// assert_eq!(r.kind.name(), "finq");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// What the slot is.
    pub kind: RootKind,
    /// Address of the slot (0 for registers).
    pub slot: u64,
    /// The pointer it holds (never 0).
    pub target: u64,
}

/// Which root families to collect; all by default. Turning one off answers "what
/// would be live without it" (e.g. that stack maps matter).
///
/// ```
/// let no_stacks = gocore::RootOptions { stacks: false, ..Default::default() };
/// assert!(no_stacks.globals);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootOptions {
    /// data/bss.
    pub globals: bool,
    /// Goroutine stacks, registers, contexts, defers.
    pub stacks: bool,
    /// Finalizer, cleanup and weak-handle specials.
    pub specials: bool,
    /// Queued finalizers and cleanups.
    pub queues: bool,
}

impl Default for RootOptions {
    fn default() -> Self {
        RootOptions {
            globals: true,
            stacks: true,
            specials: true,
            queues: true,
        }
    }
}

/// The GC roots of a process. See the [module documentation](self).
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// let roots = gocore::RootSet::collect(&proc, &heap)?;
/// println!("{} roots", roots.len());
/// for w in roots.warnings() { eprintln!("warning: {w}"); }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RootSet {
    roots: Vec<Root>,
    warnings: Vec<String>,
}

impl RootSet {
    /// Collects every root (see [`RootOptions::default`]).
    ///
    /// Unreadable parts (a stack that cannot be unwound, a damaged special list) are
    /// skipped with a [warning](RootSet::warnings); only a process without the
    /// runtime globals the roots start from is an error.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn collect(proc: &Process<'_>, heap: &Heap<'_>) -> Result<RootSet> {
        RootSet::collect_with(proc, heap, &RootOptions::default())
    }

    /// Collects the root families `opts` selects.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let opts = gocore::RootOptions { stacks: false, ..Default::default() };
    /// let without_stacks = gocore::RootSet::collect_with(&proc, &heap, &opts)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn collect_with(
        proc: &Process<'_>,
        heap: &Heap<'_>,
        opts: &RootOptions,
    ) -> Result<RootSet> {
        let mut c = Collector {
            proc,
            heap,
            out: RootSet::default(),
            ps: proc.ptr_size(),
        };
        if opts.globals {
            c.globals()?;
        }
        if opts.stacks {
            c.stacks()?;
        }
        if opts.specials {
            c.specials();
        }
        if opts.queues {
            c.fin_queue();
            c.cleanup_queue();
        }
        Ok(c.out)
    }

    /// The roots, in collection order (globals, stacks, specials, queues).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let frames = roots.roots().filter(|r| r.kind.name() == "frame").count();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn roots(&self) -> std::slice::Iter<'_, Root> {
        self.roots.iter()
    }

    /// Number of roots.
    ///
    /// ```
    /// assert_eq!(gocore::RootSet::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// Whether there are no roots.
    ///
    /// ```
    /// assert!(gocore::RootSet::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Roots per [kind name](RootKind::name), sorted by name.
    ///
    /// ```
    /// assert!(gocore::RootSet::default().counts().is_empty());
    /// ```
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for r in &self.roots {
            *m.entry(r.kind.name()).or_insert(0) += 1;
        }
        m
    }

    /// Non-fatal problems met while collecting.
    ///
    /// ```
    /// assert!(gocore::RootSet::default().warnings().is_empty());
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// Where a pointer value lands, as the GC's `findObject` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Landing {
    /// In an allocated object (any byte of it, or its malloc header, which the
    /// runtime maps to the same slot).
    Object(crate::ObjId, bool),
    /// In an in-use span, in a slot that is not allocated.
    FreeSlot,
    /// In an in-use span, past its last slot.
    SpanTail,
    /// In a manually managed span (a goroutine stack).
    Stack,
    /// Outside every heap span.
    Outside,
}

/// `findObject`: the slot containing `addr`, if allocated.
pub(crate) fn land(heap: &Heap<'_>, addr: u64) -> Landing {
    if let Some((id, _)) = heap.find_object(addr) {
        return Landing::Object(id, false);
    }
    let Some(s) = heap.span_of(addr) else {
        return Landing::Outside;
    };
    match s.state {
        SpanState::InUse => {}
        SpanState::Manual => return Landing::Stack,
        _ => return Landing::Outside,
    }
    if s.elemsize == 0 {
        return Landing::SpanTail;
    }
    let off = addr - s.base;
    let slot = off / s.elemsize;
    if slot >= s.nelems {
        return Landing::SpanTail;
    }
    // In the slot's malloc header? Then the object found from the slot's last byte
    // starts after `addr` in the same slot.
    let slot_start = s.base + slot * s.elemsize;
    let last = slot_start + s.elemsize - 1;
    match heap.find_object(last) {
        Some((id, o)) if last - o > addr => Landing::Object(id, true),
        _ => Landing::FreeSlot,
    }
}

struct Collector<'c, 'a> {
    proc: &'c Process<'a>,
    heap: &'c Heap<'a>,
    out: RootSet,
    ps: u64,
}

/// A stack object record of a frame, waiting for a stack pointer to reach it.
#[derive(Debug, Clone)]
struct StackObj {
    addr: u64,
    size: u64,
    ptr_bytes: u64,
    /// Address of the pointer mask, or 0 for a GC program (scanned conservatively).
    gcdata: u64,
    frame: usize,
    varp: u64,
    scanned: bool,
}

/// Frame context for naming the roots a frame yields.
#[derive(Debug, Clone)]
struct FrameInfo {
    function: String,
    pc: u64,
}

/// Per-goroutine stack scan state (`stackScanState`).
struct StackScan {
    goid: u64,
    lo: u64,
    hi: u64,
    frames: Vec<FrameInfo>,
    objects: Vec<StackObj>,
    /// Pointers into the stack found so far, with "found conservatively".
    ptrs: Vec<(u64, bool)>,
}

impl StackScan {
    fn on_stack(&self, v: u64) -> bool {
        self.lo <= v && v < self.hi
    }
}

impl Collector<'_, '_> {
    fn warn(&mut self, msg: String) {
        let w = &mut self.out.warnings;
        match w.len() {
            n if n < MAX_WARNINGS => w.push(msg),
            n if n == MAX_WARNINGS => w.push("further warnings suppressed".into()),
            _ => {}
        }
    }

    fn push(&mut self, kind: RootKind, slot: u64, target: u64) {
        if target != 0 {
            self.out.roots.push(Root { kind, slot, target });
        }
    }

    fn read_ptr(&self, addr: u64) -> Result<u64> {
        self.proc.read_ptr(addr)
    }

    fn read_u32(&self, addr: u64) -> Result<u32> {
        self.proc
            .core()
            .read_u32(addr)
            .map_err(|source| Error::Memory {
                what: format!("u32 at {addr:#x}"),
                source,
            })
    }

    fn read_bytes(&self, addr: u64, len: u64) -> Result<Vec<u8>> {
        let len = usize::try_from(len).map_err(|_| Error::OutOfRange {
            what: "read length".into(),
            value: len,
            limit: usize::MAX as u64,
        })?;
        Ok(self
            .proc
            .core()
            .read(addr, len)
            .map_err(|source| Error::Memory {
                what: format!("{len} bytes at {addr:#x}"),
                source,
            })?
            .into_owned())
    }

    // ------------------------------------------------------------ data and bss

    fn globals(&mut self) -> Result<()> {
        let bin = self.proc.binary();
        let md = bin.moduledata()?;
        let bias = self.proc.load_bias();
        let symbols = DataSymbols::read(bin.data());
        for (which, mask) in [
            ("data", bin.data_pointer_mask(&md)),
            ("bss", bin.bss_pointer_mask(&md)),
        ] {
            let mask = match mask {
                Ok(m) => m,
                Err(e) => {
                    self.warn(format!("{which} pointer mask: {e}"));
                    continue;
                }
            };
            let ps = u64::from(mask.ptr_size.max(1));
            let words = mask.nbits.min((mask.bits.len() as u64).saturating_mul(8));
            let start = mask.start.wrapping_add(bias);
            let bytes = match self.read_bytes(start, words.saturating_mul(ps)) {
                Ok(b) => b,
                Err(e) => {
                    self.warn(format!("{which} section: {e}"));
                    continue;
                }
            };
            let endian = self.proc.core().arch();
            for i in 0..words {
                let set = mask
                    .bits
                    .get((i / 8) as usize)
                    .is_some_and(|b| b & (1 << (i % 8)) != 0);
                if !set {
                    continue;
                }
                let Some(w) = bytes.get((i * ps) as usize..((i + 1) * ps) as usize) else {
                    break;
                };
                let v = word(endian, w);
                if v == 0 {
                    continue;
                }
                let link = mask.start + i * ps;
                let (symbol, offset) = match symbols.lookup(link) {
                    Some((name, off)) => (Some(name.to_string()), off),
                    None => (None, link - mask.start),
                };
                self.push(RootKind::Global { symbol, offset }, start + i * ps, v);
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ stacks

    fn stacks(&mut self) -> Result<()> {
        let l = self.proc.layouts();
        let ctxt_off = l.offset("runtime.g", "sched.ctxt").ok();
        let defer_off = l.offset("runtime.g", "_defer").ok();
        let panic_off = l.offset("runtime.g", "_panic").ok();
        let d_fn = l.offset("runtime._defer", "fn").ok();
        let d_link = l.offset("runtime._defer", "link").ok();
        let d_heap = l.offset("runtime._defer", "heap").ok();
        let goroutines: Vec<_> = self.proc.goroutines()?.collect();
        if goroutines.is_empty() {
            // A Go program always has runtime.main's goroutine in allgs (which
            // never shrinks): an empty list is a damaged allgs, and no stack is
            // scanned for roots.
            self.warn(
                "runtime.allgs lists no goroutine (a running program has at least \
                 runtime.main's): no stack roots"
                    .to_string(),
            );
        }
        for g in goroutines {
            let g = match g {
                Ok(g) => g,
                Err(e) => {
                    self.warn(format!("goroutine: {e}"));
                    continue;
                }
            };
            let mut st = StackScan {
                goid: g.id,
                lo: g.stack_lo,
                hi: g.stack_hi,
                frames: Vec::new(),
                objects: Vec::new(),
                ptrs: Vec::new(),
            };
            if let Some(off) = ctxt_off {
                let slot = g.addr.wrapping_add(off);
                match self.read_ptr(slot) {
                    Ok(v) => self.stack_word(
                        &mut st,
                        RootKind::Context { goroutine: g.id },
                        slot,
                        v,
                        false,
                    ),
                    Err(e) => self.warn(format!("goroutine {}: {e}", g.id)),
                }
            }
            self.frames(&g, &mut st);
            // Defer records (their fn may be a stack closure; link may lead to the heap).
            if let (Some(doff), Some(fo), Some(lo)) = (defer_off, d_fn, d_link) {
                let mut link_slot = g.addr.wrapping_add(doff);
                let mut d = self.read_ptr(link_slot).unwrap_or(0);
                let mut n = 0;
                while d != 0 && n < MAX_CHAIN {
                    n += 1;
                    let kind = RootKind::Defer { goroutine: g.id };
                    let heap_rec = d_heap
                        .and_then(|h| self.proc.core().read_u8(d.wrapping_add(h)).ok())
                        .is_some_and(|b| b != 0);
                    if heap_rec {
                        self.stack_word(&mut st, kind.clone(), link_slot, d, false);
                    }
                    if let Ok(f) = self.read_ptr(d.wrapping_add(fo)) {
                        self.stack_word(&mut st, kind.clone(), d.wrapping_add(fo), f, false);
                    }
                    link_slot = d.wrapping_add(lo);
                    match self.read_ptr(link_slot) {
                        Ok(next) => {
                            self.stack_word(&mut st, kind, link_slot, next, false);
                            d = next;
                        }
                        Err(e) => {
                            self.warn(format!("goroutine {} defer chain: {e}", g.id));
                            break;
                        }
                    }
                }
            }
            if let Some(off) = panic_off {
                if let Ok(p) = self.read_ptr(g.addr.wrapping_add(off)) {
                    if p != 0 {
                        st.ptrs.push((p, false));
                    }
                }
            }
            self.stack_objects(&mut st);
        }
        Ok(())
    }

    /// A word found while scanning a stack: into the stack it may reach a stack
    /// object; otherwise it is a root (conservative words only if they land in an
    /// allocated object, as `scanConservative` checks).
    fn stack_word(&mut self, st: &mut StackScan, kind: RootKind, slot: u64, v: u64, cons: bool) {
        if v == 0 {
            return;
        }
        if st.on_stack(v) {
            st.ptrs.push((v, cons));
            return;
        }
        if cons && !matches!(land(self.heap, v), Landing::Object(..)) {
            return;
        }
        self.push(kind, slot, v);
    }

    fn frames(&mut self, g: &crate::Goroutine, st: &mut StackScan) {
        let proc = self.proc;
        let Some(tab) = proc.pclntab() else {
            self.warn("no function table: stacks not scanned".into());
            return;
        };
        let arch = proc.core().arch();
        let lr_arch = arch == Arch::Arm64;
        let ps = self.ps;
        let min_frame = if lr_arch { 8 } else { 0 };
        let min_locals = if lr_arch { 16 } else { 0 };
        let bias = proc.load_bias();
        // Physical frames: the non-inlined logical frames.
        let mut phys = Vec::new();
        for f in g.frames(proc) {
            match f {
                Ok(f) if !f.inlined => phys.push(f),
                Ok(_) => {}
                Err(e) => {
                    self.warn(format!("goroutine {}: {e}", g.id));
                    break;
                }
            }
        }
        let mut conservative = false;
        let mut callee: Option<String> = None;
        for (i, fr) in phys.iter().enumerate() {
            let Some(func) = proc.func_for_pc(fr.entry) else {
                callee = None;
                continue;
            };
            let name = func.name.to_string();
            let fi = st.frames.len();
            let mut varp = fr.fp;
            if !lr_arch {
                varp = varp.wrapping_sub(ps);
            }
            if varp > fr.sp {
                varp = varp.wrapping_sub(ps);
            }
            let argp = fr.fp.wrapping_add(min_frame);
            st.frames.push(FrameInfo {
                function: name.clone(),
                pc: fr.pc,
            });
            let is_async = name == "runtime.asyncPreempt" || name == "runtime.debugCallV2";
            // A signal caught the innermost frame between safe points: the GC would
            // have preempted it asynchronously and scanned it conservatively.
            let interrupted = i == 0 && fr.trap;
            let frame_kind = |off: u64, cons: bool| RootKind::Frame {
                goroutine: g.id,
                function: name.clone(),
                pc: fr.pc,
                offset: off.wrapping_sub(varp) as i64,
                conservative: cons,
            };
            if conservative || is_async || interrupted {
                if varp > fr.sp {
                    self.scan_conservative(st, fr.sp, varp - fr.sp, &frame_kind);
                }
                if func.args != ARGS_SIZE_UNKNOWN && func.args > 0 {
                    self.scan_conservative(st, argp, func.args as u64, &frame_kind);
                }
                if interrupted {
                    self.registers(g, st);
                }
                conservative = is_async;
                callee = Some(name);
                continue;
            }
            // getStackMap.
            let mut continpc = fr.pc;
            if callee.as_deref() == Some("runtime.sigpanic") {
                continpc = if func.deferreturn != 0 {
                    func.entry
                        .wrapping_add(bias)
                        .wrapping_add(u64::from(func.deferreturn))
                        .wrapping_add(1)
                } else {
                    0
                };
            }
            callee = Some(name.clone());
            if continpc == 0 {
                continue; // dead frame
            }
            let entry = func.entry.wrapping_add(bias);
            let mut idx = -1i32;
            let mut target = continpc;
            if target != entry {
                target -= 1;
                idx = match tab.pcdata_value(
                    &func,
                    pcdata::STACK_MAP_INDEX,
                    target.wrapping_sub(bias),
                ) {
                    Ok(Some(v)) => v,
                    Ok(None) => -1,
                    Err(e) => {
                        self.warn(format!("{name}: stack map index: {e}"));
                        -1
                    }
                };
            }
            if idx == -1 {
                idx = 0;
            }
            // Locals.
            let size = varp.wrapping_sub(fr.sp);
            if varp > fr.sp && size > min_locals {
                match self.stack_map(tab, &func, funcdata::LOCALS_POINTER_MAPS, idx) {
                    Ok(Some((nbit, bits))) => {
                        let base = varp.wrapping_sub(nbit * ps);
                        self.scan_bits(st, base, nbit, &bits, &frame_kind);
                    }
                    Ok(None) => {}
                    Err(e) => self.warn(format!("goroutine {} {name} locals: {e}", g.id)),
                }
            }
            // Arguments.
            if func.args == ARGS_SIZE_UNKNOWN {
                self.warn(format!(
                    "goroutine {} {name}: reflect frame arguments not scanned",
                    g.id
                ));
            } else if func.args as u64 / ps > 0 {
                match self.stack_map(tab, &func, funcdata::ARGS_POINTER_MAPS, idx) {
                    Ok(Some((nbit, bits))) => self.scan_bits(st, argp, nbit, &bits, &frame_kind),
                    Ok(None) => {}
                    Err(e) => self.warn(format!("goroutine {} {name} args: {e}", g.id)),
                }
            }
            // Stack objects.
            if let Err(e) = self.frame_objects(tab, &func, fr.sp, varp, argp, fi, st) {
                self.warn(format!("goroutine {} {name} stack objects: {e}", g.id));
            }
        }
    }

    /// The thread registers of a goroutine a signal interrupted.
    fn registers(&mut self, g: &crate::Goroutine, st: &mut StackScan) {
        let Some(tid) = g.thread else { return };
        let Some(t) = self
            .proc
            .core()
            .threads()
            .iter()
            .find(|t| u64::from(t.tid) == tid)
        else {
            return;
        };
        // Only when the thread's registers are the goroutine's own context (its SP on
        // the goroutine's stack); a thread in a signal handler holds the handler's.
        // The interrupted context's registers (in the kernel's signal frame) are not
        // read yet.
        if !st.on_stack(t.registers.sp()) {
            return;
        }
        // General-purpose registers only (what asyncPreempt saves).
        let regs: Vec<(&'static str, u64)> = t
            .registers
            .iter()
            .filter(|(n, _)| {
                !matches!(
                    *n,
                    "rip"
                        | "rsp"
                        | "eflags"
                        | "orig_rax"
                        | "fs_base"
                        | "gs_base"
                        | "cs"
                        | "ss"
                        | "ds"
                        | "es"
                        | "fs"
                        | "gs"
                        | "sp"
                        | "pc"
                        | "pstate"
                )
            })
            .collect();
        for (name, v) in regs {
            let kind = RootKind::Register {
                goroutine: g.id,
                register: name,
            };
            self.stack_word(st, kind, 0, v, true);
        }
    }

    /// `stackmapdata(stackmap, idx)`: the bitmap's bit count and bytes, or `None`
    /// when the function has no such map or it has no bits.
    fn stack_map(
        &self,
        tab: &gobinary::Pclntab<'_>,
        func: &Func<'_>,
        which: u8,
        idx: i32,
    ) -> Result<Option<(u64, Vec<u8>)>> {
        let Some(addr) = tab.funcdata_address(func, which)? else {
            return Err(Error::OutOfRange {
                what: "missing stack map (funcdata)".into(),
                value: u64::from(which),
                limit: 0,
            });
        };
        let addr = addr.wrapping_add(self.proc.load_bias());
        let n = self.read_u32(addr)? as i32;
        let nbit = self.read_u32(addr + 4)? as i32;
        if n <= 0 {
            return Err(Error::OutOfRange {
                what: "stack map count".into(),
                value: n as u64,
                limit: 0,
            });
        }
        if nbit <= 0 {
            return Ok(None);
        }
        if idx < 0 || idx >= n {
            return Err(Error::OutOfRange {
                what: format!("stack map index of {}", func.name),
                value: idx as u64,
                limit: n as u64,
            });
        }
        let nbit = nbit as u64;
        if nbit > MAX_FRAME_BITS {
            return Err(Error::OutOfRange {
                what: "stack map bits".into(),
                value: nbit,
                limit: MAX_FRAME_BITS,
            });
        }
        let nbytes = nbit.div_ceil(8);
        let bits = self.read_bytes(addr + 8 + idx as u64 * nbytes, nbytes)?;
        Ok(Some((nbit, bits)))
    }

    fn scan_bits(
        &mut self,
        st: &mut StackScan,
        base: u64,
        nbit: u64,
        bits: &[u8],
        kind: &dyn Fn(u64, bool) -> RootKind,
    ) {
        let ps = self.ps;
        for i in 0..nbit {
            if bits
                .get((i / 8) as usize)
                .is_none_or(|b| b & (1 << (i % 8)) == 0)
            {
                continue;
            }
            let slot = base.wrapping_add(i * ps);
            match self.read_ptr(slot) {
                Ok(v) => self.stack_word(st, kind(slot, false), slot, v, false),
                Err(e) => {
                    self.warn(format!("goroutine {}: {e}", st.goid));
                    return;
                }
            }
        }
    }

    fn scan_conservative(
        &mut self,
        st: &mut StackScan,
        base: u64,
        len: u64,
        kind: &dyn Fn(u64, bool) -> RootKind,
    ) {
        let ps = self.ps;
        let words = (len / ps).min(MAX_FRAME_BITS);
        for i in 0..words {
            let slot = base.wrapping_add(i * ps);
            match self.read_ptr(slot) {
                Ok(v) => self.stack_word(st, kind(slot, true), slot, v, true),
                Err(e) => {
                    self.warn(format!("goroutine {}: {e}", st.goid));
                    return;
                }
            }
        }
    }

    /// `FUNCDATA_StackObjects` of a frame, added to the goroutine's object list.
    #[allow(clippy::too_many_arguments)]
    fn frame_objects(
        &mut self,
        tab: &gobinary::Pclntab<'_>,
        func: &Func<'_>,
        sp: u64,
        varp: u64,
        argp: u64,
        frame: usize,
        st: &mut StackScan,
    ) -> Result<()> {
        if varp == 0 {
            return Ok(());
        }
        let Some(addr) = tab.funcdata_address(func, funcdata::STACK_OBJECTS)? else {
            return Ok(());
        };
        let bias = self.proc.load_bias();
        let addr = addr.wrapping_add(bias);
        let n = self.read_ptr(addr)?;
        if n > MAX_STACK_OBJECTS || st.objects.len() as u64 + n > MAX_STACK_OBJECTS {
            return Err(Error::OutOfRange {
                what: "stack object count".into(),
                value: n,
                limit: MAX_STACK_OBJECTS,
            });
        }
        let rodata = self
            .proc
            .binary()
            .moduledata()
            .ok()
            .and_then(|md| md.word("rodata"))
            .map(|r| r.wrapping_add(bias));
        let recs = self.read_bytes(addr + self.ps, n * 16)?;
        let endian = self.proc.core().arch().endian();
        for r in recs.chunks_exact(16) {
            let f = |i: usize| -> u32 {
                let b: [u8; 4] = r[i..i + 4].try_into().unwrap_or([0; 4]);
                endian.read_u32(b)
            };
            let off = f(0) as i32;
            let size = f(4) as i32;
            let ptrdata = f(8) as i32;
            let gcdataoff = f(12);
            let base = if off >= 0 { argp } else { varp };
            let ptr = base.wrapping_add(off as i64 as u64);
            if ptr < sp {
                continue; // not allocated in the frame yet
            }
            let gcdata = match (ptrdata < 0, rodata) {
                (false, Some(ro)) => ro.wrapping_add(u64::from(gcdataoff)),
                _ => 0, // GC program (≤ 1.23) or unknown rodata: scanned conservatively
            };
            st.objects.push(StackObj {
                addr: ptr,
                size: size.max(0) as u64,
                ptr_bytes: ptrdata.unsigned_abs() as u64,
                gcdata,
                frame,
                varp,
                scanned: false,
            });
        }
        Ok(())
    }

    /// Scans the stack objects that pointers into the stack reach (transitively),
    /// as `scanstack` does after the frames.
    fn stack_objects(&mut self, st: &mut StackScan) {
        st.objects.sort_by_key(|o| o.addr);
        let mut steps = 0u64;
        while let Some((p, cons)) = st.ptrs.pop() {
            steps += 1;
            if steps > MAX_STACK_OBJECTS * 4 {
                self.warn(format!("goroutine {}: stack object scan stopped", st.goid));
                break;
            }
            let i = st.objects.partition_point(|o| o.addr <= p);
            let Some(i) = i.checked_sub(1) else { continue };
            let Some(o) = st.objects.get_mut(i) else {
                continue;
            };
            if p >= o.addr.saturating_add(o.size) || o.scanned {
                continue;
            }
            o.scanned = true;
            let o = o.clone();
            let Some(fi) = st.frames.get(o.frame).cloned() else {
                continue;
            };
            let cons = cons || o.gcdata == 0;
            let goid = st.goid;
            let kind = |slot: u64, c: bool| RootKind::StackObject {
                goroutine: goid,
                function: fi.function.clone(),
                pc: fi.pc,
                offset: slot.wrapping_sub(o.varp) as i64,
                conservative: c,
            };
            let words = o.ptr_bytes / self.ps;
            let mask = if o.gcdata != 0 {
                match self.read_bytes(o.gcdata, words.div_ceil(8)) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        self.warn(format!("goroutine {goid} stack object mask: {e}"));
                        None
                    }
                }
            } else {
                None
            };
            for w in 0..words.min(MAX_FRAME_BITS) {
                if let Some(m) = &mask {
                    if m.get((w / 8) as usize)
                        .is_none_or(|b| b & (1 << (w % 8)) == 0)
                    {
                        continue;
                    }
                }
                let slot = o.addr + w * self.ps;
                let Ok(v) = self.read_ptr(slot) else { break };
                let k = kind(slot, cons);
                self.stack_word(st, k, slot, v, cons);
            }
        }
    }

    // ------------------------------------------------------------ specials

    fn specials(&mut self) {
        let l = self.proc.layouts();
        let (Ok(specials_off), Ok(next), Ok(offset), Ok(kind)) = (
            l.offset("runtime.mspan", "specials"),
            l.offset("runtime.special", "next"),
            l.field("runtime.special", "offset"),
            l.field("runtime.special", "kind"),
        ) else {
            self.warn("special layouts missing: specials not scanned".into());
            return;
        };
        let k = |n: &str| l.constant(n).ok();
        let (k_fin, k_weak, k_clean) = (
            k("runtime._KindSpecialFinalizer"),
            k("runtime._KindSpecialWeakHandle"),
            k("runtime._KindSpecialCleanup"),
        );
        let fin_fn = l.offset("runtime.specialfinalizer", "fn").ok();
        let weak_handle = l.offset("runtime.specialWeakHandle", "handle").ok();
        // 1.26+: a cleanupFn {call, fn, arg}; 1.24–1.25: fn *funcval.
        let clean = match (
            l.offset("runtime.specialCleanup", "cleanup"),
            l.size("runtime.cleanupFn"),
        ) {
            (Ok(o), Ok(sz)) => Some((o, sz / self.ps)),
            _ => l
                .offset("runtime.specialCleanup", "fn")
                .ok()
                .map(|o| (o, 1)),
        };
        let spans: Vec<_> = self
            .heap
            .spans()
            .iter()
            .filter(|s| s.state == SpanState::InUse)
            .cloned()
            .collect();
        let mut total = 0u64;
        for s in spans {
            let mut sp = match self.read_ptr(s.mspan.wrapping_add(specials_off)) {
                Ok(p) => p,
                Err(e) => {
                    self.warn(format!("span {:#x} specials: {e}", s.base));
                    continue;
                }
            };
            while sp != 0 {
                total += 1;
                if total > MAX_SPECIALS {
                    self.warn("too many specials; stopped".into());
                    return;
                }
                let kv = self.read_uint(sp.wrapping_add(kind.offset), kind.size);
                let ov = self.read_uint(sp.wrapping_add(offset.offset), offset.size);
                let (Some(kv), Some(ov)) = (kv, ov) else {
                    self.warn(format!("special at {sp:#x} unreadable"));
                    break;
                };
                let kv = kv as i64;
                let obj_slot = s.base + ov.checked_div(s.elemsize).unwrap_or(0) * s.elemsize;
                // The object's address (after its malloc header, if any).
                let obj = match land(self.heap, obj_slot) {
                    Landing::Object(id, _) => self.heap.object(id),
                    _ => None,
                };
                let obj_addr = obj.map_or(obj_slot, |o| o.addr);
                if Some(kv) == k_fin {
                    if let (Some(o), false) = (obj, s.noscan()) {
                        for p in self.heap.pointers(&o) {
                            match p {
                                Ok(p) => self.push(
                                    RootKind::FinalizerObjectField { object: o.addr },
                                    o.addr + p.offset,
                                    p.target,
                                ),
                                Err(e) => {
                                    self.warn(format!("finalized object {:#x}: {e}", o.addr));
                                    break;
                                }
                            }
                        }
                    }
                    if let Some(f) = fin_fn {
                        self.slot_root(RootKind::Finalizer { object: obj_addr }, sp + f);
                    }
                } else if Some(kv) == k_weak {
                    if let Some(h) = weak_handle {
                        self.slot_root(RootKind::WeakHandle { object: obj_addr }, sp + h);
                    }
                } else if Some(kv) == k_clean {
                    if let Some((o, words)) = clean {
                        for w in 0..words.min(8) {
                            self.slot_root(
                                RootKind::Cleanup { object: obj_addr },
                                sp + o + w * self.ps,
                            );
                        }
                    }
                }
                sp = match self.read_ptr(sp.wrapping_add(next)) {
                    Ok(p) => p,
                    Err(e) => {
                        self.warn(format!("special list: {e}"));
                        break;
                    }
                };
            }
        }
    }

    fn read_uint(&self, addr: u64, size: u64) -> Option<u64> {
        let c = self.proc.core();
        match size {
            1 => c.read_u8(addr).ok().map(u64::from),
            2 => c.read_u16(addr).ok().map(u64::from),
            4 => c.read_u32(addr).ok().map(u64::from),
            8 => c.read_u64(addr).ok(),
            _ => None,
        }
    }

    fn slot_root(&mut self, kind: RootKind, slot: u64) {
        match self.read_ptr(slot) {
            Ok(v) => self.push(kind, slot, v),
            Err(e) => self.warn(format!("{kind}: {e}")),
        }
    }

    // ------------------------------------------------------------ queues

    /// `runtime.allfin`: every finalizer block, `cnt` entries scanned with
    /// `finptrmask` (fn, arg, fint, ot).
    fn fin_queue(&mut self) {
        let l = self.proc.layouts();
        let ty = if l.size("runtime.finBlock").is_ok() {
            "runtime.finBlock"
        } else {
            "runtime.finblock"
        };
        let (Ok(alllink), Ok(cnt), Ok(fin), Ok(fsize)) = (
            l.offset(ty, "alllink"),
            l.offset(ty, "cnt"),
            l.offset(ty, "fin"),
            l.size("runtime.finalizer"),
        ) else {
            self.warn("finalizer block layouts missing: finq not scanned".into());
            return;
        };
        let fields: Vec<u64> = ["fn", "arg", "fint", "ot"]
            .iter()
            .filter_map(|f| l.offset("runtime.finalizer", f).ok())
            .collect();
        let bsize = l.size(ty).unwrap_or(0);
        let cap = bsize.saturating_sub(fin) / fsize.max(1);
        let mut b = match self.proc.global_addr("runtime.allfin") {
            Ok(a) => self.read_ptr(a).unwrap_or(0),
            Err(e) => {
                self.warn(format!("finq: {e}"));
                return;
            }
        };
        let mut n = 0;
        while b != 0 && n < MAX_CHAIN {
            n += 1;
            let c = u64::from(self.read_u32(b + cnt).unwrap_or(0)).min(cap);
            for i in 0..c {
                for &f in &fields {
                    self.slot_root(RootKind::FinQueue, b + fin + i * fsize + f);
                }
            }
            b = self.read_ptr(b + alllink).unwrap_or(0);
        }
    }

    /// `runtime.gcCleanups.all` (Go 1.25+): every cleanup block, `n` entries, all
    /// pointer words.
    fn cleanup_queue(&mut self) {
        let l = self.proc.layouts();
        let (Ok(all), Ok(alllink), Ok(nf), Ok(cl)) = (
            l.offset("runtime.cleanupQueue", "all"),
            l.offset("runtime.cleanupBlockHeader", "alllink"),
            l.offset("runtime.cleanupBlockHeader", "n"),
            l.offset("runtime.cleanupBlock", "cleanups"),
        ) else {
            return; // before Go 1.25
        };
        let esize = l.size("runtime.cleanupFn").unwrap_or(self.ps);
        let bsize = l.size("runtime.cleanupBlock").unwrap_or(0);
        let cap = bsize.saturating_sub(cl) / esize.max(1);
        let mut b = match self.proc.global_addr("runtime.gcCleanups") {
            Ok(a) => self.read_ptr(a + all).unwrap_or(0),
            Err(e) => {
                self.warn(format!("cleanup queue: {e}"));
                return;
            }
        };
        let mut n = 0;
        while b != 0 && n < MAX_CHAIN {
            n += 1;
            let c = u64::from(self.read_u32(b + nf).unwrap_or(0)).min(cap);
            for w in 0..c * (esize / self.ps) {
                self.slot_root(RootKind::CleanupQueue, b + cl + w * self.ps);
            }
            b = self.read_ptr(b + alllink).unwrap_or(0);
        }
    }
}

fn word(arch: Arch, b: &[u8]) -> u64 {
    let e = arch.endian();
    if let Ok(a) = <[u8; 8]>::try_from(b) {
        e.read_u64(a)
    } else if let Ok(a) = <[u8; 4]>::try_from(b) {
        u64::from(e.read_u32(a))
    } else {
        0
    }
}

/// Data and bss symbols of the executable, sorted by (link-time) address.
struct DataSymbols {
    syms: Vec<(u64, u64, String)>,
}

impl DataSymbols {
    fn read(data: &[u8]) -> DataSymbols {
        let mut syms = Vec::new();
        if let Ok(file) = object::File::parse(data) {
            for s in file.symbols() {
                if s.kind() != object::SymbolKind::Data || s.address() == 0 || s.size() == 0 {
                    continue;
                }
                let writable = s
                    .section_index()
                    .and_then(|i| file.section_by_index(i).ok())
                    .is_some_and(|sec| {
                        matches!(
                            sec.kind(),
                            object::SectionKind::Data | object::SectionKind::UninitializedData
                        )
                    });
                if !writable {
                    continue;
                }
                if let Ok(name) = s.name() {
                    syms.push((s.address(), s.size(), name.to_string()));
                }
            }
        }
        syms.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        DataSymbols { syms }
    }

    /// The symbol containing `addr` and the offset into it.
    fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let i = self.syms.partition_point(|s| s.0 <= addr).checked_sub(1)?;
        let (a, size, name) = self.syms.get(i)?;
        let off = addr - a;
        (off < *size).then_some((name.as_str(), off))
    }
}
