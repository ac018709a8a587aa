//! Typing evidence the runtime itself recorded, read without DWARF.
//!
//! Propagation needs typed starting points; without DWARF the globals and frame
//! slots are untyped. These sources type objects from what the runtime wrote down
//! about them (never from a shape alone), in rounds with propagation and inference:
//!
//! * **Interface words in untyped memory** — untyped scanned heap objects always,
//!   and, when the executable has no DWARF, untyped globals (the data/bss pointer
//!   masks) and frame slots (stack maps; not runtime or reflect frames, not
//!   conservative ones). GC masks mark only an interface's data word, never its type
//!   word; so a word that is *not* a pointer slot, holding exactly the address of one
//!   of the executable's non-interface type descriptors (an `eface` type word) or of
//!   an itab whose `inter` is an interface descriptor and `_type` a non-interface
//!   one (an `iface`; never a heap address), followed by a pointer slot, is an
//!   interface value and the pointer slot its data word. A pointer-shaped dynamic
//!   type `*T` types the target as `T`; another direct one (a struct or array of one
//!   pointer, a func, chan or map) is walked in the data word; any other type boxes
//!   the value in its own allocation, typed as the dynamic type. Why this cannot
//!   misfire: every `*abi.Type`-like field (`reflect.Value.typ_`, `hchan.elemtype`,
//!   `itab._type` …) is a pointer slot, so it is never read as a type word; a
//!   descriptor or itab address is not a heap pointer; and the target must agree
//!   with the runtime's own record of it — a boxed value starts its object (or a
//!   tiny block's pointer-free piece), lies in a noscan span exactly when it has no
//!   pointers, and its pointer mask equals the object's heap bitmap up to the
//!   object's end; a `*T`'s target holds `T`'s pointer mask at the offset. As a
//!   further guard a direct value followed by a `reflect.Value` flag word for its
//!   kind with `flagIndir` set is skipped (in a heap object only when that word is
//!   inside the object: after an object's last interface comes the next object). "One of the executable's descriptors":
//!   inside the type section, aligned, read as a descriptor with a kind, a name and
//!   `PtrBytes <= Size` (named types used only in interfaces are listed nowhere).
//! * **Channels** — a goroutine blocked on a channel (`g.waiting` → each `sudog`)
//!   names the `hchan` (`sudog.c`, typed `runtime.hchan`), and a sending `sudog`
//!   (one in `hchan.sendq`) points at the value being sent (`sudog.elem`), a value
//!   of `hchan.elemtype`. Every `runtime.hchan` typed by any means types its buffer
//!   as `dataqsiz` values of its own `elemtype` (only element types with pointers:
//!   the others live inside the `hchan`'s noscan allocation).
//! * **Finalizers** — a `specialfinalizer`'s `ot` is the `*T` passed to
//!   `runtime.SetFinalizer`: the object it is set on is a `T`; so is a queued
//!   finalizer's `arg` (`runtime.allfin` blocks, `finalizer.ot`).
//!
//! Shape inference also uses these facts ([`Builder::interfaces_agree`]): a
//! candidate's interface fields must hold nil, a descriptor (`any`) or an itab of
//! exactly that interface, and its pointer fields (to non-descriptor types) never a
//! descriptor's or itab's address.
//!
//! Nothing names the type of a cleanup's or a weak handle's object
//! (`specialCleanup`, `specialWeakHandle` hold a func value and a cell), nor of a
//! pointer held only by an untyped global or frame slot.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use gobinary::Kind;

use super::{Builder, Rec, Shape};
use crate::heap::ObjId;
use crate::roots::{RootKind, RootOptions, RootSet};

/// Most sudogs followed per goroutine or channel queue.
const MAX_SUDOGS: u32 = 1 << 16;
/// Most specials walked in all.
const MAX_SPECIALS: u64 = 1 << 24;
/// `reflect.flagIndir`.
const FLAG_INDIR: u64 = 1 << 7;
/// `reflect.flagKindMask`, `abi.KindMask`.
const KIND_MASK: u64 = 0x1f;

/// What a candidate's field says its word holds (shape inference's check).
#[derive(Debug, Clone, Copy)]
enum Word {
    /// An `any` type word: nil or a non-interface descriptor.
    Eface,
    /// A non-empty interface's itab word: nil or an itab of this interface (its
    /// descriptor's run-time address).
    Iface(u64),
    /// A pointer to a type that is not a type descriptor's: never exactly a
    /// descriptor's or an itab's address.
    Ptr,
    /// A func value: nil or a `funcval` whose first word is a function's entry.
    Func,
}

/// State of the evidence sources across rounds.
#[derive(Default)]
pub(super) struct Evidence {
    /// [`Builder::descriptor`] answers by run-time address.
    known: HashMap<u64, Option<bool>>,
    /// Pointer-mask word indexes per type id.
    masks: HashMap<u32, Rc<Vec<u64>>>,
    /// Interface fields per type id ([`Builder::interface_fields`]).
    ifields: HashMap<u32, Rc<Vec<(u64, Word)>>>,
    /// The one-time sources (roots, sudogs, finalizers) were read.
    once: bool,
    /// Untyped heap objects already scanned for interface words (bit per object).
    scanned: Vec<u64>,
}

impl Builder<'_, '_, '_> {
    /// One round of the evidence sources; whether anything new was typed.
    pub(super) fn evidence(&mut self) -> bool {
        let before = self.work.len();
        if !self.ev.once {
            self.ev.once = true;
            if self.dw.is_none() {
                self.root_interfaces();
                self.code_evidence();
            }
            self.sudogs();
            self.finalizers();
            self.finalizer_queue();
        }
        self.channel_buffers();
        self.heap_interfaces();
        self.work.len() > before
    }

    /// Whether `w` is the run-time address of one of the executable's type
    /// descriptors: inside the type section, aligned, and read as a descriptor with
    /// a kind, a name and `PtrBytes <= Size` (named types used only in interfaces
    /// are listed nowhere, so the listed ones are not enough). `Some(is interface)`.
    pub(super) fn descriptor(&mut self, w: u64) -> Option<bool> {
        if let Some(&k) = self.ev.known.get(&w) {
            return k;
        }
        let link = w.wrapping_sub(self.bias);
        let (t0, t1) = self.types_range;
        let k = if link < t0 || link >= t1 || w % self.ptr != 0 {
            None
        } else {
            self.reader.as_ref().and_then(|r| {
                let t = r.type_at(link).ok()?;
                let sane = t.kind != Kind::Invalid
                    && !t.name.is_empty()
                    && t.ptr_bytes <= t.size
                    && t.size < 1 << 40;
                sane.then_some(t.kind == Kind::Interface)
            })
        };
        self.ev.known.insert(w, k);
        k
    }

    /// Pointer words (indexes) of one value of type `id`.
    pub(super) fn mask_words(&mut self, id: u32) -> Option<Rc<Vec<u64>>> {
        if let Some(m) = self.ev.masks.get(&id) {
            return Some(m.clone());
        }
        let addr = self.data.get(id as usize)?.entry.addr;
        let r = self.reader.as_ref()?;
        let t = r.type_at(addr.wrapping_sub(self.bias)).ok()?;
        let mask = if t.ptr_bytes == 0 {
            Vec::new()
        } else {
            r.gc_mask(&t).ok()?
        };
        let words: Vec<u64> = (0..t.ptr_bytes / self.ptr)
            .filter(|&w| {
                mask.get((w / 8) as usize)
                    .is_some_and(|b| b & (1 << (w % 8)) != 0)
            })
            .collect();
        let words = Rc::new(words);
        self.ev.masks.insert(id, words.clone());
        Some(words)
    }

    /// The dynamic type named by the interface type word at `slot` (a descriptor or
    /// an itab), with its kind bits.
    fn dynamic_type(&mut self, slot: u64) -> Option<(u32, u64)> {
        let w = self.word(slot).filter(|&w| w != 0)?;
        self.dynamic_type_of(w)
    }

    /// The dynamic type named by an interface type word `w`.
    fn dynamic_type_of(&mut self, w: u64) -> Option<(u32, u64)> {
        if self.heap.find_object(w).is_some() {
            return None;
        }
        // An itab first (Go 1.27 keeps them in the type section too).
        let t = if let Some(it) = self.itab_type(w) {
            it
        } else if self.descriptor(w) == Some(false) {
            w
        } else {
            return None;
        };
        let r = self.reader.as_ref()?;
        let dd = r.type_at(t.wrapping_sub(self.bias)).ok()?;
        let kind = u64::from(dd.raw_kind) & KIND_MASK;
        Some((self.intern(t)?, kind))
    }

    /// The `_type` of the itab at `w`, if `w` is one: its `inter` is an interface
    /// descriptor and its `_type` a non-interface one.
    fn itab_type(&mut self, w: u64) -> Option<u64> {
        let inter = self.word(w).filter(|&i| i != 0)?;
        let it = self.word(w.wrapping_add(self.off.itab_type))?;
        (self.descriptor(inter) == Some(true) && self.descriptor(it) == Some(false)).then_some(it)
    }

    /// Whether the heap object at `addr` can hold a value of type `id` there, by
    /// the runtime's record of it: `boxed` (an interface's own copy) starts its
    /// object, is noscan exactly when pointer-free, and the object's pointer bitmap
    /// from `addr` to the end equals the type's; otherwise the bitmap over the value
    /// equals the type's mask.
    pub(super) fn target_fits(&mut self, addr: u64, id: u32, boxed: bool) -> bool {
        let Some((obj, off)) = self.heap.object_at(addr) else {
            return false;
        };
        let size = self.size_of(id);
        if size == 0 || off.saturating_add(size) > obj.size {
            return false;
        }
        let Some(mask) = self.mask_words(id) else {
            return false;
        };
        let span = self.heap.span(&obj);
        let (noscan, tiny) = (span.noscan(), span.tiny);
        if boxed && off != 0 && !(tiny && mask.is_empty()) {
            return false;
        }
        if noscan {
            return mask.is_empty();
        }
        if boxed && mask.is_empty() {
            return false;
        }
        let end = if boxed {
            obj.size
        } else {
            off.saturating_add(size)
        };
        let p = self.ptr;
        let mut got = Vec::new();
        for ptr in self.heap.pointers(&obj) {
            let Ok(ptr) = ptr else { return false };
            if ptr.offset >= off && ptr.offset < end {
                got.push((ptr.offset - off) / p);
            }
        }
        got == *mask
    }

    /// An interface value whose type word is at `slot` (data word at `slot + ptr`),
    /// if it is one (see the module docs).
    fn interface_word(&mut self, slot: u64) {
        let Some((dy, kind)) = self.dynamic_type(slot) else {
            return;
        };
        let p = self.ptr;
        let Some(data) = self.word(slot.wrapping_add(p)).filter(|&d| d != 0) else {
            return;
        };
        let direct = self.data.get(dy as usize).is_some_and(|d| d.direct_iface);
        if !direct {
            if self.target_fits(data, dy, true) {
                self.claim(data, dy, 1);
            }
            return;
        }
        // A reflect.Value {typ_, ptr, flag} with flagIndir: ptr points at the value.
        // In a heap object the flag word is inside the object (a last interface
        // is followed by the next object's memory, which says nothing about it).
        let flag_inside = self
            .heap
            .object_at(slot)
            .is_none_or(|(obj, off)| off.saturating_add(3 * p) <= obj.size);
        if flag_inside {
            if let Some(flag) = self.word(slot.wrapping_add(2 * p)) {
                if flag & FLAG_INDIR != 0 && flag & KIND_MASK == kind {
                    return;
                }
            }
        }
        match *self.shape_of(dy) {
            Shape::Inert => {}
            Shape::Ptr(e) => {
                if self.target_fits(data, e, false) {
                    self.claim(data, e, 1);
                }
            }
            _ => self.walk(slot.wrapping_add(p), dy, 0),
        }
    }

    /// Interface values in untyped globals and frame slots (no DWARF).
    fn root_interfaces(&mut self) {
        let opts = RootOptions {
            globals: true,
            stacks: true,
            specials: false,
            queues: false,
        };
        let Ok(rs) = RootSet::collect_with(self.proc, self.heap, &opts) else {
            return;
        };
        let mut slots = Vec::new();
        for r in rs.roots() {
            let ok = match &r.kind {
                RootKind::Global { .. } => true,
                RootKind::Frame {
                    function,
                    conservative,
                    ..
                }
                | RootKind::StackObject {
                    function,
                    conservative,
                    ..
                } => {
                    !*conservative
                        && !crate::goroutine::is_runtime_function(function)
                        && !function.starts_with("reflect.")
                }
                _ => false,
            };
            if ok && r.slot != 0 {
                slots.push(r.slot);
            }
        }
        // The type word is not a pointer slot (GC masks mark only the data word).
        let set: HashSet<u64> = slots.iter().copied().collect();
        for s in slots {
            let t = s.wrapping_sub(self.ptr);
            if !set.contains(&t) {
                self.interface_word(t);
            }
        }
    }

    /// Interface values in untyped scanned heap objects.
    fn heap_interfaces(&mut self) {
        let n = self.heap.object_count();
        let p = self.ptr;
        if self.ev.scanned.is_empty() {
            self.ev.scanned = vec![0; usize::try_from(n.div_ceil(64)).unwrap_or(0)];
        }
        let mut next = 0;
        while let Some(idx) = self.next_object(next, n, |r| r.is_none_or(|r| r.ty() == 0)) {
            next = idx + 1;
            let oid = ObjId(u32::try_from(idx).unwrap_or(u32::MAX));
            // What an untyped object holds does not change between rounds.
            let (w, bit) = ((idx / 64) as usize, 1u64 << (idx % 64));
            match self.ev.scanned.get_mut(w) {
                Some(b) if *b & bit == 0 => *b |= bit,
                _ => continue,
            }
            let Some(obj) = self.heap.object(oid) else {
                continue;
            };
            if self.heap.span(&obj).noscan() {
                continue;
            }
            let mut offs = Vec::new();
            for ptr in self.heap.pointers(&obj) {
                let Ok(ptr) = ptr else { break };
                offs.push(ptr.offset);
            }
            let mut prev = None;
            for &o in &offs {
                // A data word after a non-pointer word.
                if o >= p && prev != Some(o - p) {
                    self.interface_word(obj.addr.wrapping_add(o - p));
                }
                prev = Some(o);
            }
        }
    }

    /// Channels goroutines block on, and the values they send.
    fn sudogs(&mut self) {
        let l = self.proc.layouts();
        let (Ok(waiting), Ok(elem), Ok(c_off), Ok(waitlink), Ok(next), Ok(sendq), Ok(et)) = (
            l.offset("runtime.g", "waiting"),
            l.offset("runtime.sudog", "elem"),
            l.offset("runtime.sudog", "c"),
            l.offset("runtime.sudog", "waitlink"),
            l.offset("runtime.sudog", "next"),
            l.offset("runtime.hchan", "sendq"),
            l.offset("runtime.hchan", "elemtype"),
        ) else {
            return;
        };
        let Ok(gs) = self.proc.goroutines() else {
            return;
        };
        let gs: Vec<u64> = gs.filter_map(|g| g.ok()).map(|g| g.addr).collect();
        let hchan = self.type_named("runtime.hchan");
        for g in gs {
            let mut sg = self.word(g.wrapping_add(waiting)).unwrap_or(0);
            let mut n = 0;
            while sg != 0 && n < MAX_SUDOGS {
                n += 1;
                let c = self.word(sg.wrapping_add(c_off)).unwrap_or(0);
                let ty = self.word(c.wrapping_add(et)).unwrap_or(0);
                if c != 0 && self.descriptor(ty) == Some(false) {
                    if let Some(h) = hchan {
                        self.claim(c, h, 1);
                    }
                    // A sender's sudog is queued in sendq; its elem is the value.
                    let mut q = self.word(c.wrapping_add(sendq)).unwrap_or(0);
                    let mut k = 0;
                    while q != 0 && q != sg && k < MAX_SUDOGS {
                        k += 1;
                        q = self.word(q.wrapping_add(next)).unwrap_or(0);
                    }
                    let v = self.word(sg.wrapping_add(elem)).unwrap_or(0);
                    if q == sg && v != 0 {
                        if let Some(id) = self.intern(ty) {
                            self.walk(v, id, 0);
                        }
                    }
                }
                sg = self.word(sg.wrapping_add(waitlink)).unwrap_or(0);
            }
        }
    }

    /// Every typed `runtime.hchan` types its buffer from its `elemtype`.
    fn channel_buffers(&mut self) {
        let Some(h) = self.type_named("runtime.hchan") else {
            return;
        };
        let Ok(et) = self.proc.layouts().offset("runtime.hchan", "elemtype") else {
            return;
        };
        let n = self.heap.object_count();
        let mut chans = Vec::new();
        let mut next = 0;
        let hchan = |r: Option<Rec>| r.is_some_and(|r| r.ty() == h + 1);
        while let Some(idx) = self.next_object(next, n, hchan) {
            next = idx + 1;
            let oid = ObjId(u32::try_from(idx).unwrap_or(u32::MAX));
            let at_0 = self
                .out
                .rec
                .get(oid.index())
                .is_some_and(|&r| self.out.place(oid.index(), r).0 == 0);
            if !at_0 {
                continue;
            }
            if let Some(o) = self.heap.object(oid) {
                chans.push(o.addr);
            }
        }
        for c in chans {
            let ty = self.word(c.wrapping_add(et)).unwrap_or(0);
            if self.descriptor(ty) != Some(false) {
                continue;
            }
            let Some(id) = self.intern(ty) else { continue };
            if matches!(*self.shape_of(id), Shape::Inert) {
                continue;
            }
            let buf = self.word(c.wrapping_add(self.off.chan_buf)).unwrap_or(0);
            let n = self
                .word(c.wrapping_add(self.off.chan_dataqsiz))
                .unwrap_or(0);
            if n > 0 && self.target_fits(buf, id, false) {
                self.claim(buf, id, n);
            }
        }
    }

    /// Objects with a finalizer: `specialfinalizer.ot` is their `*T`.
    fn finalizers(&mut self) {
        let l = self.proc.layouts();
        let (Ok(specials), Ok(next), Ok(offset), Ok(kind), Ok(ot), Ok(k_fin)) = (
            l.offset("runtime.mspan", "specials"),
            l.offset("runtime.special", "next"),
            l.field("runtime.special", "offset"),
            l.field("runtime.special", "kind"),
            l.offset("runtime.specialfinalizer", "ot"),
            l.constant("runtime._KindSpecialFinalizer"),
        ) else {
            return;
        };
        let spans: Vec<(u64, u64)> = self
            .heap
            .spans()
            .iter()
            .filter(|s| s.state == crate::heap::SpanState::InUse)
            .map(|s| (s.mspan, s.base))
            .collect();
        let core = self.proc.core();
        let read = |a: u64, size: u64| -> Option<u64> {
            match size {
                1 => core.read_u8(a).ok().map(u64::from),
                2 => core.read_u16(a).ok().map(u64::from),
                4 => core.read_u32(a).ok().map(u64::from),
                8 => core.read_u64(a).ok(),
                _ => None,
            }
        };
        let mut found = Vec::new();
        let mut total = 0u64;
        // (Queued finalizers: see [`Builder::finalizer_queue`].)
        'spans: for (mspan, base) in spans {
            let mut sp = self.word(mspan.wrapping_add(specials)).unwrap_or(0);
            while sp != 0 {
                total += 1;
                if total > MAX_SPECIALS {
                    break 'spans;
                }
                let (Some(k), Some(o)) = (
                    read(sp.wrapping_add(kind.offset), kind.size),
                    read(sp.wrapping_add(offset.offset), offset.size),
                ) else {
                    break;
                };
                if k as i64 == k_fin {
                    if let Some(t) = self.word(sp.wrapping_add(ot)) {
                        found.push((base.wrapping_add(o), t));
                    }
                }
                sp = self.word(sp.wrapping_add(next)).unwrap_or(0);
            }
        }
        for (obj, t) in found {
            self.claim_pointee(obj, t);
        }
    }

    /// Types the object at `obj` as the element of the pointer type whose
    /// descriptor is at `t` (a finalizer's `ot`).
    fn claim_pointee(&mut self, obj: u64, t: u64) {
        if obj == 0 || self.descriptor(t) != Some(false) {
            return;
        }
        let Some(r) = self.reader.as_ref() else {
            return;
        };
        let Ok(desc) = r.type_at(t.wrapping_sub(self.bias)) else {
            return;
        };
        if desc.kind != Kind::Pointer {
            return;
        }
        let elem = r.elem(&desc).ok().flatten();
        if let Some(e) = self.link_to_id(elem) {
            self.claim(obj, e, 1);
        }
    }

    /// Finalizers queued to run (`runtime.allfin` blocks, `cnt` entries each): an
    /// entry's `ot` is the `*T` of its `arg`, the object about to be finalized.
    fn finalizer_queue(&mut self) {
        let l = self.proc.layouts();
        let ty = if l.size("runtime.finBlock").is_ok() {
            "runtime.finBlock"
        } else {
            "runtime.finblock"
        };
        let (Ok(alllink), Ok(cnt), Ok(fin), Ok(fsize), Ok(arg), Ok(ot)) = (
            l.offset(ty, "alllink"),
            l.offset(ty, "cnt"),
            l.offset(ty, "fin"),
            l.size("runtime.finalizer"),
            l.offset("runtime.finalizer", "arg"),
            l.offset("runtime.finalizer", "ot"),
        ) else {
            return;
        };
        let cap = l.size(ty).unwrap_or(0).saturating_sub(fin) / fsize.max(1);
        let Ok(head) = self.proc.global_addr("runtime.allfin") else {
            return;
        };
        let mut b = self.word(head).unwrap_or(0);
        let mut found = Vec::new();
        let mut n = 0;
        while b != 0 && n < MAX_SUDOGS {
            n += 1;
            let c = self
                .proc
                .core()
                .read_u32(b.wrapping_add(cnt))
                .map_or(0, u64::from)
                .min(cap);
            for i in 0..c {
                let e = b.wrapping_add(fin).wrapping_add(i.wrapping_mul(fsize));
                if let (Some(a), Some(t)) = (
                    self.word(e.wrapping_add(arg)),
                    self.word(e.wrapping_add(ot)),
                ) {
                    found.push((a, t));
                }
            }
            b = self.word(b.wrapping_add(alllink)).unwrap_or(0);
        }
        for (a, t) in found {
            self.claim_pointee(a, t);
        }
    }
}

impl Builder<'_, '_, '_> {
    /// `(offset, what its word holds)` of every interface field of a value of type
    /// `id`, of every func field, and of every pointer field (to a not-in-heap type
    /// too) whose target type is not a descriptor's.
    fn interface_fields(&mut self, id: u32) -> Rc<Vec<(u64, Word)>> {
        if let Some(v) = self.ev.ifields.get(&id) {
            return v.clone();
        }
        let mut out = Vec::new();
        self.collect_interface_fields(id, 0, 0, &mut out);
        let v = Rc::new(out);
        self.ev.ifields.insert(id, v.clone());
        v
    }

    fn collect_interface_fields(
        &mut self,
        id: u32,
        base: u64,
        depth: u32,
        out: &mut Vec<(u64, Word)>,
    ) {
        if depth > 8 || out.len() > 256 {
            return;
        }
        match &*self.shape_of(id) {
            Shape::Eface => out.push((base, Word::Eface)),
            Shape::Iface => {
                let a = self.data.get(id as usize).map_or(0, |d| d.entry.addr);
                out.push((base, Word::Iface(a)));
            }
            Shape::Ptr(e) => {
                // Descriptors (abi.Type and kin, itabs, names) are pointed to only
                // as such.
                let name = self.data.get(*e as usize).map_or("", |d| &d.entry.name);
                let lower = name.to_ascii_lowercase();
                if !(lower.contains("type") || lower.contains("itab") || name == "uint8") {
                    out.push((base, Word::Ptr));
                }
            }
            Shape::Func => out.push((base, Word::Func)),
            Shape::Struct(fields) => {
                for &(off, f) in fields {
                    self.collect_interface_fields(f, base.wrapping_add(off), depth + 1, out);
                }
                // Pointers to not-in-heap types (no GC pointer, so not in the shape)
                // point at the runtime's off-heap memory, never at a descriptor.
                let addr = self.data.get(id as usize).map_or(0, |d| d.entry.addr);
                let Some(r) = self.reader.as_ref() else {
                    return;
                };
                let Ok(t) = r.type_at(addr.wrapping_sub(self.bias)) else {
                    return;
                };
                for f in r.fields(&t).unwrap_or_default() {
                    let Ok(ft) = r.type_at(f.typ) else { continue };
                    if ft.kind != Kind::Pointer || ft.ptr_bytes != 0 {
                        continue;
                    }
                    let elem = r.elem(&ft).ok().flatten().and_then(|e| r.type_at(e).ok());
                    let name = elem.map(|e| e.name).unwrap_or_default();
                    let lower = name.to_ascii_lowercase();
                    let descriptor_like = lower.contains("type") || lower.contains("itab");
                    if !(name.is_empty() || descriptor_like || name == "uint8") {
                        out.push((base.wrapping_add(f.offset), Word::Ptr));
                    }
                }
            }
            Shape::Array { elem, len, stride } => {
                for i in 0..(*len).min(64) {
                    self.collect_interface_fields(
                        *elem,
                        base.wrapping_add(i.wrapping_mul(*stride)),
                        depth + 1,
                        out,
                    );
                }
            }
            _ => {}
        }
    }

    /// Whether the interface fields of `k` values of `id` at `addr` hold what the
    /// runtime writes there: nil, or for `any` a non-interface type descriptor, for
    /// a non-empty interface an itab of exactly that interface, for a func a
    /// `funcval` starting with a function's entry (shape inference's check of a
    /// candidate's interface and func fields).
    pub(super) fn interfaces_agree(&mut self, addr: u64, id: u32, k: u64) -> bool {
        let fields = self.interface_fields(id);
        if fields.is_empty() {
            return true;
        }
        let size = self.size_of(id);
        for j in 0..k.min(64) {
            for &(off, inter) in fields.iter() {
                let Some(w) = self.word(addr.wrapping_add(j.wrapping_mul(size)).wrapping_add(off))
                else {
                    return false;
                };
                if w == 0 {
                    continue;
                }
                let ok = match inter {
                    Word::Eface => self.descriptor(w) == Some(false) && self.itab_type(w).is_none(),
                    Word::Ptr => {
                        self.heap.find_object(w).is_some() || self.dynamic_type_of(w).is_none()
                    }
                    Word::Func => self.word(w).is_some_and(|pc| {
                        self.proc
                            .func_for_pc(pc)
                            .is_some_and(|f| f.entry.wrapping_add(self.bias) == pc)
                    }),
                    Word::Iface(i) => {
                        let t = self.word(w.wrapping_add(self.off.itab_type)).unwrap_or(0);
                        self.heap.find_object(w).is_none()
                            && self.word(w) == Some(i)
                            && self.descriptor(t) == Some(false)
                    }
                };
                if !ok {
                    return false;
                }
            }
        }
        true
    }
}
