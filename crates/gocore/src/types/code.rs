//! Typing evidence read from the executable's machine code (amd64 here, arm64 in
//! `code/arm64.rs`, which reads the same facts; no DWARF needed).
//!
//! The function table and the code survive stripping, and Go's compiler passes a
//! type descriptor to the runtime in a fixed way: under the register ABI the first
//! argument is `AX`, so `LEAQ type:T(SB), AX` (`48 8d 05 <disp32>`) directly before
//! `CALL runtime.newobject(SB)` (`e8 <rel32>`) allocates a `T`. Three facts are read
//! from exact instruction sequences like that one — never from bytes merely
//! resembling an address:
//!
//! * **descriptors**: every `T` loaded into `AX` by the instruction right before
//!   (but for padding `NOP`s and `LEAQ d(SP), CX`) a call of a runtime function whose first parameter is a type (`newobject`,
//!   `makeslice`, `makemap`, `makechan`, the map access/assign/delete/iterate
//!   functions, `convT`, `typedmemmove`, …). Named types that only code allocates
//!   are listed in no table the binary exposes (typelinks holds unnamed composite
//!   types; itabs only types converted to non-empty interfaces), so shape inference
//!   would otherwise not know them as candidates; a wider catalogue only makes its
//!   "the only descriptor that fits" stricter.
//! * **pointees of globals**: `CALL runtime.newobject` (type `T`; Go 1.27's
//!   `runtime.mallocgcSmallScan*` with `LEAQ type:T(SB), BX`) followed (after
//!   stores initializing the fresh object's fields through `AX`) by the
//!   compiler's write-barrier check `CMPL runtime.writeBarrier(SB), $0; JE L` whose
//!   target `L` is `MOVQ AX, G(SB)`: on that path the fresh `*T` is stored, unchanged,
//!   into the word `G` (the barrier block in between only records the old and new
//!   values). `G` is kept only when every instruction of the whole text that refers
//!   to an address overlapping `G` is a load, a store of `nil`, or such a
//!   recognized store of the same `T`, and nothing takes an address in the 64 bytes
//!   up to `G` (no `LEAQ` through which a store could reach it). Then every value
//!   the code ever put in `G` was a `*T` or nil, and the object `G` points to is a
//!   `T` — used only when it agrees with the runtime's record: the pointer starts
//!   its object and the object's heap bitmap holds `T`'s pointer mask (`T` has
//!   pointers, so it never comes from the tiny allocator).
//! * **slices held by globals**: the same for `CALL runtime.makeslice` (element type
//!   `T`; length and capacity set as constants before the call and stored as
//!   constants to the slice's other words after it): the data word `G` receives a
//!   fresh array of `T`s, typed as `cap` of them (the word two after `G`) when the
//!   array starts its object, fits in it and every element holds `T`'s mask.
//! * **maps held by globals**: `MOVQ G(SB), BX` and `LEAQ type:M(SB), AX`, in either
//!   order, directly before a call of a map function (only padding `NOP`s and a
//!   key's address, `LEAQ d(SP), CX`, in between) (`mapaccess*`, `mapassign*`,
//!   `mapdelete*`, `mapiterinit`, `mapclear`): those take `(maptype, map)`, so `G`
//!   holds a map of type `M` (kept only when all such uses of `G` name one `M`).
//!
//! A data flow inside functions (`code/flow.rs`; on arm64 `code/flow_arm64.rs`,
//! the same with `MOVD R, d(RSP)` spills and `ADRP` pairs) adds what a fixed
//! sequence cannot see: in each function that calls an allocator (or a function
//! found to return a fresh object), every instruction is decoded and the registers
//! and 8-byte frame slots `d(SP)` holding a fresh `*T` are followed over the
//! function's branches — kept through exact copies only (`MOVQ R1, R2`, a spill
//! `MOVQ R, d(SP)` and its reload), forgotten by any other write, by calls (all
//! registers but across `gcWriteBarrierN`; the slots in the callee's argument
//! area, all slots for an unknown callee) and where paths disagree; slots are not
//! followed from the lowest address the function takes of its frame (`LEAQ
//! x(SP)`) up. It gives:
//!
//! * **stores to globals** `MOVQ R, G(SB)` of a fresh `*T` however it got into
//!   `R` (`gCycle = a` after `a` was spilled across calls and reloaded on both
//!   paths of the write barrier check): recognized stores for the pointee rule
//!   above, which still requires every other reference to `G` to agree;
//! * **functions returning a fresh `*T`** on every `RET` (in `AX`): a call of one
//!   is an allocation of a `T` (found round by round, for wrappers of wrappers);
//! * **frame slots**: the slots holding a fresh `*T` at each call's return address
//!   (`held := newStackHeld()` kept across the goroutine's later calls). A
//!   goroutine frame parked in that call holds a `*T` there: used only when the
//!   slot is a live, precisely scanned pointer slot of the runtime's stack map at
//!   that PC (a dead slot's object may have been freed and reused), the pointer
//!   starts its object and the object's heap bits hold `T`'s mask.
//!
//! Closure contexts (`struct { F uintptr; … }`) are left to the closure source,
//! which names the function. A function with an instruction the decoder does not
//! know, an indirect `JMP` (jump table) or a branch into an instruction gives no
//! facts.
//!
//! Cost: one pass over the text, a few byte comparisons per byte; then decoding
//! the functions that allocate.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use corefile::Arch;

use super::{Builder, Shape};
use crate::roots::{RootKind, RootOptions, RootSet};

mod arm64;
mod flow;
mod flow_arm64;

/// Largest text read (bytes).
const MAX_TEXT: u64 = 1 << 30;
/// Farthest a write-barrier check's `JE` may skip (bytes).
const MAX_WB_SKIP: u64 = 64;

/// Most elements of a slice whose pointer masks are checked.
const MAX_SLICE_CHECK: u64 = 1 << 16;

/// Runtime functions whose first (`AX`) parameter is a type descriptor.
const TYPED_FUNCS: &[&str] = &[
    "runtime.newobject",
    "runtime.makeslice",
    "runtime.makeslicecopy",
    "runtime.makemap",
    "runtime.makechan",
    "runtime.convT",
    "runtime.convTnoptr",
    "runtime.typedmemmove",
    "runtime.typedmemclr",
    "runtime.typedslicecopy",
    "runtime.newarray",
    "runtime.mallocgc",
];

/// Runtime map functions taking `(maptype, map, …)`.
const MAP_FUNCS: &[&str] = &[
    "runtime.mapaccess1",
    "runtime.mapaccess2",
    "runtime.mapaccess1_fat",
    "runtime.mapaccess2_fat",
    "runtime.mapaccess1_fast32",
    "runtime.mapaccess2_fast32",
    "runtime.mapaccess1_fast64",
    "runtime.mapaccess2_fast64",
    "runtime.mapaccess1_faststr",
    "runtime.mapaccess2_faststr",
    "runtime.mapassign",
    "runtime.mapassign_fast32",
    "runtime.mapassign_fast32ptr",
    "runtime.mapassign_fast64",
    "runtime.mapassign_fast64ptr",
    "runtime.mapassign_faststr",
    "runtime.mapdelete",
    "runtime.mapdelete_fast32",
    "runtime.mapdelete_fast64",
    "runtime.mapdelete_faststr",
    "runtime.mapiterinit",
    "runtime.mapclear",
];

/// What the code says (link addresses throughout).
#[derive(Debug, Default)]
pub(super) struct CodeFacts {
    /// Descriptors passed to typed runtime functions (inside the type section; not
    /// yet checked to be descriptors).
    pub descriptors: Vec<u64>,
    /// Global words that only ever receive a fresh `*T` (or nil): (word, `T`).
    pub pointees: Vec<(u64, u64)>,
    /// Slice data words of globals that only ever receive a fresh `make([]T, …)`
    /// (or nil): (data word, `T`); the capacity is the word two after.
    pub slices: Vec<(u64, u64)>,
    /// Global words holding a map: (word, map type).
    pub maps: Vec<(u64, u64)>,
    /// Frame slots holding a fresh `*T` while the frame's function is in a call:
    /// (the call's return address, offset from SP, `T`), sorted.
    pub frames: Vec<(u64, i64, u64)>,
}

/// Recognized stores of one scan: instruction offset → (global word, `T`, whether
/// it is a slice's data word).
type Stores = HashMap<usize, (u64, u64, bool)>;

/// Candidate globals: word → its one agreed (`T`, slice), `None` once ruled out.
type Candidates = HashMap<u64, Option<(u64, bool)>>;

impl CodeFacts {
    /// The facts of one scan (either instruction set): the descriptors, map globals
    /// used with one map type, the frame slots, and the globals whose recognized
    /// stores all agree on one `T` that `check` — given the candidate words sorted
    /// — does not rule out (it sets a word to `None` when another reference to it
    /// may write something else).
    fn assemble(
        desc: HashSet<u64>,
        map_uses: HashMap<u64, HashSet<u64>>,
        stores: &Stores,
        frames: Vec<(u64, i64, u64)>,
        check: impl FnOnce(&[u64], &mut Candidates),
    ) -> CodeFacts {
        let mut out = CodeFacts {
            descriptors: desc.into_iter().collect(),
            frames,
            ..CodeFacts::default()
        };
        out.descriptors.sort_unstable();
        for (g, ts) in map_uses {
            if ts.len() == 1 {
                out.maps.extend(ts.into_iter().map(|t| (g, t)));
            }
        }
        out.maps.sort_unstable();
        let mut cand = Candidates::new();
        for &(g, t, sl) in stores.values() {
            let e = cand.entry(g).or_insert(Some((t, sl)));
            if *e != Some((t, sl)) {
                *e = None;
            }
        }
        if !cand.is_empty() {
            let mut words: Vec<u64> = cand.keys().copied().collect();
            words.sort_unstable();
            check(&words, &mut cand);
        }
        for (g, v) in cand {
            match v {
                Some((t, false)) => out.pointees.push((g, t)),
                Some((t, true)) => out.slices.push((g, t)),
                None => {}
            }
        }
        out.pointees.sort_unstable();
        out.slices.sort_unstable();
        out
    }
}

/// How an instruction refers to a RIP-relative address.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Reads it only.
    Load,
    /// `MOVQ $0, G`.
    StoreNil,
    /// Takes the address.
    Addr,
    /// Anything else that may write it.
    Write,
}

/// Reads the facts from an amd64 text `code` that starts at link address `base`.
/// `types` is the type section, `data` the ranges globals live in, `funcs` the
/// entries of runtime functions by name, `fns` every function (entry, end, size of
/// its argument area, whether it has a `deferreturn`) sorted by entry, for the
/// data flow ([`flow`]).
pub(super) fn scan_amd64(
    code: &[u8],
    base: u64,
    types: (u64, u64),
    data: &[(u64, u64)],
    funcs: &HashMap<&str, u64>,
    fns: &[(u64, u64, u32, bool)],
) -> CodeFacts {
    let entry_set = |names: &[&str]| -> HashSet<u64> {
        names.iter().filter_map(|n| funcs.get(n).copied()).collect()
    };
    let typed = entry_set(TYPED_FUNCS);
    let maps = entry_set(MAP_FUNCS);
    let newobject = funcs.get("runtime.newobject").copied();
    let makeslice = funcs.get("runtime.makeslice").copied();
    let wb: HashSet<u64> = funcs
        .iter()
        .filter(|(n, _)| n.starts_with("runtime.gcWriteBarrier"))
        .map(|(_, &e)| e)
        .collect();
    let in_types = |a: u64| a >= types.0 && a < types.1;
    let in_data = |a: u64| data.iter().any(|&(s, e)| a >= s && a < e);
    let at = |i: usize| base.wrapping_add(i as u64);
    // disp32 at code[i..i+4] relative to the end of an instruction ending at `end`.
    let rip = |i: usize, end: usize| -> Option<u64> {
        let d = code.get(i..i + 4)?;
        let d = i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]));
        Some(at(end).wrapping_add(d as u64))
    };
    let call = |i: usize| -> Option<u64> {
        (code.get(i) == Some(&0xe8)).then_some(())?;
        rip(i + 1, i + 5)
    };
    // LEAQ disp(RIP), AX at i: the address.
    let lea_ax = |i: usize| -> Option<u64> {
        (code.get(i..i + 3) == Some(&[0x48, 0x8d, 0x05][..])).then_some(())?;
        rip(i + 3, i + 7)
    };
    // MOVQ disp(RIP), BX at i.
    let load_bx = |i: usize| -> Option<u64> {
        (code.get(i..i + 3) == Some(&[0x48, 0x8b, 0x1d][..])).then_some(())?;
        rip(i + 3, i + 7)
    };

    // Past what may sit between an argument's load and the call without touching
    // AX or BX: padding NOPs and `LEAQ d(SP), CX` (a key's address).
    let skip = |mut i: usize| -> usize {
        for _ in 0..4 {
            let n = pad_or_cx(code.get(i..).unwrap_or(&[]));
            if n == 0 {
                break;
            }
            i += n;
        }
        i
    };
    // Past those and constant loads into BX and CX (`MOVL $n, BX`, `MOVL $n, CX`,
    // `MOVQ BX, CX`: makeslice's length and capacity), which leave AX alone.
    let skip_args = |mut i: usize| -> usize {
        for _ in 0..6 {
            let b = code.get(i..).unwrap_or(&[]);
            let n = match b {
                [0xbb | 0xb9, _, _, _, _, ..] => 5,
                [0x48, 0x89, 0xd9, ..] => 3,
                _ => pad_or_cx(b),
            };
            if n == 0 {
                break;
            }
            i += n;
        }
        i
    };
    // Go 1.27's size-specialized allocators take the type in BX (size in AX,
    // needzero in CX): `LEAQ type:T(SB), BX; MOVL $1, CX; CALL
    // runtime.mallocgcSmallScanNoHeaderSC2(SB)` allocates a `T`, returned in AX.
    let typed_malloc: HashSet<u64> = funcs
        .iter()
        .filter(|(n, _)| n.starts_with("runtime.mallocgcSmallScan"))
        .map(|(_, &e)| e)
        .collect();
    let lea_bx = |i: usize| -> Option<u64> {
        (code.get(i..i + 3) == Some(&[0x48, 0x8d, 0x1d][..])).then_some(())?;
        rip(i + 3, i + 7)
    };
    let mut desc = HashSet::new();
    // Recognized stores: instruction offset of the MOVQ AX, G → (G, T, slice).
    let mut stores = Stores::new();
    let mut map_uses: HashMap<u64, HashSet<u64>> = HashMap::new();
    for i in 0..code.len() {
        if let Some(t) = lea_bx(i).filter(|&t| in_types(t)) {
            let mut a = i + 7;
            if let [0xb9, _, _, _, _, ..] = code.get(a..).unwrap_or(&[]) {
                a += 5;
            }
            a = skip(a);
            if call(a).is_some_and(|f| typed_malloc.contains(&f)) {
                desc.insert(t);
                if let Some((s, g)) = wb_store(code, skip_init(code, a + 5), base, &wb) {
                    if in_data(g) {
                        stores.insert(s, (g, t, false));
                    }
                }
            }
        }
        if let Some(t) = lea_ax(i).filter(|&t| in_types(t)) {
            // LEAQ T, AX; CALL f (other arguments set in between)
            let a = skip_args(i + 7);
            if let Some(f) = call(a) {
                if typed.contains(&f) {
                    desc.insert(t);
                }
                if Some(f) == newobject {
                    if let Some((s, g)) = wb_store(code, skip_init(code, a + 5), base, &wb) {
                        if in_data(g) {
                            stores.insert(s, (g, t, false));
                        }
                    }
                }
                if Some(f) == makeslice {
                    // The length and capacity stored as constants first
                    // (`MOVQ $n, G+8(SB)`, `MOVQ $n, G+16(SB)`).
                    let mut k = a + 5;
                    while code.get(k..k + 3) == Some(&[0x48, 0xc7, 0x05][..]) && k < a + 5 + 22 {
                        k += 11;
                    }
                    if let Some((s, g)) = wb_store(code, k, base, &wb) {
                        if in_data(g) {
                            stores.insert(s, (g, t, true));
                        }
                    }
                }
            }
            // LEAQ M, AX; CALL map function (BX untouched in between)
            let c = skip(i + 7);
            if let Some(f) = call(c) {
                if maps.contains(&f) {
                    desc.insert(t);
                    // MOVQ G, BX; LEAQ M, AX; CALL map function.
                    if let Some(g) = i.checked_sub(7).and_then(load_bx).filter(|&g| in_data(g)) {
                        map_uses.entry(g).or_default().insert(t);
                    }
                }
            }
            // LEAQ M, AX preceded by nothing; MOVQ G, BX after: LEAQ; MOVQ; CALL.
            let m = skip(i + 7);
            if let (Some(g), Some(f)) = (load_bx(m), call(skip(m + 7))) {
                if maps.contains(&f) && in_data(g) {
                    desc.insert(t);
                    map_uses.entry(g).or_default().insert(t);
                }
            }
        }
    }
    // Stores of a fresh `*T` the data flow inside functions finds (spill slots,
    // registers copied, results of functions returning a fresh object).
    let fl = flow::analyze(&flow::Env {
        code,
        base,
        types,
        funcs: fns,
        newobject,
        malloc: &typed_malloc,
        wb: &wb,
    });
    for &(s, g, t) in &fl.stores {
        if in_data(g) {
            stores.entry(s).or_insert((g, t, false));
        }
    }
    // Candidate globals, then every reference overlapping one must be harmless.
    CodeFacts::assemble(desc, map_uses, &stores, fl.frames, |words, cand| {
        for j in 1..code.len() {
            let modrm = code[j];
            if modrm & 0xc7 != 0x05 {
                continue;
            }
            let Some(a) = rip(j + 1, j + 5) else { break };
            let imm = match code[j - 1] {
                0x81 | 0xc7 => 4,
                0x80 | 0x83 | 0xc6 => 1,
                _ => 0,
            };
            let a = a.wrapping_add(imm);
            if !in_data(a) {
                continue;
            }
            let u = classify(code, j, imm as usize);
            if u == Use::Addr {
                continue;
            }
            // Bytes the access may touch (vector forms 16).
            let width = if j >= 2 && code[j - 2] == 0x0f { 16 } else { 8 };
            let lo = a.saturating_sub(7);
            let k = words.partition_point(|&g| g < lo);
            let hits: Vec<u64> = words[k..]
                .iter()
                .copied()
                .take_while(|&g| g < a.saturating_add(width))
                .collect();
            for g in hits {
                // The recognized store's own reference (opcode two bytes before
                // the ModRM byte).
                let own = j >= 2
                    && stores
                        .get(&(j - 2))
                        .is_some_and(|&(sg, _, _)| sg == g && a == g);
                let ok = own
                    || match u {
                        Use::Load => true,
                        Use::StoreNil => a == g,
                        Use::Write => false,
                        Use::Addr => true,
                    };
                if !ok {
                    cand.insert(g, None);
                }
            }
        }
    })
}

/// Past the initialization of a fresh object's fields that may follow its
/// allocation without touching AX (at most 8 instructions): stores into `d(AX)` of
/// an immediate or a register (`MOVQ $6, 8(AX)`, `MOVQ CX, 8(AX)`, `MOVUPS X15,
/// 8(AX)`), loads of a frame slot into another register than AX (`MOVQ 0x48(SP),
/// CX`) and padding.
fn skip_init(code: &[u8], mut i: usize) -> usize {
    for _ in 0..8 {
        let b = code.get(i..).unwrap_or(&[]);
        // ModRM with base AX: mod 00 (no disp), 01 (disp8), 10 (disp32); rm = 000.
        let ax_mem = |m: u8| -> Option<usize> {
            if m & 7 != 0 {
                return None;
            }
            match m >> 6 {
                0 => Some(0),
                1 => Some(1),
                2 => Some(4),
                _ => None,
            }
        };
        let n = match b {
            // MOVQ $imm32, d(AX); MOVL $imm32, d(AX).
            [0x48, 0xc7, m, ..] | [0xc7, m, ..] if (m >> 3) & 7 == 0 => {
                let rex = usize::from(b[0] == 0x48);
                ax_mem(*m).map_or(0, |d| rex + 2 + d + 4)
            }
            // MOVB $imm8, d(AX).
            [0xc6, m, ..] if (m >> 3) & 7 == 0 => ax_mem(*m).map_or(0, |d| 2 + d + 1),
            // MOVQ reg, d(AX) (any register: a store leaves AX alone).
            [0x48 | 0x4c, 0x89, m, ..] => ax_mem(*m).map_or(0, |d| 3 + d),
            // MOVUPS X15, d(AX).
            [0x44, 0x0f, 0x11, m, ..] if (m >> 3) & 7 == 7 => ax_mem(*m).map_or(0, |d| 4 + d),
            // MOVQ d8(SP), reg (not AX).
            [rex @ (0x48 | 0x4c), 0x8b, m, 0x24, _, ..]
                if m & 0xc7 == 0x44 && (*rex == 0x4c || m & 0x38 != 0) =>
            {
                5
            }
            _ => pad_or_cx(b),
        };
        if n == 0 || b.len() < n {
            break;
        }
        i += n;
    }
    i
}

/// Length of a padding NOP or of a `LEAQ d(SP), CX` at the start of `b`, else 0.
fn pad_or_cx(b: &[u8]) -> usize {
    const FORMS: &[&[u8]] = &[
        &[0x90],
        &[0x66, 0x90],
        &[0x0f, 0x1f, 0x00],
        &[0x0f, 0x1f, 0x40, 0x00],
        &[0x0f, 0x1f, 0x44, 0x00, 0x00],
        &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
        &[0x0f, 0x1f, 0x80, 0, 0, 0, 0],
        &[0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0],
        &[0x66, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0],
    ];
    if let Some(f) = FORMS.iter().find(|f| b.starts_with(f)) {
        return f.len();
    }
    match b {
        // LEAQ d8(SP), CX; LEAQ d32(SP), CX.
        [0x48, 0x8d, 0x4c, 0x24, ..] if b.len() >= 5 => 5,
        [0x48, 0x8d, 0x8c, 0x24, ..] if b.len() >= 8 => 8,
        _ => 0,
    }
}

/// After `CALL runtime.newobject` ending at `i`: `CMPL runtime.writeBarrier(SB), $0`
/// (an optional 1-byte `NOP`), `JE L`, then (after an optional load of the old
/// value into another register) `CALL runtime.gcWriteBarrierN` (one of `wb`: the
/// skipped block is the write barrier's), and at `L`, `MOVQ AX, G(SB)`.
/// (offset of `L`, `G`).
fn wb_store(code: &[u8], i: usize, base: u64, wb: &HashSet<u64>) -> Option<(usize, u64)> {
    let rip = |k: usize, end: usize| -> Option<u64> {
        let d = code.get(k..k + 4)?;
        let d = i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]));
        Some(base.wrapping_add(end as u64).wrapping_add(d as u64))
    };
    // 83 3d disp32 00: CMPL disp(RIP), $0.
    if code.get(i..i + 2) != Some(&[0x83, 0x3d][..]) || code.get(i + 6) != Some(&0) {
        return None;
    }
    let mut k = i + 7;
    if code.get(k) == Some(&0x90) {
        k += 1;
    }
    // 74 rel8: JE.
    if code.get(k) != Some(&0x74) {
        return None;
    }
    let rel = u64::from(*code.get(k + 1)?);
    if rel == 0 || rel >= 0x80 || rel > MAX_WB_SKIP {
        return None;
    }
    let l = k + 2 + rel as usize;
    // The barrier block: an optional load of the old value into another register
    // than AX (`MOVQ G(SB), CX`, Go 1.25+), then the barrier call.
    let mut c = k + 2;
    if let Some(&[rex, 0x8b, m]) = code.get(c..c + 3) {
        if (rex == 0x48 || rex == 0x4c) && m & 0xc7 == 0x05 && (rex == 0x4c || m & 0x38 != 0) {
            c += 7;
        }
    }
    for _ in 0..2 {
        let n = pad_or_cx(code.get(c..).unwrap_or(&[]));
        if n == 0 {
            break;
        }
        c += n;
    }
    if c >= l || code.get(c) != Some(&0xe8) || !rip(c + 1, c + 5).is_some_and(|f| wb.contains(&f)) {
        return None;
    }
    // 48 89 05 disp32: MOVQ AX, disp(RIP).
    if code.get(l..l + 3) != Some(&[0x48, 0x89, 0x05][..]) {
        return None;
    }
    Some((l, rip(l + 3, l + 7)?))
}

/// How the instruction whose RIP-relative ModRM byte is at `j` uses its address
/// (`imm` immediate bytes follow the displacement). Opcode bytes are read
/// backwards; anything not known to only read is a write.
fn classify(code: &[u8], j: usize, imm: usize) -> Use {
    let op = code[j - 1];
    let reg = (code[j] >> 3) & 7;
    let two = j >= 2 && code[j - 2] == 0x0f;
    if two {
        return match op {
            // MOVUPS/MOVSD/MOVAPS/MOVDQ* loads, MOVZX/MOVSX, prefetch, MOVD/MOVQ load.
            0x10 | 0x28 | 0x6f | 0x6e | 0xb6 | 0xb7 | 0xbe | 0xbf | 0x18 => Use::Load,
            // BT (not BTS/BTR/BTC).
            0xba if reg == 4 => Use::Load,
            _ => Use::Write,
        };
    }
    match op {
        // MOV r, r/m; CMP; TEST.
        0x8b | 0x8a | 0x3b | 0x3a | 0x39 | 0x38 | 0x85 | 0x84 => Use::Load,
        // Group 1 /7 is CMP; F6/F7 /0 TEST.
        0x80 | 0x81 | 0x83 if reg == 7 => Use::Load,
        0xf6 | 0xf7 if reg == 0 => Use::Load,
        // Loads into a register with ALU ops (r, r/m).
        0x03 | 0x0b | 0x13 | 0x1b | 0x23 | 0x2b | 0x33 => Use::Load,
        0x8d => Use::Addr,
        0xc7 if reg == 0 => {
            let s = j + 5;
            if imm == 4 && code.get(s..s + 4) == Some(&[0, 0, 0, 0][..]) {
                Use::StoreNil
            } else {
                Use::Write
            }
        }
        _ => Use::Write,
    }
}

/// What the code of `proc`'s executable says ([`CodeFacts`]); `types_range` is its
/// type section (link addresses). `None` on other architectures than amd64 and
/// arm64 or when the text cannot be read.
fn read_facts(proc: &crate::Process<'_>, types_range: (u64, u64)) -> Option<CodeFacts> {
    let arch = proc.core().arch();
    if arch != Arch::Amd64 && arch != Arch::Arm64 {
        return None;
    }
    let bin = proc.binary();
    let md = bin.moduledata().ok()?;
    let (text, etext) = (md.text(), md.etext());
    let len = etext
        .checked_sub(text)
        .filter(|&l| l > 0 && l <= MAX_TEXT)?;
    let code = bin.read_at(text, len).ok()?;
    let tab = proc.pclntab()?;
    let mut funcs = HashMap::new();
    let mut fns = Vec::new();
    for f in tab.funcs().flatten() {
        fns.push((
            f.entry,
            f.end,
            u32::try_from(f.args).unwrap_or(u32::MAX),
            f.deferreturn != 0,
        ));
        let n = f.name;
        if TYPED_FUNCS.contains(&n)
            || MAP_FUNCS.contains(&n)
            || n.starts_with("runtime.gcWriteBarrier")
            || n.starts_with("runtime.mallocgcSmallScan")
        {
            funcs.insert(n, f.entry);
        }
    }
    let data = [md.data_range(), md.bss_range()];
    fns.sort_unstable();
    Some(match arch {
        Arch::Arm64 => arm64::scan_arm64(code, text, types_range, &data, &funcs, &fns),
        _ => scan_amd64(code, text, types_range, &data, &funcs, &fns),
    })
}

/// The goroutine frame slots that `frames` ([`CodeFacts::frames`]) says hold a
/// fresh `*T`: (slot's run-time address, `T`), for the live, precisely scanned
/// pointer slots among the locals of the runtime's stack maps of frames parked in
/// those calls (`bias`: run-time minus link addresses).
fn frame_slots(
    proc: &crate::Process<'_>,
    heap: &crate::Heap<'_>,
    frames: &[(u64, i64, u64)],
    bias: u64,
) -> Vec<(u64, u64)> {
    let mut found = Vec::new();
    let opts = RootOptions {
        globals: false,
        stacks: true,
        specials: false,
        queues: false,
    };
    let Ok(rs) = RootSet::collect_with(proc, heap, &opts) else {
        return found;
    };
    // Locals only (below `varp`): the outgoing argument area at the frame's
    // bottom belongs to the callee (its spill slots and stack arguments).
    let live: HashSet<u64> = rs
        .roots()
        .filter(|r| {
            matches!(
                r.kind,
                RootKind::Frame {
                    conservative: false,
                    offset,
                    ..
                } if offset < 0
            )
        })
        .map(|r| r.slot)
        .collect();
    let Ok(gs) = proc.goroutines() else {
        return found;
    };
    let gs: Vec<_> = gs.filter_map(|g| g.ok()).collect();
    for g in gs {
        for fr in g.frames(proc) {
            let Ok(fr) = fr else { break };
            if fr.inlined || fr.trap {
                continue;
            }
            let pc = fr.pc.wrapping_sub(bias);
            let k = frames.partition_point(|x| x.0 < pc);
            for &(_, d, t) in frames[k..].iter().take_while(|x| x.0 == pc) {
                let slot = fr.sp.wrapping_add(d as u64);
                if live.contains(&slot) {
                    found.push((slot, t));
                }
            }
        }
    }
    found
}

impl Builder<'_, '_, '_> {
    /// What the executable's code says ([`CodeFacts`]), read once; empty on other
    /// architectures than amd64 and arm64 or when the text cannot be read.
    pub(super) fn code_facts(&mut self) -> Rc<CodeFacts> {
        if let Some(f) = &self.code {
            return f.clone();
        }
        let t0 = std::time::Instant::now();
        let f = Rc::new(self.read_code_facts().unwrap_or_default());
        if std::env::var_os("GOCORE_TIMING").is_some() {
            eprintln!(
                "typing: code facts {:.3?} ({} descriptors, {} globals, {} slices, {} maps, {} frame slots)",
                t0.elapsed(),
                f.descriptors.len(),
                f.pointees.len(),
                f.slices.len(),
                f.maps.len(),
                f.frames.len()
            );
        }
        self.code = Some(f.clone());
        f
    }

    fn read_code_facts(&self) -> Option<CodeFacts> {
        read_facts(self.proc, self.types_range)
    }

    /// Descriptors the code passes to typed runtime calls that read as non-interface
    /// descriptors (link addresses), for shape inference's catalogue.
    pub(super) fn code_descriptors(&mut self) -> Vec<u64> {
        let f = self.code_facts();
        f.descriptors
            .iter()
            .copied()
            .filter(|&t| self.descriptor(t.wrapping_add(self.bias)) == Some(false))
            .collect()
    }

    /// Types the array a slice header at `addr` points to as `cap` values of `id`
    /// when it starts its object, fits in it and every element holds `id`'s
    /// (non-empty) pointer mask.
    fn slice_global(&mut self, addr: u64, id: u32) {
        let (Some(w), Some(cap)) = (self.word(addr), self.word(addr.wrapping_add(2 * self.ptr)))
        else {
            return;
        };
        let size = self.size_of(id);
        if w == 0 || cap == 0 || size == 0 || cap > MAX_SLICE_CHECK {
            return;
        }
        let Some((obj, 0)) = self.heap.object_at(w) else {
            return;
        };
        if cap.saturating_mul(size) > obj.size || self.mask_words(id).is_none_or(|m| m.is_empty()) {
            return;
        }
        if (0..cap).all(|i| self.target_fits(w + i * size, id, false)) {
            self.claim(w, id, cap);
        }
    }

    /// Whether `t` (link address) is a closure context's struct (`struct { F
    /// uintptr; … }`): what a function value points to is typed from its code
    /// pointer (the closure source), which names the function.
    fn closure_struct(&self, t: u64) -> bool {
        self.reader
            .as_ref()
            .and_then(|r| r.type_at(t).ok())
            .is_some_and(|d| d.name.starts_with("struct { F uintptr; "))
    }

    /// Types the objects goroutine frames hold in slots that, by the code's data
    /// flow, hold a fresh `*T` while the frame's function is in the call the frame
    /// is parked in (`frames`: return address, offset from SP, `T`): only live,
    /// precisely scanned pointer slots of the runtime's stack maps, and only when
    /// the pointer starts its object and the object's heap bits hold `T`'s mask.
    fn code_frames(&mut self, frames: &[(u64, i64, u64)]) {
        for (slot, t) in frame_slots(self.proc, self.heap, frames, self.bias) {
            if self.closure_struct(t) {
                continue;
            }
            let Some(w) = self.word(slot).filter(|&w| w != 0) else {
                continue;
            };
            if self.descriptor(t.wrapping_add(self.bias)) != Some(false) {
                continue;
            }
            let Some(id) = self.link_to_id(Some(t)) else {
                continue;
            };
            if !matches!(self.heap.find_object(w), Some((_, 0)))
                || self.mask_words(id).is_none_or(|m| m.is_empty())
            {
                continue;
            }
            if self.target_fits(w, id, false) {
                self.claim(w, id, 1);
            }
        }
    }

    /// Types what globals hold by the code's account (no DWARF): the fresh `T` or
    /// `[]T` a global only ever receives, when the object agrees; the map a global
    /// is used as; and `runtime.allgs`'s array (`[]*runtime.g` in every release).
    pub(super) fn code_evidence(&mut self) {
        let f = self.code_facts();
        let bias = self.bias;
        for &(g, t) in &f.pointees {
            let Some(w) = self.word(g.wrapping_add(bias)).filter(|&w| w != 0) else {
                continue;
            };
            if self.closure_struct(t) {
                continue;
            }
            if self.descriptor(t.wrapping_add(bias)) != Some(false) {
                continue;
            }
            let Some(id) = self.link_to_id(Some(t)) else {
                continue;
            };
            if !matches!(self.heap.find_object(w), Some((_, 0))) {
                continue;
            }
            if self.mask_words(id).is_none_or(|m| m.is_empty()) {
                continue;
            }
            if self.target_fits(w, id, false) {
                self.claim(w, id, 1);
            }
        }
        if !f.frames.is_empty() {
            self.code_frames(&f.frames);
        }
        for &(g, t) in &f.slices {
            let addr = g.wrapping_add(bias);
            if self.descriptor(t.wrapping_add(bias)) != Some(false) {
                continue;
            }
            let Some(id) = self.link_to_id(Some(t)) else {
                continue;
            };
            self.slice_global(addr, id);
        }
        // The runtime's own: `runtime.allgs` is a `[]*runtime.g` in every release.
        if let Ok(loc) = self.proc.locate_global("runtime.allgs") {
            if let Some(id) = self.type_named("*runtime.g") {
                self.slice_global(loc.addr, id);
            }
        }
        for &(g, m) in &f.maps {
            let addr = g.wrapping_add(bias);
            let Some(w) = self.word(addr).filter(|&w| w != 0) else {
                continue;
            };
            if self.descriptor(m.wrapping_add(bias)) != Some(false)
                || !matches!(self.heap.find_object(w), Some((_, 0)))
            {
                continue;
            }
            let Some(id) = self.link_to_id(Some(m)) else {
                continue;
            };
            if matches!(*self.shape_of(id), Shape::Map(_)) {
                self.walk(addr, id, 0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(v: i32) -> [u8; 4] {
        v.to_le_bytes()
    }

    /// [`scan_amd64`] with the tests' type section 0x50_0000.. and data 0x60_0000..
    fn scan(code: &[u8], base: u64, funcs: &HashMap<&str, u64>) -> CodeFacts {
        scan_amd64(
            code,
            base,
            (0x50_0000, 0x50_1000),
            &[(0x60_0000, 0x60_1000)],
            funcs,
            &[],
        )
    }

    /// LEAQ T, AX; CALL newobject; CMPL flag, $0; JE L; CALL wb; L: MOVQ AX, G.
    fn alloc_store(base: u64, t: u64, newobj: u64, wb: u64, g: u64) -> Vec<u8> {
        let mut c = vec![0x48, 0x8d, 0x05];
        c.extend(le((t as i64 - (base as i64 + 7)) as i32));
        c.push(0xe8);
        c.extend(le((newobj as i64 - (base as i64 + 12)) as i32));
        c.extend([0x83, 0x3d]);
        c.extend(le((0x60_0100 - (base as i64 + 19)) as i32));
        c.push(0);
        c.extend([0x74, 5, 0xe8]);
        c.extend(le((wb as i64 - (base as i64 + 26)) as i32));
        let l = base + c.len() as u64;
        c.extend([0x48, 0x89, 0x05]);
        c.extend(le((g as i64 - (l as i64 + 7)) as i32));
        c
    }

    #[test]
    fn fresh_object_stored_to_a_global() {
        let base = 0x40_0000;
        let (t, newobj, wb, g) = (0x50_0000, 0x41_0000, 0x41_1000, 0x60_0200);
        let funcs: HashMap<&str, u64> = [
            ("runtime.newobject", newobj),
            ("runtime.gcWriteBarrier2", wb),
        ]
        .into_iter()
        .collect();
        let code = alloc_store(base, t, newobj, wb, g);
        let f = scan(&code, base, &funcs);
        assert_eq!(f.descriptors, vec![t]);
        assert_eq!(f.pointees, vec![(g, t)]);
        // Another store to G (MOVQ CX, G) disqualifies it.
        let mut code2 = code.clone();
        let at = base + code2.len() as u64;
        code2.extend([0x48, 0x89, 0x0d]);
        code2.extend(le((g as i64 - (at as i64 + 7)) as i32));
        let f = scan(&code2, base, &funcs);
        assert!(f.pointees.is_empty());
        // So does a non-nil immediate (MOVQ $1, G); nil (MOVQ $0, G), a load and
        // its address taken (LEAQ G, CX) do not.
        let with = |tail: &[u8], imm: Option<i32>| {
            let mut c = code.clone();
            let at = base + c.len() as u64;
            let len = tail.len() as i64 + 4 + if imm.is_some() { 4 } else { 0 };
            c.extend(tail);
            c.extend(le((g as i64 - (at as i64 + len)) as i32));
            if let Some(v) = imm {
                c.extend(le(v));
            }
            scan(&c, base, &funcs).pointees
        };
        assert!(with(&[0x48, 0xc7, 0x05], Some(1)).is_empty());
        assert_eq!(with(&[0x48, 0xc7, 0x05], Some(0)), vec![(g, t)]);
        assert_eq!(with(&[0x48, 0x8b, 0x0d], None), vec![(g, t)]);
        assert_eq!(with(&[0x48, 0x8d, 0x0d], None), vec![(g, t)]);
    }

    #[test]
    fn specialized_allocator_with_field_init_and_padded_barrier() {
        // Go 1.27: MOVL $16, AX; LEAQ T, BX; MOVL $1, CX; CALL mallocgcSmallScan…;
        // MOVQ $6, 8(AX); CMPL flag, $0; JE L; MOVQ G, DX; NOPL; CALL wb;
        // <MOVQ AX, 0(R11)>; L: MOVQ AX, G
        let base = 0x40_0000u64;
        let (t, mk, wb, g) = (0x50_0000u64, 0x41_0000u64, 0x41_1000u64, 0x60_0200u64);
        let funcs: HashMap<&str, u64> = [
            ("runtime.mallocgcSmallScanNoHeaderSC2", mk),
            ("runtime.gcWriteBarrier2", wb),
        ]
        .into_iter()
        .collect();
        let pos = |c: &Vec<u8>| base as i64 + c.len() as i64;
        let mut c = vec![0xb8, 16, 0, 0, 0, 0x48, 0x8d, 0x1d];
        c.extend(le((t as i64 - (pos(&c) + 4)) as i32));
        c.extend([0xb9, 1, 0, 0, 0, 0xe8]);
        c.extend(le((mk as i64 - (pos(&c) + 4)) as i32));
        c.extend([0x48, 0xc7, 0x40, 0x08, 6, 0, 0, 0, 0x83, 0x3d]);
        c.extend(le((0x60_0100 - (pos(&c) + 5)) as i32));
        // JE over: MOVQ G, DX (7) + NOPL (3) + CALL (5) + MOVQ AX, 0(R11) (3) = 18.
        c.extend([0, 0x74, 18, 0x48, 0x8b, 0x15]);
        c.extend(le((g as i64 - (pos(&c) + 4)) as i32));
        c.extend([0x0f, 0x1f, 0x00, 0xe8]);
        c.extend(le((wb as i64 - (pos(&c) + 4)) as i32));
        c.extend([0x49, 0x89, 0x03, 0x48, 0x89, 0x05]);
        c.extend(le((g as i64 - (pos(&c) + 4)) as i32));
        let f = scan(&c, base, &funcs);
        assert_eq!(f.descriptors, vec![t]);
        assert_eq!(f.pointees, vec![(g, t)]);
    }

    #[test]
    fn fresh_slice_stored_to_a_global() {
        let base = 0x40_0000u64;
        let (t, mk, wb, g) = (0x50_0000u64, 0x41_0000u64, 0x41_1000u64, 0x60_0200u64);
        let funcs: HashMap<&str, u64> =
            [("runtime.makeslice", mk), ("runtime.gcWriteBarrier2", wb)]
                .into_iter()
                .collect();
        // LEAQ T, AX; MOVL $40, BX; MOVQ BX, CX; CALL makeslice
        let mut c = vec![0x48, 0x8d, 0x05];
        c.extend(le((t as i64 - (base as i64 + 7)) as i32));
        c.extend([0xbb, 40, 0, 0, 0, 0x48, 0x89, 0xd9, 0xe8]);
        c.extend(le((mk as i64 - (base as i64 + c.len() as i64 + 4)) as i32));
        // MOVQ $40, G+8; MOVQ $40, G+16
        for off in [8i64, 16] {
            let at = base as i64 + c.len() as i64;
            c.extend([0x48, 0xc7, 0x05]);
            c.extend(le((g as i64 + off - (at + 11)) as i32));
            c.extend(le(40));
        }
        // CMPL flag, $0; JE L; CALL wb; L: MOVQ AX, G
        let at = base as i64 + c.len() as i64;
        c.extend([0x83, 0x3d]);
        c.extend(le((0x60_0100 - (at + 7)) as i32));
        c.extend([0, 0x74, 5, 0xe8]);
        c.extend(le((wb as i64 - (base as i64 + c.len() as i64 + 4)) as i32));
        let at = base as i64 + c.len() as i64;
        c.extend([0x48, 0x89, 0x05]);
        c.extend(le((g as i64 - (at + 7)) as i32));
        let f = scan(&c, base, &funcs);
        assert_eq!(f.slices, vec![(g, t)]);
        assert!(f.pointees.is_empty());
        assert_eq!(f.descriptors, vec![t]);
    }

    /// On the cases with DWARF (amd64), the object every global pointee fact and
    /// every frame slot fact points to (the pointer starting an object) is typed
    /// by DWARF with that very `T` (the facts are applied only without DWARF).
    #[test]
    fn code_facts_agree_with_dwarf() {
        use crate::{Heap, Process, Typing};
        let cases = testkit::cases_where(|c| {
            c.name.ends_with("-amd64") && matches!(c.mode().as_ref(), "default" | "pie" | "cgo")
        });
        let (mut agree, mut failures) = (0, Vec::new());
        for case in cases {
            let core = corefile::Core::open_with(
                case.core_path(),
                &corefile::OpenOptions::new().executable(case.exe_path()),
            )
            .unwrap();
            let proc = Process::new(&core).unwrap();
            let heap = Heap::new(&proc).unwrap();
            let typing = Typing::compute(&proc, &heap).unwrap();
            let md = proc.binary().moduledata().unwrap();
            let f = read_facts(&proc, md.types_range()).unwrap();
            let reader = proc.binary().type_reader(&md).unwrap();
            let closure = |t: u64| {
                reader
                    .type_at(t)
                    .is_ok_and(|d| d.name.starts_with("struct { F uintptr; "))
            };
            let bias = proc.load_bias();
            let mut held: Vec<(String, u64, u64)> = Vec::new();
            for &(g, t) in &f.pointees {
                if let Ok(w) = core.read_u64(g.wrapping_add(bias)) {
                    held.push((format!("global {g:#x}"), w, t));
                }
            }
            for (slot, t) in frame_slots(&proc, &heap, &f.frames, bias) {
                if let Ok(w) = core.read_u64(slot) {
                    held.push((format!("frame slot {slot:#x}"), w, t));
                }
            }
            let (mut n, mut nf) = (0, 0);
            for (what, w, t) in held {
                if closure(t) {
                    continue;
                }
                let Some((id, 0)) = heap.find_object(w) else {
                    continue;
                };
                let Some(ty) = typing.object_type(id) else {
                    continue;
                };
                let e = typing.type_entry(ty.ty).unwrap();
                if e.addr == t.wrapping_add(bias) && ty.offset == 0 {
                    n += 1;
                    nf += usize::from(what.starts_with("frame"));
                } else {
                    failures.push(format!(
                        "{}: {what} holds {w:#x}, typed {} by DWARF, code says {t:#x}",
                        case.name, e.name
                    ));
                }
            }
            println!(
                "{}: {n} objects held by {} global and {} frame slot facts agree with DWARF ({nf} held by frames)",
                case.name,
                f.pointees.len(),
                f.frames.len()
            );
            agree += n;
        }
        assert!(failures.is_empty(), "{failures:#?}");
        assert!(agree > 0, "no fact checked");
    }

    #[test]
    fn map_global_used_with_its_type() {
        let base = 0x40_0000u64;
        let (m, assign, g) = (0x50_0040u64, 0x41_0000u64, 0x60_0008u64);
        let funcs: HashMap<&str, u64> =
            [("runtime.mapassign_fast64", assign)].into_iter().collect();
        // MOVQ G, BX; LEAQ M, AX; CALL mapassign_fast64
        let mut c = vec![0x48, 0x8b, 0x1d];
        c.extend(le((g as i64 - (base as i64 + 7)) as i32));
        c.extend([0x48, 0x8d, 0x05]);
        c.extend(le((m as i64 - (base as i64 + 14)) as i32));
        c.push(0xe8);
        c.extend(le((assign as i64 - (base as i64 + 19)) as i32));
        let f = scan(&c, base, &funcs);
        assert_eq!(f.maps, vec![(g, m)]);
        assert_eq!(f.descriptors, vec![m]);
    }
}
