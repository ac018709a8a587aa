//! Typed values: the contents of memory at an address, decoded as a Go type into a
//! tree of fields and elements with their values.
//!
//! * **Types** come from the runtime type descriptors read by
//!   [`gobinary::TypeReader`] (no DWARF needed) — heap objects take the type
//!   [`Typing`] found for them — and, for package variables and goroutine frame
//!   variables, from DWARF: a DWARF type with a runtime descriptor
//!   (`DW_AT_go_runtime_type`) is decoded through the descriptor; the few without
//!   one (pointer and slice types the linker emitted no descriptor for, some
//!   structs) are decoded from the DWARF type itself.
//! * **What a value shows**: numbers and bools; strings (their bytes, bounded);
//!   pointers as addresses with the heap object they land in and its type (not
//!   followed: a caller decodes that object next); structs field by field with
//!   offsets; arrays and slices element by element (bounded, with the full length);
//!   interfaces as their dynamic type and value (direct-iface types decoded in the
//!   data word); maps as their entries (classic buckets with overflow chains and
//!   old buckets; Swiss tables: the small-map group or every table's groups, in both
//!   the interleaved and split group layouts; indirect keys and values
//!   dereferenced); channels with length and capacity; func values with the
//!   function's name.
//! * **Bounds**: nesting depth, elements per array/slice/map, bytes per string and
//!   values per decode are capped by [`Limits`]; what was cut is marked
//!   ([`Data::Elided`], `truncated` fields). Unreadable memory becomes
//!   [`Data::Unreadable`]; nothing panics on bad input.
//! * **Variables**: [`Decoder::globals`] lists package variables (DWARF; without
//!   DWARF the symbol table's data and bss symbols, with the pointer words of the
//!   module's GC masks); [`Decoder::frame_variables`] the parameters, results and
//!   locals of one physical goroutine frame, with a value where the DWARF location
//!   at the frame's PC is a stack slot (relative to the CFA; plain locations hold
//!   over their lexical block). An inlined frame gets the variables of the
//!   innermost inlined call of its function at that PC (names and types from the
//!   call's abstract origin). Variables not live at that PC are listed with the
//!   reason and no value. Variables in registers (or in pieces of registers and
//!   stack slots) are decoded by [`Decoder::frame_variables_with`] where
//!   [`Decoder::stack_registers`] knows the frame's registers — the innermost
//!   frame of a goroutine running on a thread (thread registers or the signal
//!   context) and frames `runtime.asyncPreempt` interrupted (the registers it
//!   saved) — and are otherwise listed with "value not recorded".
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! let heap = gocore::Heap::new(&proc)?;
//! let typing = gocore::Typing::compute(&proc, &heap)?;
//! let dec = gocore::Decoder::new(&proc, Some(&heap), Some(&typing));
//! if let Some((id, _)) = heap.find_object(0xc000010000) {
//!     if let Some(v) = dec.object(id) {
//!         println!("{}", v.type_name);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{HashMap, HashSet};

use gimli::AttributeValue;
use gobinary::{Kind, TypeDesc, TypeReader};
use object::{Object as _, ObjectSymbol};

mod registers;

pub use registers::{FrameRegisters, RegisterSource};

use crate::dwarf::{self as dw, Loc, Part, DW_AT_GO_ELEM, DW_AT_GO_KIND, DW_AT_GO_RUNTIME_TYPE};
use crate::goroutine::{Frame, Goroutine};
use crate::heap::{Heap, ObjId};
use crate::process::Process;
use crate::types::{TypeSource, Typing};

/// Longest overflow chain followed in a classic map.
const MAX_CHAIN: u64 = 1 << 16;
/// Where a value assembled from registers is decoded: an address no user-space
/// core maps (kernel half on amd64 and arm64); reads there come from the overlay.
const OVERLAY_BASE: u64 = 0xffff_f000_0000_0000;

/// How much a decode may show.
///
/// ```
/// let l = gocore::Limits { depth: 2, ..gocore::Limits::default() };
/// assert_eq!(l.elems, 16);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Nesting levels below the decoded value that are expanded (structs, arrays,
    /// slices, maps, interfaces); deeper values are [`Data::Elided`].
    pub depth: u32,
    /// Elements shown per array, slice or map.
    pub elems: u64,
    /// Bytes shown per string.
    pub string_bytes: u64,
    /// Values produced per decode, all levels together.
    pub values: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            depth: 4,
            elems: 16,
            string_bytes: 256,
            values: 4096,
        }
    }
}

/// A decoded value.
///
/// ```no_run
/// # fn f(v: &gocore::Value) {
/// if let gocore::Data::Struct { fields } = &v.data {
///     for f in fields { println!("{} {}", f.name, f.value.type_name); }
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Value {
    /// Address of the value (0 for values held only in a register or synthesised).
    pub addr: u64,
    /// Its type in Go syntax (`map[string]*main.Session`).
    pub type_name: String,
    /// Size of the type in bytes.
    pub size: u64,
    /// The contents.
    pub data: Data,
}

/// The contents of a [`Value`] by kind.
///
/// ```
/// let d = gocore::Data::Int(-3);
/// assert_eq!(d.kind(), "int");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Data {
    /// `bool`.
    Bool(bool),
    /// Signed integers.
    Int(i64),
    /// Unsigned integers and `uintptr`.
    Uint(u64),
    /// `float32`, `float64`.
    Float(f64),
    /// `complex64`, `complex128`: real and imaginary parts.
    Complex(f64, f64),
    /// A string: its data pointer, length, and up to [`Limits::string_bytes`] of its
    /// bytes (lossy UTF-8).
    String {
        /// Data pointer.
        ptr: u64,
        /// Length in bytes.
        len: u64,
        /// The bytes shown.
        text: String,
        /// Whether `text` is shorter than the string (or its bytes were unreadable).
        truncated: bool,
    },
    /// A pointer (typed or `unsafe.Pointer`) and where it points.
    Pointer {
        /// The address held.
        target: u64,
        /// The heap object it points into, if any.
        object: Option<PointerTarget>,
    },
    /// A struct's fields in order.
    Struct {
        /// The fields.
        fields: Vec<Field>,
    },
    /// An array: its length and its first elements.
    Array {
        /// Number of elements of the type.
        len: u64,
        /// The elements shown.
        elems: Vec<Value>,
    },
    /// A slice: header and its first elements.
    Slice {
        /// Data pointer.
        ptr: u64,
        /// Length.
        len: u64,
        /// Capacity.
        cap: u64,
        /// The elements shown.
        elems: Vec<Value>,
    },
    /// An interface: nil (`dynamic_type` is `None`) or a dynamic type and value.
    Interface {
        /// The dynamic type's name.
        dynamic_type: Option<String>,
        /// The dynamic value.
        value: Option<Box<Value>>,
    },
    /// A map: its header's address, element count and first entries.
    Map {
        /// Map header (`*hmap` or `*maps.Map`); 0 for a nil map.
        ptr: u64,
        /// Entries the header counts.
        len: u64,
        /// Key/value pairs shown.
        entries: Vec<(Value, Value)>,
        /// Whether entries were left out (limits, unreadable tables).
        truncated: bool,
    },
    /// A channel: `*hchan`, buffered elements and capacity.
    Chan {
        /// The `hchan`; 0 for a nil channel.
        ptr: u64,
        /// Buffered elements.
        len: u64,
        /// Buffer capacity.
        cap: u64,
        /// The buffered elements shown, oldest first (next to be received).
        elems: Vec<Value>,
    },
    /// A func value: its `funcval` and the function its code pointer names.
    Func {
        /// The `funcval` pointer; 0 for a nil func.
        ptr: u64,
        /// Entry PC.
        pc: u64,
        /// Function name, if the PC is in the function table.
        function: Option<String>,
    },
    /// Not expanded: the depth or value limit was reached.
    Elided,
    /// Memory or type information could not be read; why.
    Unreadable(String),
}

impl Data {
    /// A short name of the kind (`int`, `struct`, `pointer` …), stable for JSON.
    ///
    /// ```
    /// assert_eq!(gocore::Data::Elided.kind(), "elided");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Data::Bool(_) => "bool",
            Data::Int(_) => "int",
            Data::Uint(_) => "uint",
            Data::Float(_) => "float",
            Data::Complex(..) => "complex",
            Data::String { .. } => "string",
            Data::Pointer { .. } => "pointer",
            Data::Struct { .. } => "struct",
            Data::Array { .. } => "array",
            Data::Slice { .. } => "slice",
            Data::Interface { .. } => "interface",
            Data::Map { .. } => "map",
            Data::Chan { .. } => "chan",
            Data::Func { .. } => "func",
            Data::Elided => "elided",
            Data::Unreadable(_) => "unreadable",
        }
    }
}

/// One field of a struct value.
///
/// ```no_run
/// # fn f(x: &gocore::Field) { println!("+{} {}", x.offset, x.name); }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Byte offset in the struct.
    pub offset: u64,
    /// Its value.
    pub value: Value,
}

/// The heap object a pointer lands in.
///
/// ```no_run
/// # fn f(t: &gocore::PointerTarget) { println!("{:#x}+{}", t.object, t.offset); }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PointerTarget {
    /// The object's address.
    pub object: u64,
    /// Offset of the pointer into it.
    pub offset: u64,
    /// The object's type, when typed.
    pub type_name: Option<String>,
}

/// How a variable is bound.
///
/// ```
/// assert_eq!(gocore::VarKind::Param.name(), "param");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarKind {
    /// A package variable.
    Global,
    /// A function parameter.
    Param,
    /// A named result.
    Result,
    /// A local variable.
    Local,
}

impl VarKind {
    /// `global`, `param`, `result` or `local`.
    ///
    /// ```
    /// assert_eq!(gocore::VarKind::Local.name(), "local");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            VarKind::Global => "global",
            VarKind::Param => "param",
            VarKind::Result => "result",
            VarKind::Local => "local",
        }
    }
}

/// A named variable: a package variable or a frame's parameter or local.
///
/// ```no_run
/// # fn f(v: &gocore::Variable) {
/// println!("{} {} at {:?}", v.name, v.type_name.as_deref().unwrap_or("?"), v.addr);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Variable {
    /// Name (`main.gList` for globals, `depth` for a frame's).
    pub name: String,
    /// Global, parameter, result or local.
    pub kind: VarKind,
    /// Run-time address of its memory, if it lives in memory here.
    pub addr: Option<u64>,
    /// Its size in bytes (0 when unknown).
    pub size: u64,
    /// Its type, when known.
    pub type_name: Option<String>,
    /// Its value, when decodable.
    pub value: Option<Value>,
    /// Pointer-word offsets (globals without DWARF: from the data/bss GC masks).
    pub pointer_words: Vec<u64>,
    /// Why there is no value (a register, inlined, no DWARF …).
    pub note: Option<String>,
}

/// Decodes typed values of a process. Create one per process and reuse it: DWARF is
/// read once, on the first call that needs it.
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// let proc = gocore::Process::new(&core)?;
/// let dec = gocore::Decoder::new(&proc, None, None);
/// for g in dec.globals().iter().filter(|g| g.name.starts_with("main.")) {
///     println!("{} {:?}", g.name, g.type_name);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Decoder<'p, 'a> {
    proc: &'p Process<'a>,
    heap: Option<&'p Heap<'a>>,
    typing: Option<&'p Typing>,
    reader: Option<TypeReader<'p, 'a>>,
    reader_err: Option<String>,
    types_range: (u64, u64),
    md_ranges: Vec<(&'static str, u64, u64)>,
    bias: u64,
    ptr: u64,
    off: Offsets,
    limits: Limits,
    budget: Cell<u64>,
    dwarf: OnceCell<Result<DwarfInfo, String>>,
    by_name: OnceCell<HashMap<String, u64>>,
    /// Bytes of a value held in registers while it is decoded at [`OVERLAY_BASE`]
    /// (`None` for bytes that are optimized out).
    overlay: RefCell<Vec<Option<u8>>>,
}

struct Offsets {
    itab_type: u64,
    classic: bool,
    hmap_count: u64,
    hmap_b: u64,
    hmap_buckets: u64,
    hmap_oldbuckets: u64,
    min_tophash: u8,
    map_used: u64,
    map_dirptr: u64,
    map_dirlen: u64,
    table_groups: u64,
    groups_data: u64,
    groups_mask: u64,
    chan_qcount: u64,
    chan_dataqsiz: u64,
    chan_buf: u64,
    chan_recvx: Option<u64>,
    kind_direct: Option<u8>,
    tflag_direct: Option<u8>,
}

/// A type to decode with: a runtime descriptor (run-time address) or a DWARF DIE.
#[derive(Debug, Clone, Copy)]
enum Ty {
    Rt(u64),
    Dw(usize),
}

/// Where a map's keys and values sit in a bucket or group.
struct SlotLayout {
    key_off: u64,
    key_stride: u64,
    key_ty: u64,
    elem_off: u64,
    elem_stride: u64,
    elem_ty: u64,
    group_size: u64,
    overflow: Option<u64>,
}

impl<'p, 'a> Decoder<'p, 'a> {
    /// A decoder for `proc`. With `heap`, pointers name the object they land in; with
    /// `typing`, also its type, and [`Decoder::object`] works.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let proc = gocore::Process::new(&core)?;
    /// let dec = gocore::Decoder::new(&proc, None, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        proc: &'p Process<'a>,
        heap: Option<&'p Heap<'a>>,
        typing: Option<&'p Typing>,
    ) -> Decoder<'p, 'a> {
        let ptr = proc.ptr_size();
        let l = proc.layouts();
        let o = |ty: &str, f: &str, d: u64| l.offset(ty, f).unwrap_or(d);
        let off = Offsets {
            itab_type: l
                .offset("internal/abi.ITab", "Type")
                .or_else(|_| l.offset("runtime.itab", "_type"))
                .unwrap_or(ptr),
            classic: l.size("runtime.hmap").is_ok(),
            hmap_count: o("runtime.hmap", "count", 0),
            hmap_b: o("runtime.hmap", "B", 9),
            hmap_buckets: o("runtime.hmap", "buckets", 16),
            hmap_oldbuckets: o("runtime.hmap", "oldbuckets", 24),
            min_tophash: l.constant_u64("runtime.minTopHash").map_or(5, |v| v as u8),
            map_used: o("internal/runtime/maps.Map", "used", 0),
            map_dirptr: o("internal/runtime/maps.Map", "dirPtr", 16),
            map_dirlen: o("internal/runtime/maps.Map", "dirLen", 24),
            table_groups: o("internal/runtime/maps.table", "groups", 16),
            groups_data: o("internal/runtime/maps.groupsReference", "data", 0),
            groups_mask: o("internal/runtime/maps.groupsReference", "lengthMask", ptr),
            chan_qcount: o("runtime.hchan", "qcount", 0),
            chan_dataqsiz: o("runtime.hchan", "dataqsiz", ptr),
            chan_buf: o("runtime.hchan", "buf", 2 * ptr),
            chan_recvx: l.offset("runtime.hchan", "recvx").ok(),
            tflag_direct: l
                .constant_u64("internal/abi.TFlagDirectIface")
                .ok()
                .map(|v| v as u8),
            kind_direct: l
                .constant_u64("internal/abi.KindDirectIface")
                .ok()
                .map(|v| v as u8),
        };
        let md = proc.binary().moduledata();
        let (reader, reader_err, types_range, md_ranges) = match md {
            Ok(md) => {
                let ranges = vec![
                    ("data", md.data_range().0, md.data_range().1),
                    ("bss", md.bss_range().0, md.bss_range().1),
                    ("noptrdata", md.noptrdata_range().0, md.noptrdata_range().1),
                    ("noptrbss", md.noptrbss_range().0, md.noptrbss_range().1),
                ];
                match proc.binary().type_reader(&md) {
                    Ok(r) => (Some(r), None, md.types_range(), ranges),
                    Err(e) => (None, Some(e.to_string()), md.types_range(), ranges),
                }
            }
            Err(e) => (None, Some(e.to_string()), (0, 0), Vec::new()),
        };
        Decoder {
            proc,
            heap,
            typing,
            reader,
            reader_err,
            types_range,
            md_ranges,
            bias: proc.load_bias(),
            ptr,
            off,
            limits: Limits::default(),
            budget: Cell::new(0),
            dwarf: OnceCell::new(),
            by_name: OnceCell::new(),
            overlay: RefCell::new(Vec::new()),
        }
    }

    /// The same decoder with other limits.
    ///
    /// ```no_run
    /// # fn f(d: gocore::Decoder<'_, '_>) {
    /// let d = d.with_limits(gocore::Limits { depth: 1, ..Default::default() });
    /// # }
    /// ```
    pub fn with_limits(mut self, limits: Limits) -> Decoder<'p, 'a> {
        self.limits = limits;
        self
    }

    /// Whether the executable has DWARF this decoder can read (globals' and frame
    /// variables' names and types need it).
    ///
    /// ```no_run
    /// # fn f(d: &gocore::Decoder<'_, '_>) {
    /// if !d.has_dwarf() { eprintln!("no DWARF: frame variables unavailable"); }
    /// # }
    /// ```
    pub fn has_dwarf(&self) -> bool {
        self.dwarf().is_ok()
    }

    /// Why DWARF is unavailable, if it is.
    ///
    /// ```no_run
    /// # fn f(d: &gocore::Decoder<'_, '_>) {
    /// if let Some(why) = d.dwarf_error() { eprintln!("{why}"); }
    /// # }
    /// ```
    pub fn dwarf_error(&self) -> Option<String> {
        self.dwarf().err()
    }

    fn dwarf(&self) -> Result<&DwarfInfo, String> {
        self.dwarf
            .get_or_init(|| read_dwarf(self.proc.binary().data()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Decodes the value of the runtime type whose descriptor is at run-time
    /// address `type_addr`, stored at `addr`.
    ///
    /// ```no_run
    /// # fn f(d: &gocore::Decoder<'_, '_>, typing: &gocore::Typing) {
    /// let t = &typing.types()[0];
    /// let v = d.decode(0xc000010000, t.addr);
    /// # }
    /// ```
    pub fn decode(&self, addr: u64, type_addr: u64) -> Value {
        self.budget.set(0);
        self.value(addr, Ty::Rt(type_addr), 0)
    }

    /// The run-time address of the type descriptor named `name` as the runtime
    /// spells it (`main.ListNode`, `*main.T`, `map[string]int`), among the
    /// executable's descriptors; the first by address when several share the name.
    ///
    /// ```no_run
    /// # fn f(d: &gocore::Decoder<'_, '_>) {
    /// if let Some(t) = d.type_by_name("main.ListNode") {
    ///     let v = d.decode(0xc000010000, t);
    /// }
    /// # }
    /// ```
    pub fn type_by_name(&self, name: &str) -> Option<u64> {
        let m = self.by_name.get_or_init(|| {
            let mut m = HashMap::new();
            let Some(r) = &self.reader else { return m };
            let mut all = r.all_types().unwrap_or_default();
            all.sort_unstable();
            for link in all {
                if let Ok(d) = r.type_at(link) {
                    m.entry(d.name).or_insert(link.wrapping_add(self.bias));
                }
            }
            m
        });
        m.get(name).copied()
    }

    /// The heap object `id` decoded with the type [`Typing`] gave it: a struct,
    /// an array `[N]T` when it holds N values (slice backing arrays), the value at
    /// the type's offset when only interior pointers typed it. `None` when no
    /// heap/typing was given, the object does not exist or is untyped.
    ///
    /// ```no_run
    /// # fn f(d: &gocore::Decoder<'_, '_>, heap: &gocore::Heap<'_>) {
    /// if let Some((id, _)) = heap.find_object(0xc000010000) {
    ///     let v = d.object(id);
    /// }
    /// # }
    /// ```
    pub fn object(&self, id: ObjId) -> Option<Value> {
        let heap = self.heap?;
        let typing = self.typing?;
        let obj = heap.object(id)?;
        let t = typing.object_type(id)?;
        let e = typing.type_entry(t.ty)?;
        let addr = obj.addr.wrapping_add(t.offset);
        self.budget.set(0);
        if t.elems <= 1 {
            return Some(self.value(addr, Ty::Rt(e.addr), 0));
        }
        let n = t.elems;
        let mut elems = Vec::new();
        for i in 0..n.min(self.limits.elems) {
            elems.push(self.value(addr.wrapping_add(i.wrapping_mul(e.size)), Ty::Rt(e.addr), 1));
        }
        Some(Value {
            addr,
            type_name: format!("[{n}]{}", e.name),
            size: n.saturating_mul(e.size),
            data: Data::Array { len: n, elems },
        })
    }

    /// How [`Typing`] typed object `id`; `None` when untyped.
    ///
    /// ```no_run
    /// # fn f(d: &gocore::Decoder<'_, '_>, id: gocore::ObjId) {
    /// println!("{:?}", d.object_type_source(id));
    /// # }
    /// ```
    pub fn object_type_source(&self, id: ObjId) -> Option<TypeSource> {
        Some(self.typing?.object_type(id)?.source)
    }

    /// Package variables, sorted by address. From DWARF when present (name, type,
    /// value); otherwise from the symbol table's data and bss symbols (name,
    /// address, size, pointer words from the module's GC masks, no type; the value
    /// is then an untyped struct of its pointer words, `+OFF` fields holding where
    /// each points). Empty when neither is available.
    ///
    /// ```no_run
    /// # fn f(d: &gocore::Decoder<'_, '_>) {
    /// for g in d.globals() { println!("{:#x} {}", g.addr.unwrap_or(0), g.name); }
    /// # }
    /// ```
    pub fn globals(&self) -> Vec<Variable> {
        match self.dwarf() {
            Ok(dw) => {
                let mut out: Vec<Variable> = dw
                    .globals
                    .iter()
                    .map(|g| {
                        let addr = g.addr.wrapping_add(self.bias);
                        self.budget.set(0);
                        let value = self.value(addr, Ty::Dw(g.ty), 0);
                        Variable {
                            name: g.name.clone(),
                            kind: VarKind::Global,
                            addr: Some(addr),
                            size: value.size,
                            type_name: Some(value.type_name.clone()),
                            value: Some(value),
                            pointer_words: Vec::new(),
                            note: None,
                        }
                    })
                    .collect();
                out.sort_by(|a, b| a.addr.cmp(&b.addr).then_with(|| a.name.cmp(&b.name)));
                out
            }
            Err(_) => self.symtab_globals(),
        }
    }

    fn symtab_globals(&self) -> Vec<Variable> {
        let Ok(file) = object::File::parse(self.proc.binary().data()) else {
            return Vec::new();
        };
        let masks = self.proc.binary().moduledata().ok().map(|md| {
            (
                self.proc.binary().data_pointer_mask(&md).ok(),
                self.proc.binary().bss_pointer_mask(&md).ok(),
            )
        });
        let mut out = Vec::new();
        for s in file.symbols() {
            if s.kind() != object::SymbolKind::Data || s.size() == 0 {
                continue;
            }
            let Ok(name) = s.name() else { continue };
            let link = s.address();
            if !self
                .md_ranges
                .iter()
                .any(|&(_, lo, hi)| link >= lo && link < hi)
            {
                continue;
            }
            let size = s.size();
            let mut pointer_words = Vec::new();
            if let Some((d, b)) = &masks {
                for m in [d, b].into_iter().flatten() {
                    // Only words the mask covers (a symbol size is not trusted).
                    let covered = m.nbits.saturating_mul(self.ptr);
                    if link < m.start || link >= m.start.saturating_add(covered) {
                        continue;
                    }
                    let mut o = 0u64;
                    while o < size.min(1 << 24) && pointer_words.len() < 1 << 16 {
                        if m.is_pointer(link.wrapping_add(o)) {
                            pointer_words.push(o);
                        }
                        o = o.saturating_add(self.ptr.max(1));
                    }
                }
            }
            let addr = link.wrapping_add(self.bias);
            // No type: the pointer words (from the GC masks) and where they point.
            let value = (!pointer_words.is_empty()).then(|| Value {
                addr,
                type_name: String::new(),
                size,
                data: Data::Struct {
                    fields: pointer_words
                        .iter()
                        .take(64)
                        .map(|&o| {
                            let a = addr.wrapping_add(o);
                            Field {
                                name: format!("+{o}"),
                                offset: o,
                                value: Value {
                                    addr: a,
                                    type_name: "unsafe.Pointer".into(),
                                    size: self.ptr,
                                    data: match self.word(a) {
                                        Some(t) => self.pointer_data(t),
                                        None => Data::Unreadable(format!("{a:#x} unreadable")),
                                    },
                                },
                            }
                        })
                        .collect(),
                },
            });
            out.push(Variable {
                name: name.to_string(),
                kind: VarKind::Global,
                addr: Some(addr),
                size,
                type_name: None,
                value,
                pointer_words,
                note: Some(
                    "no DWARF: name and size from the symbol table, pointer words from the GC masks"
                        .into(),
                ),
            });
        }
        out.sort_by(|a, b| a.addr.cmp(&b.addr).then_with(|| a.name.cmp(&b.name)));
        out
    }

    /// The parameters, results and locals of a goroutine frame, in DWARF order,
    /// with values for those that live in the frame's stack slots at its PC. An
    /// inlined frame gets the variables of the innermost call of its function
    /// inlined at that PC; frames of functions without DWARF give none. Variables
    /// in registers get no value (their note says why); see
    /// [`Decoder::frame_variables_with`]. Errors when there is no DWARF.
    ///
    /// ```no_run
    /// # fn f(d: &gocore::Decoder<'_, '_>, proc: &gocore::Process<'_>, g: &gocore::Goroutine) {
    /// for fr in g.stack(proc).frames {
    ///     for v in d.frame_variables(&fr).unwrap_or_default() {
    ///         println!("{} {} {:?}", fr.function, v.name, v.value.map(|v| v.data.kind()));
    ///     }
    /// }
    /// # }
    /// ```
    pub fn frame_variables(&self, frame: &Frame) -> Result<Vec<Variable>, String> {
        self.frame_variables_with(frame, None)
    }

    /// The register values known for each frame of `g`'s stack `frames` (as
    /// [`Goroutine::stack`] gives them, innermost first), parallel to `frames`:
    /// the innermost physical frame of a goroutine running on a thread (from the
    /// thread's registers or the signal context that interrupted it) and frames
    /// `runtime.asyncPreempt` interrupted (from the registers it saved). `None`
    /// elsewhere: Go keeps no registers across calls.
    ///
    /// ```no_run
    /// # fn f(d: &gocore::Decoder<'_, '_>, proc: &gocore::Process<'_>, g: &gocore::Goroutine) {
    /// let stack = g.stack(proc);
    /// let regs = d.stack_registers(g, &stack.frames);
    /// for (fr, r) in stack.frames.iter().zip(&regs) {
    ///     let vars = d.frame_variables_with(fr, r.as_ref()).unwrap_or_default();
    /// }
    /// # }
    /// ```
    pub fn stack_registers(&self, g: &Goroutine, frames: &[Frame]) -> Vec<Option<FrameRegisters>> {
        registers::stack_registers(self.proc, g, frames)
    }

    /// Like [`Decoder::frame_variables`], with the frame's register values (from
    /// [`Decoder::stack_registers`]): a variable whose location at the frame's PC is
    /// a register, or pieces in registers and stack slots, is then decoded too
    /// (its [`Variable::addr`] is `None` unless it is wholly in memory, its value's
    /// address 0, and its note names the registers). Without register values such
    /// a variable has no value and a note saying so.
    ///
    /// ```no_run
    /// # fn f(d: &gocore::Decoder<'_, '_>, fr: &gocore::Frame, r: Option<&gocore::FrameRegisters>) {
    /// for v in d.frame_variables_with(fr, r).unwrap_or_default() {
    ///     println!("{} {:?}", v.name, v.note);
    /// }
    /// # }
    /// ```
    pub fn frame_variables_with(
        &self,
        frame: &Frame,
        regs: Option<&FrameRegisters>,
    ) -> Result<Vec<Variable>, String> {
        let dw = self.dwarf()?;
        let pc = if frame.trap {
            frame.pc
        } else {
            frame.pc.wrapping_sub(1)
        };
        // Register values hold at this frame's own PC and SP only.
        let regs = regs.filter(|r| r.pc() == frame.pc && r.sp() == frame.sp);
        let link = pc.wrapping_sub(self.bias);
        let i = dw.subs.partition_point(|s| s.lo <= link);
        let Some(sub) = i.checked_sub(1).and_then(|i| dw.subs.get(i)) else {
            return Ok(Vec::new());
        };
        if link >= sub.hi {
            return Ok(Vec::new());
        }
        let vars = if frame.inlined {
            // The innermost call of this function inlined at this PC.
            let within = |r: &[(u64, u64)]| r.iter().any(|&(lo, hi)| link >= lo && link < hi);
            let span = |r: &[(u64, u64)]| {
                r.iter()
                    .map(|&(lo, hi)| hi.saturating_sub(lo))
                    .fold(0u64, u64::saturating_add)
            };
            match sub
                .inlined
                .iter()
                .filter(|x| x.name == frame.function && within(&x.ranges))
                .min_by_key(|x| span(&x.ranges))
            {
                Some(x) => &x.vars,
                None => return Ok(Vec::new()),
            }
        } else {
            &sub.vars
        };
        let arch = self.proc.core().arch();
        let mut out = Vec::new();
        for v in vars {
            let loc = v
                .locs
                .iter()
                .find(|l| link >= l.0 && link < l.1)
                .map(|l| &l.2);
            let ty_size = dw.size_of(v.ty);
            let single;
            let parts: &[(Part, u64)] = match loc {
                Some(Loc::Register(r)) => {
                    single = [(Part::Reg(*r), ty_size)];
                    &single
                }
                Some(Loc::Pieces(p)) => p,
                _ => &[],
            };
            let (addr, note) = match loc {
                Some(Loc::Cfa(off)) => (Some(frame.fp.wrapping_add(*off as u64)), None),
                Some(Loc::Register(_) | Loc::Pieces(_)) => (None, None),
                Some(Loc::OptimizedOut) => (None, Some("optimized out at this PC".to_string())),
                Some(Loc::Other) => (None, Some("location not supported".to_string())),
                None => (None, Some("not live at this PC".to_string())),
            };
            let ty_name = dw.type_name(v.ty);
            let (value, size, note) = match (addr, parts.is_empty()) {
                (Some(a), _) => {
                    self.budget.set(0);
                    let val = self.value(a, Ty::Dw(v.ty), 0);
                    let s = val.size;
                    (Some(val), s, note)
                }
                (None, false) => match self.assemble(parts, frame, regs, arch) {
                    Ok((bytes, what)) => {
                        *self.overlay.borrow_mut() = bytes;
                        self.budget.set(0);
                        let mut val = self.value(OVERLAY_BASE, Ty::Dw(v.ty), 0);
                        self.overlay.borrow_mut().clear();
                        clear_overlay_addrs(&mut val);
                        let s = val.size;
                        (Some(val), s, Some(what))
                    }
                    Err(why) => (None, ty_size, Some(why)),
                },
                (None, true) => (None, ty_size, note),
            };
            out.push(Variable {
                name: v.name.clone(),
                kind: v.kind,
                addr,
                size,
                type_name: Some(value.as_ref().map_or(ty_name, |v| v.type_name.clone())),
                value,
                pointer_words: Vec::new(),
                note,
            });
        }
        Ok(out)
    }

    /// The bytes of a value in `parts` (registers, stack slots, optimized-out
    /// pieces) and a note saying where they came from; or why they cannot be had.
    fn assemble(
        &self,
        parts: &[(Part, u64)],
        frame: &Frame,
        regs: Option<&FrameRegisters>,
        arch: corefile::Arch,
    ) -> Result<(Vec<Option<u8>>, String), String> {
        let reg_names: Vec<String> = parts
            .iter()
            .filter_map(|p| match p.0 {
                Part::Reg(r) => Some(registers::register_name(arch, r)),
                _ => None,
            })
            .collect();
        let place = match reg_names.len() {
            0 => "stack slots".to_string(),
            1 => format!("register {}", reg_names[0]),
            _ => format!("registers {}", reg_names.join(", ")),
        };
        let regs = match regs {
            Some(r) => Some(r),
            None if reg_names.is_empty() => None,
            None => {
                return Err(format!(
                    "in {place} at this PC: value not recorded (Go saves no registers across calls)"
                ))
            }
        };
        let total: u64 = parts.iter().map(|p| p.1).fold(0, u64::saturating_add);
        if total == 0 || total > 1 << 12 {
            return Err(format!("in {place}: {total} bytes"));
        }
        let mut bytes: Vec<Option<u8>> = Vec::new();
        let mut absent = false;
        for &(part, size) in parts {
            match (part, regs) {
                (Part::Reg(r), Some(regs)) => {
                    let name = registers::register_name(arch, r);
                    let Some(v) = regs.get(r) else {
                        return Err(format!(
                            "in register {name} at this PC: not among the {}",
                            regs.source().name()
                        ));
                    };
                    if size > 8 {
                        return Err(format!(
                            "{size} bytes in register {name}: only 8-byte registers are read"
                        ));
                    }
                    bytes.extend(v.to_le_bytes().iter().take(size as usize).map(|&b| Some(b)));
                }
                (Part::Cfa(off), _) => {
                    let a = frame.fp.wrapping_add(off as u64);
                    match self.proc.core().read(a, size as usize) {
                        Ok(b) => bytes.extend(b.iter().map(|&x| Some(x))),
                        Err(_) => bytes.extend(std::iter::repeat_n(None, size as usize)),
                    }
                }
                (Part::Absent, _) | (Part::Reg(_), None) => {
                    absent = true;
                    bytes.extend(std::iter::repeat_n(None, size as usize));
                }
            }
        }
        let mut what = match regs {
            Some(r) => format!("in {place}, {}", r.source().name()),
            None => format!("in {place}"),
        };
        if absent {
            what.push_str("; partly optimized out");
        }
        Ok((bytes, what))
    }

    // ---------------------------------------------------------------- decoding

    fn word(&self, addr: u64) -> Option<u64> {
        self.read_uint(addr, if self.ptr == 4 { 4 } else { 8 }).ok()
    }

    /// An `n`-byte (1, 2, 4 or 8) little-endian unsigned integer at `addr`, from the
    /// register overlay or the core.
    fn read_uint(&self, addr: u64, n: u64) -> Result<u64, String> {
        if addr >= OVERLAY_BASE {
            let ov = self.overlay.borrow();
            let mut v = 0u64;
            for i in 0..n.min(8) {
                let b = usize::try_from(addr - OVERLAY_BASE + i)
                    .ok()
                    .and_then(|o| ov.get(o).copied().flatten())
                    .ok_or("optimized out")?;
                v |= u64::from(b) << (8 * i);
            }
            return Ok(v);
        }
        let core = self.proc.core();
        let err = |e: corefile::Error| format!("reading {n} bytes at {addr:#x}: {e}");
        Ok(match n {
            1 => u64::from(core.read_u8(addr).map_err(err)?),
            2 => u64::from(core.read_u16(addr).map_err(err)?),
            4 => u64::from(core.read_u32(addr).map_err(err)?),
            _ => core.read_u64(addr).map_err(err)?,
        })
    }

    fn desc(&self, rt: u64) -> Result<TypeDesc, String> {
        let Some(r) = &self.reader else {
            return Err(format!(
                "no type descriptors: {}",
                self.reader_err.as_deref().unwrap_or("unreadable")
            ));
        };
        let link = rt.wrapping_sub(self.bias);
        if link < self.types_range.0 || link >= self.types_range.1 {
            return Err(format!("type descriptor {rt:#x} outside the types section"));
        }
        r.type_at(link).map_err(|e| e.to_string())
    }

    fn rt_of_link(&self, link: u64) -> u64 {
        link.wrapping_add(self.bias)
    }

    fn unreadable(addr: u64, type_name: String, size: u64, why: String) -> Value {
        Value {
            addr,
            type_name,
            size,
            data: Data::Unreadable(why),
        }
    }

    fn value(&self, addr: u64, ty: Ty, depth: u32) -> Value {
        let n = self.budget.get().saturating_add(1);
        self.budget.set(n);
        if n > self.limits.values.saturating_mul(4) {
            // Past the budget even unexpanded values stop (and DWARF typedef
            // chains cannot recurse forever).
            return Value {
                addr,
                type_name: String::new(),
                size: 0,
                data: Data::Elided,
            };
        }
        match ty {
            Ty::Rt(rt) => match self.desc(rt) {
                Ok(d) => self.value_rt(addr, &d, depth, n > self.limits.values),
                Err(e) => Self::unreadable(addr, format!("type@{rt:#x}"), 0, e),
            },
            Ty::Dw(off) => {
                let Ok(dw) = self.dwarf() else {
                    return Self::unreadable(addr, "?".into(), 0, "no DWARF".into());
                };
                match dw.runtime_type(off) {
                    Some(link) if self.reader.is_some() => {
                        let rt = self.rt_of_link(self.dw_rt_link(link));
                        match self.desc(rt) {
                            Ok(d) => self.value_rt(addr, &d, depth, n > self.limits.values),
                            Err(_) => self.value_dw(dw, addr, off, depth, n > self.limits.values),
                        }
                    }
                    _ => self.value_dw(dw, addr, off, depth, n > self.limits.values),
                }
            }
        }
    }

    /// `DW_AT_go_runtime_type` is an offset from the types section, or (inside it)
    /// the descriptor's link address.
    fn dw_rt_link(&self, v: u64) -> u64 {
        let (t0, t1) = self.types_range;
        if v >= t0 && v < t1 {
            v
        } else {
            t0.wrapping_add(v)
        }
    }

    fn basic(&self, addr: u64, kind: Kind, size: u64) -> Result<Data, String> {
        let u = |n: u64| self.read_uint(addr, n);
        let sext = |v: u64, n: u64| -> i64 {
            let sh = 64 - 8 * n.clamp(1, 8) as u32;
            ((v << sh) as i64) >> sh
        };
        Ok(match kind {
            Kind::Bool => Data::Bool(u(1)? != 0),
            Kind::Int | Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64 => {
                Data::Int(sext(u(size)?, size))
            }
            Kind::Uint
            | Kind::Uint8
            | Kind::Uint16
            | Kind::Uint32
            | Kind::Uint64
            | Kind::Uintptr => Data::Uint(u(size)?),
            Kind::Float32 => Data::Float(f64::from(f32::from_bits(u(4)? as u32))),
            Kind::Float64 => Data::Float(f64::from_bits(u(8)?)),
            Kind::Complex64 => {
                let re = self.read_uint(addr, 4)? as u32;
                let im = self.read_uint(addr.wrapping_add(4), 4)? as u32;
                Data::Complex(f64::from(f32::from_bits(re)), f64::from(f32::from_bits(im)))
            }
            Kind::Complex128 => {
                let re = self.read_uint(addr, 8)?;
                let im = self.read_uint(addr.wrapping_add(8), 8)?;
                Data::Complex(f64::from_bits(re), f64::from_bits(im))
            }
            _ => return Err(format!("{kind:?} is not a basic kind")),
        })
    }

    /// A slice header's data pointer, length and capacity.
    fn slice_header(&self, addr: u64) -> Option<(u64, u64, u64)> {
        let p = self.ptr;
        Some((
            self.word(addr)?,
            self.word(addr.wrapping_add(p))?,
            self.word(addr.wrapping_add(2 * p))?,
        ))
    }

    fn string_data(&self, addr: u64) -> Result<Data, String> {
        let (Some(ptr), Some(len)) = (self.word(addr), self.word(addr.wrapping_add(self.ptr)))
        else {
            return Err(format!("string header at {addr:#x} unreadable"));
        };
        let shown = len.min(self.limits.string_bytes);
        let (text, ok) = if shown == 0 {
            (String::new(), true)
        } else {
            match self.proc.core().read(ptr, shown as usize) {
                Ok(b) => (String::from_utf8_lossy(&b).into_owned(), true),
                Err(_) => (String::new(), false),
            }
        };
        Ok(Data::String {
            ptr,
            len,
            text,
            truncated: !ok || shown < len,
        })
    }

    fn pointer_data(&self, target: u64) -> Data {
        let object = self.heap.and_then(|h| {
            let (id, off) = h.find_object(target)?;
            let o = h.object(id)?;
            Some(PointerTarget {
                object: o.addr,
                offset: off,
                type_name: self
                    .typing
                    .and_then(|t| t.object_type_name(id))
                    .or_else(|| h.object_type(&o).map(|t| t.display_name())),
            })
        });
        Data::Pointer { target, object }
    }

    fn func_data(&self, addr: u64) -> Data {
        let ptr = self.word(addr).unwrap_or(0);
        if ptr == 0 {
            return Data::Func {
                ptr,
                pc: 0,
                function: None,
            };
        }
        let pc = self.word(ptr).unwrap_or(0);
        Data::Func {
            ptr,
            pc,
            function: self.proc.func_for_pc(pc).map(|f| f.name.to_string()),
        }
    }

    /// A channel value; `elem` (run-time descriptor of the element type) and
    /// `expand` decide whether the buffered elements are decoded.
    fn chan_data(&self, addr: u64, elem: Option<u64>, depth: u32, expand: bool) -> Data {
        let ptr = self.word(addr).unwrap_or(0);
        if ptr == 0 {
            return Data::Chan {
                ptr,
                len: 0,
                cap: 0,
                elems: Vec::new(),
            };
        }
        let len = self
            .word(ptr.wrapping_add(self.off.chan_qcount))
            .unwrap_or(0);
        let cap = self
            .word(ptr.wrapping_add(self.off.chan_dataqsiz))
            .unwrap_or(0);
        let mut elems = Vec::new();
        if let (true, Some(e), Some(rx), true) =
            (expand, elem, self.off.chan_recvx, cap > 0 && len <= cap)
        {
            let size = self.desc(e).map(|d| d.size).unwrap_or(0);
            let buf = self.word(ptr.wrapping_add(self.off.chan_buf)).unwrap_or(0);
            let recvx = self.word(ptr.wrapping_add(rx)).unwrap_or(0) % cap;
            if size > 0 && buf != 0 {
                for i in 0..len.min(self.limits.elems) {
                    let slot = recvx.wrapping_add(i) % cap;
                    elems.push(self.value(
                        buf.wrapping_add(slot.wrapping_mul(size)),
                        Ty::Rt(e),
                        depth + 1,
                    ));
                }
            }
        }
        Data::Chan {
            ptr,
            len,
            cap,
            elems,
        }
    }

    fn is_direct_iface(&self, d: &TypeDesc) -> bool {
        match self.off.tflag_direct {
            Some(f) => d.tflag & f != 0,
            None => self.off.kind_direct.is_some_and(|k| d.raw_kind & k != 0),
        }
    }

    fn interface_data(&self, addr: u64, eface: bool, depth: u32) -> Data {
        let (Some(t), Some(data)) = (self.word(addr), self.word(addr.wrapping_add(self.ptr)))
        else {
            return Data::Unreadable(format!("interface at {addr:#x} unreadable"));
        };
        if t == 0 {
            return Data::Interface {
                dynamic_type: None,
                value: None,
            };
        }
        let dyn_rt = if eface {
            t
        } else {
            match self.word(t.wrapping_add(self.off.itab_type)) {
                Some(x) if x != 0 => x,
                _ => return Data::Unreadable(format!("itab {t:#x} unreadable")),
            }
        };
        let d = match self.desc(dyn_rt) {
            Ok(d) => d,
            Err(e) => {
                return Data::Interface {
                    dynamic_type: Some(format!("type@{dyn_rt:#x}")),
                    value: Some(Box::new(Self::unreadable(data, String::new(), 0, e))),
                }
            }
        };
        let value = if self.is_direct_iface(&d) {
            self.value_rt(
                addr.wrapping_add(self.ptr),
                &d,
                depth + 1,
                self.over_budget(),
            )
        } else {
            self.value_rt(data, &d, depth + 1, self.over_budget())
        };
        Data::Interface {
            dynamic_type: Some(d.name.clone()),
            value: Some(Box::new(value)),
        }
    }

    fn over_budget(&self) -> bool {
        let n = self.budget.get().saturating_add(1);
        self.budget.set(n);
        n > self.limits.values
    }

    fn elems(&self, base: u64, n: u64, stride: u64, ty: Ty, depth: u32) -> Vec<Value> {
        let mut v = Vec::new();
        for i in 0..n.min(self.limits.elems) {
            v.push(self.value(base.wrapping_add(i.wrapping_mul(stride)), ty, depth + 1));
        }
        v
    }

    fn value_rt(&self, addr: u64, d: &TypeDesc, depth: u32, over: bool) -> Value {
        let mut v = Value {
            addr,
            type_name: d.name.clone(),
            size: d.size,
            data: Data::Elided,
        };
        let Some(r) = &self.reader else {
            v.data = Data::Unreadable("no type descriptors".into());
            return v;
        };
        let expand = depth <= self.limits.depth && !over;
        v.data = match d.kind {
            Kind::Bool
            | Kind::Int
            | Kind::Int8
            | Kind::Int16
            | Kind::Int32
            | Kind::Int64
            | Kind::Uint
            | Kind::Uint8
            | Kind::Uint16
            | Kind::Uint32
            | Kind::Uint64
            | Kind::Uintptr
            | Kind::Float32
            | Kind::Float64
            | Kind::Complex64
            | Kind::Complex128 => self
                .basic(addr, d.kind, d.size)
                .unwrap_or_else(Data::Unreadable),
            Kind::String => self.string_data(addr).unwrap_or_else(Data::Unreadable),
            Kind::Pointer | Kind::UnsafePointer => match self.word(addr) {
                Some(t) => self.pointer_data(t),
                None => Data::Unreadable(format!("pointer at {addr:#x} unreadable")),
            },
            Kind::Func => self.func_data(addr),
            Kind::Chan => {
                let e = r.elem(d).ok().flatten().map(|l| self.rt_of_link(l));
                self.chan_data(addr, e, depth, expand)
            }
            Kind::Interface => {
                if !expand {
                    return v;
                }
                let eface = r.interface_methods(d).map(|m| m.is_empty()).unwrap_or(true);
                self.interface_data(addr, eface, depth)
            }
            Kind::Struct => {
                if !expand {
                    return v;
                }
                match r.fields(d) {
                    Ok(fs) => Data::Struct {
                        fields: fs
                            .into_iter()
                            .map(|f| Field {
                                value: self.value(
                                    addr.wrapping_add(f.offset),
                                    Ty::Rt(self.rt_of_link(f.typ)),
                                    depth + 1,
                                ),
                                name: f.name,
                                offset: f.offset,
                            })
                            .collect(),
                    },
                    Err(e) => Data::Unreadable(e.to_string()),
                }
            }
            Kind::Array => {
                let len = r.array_len(d).ok().flatten().unwrap_or(0);
                if !expand {
                    return v;
                }
                match r.elem(d).ok().flatten() {
                    Some(e) => {
                        let stride = d.size.checked_div(len).unwrap_or(0);
                        Data::Array {
                            len,
                            elems: self.elems(addr, len, stride, Ty::Rt(self.rt_of_link(e)), depth),
                        }
                    }
                    None => Data::Unreadable("array without element type".into()),
                }
            }
            Kind::Slice => {
                let Some((ptr, len, cap)) = self.slice_header(addr) else {
                    v.data = Data::Unreadable(format!("slice header at {addr:#x} unreadable"));
                    return v;
                };
                let elems = match (expand, r.elem(d).ok().flatten()) {
                    (true, Some(e)) => {
                        let rt = self.rt_of_link(e);
                        let stride = self.desc(rt).map(|t| t.size).unwrap_or(0);
                        self.elems(ptr, len, stride, Ty::Rt(rt), depth)
                    }
                    _ => Vec::new(),
                };
                Data::Slice {
                    ptr,
                    len,
                    cap,
                    elems,
                }
            }
            Kind::Map => {
                let ptr = self.word(addr).unwrap_or(0);
                self.map_data(ptr, d, depth, expand)
            }
            Kind::Invalid => Data::Unreadable("invalid kind".into()),
            _ => Data::Unreadable(format!("kind {:?} not decoded", d.kind)),
        };
        v
    }

    // ---------------------------------------------------------------- maps

    fn slot_layout(&self, r: &TypeReader<'_, '_>, group: &TypeDesc) -> Option<SlotLayout> {
        let fields = r.fields(group).ok()?;
        let find = |n: &str| fields.iter().find(|f| f.name == n);
        let arr = |name: &str| -> Option<(u64, u64, u64)> {
            let f = find(name)?;
            let t = r.type_at(f.typ).ok()?;
            let e = r.elem(&t).ok()??;
            let n = r.array_len(&t).ok()??;
            let stride = t.size.checked_div(n).unwrap_or(0);
            Some((f.offset, stride, e))
        };
        if let (Some(k), Some(e)) = (arr("keys"), arr("elems").or_else(|| arr("values"))) {
            return Some(SlotLayout {
                key_off: k.0,
                key_stride: k.1,
                key_ty: k.2,
                elem_off: e.0,
                elem_stride: e.1,
                elem_ty: e.2,
                group_size: group.size,
                overflow: find("overflow").map(|f| f.offset),
            });
        }
        let (soff, sstride, slot) = arr("slots")?;
        let st = r.type_at(slot).ok()?;
        let sf = r.fields(&st).ok()?;
        let key = sf.iter().find(|f| f.name == "key")?;
        let elem = sf.iter().find(|f| f.name == "elem")?;
        Some(SlotLayout {
            key_off: soff.wrapping_add(key.offset),
            key_stride: sstride,
            key_ty: key.typ,
            elem_off: soff.wrapping_add(elem.offset),
            elem_stride: sstride,
            elem_ty: elem.typ,
            group_size: group.size,
            overflow: None,
        })
    }

    /// Entries a map header counts (`hmap.count`, an int; `maps.Map.used`, a
    /// uint64).
    fn map_len(&self, ptr: u64) -> u64 {
        if ptr == 0 {
            0
        } else if self.off.classic {
            self.word(ptr.wrapping_add(self.off.hmap_count))
                .unwrap_or(0)
        } else {
            self.proc
                .core()
                .read_u64(ptr.wrapping_add(self.off.map_used))
                .unwrap_or(0)
        }
    }

    fn map_data(&self, ptr: u64, d: &TypeDesc, depth: u32, expand: bool) -> Data {
        let len = self.map_len(ptr);
        let mut out = Data::Map {
            ptr,
            len,
            entries: Vec::new(),
            truncated: len > 0,
        };
        if ptr == 0 || !expand {
            return out;
        }
        let Some(r) = &self.reader else { return out };
        let (Some(key), Some(elem), Some(group)) = (
            r.key(d).ok().flatten(),
            r.elem(d).ok().flatten(),
            r.map_group(d).ok().flatten(),
        ) else {
            return out;
        };
        let Some(lay) = r.type_at(group).ok().and_then(|g| self.slot_layout(r, &g)) else {
            return out;
        };
        let mut slots: Vec<u64> = Vec::new(); // (group address, slot index) packed as addresses
        let mut complete = true;
        let want = self.limits.elems;
        if self.off.classic {
            let b = self
                .proc
                .core()
                .read_u8(ptr.wrapping_add(self.off.hmap_b))
                .unwrap_or(0)
                .min(40);
            let nb = 1u64 << b;
            for (base_off, n) in [
                (self.off.hmap_buckets, nb),
                (self.off.hmap_oldbuckets, nb / 2),
            ] {
                let base = self.word(ptr.wrapping_add(base_off)).unwrap_or(0);
                if base == 0 {
                    continue;
                }
                for i in 0..n.max(1) {
                    let mut bk = base.wrapping_add(i.wrapping_mul(lay.group_size));
                    let mut chain = 0;
                    while bk != 0 && chain < MAX_CHAIN {
                        chain += 1;
                        for j in 0..8u64 {
                            match self.proc.core().read_u8(bk.wrapping_add(j)) {
                                Ok(th) if th >= self.off.min_tophash => {
                                    if (slots.len() as u64) < want {
                                        slots.push(bk);
                                        slots.push(j);
                                    } else {
                                        complete = false;
                                    }
                                }
                                Ok(_) => {}
                                Err(_) => complete = false,
                            }
                        }
                        if (slots.len() as u64) / 2 >= want {
                            break;
                        }
                        bk = lay
                            .overflow
                            .and_then(|o| self.word(bk.wrapping_add(o)))
                            .unwrap_or(0);
                    }
                    if (slots.len() as u64) / 2 >= want {
                        break;
                    }
                }
            }
        } else {
            let dirptr = self
                .word(ptr.wrapping_add(self.off.map_dirptr))
                .unwrap_or(0);
            let dirlen = self
                .word(ptr.wrapping_add(self.off.map_dirlen))
                .unwrap_or(0);
            let mut groups: Vec<(u64, u64)> = Vec::new(); // (first group, count)
            if dirlen == 0 {
                if dirptr != 0 {
                    groups.push((dirptr, 1));
                }
            } else {
                let mut seen = HashSet::new();
                for i in 0..dirlen.min(1 << 20) {
                    let Some(t) = self.word(dirptr.wrapping_add(i * self.ptr)) else {
                        complete = false;
                        continue;
                    };
                    if t == 0 || !seen.insert(t) {
                        continue;
                    }
                    let g = t.wrapping_add(self.off.table_groups);
                    let data = self.word(g.wrapping_add(self.off.groups_data)).unwrap_or(0);
                    let mask = self
                        .proc
                        .core()
                        .read_u64(g.wrapping_add(self.off.groups_mask))
                        .unwrap_or(0);
                    if data != 0 {
                        groups.push((data, mask.saturating_add(1).min(1 << 24)));
                    }
                }
            }
            'outer: for (data, n) in groups {
                for gi in 0..n {
                    let g = data.wrapping_add(gi.wrapping_mul(lay.group_size));
                    let Ok(ctrl) = self.proc.core().read_u64(g) else {
                        complete = false;
                        continue;
                    };
                    for j in 0..8u64 {
                        let c = (ctrl >> (8 * j)) as u8;
                        if c & 0x80 == 0 {
                            if (slots.len() as u64) / 2 >= want {
                                complete = false;
                                break 'outer;
                            }
                            slots.push(g);
                            slots.push(j);
                        }
                    }
                }
            }
        }
        let key_rt = self.rt_of_link(key);
        let elem_rt = self.rt_of_link(elem);
        let key_indirect = lay.key_ty != key;
        let elem_indirect = lay.elem_ty != elem;
        let mut entries = Vec::new();
        for pair in slots.chunks_exact(2) {
            let (g, j) = (pair[0], pair[1]);
            let ka = g.wrapping_add(lay.key_off.wrapping_add(j.wrapping_mul(lay.key_stride)));
            let ea = g.wrapping_add(lay.elem_off.wrapping_add(j.wrapping_mul(lay.elem_stride)));
            let ka = if key_indirect {
                self.word(ka).unwrap_or(0)
            } else {
                ka
            };
            let ea = if elem_indirect {
                self.word(ea).unwrap_or(0)
            } else {
                ea
            };
            entries.push((
                self.value(ka, Ty::Rt(key_rt), depth + 1),
                self.value(ea, Ty::Rt(elem_rt), depth + 1),
            ));
        }
        if let Data::Map {
            entries: e,
            truncated,
            ..
        } = &mut out
        {
            *truncated = !complete || (entries.len() as u64) < len;
            *e = entries;
        }
        out
    }

    // ---------------------------------------------------------------- DWARF types

    fn value_dw(&self, dw: &DwarfInfo, addr: u64, off: usize, depth: u32, over: bool) -> Value {
        let Some(t) = dw.types.get(&off) else {
            return Self::unreadable(addr, "?".into(), 0, format!("DWARF type {off:#x}"));
        };
        let mut v = Value {
            addr,
            type_name: t.name.clone(),
            size: t.size,
            data: Data::Elided,
        };
        let expand = depth <= self.limits.depth && !over;
        let kind = Kind::from_raw(t.go_kind as u8);
        v.data = match (t.tag, kind) {
            (DwTag::Typedef, _) if !matches!(t.go_kind, 18 | 19 | 21) && t.target.is_some() => {
                if t.go_kind == 20 {
                    if !expand {
                        return v;
                    }
                    let eface = t
                        .target
                        .and_then(|x| dw.types.get(&x))
                        .is_some_and(|x| x.name.ends_with("eface"));
                    self.interface_data(addr, eface, depth)
                } else {
                    match t.target {
                        Some(x) => {
                            let mut inner = self.value(addr, Ty::Dw(x), depth);
                            inner.type_name = t.name.clone();
                            return inner;
                        }
                        None => Data::Unreadable("typedef without a type".into()),
                    }
                }
            }
            (_, Kind::Pointer | Kind::UnsafePointer) => match self.word(addr) {
                Some(x) => self.pointer_data(x),
                None => Data::Unreadable(format!("pointer at {addr:#x} unreadable")),
            },
            (_, Kind::String) => self.string_data(addr).unwrap_or_else(Data::Unreadable),
            (_, Kind::Func) => self.func_data(addr),
            (_, Kind::Chan) => self.chan_data(addr, None, depth, false),
            (_, Kind::Map) => {
                // No runtime descriptor: the count, not the entries.
                let ptr = self.word(addr).unwrap_or(0);
                let len = self.map_len(ptr);
                Data::Map {
                    ptr,
                    len,
                    entries: Vec::new(),
                    truncated: len > 0,
                }
            }
            (_, Kind::Interface) => {
                if !expand {
                    return v;
                }
                self.interface_data(addr, t.name == "interface {}", depth)
            }
            (_, Kind::Slice) => {
                let Some((ptr, len, cap)) = self.slice_header(addr) else {
                    v.data = Data::Unreadable(format!("slice header at {addr:#x} unreadable"));
                    return v;
                };
                let elems = match (expand, t.elem) {
                    (true, Some(e)) => {
                        let stride = dw.size_of(e);
                        self.elems(ptr, len, stride, Ty::Dw(e), depth)
                    }
                    _ => Vec::new(),
                };
                Data::Slice {
                    ptr,
                    len,
                    cap,
                    elems,
                }
            }
            (_, Kind::Array) | (DwTag::Array, _) => {
                if !expand {
                    return v;
                }
                match t.target {
                    Some(e) => {
                        let stride = dw.size_of(e);
                        Data::Array {
                            len: t.count,
                            elems: self.elems(addr, t.count, stride, Ty::Dw(e), depth),
                        }
                    }
                    None => Data::Unreadable("array without element type".into()),
                }
            }
            (DwTag::Struct, _) => {
                if !expand {
                    return v;
                }
                Data::Struct {
                    fields: t
                        .members
                        .iter()
                        .map(|(name, o, mt)| Field {
                            name: name.clone(),
                            offset: *o,
                            value: self.value(addr.wrapping_add(*o), Ty::Dw(*mt), depth + 1),
                        })
                        .collect(),
                }
            }
            (DwTag::Base, k) => self.basic(addr, k, t.size).unwrap_or_else(Data::Unreadable),
            _ => Data::Unreadable(format!("DWARF type {} not decoded", t.name)),
        };
        v
    }
}

/// Values decoded from the register overlay have no address: 0; what could not be
/// read there was optimized out.
fn clear_overlay_addrs(v: &mut Value) {
    if v.addr >= OVERLAY_BASE {
        v.addr = 0;
    }
    match &mut v.data {
        Data::Unreadable(why) if why.contains("0xfffff0") => {
            *why = "optimized out (in part) at this PC".to_string();
        }
        Data::Struct { fields } => fields.iter_mut().for_each(|f| {
            if f.value.addr >= OVERLAY_BASE {
                f.value.addr = 0;
            }
            clear_overlay_addrs(&mut f.value)
        }),
        Data::Array { elems, .. } => elems.iter_mut().for_each(clear_overlay_addrs),
        Data::Interface { value: Some(x), .. } => clear_overlay_addrs(x),
        _ => {}
    }
}

// -------------------------------------------------------------------- DWARF index

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DwTag {
    Base,
    Pointer,
    Struct,
    Array,
    Typedef,
    Other,
}

struct DwType {
    tag: DwTag,
    name: String,
    size: u64,
    go_kind: u64,
    rtype: Option<u64>,
    /// `DW_AT_type`: pointee, array element, typedef target.
    target: Option<usize>,
    /// `DW_AT_go_elem` (slices).
    elem: Option<usize>,
    count: u64,
    members: Vec<(String, u64, usize)>,
}

struct DwVar {
    name: String,
    /// `DW_AT_abstract_origin` (inlined variables take name and type from it).
    origin: Option<usize>,
    kind: VarKind,
    ty: usize,
    locs: Vec<(u64, u64, Loc)>,
}

struct DwSub {
    lo: u64,
    hi: u64,
    vars: Vec<DwVar>,
    inlined: Vec<DwInline>,
}

/// A call inlined into a subprogram: where its code is, the inlined function's
/// name (from its abstract origin) and its variables.
struct DwInline {
    ranges: Vec<(u64, u64)>,
    origin: Option<usize>,
    name: String,
    vars: Vec<DwVar>,
}

struct DwGlobal {
    name: String,
    addr: u64,
    ty: usize,
}

struct DwarfInfo {
    types: HashMap<usize, DwType>,
    globals: Vec<DwGlobal>,
    subs: Vec<DwSub>,
}

impl DwarfInfo {
    fn runtime_type(&self, mut off: usize) -> Option<u64> {
        for _ in 0..16 {
            let t = self.types.get(&off)?;
            if let Some(r) = t.rtype {
                return Some(r);
            }
            // Typedefs of maps, chans and interfaces share the target's descriptor
            // only by name; follow plain typedefs alone.
            if t.tag == DwTag::Typedef && !matches!(t.go_kind, 18..=22) {
                off = t.target?;
            } else {
                return None;
            }
        }
        None
    }

    fn type_name(&self, off: usize) -> String {
        self.types
            .get(&off)
            .map_or_else(|| "?".to_string(), |t| t.name.clone())
    }

    fn size_of(&self, off: usize) -> u64 {
        let mut o = off;
        for _ in 0..16 {
            let Some(t) = self.types.get(&o) else {
                return 0;
            };
            if t.size > 0 || t.tag != DwTag::Typedef {
                return t.size;
            }
            match t.target {
                Some(n) => o = n,
                None => return 0,
            }
        }
        0
    }
}

/// Reads the DWARF types, package variables and subprogram variables.
fn read_dwarf(data: &[u8]) -> Result<DwarfInfo, String> {
    let file = object::File::parse(data).map_err(|e| format!("executable: {e}"))?;
    if !dw::has_dwarf(&file) {
        return Err("the executable has no DWARF".into());
    }
    let sections = dw::load(&file, None)?;
    let dwarf = dw::borrow(&sections, dw::endian(&file));
    let mut info = DwarfInfo {
        types: HashMap::new(),
        globals: Vec::new(),
        subs: Vec::new(),
    };
    let mut visited = 0u64;
    // Names (and types) of every subprogram and variable DIE: the abstract origins
    // inlined calls refer to.
    let mut sub_names: HashMap<usize, String> = HashMap::new();
    let mut abstract_vars: HashMap<usize, (String, Option<usize>)> = HashMap::new();
    for unit in dw::units(&dwarf) {
        let (_, unit) = unit?;
        let mut cursor = unit.entries();
        // Tag of each open ancestor, by depth.
        let mut stack: Vec<gimli::DwTag> = Vec::new();
        // Open lexical blocks of the current subprogram: (depth, PC ranges).
        let mut blocks: Vec<(usize, Vec<(u64, u64)>)> = Vec::new();
        // Open inlined calls of the current subprogram: (depth, index in `inlined`).
        let mut inl: Vec<(usize, usize)> = Vec::new();
        let mut cur_struct: Option<usize> = None;
        let mut cur_array: Option<usize> = None;
        let mut cur_sub: Option<usize> = None;
        while let Some(e) = cursor.next_dfs().map_err(|e| format!(".debug_info: {e}"))? {
            visited += 1;
            if visited > dw::MAX_ENTRIES {
                return Err("too many DWARF entries".into());
            }
            let depth = usize::try_from(e.depth()).unwrap_or(0);
            stack.truncate(depth);
            while blocks.last().is_some_and(|b| b.0 >= depth) {
                blocks.pop();
            }
            while inl.last().is_some_and(|b| b.0 >= depth) {
                inl.pop();
            }
            let Some(here) = e.offset().to_debug_info_offset(&unit.header) else {
                stack.push(e.tag());
                continue;
            };
            let here = here.0;
            let tag = e.tag();
            let name = dw::name(&dwarf, &unit, e);
            let dref = |v| dw::die_ref(&unit, v);
            let ty = dref(e.attr_value(gimli::DW_AT_type));
            let inside_inlined = stack.contains(&gimli::DW_TAG_inlined_subroutine);
            if depth == 1 {
                cur_struct = None;
                cur_array = None;
                cur_sub = None;
            }
            let dtag = match tag {
                gimli::DW_TAG_base_type => Some(DwTag::Base),
                gimli::DW_TAG_pointer_type => Some(DwTag::Pointer),
                gimli::DW_TAG_structure_type => Some(DwTag::Struct),
                gimli::DW_TAG_array_type => Some(DwTag::Array),
                gimli::DW_TAG_typedef => Some(DwTag::Typedef),
                gimli::DW_TAG_subroutine_type => Some(DwTag::Other),
                _ => None,
            };
            if let (Some(dtag), 1) = (dtag, depth) {
                let rtype = match e.attr_value(DW_AT_GO_RUNTIME_TYPE) {
                    Some(AttributeValue::Addr(a)) => Some(a),
                    Some(v) => v.udata_value(),
                    None => None,
                }
                .filter(|&a| a != 0);
                let size = dw::udata(e, gimli::DW_AT_byte_size).unwrap_or(0);
                let mut go_kind = dw::udata(e, DW_AT_GO_KIND).unwrap_or(0);
                if dtag == DwTag::Pointer && go_kind == 0 {
                    go_kind = 22;
                }
                let size = if size == 0 && matches!(go_kind, 18 | 19 | 21 | 22 | 26) {
                    u64::from(unit.encoding().address_size)
                } else {
                    size
                };
                if dtag == DwTag::Other && go_kind == 0 {
                    go_kind = 19;
                }
                if dtag == DwTag::Base && go_kind == 0 {
                    let enc = e
                        .attr_value(gimli::DW_AT_encoding)
                        .and_then(|v| match v {
                            AttributeValue::Encoding(x) => Some(x.0),
                            _ => None,
                        })
                        .unwrap_or(0);
                    go_kind = match (enc, size) {
                        (0x02, _) => 1,
                        (0x04, 4) => 13,
                        (0x04, _) => 14,
                        (0x03, 8) => 15,
                        (0x03, _) => 16,
                        (0x05 | 0x06, 1) => 3,
                        (0x05 | 0x06, 2) => 4,
                        (0x05 | 0x06, 4) => 5,
                        (0x05 | 0x06, _) => 6,
                        (_, 1) => 8,
                        (_, 2) => 9,
                        (_, 4) => 10,
                        _ => 11,
                    };
                }
                let elem = dref(e.attr_value(DW_AT_GO_ELEM));
                info.types.insert(
                    here,
                    DwType {
                        tag: dtag,
                        name: name.clone().unwrap_or_default(),
                        size,
                        go_kind,
                        rtype,
                        target: ty,
                        elem,
                        count: 0,
                        members: Vec::new(),
                    },
                );
                cur_struct = (dtag == DwTag::Struct).then_some(here);
                cur_array = (dtag == DwTag::Array).then_some(here);
            }
            if depth == 2 {
                if let (Some(st), gimli::DW_TAG_member, Some(t)) = (cur_struct, tag, ty) {
                    let off = dw::udata(e, gimli::DW_AT_data_member_location).unwrap_or(0);
                    if let Some(s) = info.types.get_mut(&st) {
                        s.members.push((name.clone().unwrap_or_default(), off, t));
                    }
                }
                if let (Some(a), gimli::DW_TAG_subrange_type) = (cur_array, tag) {
                    let n = dw::udata(e, gimli::DW_AT_count)
                        .or_else(|| {
                            dw::udata(e, gimli::DW_AT_upper_bound).map(|u| u.saturating_add(1))
                        })
                        .unwrap_or(0);
                    if let Some(s) = info.types.get_mut(&a) {
                        s.count = n;
                    }
                }
            }
            if depth == 1 && tag == gimli::DW_TAG_subprogram {
                if let Some((lo, hi)) = dw::pc_range(&dwarf, &unit, e) {
                    cur_sub = Some(info.subs.len());
                    info.subs.push(DwSub {
                        lo,
                        hi,
                        vars: Vec::new(),
                        inlined: Vec::new(),
                    });
                }
            }
            let origin = dref(e.attr_value(gimli::DW_AT_abstract_origin));
            if let (Some(n), gimli::DW_TAG_subprogram) = (&name, tag) {
                sub_names.insert(here, n.clone());
            }
            if let (gimli::DW_TAG_variable | gimli::DW_TAG_formal_parameter, Some(n)) = (tag, &name)
            {
                if abstract_vars.len() < 1 << 22 {
                    abstract_vars.insert(here, (n.clone(), ty));
                }
            }
            if let (Some(si), gimli::DW_TAG_lexical_block | gimli::DW_TAG_inlined_subroutine) =
                (cur_sub, tag)
            {
                let mut ranges = Vec::new();
                if let Ok(mut rs) = dwarf.die_ranges(&unit, e) {
                    while let Ok(Some(r)) = rs.next() {
                        if ranges.len() < 1024 {
                            ranges.push((r.begin, r.end));
                        }
                    }
                }
                if tag == gimli::DW_TAG_inlined_subroutine {
                    if let Some(s) = info.subs.get_mut(si) {
                        if s.inlined.len() < 1 << 16 {
                            inl.push((depth, s.inlined.len()));
                            s.inlined.push(DwInline {
                                ranges: ranges.clone(),
                                origin,
                                name: String::new(),
                                vars: Vec::new(),
                            });
                        }
                    }
                }
                blocks.push((depth, ranges));
            }
            // Variables of the subprogram, or of the innermost inlined call they are in.
            let var_ty = ty.or(origin.map(|_| usize::MAX));
            if let (Some(si), Some(t), true) = (cur_sub, var_ty, depth >= 2) {
                if matches!(tag, gimli::DW_TAG_variable | gimli::DW_TAG_formal_parameter)
                    && (!inside_inlined || !inl.is_empty())
                {
                    let kind = if tag == gimli::DW_TAG_variable {
                        VarKind::Local
                    } else if dw::flag(e, gimli::DW_AT_variable_parameter) {
                        VarKind::Result
                    } else {
                        VarKind::Param
                    };
                    let range = info.subs.get(si).map(|s| (s.lo, s.hi));
                    let mut locs = Vec::new();
                    match e.attr_value(gimli::DW_AT_location) {
                        Some(AttributeValue::Exprloc(expr)) => {
                            // A plain expression holds over the innermost enclosing
                            // lexical block, else the whole function.
                            let loc = dw::location(expr, unit.encoding());
                            match (blocks.last(), range) {
                                (Some((_, rs)), _) => {
                                    locs.extend(rs.iter().map(|&(lo, hi)| (lo, hi, loc.clone())));
                                }
                                (None, Some((lo, hi))) => locs.push((lo, hi, loc)),
                                (None, None) => {}
                            }
                        }
                        Some(v) => {
                            if let Ok(Some(mut ll)) = dwarf.attr_locations(&unit, v) {
                                let mut n = 0;
                                while let Ok(Some(l)) = ll.next() {
                                    n += 1;
                                    if n > 4096 {
                                        break;
                                    }
                                    locs.push((
                                        l.range.begin,
                                        l.range.end,
                                        dw::location(l.data, unit.encoding()),
                                    ));
                                }
                            }
                        }
                        None => {}
                    }
                    let target = info.subs.get_mut(si).and_then(|s| {
                        if inside_inlined {
                            let i = inl.last()?.1;
                            s.inlined.get_mut(i).map(|x| &mut x.vars)
                        } else {
                            Some(&mut s.vars)
                        }
                    });
                    if let Some(vars) = target {
                        vars.push(DwVar {
                            origin,
                            name: name.clone().unwrap_or_default(),
                            kind,
                            ty: t,
                            locs,
                        });
                    }
                }
            }
            if depth == 1 && tag == gimli::DW_TAG_variable {
                if let (Some(AttributeValue::Exprloc(expr)), Some(t), Some(n)) =
                    (e.attr_value(gimli::DW_AT_location), ty, name.clone())
                {
                    if let Some(address) = dw::static_address(expr, unit.encoding()) {
                        info.globals.push(DwGlobal {
                            name: n,
                            addr: address,
                            ty: t,
                        });
                    }
                }
            }
            stack.push(tag);
        }
    }
    for s in &mut info.subs {
        let fill = |vars: &mut Vec<DwVar>| {
            for v in vars.iter_mut() {
                if let Some((n, t)) = v.origin.and_then(|o| abstract_vars.get(&o)) {
                    if v.name.is_empty() {
                        v.name = n.clone();
                    }
                    if v.ty == usize::MAX {
                        v.ty = t.unwrap_or(usize::MAX);
                    }
                }
            }
            vars.retain(|v| v.ty != usize::MAX);
        };
        fill(&mut s.vars);
        for i in &mut s.inlined {
            i.name = i
                .origin
                .and_then(|o| sub_names.get(&o))
                .cloned()
                .unwrap_or_default();
            fill(&mut i.vars);
        }
    }
    info.subs.sort_by_key(|s| s.lo);
    Ok(info)
}
