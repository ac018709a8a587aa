//! Type propagation: a Go type for heap objects that the heap itself does not type.
//!
//! The heap records an object's type only in malloc headers and `mspan.largeType`
//! (Go 1.22+, objects over 512 bytes). Everything else is typed here by following
//! typed pointers, as the garbage collector's own view would if it kept types:
//!
//! * **Sources.** (1) Every object with a malloc header or `largeType`: its exact
//!   dynamic type. (2) Global variables in data/bss typed from DWARF: a top-level
//!   `DW_TAG_variable` whose type DIE carries `DW_AT_go_runtime_type`, the address of
//!   the runtime type descriptor (pointer and slice types the linker left without a
//!   descriptor are typed through their element; structs without one through their
//!   members). (3) Goroutine frame slots typed from DWARF: each physical frame's
//!   parameters and locals whose location at the frame's PC is a CFA-relative slot
//!   (`DW_OP_fbreg`, `DW_OP_call_frame_cfa [+ n]`, location lists of DWARF 4 and 5)
//!   — only values holding a live pointer there, a stack root of
//!   [`crate::RootSet`] (the GC's stack maps): a location often spans the whole
//!   function, and before a variable is set its slot holds stale words of an earlier
//!   call (or of the stack's previous goroutine). Without DWARF, globals and frames are untyped; (4) what the runtime recorded
//!   types objects instead (`types/evidence.rs`): interface words in untyped
//!   globals, frames and heap objects, the channels goroutines block on and the
//!   values they send, `hchan.elemtype` for buffers, `SetFinalizer`'s `*T`.
//! * **Propagation** walks each typed value with the runtime type descriptors read by
//!   [`gobinary::TypeReader`] (no DWARF needed): a `*T` field types its target as `T`
//!   (the offset into the target is recorded when it points inside); a `[]T` types the
//!   backing array as `cap` elements of `T`; arrays and struct fields are walked in
//!   place; an `any` takes the dynamic type from its `_type` word, a non-empty
//!   interface from its itab's type; a direct-iface dynamic type (pointer-shaped)
//!   is walked in the data word itself; maps type their buckets (classic `hmap`:
//!   bucket arrays, old buckets and overflow chains, only slots whose `tophash` is in
//!   use) or their groups (Swiss tables of Go 1.24+: the small-map group or every
//!   table's groups, only full slots); a channel types its buffer as `dataqsiz`
//!   elements of its element type; `atomic.Pointer[T]` is followed as `*T`, and a
//!   `sync.node[K,V]` pointer (the `HashTrieMap` behind `sync.Map` from Go 1.24) as
//!   the `sync.entry` or `sync.indirect` its `isEntry` byte names.
//!   A string types its bytes as `string data` (an [`EntryKind::StringData`] entry of
//!   size 1, `elems` = length). A channel value also types its `hchan` as
//!   `runtime.hchan`, a map value its header (`runtime.hmap`, `maps.Map`) and, for
//!   Swiss maps, the table directory (`*maps.table` × `dirLen`) and the tables.
//! * **Closures.** A func value pointing to a heap object names it after the function
//!   in its first word, `FUNC closure` (`main.buildClosures.func1 closure`, an
//!   [`EntryKind::Closure`] entry, [`TypeSource::Closure`]); a method value's
//!   wrapper `T.M-fm` also types its bound receiver. The captured variables are
//!   typed from the function's DWARF when it has `DW_AT_go_closure_offset` (Go
//!   1.23+: each captured variable's offset in the context; `&x` names a variable
//!   captured by reference, typed `*T`); otherwise from the closure struct descriptor
//!   (`struct { F uintptr; X0 …; … }`, found by searching the type section for
//!   descriptors so named: nothing else lists them) that fits the object's size
//!   class and pointer bitmap and whose fields are types of the function's DWARF
//!   variables — used only when exactly one fits. An untyped object whose first word
//!   is not a pointer slot and holds exactly a function's entry PC (a `funcval`) is
//!   named the same way; this is how closures are found without DWARF.
//! * **Shape inference** ([`TypeSource::Inferred`]), run after propagation and
//!   followed by it, in rounds until nothing changes (at most 8): an object still
//!   untyped (or typed only through an interior pointer) in a scanned span, not over
//!   32 KiB, takes the type descriptor `T` — `n` values of it — when it is the
//!   *only* descriptor of the executable (those reachable from typelinks and itabs,
//!   plus the closure structs) such that: `n × size` rounds up to the object's size
//!   class (`runtime.class_to_size`, the same table in 1.21–1.27); `T`'s pointer mask
//!   tiled `n` times equals the object's pointer bitmap in the heap exactly; an
//!   interior claim of type `E` at offset `o` finds an `E` at `o` inside `T`; and
//!   every non-nil pointer, slice and string field of the candidate agrees with its
//!   target — a typed target holds the field's element type at that offset, an
//!   untyped noscan target only takes pointer-free elements, an untyped scanned
//!   target has some fitting descriptor holding the element there. Ambiguous shapes
//!   (many small `struct { P *T; ID int64 }`-like types share a shape) stay
//!   untyped; the choice is never a guess among several. The limit: a descriptor not
//!   reachable from typelinks/itabs (and not a closure struct) is not considered,
//!   so "only" is relative to the descriptors found.
//! * **Not typed yet:** `unsafe.Pointer` fields, register-held values of the
//!   interrupted frame, inlined functions' variables; without DWARF, small objects
//!   whose shape several descriptors share and that no typed object points to.
//!
//! **When several types claim one object** the choice is deterministic: a header or
//! `largeType` always wins, then a closure (a func value's target), then an
//! inference; among propagated claims a claim at offset 0 beats an interior claim,
//! then the claim covering more bytes wins (`size × elements`), and among equals the
//! first claim in propagation order (headers in object-id order, then globals in
//! address order, then frames goroutine by goroutine, queued in that order; the
//! walk itself is depth first — the last value queued is walked first, so a linked
//! list is followed node after node in memory order rather than interleaved with
//! every other list, ten times faster on a 6 M-object heap) is kept. A
//! replaced claim's own propagation is not undone (a known imprecision). A claim
//! whose value does not fit between its offset and the object's end is dropped: the
//! pointer is stale or misread (on a 10 M-node list such pointers once typed 16-byte
//! nodes `runtime.m` and walked their neighbours as one).
//!
//! **User arena chunks** (`GOEXPERIMENT=arenas`): the runtime tracks a chunk as one
//! large object, but it is a container of the arena's values at offsets. It is typed
//! `user arena chunk` ([`EntryKind::UserArenaChunk`], from its span: never the type of
//! the value at its base), and a typed pointer into it types a *value* of the chunk
//! ([`Typing::arena_values`]) at that offset, walked as any value — unless it lies in
//! the chunk's not yet allocated middle (`userArenaChunkFree`: a stale pointer) or
//! inside a value already typed there that holds it.
//!
//! [`Typing::coverage`] gives the typed figure: the share of (live) objects and bytes
//! with a type, by source, and the untyped rest by size class and by what reaches it.
//! A user arena chunk counts as one typed object whose bytes are those of its typed
//! values (their union); its not yet allocated middle and its allocated bytes in no
//! typed value are reported apart ([`Coverage::arena_free_bytes`],
//! [`Coverage::arena_untyped_bytes`]) and are neither typed nor untyped live bytes:
//! the runtime records no arena allocation, so whether a value lives there is
//! unknown (zoo's freed arena leaves 1.5 MiB of dead noscan fill in its reused chunk).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use gimli::{AttributeValue, EndianSlice, Operation, RunTimeEndian};
use gobinary::{Kind, TypeReader};
use object::{Object as _, ObjectSection};

use crate::heap::{Heap, ObjId};
use crate::process::Process;

mod code;
mod evidence;

/// Most elements of one array or buffer walked.
const MAX_ELEMS: u64 = 1 << 24;
/// Deepest nesting of types walked in place (struct in array in struct …).
const MAX_DEPTH: u32 = 64;
/// Longest overflow-bucket chain followed.
const MAX_CHAIN: u32 = 1 << 16;
/// Rounds of shape inference (each followed by propagation).
const MAX_INFER_ROUNDS: u32 = 8;
/// Largest object shape inference considers.
const MAX_INFER_SIZE: u64 = 32 << 10;
/// `runtime.class_to_size` (`internal/runtime/gc.SizeClassToSize`), the same in every
/// release from Go 1.21 to 1.27.
const CLASS_TO_SIZE: [u64; 68] = [
    0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
    352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
    2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
    10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672,
    32768,
];
/// Most work items processed.
const MAX_WORK: u64 = 1 << 26;
/// Work stack capacity kept when it drains (items of 16 bytes).
const WORK_KEEP: usize = 1 << 16;
/// Go's `DW_AT_go_runtime_type`.
const DW_AT_GO_RUNTIME_TYPE: gimli::DwAt = gimli::DwAt(0x2904);
/// Go's `DW_AT_go_kind`.
const DW_AT_GO_KIND: gimli::DwAt = gimli::DwAt(0x2900);
/// Go's `DW_AT_go_elem`.
const DW_AT_GO_ELEM: gimli::DwAt = gimli::DwAt(0x2902);
/// Go's `DW_AT_go_closure_offset` (Go 1.23+): a captured variable's offset in the
/// closure context.
const DW_AT_GO_CLOSURE_OFFSET: gimli::DwAt = gimli::DwAt(0x2907);
/// `DW_AT_go_kind` of slices (`reflect.Slice`).
const SLICE_KIND: u64 = 23;

/// Index of a type in [`Typing::types`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u32);

/// A type known to the typing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypeEntry {
    /// Run-time address of its descriptor (for a [`EntryKind::Closure`], of the
    /// closure struct's descriptor when one was matched; 0 when there is none).
    pub addr: u64,
    /// Its name as the runtime prints it (`type@ADDR` for descriptors built at run
    /// time; `string data` and `FUNC closure` for the entries without a descriptor).
    pub name: String,
    /// `Size_` (1 for string data: an object's `elems` counts its bytes).
    pub size: u64,
    /// What the entry describes.
    pub kind: EntryKind,
}

/// What a [`TypeEntry`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A runtime type descriptor at [`TypeEntry::addr`].
    Descriptor,
    /// The bytes of strings (named `string data`): what a string header's data
    /// pointer points at. Go has no type descriptor for them.
    StringData,
    /// A closure context (`funcval`): word 0 is the entry PC `func` of the closure's
    /// function, the captured variables follow. Named `FUNC closure`
    /// (`main.buildClosures.func1 closure`).
    Closure {
        /// Entry PC of the function.
        func: u64,
    },
    /// A user arena chunk (`GOEXPERIMENT=arenas`, named `user arena chunk`): the
    /// runtime tracks the chunk as one object, but it is a container of the arena's
    /// values at offsets, typed one by one ([`Typing::arena_values`]), never one value
    /// of the type that happens to sit at its base. Size 0: it has no descriptor.
    UserArenaChunk,
}

/// Where an object's type came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TypeSource {
    /// The malloc header or `mspan.largeType`.
    Header,
    /// Propagated along typed pointers from a typed global, frame slot or object.
    Propagated,
    /// A closure context (`funcval`) named after the function in its first word; its
    /// captured variables are typed from the function's DWARF or a matching closure
    /// struct descriptor (see [`Typing`]).
    Closure,
    /// Inferred from the object's shape: the only type descriptor of the executable
    /// that fits its size class, pointer bitmap and what points into it (see the
    /// documentation of [`Typing`]).
    Inferred,
}

impl TypeSource {
    /// Short name: `header`, `propagated`, `closure`, `inferred`.
    ///
    /// ```
    /// assert_eq!(gocore::TypeSource::Header.name(), "header");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            TypeSource::Header => "header",
            TypeSource::Propagated => "propagated",
            TypeSource::Closure => "closure",
            TypeSource::Inferred => "inferred",
        }
    }

    /// The source's code in a [`Rec`] (2 bits: a fifth source needs a wider field,
    /// which the assertion after [`REC_TY_LIMIT`] enforces).
    const fn code(self) -> u8 {
        match self {
            TypeSource::Propagated => 0,
            TypeSource::Header => 1,
            TypeSource::Closure => 2,
            TypeSource::Inferred => 3,
        }
    }

    fn from_code(c: u8) -> TypeSource {
        match c {
            1 => TypeSource::Header,
            2 => TypeSource::Closure,
            3 => TypeSource::Inferred,
            _ => TypeSource::Propagated,
        }
    }
}

/// An object's type: `elems` consecutive values of `ty` starting `offset` bytes
/// into the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjType {
    /// The type.
    pub ty: TypeId,
    /// Byte offset of the first value in the object (0 unless only interior
    /// pointers claimed it).
    pub offset: u64,
    /// How many values (slice capacities, channel buffers, header-typed arrays).
    pub elems: u64,
    /// Where it came from.
    pub source: TypeSource,
}

/// One row of [`Typing::histogram`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeCount {
    /// Type name; `[N]T` when an object holds N values of T (slice backing arrays),
    /// `(untyped)` for objects without a type.
    pub name: String,
    /// Objects.
    pub count: u64,
    /// Their bytes (slot sizes).
    pub bytes: u64,
}

/// A group of untyped live objects in [`Coverage`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UntypedGroup {
    /// The size class (`96`, or `large 81920` for objects of their own span) or the
    /// referrer (`global runtime.mheap_`, `frame main.f`, `object *main.T`,
    /// `untyped object`, `finq` …).
    pub key: String,
    /// Objects.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// The "typed" figure: how much of the (live) heap has a known type, and what the
/// untyped rest is, as far as the core tells without guessing.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// let roots = gocore::RootSet::collect(&proc, &heap)?;
/// let reach = gocore::Reachability::compute(&proc, &heap, roots.roots())?;
/// let typing = gocore::Typing::compute(&proc, &heap)?;
/// let c = typing.coverage(&heap, roots.roots(), |id| reach.is_live(id));
/// println!("typed: {:.1}% of objects, {:.1}% of bytes", c.object_percent(), c.byte_percent());
/// for g in &c.untyped_by_referrer {
///     println!("  untyped {} objects ({} B) held by {}", g.count, g.bytes, g.key);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Coverage {
    /// Objects counted (e.g. the live ones).
    pub objects: u64,
    /// Their bytes (slot sizes, as [`Typing::histogram`]).
    pub bytes: u64,
    /// Those with a type.
    pub typed_objects: u64,
    /// Their bytes.
    pub typed_bytes: u64,
    /// Typed objects and bytes per [`TypeSource`] (`header`, `propagated`,
    /// `closure`, `inferred`), in that order; sources without objects are left out.
    pub by_source: Vec<(TypeSource, u64, u64)>,
    /// Untyped objects by size class, most bytes first.
    pub untyped_by_size: Vec<UntypedGroup>,
    /// Untyped objects by what first reaches them: a root (kind, with the global's
    /// symbol or the frame's function), else a typed object (`object T`), else
    /// `untyped object`; `unreferenced` when nothing counted points at them. Most
    /// bytes first.
    pub untyped_by_referrer: Vec<UntypedGroup>,
    /// User arena chunks (`GOEXPERIMENT=arenas`) counted: their not yet allocated
    /// middle (`userArenaChunkFree`). In none of the figures above: it holds no value.
    pub arena_free_bytes: u64,
    /// User arena chunks counted: their allocated bytes in no typed value. In none of
    /// the figures above: the runtime records no arena allocation, so nothing tells
    /// whether a value is there (one no typed pointer reaches) or only memory no
    /// longer used (a freed arena's chunk on the reuse list keeps its old values).
    pub arena_untyped_bytes: u64,
    /// User arena chunks counted: distinct addresses in their allocated bytes outside
    /// every typed value that a root or a counted object points to — arena values
    /// known to exist whose type is not known (their bytes are in
    /// [`Coverage::arena_untyped_bytes`]). A chunk's base is not counted: the runtime
    /// holds every chunk by its base (`userArena.refs`, `liveUserArenaChunk.x`).
    pub arena_untyped_targets: u64,
}

impl Coverage {
    /// Typed share of the objects, in percent (100 for an empty heap).
    ///
    /// ```
    /// assert_eq!(gocore::Coverage::default().object_percent(), 100.0);
    /// ```
    pub fn object_percent(&self) -> f64 {
        percent(self.typed_objects, self.objects)
    }

    /// Typed share of the bytes, in percent (100 for an empty heap).
    ///
    /// ```
    /// assert_eq!(gocore::Coverage::default().byte_percent(), 100.0);
    /// ```
    pub fn byte_percent(&self) -> f64 {
        percent(self.typed_bytes, self.bytes)
    }
}

fn percent(a: u64, b: u64) -> f64 {
    if b == 0 {
        100.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}

fn groups(m: HashMap<String, (u64, u64)>) -> Vec<UntypedGroup> {
    let mut v: Vec<UntypedGroup> = m
        .into_iter()
        .map(|(key, (count, bytes))| UntypedGroup { key, count, bytes })
        .collect();
    v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.key.cmp(&b.key)));
    v
}

/// Per-object types for a heap: how they are found is described in the `gocore::types`
/// module source and in `docs/ARCHITECTURE.md` (typing).
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// let proc = gocore::Process::new(&core)?;
/// let heap = gocore::Heap::new(&proc)?;
/// let typing = gocore::Typing::compute(&proc, &heap)?;
/// for row in typing.histogram(&heap, |_| true).iter().take(10) {
///     println!("{:>8} {:>10} {}", row.count, row.bytes, row.name);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Typing {
    types: Vec<TypeEntry>,
    /// Per object, one 4-byte record (one cache miss per object on big heaps).
    rec: Vec<Rec>,
    /// Offset and element count of the objects whose [`Rec`] could not hold them
    /// (values not at offset 0, large arrays; see [`Rec::pack`]), by object index.
    wide: HashMap<u32, (u32, u32)>,
    globals: u64,
    frame_slots: u64,
    warnings: Vec<String>,
    /// The `user arena chunk` entry, when the heap has chunks.
    chunk_ty: Option<u32>,
    /// Values typed inside each user arena chunk (by object index): offset →
    /// (type id, elements).
    arena: HashMap<u32, BTreeMap<u64, (u32, u64)>>,
}

/// An object's type as [`Typing`] stores it: 4 bytes. The type id + 1 in the low
/// [`REC_TY_BITS`] bits (0 = untyped), the [`TypeSource::code`] in the 2 bits
/// above, and in the top [`Rec::PLACE_BITS`] the number of values when they start
/// at offset 0 and are fewer than [`Rec::WIDE`] — one struct, a small array: nearly
/// every object — else [`Rec::WIDE`], the offset and count being in
/// [`Typing::wide`]. All zeros is an untyped object (the record array starts
/// zeroed).
#[derive(Debug, Clone, Copy, Default)]
struct Rec(u32);

/// Bits of a [`Rec`] for the type id + 1.
const REC_TY_BITS: u32 = 20;
/// Type ids (+ 1) must stay below this to fit a [`Rec`] (a million types: a Go
/// executable has tens of thousands of type descriptors).
const REC_TY_LIMIT: u32 = 1 << REC_TY_BITS;
// Every source's code fits a record's 2 bits.
const _: () = assert!(
    TypeSource::Header.code() < 4
        && TypeSource::Propagated.code() < 4
        && TypeSource::Closure.code() < 4
        && TypeSource::Inferred.code() < 4
);

impl Rec {
    /// Where the [`TypeSource::code`] starts (2 bits: four sources).
    const SRC_SHIFT: u32 = REC_TY_BITS;
    /// Where the place starts.
    const PLACE_SHIFT: u32 = REC_TY_BITS + 2;
    /// Bits of the place.
    const PLACE_BITS: u32 = 32 - Rec::PLACE_SHIFT;
    /// The place of a record whose offset and count are kept in [`Typing::wide`]
    /// (all ones).
    const WIDE: u32 = (1 << Rec::PLACE_BITS) - 1;

    /// The record of type id + 1 `ty` from source `src` with place `place`
    /// ([`Rec::pack`] or [`Rec::WIDE`]).
    fn new(ty: u32, src: u8, place: u32) -> Rec {
        Rec(ty | u32::from(src & 3) << Rec::SRC_SHIFT | place << Rec::PLACE_SHIFT)
    }

    /// The place of `elems` values at `offset` when a record holds it (offset 0,
    /// fewer than [`Rec::WIDE`] values); `None` for anything else, which goes to
    /// [`Typing::wide`].
    fn pack(offset: u32, elems: u32) -> Option<u32> {
        (offset == 0 && elems < Rec::WIDE).then_some(elems)
    }

    /// The place: a count of values at offset 0, or [`Rec::WIDE`].
    fn place(self) -> u32 {
        self.0 >> Rec::PLACE_SHIFT
    }

    /// Whether the offset and count are in [`Typing::wide`] (the only records whose
    /// values may not start at offset 0).
    fn is_wide(self) -> bool {
        self.place() == Rec::WIDE
    }

    /// Type id + 1 (0 = untyped).
    fn ty(self) -> u32 {
        self.0 & (REC_TY_LIMIT - 1)
    }

    /// [`TypeSource::code`] (0 for an untyped object).
    fn src(self) -> u8 {
        (self.0 >> Rec::SRC_SHIFT & 3) as u8
    }
}

#[derive(Debug)]
enum Shape {
    /// No pointers, or nothing we follow.
    Inert,
    Ptr(u32),
    Slice(u32),
    Eface,
    Iface,
    Map(u32),
    Chan(u32),
    /// A func value: its closure context, or a method value's receiver.
    Func,
    /// A string header: its bytes.
    Str,
    Array {
        elem: u32,
        len: u64,
        stride: u64,
    },
    Struct(Vec<(u64, u32)>),
    /// Classic map bucket: tophash at 0.
    Bucket {
        keys: (u64, u32, u64),
        elems: (u64, u32, u64),
        overflow: u64,
    },
    /// Swiss map group: ctrl word at 0, then slots.
    Group {
        slots: u64,
        slot: u32,
        stride: u64,
    },
}

struct TypeData {
    entry: TypeEntry,
    direct_iface: bool,
    shape: Rc<Shape>,
}

struct Offsets {
    itab_type: u64,
    classic: bool,
    hmap_b: u64,
    hmap_buckets: u64,
    hmap_oldbuckets: u64,
    min_tophash: u8,
    map_dirptr: u64,
    map_dirlen: u64,
    table_groups: u64,
    groups_data: u64,
    groups_mask: u64,
    chan_buf: u64,
    chan_dataqsiz: u64,
    kind_direct: Option<u8>,
    tflag_direct: Option<u8>,
}

struct Builder<'h, 'p, 'a> {
    proc: &'p Process<'a>,
    heap: &'h Heap<'a>,
    reader: Option<TypeReader<'p, 'a>>,
    types_range: (u64, u64),
    bias: u64,
    ptr: u64,
    off: Offsets,
    data: Vec<TypeData>,
    by_addr: HashMap<u64, u32>,
    out: Typing,
    /// Values to walk: address, type, count (see [`WorkStack`]).
    work: WorkStack,
    work_done: u64,
    /// Descriptors by name (built on first need).
    by_name: Option<HashMap<String, u64>>,
    /// The `string data` entry, once made.
    string_data: Option<u32>,
    /// What DWARF says about globals, frames and closures (none without DWARF).
    dw: Option<Rc<DwarfTypes>>,
    /// Closure entries by function entry PC (run time).
    closures: HashMap<u64, u32>,
    /// Descriptors that shape inference considers (built on first need).
    cands: Option<Rc<Vec<Cand>>>,
    /// What fits each object shape (slot size, pointer words).
    fit_memo: HashMap<(u64, Vec<u64>), Rc<FitList>>,
    /// [`Builder::holds_at`] answers.
    holds_memo: HashMap<(u32, u64, u32), bool>,
    /// The runtime-recorded evidence sources' state ([`evidence`]).
    ev: evidence::Evidence,
    /// What the executable's code says ([`code`]), read on first need.
    code: Option<Rc<code::CodeFacts>>,
    /// The core's bytes [`Builder::word`] last read from: (address, bytes borrowed
    /// from the mapped core).
    win: std::cell::Cell<(u64, &'a [u8])>,
    /// Claims [`Builder::visit`] made and [`Builder::flush`] has not applied yet:
    /// (target, type id, elements), in claim order.
    pending: Vec<(u64, u32, u64)>,
    /// [`Builder::flush`]'s lookups of the pending targets (kept for its buffer).
    found: Vec<Option<(crate::heap::Object, u64)>>,
    /// [`Builder::flush`]'s scratch for [`Heap::objects_at`].
    spans: Vec<Option<usize>>,
}

/// Most fields of a struct [`Builder::visit`] copies instead of cloning its shape.
const SMALL_STRUCT: usize = 4;

/// Most claims [`Builder::visit`] keeps pending before [`Builder::flush`].
const CLAIM_BATCH: usize = 256;

/// Bytes of the core [`Builder::word`] borrows at a time (aligned).
const WORD_WINDOW: u64 = 64 << 10;

/// How a reference field constrains its target in shape inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefKind {
    /// A pointer, a slice's or a string's data: the target holds the element type
    /// there.
    Strict,
    /// A channel's `hchan` or a map's header: the value must fit; only a typed target
    /// is checked further.
    Loose,
}

/// Descriptors (link address) and value counts that fit one object shape.
type FitList = Vec<(u64, u64)>;

/// A type descriptor as shape inference sees it.
struct Cand {
    /// Link address.
    link: u64,
    size: u64,
    /// Pointer words of one value (word indexes).
    words: Vec<u64>,
    /// `struct { F uintptr; … }`: a closure context.
    closure: bool,
    /// `struct { F uintptr; R … }`: a method value's context.
    method_value: bool,
}

/// [`Builder`]'s stack of values to walk: (address, type, count), the count a
/// `u32` (counts are capped at `MAX_ELEMS` when walked). Millions of items when a
/// big pointer array's targets are all pushed before the first is walked, so the
/// common one — a single value of one of the first 2^15 types at an address below
/// 2^48 — is packed in 8 bytes; any other goes, in the same order, to a side stack
/// of 16-byte items, marked by a flag word in the main one.
#[derive(Default)]
struct WorkStack {
    items: Vec<u64>,
    wide: Vec<(u64, u32, u32)>,
}

impl WorkStack {
    const ADDR_BITS: u32 = 48;
    const TYPE_BITS: u32 = 15;
    const WIDE: u64 = 1 << 63;

    fn push(&mut self, addr: u64, id: u32, n: u32) {
        if n == 1 && addr >> Self::ADDR_BITS == 0 && id >> Self::TYPE_BITS == 0 {
            self.items.push(addr | u64::from(id) << Self::ADDR_BITS);
        } else {
            self.items.push(Self::WIDE);
            self.wide.push((addr, id, n));
        }
    }

    fn pop(&mut self) -> Option<(u64, u32, u32)> {
        let w = self.items.pop()?;
        if w & Self::WIDE != 0 {
            return self.wide.pop();
        }
        Some((
            w & ((1 << Self::ADDR_BITS) - 1),
            (w >> Self::ADDR_BITS) as u32,
            1,
        ))
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    /// Gives back half the capacity once three quarters of it are unused.
    fn shrink(&mut self) {
        fn half<T>(v: &mut Vec<T>) {
            let cap = v.capacity();
            if cap > WORK_KEEP && v.len() < cap / 4 {
                v.shrink_to(cap / 2);
            }
        }
        half(&mut self.items);
        half(&mut self.wide);
    }

    /// Frees a big, drained stack.
    fn release(&mut self) {
        if self.items.capacity() > WORK_KEEP || self.wide.capacity() > WORK_KEEP {
            *self = WorkStack::default();
        }
    }
}

impl Typing {
    /// Types the heap's objects from headers, DWARF-typed globals and propagation.
    /// Errors only when the type descriptors cannot be read at all; missing DWARF and
    /// unreadable values become [`Typing::warnings`].
    pub fn compute(proc: &Process<'_>, heap: &Heap<'_>) -> crate::Result<Typing> {
        let n = usize::try_from(heap.object_count()).unwrap_or(0);
        let md = proc.binary().moduledata()?;
        let reader = proc.binary().type_reader(&md)?;
        let l = proc.layouts();
        let ptr = proc.ptr_size();
        let o = |ty: &str, f: &str, d: u64| l.offset(ty, f).unwrap_or(d);
        let table_groups = o("internal/runtime/maps.table", "groups", 16);
        let off = Offsets {
            itab_type: l
                .offset("internal/abi.ITab", "Type")
                .or_else(|_| l.offset("runtime.itab", "_type"))
                .unwrap_or(ptr),
            classic: l.size("runtime.hmap").is_ok(),
            hmap_b: o("runtime.hmap", "B", 9),
            hmap_buckets: o("runtime.hmap", "buckets", 16),
            hmap_oldbuckets: o("runtime.hmap", "oldbuckets", 24),
            min_tophash: l.constant_u64("runtime.minTopHash").map_or(5, |v| v as u8),
            map_dirptr: o("internal/runtime/maps.Map", "dirPtr", 16),
            map_dirlen: o("internal/runtime/maps.Map", "dirLen", 24),
            table_groups,
            groups_data: o("internal/runtime/maps.groupsReference", "data", 0),
            groups_mask: o("internal/runtime/maps.groupsReference", "lengthMask", ptr),
            chan_buf: o("runtime.hchan", "buf", 2 * ptr),
            chan_dataqsiz: o("runtime.hchan", "dataqsiz", ptr),
            tflag_direct: l
                .constant_u64("internal/abi.TFlagDirectIface")
                .ok()
                .map(|v| v as u8),
            kind_direct: l
                .constant_u64("internal/abi.KindDirectIface")
                .ok()
                .map(|v| v as u8),
        };
        let mut b = Builder {
            proc,
            heap,
            reader: Some(reader),
            types_range: md.types_range(),
            bias: proc.load_bias(),
            ptr,
            off,
            data: Vec::new(),
            by_addr: HashMap::new(),
            out: Typing {
                types: Vec::new(),
                rec: vec![Rec::default(); n],
                wide: HashMap::new(),
                globals: 0,
                frame_slots: 0,
                warnings: Vec::new(),
                chunk_ty: None,
                arena: HashMap::new(),
            },
            work: WorkStack::default(),
            work_done: 0,
            by_name: None,
            string_data: None,
            dw: None,
            closures: HashMap::new(),
            cands: None,
            fit_memo: HashMap::new(),
            holds_memo: HashMap::new(),
            ev: evidence::Evidence::default(),
            code: None,
            win: std::cell::Cell::new((0, &[])),
            pending: Vec::new(),
            found: Vec::new(),
            spans: Vec::new(),
        };
        let timing = std::env::var_os("GOCORE_TIMING").is_some();
        let t0 = std::time::Instant::now();
        heap.counters().start(crate::Stage::Typing, n as u64);
        b.arena_chunks();
        b.headers();
        b.globals();
        if timing {
            eprintln!("typing: sources {:.3?} work {}", t0.elapsed(), b.work.len());
        }
        b.run();
        if timing {
            eprintln!(
                "typing: propagation {:.3?} items {}",
                t0.elapsed(),
                b.work_done
            );
        }
        for _ in 0..MAX_INFER_ROUNDS {
            // What the runtime recorded (interfaces, channels, finalizers), then
            // shape inference; each followed by propagation.
            let found = b.evidence();
            if found {
                b.run();
            }
            if !b.infer() {
                if found {
                    continue;
                }
                break;
            }
            if timing {
                eprintln!(
                    "typing: inference {:.3?} work {}",
                    t0.elapsed(),
                    b.work.len()
                );
            }
            b.run();
            if timing {
                eprintln!(
                    "typing: propagation {:.3?} items {}",
                    t0.elapsed(),
                    b.work_done
                );
            }
        }
        let mut out = b.out;
        out.types = b.data.into_iter().map(|d| d.entry).collect();
        heap.counters().finish(crate::Stage::Typing);
        Ok(out)
    }

    /// Every type that was seen, indexed by [`TypeId`].
    pub fn types(&self) -> &[TypeEntry] {
        &self.types
    }

    /// A type by id.
    pub fn type_entry(&self, id: TypeId) -> Option<&TypeEntry> {
        self.types.get(id.0 as usize)
    }

    /// The type of an object, if it has one.
    #[inline]
    pub fn object_type(&self, id: ObjId) -> Option<ObjType> {
        let r = *self.rec.get(id.index())?;
        if r.ty() == 0 {
            return None;
        }
        let (offset, elems) = self.place(id.index(), r);
        Some(ObjType {
            ty: TypeId(r.ty() - 1),
            offset: u64::from(offset),
            elems: u64::from(elems),
            source: TypeSource::from_code(r.src()),
        })
    }

    /// Offset and element count of object `i`'s record `r`.
    #[inline]
    fn place(&self, i: usize, r: Rec) -> (u32, u32) {
        if r.is_wide() {
            u32::try_from(i)
                .ok()
                .and_then(|i| self.wide.get(&i).copied())
                .unwrap_or((0, 0))
        } else {
            (0, r.place())
        }
    }

    /// The display name of an object's type (`[N]T` for N values), if typed.
    pub fn object_type_name(&self, id: ObjId) -> Option<String> {
        let t = self.object_type(id)?;
        let e = self.type_entry(t.ty)?;
        Some(if t.elems > 1 && e.kind == EntryKind::Descriptor {
            format!("[{}]{}", t.elems, e.name)
        } else {
            e.name.clone()
        })
    }

    /// Global variables used as typed sources.
    pub fn typed_globals(&self) -> u64 {
        self.globals
    }

    /// Goroutine frame slots used as typed sources.
    pub fn typed_frame_slots(&self) -> u64 {
        self.frame_slots
    }

    /// Objects with a type.
    pub fn typed_count(&self) -> u64 {
        self.rec.iter().filter(|r| r.ty() != 0).count() as u64
    }

    /// Objects (for which `keep` is true, e.g. the live ones) and their bytes by type
    /// name, most bytes first, then by name.
    pub fn histogram(&self, heap: &Heap<'_>, keep: impl Fn(ObjId) -> bool) -> Vec<TypeCount> {
        let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for obj in heap.objects() {
            if !keep(obj.id) {
                continue;
            }
            let name = self
                .object_type_name(obj.id)
                .unwrap_or_else(|| "(untyped)".into());
            let e = m.entry(name).or_default();
            e.0 += 1;
            e.1 += obj.size;
        }
        let mut v: Vec<TypeCount> = m
            .into_iter()
            .map(|(name, (count, bytes))| TypeCount { name, count, bytes })
            .collect();
        v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
        v
    }

    /// The typed figure over the objects for which `keep` is true (e.g. the live
    /// ones). `roots` name what reaches an untyped object first; pass the same root
    /// slots the reachability was computed from. See [`Coverage`].
    pub fn coverage<'r>(
        &self,
        heap: &Heap<'_>,
        roots: impl IntoIterator<Item = &'r crate::Root>,
        keep: impl Fn(ObjId) -> bool,
    ) -> Coverage {
        let roots: Vec<&crate::Root> = roots.into_iter().collect();
        let mut c = Coverage::default();
        // User arena chunks counted, in id order.
        let mut chunks: Vec<ObjId> = Vec::new();
        let mut src: BTreeMap<TypeSource, (u64, u64)> = BTreeMap::new();
        let mut by_size: HashMap<String, (u64, u64)> = HashMap::new();
        // Untyped kept objects → referrer key (first one found: roots, then typed
        // objects, then untyped ones).
        let mut referrer: HashMap<ObjId, String> = HashMap::new();
        for obj in heap.objects() {
            if !keep(obj.id) {
                continue;
            }
            c.objects += 1;
            if let Some(t) = self
                .object_type(obj.id)
                .filter(|t| Some(t.ty.0) == self.chunk_ty)
            {
                // A user arena chunk: typed (the runtime says what it is), and counted
                // by the bytes of its typed values; see [`Coverage::arena_free_bytes`]
                // and [`Coverage::arena_untyped_bytes`] for the rest.
                let (typed, free) = self.chunk_bytes(heap, &obj);
                chunks.push(obj.id);
                c.bytes += typed;
                c.typed_objects += 1;
                c.typed_bytes += typed;
                src.entry(t.source).or_default().0 += 1;
                if typed > 0 {
                    src.entry(TypeSource::Propagated).or_default().1 += typed;
                }
                c.arena_free_bytes += free;
                c.arena_untyped_bytes += obj.size.saturating_sub(free).saturating_sub(typed);
                continue;
            }
            c.bytes += obj.size;
            if let Some(t) = self.object_type(obj.id) {
                c.typed_objects += 1;
                c.typed_bytes += obj.size;
                let e = src.entry(t.source).or_default();
                e.0 += 1;
                e.1 += obj.size;
                continue;
            }
            let span = heap.span(&obj);
            let key = if span.size_class() == 0 {
                "large".to_string()
            } else {
                (obj.size + (obj.addr - obj.slot)).to_string()
            };
            let e = by_size.entry(key).or_default();
            e.0 += 1;
            e.1 += obj.size;
            referrer.insert(obj.id, String::new());
        }
        c.by_source = src.into_iter().map(|(s, (n, b))| (s, n, b)).collect();
        c.untyped_by_size = groups(by_size);
        if !chunks.is_empty() {
            c.arena_untyped_targets = self.arena_untyped_targets(heap, &roots, &keep, &chunks);
        }
        if referrer.is_empty() {
            return c;
        }
        // Untyped objects that a typed object or a root could still name (rank
        // above 1): when none is left, no later referrer can change a key (a key
        // changes only for a lower rank).
        let mut open = referrer.len();
        let mut note = |target: u64,
                        key: &dyn Fn() -> String,
                        rank: u8,
                        ranks: &mut HashMap<ObjId, u8>,
                        open: &mut usize| {
            let Some((id, _)) = heap.find_object(target) else {
                return;
            };
            let Some(slot) = referrer.get_mut(&id) else {
                return;
            };
            let r = ranks.entry(id).or_insert(u8::MAX);
            if rank < *r {
                if *r > 1 && rank <= 1 {
                    *open -= 1;
                }
                *r = rank;
                *slot = key();
            }
        };
        let mut ranks: HashMap<ObjId, u8> = HashMap::new();
        for r in roots {
            let key = || match &r.kind {
                crate::RootKind::Global {
                    symbol: Some(s), ..
                } => format!("global {s}"),
                crate::RootKind::Frame { function, .. }
                | crate::RootKind::StackObject { function, .. } => {
                    format!("{} {function}", r.kind.name())
                }
                k => k.name().to_string(),
            };
            note(r.target, &key, 0, &mut ranks, &mut open);
        }
        for obj in heap.objects() {
            if open == 0 {
                break;
            }
            if !keep(obj.id) {
                continue;
            }
            // The name is made only for a pointer to an untyped object.
            let typed = self
                .object_type(obj.id)
                .and_then(|t| self.type_entry(t.ty))
                .is_some();
            let rank = if typed { 1 } else { 2 };
            let key = || match self.object_type_name(obj.id) {
                Some(n) => format!("object {n}"),
                None => "untyped object".to_string(),
            };
            // Up to an unreadable word, as `Heap::pointers` stops there.
            let _ = heap.scan_pointers_in(&obj, 0..u64::MAX, |_, target| {
                note(target, &key, rank, &mut ranks, &mut open);
            });
        }
        let mut by_ref: HashMap<String, (u64, u64)> = HashMap::new();
        for (id, key) in referrer {
            let size = heap.object(id).map_or(0, |o| o.size);
            let key = if key.is_empty() {
                "unreferenced".to_string()
            } else {
                key
            };
            let e = by_ref.entry(key).or_default();
            e.0 += 1;
            e.1 += size;
        }
        c.untyped_by_referrer = groups(by_ref);
        c
    }

    /// Problems met (no DWARF, unreadable descriptors or values).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The values typed inside a user arena chunk (an object typed
    /// [`EntryKind::UserArenaChunk`]) in offset order: `elems` values of `ty` from
    /// `offset`, propagated along typed pointers into the chunk. Empty for other
    /// objects and for values no typed pointer reaches.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// let typing = gocore::Typing::compute(&proc, &heap)?;
    /// for obj in heap.objects() {
    ///     for v in typing.arena_values(obj.id) {
    ///         let name = &typing.type_entry(v.ty).unwrap().name;
    ///         println!("{:#x}: {} x{}", obj.addr + v.offset, name, v.elems);
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn arena_values(&self, id: ObjId) -> impl Iterator<Item = ObjType> + '_ {
        u32::try_from(id.index())
            .ok()
            .and_then(|i| self.arena.get(&i))
            .into_iter()
            .flat_map(|m| {
                m.iter().map(|(&offset, &(ty, elems))| ObjType {
                    ty: TypeId(ty),
                    offset,
                    elems,
                    source: TypeSource::Propagated,
                })
            })
    }

    /// [`Coverage::arena_untyped_targets`] of the counted `chunks` (in id order).
    fn arena_untyped_targets(
        &self,
        heap: &Heap<'_>,
        roots: &[&crate::Root],
        keep: &dyn Fn(ObjId) -> bool,
        chunks: &[ObjId],
    ) -> u64 {
        let mut seen: HashSet<u64> = HashSet::new();
        let mut check = |t: u64| {
            if t == 0 {
                return;
            }
            // A pointer to a chunk's base is the runtime's reference to the chunk
            // (`userArena.refs`, the reuse list's `liveUserArenaChunk.x`), not
            // counted as one to a value there.
            let Some((obj, off)) = heap.object_at(t).filter(|&(_, off)| off > 0) else {
                return;
            };
            if chunks.binary_search(&obj.id).is_err() {
                return;
            }
            if let Some((fs, fe)) = heap.span(&obj).user_arena_free {
                if t >= fs && t < fe {
                    return;
                }
            }
            let typed = u32::try_from(obj.id.index())
                .ok()
                .and_then(|i| self.arena.get(&i))
                .and_then(|m| m.range(..=off).next_back())
                .is_some_and(|(&o, &(ty, n))| {
                    let size = self.type_entry(TypeId(ty)).map_or(0, |e| e.size);
                    off < o.saturating_add(size.saturating_mul(n))
                });
            if !typed {
                seen.insert(t);
            }
        };
        for r in roots {
            check(r.target);
        }
        for obj in heap.objects() {
            if !keep(obj.id) {
                continue;
            }
            for p in heap.pointers(&obj) {
                let Ok(p) = p else { break };
                check(p.target);
            }
        }
        seen.len() as u64
    }

    /// A user arena chunk's bytes in typed values (their union, in the allocated
    /// part) and its not yet allocated middle.
    fn chunk_bytes(&self, heap: &Heap<'_>, obj: &crate::heap::Object) -> (u64, u64) {
        let end = obj.addr.saturating_add(obj.size);
        let free = match heap.span(obj).user_arena_free {
            Some((fs, fe)) => fe.min(end).saturating_sub(fs.max(obj.addr)),
            None => 0,
        };
        let (mut typed, mut reach) = (0u64, 0u64);
        for v in self.arena_values(obj.id) {
            let size = self.type_entry(v.ty).map_or(0, |e| e.size);
            let vend = v
                .offset
                .saturating_add(size.saturating_mul(v.elems))
                .min(obj.size);
            let start = v.offset.max(reach);
            if vend > start {
                typed += vend - start;
                reach = vend;
            }
        }
        (typed.min(obj.size.saturating_sub(free)), free)
    }
}

impl Builder<'_, '_, '_> {
    fn warn(&mut self, w: String) {
        if self.out.warnings.len() < 100 {
            self.out.warnings.push(w);
        }
    }

    fn word(&self, addr: u64) -> Option<u64> {
        let core = self.proc.core();
        if self.ptr == 4 {
            return core.read_u32(addr).ok().map(u64::from);
        }
        // From the last window borrowed from the core (every supported target is
        // little-endian), else a new one; `read_u64` where none can be borrowed.
        let at = |(start, bytes): (u64, &[u8])| {
            let i = usize::try_from(addr.wrapping_sub(start)).ok()?;
            let b = bytes.get(i..i.checked_add(8)?)?;
            Some(u64::from_le_bytes(<[u8; 8]>::try_from(b).ok()?))
        };
        if let Some(v) = at(self.win.get()) {
            return Some(v);
        }
        let start = addr & !(WORD_WINDOW - 1);
        if let Ok(Cow::Borrowed(b)) = core.read(start, WORD_WINDOW as usize) {
            self.win.set((start, b));
            if let Some(v) = at((start, b)) {
                return Some(v);
            }
        }
        core.read_u64(addr).ok()
    }

    /// The type id for a run-time descriptor address.
    fn intern(&mut self, addr: u64) -> Option<u32> {
        if addr == 0 {
            return None;
        }
        if let Some(&id) = self.by_addr.get(&addr) {
            return Some(id);
        }
        let link = addr.wrapping_sub(self.bias);
        let id = u32::try_from(self.data.len()).ok()?;
        // Insert first so that recursive types terminate.
        self.by_addr.insert(addr, id);
        let in_exe = link >= self.types_range.0 && link < self.types_range.1;
        let desc = match (&self.reader, in_exe) {
            (Some(r), true) => r.type_at(link).ok(),
            _ => None,
        };
        let Some(desc) = desc else {
            // Built at run time: name it, do not walk it.
            let size = self.word(addr).unwrap_or(0);
            self.data.push(TypeData {
                entry: TypeEntry {
                    addr,
                    name: format!("type@{addr:#x}"),
                    size,
                    kind: EntryKind::Descriptor,
                },
                direct_iface: false,
                shape: Rc::new(Shape::Inert),
            });
            return Some(id);
        };
        let direct_iface = match self.off.tflag_direct {
            Some(f) => desc.tflag & f != 0,
            None => self.off.kind_direct.is_some_and(|k| desc.raw_kind & k != 0),
        };
        self.data.push(TypeData {
            entry: TypeEntry {
                addr,
                name: desc.name.clone(),
                size: desc.size,
                kind: EntryKind::Descriptor,
            },
            direct_iface,
            shape: Rc::new(Shape::Inert),
        });
        let shape = if desc.ptr_bytes == 0 {
            Shape::Inert
        } else {
            self.shape(&desc)
        };
        if let Some(d) = self.data.get_mut(id as usize) {
            d.shape = Rc::new(shape);
        }
        // A bucket or group type met on its own (a header-typed bucket array of a map
        // whose map type was never seen) is walked slot by slot, with its overflow
        // chain, as when it is reached through its map.
        if desc.name.starts_with("map.bucket[") || desc.name.starts_with("map.group[") {
            self.mark_map_group(id);
        }
        Some(id)
    }

    fn link_to_id(&mut self, link: Option<u64>) -> Option<u32> {
        let link = link?;
        self.intern(link.wrapping_add(self.bias))
    }

    fn shape(&mut self, desc: &gobinary::TypeDesc) -> Shape {
        let Some(r) = self.reader.as_ref() else {
            return Shape::Inert;
        };
        // A generic shape (`go.shape.*uint8` stands for every pointer type) names no
        // type: values of it, and fields of it in closure structs, are not followed.
        if desc.kind != Kind::Struct && desc.name.contains("go.shape.") {
            return Shape::Inert;
        }
        let elem = r.elem(desc).ok().flatten();
        match desc.kind {
            Kind::Pointer => self.link_to_id(elem).map_or(Shape::Inert, Shape::Ptr),
            Kind::Slice => self.link_to_id(elem).map_or(Shape::Inert, Shape::Slice),
            Kind::Chan => self.link_to_id(elem).map_or(Shape::Inert, Shape::Chan),
            Kind::Interface => {
                let methods = r.interface_methods(desc).map(|m| m.len()).unwrap_or(0);
                if methods == 0 {
                    Shape::Eface
                } else {
                    Shape::Iface
                }
            }
            Kind::Func => Shape::Func,
            Kind::String => Shape::Str,
            Kind::Map => {
                let group = r.map_group(desc).ok().flatten();
                match self.link_to_id(group) {
                    Some(g) => {
                        self.mark_map_group(g);
                        Shape::Map(g)
                    }
                    None => Shape::Inert,
                }
            }
            Kind::Array => {
                let len = r.array_len(desc).ok().flatten().unwrap_or(0);
                match self.link_to_id(elem) {
                    Some(e) => {
                        let stride = self.size_of(e);
                        if stride == 0 || len == 0 {
                            Shape::Inert
                        } else {
                            Shape::Array {
                                elem: e,
                                len: len.min(MAX_ELEMS),
                                stride,
                            }
                        }
                    }
                    None => Shape::Inert,
                }
            }
            Kind::Struct => {
                let fields = r.fields(desc).unwrap_or_default();
                let atomic_ptr = desc.name.starts_with("atomic.Pointer[");
                let mut out = Vec::new();
                let mut pointee = None;
                for f in &fields {
                    let t = r.type_at(f.typ).ok();
                    if atomic_ptr {
                        // `_ [0]*T` names T; `v unsafe.Pointer` holds the *T.
                        if let Some(t) = &t {
                            if t.kind == Kind::Array {
                                pointee = r.elem(t).ok().flatten();
                            } else if t.kind == Kind::UnsafePointer {
                                if let Some(p) = pointee {
                                    out.push((f.offset, p));
                                }
                            }
                        }
                        continue;
                    }
                    if t.is_some_and(|t| t.ptr_bytes > 0 && !t.name.contains("go.shape.")) {
                        out.push((f.offset, f.typ));
                    }
                }
                let mut v = Vec::new();
                for (off, link) in out {
                    if let Some(id) = self.link_to_id(Some(link)) {
                        v.push((off, id));
                    }
                }
                Shape::Struct(v)
            }
            _ => Shape::Inert,
        }
    }

    /// Reshapes a map's bucket or group type for slot-aware walking.
    fn mark_map_group(&mut self, g: u32) {
        let Some(d) = self.data.get(g as usize) else {
            return;
        };
        let Some(r) = self.reader.as_ref() else {
            return;
        };
        let Some(desc) = r.type_at(d.entry.addr.wrapping_sub(self.bias)).ok() else {
            return;
        };
        if desc.ptr_bytes == 0 {
            return;
        }
        let named: Vec<(String, u64, u64)> = r
            .fields(&desc)
            .unwrap_or_default()
            .into_iter()
            .map(|f| (f.name, f.offset, f.typ))
            .collect();
        let find = |n: &[&str]| named.iter().find(|f| n.contains(&f.0.as_str())).cloned();
        // Array field → (offset, element type id, stride).
        let arr = |b: &mut Self, f: Option<(String, u64, u64)>| -> Option<(u64, u32, u64)> {
            let (_, off, link) = f?;
            let r = b.reader.as_ref()?;
            let t = r.type_at(link).ok()?;
            let e = r.elem(&t).ok().flatten()?;
            let id = b.link_to_id(Some(e))?;
            Some((off, id, b.size_of(id)))
        };
        let shape = if self.off.classic {
            let keys = arr(self, find(&["keys"]));
            let elems = arr(self, find(&["elems", "values"]));
            let overflow = find(&["overflow"]).map(|f| f.1);
            match (keys, elems, overflow) {
                (Some(keys), Some(elems), Some(overflow)) => Shape::Bucket {
                    keys,
                    elems,
                    overflow,
                },
                _ => return,
            }
        } else {
            match arr(self, find(&["slots"])) {
                Some((slots, slot, stride)) => Shape::Group {
                    slots,
                    slot,
                    stride,
                },
                None => return,
            }
        };
        if let Some(d) = self.data.get_mut(g as usize) {
            d.shape = Rc::new(shape);
        }
    }

    fn size_of(&self, id: u32) -> u64 {
        self.data.get(id as usize).map_or(0, |d| d.entry.size)
    }

    /// Types every user arena chunk as the `user arena chunk` entry (from the span:
    /// [`TypeSource::Header`]); claims into a chunk type its values instead
    /// ([`Builder::claim_in_chunk`]).
    fn arena_chunks(&mut self) {
        let bases: Vec<u64> = self
            .heap
            .spans()
            .iter()
            .filter(|s| s.user_arena)
            .map(|s| s.base)
            .collect();
        for base in bases {
            // A quarantined chunk holds no object.
            let Some((oid, 0)) = self.heap.find_object(base) else {
                continue;
            };
            let id = match self.out.chunk_ty {
                Some(id) => id,
                None => {
                    let id = u32::try_from(self.data.len()).unwrap_or(u32::MAX);
                    self.data.push(TypeData {
                        entry: TypeEntry {
                            addr: 0,
                            name: "user arena chunk".into(),
                            size: 0,
                            kind: EntryKind::UserArenaChunk,
                        },
                        direct_iface: false,
                        shape: Rc::new(Shape::Inert),
                    });
                    self.out.chunk_ty = Some(id);
                    id
                }
            };
            self.write(oid.index(), id, 0, 1, TypeSource::Header);
        }
    }

    /// A typed pointer to `n` values of `id` (`size` bytes each) at `off` in user
    /// arena chunk `obj`: a value of the chunk, unless it lies in the chunk's not yet
    /// allocated middle (a stale pointer) or inside a value already typed there that
    /// holds it (walked already); at the offset of a value with as many bytes or
    /// more, the first claim is kept (as for objects).
    fn claim_in_chunk(&mut self, obj: &crate::heap::Object, off: u64, id: u32, size: u64, n: u64) {
        let target = obj.addr.saturating_add(off);
        let mut end = obj.addr.saturating_add(obj.size);
        if let Some((fs, fe)) = self.heap.span(obj).user_arena_free {
            if target >= fs && target < fe {
                return;
            }
            if target < fs {
                end = end.min(fs);
            }
        }
        if target.saturating_add(size) > end {
            return;
        }
        let n = n.min((end - target) / size).max(1);
        let bytes = size.saturating_mul(n);
        let Ok(key) = u32::try_from(obj.id.index()) else {
            return;
        };
        let prev = self
            .out
            .arena
            .get(&key)
            .and_then(|m| m.range(..=off).next_back())
            .map(|(&o, &v)| (o, v));
        if let Some((o, (t, k))) = prev {
            let tsz = self.size_of(t).max(1);
            let tbytes = tsz.saturating_mul(k);
            if off.saturating_add(bytes) <= o.saturating_add(tbytes)
                && self.holds_at(t, (off - o) % tsz, id, 0)
            {
                return;
            }
            if o == off && bytes <= tbytes {
                return;
            }
        }
        self.out.arena.entry(key).or_default().insert(off, (id, n));
        self.push_work(target, id, n);
    }

    fn headers(&mut self) {
        let heap = self.heap;
        for (obj, t) in heap.typed_objects() {
            let Some(id) = self.intern(t.addr) else {
                continue;
            };
            let size = self.size_of(id).max(1);
            let n = (obj.size / size).max(1);
            let i = obj.id.index();
            if self.write(i, id, 0, n, TypeSource::Header) {
                self.push_work(obj.addr, id, n);
            }
        }
    }

    fn globals(&mut self) {
        let dw = match dwarf_types(self.proc.binary().data()) {
            Ok(v) => v,
            Err(e) => {
                self.warn(format!("typed globals: {e}"));
                return;
            }
        };
        for (addr, gt) in &dw.globals {
            if self.source(addr.wrapping_add(self.bias), *gt) {
                self.out.globals += 1;
            }
        }
        self.stacks(&dw);
        self.dw = Some(Rc::new(dw));
    }

    /// Frame slots typed from the DWARF of each goroutine frame's function, where
    /// the frame holds a live pointer at its PC: a value is typed only if one of
    /// its words is a stack root (the GC's stack maps, stack objects reached,
    /// conservatively scanned frames). A variable's DWARF location often covers
    /// its whole function, so before it is set, or after its last use, its slot
    /// holds what an earlier call at that depth left there (a stale pointer to an
    /// arena value once typed zoo's `main.ArenaItem`s `runtime.sudog`).
    fn stacks(&mut self, dw: &DwarfTypes) {
        let only_stacks = crate::RootOptions {
            globals: false,
            stacks: true,
            specials: false,
            queues: false,
        };
        let mut live: Vec<u64> =
            match crate::RootSet::collect_with(self.proc, self.heap, &only_stacks) {
                Ok(r) => r
                    .roots()
                    .filter(|r| r.kind.is_stack() && r.slot != 0)
                    .map(|r| r.slot)
                    .collect(),
                Err(e) => {
                    self.warn(format!("typed frame slots: stack roots: {e}"));
                    return;
                }
            };
        live.sort_unstable();
        live.dedup();
        let Ok(gs) = self.proc.goroutines() else {
            return;
        };
        let gs: Vec<_> = gs.filter_map(|g| g.ok()).collect();
        let mut pieces = Vec::new();
        for g in gs {
            for f in g.frames(self.proc) {
                let Ok(f) = f else { break };
                if f.inlined {
                    continue;
                }
                let pc = if f.trap { f.pc } else { f.pc.wrapping_sub(1) };
                let link = pc.wrapping_sub(self.bias);
                let i = dw.subs.partition_point(|s| s.lo <= link);
                let Some(sub) = i.checked_sub(1).and_then(|i| dw.subs.get(i)) else {
                    continue;
                };
                if link >= sub.hi {
                    continue;
                }
                for &(lo, hi, off, ty) in &sub.vars {
                    if link >= lo && link < hi {
                        let slot = f.fp.wrapping_add(off as u64);
                        dw.index.resolve(ty, slot, 0, &mut pieces);
                    }
                }
            }
        }
        for (addr, gt) in pieces {
            let len = match gt {
                GlobalType::Runtime(_) => match self.source_type(gt) {
                    Some(id) => self.size_of(id),
                    None => continue,
                },
                GlobalType::PtrTo(_) | GlobalType::SliceOf(_) => self.ptr,
            };
            let i = live.partition_point(|&s| s < addr);
            if live.get(i).is_none_or(|&s| s >= addr.saturating_add(len)) {
                continue;
            }
            if self.source(addr, gt) {
                self.out.frame_slots += 1;
            }
        }
    }

    /// The interned descriptor a typed source names (its value's type, or the
    /// element type of its pointer or slice).
    fn source_type(&mut self, gt: GlobalType) -> Option<u32> {
        let (t0, t1) = self.types_range;
        let (GlobalType::Runtime(rt) | GlobalType::PtrTo(rt) | GlobalType::SliceOf(rt)) = gt;
        // DW_AT_go_runtime_type: an offset from the start of the type section
        // (or, if it falls inside the section, the descriptor's link address).
        let link = if rt >= t0 && rt < t1 {
            rt
        } else {
            t0.wrapping_add(rt)
        };
        self.intern(link.wrapping_add(self.bias))
    }

    /// A typed source at run-time address `addr`; whether it was used.
    fn source(&mut self, addr: u64, gt: GlobalType) -> bool {
        let Some(id) = self.source_type(gt) else {
            return false;
        };
        match gt {
            GlobalType::Runtime(_) => {
                if matches!(*self.shape_of(id), Shape::Inert) {
                    return false;
                }
                self.push_work(addr, id, 1);
            }
            GlobalType::PtrTo(_) => {
                if let Some(v) = self.word(addr) {
                    self.claim(v, id, 1);
                }
            }
            GlobalType::SliceOf(_) => {
                if let (Some(d), Some(c)) = (self.word(addr), self.word(addr + 2 * self.ptr)) {
                    self.claim(d, id, c);
                }
            }
        }
        true
    }

    fn shape_of(&self, id: u32) -> Rc<Shape> {
        self.data
            .get(id as usize)
            .map_or_else(|| Rc::new(Shape::Inert), |d| d.shape.clone())
    }

    /// Whether values of type `id` hold nothing that [`Builder::walk`] follows.
    fn inert(&self, id: u32) -> bool {
        self.data
            .get(id as usize)
            .is_none_or(|d| matches!(*d.shape, Shape::Inert))
    }

    /// Queues `n` values of `id` at `addr` to be walked — or only counts them as
    /// walked when there is nothing to follow in them, for good (string data, say:
    /// a slice of a million strings would otherwise stack a million items at once,
    /// each to be dropped by [`Builder::run`]). A descriptor's shape and size are
    /// final once interned (a map's group type is shaped there, by its name); only
    /// a closure's can change later, when a context names its captured variables.
    fn push_work(&mut self, addr: u64, id: u32, n: u64) {
        let settled = self.data.get(id as usize).is_some_and(|d| {
            matches!(d.entry.kind, EntryKind::Descriptor | EntryKind::StringData)
                && (d.entry.size == 0 || matches!(*d.shape, Shape::Inert))
        });
        if settled {
            self.count_work();
            return;
        }
        let n = u32::try_from(n.min(MAX_ELEMS)).unwrap_or(u32::MAX);
        self.work.push(addr, id, n);
    }

    /// Counts one work item (for the progress bar and [`MAX_WORK`]); true at
    /// every [`crate::progress::STEP`]th.
    fn count_work(&mut self) -> bool {
        self.work_done += 1;
        let step = self.work_done % crate::progress::STEP == 0;
        if step {
            self.heap
                .counters()
                .add(crate::Stage::Typing, crate::progress::STEP);
        }
        step
    }

    fn run(&mut self) {
        // Depth first (see the module docs): a chain stays in cache.
        while let Some((addr, id, n)) = self.work.pop() {
            let n = u64::from(n);
            if self.count_work() {
                // Give back what the stack no longer needs as it drains (the
                // object graph and dominator tree are built beside typing).
                self.work.shrink();
            }
            if self.work_done > MAX_WORK {
                self.warn(format!("stopped after {MAX_WORK} work items"));
                return;
            }
            let stride = self.size_of(id);
            // (`push_work` stacks only values with something to follow.)
            if stride == 0 || self.inert(id) {
                continue;
            }
            for i in 0..n.min(MAX_ELEMS) {
                self.visit(addr.wrapping_add(i.wrapping_mul(stride)), id, 0);
            }
            self.flush();
        }
        self.work.release();
    }

    /// Walks one value of type `id` at `addr` and applies its claims.
    fn walk(&mut self, addr: u64, id: u32, depth: u32) {
        self.visit(addr, id, depth);
        self.flush();
    }

    /// Walks one value of type `id` at `addr`; its claims are applied by the next
    /// [`Builder::flush`] (in the same order), which runs before anything here reads
    /// or writes what claims change (the typing records, the work stack).
    fn visit(&mut self, addr: u64, id: u32, depth: u32) {
        if depth > MAX_DEPTH {
            return;
        }
        // The common shapes without cloning the shape (a pointer; a struct of a
        // few fields, copied first as the clone below would keep them).
        let Some(d) = self.data.get(id as usize) else {
            return;
        };
        match *d.shape {
            Shape::Inert => return,
            Shape::Ptr(e) => {
                if let Some(v) = self.word(addr) {
                    self.claim_later(v, e, 1);
                }
                return;
            }
            Shape::Struct(ref fields) if fields.len() <= SMALL_STRUCT => {
                let mut copy = [(0u64, 0u32); SMALL_STRUCT];
                let copy = &mut copy[..fields.len()];
                copy.copy_from_slice(fields);
                for &(off, f) in &*copy {
                    self.visit(addr + off, f, depth + 1);
                }
                return;
            }
            _ => {}
        }
        let shape = self.shape_of(id);
        let p = self.ptr;
        match &*shape {
            Shape::Inert => {}
            Shape::Ptr(e) => {
                if let Some(v) = self.word(addr) {
                    self.claim_later(v, *e, 1);
                }
            }
            Shape::Slice(e) => {
                if let (Some(data), Some(cap)) = (self.word(addr), self.word(addr + 2 * p)) {
                    self.claim_later(data, *e, cap);
                }
            }
            Shape::Eface | Shape::Iface => {
                let (Some(t), Some(data)) = (self.word(addr), self.word(addr + p)) else {
                    return;
                };
                if t == 0 {
                    return;
                }
                let t = if matches!(*shape, Shape::Iface) {
                    match self.word(t + self.off.itab_type) {
                        Some(t) if t != 0 => t,
                        _ => return,
                    }
                } else {
                    t
                };
                let Some(dy) = self.intern(t) else { return };
                if self.data.get(dy as usize).is_some_and(|d| d.direct_iface) {
                    self.visit(addr + p, dy, depth + 1);
                } else {
                    self.claim_later(data, dy, 1);
                }
            }
            Shape::Str => {
                if let (Some(data), Some(len)) = (self.word(addr), self.word(addr + p)) {
                    if data != 0 && len != 0 {
                        let sd = self.string_data();
                        self.claim_later(data, sd, len);
                    }
                }
            }
            Shape::Chan(e) => {
                let Some(c) = self.word(addr).filter(|&c| c != 0) else {
                    return;
                };
                if let Some(h) = self.type_named("runtime.hchan") {
                    self.claim_later(c, h, 1);
                }
                if matches!(*self.shape_of(*e), Shape::Inert) {
                    return;
                }
                let buf = self.word(c + self.off.chan_buf).unwrap_or(0);
                let n = self.word(c + self.off.chan_dataqsiz).unwrap_or(0);
                if n > 0 {
                    self.claim_later(buf, *e, n);
                }
            }
            Shape::Func => {
                let Some(f) = self.word(addr).filter(|&f| f != 0) else {
                    return;
                };
                let Some(pc) = self.word(f) else { return };
                let Some(func) = self.proc.func_for_pc(pc) else {
                    return;
                };
                if func.entry.wrapping_add(self.bias) != pc {
                    return;
                }
                let name = func.name;
                if let Some((oid, 0)) = self.heap.find_object(f) {
                    self.flush();
                    self.closure(oid, pc, name.to_string(), None);
                }
                if let Some(recv) = method_value_receiver(name) {
                    if let Some(rid) = self.type_named(&recv) {
                        self.visit(f + p, rid, depth + 1);
                    }
                }
            }
            Shape::Map(g) => {
                let Some(m) = self.word(addr).filter(|&m| m != 0) else {
                    return;
                };
                self.walk_map(m, *g);
            }
            Shape::Array { elem, len, stride } => {
                for i in 0..*len {
                    self.visit(addr + i * stride, *elem, depth + 1);
                }
            }
            Shape::Struct(fields) => {
                for &(off, f) in fields {
                    self.visit(addr + off, f, depth + 1);
                }
            }
            Shape::Bucket {
                keys,
                elems,
                overflow,
            } => {
                let mut b = addr;
                for _ in 0..MAX_CHAIN {
                    // tophash is a byte array: memory order on every target.
                    let mut top = [0u8; 8];
                    match self.proc.core().read(b, 8) {
                        Ok(t) if t.len() == 8 => top.copy_from_slice(&t),
                        _ => return,
                    }
                    for (i, h) in top.into_iter().enumerate() {
                        if h < self.off.min_tophash {
                            continue;
                        }
                        let i = i as u64;
                        self.visit(b + keys.0 + i * keys.2, keys.1, depth + 1);
                        self.visit(b + elems.0 + i * elems.2, elems.1, depth + 1);
                    }
                    match self.word(b + overflow) {
                        Some(o) if o != 0 && o != b => {
                            // An overflow bucket outside this allocation is its own
                            // object of the bucket type.
                            if let Some((oid, 0)) = self.heap.find_object(o) {
                                self.flush();
                                if self.out.rec.get(oid.index()).map(|r| r.ty()) == Some(0) {
                                    self.set(oid, id, 0, 1, false);
                                }
                            }
                            b = o;
                        }
                        _ => return,
                    }
                }
            }
            Shape::Group {
                slots,
                slot,
                stride,
            } => {
                // The control word is read as a target-endian uint64; slot i is its
                // i-th least significant byte on every target (as `ctrlGroup.get`).
                // `word` reads the same little-endian word on 64-bit targets.
                let ctrl = if p == 8 {
                    self.word(addr)
                } else {
                    self.proc.core().read_u64(addr).ok()
                };
                let Some(ctrl) = ctrl else {
                    return;
                };
                for i in 0..8u64 {
                    if (ctrl >> (8 * i)) & 0x80 == 0 {
                        self.visit(addr + slots + i * stride, *slot, depth + 1);
                    }
                }
            }
        }
    }

    fn walk_map(&mut self, m: u64, g: u32) {
        // The map header itself (`runtime.hmap`, or `maps.Map` from Go 1.24).
        let header = if self.off.classic {
            "runtime.hmap"
        } else {
            "maps.Map"
        };
        if let Some(h) = self.type_named(header) {
            self.claim_later(m, h, 1);
        }
        if self.off.classic {
            let b = self
                .proc
                .core()
                .read(m + self.off.hmap_b, 1)
                .ok()
                .and_then(|v| v.first().copied())
                .unwrap_or(0);
            if b > 40 {
                return;
            }
            let n = 1u64 << b;
            if let Some(x) = self.word(m + self.off.hmap_buckets) {
                self.claim_all(x, g, n);
            }
            if b > 0 {
                if let Some(x) = self.word(m + self.off.hmap_oldbuckets) {
                    self.claim_all(x, g, n / 2);
                }
            }
        } else {
            let (Some(dir), Some(len)) = (
                self.word(m + self.off.map_dirptr),
                self.word(m + self.off.map_dirlen),
            ) else {
                return;
            };
            if dir == 0 {
                return;
            }
            if len == 0 {
                self.claim_later(dir, g, 1);
                return;
            }
            // The directory (`[dirLen]*maps.table`) and its tables.
            if let Some(d) = self.type_named("*maps.table") {
                self.claim_later(dir, d, len);
            }
            let table = self.type_named("maps.table");
            let mut seen = HashSet::new();
            for i in 0..len.min(MAX_ELEMS) {
                let Some(t) = self.word(dir + i * self.ptr) else {
                    return;
                };
                if t == 0 || !seen.insert(t) {
                    continue;
                }
                if let Some(tt) = table {
                    self.claim_later(t, tt, 1);
                }
                let gr = t + self.off.table_groups;
                let (Some(data), Some(mask)) = (
                    self.word(gr + self.off.groups_data),
                    self.word(gr + self.off.groups_mask),
                ) else {
                    continue;
                };
                self.claim_later(data, g, mask.saturating_add(1));
            }
        }
    }

    /// Claims a bucket array: the whole allocation (preallocated overflow buckets
    /// follow the 2^B main ones).
    fn claim_all(&mut self, addr: u64, g: u32, n: u64) {
        let size = self.size_of(g).max(1);
        let n = match self.heap.find_object(addr) {
            Some((id, 0)) => self.heap.object(id).map_or(n, |o| (o.size / size).max(n)),
            _ => n,
        };
        self.claim_later(addr, g, n);
    }

    /// `sync.node[K,V]` (the `HashTrieMap` behind `sync.Map`, Go 1.24+) is the
    /// common header of `sync.entry[K,V]` and `sync.indirect[K,V]`; its `isEntry`
    /// byte tells which one a node pointer points to.
    fn trie_node(&mut self, target: u64, id: u32) -> u32 {
        let Some(d) = self.data.get(id as usize) else {
            return id;
        };
        if !d.entry.name.starts_with("sync.node[") {
            return id;
        }
        let args = d.entry.name["sync.node[".len()..].to_string();
        let is_entry = match self.proc.core().read(target, 1) {
            Ok(b) => b.first().copied().unwrap_or(0) != 0,
            Err(_) => return id,
        };
        let want = if is_entry {
            format!("sync.entry[{args}")
        } else {
            format!("sync.indirect[{args}")
        };
        self.type_named(&want).unwrap_or(id)
    }

    /// Types a closure context `oid` of the function at run-time entry `pc`: names it
    /// `FUNC closure` and types its captured variables — from the function's DWARF
    /// closure offsets (Go 1.23+), else from the one closure struct descriptor that
    /// fits the object (and, with DWARF, the function's variable types). `src` is
    /// the source to record (None: [`TypeSource::Closure`]).
    fn closure(&mut self, oid: ObjId, pc: u64, name: String, src: Option<TypeSource>) {
        let i = oid.index();
        let cur_src = self.out.rec.get(i).map_or(0, |r| r.src());
        if cur_src == TypeSource::Header.code() || cur_src == TypeSource::Closure.code() {
            return;
        }
        let Some(obj) = self.heap.object(oid) else {
            return;
        };
        let link = pc.wrapping_sub(self.bias);
        let sub = self.dw.as_ref().and_then(|dw| {
            let k = dw.subs.partition_point(|s| s.lo < link);
            dw.subs
                .get(k)
                .filter(|s| s.lo == link)
                .map(|s| (s.captured.clone(), s.var_types.clone()))
        });
        let (captured, var_types) = sub.unwrap_or_default();
        // A function's closure struct, once matched, is the same for all its contexts.
        let known = self
            .closures
            .get(&pc)
            .and_then(|&id| self.data.get(id as usize))
            .map(|d| d.entry.addr)
            .filter(|&a| a != 0)
            .map(|a| a.wrapping_sub(self.bias));
        let mut desc = known;
        if captured.is_empty() && known.is_none() {
            let method = name.ends_with("-fm");
            let recv = method_value_receiver(&name);
            let want_name = recv
                .as_ref()
                .map(|r| format!("struct {{ F uintptr; R {r} }}"));
            let words = self.pointer_words(&obj);
            let cands = self.cands();
            let mut found: Vec<(u64, u64)> = Vec::new();
            for c in cands.iter() {
                if !c.closure || c.method_value != method {
                    continue;
                }
                if let Some(n) = fits(c, &obj, &words, self.ptr) {
                    let ok = match &want_name {
                        Some(w) => self
                            .reader
                            .as_ref()
                            .and_then(|r| r.type_at(c.link).ok())
                            .is_some_and(|t| &t.name == w),
                        None => var_types.is_empty() || self.fields_match(c.link, &var_types),
                    };
                    let agrees = n == 1
                        && ok
                        && match self.link_to_id(Some(c.link)) {
                            Some(cid) => self.agrees(obj.addr, cid, 1),
                            None => false,
                        };
                    if agrees {
                        found.push((c.link, c.size));
                    }
                }
            }
            if found.len() == 1 {
                desc = found.first().map(|f| f.0);
            }
        }
        let id = match self.closures.get(&pc) {
            Some(&id) => {
                // A later context matched the struct the first one could not.
                if known.is_none() {
                    if let Some(did) = desc.and_then(|d| self.link_to_id(Some(d))) {
                        let (size, shape) = (self.size_of(did), self.shape_of(did));
                        if let Some(e) = self.data.get_mut(id as usize) {
                            e.entry.addr = desc.unwrap_or(0).wrapping_add(self.bias);
                            e.entry.size = size;
                            e.shape = shape;
                        }
                    }
                }
                id
            }
            None => {
                let id = u32::try_from(self.data.len()).unwrap_or(u32::MAX);
                let (addr, size, shape) = match desc.and_then(|d| self.link_to_id(Some(d))) {
                    Some(did) => (
                        desc.unwrap_or(0).wrapping_add(self.bias),
                        self.size_of(did),
                        self.shape_of(did),
                    ),
                    None => (0, obj.size, Rc::new(Shape::Inert)),
                };
                self.data.push(TypeData {
                    entry: TypeEntry {
                        addr,
                        name: format!("{name} closure"),
                        size,
                        kind: EntryKind::Closure { func: pc },
                    },
                    direct_iface: false,
                    shape,
                });
                self.closures.insert(pc, id);
                id
            }
        };
        self.set_from(oid, id, 0, 1, true, src.unwrap_or(TypeSource::Closure));
        if desc.is_none() {
            if let Some(rid) = method_value_receiver(&name).and_then(|r| self.type_named(&r)) {
                self.walk(obj.addr + self.ptr, rid, 1);
            }
        }
        if !captured.is_empty() {
            let mut pieces = Vec::new();
            if let Some(dw) = self.dw.clone() {
                for (off, t) in captured {
                    dw.index
                        .resolve(t, obj.addr.wrapping_add(off), 0, &mut pieces);
                }
            }
            for (a, gt) in pieces {
                self.source(a, gt);
            }
        }
    }

    /// Whether every captured field (after `F`) of closure struct `link` has the
    /// runtime type of one of `var_types` (DIEs), or points to one (`&x`).
    fn fields_match(&self, link: u64, var_types: &[usize]) -> bool {
        let (Some(r), Some(dw)) = (self.reader.as_ref(), self.dw.as_ref()) else {
            return false;
        };
        let Ok(t) = r.type_at(link) else { return false };
        let fields = r.fields(&t).unwrap_or_default();
        let (t0, t1) = self.types_range;
        let norm = |rt: u64| {
            if rt >= t0 && rt < t1 {
                rt
            } else {
                t0.wrapping_add(rt)
            }
        };
        let die_links = |d: usize| -> (Option<u64>, Option<u64>) {
            let own = dw.index.runtime(d).map(norm);
            let elem = dw
                .index
                .ptr_elem
                .get(&d)
                .and_then(|&e| dw.index.runtime(e))
                .map(norm);
            (own, elem)
        };
        fields.iter().skip(1).all(|f| {
            let f_elem = r
                .type_at(f.typ)
                .ok()
                .filter(|ft| ft.kind == Kind::Pointer)
                .and_then(|ft| r.elem(&ft).ok().flatten());
            var_types.iter().any(|&d| {
                let (own, elem) = die_links(d);
                own == Some(f.typ) || (elem.is_some() && elem == f_elem)
            })
        })
    }

    /// Closure context descriptors (`struct { F uintptr; … }`): nothing lists them
    /// (not typelinks, not itabs), so the type section is searched for descriptors
    /// whose `Str` names such a struct (`*`-prefixed, `TFlagExtraStar`).
    fn closure_structs(&self) -> Vec<u64> {
        const PAT: &[u8] = b"*struct { F uintptr; ";
        let (t0, t1) = self.types_range;
        let Ok(bytes) = self.proc.binary().read_at(t0, t1.saturating_sub(t0)) else {
            return Vec::new();
        };
        // Name records: flag byte, uvarint length, the bytes.
        let mut offs = HashSet::new();
        let mut from = 0;
        while let Some(q) = find(bytes.get(from..).unwrap_or(&[]), PAT) {
            let q = from + q;
            from = q + 1;
            for vl in 1..=2usize {
                let Some(start) = q.checked_sub(vl + 1) else {
                    continue;
                };
                let Some(lenb) = bytes.get(start + 1..q) else {
                    continue;
                };
                let len = match lenb {
                    [a] if a & 0x80 == 0 => u64::from(*a),
                    [a, b] if a & 0x80 != 0 && b & 0x80 == 0 => {
                        u64::from(a & 0x7f) | (u64::from(*b) << 7)
                    }
                    _ => continue,
                };
                if len >= PAT.len() as u64 {
                    offs.insert(start as i64);
                }
            }
        }
        let mut out = Vec::new();
        if offs.is_empty() {
            return out;
        }
        let str_off: usize = if self.ptr == 8 { 40 } else { 24 };
        let Some(r) = self.reader.as_ref() else {
            return out;
        };
        let mut a = 0usize;
        while a + str_off + 4 <= bytes.len() {
            if let Some(w) = bytes.get(a + str_off..a + str_off + 4) {
                let w: [u8; 4] = [w[0], w[1], w[2], w[3]];
                let le = i64::from(i32::from_le_bytes(w));
                let be = i64::from(i32::from_be_bytes(w));
                if offs.contains(&le) || offs.contains(&be) {
                    let link = t0 + a as u64;
                    if let Ok(t) = r.type_at(link) {
                        if t.kind == Kind::Struct
                            && t.name.starts_with(&"*struct { F uintptr; "[1..])
                        {
                            out.push(link);
                        }
                    }
                }
            }
            a += self.ptr as usize;
        }
        out
    }

    /// Word indexes of an object's pointer slots (from the heap's bitmaps).
    fn pointer_words(&self, obj: &crate::heap::Object) -> Vec<u64> {
        let mut v = Vec::new();
        for p in self.heap.pointers(obj) {
            let Ok(p) = p else { break };
            v.push(p.offset / self.ptr);
        }
        v
    }

    /// The descriptors shape inference considers: every type of the executable that
    /// holds pointers.
    fn cands(&mut self) -> Rc<Vec<Cand>> {
        if let Some(c) = &self.cands {
            return c.clone();
        }
        let mut v = Vec::new();
        let closure_structs = self.closure_structs();
        let from_code = self.code_descriptors();
        if let Some(r) = self.reader.as_ref() {
            let mut all = r.all_types().unwrap_or_default();
            all.extend(closure_structs);
            // Descriptors named by code, and the types they refer to.
            let mut seen: HashSet<u64> = all.iter().copied().collect();
            let mut work = from_code;
            while let Some(a) = work.pop() {
                if a < self.types_range.0 || a >= self.types_range.1 || !seen.insert(a) {
                    continue;
                }
                all.push(a);
                if let Ok(t) = r.type_at(a) {
                    work.extend(r.referenced_types(&t).unwrap_or_default());
                }
            }
            all.sort_unstable();
            all.dedup();
            // Swiss map slot types (`struct { key K; elem V }`, the element of a
            // group's `slots` array): the runtime allocates groups, never a slot.
            let mut slots = HashSet::new();
            for &a in &all {
                let Ok(t) = r.type_at(a) else { continue };
                if t.kind != Kind::Map {
                    continue;
                }
                let Some(g) = r.map_group(&t).ok().flatten() else {
                    continue;
                };
                let Ok(gt) = r.type_at(g) else { continue };
                for f in r.fields(&gt).unwrap_or_default() {
                    if f.name != "slots" {
                        continue;
                    }
                    let elem = r
                        .type_at(f.typ)
                        .ok()
                        .and_then(|at| r.elem(&at).ok().flatten());
                    slots.extend(elem);
                }
            }
            for a in all {
                if slots.contains(&a) {
                    continue;
                }
                let Ok(t) = r.type_at(a) else { continue };
                if t.ptr_bytes == 0 || t.size == 0 || t.size > MAX_INFER_SIZE {
                    continue;
                }
                // A generic shape (`go.shape.*`), or a type instantiated with one,
                // is no value's type: generic code allocates with the instantiated
                // type from its dictionary (closure structs excepted: a closure in
                // generic code captures shape-typed variables).
                if t.name.contains("go.shape.") && !t.name.starts_with("struct { F uintptr; ") {
                    continue;
                }
                let Ok(mask) = r.gc_mask(&t) else { continue };
                let words: Vec<u64> = (0..t.ptr_bytes / self.ptr)
                    .filter(|&w| {
                        mask.get((w / 8) as usize)
                            .is_some_and(|b| b & (1 << (w % 8)) != 0)
                    })
                    .collect();
                if words.is_empty() {
                    continue;
                }
                let closure = t.kind == Kind::Struct && t.name.starts_with("struct { F uintptr; ");
                let method_value = closure && t.name.starts_with("struct { F uintptr; R ");
                v.push(Cand {
                    link: a,
                    size: t.size,
                    words,
                    closure,
                    method_value,
                });
            }
        }
        let rc = Rc::new(v);
        self.cands = Some(rc.clone());
        rc
    }

    /// One round of shape inference over the objects propagation left untyped (or
    /// typed only through an interior pointer): closure contexts are named after the
    /// function in their first word; any other object takes the one descriptor
    /// (`n` values of it) that fits its size class and pointer bitmap exactly, holds
    /// the interior-claimed type at the claimed offset, and whose typed pointer
    /// fields agree with the already typed objects they point to. Whether anything
    /// was typed.
    fn infer(&mut self) -> bool {
        let mut changed = false;
        let n = self.heap.object_count();
        // Candidate lists per (slot size, pointer words): many objects share them.
        let mut next = 0;
        let open = |r: Option<Rec>| {
            r.is_some_and(|r| {
                // Only a wide record may have a nonzero offset: the loop checks it.
                r.ty() == 0 || (r.src() == TypeSource::Propagated.code() && r.is_wide())
            })
        };
        while let Some(idx) = self.next_object(next, n, open) {
            next = idx + 1;
            let oid = ObjId(u32::try_from(idx).unwrap_or(u32::MAX));
            let i = oid.index();
            let Some(&r) = self.out.rec.get(i) else {
                continue;
            };
            let (cur, src, cur_off) = (r.ty(), r.src(), self.out.place(i, r).0);
            if cur != 0 && (src != TypeSource::Propagated.code() || cur_off == 0) {
                continue;
            }
            let Some(obj) = self.heap.object(oid) else {
                continue;
            };
            if obj.size > MAX_INFER_SIZE || obj.addr != obj.slot || self.heap.span(&obj).noscan() {
                continue;
            }
            let words = self.pointer_words(&obj);
            if words.is_empty() {
                continue;
            }
            // A closure context: word 0 (not a pointer slot) is a function's entry.
            if cur == 0 && words.first() != Some(&0) {
                if let Some(pc) = self.word(obj.addr).filter(|&w| w != 0) {
                    if let Some(f) = self.proc.func_for_pc(pc) {
                        if f.entry.wrapping_add(self.bias) == pc {
                            let name = f.name.to_string();
                            self.closure(oid, pc, name, Some(TypeSource::Closure));
                            changed = true;
                            continue;
                        }
                    }
                }
            }
            let list = self.fit_list(&obj, words);
            let interior = (cur != 0).then(|| (u64::from(cur_off), cur - 1));
            let mut pick = None;
            let mut count = 0;
            for &(link, k) in list.iter() {
                let Some(id) = self.link_to_id(Some(link)) else {
                    continue;
                };
                if let Some((off, want)) = interior {
                    let size = self.size_of(id).max(1);
                    if !self.holds_at(id, off % size, want, 0) {
                        continue;
                    }
                }
                if !self.agrees(obj.addr, id, k) || !self.interfaces_agree(obj.addr, id, k) {
                    continue;
                }
                count += 1;
                pick = Some((id, k));
                if count > 1 {
                    break;
                }
            }
            if let (1, Some((id, k))) = (count, pick) {
                self.set_from(oid, id, 0, k, true, TypeSource::Inferred);
                changed = true;
            }
        }
        changed
    }

    /// The first object index in `from..n` whose typing record passes `want` (`None`:
    /// an index past the records). A tight scan over the records: a loop over every
    /// object that reads each record in turn costs as much again on big heaps.
    fn next_object(&self, from: u64, n: u64, want: impl Fn(Option<Rec>) -> bool) -> Option<u64> {
        let len = self.out.rec.len() as u64;
        let (a, b) = (from.min(len), n.min(len));
        if let Some(recs) = self.out.rec.get(a as usize..b.max(a) as usize) {
            if let Some(k) = recs.iter().position(|&r| want(Some(r))) {
                return Some(a + k as u64);
            }
        }
        let past = from.max(len);
        (past < n && want(None)).then_some(past)
    }

    /// Whether a value of type `id` holds a value of type `want` at byte `off`.
    fn holds_at(&mut self, id: u32, off: u64, want: u32, depth: u32) -> bool {
        if off == 0 && id == want {
            return true;
        }
        if depth > MAX_DEPTH {
            return false;
        }
        if let Some(&b) = self.holds_memo.get(&(id, off, want)) {
            return b;
        }
        let b = self.holds_at_uncached(id, off, want, depth);
        self.holds_memo.insert((id, off, want), b);
        b
    }

    fn holds_at_uncached(&mut self, id: u32, off: u64, want: u32, depth: u32) -> bool {
        let Some(link) = self
            .data
            .get(id as usize)
            .map(|d| d.entry.addr.wrapping_sub(self.bias))
        else {
            return false;
        };
        let Some(r) = self.reader.as_ref() else {
            return false;
        };
        let Ok(t) = r.type_at(link) else {
            return false;
        };
        match t.kind {
            Kind::Struct => {
                let fields = r.fields(&t).unwrap_or_default();
                for f in fields {
                    let Some(fid) = self.link_to_id(Some(f.typ)) else {
                        continue;
                    };
                    let fsize = self.size_of(fid);
                    if off >= f.offset && off < f.offset + fsize.max(1) {
                        return self.holds_at(fid, off - f.offset, want, depth + 1);
                    }
                }
                false
            }
            Kind::Array => {
                let Ok(Some(e)) = r.elem(&t) else {
                    return false;
                };
                let Some(eid) = self.link_to_id(Some(e)) else {
                    return false;
                };
                let es = self.size_of(eid);
                es > 0 && off < t.size && self.holds_at(eid, off % es, want, depth + 1)
            }
            _ => false,
        }
    }

    /// The descriptors (and value counts) that fit an object of this shape.
    fn fit_list(&mut self, obj: &crate::heap::Object, words: Vec<u64>) -> Rc<FitList> {
        let key = (obj.size, words);
        if let Some(l) = self.fit_memo.get(&key) {
            return l.clone();
        }
        let cands = self.cands();
        let mut l = Vec::new();
        for c in cands.iter() {
            if c.closure {
                continue;
            }
            if let Some(k) = fits(c, obj, &key.1, self.ptr) {
                l.push((c.link, k));
            }
        }
        let l = Rc::new(l);
        self.fit_memo.insert(key, l.clone());
        l
    }

    /// Whether the references of `k` values of `id` at `addr` (pointers and slices
    /// to `E`, string data) agree with what they point to: the target object, if
    /// typed, holds an `E` there; if untyped and noscan, `E` has no pointers; if
    /// untyped and scanned, one of the descriptors that fit it holds an `E` there.
    fn agrees(&mut self, addr: u64, id: u32, k: u64) -> bool {
        let mut refs = Vec::new();
        self.ref_fields(id, 0, 0, &mut refs);
        let size = self.size_of(id);
        for j in 0..k.min(64) {
            for &(off, elem, kind) in &refs {
                let Some(v) = self.word(addr + j * size + off).filter(|&v| v != 0) else {
                    continue;
                };
                let loose = kind == RefKind::Loose;
                let Some((tid, d)) = self.heap.find_object(v) else {
                    continue;
                };
                if !self.target_holds(tid, d, elem, loose) {
                    return false;
                }
            }
        }
        true
    }

    /// Whether object `tid` can hold a value of type `elem` at byte `d`.
    /// `loose`: only a typed target is checked.
    fn target_holds(&mut self, tid: ObjId, d: u64, elem: u32, loose: bool) -> bool {
        let ti = tid.index();
        let r = self.out.rec.get(ti).copied().unwrap_or_default();
        let (t, toff) = (r.ty(), self.out.place(ti, r).0);
        if t != 0 && toff == 0 {
            let u = t - 1;
            if self.data.get(u as usize).map(|e| e.entry.kind) != Some(EntryKind::Descriptor) {
                return true;
            }
            let us = self.size_of(u).max(1);
            return self.holds_at(u, d % us, elem, 0);
        }
        let Some(obj) = self.heap.object(tid) else {
            return true;
        };
        // The referenced value must fit in the object.
        if d.saturating_add(self.size_of(elem)) > obj.size {
            return false;
        }
        if loose {
            return true;
        }
        let elem_ptrs = self
            .data
            .get(elem as usize)
            .is_some_and(|e| !matches!(*e.shape, Shape::Inert));
        if self.heap.span(&obj).noscan() {
            return !elem_ptrs;
        }
        if obj.size > MAX_INFER_SIZE || obj.addr != obj.slot {
            return true;
        }
        let words = self.pointer_words(&obj);
        let list = self.fit_list(&obj, words);
        for &(link, k) in list.iter() {
            let Some(u) = self.link_to_id(Some(link)) else {
                continue;
            };
            let us = self.size_of(u).max(1);
            if d < us.saturating_mul(k) && self.holds_at(u, d % us, elem, 0) {
                return true;
            }
        }
        false
    }

    /// `(offset, referenced type)` of the pointer, slice and string fields of a
    /// value of type `id` (a string references `uint8`).
    fn ref_fields(&mut self, id: u32, base: u64, depth: u32, out: &mut Vec<(u64, u32, RefKind)>) {
        if depth > 8 || out.len() > 256 {
            return;
        }
        match &*self.shape_of(id) {
            Shape::Ptr(e) => out.push((base, *e, RefKind::Strict)),
            // Even an empty slice of a heap array points at an element position
            // (slicing to capacity 0 does not advance the pointer).
            Shape::Slice(e) => out.push((base, *e, RefKind::Strict)),
            Shape::Str => {
                if let Some(u8id) = self.type_named("uint8") {
                    out.push((base, u8id, RefKind::Strict));
                }
            }
            // A channel's hchan (noscan when the elements hold no pointers) and a
            // map's header: checked only against a typed target.
            Shape::Chan(_) => {
                if let Some(h) = self.type_named("runtime.hchan") {
                    out.push((base, h, RefKind::Loose));
                }
            }
            Shape::Map(_) => {
                let header = if self.off.classic {
                    "runtime.hmap"
                } else {
                    "maps.Map"
                };
                if let Some(h) = self.type_named(header) {
                    out.push((base, h, RefKind::Loose));
                }
            }
            Shape::Struct(fields) => {
                for &(off, f) in fields {
                    self.ref_fields(f, base + off, depth + 1, out);
                }
            }
            Shape::Array { elem, len, stride } => {
                for i in 0..(*len).min(64) {
                    self.ref_fields(*elem, base + i * stride, depth + 1, out);
                }
            }
            _ => {}
        }
    }

    /// The `string data` entry.
    fn string_data(&mut self) -> u32 {
        if let Some(id) = self.string_data {
            return id;
        }
        let id = u32::try_from(self.data.len()).unwrap_or(u32::MAX);
        self.data.push(TypeData {
            entry: TypeEntry {
                addr: 0,
                name: "string data".into(),
                size: 1,
                kind: EntryKind::StringData,
            },
            direct_iface: false,
            shape: Rc::new(Shape::Inert),
        });
        self.string_data = Some(id);
        id
    }

    /// The type id of the executable's descriptor with this runtime name.
    fn type_named(&mut self, name: &str) -> Option<u32> {
        if self.by_name.is_none() {
            let mut m = HashMap::new();
            if let Some(r) = self.reader.as_ref() {
                let mut all = r.all_types().unwrap_or_default();
                all.sort_unstable();
                for a in all {
                    if let Ok(t) = r.type_at(a) {
                        m.entry(t.name).or_insert(a);
                    }
                }
            }
            self.by_name = Some(m);
        }
        let link = self.by_name.as_ref().and_then(|m| m.get(name)).copied();
        self.link_to_id(link)
    }

    /// A typed pointer to `n` values of `id` at `target`.
    fn claim(&mut self, target: u64, id: u32, n: u64) {
        if target == 0 || n == 0 {
            return;
        }
        let id = self.trie_node(target, id);
        if self.size_of(id) == 0 {
            return;
        }
        if let Some((obj, off)) = self.heap.object_at(target) {
            self.apply(&obj, off, id, n);
        }
    }

    /// [`Builder::claim`], applied by the next [`Builder::flush`]. What does not
    /// depend on the typing so far (the `sync.node` choice, which may name a new
    /// type) is done now, in claim order.
    fn claim_later(&mut self, target: u64, id: u32, n: u64) {
        if target == 0 || n == 0 {
            return;
        }
        let id = self.trie_node(target, id);
        if self.size_of(id) == 0 {
            return;
        }
        self.pending.push((target, id, n));
        if self.pending.len() >= CLAIM_BATCH {
            self.flush();
        }
    }

    /// Applies the pending claims in order. The objects they land in and their
    /// typing records are looked up first, one loop over the whole batch, so that
    /// the processor overlaps the cache misses of different claims instead of
    /// waiting on each in turn; the records are read again when applied.
    fn flush(&mut self) {
        match self.pending[..] {
            [] => return,
            // One claim (the next node of a list): nothing to overlap.
            [(t, id, n)] => {
                self.pending.clear();
                if let Some((obj, off)) = self.heap.object_at(t) {
                    self.apply(&obj, off, id, n);
                }
                return;
            }
            _ => {}
        }
        let pending = std::mem::take(&mut self.pending);
        let mut found = std::mem::take(&mut self.found);
        let mut spans = std::mem::take(&mut self.spans);
        self.heap
            .objects_at(pending.iter().map(|p| p.0), &mut spans, &mut found);
        self.spans = spans;
        let mut touch = 0u32;
        for (obj, _) in found.iter().flatten() {
            if let Some(r) = self.out.rec.get(obj.id.index()) {
                touch ^= r.0;
            }
        }
        std::hint::black_box(touch);
        for (&(_, id, n), f) in pending.iter().zip(&found) {
            if let Some((obj, off)) = f {
                self.apply(obj, *off, id, n);
            }
        }
        self.pending = pending;
        self.pending.clear();
        self.found = found;
    }

    /// A claim of `n` values of `id` at `off` in `obj` (`id` of non-zero size).
    fn apply(&mut self, obj: &crate::heap::Object, off: u64, id: u32, n: u64) {
        let size = self.size_of(id);
        let i = obj.id.index();
        let Some(&r) = self.out.rec.get(i) else {
            return;
        };
        let cur = r.ty();
        if cur != 0 && self.out.chunk_ty == Some(cur - 1) {
            self.claim_in_chunk(obj, off, id, size, n);
            return;
        }
        // An untyped object has source 0 (propagated).
        if cur != 0 && r.src() != TypeSource::Propagated.code() {
            return;
        }
        // A value that does not fit in the object is not there: the pointer is stale
        // or was misread (a freed slot reused by a smaller object). Typing the object
        // with it would also walk its neighbours' memory as that type.
        if off.saturating_add(size) > obj.size {
            return;
        }
        let n = n.min(obj.size.saturating_sub(off) / size).max(1);
        if cur != 0 {
            let (cur_off, cur_n) = self.out.place(i, r);
            let (cur_off, cur_n) = (u64::from(cur_off), u64::from(cur_n));
            let cur_bytes = self.size_of(cur - 1).saturating_mul(cur_n);
            let new_key = (off == 0, size.saturating_mul(n));
            let cur_key = (cur_off == 0, cur_bytes);
            if new_key <= cur_key {
                return;
            }
        }
        self.write(i, id, off, n, TypeSource::Propagated);
        self.push_work(obj.addr + off, id, n);
    }

    /// Records object `i`'s type (false: no such object, or too many types).
    fn write(&mut self, i: usize, id: u32, off: u64, n: u64, src: TypeSource) -> bool {
        if id >= REC_TY_LIMIT - 1 {
            const MSG: &str = "more than 2^20 types: objects of the later ones are left untyped";
            if !self.out.warnings.iter().any(|w| w == MSG) {
                self.warn(MSG.to_string());
            }
            return false;
        }
        let Some(r) = self.out.rec.get_mut(i) else {
            return false;
        };
        let (offset, elems) = (
            u32::try_from(off).unwrap_or(u32::MAX),
            u32::try_from(n).unwrap_or(u32::MAX),
        );
        let place = Rec::pack(offset, elems).unwrap_or(Rec::WIDE);
        let was_wide = r.is_wide();
        *r = Rec::new(id + 1, src.code(), place);
        // The side table is touched only for wide records (never on the common path).
        if place == Rec::WIDE || was_wide {
            if let Ok(k) = u32::try_from(i) {
                if place == Rec::WIDE {
                    self.out.wide.insert(k, (offset, elems));
                } else {
                    self.out.wide.remove(&k);
                }
            }
        }
        true
    }

    fn set(&mut self, oid: ObjId, id: u32, off: u64, n: u64, push: bool) {
        self.set_from(oid, id, off, n, push, TypeSource::Propagated);
    }

    fn set_from(&mut self, oid: ObjId, id: u32, off: u64, n: u64, push: bool, src: TypeSource) {
        self.write(oid.index(), id, off, n, src);
        if push {
            if let Some(obj) = self.heap.object(oid) {
                self.push_work(obj.addr + off, id, n);
            }
        }
    }
}

/// Position of `pat` in `hay`.
fn find(hay: &[u8], pat: &[u8]) -> Option<usize> {
    hay.windows(pat.len()).position(|w| w == pat)
}

/// How many values of `c` an object holds if it could be an allocation of them:
/// `n` values whose total rounds up to the object's size class (large objects: to
/// their pages) and whose pointer words, tiled, are exactly the object's.
fn fits(c: &Cand, obj: &crate::heap::Object, words: &[u64], ptr: u64) -> Option<u64> {
    let per = c.words.len() as u64;
    let total = words.len() as u64;
    if per == 0 || total % per != 0 {
        return None;
    }
    let k = total / per;
    let bytes = k.checked_mul(c.size)?;
    let lower = match CLASS_TO_SIZE.iter().position(|&s| s == obj.size) {
        Some(0) | None => obj.size.saturating_sub(8192),
        Some(i) => CLASS_TO_SIZE.get(i - 1).copied().unwrap_or(0),
    };
    if bytes > obj.size || bytes <= lower {
        return None;
    }
    // Tail words after the last value's pointer words must be pointer-free: the
    // tiled mask must equal the object's words exactly.
    let stride = c.size / ptr.max(1);
    let mut it = words.iter();
    for j in 0..k {
        for &w in &c.words {
            if it.next() != Some(&(j * stride + w)) {
                return None;
            }
        }
    }
    Some(k)
}

/// The receiver type's runtime name of a method value's wrapper function:
/// `example.com/m/pkg.(*T).M-fm` → `*pkg.T`, `pkg.T.M-fm` → `pkg.T`. Its closure
/// context is `struct { F uintptr; R T }`.
fn method_value_receiver(func: &str) -> Option<String> {
    let base = func.strip_suffix("-fm")?;
    let recv = &base[..base.rfind('.')?];
    let short = match recv.rfind('/') {
        Some(i) => &recv[i + 1..],
        None => recv,
    };
    if let Some((pkg, rest)) = short.split_once(".(*") {
        let t = rest.strip_suffix(')')?;
        Some(format!("*{pkg}.{t}"))
    } else {
        Some(short.to_string())
    }
}

/// A typed piece of a global or frame slot: `DW_AT_go_runtime_type` of its type DIE, or — for
/// pointer and slice types the linker described without a runtime descriptor (their
/// `DW_AT_go_runtime_type` is 0) — the descriptor of their element. Structs without
/// a descriptor (`sync.Map`) are split into their members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum GlobalType {
    Runtime(u64),
    PtrTo(u64),
    SliceOf(u64),
}

/// The DWARF type graph as far as typing globals needs it (keys are `.debug_info`
/// offsets).
struct DieIndex {
    rtype: HashMap<usize, u64>,
    refs: HashMap<usize, usize>,
    ptr_elem: HashMap<usize, usize>,
    slice_elem: HashMap<usize, usize>,
    members: HashMap<usize, Vec<(u64, usize)>>,
    arr_elem: HashMap<usize, usize>,
    atomic_ptr: HashSet<usize>,
}

impl DieIndex {
    /// The runtime type of a type DIE, through typedefs.
    fn runtime(&self, mut t: usize) -> Option<u64> {
        for _ in 0..16 {
            if let Some(&r) = self.rtype.get(&t) {
                return Some(r);
            }
            t = *self.refs.get(&t)?;
        }
        None
    }

    /// Typed pieces of a value of DIE type `t` at `addr`.
    fn resolve(&self, t: usize, addr: u64, depth: u32, out: &mut Vec<(u64, GlobalType)>) {
        if depth > 8 {
            return;
        }
        if let Some(r) = self.runtime(t) {
            out.push((addr, GlobalType::Runtime(r)));
        } else if let Some(&n) = self.refs.get(&t) {
            self.resolve(n, addr, depth + 1, out);
        } else if self.atomic_ptr.contains(&t) {
            // sync/atomic.Pointer[T]: `_ [0]*T` names *T, the last member `v` holds it.
            let m = self.members.get(&t);
            let first = m.and_then(|m| m.first()).map(|f| f.1);
            let last = m.and_then(|m| m.last()).map(|f| f.0);
            if let (Some(p), Some(off)) = (first.and_then(|f| self.arr_elem.get(&f)), last) {
                self.resolve(*p, addr.wrapping_add(off), depth + 1, out);
            }
        } else if let Some(r) = self.ptr_elem.get(&t).and_then(|&e| self.runtime(e)) {
            out.push((addr, GlobalType::PtrTo(r)));
        } else if let Some(r) = self.slice_elem.get(&t).and_then(|&e| self.runtime(e)) {
            out.push((addr, GlobalType::SliceOf(r)));
        } else if let Some(m) = self.members.get(&t) {
            for &(off, mt) in m {
                self.resolve(mt, addr.wrapping_add(off), depth + 1, out);
            }
        }
    }
}

/// Global variables with a static address and the `DW_AT_go_runtime_type` of their
/// type (following typedefs), sorted by address.
fn dwarf_types(data: &[u8]) -> Result<DwarfTypes, String> {
    let file = object::File::parse(data).map_err(|e| format!("executable: {e}"))?;
    let has = file
        .section_by_name(".debug_info")
        .or_else(|| file.section_by_name(".zdebug_info"))
        .or_else(|| file.section_by_name("__debug_info"))
        .is_some_and(|s| s.size() > 0);
    if !has {
        return Err("the executable has no DWARF".into());
    }
    let endian = if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    // Only the sections typing reads (not ranges, frames, aranges …).
    let sections = crate::dwarf::load(&file, Some(crate::dwarf::LOCATION_SECTIONS))?;
    let dwarf = sections.borrow(|s| EndianSlice::new(s, endian));
    // DIE offset → runtime type; DIE offset → referenced type (typedefs).
    let mut rtype: HashMap<usize, u64> = HashMap::new();
    let mut refs: HashMap<usize, usize> = HashMap::new();
    let mut ptr_elem: HashMap<usize, usize> = HashMap::new();
    let mut members: HashMap<usize, Vec<(u64, usize)>> = HashMap::new();
    let mut current_struct: Option<usize> = None;
    let mut current_sub: Option<usize> = None;
    let mut subs: Vec<Subprogram> = Vec::new();
    let mut arr_elem: HashMap<usize, usize> = HashMap::new();
    let mut atomic_ptr: HashSet<usize> = HashSet::new();
    let mut slice_elem: HashMap<usize, usize> = HashMap::new();
    let mut vars: Vec<(u64, usize)> = Vec::new();
    let mut visited = 0u64;
    let mut headers = dwarf.units();
    while let Some(h) = headers.next().map_err(|e| format!(".debug_info: {e}"))? {
        let unit = dwarf
            .unit(h)
            .map_err(|e| format!("unit at {:#x}: {e}", h.offset().0))?;
        let mut cursor = unit.entries();
        while let Some(e) = cursor.next_dfs().map_err(|e| format!(".debug_info: {e}"))? {
            visited += 1;
            if visited > 1 << 26 {
                return Err("too many DWARF entries".into());
            }
            let Some(here) = e.offset().to_debug_info_offset(&unit.header) else {
                continue;
            };
            let ty = match e.attr_value(gimli::DW_AT_type) {
                Some(AttributeValue::UnitRef(r)) => {
                    r.to_debug_info_offset(&unit.header).map(|o| o.0)
                }
                Some(AttributeValue::DebugInfoRef(r)) => Some(r.0),
                _ => None,
            };
            // 0: the linker made the DWARF type without a runtime descriptor.
            match e.attr_value(DW_AT_GO_RUNTIME_TYPE) {
                Some(AttributeValue::Addr(a)) if a != 0 => {
                    rtype.insert(here.0, a);
                }
                Some(v) => {
                    if let Some(a) = v.udata_value().filter(|&a| a != 0) {
                        rtype.insert(here.0, a);
                    }
                }
                None => {}
            }
            if e.depth() == 1 {
                current_struct = (e.tag() == gimli::DW_TAG_structure_type).then_some(here.0);
            }
            if let (Some(st), gimli::DW_TAG_member, 2, Some(t)) =
                (current_struct, e.tag(), e.depth(), ty)
            {
                let off = e
                    .attr_value(gimli::DW_AT_data_member_location)
                    .and_then(|v| v.udata_value());
                if let Some(off) = off {
                    members.entry(st).or_default().push((off, t));
                }
            }
            if e.tag() == gimli::DW_TAG_array_type {
                if let Some(t) = ty {
                    arr_elem.insert(here.0, t);
                }
            }
            if e.tag() == gimli::DW_TAG_structure_type {
                let name = e
                    .attr_value(gimli::DW_AT_name)
                    .and_then(|n| dwarf.attr_string(&unit, n).ok());
                if name.is_some_and(|n| n.slice().starts_with(b"sync/atomic.Pointer[")) {
                    atomic_ptr.insert(here.0);
                }
            }
            if e.tag() == gimli::DW_TAG_pointer_type {
                if let Some(t) = ty {
                    ptr_elem.insert(here.0, t);
                }
            }
            let go_elem = match e.attr_value(DW_AT_GO_ELEM) {
                Some(AttributeValue::UnitRef(r)) => {
                    r.to_debug_info_offset(&unit.header).map(|o| o.0)
                }
                Some(AttributeValue::DebugInfoRef(r)) => Some(r.0),
                _ => None,
            };
            let go_kind = e.attr_value(DW_AT_GO_KIND).and_then(|v| v.udata_value());
            if let (Some(el), Some(SLICE_KIND)) = (go_elem, go_kind) {
                slice_elem.insert(here.0, el);
            }
            if e.tag() == gimli::DW_TAG_typedef {
                if let Some(t) = ty {
                    refs.insert(here.0, t);
                }
            }
            if e.depth() == 1 {
                current_sub = None;
                if e.tag() == gimli::DW_TAG_subprogram {
                    // DWARF 5 (Go 1.25+) gives addresses as indexes into .debug_addr.
                    let addr = |v| dwarf.attr_address(&unit, v).ok().flatten();
                    let lo = e.attr_value(gimli::DW_AT_low_pc).and_then(addr);
                    let hi = match e.attr_value(gimli::DW_AT_high_pc) {
                        Some(v @ (AttributeValue::Addr(_) | AttributeValue::DebugAddrIndex(_))) => {
                            addr(v)
                        }
                        Some(v) => v.udata_value().and_then(|n| lo.map(|l| l.wrapping_add(n))),
                        None => None,
                    };
                    if let (Some(lo), Some(hi)) = (lo, hi) {
                        current_sub = Some(subs.len());
                        subs.push(Subprogram {
                            lo,
                            hi,
                            vars: Vec::new(),
                            captured: Vec::new(),
                            var_types: Vec::new(),
                        });
                    }
                }
            }
            if let (Some(si), 2, Some(t)) = (current_sub, e.depth(), ty) {
                if matches!(
                    e.tag(),
                    gimli::DW_TAG_variable | gimli::DW_TAG_formal_parameter
                ) {
                    let sub_range = subs.get(si).map(|s| (s.lo, s.hi));
                    let mut pieces = Vec::new();
                    match e.attr_value(gimli::DW_AT_location) {
                        Some(AttributeValue::Exprloc(expr)) => {
                            if let (Some(off), Some((lo, hi))) =
                                (frame_offset(expr, unit.encoding()), sub_range)
                            {
                                pieces.push((lo, hi, off, t));
                            }
                        }
                        Some(v) => {
                            if let Ok(Some(mut locs)) = dwarf.attr_locations(&unit, v) {
                                while let Ok(Some(l)) = locs.next() {
                                    if let Some(off) = frame_offset(l.data, unit.encoding()) {
                                        pieces.push((l.range.begin, l.range.end, off, t));
                                    }
                                }
                            }
                        }
                        None => {}
                    }
                    let closure_off = e
                        .attr_value(DW_AT_GO_CLOSURE_OFFSET)
                        .and_then(|v| v.udata_value())
                        .filter(|&o| o > 0);
                    if let Some(sub) = subs.get_mut(si) {
                        sub.vars.extend(pieces);
                        sub.var_types.push(t);
                        if let Some(o) = closure_off {
                            sub.captured.push((o, t));
                        }
                    }
                }
            }
            if e.tag() != gimli::DW_TAG_variable || e.depth() != 1 {
                continue;
            }
            let Some(AttributeValue::Exprloc(expr)) = e.attr_value(gimli::DW_AT_location) else {
                continue;
            };
            let mut ops = expr.operations(unit.encoding());
            let Ok(Some(Operation::Address { address })) = ops.next() else {
                continue;
            };
            if !matches!(ops.next(), Ok(None)) {
                continue;
            }
            if let Some(t) = ty {
                vars.push((address, t));
            }
        }
    }
    let idx = DieIndex {
        rtype,
        refs,
        ptr_elem,
        slice_elem,
        members,
        arr_elem,
        atomic_ptr,
    };
    let mut out = Vec::new();
    for (addr, t) in vars {
        idx.resolve(t, addr, 0, &mut out);
    }
    out.sort_unstable();
    out.dedup();
    subs.sort_by_key(|s| s.lo);
    Ok(DwarfTypes {
        globals: out,
        index: idx,
        subs,
    })
}

/// A frame slot's offset from the CFA: `DW_OP_fbreg(off)` alone (Go's frame base
/// is the CFA), or `DW_OP_call_frame_cfa` optionally followed by
/// `DW_OP_plus_uconst(off)` (spilled register arguments).
fn frame_offset(expr: gimli::Expression<R<'_>>, enc: gimli::Encoding) -> Option<i64> {
    let mut ops = expr.operations(enc);
    let off = match ops.next() {
        Ok(Some(Operation::FrameOffset { offset })) => offset,
        Ok(Some(Operation::CallFrameCFA)) => match ops.next() {
            Ok(None) => return Some(0),
            Ok(Some(Operation::PlusConstant { value })) => i64::try_from(value).ok()?,
            _ => return None,
        },
        _ => return None,
    };
    matches!(ops.next(), Ok(None)).then_some(off)
}

type R<'a> = EndianSlice<'a, RunTimeEndian>;

/// A function's stack variables: `(lo, hi, CFA offset, type DIE)` for each PC range
/// where the variable lives in its frame slot.
struct Subprogram {
    lo: u64,
    hi: u64,
    vars: Vec<(u64, u64, i64, usize)>,
    /// Captured variables of a closure function: `(offset in the closure context,
    /// type DIE)` from `DW_AT_go_closure_offset` (Go 1.23+).
    captured: Vec<(u64, usize)>,
    /// Type DIEs of all its variables and parameters (closures before Go 1.23).
    var_types: Vec<usize>,
}

/// What DWARF tells about globals and frames.
struct DwarfTypes {
    globals: Vec<(u64, GlobalType)>,
    index: DieIndex,
    subs: Vec<Subprogram>,
}

#[cfg(test)]
mod tests {
    use super::{fits, method_value_receiver, Cand, Rec, WorkStack, REC_TY_LIMIT};
    use crate::heap::{ObjId, Object};

    fn obj(size: u64) -> Object {
        Object {
            id: ObjId(0),
            addr: 0x1000,
            size,
            slot: 0x1000,
            span: 0,
        }
    }

    fn cand(size: u64, words: &[u64]) -> Cand {
        Cand {
            link: 0,
            size,
            words: words.to_vec(),
            closure: false,
            method_value: false,
        }
    }

    #[test]
    fn shapes_fit_by_size_class_and_tiled_mask() {
        // main.Interior: 88 bytes, pointer word 0, in the 96-byte class.
        let interior = cand(88, &[0]);
        assert_eq!(fits(&interior, &obj(96), &[0], 8), Some(1));
        // Not in the 112-byte class (88 rounds up to 96), nor with another bitmap.
        assert_eq!(fits(&interior, &obj(112), &[0], 8), None);
        assert_eq!(fits(&interior, &obj(96), &[0, 1], 8), None);
        // Three 16-byte {P *T; ID int64} values tile a 48-byte slot: words 0, 2, 4.
        let pair = cand(16, &[0]);
        assert_eq!(fits(&pair, &obj(48), &[0, 2, 4], 8), Some(3));
        assert_eq!(fits(&pair, &obj(48), &[0, 2, 5], 8), None);
        // Two values (32 bytes) would be the 32-byte class, not 48.
        assert_eq!(fits(&pair, &obj(48), &[0, 2], 8), None);
    }

    #[test]
    fn method_value_receivers() {
        assert_eq!(
            method_value_receiver("main.(*MethodRecv).Describe-fm").as_deref(),
            Some("*main.MethodRecv")
        );
        assert_eq!(
            method_value_receiver("example.com/m/pkg.T.M-fm").as_deref(),
            Some("pkg.T")
        );
        assert_eq!(method_value_receiver("main.main.func1"), None);
    }

    #[test]
    fn work_stack_pops_what_was_pushed_in_reverse_order() {
        let items = [
            (0xc0_0001_0000_u64, 7u32, 1u32),
            (0xc0_0001_0040, 7, 3),
            ((1 << 48) + 8, 1, 1),
            (0x40_0000, (1 << 15) - 1, 1),
            (0x40_0008, 1 << 15, 1),
            (0, 0, 1),
            (u64::MAX, u32::MAX, u32::MAX),
            (0xc0_0002_0000, 2, 1),
        ];
        let mut w = WorkStack::default();
        for &(a, t, n) in &items {
            w.push(a, t, n);
        }
        assert_eq!(w.len(), items.len());
        // Four need the side stack: a count, a high address, a high type id, all.
        assert_eq!(w.wide.len(), 4);
        for &want in items.iter().rev() {
            assert_eq!(w.pop(), Some(want));
        }
        assert_eq!(w.pop(), None);
    }

    #[test]
    fn records_hold_type_source_and_count_in_4_bytes() {
        assert_eq!(std::mem::size_of::<Rec>(), 4);
        let r = Rec::default();
        assert_eq!((r.ty(), r.src(), r.place(), r.is_wide()), (0, 0, 0, false));
        let top = REC_TY_LIMIT - 1;
        for (ty, src, off, n) in [(1, 0, 0, 1), (top, 3, 0, Rec::WIDE - 1), (7, 1, 0, 0)] {
            let place = Rec::pack(off, n).expect("fits");
            let r = Rec::new(ty, src, place);
            assert_eq!(
                (r.ty(), r.src(), r.place(), r.is_wide()),
                (ty, src, n, false)
            );
        }
        // An offset, or as many values as the wide marker, go to the side table.
        assert_eq!(Rec::pack(8, 1), None);
        assert_eq!(Rec::pack(0, Rec::WIDE), None);
        assert_eq!(Rec::pack(0, u32::MAX), None);
        let r = Rec::new(top, 2, Rec::WIDE);
        assert_eq!((r.ty(), r.src(), r.is_wide()), (top, 2, true));
    }
}
