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
