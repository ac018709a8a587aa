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
//!   (`DW_OP_fbreg`, `DW_OP_call_frame_cfa [+ n]`, location lists of DWARF 4 and 5).
//!   Executables without DWARF have neither typed globals nor typed frames yet.
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
//! * **Func values** are followed only when they are method values (`x.M` bound to
//!   a receiver: the wrapper `T.M-fm` names the receiver type, stored after the code
//!   pointer).
//! * **Not typed yet:** closures (a `funcval`'s captured variables have no type
//!   descriptor and no DWARF), strings' bytes, `unsafe.Pointer` fields, runtime-internal objects
//!   (`hmap`, swiss `table`s, `hchan`), register-held values of the interrupted
//!   frame, and inlined functions' variables.
//!
//! **When several types claim one object** the choice is deterministic: a header or
//! `largeType` always wins; otherwise a claim at offset 0 beats an interior claim,
//! then the claim covering more bytes wins (`size × elements`), and among equals the
//! first claim in propagation order (headers in object-id order, then globals in
//! address order, then frames goroutine by goroutine, breadth first) is kept. A replaced claim's own propagation is not
//! undone (a known imprecision of this first version).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Read;
use std::rc::Rc;

use gimli::{AttributeValue, EndianSlice, Operation, RunTimeEndian, SectionId};
use gobinary::{Kind, TypeReader};
use object::{Object as _, ObjectSection};

use crate::heap::{Heap, ObjId};
use crate::process::Process;

/// Most elements of one array or buffer walked.
const MAX_ELEMS: u64 = 1 << 24;
/// Deepest nesting of types walked in place (struct in array in struct …).
const MAX_DEPTH: u32 = 64;
/// Longest overflow-bucket chain followed.
const MAX_CHAIN: u32 = 1 << 16;
/// Most work items processed.
const MAX_WORK: u64 = 1 << 26;
/// Largest decompressed DWARF section accepted.
const MAX_SECTION: u64 = 1 << 30;
/// Go's `DW_AT_go_runtime_type`.
const DW_AT_GO_RUNTIME_TYPE: gimli::DwAt = gimli::DwAt(0x2904);
/// Go's `DW_AT_go_kind`.
const DW_AT_GO_KIND: gimli::DwAt = gimli::DwAt(0x2900);
/// Go's `DW_AT_go_elem`.
const DW_AT_GO_ELEM: gimli::DwAt = gimli::DwAt(0x2902);
/// `DW_AT_go_kind` of slices (`reflect.Slice`).
const SLICE_KIND: u64 = 23;

/// Index of a type in [`Typing::types`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u32);

/// A type known to the typing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypeEntry {
    /// Run-time address of its descriptor.
    pub addr: u64,
    /// Its name as the runtime prints it (`type@ADDR` for descriptors built at run
    /// time).
    pub name: String,
    /// `Size_`.
    pub size: u64,
}

/// Where an object's type came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TypeSource {
    /// Propagated along typed pointers from a typed global or object.
    Propagated,
    /// The malloc header or `mspan.largeType`.
    Header,
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

/// Per-object types for a heap. See the [module documentation](self).
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
    /// Per object: type id + 1 (0 = untyped).
    ty: Vec<u32>,
    offset: Vec<u32>,
    elems: Vec<u32>,
    header: Vec<bool>,
    globals: u64,
    frame_slots: u64,
    warnings: Vec<String>,
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
    /// A func value: followed only for method values (`T.M-fm`).
    Func,
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
    work: VecDeque<(u64, u32, u64)>,
    work_done: u64,
    /// Descriptors by name (built on first need).
    by_name: Option<HashMap<String, u64>>,
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
                ty: vec![0; n],
                offset: vec![0; n],
                elems: vec![0; n],
                header: vec![false; n],
                globals: 0,
                frame_slots: 0,
                warnings: Vec::new(),
            },
            work: VecDeque::new(),
            work_done: 0,
            by_name: None,
        };
        b.headers();
        b.globals();
        b.run();
        let mut out = b.out;
        out.types = b.data.into_iter().map(|d| d.entry).collect();
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
    pub fn object_type(&self, id: ObjId) -> Option<ObjType> {
        let i = id.index();
        let t = *self.ty.get(i)?;
        if t == 0 {
            return None;
        }
        Some(ObjType {
            ty: TypeId(t - 1),
            offset: u64::from(self.offset.get(i).copied().unwrap_or(0)),
            elems: u64::from(self.elems.get(i).copied().unwrap_or(1)),
            source: if self.header.get(i).copied().unwrap_or(false) {
                TypeSource::Header
            } else {
                TypeSource::Propagated
            },
        })
    }

    /// The display name of an object's type (`[N]T` for N values), if typed.
    pub fn object_type_name(&self, id: ObjId) -> Option<String> {
        let t = self.object_type(id)?;
        let e = self.type_entry(t.ty)?;
        Some(if t.elems > 1 {
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
        self.ty.iter().filter(|&&t| t != 0).count() as u64
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

    /// Problems met (no DWARF, unreadable descriptors or values).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
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
            core.read_u32(addr).ok().map(u64::from)
        } else {
            core.read_u64(addr).ok()
        }
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
                    if t.is_some_and(|t| t.ptr_bytes > 0) {
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

    fn headers(&mut self) {
        for obj in self.heap.objects() {
            let Some(t) = self.heap.object_type(&obj) else {
                continue;
            };
            let Some(id) = self.intern(t.addr) else {
                continue;
            };
            let size = self.size_of(id).max(1);
            let n = (obj.size / size).max(1);
            let i = obj.id.index();
            if let (Some(ty), Some(e), Some(h)) = (
                self.out.ty.get_mut(i),
                self.out.elems.get_mut(i),
                self.out.header.get_mut(i),
            ) {
                *ty = id + 1;
                *e = u32::try_from(n).unwrap_or(u32::MAX);
                *h = true;
                self.work.push_back((obj.addr, id, n));
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
    }

    /// Frame slots typed from the DWARF of each goroutine frame's function.
    fn stacks(&mut self, dw: &DwarfTypes) {
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
            if self.source(addr, gt) {
                self.out.frame_slots += 1;
            }
        }
    }

    /// A typed source at run-time address `addr`; whether it was used.
    fn source(&mut self, addr: u64, gt: GlobalType) -> bool {
        let (t0, t1) = self.types_range;
        let (GlobalType::Runtime(rt) | GlobalType::PtrTo(rt) | GlobalType::SliceOf(rt)) = gt;
        // DW_AT_go_runtime_type: an offset from the start of the type section
        // (or, if it falls inside the section, the descriptor's link address).
        let link = if rt >= t0 && rt < t1 {
            rt
        } else {
            t0.wrapping_add(rt)
        };
        let Some(id) = self.intern(link.wrapping_add(self.bias)) else {
            return false;
        };
        match gt {
            GlobalType::Runtime(_) => {
                if matches!(*self.shape_of(id), Shape::Inert) {
                    return false;
                }
                self.work.push_back((addr, id, 1));
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

    fn run(&mut self) {
        while let Some((addr, id, n)) = self.work.pop_front() {
            self.work_done += 1;
            if self.work_done > MAX_WORK {
                self.warn(format!("stopped after {MAX_WORK} work items"));
                return;
            }
            let stride = self.size_of(id);
            if stride == 0 {
                continue;
            }
            for i in 0..n.min(MAX_ELEMS) {
                self.walk(addr.wrapping_add(i.wrapping_mul(stride)), id, 0);
            }
        }
    }

    /// Walks one value of type `id` at `addr`.
    fn walk(&mut self, addr: u64, id: u32, depth: u32) {
        if depth > MAX_DEPTH {
            return;
        }
        let shape = self.shape_of(id);
        let p = self.ptr;
        match &*shape {
            Shape::Inert => {}
            Shape::Ptr(e) => {
                if let Some(v) = self.word(addr) {
                    self.claim(v, *e, 1);
                }
            }
            Shape::Slice(e) => {
                if let (Some(data), Some(cap)) = (self.word(addr), self.word(addr + 2 * p)) {
                    self.claim(data, *e, cap);
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
                    self.walk(addr + p, dy, depth + 1);
                } else {
                    self.claim(data, dy, 1);
                }
            }
            Shape::Chan(e) => {
                let Some(c) = self.word(addr).filter(|&c| c != 0) else {
                    return;
                };
                if matches!(*self.shape_of(*e), Shape::Inert) {
                    return;
                }
                let buf = self.word(c + self.off.chan_buf).unwrap_or(0);
                let n = self.word(c + self.off.chan_dataqsiz).unwrap_or(0);
                if n > 0 {
                    self.claim(buf, *e, n);
                }
            }
            Shape::Func => {
                let Some(f) = self.word(addr).filter(|&f| f != 0) else {
                    return;
                };
                let Some(pc) = self.word(f) else { return };
                let Some(name) = self.proc.func_for_pc(pc).map(|f| f.name) else {
                    return;
                };
                if let Some(recv) = method_value_receiver(name) {
                    if let Some(rid) = self.type_named(&recv) {
                        self.walk(f + p, rid, depth + 1);
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
                    self.walk(addr + i * stride, *elem, depth + 1);
                }
            }
            Shape::Struct(fields) => {
                for &(off, f) in fields {
                    self.walk(addr + off, f, depth + 1);
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
                        self.walk(b + keys.0 + i * keys.2, keys.1, depth + 1);
                        self.walk(b + elems.0 + i * elems.2, elems.1, depth + 1);
                    }
                    match self.word(b + overflow) {
                        Some(o) if o != 0 && o != b => {
                            // An overflow bucket outside this allocation is its own
                            // object of the bucket type.
                            if let Some((oid, 0)) = self.heap.find_object(o) {
                                if self.out.ty.get(oid.index()).copied() == Some(0) {
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
                let Some(ctrl) = self.proc.core().read_u64(addr).ok() else {
                    return;
                };
                for i in 0..8u64 {
                    if (ctrl >> (8 * i)) & 0x80 == 0 {
                        self.walk(addr + slots + i * stride, *slot, depth + 1);
                    }
                }
            }
        }
    }

    fn walk_map(&mut self, m: u64, g: u32) {
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
                self.claim(dir, g, 1);
                return;
            }
            let mut seen = HashSet::new();
            for i in 0..len.min(MAX_ELEMS) {
                let Some(t) = self.word(dir + i * self.ptr) else {
                    return;
                };
                if t == 0 || !seen.insert(t) {
                    continue;
                }
                let gr = t + self.off.table_groups;
                let (Some(data), Some(mask)) = (
                    self.word(gr + self.off.groups_data),
                    self.word(gr + self.off.groups_mask),
                ) else {
                    continue;
                };
                self.claim(data, g, mask.saturating_add(1));
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
        self.claim(addr, g, n);
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
        let size = self.size_of(id);
        if size == 0 {
            return;
        }
        let Some((oid, off)) = self.heap.find_object(target) else {
            return;
        };
        let Some(obj) = self.heap.object(oid) else {
            return;
        };
        let i = oid.index();
        if self.out.header.get(i).copied().unwrap_or(true) {
            return;
        }
        let n = n.min(obj.size.saturating_sub(off) / size).max(1);
        let cur = self.out.ty.get(i).copied().unwrap_or(0);
        if cur != 0 {
            let cur_off = u64::from(self.out.offset.get(i).copied().unwrap_or(0));
            let cur_n = u64::from(self.out.elems.get(i).copied().unwrap_or(1));
            let cur_bytes = self.size_of(cur - 1).saturating_mul(cur_n);
            let new_key = (off == 0, size.saturating_mul(n));
            let cur_key = (cur_off == 0, cur_bytes);
            if new_key <= cur_key {
                return;
            }
        }
        self.set(oid, id, off, n, true);
    }

    fn set(&mut self, oid: ObjId, id: u32, off: u64, n: u64, push: bool) {
        let i = oid.index();
        if let (Some(t), Some(o), Some(e)) = (
            self.out.ty.get_mut(i),
            self.out.offset.get_mut(i),
            self.out.elems.get_mut(i),
        ) {
            *t = id + 1;
            *o = u32::try_from(off).unwrap_or(u32::MAX);
            *e = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if push {
            if let Some(obj) = self.heap.object(oid) {
                self.work.push_back((obj.addr + off, id, n));
            }
        }
    }
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

fn load_section<'d>(file: &object::File<'d>, id: SectionId) -> Result<Cow<'d, [u8]>, String> {
    if !matches!(
        id,
        SectionId::DebugInfo
            | SectionId::DebugAbbrev
            | SectionId::DebugStr
            | SectionId::DebugStrOffsets
            | SectionId::DebugLineStr
            | SectionId::DebugAddr
            | SectionId::DebugLine
            | SectionId::DebugLoc
            | SectionId::DebugLocLists
    ) {
        return Ok(Cow::Borrowed(&[]));
    }
    let name = id.name();
    let section = file
        .section_by_name(name)
        .or_else(|| file.section_by_name(&format!("__{}", name.trim_start_matches('.'))));
    let Some(section) = section else {
        return Ok(Cow::Borrowed(&[]));
    };
    let c = section
        .compressed_data()
        .map_err(|e| format!("{name}: {e}"))?;
    match c.format {
        object::CompressionFormat::None => Ok(Cow::Borrowed(c.data)),
        object::CompressionFormat::Zlib => {
            if c.uncompressed_size > MAX_SECTION {
                return Err(format!("{name}: claims {} bytes", c.uncompressed_size));
            }
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(c.data)
                .take(c.uncompressed_size)
                .read_to_end(&mut out)
                .map_err(|e| format!("{name}: zlib: {e}"))?;
            Ok(Cow::Owned(out))
        }
        other => Err(format!("{name}: unsupported compression {other:?}")),
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
    let sections = gimli::DwarfSections::load(|id| load_section(&file, id))?;
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
                    if let Some(sub) = subs.get_mut(si) {
                        sub.vars.extend(pieces);
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
}

/// What DWARF tells about globals and frames.
struct DwarfTypes {
    globals: Vec<(u64, GlobalType)>,
    index: DieIndex,
    subs: Vec<Subprogram>,
}

#[cfg(test)]
mod tests {
    use super::method_value_receiver;

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
}
