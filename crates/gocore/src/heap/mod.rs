//! The Go heap: every allocated object of every in-use span, and the pointers each
//! object holds.
//!
//! [`Heap::new`] builds an index once — the spans of `runtime.mheap_.allspans` sorted
//! by address, and per span an allocated-slot bitmap and the count of allocated
//! objects before it — so that:
//!
//! * objects have dense ids ([`ObjId`], address order), and [`Heap::objects`]
//!   iterates them without allocating;
//! * [`Heap::find_object`] maps any address to (object, offset) by a binary search
//!   over spans and one division;
//! * [`Heap::pointers`] yields each pointer slot of an object with its target, from
//!   whichever pointer bitmap the Go release keeps ([`PointerLayout`]).
//!
//! What a "slot is allocated" means: slot `i` of an in-use span is allocated iff
//! `i < mspan.freeindex` or bit `i` of `mspan.allocBits` is set (the runtime's own
//! rule after sweeping). Objects of a header size class start one malloc header
//! (8 bytes) into their slot: [`Object::addr`] is the address Go code holds, and
//! [`Object::slot`] the slot's start.
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! let heap = gocore::Heap::new(&proc)?;
//! println!("{} objects in {} spans", heap.object_count(), heap.spans().len());
//! for obj in heap.objects().take(3) {
//!     for p in heap.pointers(&obj) {
//!         let p = p?;
//!         println!("{:#x}+{} -> {:#x}", obj.addr, p.offset, p.target);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod pointers;
mod types;

use std::collections::{BTreeSet, HashMap};

use corefile::Core;

use crate::error::{Error, Result};
use crate::process::Process;

pub(crate) use pointers::SpanMemory;
pub use pointers::{Pointer, Pointers};
pub use types::TypeInfo;

/// Most spans read from `allspans` (a sanity bound on a length read from the core).
const MAX_SPANS: u64 = 1 << 26;

/// Most warnings kept (the count of suppressed ones is reported in the last one).
const MAX_WARNINGS: usize = 100;

/// A dense object id: objects are numbered 0.. in address order.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// let mut marked = vec![false; heap.object_count() as usize];
/// if let Some((id, _off)) = heap.find_object(0xc000010000) {
///     marked[id.index()] = true;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjId(pub u32);

impl ObjId {
    /// The id as an index into per-object vectors.
    ///
    /// ```
    /// assert_eq!(gocore::ObjId(7).index(), 7);
    /// ```
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// How the Go release that built the binary records which heap words are pointers.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// println!("{:?}", heap.layout());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointerLayout {
    /// One bit per heap word in `heapArena.bitmap`, with `noMorePtrs` (Go ≤ 1.21,
    /// and 1.22 built with `GOEXPERIMENT=noallocheaders`).
    ArenaBitmap,
    /// Allocation headers (Go 1.22+): small objects' bits at the end of their span,
    /// a `*abi.Type` header in each larger slot, `mspan.largeType` for large objects.
    AllocHeaders {
        /// Green Tea GC: one-page small-object spans end with a
        /// `spanInlineMarkBits`, and their pointer bits sit just before it.
        green_tea: bool,
    },
}

/// The state of a span (`mspan.state`).
///
/// ```
/// assert!(gocore::SpanState::InUse.has_objects());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanState {
    /// Free (`mSpanDead`).
    Dead,
    /// Holds heap objects (`mSpanInUse`).
    InUse,
    /// Manually managed: goroutine stacks and runtime-internal memory
    /// (`mSpanManual`).
    Manual,
    /// A value this release does not define.
    Other(u8),
}

impl SpanState {
    /// Whether the span holds heap objects.
    ///
    /// ```
    /// assert!(!gocore::SpanState::Manual.has_objects());
    /// ```
    pub fn has_objects(self) -> bool {
        self == SpanState::InUse
    }
}

/// One span: what the runtime's `mspan` says about it.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// let stack_bytes: u64 = heap
///     .spans()
///     .iter()
///     .filter(|s| s.state == gocore::SpanState::Manual)
///     .map(|s| s.bytes())
///     .sum();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpanInfo {
    /// Address of the `mspan` structure.
    pub mspan: u64,
    /// First byte (`startAddr`).
    pub base: u64,
    /// Pages (`npages`).
    pub npages: u64,
    /// State.
    pub state: SpanState,
    /// `spanclass`: size class << 1 | noscan.
    pub spanclass: u8,
    /// Slot size (`elemsize`).
    pub elemsize: u64,
    /// Slots (`nelems`).
    pub nelems: u64,
    /// `allocCount` as the runtime recorded it.
    pub alloc_count: u64,
    /// Allocated slots found (`freeindex` and `allocBits`).
    pub allocated: u64,
    /// `largeType` (0 if none or not in this release).
    pub large_type: u64,
    /// A user arena chunk (`isUserArenaChunk`, `GOEXPERIMENT=arenas`): one large
    /// object covers the chunk, as the garbage collector sees it (the arena's own
    /// allocations inside are not tracked by the runtime; its pointer bitmap covers
    /// them, so [`Heap::pointers`] yields their pointer fields). A chunk freed and
    /// quarantined (made noscan and set to fault until no pointer into it is left)
    /// holds no object: its memory is returned to the OS and the runtime no longer
    /// counts it in the heap.
    pub user_arena: bool,
    /// A user arena chunk's not yet allocated middle (`userArenaChunkFree`: pointer-ful
    /// values are taken from its front, pointer-free ones from its back), `None` for
    /// other spans.
    pub user_arena_free: Option<(u64, u64)>,
    /// The tiny allocator's size class (noscan, `tinySizeClass`): each 16-byte
    /// object may be a tiny block holding several small pointer-free allocations,
    /// so a pointer into it at a non-zero offset can be another allocation's start.
    pub tiny: bool,
    /// Bytes per page.
    page_size: u64,
}

impl SpanInfo {
    /// The size class (`spanclass >> 1`; 0 for large objects).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let large = heap.spans().iter().filter(|s| s.size_class() == 0).count();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn size_class(&self) -> u8 {
        self.spanclass >> 1
    }

    /// Whether the span's objects hold no pointers (`spanclass & 1`).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let scan = heap.spans().iter().filter(|s| !s.noscan()).count();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn noscan(&self) -> bool {
        self.spanclass & 1 != 0
    }

    /// Bytes covered (`npages * pageSize`).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let total: u64 = heap.spans().iter().map(|s| s.bytes()).sum();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bytes(&self) -> u64 {
        self.npages.saturating_mul(self.page_size)
    }

    /// One past the last byte.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let s = &heap.spans()[0];
    /// assert!(s.end() > s.base);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.bytes())
    }
}

/// An allocated heap object.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// let obj = heap.objects().next().unwrap();
/// let span = heap.span(&obj);
/// println!("{:#x} {} bytes, size class {}", obj.addr, obj.size, span.size_class());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Object {
    /// Dense id (address order).
    pub id: ObjId,
    /// The object's address: what Go code points at (after the malloc header when
    /// the size class has one).
    pub addr: u64,
    /// Usable bytes from `addr` to the end of the slot.
    pub size: u64,
    /// Start of the slot (`addr` minus the malloc header, if any).
    pub slot: u64,
    /// Index of the span in [`Heap::spans`].
    pub span: u32,
}

/// Per-span index data (parallel to `Heap::spans`). It repeats the few fields of
/// [`SpanInfo`] that [`Heap::find_object`] needs, so that a lookup touches one
/// cache line of it (64 bytes, aligned to a line).
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
struct SpanIndex {
    /// First word of the span's allocated bitmap in `Heap::alloc`.
    bits: u32,
    /// Id of the span's first object.
    first_id: u32,
    /// Allocated objects (`SpanInfo::allocated`, 0 for spans without objects).
    allocated: u32,
    /// `SpanInfo::base`.
    base: u64,
    /// `SpanInfo::end()`.
    end: u64,
    /// `SpanInfo::elemsize` (1 where the span has no objects, never 0).
    elemsize: u64,
    /// `SpanInfo::nelems` (at most `u32::MAX` in a span with objects).
    nelems: u32,
    /// Malloc header bytes at the start of each slot (0 or 8).
    header: u32,
    /// `⌈2³²/elemsize⌉` when the span is under 4 GiB (the runtime's `divMagic`):
    /// a slot number is a multiply and a shift, not a division; 0: divide.
    magic: u32,
    /// Where the span's pointer bits come from.
    bits_kind: BitsKind,
}

// One cache line per span entry.
const _: () = assert!(std::mem::size_of::<SpanIndex>() == 64);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum BitsKind {
    /// No pointers (noscan, not in use).
    #[default]
    None,
    /// `heapArena.bitmap`.
    Arena,
    /// Bitmap at the end of the span, starting at this address.
    SpanEnd(u64),
    /// Type in each slot's malloc header.
    Header,
    /// `mspan.largeType`.
    Large,
}

/// Geometry of `heapArena`s, for the arena-bitmap layout.
#[derive(Debug, Clone, Default)]
struct Arenas {
    /// Arena index → address of its `heapArena`.
    by_index: HashMap<u64, u64>,
    bytes: u64,
    base_offset: u64,
    bitmap_off: u64,
    no_more_ptrs_off: Option<u64>,
}

/// 64 slots of a span's allocated-slot bitmap, and the id of the first allocated
/// slot at or after the word's start (its span's `first_id` plus the bits of the
/// span's earlier words), so that a slot's id is one popcount away — in one cache
/// line with the bits.
#[derive(Debug, Clone, Copy, Default)]
struct AllocWord {
    bits: u64,
    rank: u32,
}

/// Heap page → index of the span holding it (plus one; 0 for none), over the
/// address range of the spans. A lookup is checked against the span's bounds, and
/// falls back to a binary search when the table is absent (a heap spread too thin
/// for a dense table) or the page is shared (spans not page-aligned).
#[derive(Debug, Clone, Default)]
struct PageTable {
    base: u64,
    shift: u32,
    spans: Vec<u32>,
}

/// Most entries of the page table (64 MiB of address space per 8 KiB entry … 4 M
/// entries, 16 MiB): beyond this the heap's spans are looked up by binary search.
const MAX_PAGE_TABLE: u64 = 1 << 22;

impl PageTable {
    fn new(spans: &[SpanInfo], page_size: u64) -> PageTable {
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
            return PageTable::default();
        };
        let shift = page_size.trailing_zeros();
        let base = first.base >> shift << shift;
        let n = (last.end() - base).div_ceil(page_size);
        let covered: u64 = spans.iter().map(|s| s.npages).sum();
        if n > MAX_PAGE_TABLE || n > covered.saturating_mul(8).max(1 << 16) {
            return PageTable::default();
        }
        let mut t = vec![0u32; n as usize];
        for (i, s) in spans.iter().enumerate() {
            let p0 = (s.base - base) >> shift;
            let p1 = (s.end() - 1 - base) >> shift;
            for e in t.get_mut(p0 as usize..=p1 as usize).into_iter().flatten() {
                *e = i as u32 + 1;
            }
        }
        PageTable {
            base,
            shift,
            spans: t,
        }
    }

    /// The candidate span of `addr` (unchecked), if the table covers it.
    #[inline]
    fn get(&self, addr: u64) -> Option<usize> {
        let p = addr.checked_sub(self.base)? >> self.shift;
        let e = *self.spans.get(usize::try_from(p).ok()?)?;
        e.checked_sub(1).map(|i| i as usize)
    }
}

/// The heap index. See the [module documentation](self).
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// let proc = gocore::Process::new(&core)?;
/// let heap = gocore::Heap::new(&proc)?;
/// let (id, off) = heap.find_object(0xc000010010).ok_or("not in an object")?;
/// let obj = heap.object(id).unwrap();
/// println!("{:#x} is {off} bytes into a {}-byte object", obj.addr + off, obj.size);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Heap<'a> {
    core: &'a Core,
    layout: PointerLayout,
    spans: Vec<SpanInfo>,
    index: Vec<SpanIndex>,
    /// The allocated-slot bitmaps of all spans, 64 slots a word, each with its rank.
    alloc: Vec<AllocWord>,
    /// The span (index into `spans`) holding object id `64 * k`, for each `k`.
    id_spans: Vec<u32>,
    /// Page → span, for the address lookups of `find_object`.
    pages: PageTable,
    count: u64,
    types: HashMap<u64, TypeInfo>,
    arenas: Arenas,
    ptr_size: u64,
    warnings: Vec<String>,
    progress: std::sync::Arc<crate::Progress>,
}

impl std::fmt::Debug for Heap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heap")
            .field("layout", &self.layout)
            .field("spans", &self.spans.len())
            .field("objects", &self.count)
            .field("types", &self.types.len())
            .finish_non_exhaustive()
    }
}

/// Offsets and sizes of the `mspan` fields read, looked up once.
struct MspanFields {
    size: u64,
    start: (u64, u64),
    npages: (u64, u64),
    freeindex: (u64, u64),
    nelems: (u64, u64),
    alloc_bits: (u64, u64),
    alloc_count: (u64, u64),
    spanclass: (u64, u64),
    state: (u64, u64),
    elemsize: (u64, u64),
    large_type: Option<(u64, u64)>,
    user_arena: Option<(u64, u64)>,
    user_arena_free: Option<(u64, u64)>,
}

impl MspanFields {
    fn new(proc: &Process<'_>) -> Result<MspanFields> {
        let l = proc.layouts();
        let f = |p: &str| -> Result<(u64, u64)> {
            let f = l.field("runtime.mspan", p)?;
            Ok((f.offset, f.size))
        };
        Ok(MspanFields {
            size: l.size("runtime.mspan")?,
            start: f("startAddr")?,
            npages: f("npages")?,
            freeindex: f("freeindex")?,
            nelems: f("nelems")?,
            alloc_bits: f("allocBits")?,
            alloc_count: f("allocCount")?,
            spanclass: f("spanclass")?,
            state: f("state.s").or_else(|_| f("state"))?,
            elemsize: f("elemsize")?,
            large_type: f("largeType").ok(),
            user_arena: f("isUserArenaChunk").ok(),
            user_arena_free: f("userArenaChunkFree").ok(),
        })
    }
}

/// Little-endian unsigned integer of `size` bytes at `off` (0 when out of range).
fn le_uint(b: &[u8], (off, size): (u64, u64)) -> u64 {
    let Some(s) = b.get(off as usize..off.saturating_add(size) as usize) else {
        return 0;
    };
    let mut v = 0u64;
    for (i, byte) in s.iter().take(8).enumerate() {
        v |= u64::from(*byte) << (8 * i);
    }
    v
}

impl<'a> Heap<'a> {
    /// Reads `runtime.mheap_` and indexes every span and allocated object.
    ///
    /// Damaged spans (implausible sizes, unreadable bitmaps) are skipped with a
    /// [warning](Heap::warnings); an unreadable `mheap_` is an error. Spans lost
    /// without a trace (a zeroed `mspan` reads as free, a zeroed `allspans` slot as
    /// nil) are caught by comparing the in-use spans' bytes with the runtime's
    /// `mheap_.pagesInUse`, which agree exactly on undamaged cores: a mismatch is a
    /// warning that the heap is incomplete.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let proc = gocore::Process::new(&core)?;
    /// let heap = gocore::Heap::new(&proc)?;
    /// for w in heap.warnings() { eprintln!("warning: {w}"); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(proc: &Process<'a>) -> Result<Heap<'a>> {
        let core = proc.core();
        let l = proc.layouts();
        let ptr_size = proc.ptr_size();
        let mut warnings = Vec::new();
        if ptr_size != 8 {
            return Err(Error::OutOfRange {
                what: "pointer size (the heap reader supports 64-bit targets)".into(),
                value: ptr_size,
                limit: 8,
            });
        }
        let mheap = proc.global("runtime.mheap_", "runtime.mheap")?;
        let page_size = l.constant_any(&[
            "runtime._PageSize",
            "runtime.pageSize",
            "internal/runtime/gc.PageSize",
        ])? as u64;
        if page_size == 0 || !page_size.is_power_of_two() {
            return Err(Error::OutOfRange {
                what: "page size".into(),
                value: page_size,
                limit: 1 << 30,
            });
        }
        let layout = if l.has_field("runtime.heapArena", "bitmap") {
            PointerLayout::ArenaBitmap
        } else {
            PointerLayout::AllocHeaders {
                green_tea: l.size("runtime.spanInlineMarkBits").unwrap_or(0) > 0,
            }
        };
        let (header_size, min_header) = match layout {
            PointerLayout::ArenaBitmap => (0, u64::MAX),
            PointerLayout::AllocHeaders { .. } => (
                l.constant_any(&[
                    "runtime.mallocHeaderSize",
                    "internal/runtime/gc.MallocHeaderSize",
                ])? as u64,
                l.constant_any(&[
                    "runtime.minSizeForMallocHeader",
                    "internal/runtime/gc.MinSizeForMallocHeader",
                ])? as u64,
            ),
        };
        let inline_marks = match layout {
            PointerLayout::AllocHeaders { green_tea: true } => {
                l.size("runtime.spanInlineMarkBits")?
            }
            _ => 0,
        };
        let tiny_class = l
            .constant_any(&["runtime.tinySizeClass", "internal/runtime/gc.TinySizeClass"])
            .ok()
            .map(|c| c as u64);
        let states = (
            l.constant_u64("runtime.mSpanInUse").unwrap_or(1),
            l.constant_u64("runtime.mSpanManual").unwrap_or(2),
            l.constant_u64("runtime.mSpanDead").unwrap_or(0),
        );

        // The span pointers, in one read.
        let allspans = mheap.field("allspans")?;
        let n = allspans.slice_len()?;
        if n > MAX_SPANS {
            return Err(Error::OutOfRange {
                what: format!("len(mheap_.allspans) at {:#x}", allspans.addr()),
                value: n,
                limit: MAX_SPANS,
            });
        }
        if n == 0 {
            // A running Go program always has spans: the metadata is gone.
            warn(
                &mut warnings,
                format!(
                    "mheap_.allspans at {:#x} is empty: the heap metadata is missing or damaged",
                    allspans.addr()
                ),
            );
        }
        let data = allspans.ptr()?;
        let ptrs = core
            .read(data, (n * ptr_size) as usize)
            .map_err(|source| Error::Memory {
                what: "mheap_.allspans".into(),
                source,
            })?;
        let mf = MspanFields::new(proc)?;

        let mut spans = Vec::new();
        let mut index = Vec::new();
        let mut alloc: Vec<u64> = Vec::new();
        for chunk in ptrs.chunks_exact(ptr_size as usize) {
            let sp = le_uint(chunk, (0, ptr_size));
            if sp == 0 {
                continue;
            }
            let b = match core.read(sp, mf.size as usize) {
                Ok(b) => b,
                Err(e) => {
                    warn(&mut warnings, format!("mspan at {sp:#x}: {e}"));
                    continue;
                }
            };
            let state_raw = le_uint(&b, mf.state);
            let state = if state_raw == states.0 {
                SpanState::InUse
            } else if state_raw == states.1 {
                SpanState::Manual
            } else if state_raw == states.2 {
                SpanState::Dead
            } else {
                SpanState::Other(state_raw as u8)
            };
            if matches!(state, SpanState::Dead | SpanState::Other(_)) {
                continue;
            }
            let mut s = SpanInfo {
                mspan: sp,
                base: le_uint(&b, mf.start),
                npages: le_uint(&b, mf.npages),
                state,
                spanclass: le_uint(&b, mf.spanclass) as u8,
                elemsize: le_uint(&b, mf.elemsize),
                nelems: le_uint(&b, mf.nelems),
                alloc_count: le_uint(&b, mf.alloc_count),
                allocated: 0,
                large_type: mf.large_type.map_or(0, |f| le_uint(&b, f)),
                user_arena: mf.user_arena.is_some_and(|f| le_uint(&b, f) != 0),
                user_arena_free: None,
                tiny: false,
                page_size,
            };
            if s.user_arena {
                // addrRange{base, limit offAddr}: two addresses.
                s.user_arena_free = mf.user_arena_free.map(|(off, _)| {
                    (
                        le_uint(&b, (off, 8)),
                        le_uint(&b, (off.saturating_add(8), 8)),
                    )
                });
            }
            // A quarantined user arena chunk (freeUserArenaChunk: spanclass made
            // noscan, memory set to fault) keeps allocCount 1 but is no object.
            let quarantined = s.user_arena && s.noscan() && s.size_class() == 0;
            s.tiny = s.noscan() && tiny_class.is_some_and(|c| u64::from(s.size_class()) == c);
            let bytes = s.npages.checked_mul(page_size);
            if s.npages == 0 || bytes.is_none_or(|b| s.base.checked_add(b).is_none()) {
                warn(
                    &mut warnings,
                    format!("mspan at {sp:#x}: implausible npages {}", s.npages),
                );
                continue;
            }
            let mut ix = SpanIndex {
                bits: u32::try_from(alloc.len()).unwrap_or(u32::MAX),
                ..SpanIndex::default()
            };
            if state == SpanState::InUse && !quarantined {
                let span_bytes = s.bytes();
                if s.elemsize == 0
                    || s.nelems == 0
                    || s.nelems > span_bytes / s.elemsize
                    || s.nelems > u64::from(u32::MAX)
                {
                    warn(
                        &mut warnings,
                        format!(
                            "span {:#x}: implausible elemsize {} / nelems {}",
                            s.base, s.elemsize, s.nelems
                        ),
                    );
                    s.nelems = 0;
                } else {
                    let freeindex = le_uint(&b, mf.freeindex).min(s.nelems);
                    let bits_ptr = le_uint(&b, mf.alloc_bits);
                    let nbytes = s.nelems.div_ceil(8) as usize;
                    let nwords = s.nelems.div_ceil(64) as usize;
                    let start = alloc.len();
                    alloc.resize(start + nwords, 0);
                    let words = alloc.get_mut(start..).unwrap_or_default();
                    match core.read(bits_ptr, nbytes) {
                        Ok(ab) => {
                            for (i, byte) in ab.iter().enumerate() {
                                if let Some(w) = words.get_mut(i / 8) {
                                    *w |= u64::from(*byte) << (8 * (i % 8));
                                }
                            }
                        }
                        Err(e) => warn(
                            &mut warnings,
                            format!("span {:#x}: allocBits at {bits_ptr:#x}: {e}", s.base),
                        ),
                    }
                    for i in 0..freeindex {
                        if let Some(w) = words.get_mut((i / 64) as usize) {
                            *w |= 1 << (i % 64);
                        }
                    }
                    // Clear bits past nelems.
                    if s.nelems % 64 != 0 {
                        if let Some(w) = words.last_mut() {
                            *w &= (1u64 << (s.nelems % 64)) - 1;
                        }
                    }
                    s.allocated = words.iter().map(|w| u64::from(w.count_ones())).sum();
                    if s.allocated != s.alloc_count {
                        warn(
                            &mut warnings,
                            format!(
                                "span {:#x}: {} slots allocated by freeindex/allocBits, allocCount {}",
                                s.base, s.allocated, s.alloc_count
                            ),
                        );
                    }
                    ix.bits_kind = if s.noscan() {
                        BitsKind::None
                    } else {
                        match layout {
                            PointerLayout::ArenaBitmap => BitsKind::Arena,
                            PointerLayout::AllocHeaders { .. } => {
                                if s.size_class() == 0 {
                                    BitsKind::Large
                                } else if s.elemsize <= min_header {
                                    // spanHeapBitsRange.
                                    let size = span_bytes / ptr_size / 8;
                                    let mut at = s.end() - size;
                                    if s.elemsize >= 16 {
                                        at = at.saturating_sub(inline_marks);
                                    }
                                    BitsKind::SpanEnd(at)
                                } else {
                                    ix.header = u32::try_from(header_size).unwrap_or(u32::MAX);
                                    BitsKind::Header
                                }
                            }
                        }
                    };
                    if ix.bits_kind == BitsKind::Header && header_size > s.elemsize {
                        s.nelems = 0;
                        s.allocated = 0;
                    }
                }
            }
            spans.push(s);
            index.push(ix);
        }

        // Sort by address (allspans is in creation order) and drop overlaps.
        let mut order: Vec<usize> = (0..spans.len()).collect();
        order.sort_by_key(|&i| spans.get(i).map_or(0, |s| s.base));
        let mut sorted_spans = Vec::with_capacity(spans.len());
        let mut sorted_index = Vec::with_capacity(spans.len());
        let mut count: u64 = 0;
        let mut prev_end = 0u64;
        for i in order {
            let (Some(s), Some(ix)) = (spans.get(i), index.get(i)) else {
                continue;
            };
            if s.base < prev_end {
                warn(
                    &mut warnings,
                    format!("span {:#x} overlaps the previous span; skipped", s.base),
                );
                continue;
            }
            prev_end = s.end();
            let mut ix = *ix;
            ix.first_id = u32::try_from(count).map_err(|_| Error::OutOfRange {
                what: "heap object count".into(),
                value: count,
                limit: u64::from(u32::MAX),
            })?;
            count += s.allocated;
            sorted_spans.push(s.clone());
            sorted_index.push(ix);
        }
        if count > u64::from(u32::MAX) {
            return Err(Error::OutOfRange {
                what: "heap object count".into(),
                value: count,
                limit: u64::from(u32::MAX),
            });
        }
        // Cross-check with the runtime's own count of in-use pages: a span whose
        // mspan or `allspans` slot was zeroed reads as dead or nil and its objects
        // vanish without any other trace. On undamaged cores the two agree exactly
        // (as `Breakdown`'s first check asserts on the whole corpus).
        if let Ok(pages) = mheap.field("pagesInUse").and_then(|f| f.uint()) {
            let found: u64 = sorted_spans
                .iter()
                .filter(|s| s.state == SpanState::InUse)
                .fold(0u64, |a, s| a.saturating_add(s.bytes()));
            let recorded = pages.saturating_mul(page_size);
            if found != recorded {
                warn(
                    &mut warnings,
                    format!(
                        "in-use spans cover {found} bytes but mheap_.pagesInUse records {pages} pages ({recorded} bytes): span metadata is missing or damaged, the heap is incomplete"
                    ),
                );
            }
        }

        // Hot copies, ranks of the bitmap words, id → span samples, page table.
        let mut words: Vec<AllocWord> = alloc
            .iter()
            .map(|&bits| AllocWord { bits, rank: 0 })
            .collect();
        drop(alloc);
        let mut id_spans = Vec::with_capacity(count.div_ceil(64) as usize);
        for (si, (s, ix)) in sorted_spans.iter().zip(sorted_index.iter_mut()).enumerate() {
            ix.base = s.base;
            ix.end = s.end();
            ix.elemsize = s.elemsize.max(1);
            ix.magic = match u32::try_from(ix.elemsize) {
                // (e = 1 has no 32-bit magic: the slot is the offset itself, by division.)
                Ok(e) if s.end() - s.base <= u64::from(u32::MAX) => {
                    (u32::MAX / e).checked_add(1).unwrap_or(0)
                }
                _ => 0,
            };
            ix.nelems = u32::try_from(s.nelems).unwrap_or(0);
            ix.allocated = s.allocated as u32;
            if s.allocated == 0 {
                continue;
            }
            let nwords = s.nelems.div_ceil(64) as usize;
            let mut next = ix.first_id;
            for w in words
                .get_mut(ix.bits as usize..ix.bits as usize + nwords)
                .unwrap_or_default()
                .iter_mut()
            {
                w.rank = next;
                next += w.bits.count_ones();
            }
            // Samples 64·k falling in [first_id, first_id + allocated).
            let end = u64::from(ix.first_id) + s.allocated;
            let mut k = u64::from(ix.first_id).div_ceil(64);
            while k * 64 < end {
                id_spans.push(si as u32);
                k += 1;
            }
        }
        let pages = PageTable::new(&sorted_spans, page_size);

        let mut heap = Heap {
            core,
            layout,
            spans: sorted_spans,
            index: sorted_index,
            alloc: words,
            id_spans,
            pages,
            count,
            types: HashMap::new(),
            arenas: Arenas::default(),
            ptr_size,
            warnings,
            progress: Default::default(),
        };
        match layout {
            PointerLayout::ArenaBitmap => heap.arenas = heap.load_arenas(proc)?,
            PointerLayout::AllocHeaders { .. } => heap.load_types(proc),
        }
        Ok(heap)
    }

    /// Every allocation type in a malloc header or a `largeType`, with its mask.
    fn load_types(&mut self, proc: &Process<'a>) {
        let mut addrs = BTreeSet::new();
        for (si, (s, ix)) in self.spans.iter().zip(&self.index).enumerate() {
            match ix.bits_kind {
                BitsKind::Large => {
                    addrs.insert(s.large_type);
                }
                BitsKind::Header => {
                    for obj in self.span_objects(si) {
                        match self.core.read_u64(obj.slot) {
                            Ok(t) => {
                                addrs.insert(t);
                            }
                            Err(e) => {
                                warn(&mut self.warnings, format!("malloc header: {e}"));
                                break;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let md = proc.binary().moduledata();
        let md = match md {
            Ok(md) => Some(md),
            Err(e) => {
                warn(&mut self.warnings, format!("moduledata: {e}"));
                None
            }
        };
        let mut w = Vec::new();
        let loader = types::TypeLoader::new(proc, md.as_ref(), &mut w);
        self.types = loader.load_all(addrs, &mut w);
        for m in w {
            warn(&mut self.warnings, m);
        }
    }

    /// The `heapArena` of every arena holding an in-use span.
    fn load_arenas(&mut self, proc: &Process<'a>) -> Result<Arenas> {
        let l = proc.layouts();
        let bytes = l.constant_u64("runtime.heapArenaBytes")?;
        if bytes == 0 {
            return Err(Error::OutOfRange {
                what: "heapArenaBytes".into(),
                value: 0,
                limit: 1 << 40,
            });
        }
        let base_offset =
            l.constant_any(&["runtime.arenaBaseOffset", "runtime.arenaBaseOffsetUintptr"])? as u64;
        let l1_bits = l.constant_u64("runtime.arenaL1Bits")?;
        let l2_bits = l.constant_u64("runtime.arenaL2Bits")?;
        let l1_shift = l.constant_u64("runtime.arenaL1Shift").unwrap_or(l2_bits);
        let arenas_addr = proc
            .global("runtime.mheap_", "runtime.mheap")?
            .field("arenas")?
            .addr();
        let mut by_index = HashMap::new();
        for s in &self.spans {
            let first = s.base.wrapping_sub(base_offset) / bytes;
            let last = (s.end() - 1).wrapping_sub(base_offset) / bytes;
            for ai in first..=last.min(first.saturating_add(1 << 16)) {
                if by_index.contains_key(&ai) {
                    continue;
                }
                let (l1, l2) = if l1_bits == 0 {
                    (0, ai)
                } else {
                    (ai >> l1_shift, ai & ((1 << l2_bits) - 1))
                };
                let ha = self
                    .core
                    .read_u64(arenas_addr.wrapping_add(l1 * self.ptr_size))
                    .and_then(|l2map| self.core.read_u64(l2map.wrapping_add(l2 * self.ptr_size)));
                match ha {
                    Ok(ha) if ha != 0 => {
                        by_index.insert(ai, ha);
                    }
                    Ok(_) => warn(&mut self.warnings, format!("arena {ai:#x}: no heapArena")),
                    Err(e) => warn(&mut self.warnings, format!("arena {ai:#x}: {e}")),
                }
            }
        }
        Ok(Arenas {
            by_index,
            bytes,
            base_offset,
            bitmap_off: l.offset("runtime.heapArena", "bitmap")?,
            no_more_ptrs_off: l.offset("runtime.heapArena", "noMorePtrs").ok(),
        })
    }

    /// Which pointer bitmaps this heap uses.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let headers = matches!(heap.layout(), gocore::PointerLayout::AllocHeaders { .. });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn layout(&self) -> PointerLayout {
        self.layout
    }

    /// In-use and manual (stack) spans, sorted by address.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// for s in heap.spans() {
    ///     println!("{:#x} {:?} class {} {} of {} slots", s.base, s.state, s.size_class(), s.allocated, s.nelems);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spans(&self) -> &[SpanInfo] {
        &self.spans
    }

    /// The span of an object.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let obj = heap.objects().next().unwrap();
    /// assert!(heap.span(&obj).base <= obj.addr);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn span(&self, obj: &Object) -> &SpanInfo {
        // Objects are only made from valid span indices.
        &self.spans[obj.span as usize]
    }

    /// The span containing `addr`, if any.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// if let Some(s) = heap.span_of(0xc000010000) { println!("{:?}", s.state); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn span_of(&self, addr: u64) -> Option<&SpanInfo> {
        self.span_index_of(addr).and_then(|i| self.spans.get(i))
    }

    #[inline]
    fn span_index_of(&self, addr: u64) -> Option<usize> {
        if let Some(i) = self.pages.get(addr) {
            if let Some(ix) = self.index.get(i) {
                if ix.base <= addr && addr < ix.end {
                    return Some(i);
                }
            }
        } else if !self.pages.spans.is_empty() {
            // Inside the table's range but on no span's page; or outside it.
            let p = addr.wrapping_sub(self.pages.base) >> self.pages.shift;
            if p < self.pages.spans.len() as u64 {
                return None;
            }
        }
        let i = self.spans.partition_point(|s| s.base <= addr);
        let i = i.checked_sub(1)?;
        let s = self.spans.get(i)?;
        (addr < s.end()).then_some(i)
    }

    /// How far typing, marking, the object graph and the dominator tree over this
    /// heap have got ([`Progress`](crate::Progress)): a handle another thread can
    /// keep and read while they run.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let (done, total) = heap.progress().get(gocore::Stage::Graph);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn progress(&self) -> std::sync::Arc<crate::Progress> {
        self.progress.clone()
    }

    /// The counters themselves, for the stages to advance.
    pub(crate) fn counters(&self) -> &crate::Progress {
        &self.progress
    }

    /// Number of allocated objects.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// println!("{} objects", heap.object_count());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn object_count(&self) -> u64 {
        self.count
    }

    /// Every allocated object, in address order (ids 0, 1, 2 …).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let bytes: u64 = heap.objects().map(|o| o.size).sum();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn objects(&self) -> Objects<'_, 'a> {
        Objects {
            heap: self,
            span: 0,
            end_span: self.spans.len(),
            word: 0,
            bits: 0,
            id: 0,
        }
    }

    fn span_objects(&self, span: usize) -> Objects<'_, 'a> {
        Objects {
            heap: self,
            span,
            end_span: span.saturating_add(1).min(self.spans.len()),
            word: 0,
            bits: 0,
            id: self.index.get(span).map_or(0, |ix| ix.first_id),
        }
    }

    #[inline]
    fn make_object(&self, span: usize, slot: u64, id: u32) -> Option<Object> {
        let ix = self.index.get(span)?;
        let slot_addr = ix.base.checked_add(slot.checked_mul(ix.elemsize)?)?;
        Some(Object {
            id: ObjId(id),
            addr: slot_addr + u64::from(ix.header),
            size: ix.elemsize - u64::from(ix.header),
            slot: slot_addr,
            span: span as u32,
        })
    }

    /// The object with this id.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let first = heap.object(gocore::ObjId(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn object(&self, id: ObjId) -> Option<Object> {
        if u64::from(id.0) >= self.count {
            return None;
        }
        // From the span holding id 64·k, forward to the one holding `id`.
        let mut span = *self.id_spans.get(id.index() / 64)? as usize;
        loop {
            let ix = self.index.get(span)?;
            if ix.first_id <= id.0 && id.0 - ix.first_id < ix.allocated {
                break;
            }
            span += 1;
        }
        let ix = self.index.get(span)?;
        let nwords = ix.nelems.div_ceil(64) as usize;
        let words = self
            .alloc
            .get(ix.bits as usize..ix.bits as usize + nwords)?;
        // The last word whose rank is ≤ id holds it (a word without bits shares its
        // rank with the next).
        let wi = words.partition_point(|w| w.rank <= id.0).checked_sub(1)?;
        let AllocWord { bits: mut w, rank } = *words.get(wi)?;
        for _ in 0..id.0 - rank {
            w &= w.wrapping_sub(1);
        }
        if w == 0 {
            return None;
        }
        let slot = wi as u64 * 64 + u64::from(w.trailing_zeros());
        self.make_object(span, slot, id.0)
    }

    /// The allocated object containing `addr`, and `addr`'s offset from the
    /// object's address. Addresses in free slots, in a slot's malloc header, in the
    /// unused tail of a span, in stack spans or outside the heap give `None`.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// match heap.find_object(0xc000010008) {
    ///     Some((id, 0)) => println!("object {} starts there", id.0),
    ///     Some((id, off)) => println!("{off} bytes into object {}", id.0),
    ///     None => println!("not in an allocated object"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find_object(&self, addr: u64) -> Option<(ObjId, u64)> {
        self.locate(addr).map(|(_, _, id, off)| (ObjId(id), off))
    }

    /// The allocated object containing `addr`, and `addr`'s offset from the
    /// object's address: [`Heap::find_object`] and [`Heap::object`] in one lookup.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// if let Some((obj, off)) = heap.object_at(0xc000010008) {
    ///     println!("{off} bytes into the {}-byte object {:#x}", obj.size, obj.addr);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn object_at(&self, addr: u64) -> Option<(Object, u64)> {
        let (si, slot, id, off) = self.locate(addr)?;
        Some((self.make_object(si, slot, id)?, off))
    }

    /// [`Heap::object_at`] of each address of `addrs`, into `out` (cleared first), in
    /// two loops over all of them — the spans (page table, span index entry), then
    /// the slots (allocated-bitmap word) — so that the processor overlaps the cache
    /// misses of different addresses. `spans` is scratch space.
    pub(crate) fn objects_at(
        &self,
        addrs: impl Iterator<Item = u64> + Clone,
        spans: &mut Vec<Option<usize>>,
        out: &mut Vec<Option<(Object, u64)>>,
    ) {
        spans.clear();
        spans.extend(addrs.clone().map(|a| self.span_index_of(a)));
        out.clear();
        out.extend(addrs.zip(spans.iter()).map(|(a, &si)| {
            let (si, slot, id, off) = self.locate_in(si?, a)?;
            Some((self.make_object(si, slot, id)?, off))
        }));
    }

    /// The id of the allocated object holding each address of `addrs` (as
    /// [`Heap::find_object`]), into `out` (cleared first), in two loops like
    /// [`Heap::objects_at`]: spans first, then slots, so that the cache misses of
    /// different addresses overlap. `spans` is scratch space.
    pub(crate) fn find_objects(
        &self,
        addrs: &[u64],
        spans: &mut Vec<Option<usize>>,
        out: &mut Vec<Option<u32>>,
    ) {
        spans.clear();
        spans.extend(addrs.iter().map(|&a| self.span_index_of(a)));
        out.clear();
        out.extend(
            addrs
                .iter()
                .zip(spans.iter())
                .map(|(&a, &si)| self.locate_in(si?, a).map(|(_, _, id, _)| id)),
        );
    }

    /// (span, slot, id, offset in the object) of the allocated object holding `addr`.
    #[inline]
    fn locate(&self, addr: u64) -> Option<(usize, u64, u32, u64)> {
        let si = self.span_index_of(addr)?;
        self.locate_in(si, addr)
    }

    /// [`Heap::locate`] in span `si`, the span holding `addr`.
    #[inline]
    fn locate_in(&self, si: usize, addr: u64) -> Option<(usize, u64, u32, u64)> {
        let ix = self.index.get(si)?;
        if ix.allocated == 0 {
            return None;
        }
        let off = addr - ix.base;
        let slot = if ix.magic != 0 && off <= u64::from(u32::MAX) {
            // ⌊off·magic/2³²⌋ is the slot or one more (off < 2³²).
            let q = (off * u64::from(ix.magic)) >> 32;
            q - u64::from(q * ix.elemsize > off)
        } else {
            off / ix.elemsize
        };
        if slot >= u64::from(ix.nelems) {
            return None;
        }
        let wi = ix.bits as usize + (slot / 64) as usize;
        let AllocWord { bits: w, rank } = *self.alloc.get(wi)?;
        let bit = 1u64 << (slot % 64);
        if w & bit == 0 {
            return None;
        }
        let in_obj = (off - slot * ix.elemsize).checked_sub(u64::from(ix.header))?;
        let id = rank + (w & (bit - 1)).count_ones();
        Some((si, slot, id, in_obj))
    }

    /// The allocation type of an object, when the heap records it: the malloc
    /// header of header size classes, `largeType` of large objects (Go 1.22+).
    /// Small objects (≤ 512 bytes), user arena chunks and every object before 1.22
    /// have none.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let typed = heap.objects().filter(|o| heap.object_type(o).is_some()).count();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn object_type(&self, obj: &Object) -> Option<&TypeInfo> {
        let ix = self.index.get(obj.span as usize)?;
        let t = match ix.bits_kind {
            BitsKind::Header => self.core.read_u64(obj.slot).ok()?,
            // A user arena chunk's largeType is the runtime's dummy type holding the
            // chunk's pointer bitmap, no Go type.
            BitsKind::Large if self.spans.get(obj.span as usize)?.user_arena => return None,
            BitsKind::Large => self.spans.get(obj.span as usize)?.large_type,
            _ => return None,
        };
        self.types.get(&t)
    }

    /// Every object whose allocation type the heap records, with that type: the
    /// objects of [`Heap::objects`] for which [`Heap::object_type`] is `Some`, in
    /// the same (id) order, without visiting the spans that record no types.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// for (obj, t) in heap.typed_objects().take(5) {
    ///     println!("{:#x} {}", obj.addr, t.display_name());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn typed_objects(&self) -> impl Iterator<Item = (Object, &TypeInfo)> + '_ {
        self.index
            .iter()
            .enumerate()
            .filter(|(_, ix)| matches!(ix.bits_kind, BitsKind::Header | BitsKind::Large))
            .flat_map(|(si, _)| self.span_objects(si))
            .filter_map(|o| self.object_type(&o).map(|t| (o, t)))
    }

    /// The pointer slots of an object, each with the value it holds (nil included),
    /// in address order. Noscan objects have none.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// for obj in heap.objects() {
    ///     for p in heap.pointers(&obj) {
    ///         let p = p?;
    ///         if let Some((to, _)) = heap.find_object(p.target) {
    ///             println!("{} -> {}", obj.id.0, to.0);
    ///         }
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pointers(&self, obj: &Object) -> Pointers<'_> {
        Pointers::new(self, obj)
    }

    /// Non-fatal problems met while indexing (damaged spans, unreadable types).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// assert!(heap.warnings().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

fn warn(w: &mut Vec<String>, msg: String) {
    match w.len() {
        n if n < MAX_WARNINGS => w.push(msg),
        n if n == MAX_WARNINGS => w.push("further warnings suppressed".into()),
        _ => {}
    }
}

/// Iterator over allocated objects in address order; see [`Heap::objects`].
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// let mut it: gocore::Objects<'_, '_> = heap.objects();
/// let first = it.next();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Objects<'h, 'a> {
    heap: &'h Heap<'a>,
    span: usize,
    end_span: usize,
    /// Next word of the current span's bitmap to load.
    word: u64,
    /// Remaining bits of the current word, shifted so that bit 0 is slot
    /// `(word - 1) * 64 + k` for the lowest set bit k.
    bits: u64,
    id: u32,
}

impl Iterator for Objects<'_, '_> {
    type Item = Object;

    // Inlined into callers in other crates (the CLI's loops over every object): a
    // call per object, and the returned object read back through memory, cost as
    // much as the rest of such a loop.
    #[inline]
    fn next(&mut self) -> Option<Object> {
        loop {
            if self.bits != 0 {
                let k = u64::from(self.bits.trailing_zeros());
                self.bits &= self.bits - 1;
                let slot = (self.word - 1) * 64 + k;
                let id = self.id;
                self.id = self.id.saturating_add(1);
                return self.heap.make_object(self.span, slot, id);
            }
            if self.span >= self.end_span {
                return None;
            }
            let s = self.heap.spans.get(self.span)?;
            let nwords = s.nelems.div_ceil(64);
            if s.allocated == 0 || self.word >= nwords {
                self.span += 1;
                self.word = 0;
                continue;
            }
            let ix = self.heap.index.get(self.span)?;
            self.bits = self
                .heap
                .alloc
                .get(ix.bits as usize + self.word as usize)?
                .bits;
            self.word += 1;
        }
    }
}
