//! The pointer slots of one object, from whichever bitmap the release keeps.

use std::borrow::Cow;

use super::{BitsKind, Heap, Object, TypeInfo};
use crate::error::{Error, Result};

/// Words of object memory read at a time (1 MiB on 64-bit).
const WINDOW_WORDS: u64 = 1 << 17;

/// A pointer slot of an object and the value in it.
///
/// ```
/// let p = gocore::Pointer { offset: 8, target: 0xc000010000 };
/// assert!(!p.is_nil());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pointer {
    /// Offset of the slot from the object's address.
    pub offset: u64,
    /// The word stored there (0 for nil).
    pub target: u64,
}

impl Pointer {
    /// Whether the slot holds nil.
    ///
    /// ```
    /// assert!(gocore::Pointer { offset: 0, target: 0 }.is_nil());
    /// ```
    pub fn is_nil(&self) -> bool {
        self.target == 0
    }
}

enum Src<'h> {
    None,
    /// Bit `shift + w` of `bytes` describes object word `w`.
    Bits {
        bytes: Cow<'h, [u8]>,
        shift: u64,
    },
    /// The type's mask tiled every `elem` words from the object's start.
    Type {
        t: &'h TypeInfo,
        elem: u64,
        ptr: u64,
    },
    /// `heapArena.bitmap`: a chunk covering object words `[start, end)` within one
    /// arena; bit `shift + (w - start)` of `bytes` describes word `w`.
    Arena {
        bytes: Cow<'h, [u8]>,
        start: u64,
        end: u64,
        shift: u64,
    },
}

/// Iterator over an object's pointer slots; see [`Heap::pointers`]. Yields
/// `Err` once and stops if memory cannot be read.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// let obj = heap.objects().next().unwrap();
/// let non_nil = heap.pointers(&obj).filter_map(Result::ok).filter(|p| !p.is_nil()).count();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pointers<'h> {
    heap: &'h Heap<'h>,
    addr: u64,
    words: u64,
    next: u64,
    src: Src<'h>,
    window: Cow<'h, [u8]>,
    win_start: u64,
    pending: Option<Error>,
    done: bool,
}

impl std::fmt::Debug for Pointers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pointers")
            .field("addr", &self.addr)
            .field("next_word", &self.next)
            .field("words", &self.words)
            .finish_non_exhaustive()
    }
}

fn bit(bytes: &[u8], i: u64) -> bool {
    bytes
        .get((i / 8) as usize)
        .is_some_and(|b| b & (1 << (i % 8)) != 0)
}

impl<'h> Pointers<'h> {
    pub(super) fn new(heap: &'h Heap<'h>, obj: &Object) -> Pointers<'h> {
        let ps = heap.ptr_size;
        let mut p = Pointers {
            heap,
            addr: obj.addr,
            words: obj.size / ps,
            next: 0,
            src: Src::None,
            window: Cow::Borrowed(&[]),
            win_start: 0,
            pending: None,
            done: false,
        };
        let (Some(s), Some(ix)) = (
            heap.spans.get(obj.span as usize),
            heap.index.get(obj.span as usize),
        ) else {
            p.done = true;
            return p;
        };
        let typed = |t: u64| match heap.types.get(&t) {
            Some(t) if t.size >= ps && t.ptr_bytes >= ps => Src::Type {
                t,
                elem: t.size / ps,
                ptr: t.ptr_bytes / ps,
            },
            _ => Src::None,
        };
        p.src = match ix.bits_kind {
            BitsKind::None => Src::None,
            BitsKind::SpanEnd(at) => {
                let w0 = (obj.slot - s.base) / ps;
                let len = (w0 % 8 + p.words).div_ceil(8);
                match heap.core.read(at + w0 / 8, len as usize) {
                    Ok(bytes) => Src::Bits {
                        bytes,
                        shift: w0 % 8,
                    },
                    Err(source) => {
                        p.fail(Error::Memory {
                            what: format!("heap bits of span {:#x}", s.base),
                            source,
                        });
                        Src::None
                    }
                }
            }
            BitsKind::Header => match heap.core.read_u64(obj.slot) {
                Ok(t) => typed(t),
                Err(source) => {
                    p.fail(Error::Memory {
                        what: format!("malloc header of object {:#x}", obj.addr),
                        source,
                    });
                    Src::None
                }
            },
            BitsKind::Large => typed(s.large_type),
            BitsKind::Arena => Src::Arena {
                bytes: Cow::Borrowed(&[]),
                start: 0,
                end: 0,
                shift: 0,
            },
        };
        if matches!(p.src, Src::None) {
            p.done = p.pending.is_none();
        }
        p
    }

    fn fail(&mut self, e: Error) {
        self.pending = Some(e);
    }

    /// Loads the arena-bitmap chunk holding object word `w`; trims `self.words` at
    /// a `noMorePtrs` mark.
    fn load_arena_chunk(&mut self, w: u64) -> Result<()> {
        let a = &self.heap.arenas;
        let ps = self.heap.ptr_size;
        let addr = self.addr + w * ps;
        let ai = addr.wrapping_sub(a.base_offset) / a.bytes;
        let ha = *a.by_index.get(&ai).ok_or_else(|| Error::OutOfRange {
            what: format!("heap arena of {addr:#x} (no heapArena)"),
            value: ai,
            limit: 0,
        })?;
        let arena_words = a.bytes / ps;
        let aw0 = (addr / ps) % arena_words;
        let n = (self.words - w).min(arena_words - aw0);
        let mem_err = |what: String| move |source| Error::Memory { what, source };
        let bytes = self
            .heap
            .core
            .read(
                ha + a.bitmap_off + aw0 / 8,
                ((aw0 % 8 + n).div_ceil(8)) as usize,
            )
            .map_err(mem_err(format!("heapArena.bitmap at {ha:#x}")))?;
        let mut end = w + n;
        if let Some(nmp) = a.no_more_ptrs_off {
            // Bitmap words (64 heap words) k whose last word is inside the object
            // and not its last: a noMorePtrs bit ends the object's pointers there.
            let k0 = aw0 / 64;
            let k_last = (aw0 + n - 1) / 64;
            if k_last > k0 {
                let flags = self
                    .heap
                    .core
                    .read(ha + nmp + k0 / 8, ((k_last - 1) / 8 - k0 / 8 + 1) as usize)
                    .map_err(mem_err(format!("heapArena.noMorePtrs at {ha:#x}")))?;
                for k in k0..k_last {
                    if bit(&flags, k - (k0 / 8) * 8) {
                        end = w + (64 * (k + 1) - aw0);
                        self.words = end;
                        break;
                    }
                }
            }
        }
        self.src = Src::Arena {
            bytes,
            start: w,
            end,
            shift: aw0 % 8,
        };
        Ok(())
    }

    /// The word at object word index `w`.
    fn word(&mut self, w: u64) -> Result<u64> {
        let ps = self.heap.ptr_size;
        let have = self.window.len() as u64 / ps;
        if w < self.win_start || w >= self.win_start + have {
            let n = (self.words - w).min(WINDOW_WORDS);
            let at = self.addr + w * ps;
            self.window = self
                .heap
                .core
                .read(at, (n * ps) as usize)
                .map_err(|source| Error::Memory {
                    what: format!("object {:#x}", self.addr),
                    source,
                })?;
            self.win_start = w;
        }
        let i = ((w - self.win_start) * ps) as usize;
        let b = self
            .window
            .get(i..i + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .ok_or_else(|| Error::OutOfRange {
                what: format!("word of object {:#x}", self.addr),
                value: w,
                limit: self.words,
            })?;
        Ok(u64::from_le_bytes(b))
    }

    fn next_slot(&mut self) -> Result<Option<u64>> {
        while self.next < self.words {
            let w = self.next;
            if matches!(&self.src, Src::Arena { start, end, .. } if w < *start || w >= *end) {
                self.load_arena_chunk(w)?;
                continue;
            }
            let is_ptr = match &self.src {
                Src::None => return Ok(None),
                Src::Bits { bytes, shift } => {
                    let i = shift + w;
                    if i % 8 == 0 && bytes.get((i / 8) as usize) == Some(&0) {
                        self.next += 8;
                        continue;
                    }
                    bit(bytes, i)
                }
                Src::Type { t, elem, ptr } => {
                    let i = w % elem;
                    if i >= *ptr {
                        self.next = (w / elem + 1) * elem;
                        continue;
                    }
                    t.bit(i)
                }
                Src::Arena {
                    bytes,
                    start,
                    shift,
                    ..
                } => bit(bytes, shift + (w - start)),
            };
            self.next += 1;
            if is_ptr {
                return Ok(Some(w));
            }
        }
        Ok(None)
    }
}

impl Iterator for Pointers<'_> {
    type Item = Result<Pointer>;

    fn next(&mut self) -> Option<Result<Pointer>> {
        if let Some(e) = self.pending.take() {
            self.done = true;
            return Some(Err(e));
        }
        if self.done {
            return None;
        }
        let r = self.next_slot().and_then(|w| match w {
            Some(w) => Ok(Some(Pointer {
                offset: w * self.heap.ptr_size,
                target: self.word(w)?,
            })),
            None => Ok(None),
        });
        match r {
            Ok(Some(p)) => Some(Ok(p)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Heap<'_> {
    /// Calls `f(offset, target)` for each non-nil pointer slot of `obj`, in address
    /// order: the slots and values [`Heap::pointers`] yields, without its per-slot
    /// bookkeeping (the bitmap is walked a byte at a time, the words are read from
    /// 1 MiB windows borrowed from the core). An unreadable bitmap or word ends the
    /// scan with the error `Heap::pointers` would yield there.
    #[cfg(test)]
    pub(crate) fn scan_pointers(&self, obj: &Object, f: impl FnMut(u64, u64)) -> Result<()> {
        self.scan_pointers_in(obj, 0..u64::MAX, f)
    }

    /// The number of words of `obj` when [`Heap::scan_pointers_in`] reads only the
    /// words of its range — the object's pointers come from a type's mask (a malloc
    /// header or `mspan.largeType`), so a huge object can be scanned in parts, each
    /// costing its own length. `None` otherwise: from a span's or an arena's bitmap
    /// (Go 1.21) every part would be walked from the object's start.
    pub(crate) fn splittable_words(&self, obj: &Object) -> Option<u64> {
        let ix = self.index.get(obj.span as usize)?;
        matches!(ix.bits_kind, BitsKind::Header | BitsKind::Large).then(|| obj.size / self.ptr_size)
    }

    /// [`Heap::scan_pointers`] over the object words `range` only (splitting the
    /// scan of a huge object: see [`Heap::splittable_words`]).
    pub(crate) fn scan_pointers_in(
        &self,
        obj: &Object,
        range: std::ops::Range<u64>,
        f: impl FnMut(u64, u64),
    ) -> Result<()> {
        self.scan_pointers_with(obj, range, &mut SpanMemory::default(), f)
    }

    /// [`Heap::scan_pointers_in`], reading the object's words, malloc header and
    /// span-end bitmap from `mem`: the memory of the span last scanned through it,
    /// borrowed from the core once per span instead of looked up for every object
    /// (a scan of the heap in id order visits each span's objects in a row).
    pub(crate) fn scan_pointers_with<'s>(
        &'s self,
        obj: &Object,
        range: std::ops::Range<u64>,
        mem: &mut SpanMemory<'s>,
        mut f: impl FnMut(u64, u64),
    ) -> Result<()> {
        let ps = self.ptr_size;
        let Some(ix) = self.index.get(obj.span as usize) else {
            return Ok(());
        };
        if mem.span != Some(obj.span) {
            mem.span = Some(obj.span);
            mem.base = ix.base;
            // Only what the core holds in one piece (borrowed, never copied), only
            // small-object-sized spans (a huge object is read a window at a time
            // as before), and only spans scanned here (not noscan spans, nor the
            // arena bitmap's — Go 1.21, 1.22 with noallocheaders — read through
            // `Heap::pointers`).
            let scanned = matches!(
                ix.bits_kind,
                BitsKind::SpanEnd(_) | BitsKind::Header | BitsKind::Large
            );
            mem.data = match ix.end.checked_sub(ix.base) {
                Some(len) if len <= SPAN_MEMORY_MAX && scanned => {
                    match self.core.read(ix.base, len as usize) {
                        Ok(Cow::Borrowed(b)) => b,
                        _ => &[],
                    }
                }
                _ => &[],
            };
        }
        let cached = |addr: u64, len: u64| -> Option<&'s [u8]> {
            let off = usize::try_from(addr.checked_sub(mem.base)?).ok()?;
            mem.data
                .get(off..off.checked_add(usize::try_from(len).ok()?)?)
        };
        let whole = range.start == 0 && range.end >= obj.size / ps;
        let mut f = |o: u64, t: u64| {
            if whole || range.contains(&(o / ps)) {
                f(o, t)
            }
        };
        let words = obj.size / ps;
        let mut win = Window {
            heap: self,
            addr: obj.addr,
            words,
            data: Cow::Borrowed(cached(obj.addr, words * ps).unwrap_or(&[])),
            start: 0,
        };
        match ix.bits_kind {
            BitsKind::None => Ok(()),
            BitsKind::Arena => {
                for p in self.pointers(obj) {
                    let p = p?;
                    if p.target != 0 {
                        f(p.offset, p.target);
                    }
                }
                Ok(())
            }
            BitsKind::SpanEnd(at) => {
                let w0 = (obj.slot - ix.base) / ps;
                let shift = w0 % 8;
                let (bits_at, bits_len) = (at + w0 / 8, (shift + words).div_ceil(8));
                let bits = match cached(bits_at, bits_len) {
                    Some(b) => Cow::Borrowed(b),
                    None => self
                        .core
                        .read(bits_at, bits_len as usize)
                        .map_err(|source| Error::Memory {
                            what: format!("heap bits of span {:#x}", ix.base),
                            source,
                        })?,
                };
                for (k, &b) in bits.iter().enumerate() {
                    let mut b = u64::from(b);
                    if k == 0 {
                        b &= !((1u64 << shift) - 1);
                    }
                    while b != 0 {
                        let i = k as u64 * 8 + u64::from(b.trailing_zeros());
                        b &= b - 1;
                        let w = i - shift;
                        if w >= words {
                            return Ok(());
                        }
                        let t = win.word(w)?;
                        if t != 0 {
                            f(w * ps, t);
                        }
                    }
                }
                Ok(())
            }
            BitsKind::Header | BitsKind::Large => {
                let t = if ix.bits_kind == BitsKind::Header {
                    match cached(obj.slot, 8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                        Some(b) => u64::from_le_bytes(b),
                        None => self
                            .core
                            .read_u64(obj.slot)
                            .map_err(|source| Error::Memory {
                                what: format!("malloc header of object {:#x}", obj.addr),
                                source,
                            })?,
                    }
                } else {
                    self.spans
                        .get(obj.span as usize)
                        .map_or(0, |s| s.large_type)
                };
                let Some(t) = self.types.get(&t) else {
                    return Ok(());
                };
                if t.size < ps || t.ptr_bytes < ps {
                    return Ok(());
                }
                let (elem, ptr) = (t.size / ps, t.ptr_bytes / ps);
                let mut base = range.start / elem * elem;
                let words = words.min(range.end);
                while base < words {
                    for (k, &b) in t.mask.iter().enumerate() {
                        let mut b = u64::from(b);
                        while b != 0 {
                            let i = k as u64 * 8 + u64::from(b.trailing_zeros());
                            b &= b - 1;
                            if i >= ptr {
                                break;
                            }
                            let w = base + i;
                            if w >= words {
                                return Ok(());
                            }
                            let v = win.word(w)?;
                            if v != 0 {
                                f(w * ps, v);
                            }
                        }
                    }
                    base += elem;
                }
                Ok(())
            }
        }
    }
}

/// Spans of at most this many bytes are borrowed whole by [`SpanMemory`] (the
/// largest small-object span is 80 KiB; a large object's span is its own size).
const SPAN_MEMORY_MAX: u64 = 1 << 20;

/// The memory of the span last scanned (see [`Heap::scan_pointers_with`]); empty
/// when it is not in one piece of the core or is too big.
#[derive(Default)]
pub(crate) struct SpanMemory<'h> {
    span: Option<u32>,
    base: u64,
    data: &'h [u8],
}

/// Object words read a window at a time (see [`Heap::scan_pointers`]).
struct Window<'h> {
    heap: &'h Heap<'h>,
    addr: u64,
    words: u64,
    data: Cow<'h, [u8]>,
    start: u64,
}

impl Window<'_> {
    #[inline]
    fn word(&mut self, w: u64) -> Result<u64> {
        let ps = self.heap.ptr_size;
        let i = w.wrapping_sub(self.start).wrapping_mul(ps) as usize;
        if let Some(b) = self.data.get(i..i + 8) {
            if let Ok(b) = <[u8; 8]>::try_from(b) {
                return Ok(u64::from_le_bytes(b));
            }
        }
        let n = (self.words - w).min(WINDOW_WORDS);
        self.data = self
            .heap
            .core
            .read(self.addr + w * ps, (n * ps) as usize)
            .map_err(|source| Error::Memory {
                what: format!("object {:#x}", self.addr),
                source,
            })?;
        self.start = w;
        let b = self
            .data
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .ok_or_else(|| Error::OutOfRange {
                what: format!("word of object {:#x}", self.addr),
                value: w,
                limit: self.words,
            })?;
        Ok(u64::from_le_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Heap, Process};
    use corefile::{Core, OpenOptions};

    /// `scan_pointers` visits exactly the non-nil slots `pointers` yields, on every
    /// object of every corpus case (every pointer-bitmap layout).
    #[test]
    fn scan_pointers_agrees_with_pointers() {
        let mut objects = 0u64;
        for case in testkit::cases() {
            let core = Core::open_with(
                case.core_path(),
                &OpenOptions::new().executable(case.exe_path()),
            )
            .unwrap();
            let proc = Process::new(&core).unwrap();
            let Ok(heap) = Heap::new(&proc) else {
                continue;
            };
            // One span memory for the whole walk, in id order (as the graph's scan
            // uses it): each object's scan must not depend on the span before.
            let mut mem = super::SpanMemory::default();
            let mut borrowed = 0u64;
            for obj in heap.objects() {
                let mut want = Vec::new();
                let mut err = None;
                for p in heap.pointers(&obj) {
                    match p {
                        Ok(p) if p.target != 0 => want.push((p.offset, p.target)),
                        Ok(_) => {}
                        Err(e) => err = Some(e.to_string()),
                    }
                }
                let mut got = Vec::new();
                let r = heap.scan_pointers(&obj, |o, t| got.push((o, t)));
                assert_eq!(got, want, "{}: object {:#x}", case.name, obj.addr);
                assert_eq!(r.err().map(|e| e.to_string()), err, "{}", case.name);
                let mut cached = Vec::new();
                let r = heap
                    .scan_pointers_with(&obj, 0..u64::MAX, &mut mem, |o, t| cached.push((o, t)));
                assert_eq!(
                    cached, want,
                    "{}: object {:#x} (span memory)",
                    case.name, obj.addr
                );
                assert_eq!(r.err().map(|e| e.to_string()), err, "{}", case.name);
                borrowed += u64::from(!mem.data.is_empty());
                objects += 1;
            }
            // The span memory is used, not always left empty (except with the arena
            // bitmap — Go 1.21, and 1.22 with `GOEXPERIMENT=noallocheaders` — which
            // is read through `Heap::pointers`).
            let arena = heap.layout() == crate::PointerLayout::ArenaBitmap;
            assert!(
                heap.objects().next().is_none() || borrowed > 0 || arena,
                "{}",
                case.name
            );
        }
        assert!(objects > 0);
    }
}
