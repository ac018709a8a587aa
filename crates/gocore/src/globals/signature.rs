//! Structural signatures: each finds one runtime global by what it holds, validated
//! field by field, and answers only when exactly one place in the executable's
//! writable data matches.

use std::collections::HashSet;

use super::code;
use super::image::{Image, Range};
use crate::process::Process;

/// What a signature found.
pub(crate) struct Found {
    pub(crate) addr: u64,
    pub(crate) size: Option<u64>,
}

type SigResult = Result<Found, String>;

/// The globals a signature exists for, and a one-line description of each.
pub(crate) static SIGNATURES: &[(&str, &str)] = &[
    (
        "runtime.mheap_",
        "a runtime.mheap whose central[i].mcentral.spanclass == i for every span class, with a non-empty allspans",
    ),
    (
        "runtime.allgs",
        "a []*runtime.g slice header whose first element is the live goroutine 1 and every element a g with sched.g == itself, lo < hi stacks and distinct goids",
    ),
    (
        "runtime.waitReasonStrings",
        "a [N]string array: \"\", \"GC assist marking\", and at each catalogued waitReason constant its text (\"IO wait\", \"chan receive\", …)",
    ),
    (
        "runtime.buildVersion",
        "a string header pointing at the Go version from build info",
    ),
    (
        "runtime.class_to_size",
        "a [NumSizeClasses]uint16 table 0, 8, 16, 24, 32, 48, 64, 80 … 32768, strictly increasing",
    ),
    (
        "internal/runtime/gc.SizeClassToSize",
        "a [NumSizeClasses]uint16 table 0, 8, 16, 24, 32, 48, 64, 80 … 32768, strictly increasing",
    ),
    (
        "runtime.firstmoduledata",
        "a runtime.moduledata whose pcHeader points at the pclntab and whose text..etext lies in the text section",
    ),
    (
        "runtime.gcController",
        "a runtime.gcControllerState whose heapMinimum == defaultHeapMinimum (4 MiB or 512 KiB) × gcPercent / 100 (gcPercent != 0), memoryLimit > 0, heapInUse == mheap_.pagesInUse × page size (> 0), heapFree and heapReleased whole pages, mappedReady >= heapInUse",
    ),
    (
        "runtime.memstats",
        "a runtime.mstats with enablegc set, 1 <= numgc, numforcedgc <= numgc, last_gc_unix == pause_end[(numgc-1) % 256] != 0, every recorded pause_end non-zero and (numgc <= 256) pause_total_ns == the sum of the recorded pause_ns",
    ),
    (
        "runtime.sched",
        "a runtime.schedt whose mnext, nmfreed and maxmcount runtime.checkmcount's code reads (when the function is there), whose goidgen is at least the largest goid of allgs, 0 < mnext - nmfreed <= maxmcount, midle a chain of nmidle ms (through m.schedlink; from Go 1.26 an initialized list threaded through m.idleNode) and pidle a chain of npidle ps in status _Pidle",
    ),
    (
        "runtime.allm",
        "the one GC pointer word in data/bss outside runtime.sched pointing at the head of the longest m.alllink chain of ms (g0.m == m, procid a thread of the core) ending at m0 in bss, holding every m a goroutine runs on, and (when runtime.sched is located) exactly mnext - nmfreed ms long",
    ),
    (
        "runtime.allfin",
        "the one GC pointer word that both runtime.markroot and runtime.queuefinalizer refer to in their code, nil or the head of an alllink chain of finalizer blocks whose cnt fits the block",
    ),
    (
        "runtime.gcCleanups",
        "(Go 1.25+) the one runtime.cleanupQueue whose address runtime.runCleanups refers to and whose field all runtime.markroot reads, all a GC pointer word that is nil or the head of an alllink chain of cleanup blocks whose n fits the block, asleep <= ng, executed <= queued",
    ),
];

/// Runs the signature of `name`.
pub(crate) fn locate(proc: &Process<'_>, img: &Image, name: &str) -> SigResult {
    match name {
        "runtime.mheap_" => mheap(proc, img),
        "runtime.allgs" => allgs(proc, img),
        "runtime.waitReasonStrings" => wait_reasons(proc, img),
        "runtime.buildVersion" => build_version(proc, img),
        "runtime.class_to_size" => class_to_size(proc, img, "runtime._NumSizeClasses"),
        "internal/runtime/gc.SizeClassToSize" => {
            class_to_size(proc, img, "internal/runtime/gc.NumSizeClasses")
        }
        "runtime.firstmoduledata" => firstmoduledata(proc, img),
        "runtime.allm" => allm(proc, img),
        "runtime.sched" => sched(proc, img),
        "runtime.allfin" => allfin(proc, img),
        "runtime.gcCleanups" => gc_cleanups(proc, img),
        "runtime.gcController" => gc_controller(proc, img),
        "runtime.memstats" => memstats(proc, img),
        _ => Err(format!(
            "no structural signature is strong enough for {name}; a symbol table or DWARF is needed"
        )),
    }
}

/// Exactly one hit, or an error saying how many.
fn unique(hits: Vec<Found>, what: &str) -> SigResult {
    let mut hits = hits;
    match hits.len() {
        1 => hits.pop().ok_or_else(|| "internal: empty".to_string()),
        0 => Err(format!("no {what} in data/bss")),
        n => Err(format!(
            "{n} places look like {what} (at {}); refusing to guess",
            hits.iter()
                .take(4)
                .map(|h| format!("{:#x}", h.addr))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn layout_err(e: impl std::fmt::Display) -> String {
    format!("layout: {e}")
}

/// Byte offsets `0, 8, 16 …` of 8-aligned positions in `r` leaving room for `len`
/// bytes.
fn words(r: &Range, len: u64) -> impl Iterator<Item = usize> + '_ {
    let n = r.bytes.len();
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    (0..n.saturating_sub(len).saturating_add(1)).step_by(8)
}

/// `N` of a DWARF array type name `[N]T`.
fn array_len(type_name: &str) -> Option<u64> {
    type_name.strip_prefix('[')?.split(']').next()?.parse().ok()
}

fn mheap(proc: &Process<'_>, img: &Image) -> SigResult {
    let l = proc.layouts();
    let central = l.field("runtime.mheap", "central").map_err(layout_err)?;
    let n = match array_len(&central.type_name) {
        Some(n) => n,
        None => l
            .constant_u64("runtime.numSpanClasses")
            .map_err(layout_err)?,
    };
    if !(4..=256).contains(&n) {
        return Err(format!(
            "mheap.central has {n} span classes (expected 4..=256)"
        ));
    }
    let elem = central.size / n;
    if elem == 0 || elem * n != central.size {
        return Err(format!(
            "mheap.central: {} bytes is not {n} equal elements",
            central.size
        ));
    }
    // The element is `struct { mcentral mcentral; pad [...]byte }`.
    let sc = l
        .field("runtime.mcentral", "spanclass")
        .map_err(layout_err)?
        .offset;
    let size = l.size("runtime.mheap").map_err(layout_err)?;
    let allspans = l.offset("runtime.mheap", "allspans").map_err(layout_err)?;
    let (first, n_us, elem_us) = (
        usize::try_from(central.offset + sc).map_err(|e| e.to_string())?,
        n as usize,
        elem as usize,
    );
    let mut hits = Vec::new();
    for r in &img.ranges {
        for off in words(r, size) {
            let ok =
                (0..n_us).all(|i| r.bytes.get(off + first + i * elem_us).copied() == Some(i as u8));
            if !ok {
                continue;
            }
            let addr = r.start + off as u64;
            // allspans: a non-empty, readable slice.
            let (p, len, cap) = (
                img.word(addr + allspans),
                img.word(addr + allspans + 8),
                img.word(addr + allspans + 16),
            );
            let plausible = matches!((p, len, cap),
                (Some(p), Some(len), Some(cap))
                    if p != 0 && len > 0 && len <= cap && cap < 1 << 40
                        && proc.core().read_ptr(p).is_ok());
            if plausible {
                hits.push(Found {
                    addr,
                    size: Some(size),
                });
            }
        }
    }
    unique(
        hits,
        "runtime.mheap (central[i].spanclass == i, allspans non-empty)",
    )
}

/// Most `allgs` entries read.
const MAX_ALLGS: u64 = 1 << 22;

struct GOffsets {
    sched_g: u64,
    lo: u64,
    hi: u64,
    goid: u64,
    status: u64,
    dead: u64,
    scan: u64,
}

impl GOffsets {
    fn new(proc: &Process<'_>) -> Result<GOffsets, String> {
        let l = proc.layouts();
        Ok(GOffsets {
            sched_g: l.offset("runtime.g", "sched.g").map_err(layout_err)?,
            lo: l.offset("runtime.g", "stack.lo").map_err(layout_err)?,
            hi: l.offset("runtime.g", "stack.hi").map_err(layout_err)?,
            goid: l.offset("runtime.g", "goid").map_err(layout_err)?,
            status: l.offset("runtime.g", "atomicstatus").map_err(layout_err)?,
            dead: l.constant_u64("runtime._Gdead").unwrap_or(6),
            scan: l.constant_u64("runtime._Gscan").unwrap_or(0x1000),
        })
    }

    /// Checks that `g` is a goroutine: its saved context names it, its stack bounds
    /// are ordered (or both zero once dead), its status is a status. Returns
    /// `(goid, dead)`.
    fn check(&self, proc: &Process<'_>, g: u64) -> Result<(u64, bool), String> {
        let core = proc.core();
        let rd = |off: u64| {
            core.read_ptr(g.wrapping_add(off))
                .map_err(|e| format!("g at {g:#x}: {e}"))
        };
        if g == 0 || g % 8 != 0 {
            return Err(format!("g pointer {g:#x}"));
        }
        if rd(self.sched_g)? != g {
            return Err(format!("g at {g:#x}: sched.g does not point back"));
        }
        let status = u64::from(
            core.read_u32(g.wrapping_add(self.status))
                .map_err(|e| format!("g at {g:#x}: {e}"))?,
        ) & !self.scan;
        if status > 31 {
            return Err(format!("g at {g:#x}: status {status}"));
        }
        let (lo, hi) = (rd(self.lo)?, rd(self.hi)?);
        let dead = status == self.dead;
        if !(lo < hi || (dead && lo == 0 && hi == 0)) {
            return Err(format!("g at {g:#x}: stack {lo:#x}..{hi:#x}"));
        }
        Ok((rd(self.goid)?, dead))
    }
}

fn allgs(proc: &Process<'_>, img: &Image) -> SigResult {
    let offs = GOffsets::new(proc)?;
    let core = proc.core();
    let mut hits = Vec::new();
    for r in img.ranges.iter().filter(|r| !r.name.starts_with("noptr")) {
        for off in words(r, 24) {
            let (Some(p), Some(n), Some(c)) = (
                r.word(off, img.endian),
                r.word(off + 8, img.endian),
                r.word(off + 16, img.endian),
            ) else {
                continue;
            };
            if p == 0 || p % 8 != 0 || n == 0 || n > c || c > MAX_ALLGS {
                continue;
            }
            // Cheap first test: the first element is a g naming itself.
            let Ok(g0) = core.read_ptr(p) else { continue };
            if g0 == 0
                || g0 % 8 != 0
                || core.read_ptr(g0.wrapping_add(offs.sched_g)).ok() != Some(g0)
            {
                continue;
            }
            if validate_allgs(proc, &offs, p, n).is_ok() {
                hits.push(Found {
                    addr: r.start + off as u64,
                    size: Some(24),
                });
            }
        }
    }
    unique(hits, "[]*runtime.g slice of valid goroutines")
}

fn validate_allgs(proc: &Process<'_>, offs: &GOffsets, p: u64, n: u64) -> Result<(), String> {
    let core = proc.core();
    let bytes = core
        .read(p, (n * 8) as usize)
        .map_err(|e| format!("allgs array: {e}"))?;
    let endian = core.arch().endian();
    let mut goids = HashSet::new();
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        let g = endian.read_u64(chunk.try_into().map_err(|_| "short read")?);
        let (goid, dead) = offs.check(proc, g)?;
        // The first goroutine ever added is runtime.main's, goroutine 1, which lives
        // as long as the process.
        if i == 0 && (goid != 1 || dead) {
            return Err(format!("first g is goroutine {goid} (dead: {dead})"));
        }
        if !dead && !goids.insert(goid) {
            return Err(format!("goid {goid} twice"));
        }
    }
    Ok(())
}

/// Wait reasons the layouts catalogue, with the text `waitReasonStrings` holds for
/// each (the same in every release that has the constant).
const WAIT_REASONS: &[(&str, &str)] = &[
    ("runtime.waitReasonIOWait", "IO wait"),
    (
        "runtime.waitReasonChanReceiveNilChan",
        "chan receive (nil chan)",
    ),
    ("runtime.waitReasonChanSendNilChan", "chan send (nil chan)"),
    ("runtime.waitReasonSelect", "select"),
    ("runtime.waitReasonSelectNoCases", "select (no cases)"),
    ("runtime.waitReasonChanReceive", "chan receive"),
    ("runtime.waitReasonChanSend", "chan send"),
    ("runtime.waitReasonFinalizerWait", "finalizer wait"),
    ("runtime.waitReasonSemacquire", "semacquire"),
    ("runtime.waitReasonSleep", "sleep"),
    ("runtime.waitReasonSyncCondWait", "sync.Cond.Wait"),
    ("runtime.waitReasonSyncMutexLock", "sync.Mutex.Lock"),
    ("runtime.waitReasonSyncRWMutexRLock", "sync.RWMutex.RLock"),
    ("runtime.waitReasonSyncRWMutexLock", "sync.RWMutex.Lock"),
    ("runtime.waitReasonSyncWaitGroupWait", "sync.WaitGroup.Wait"),
    ("runtime.waitReasonGCWorkerIdle", "GC worker (idle)"),
    ("runtime.waitReasonPreempted", "preempted"),
    ("runtime.waitReasonCleanupWait", "cleanup wait"),
];

/// Entry 1 (`waitReasonGCAssistMarking`) in every release, the scan's anchor.
const WAIT_REASON_1: &str = "GC assist marking";

/// Fewest catalogued wait reasons that must check out besides entries 0 and 1.
const MIN_WAIT_REASONS: usize = 8;

/// Most wait reasons (an index past this is not a wait reason).
const MAX_WAIT_REASON: i64 = 255;

/// Whether the string header at `addr` holds exactly `text`.
fn string_is(proc: &Process<'_>, img: &Image, addr: u64, text: &str) -> bool {
    let (Some(p), Some(n)) = (img.word(addr), img.word(addr + 8)) else {
        return false;
    };
    if n != text.len() as u64 {
        return false;
    }
    if n == 0 {
        return true;
    }
    proc.core()
        .read(p, text.len())
        .is_ok_and(|b| b.as_ref() == text.as_bytes())
}

fn wait_reasons(proc: &Process<'_>, img: &Image) -> SigResult {
    let l = proc.layouts();
    // Index and text of every catalogued wait reason this release has.
    let known: Vec<(u64, &str)> = WAIT_REASONS
        .iter()
        .filter_map(|&(c, t)| {
            let v = l.constant(c).ok()?;
            (2..=MAX_WAIT_REASON).contains(&v).then_some((v as u64, t))
        })
        .collect();
    if known.len() < MIN_WAIT_REASONS {
        return Err(format!(
            "only {} wait-reason constants known for this release (need {MIN_WAIT_REASONS})",
            known.len()
        ));
    }
    let mut hits = Vec::new();
    for r in &img.ranges {
        for off in words(r, 16).skip(2) {
            if r.word(off + 8, img.endian) != Some(WAIT_REASON_1.len() as u64) {
                continue;
            }
            let arr = r.start + off as u64 - 16;
            let ok = string_is(proc, img, arr, "")
                && string_is(proc, img, arr + 16, WAIT_REASON_1)
                && known
                    .iter()
                    .all(|&(i, t)| string_is(proc, img, arr + 16 * i, t));
            if ok {
                hits.push(Found {
                    addr: arr,
                    size: None,
                });
            }
        }
    }
    unique(hits, "wait-reason string table")
}

fn build_version(proc: &Process<'_>, img: &Image) -> SigResult {
    let version = match proc.binary().build_info() {
        Ok(b) if !b.go_version.is_empty() => b.go_version,
        _ => return Err("no build info to take the version string from".into()),
    };
    let mut hits = Vec::new();
    for r in &img.ranges {
        for off in words(r, 16) {
            if r.word(off + 8, img.endian) != Some(version.len() as u64) {
                continue;
            }
            let addr = r.start + off as u64;
            if string_is(proc, img, addr, &version) {
                hits.push(Found {
                    addr,
                    size: Some(16),
                });
            }
        }
    }
    unique(hits, &format!("string header holding {version:?}"))
}

/// The first size classes, the same in every release.
const FIRST_SIZES: [u16; 8] = [0, 8, 16, 24, 32, 48, 64, 80];
/// `_MaxSmallSize`, the last class.
const MAX_SMALL_SIZE: u16 = 32768;

fn class_to_size(proc: &Process<'_>, img: &Image, count: &str) -> SigResult {
    // The constant exists exactly in the releases that have this table's name.
    let n = proc.layouts().constant_u64(count).map_err(layout_err)?;
    if !(FIRST_SIZES.len() as u64..=1024).contains(&n) {
        return Err(format!("{count} = {n}"));
    }
    let n = n as usize;
    let mut hits = Vec::new();
    for r in &img.ranges {
        let mut off = 0usize;
        while off + 2 * n <= r.bytes.len() {
            let at = |i: usize| r.u16(off + 2 * i, img.endian).unwrap_or(1);
            let ok = FIRST_SIZES.iter().enumerate().all(|(i, &s)| at(i) == s)
                && (1..n).all(|i| at(i) > at(i - 1) && at(i) % 8 == 0)
                && at(n - 1) == MAX_SMALL_SIZE;
            if ok {
                hits.push(Found {
                    addr: r.start + off as u64,
                    size: Some(2 * n as u64),
                });
            }
            off += 2;
        }
    }
    unique(
        hits,
        "size-class table (0, 8, 16, 24, 32, 48, 64, 80 … 32768)",
    )
}

fn firstmoduledata(proc: &Process<'_>, img: &Image) -> SigResult {
    let bin = proc.binary();
    let bias = proc.load_bias();
    let md = bin.moduledata().map_err(|e| format!("moduledata: {e}"))?;
    let field = |name: &str| {
        md.field_offset(name)
            .ok_or_else(|| format!("moduledata has no field {name}"))
    };
    let (pc_off, text_off, etext_off) = (field("pcHeader")?, field("text")?, field("etext")?);
    let pcheader = match bin.section(".gopclntab") {
        Some(s) => s.address.wrapping_add(bias),
        None => md
            .word("pcHeader")
            .ok_or("moduledata has no pcHeader")?
            .wrapping_add(bias),
    };
    let text = bin.text_section().ok_or("no text section")?;
    let (tlo, thi) = (
        text.address.wrapping_add(bias),
        text.address.wrapping_add(bias).saturating_add(text.size),
    );
    let size = md.size();
    let mut hits = Vec::new();
    for r in &img.ranges {
        for off in words(r, size) {
            let addr = r.start + off as u64;
            if img.word(addr + pc_off) != Some(pcheader) {
                continue;
            }
            let (Some(t), Some(e)) = (img.word(addr + text_off), img.word(addr + etext_off)) else {
                continue;
            };
            if tlo <= t && t < e && e <= thi {
                hits.push(Found {
                    addr,
                    size: Some(size),
                });
            }
        }
    }
    unique(hits, "runtime.moduledata pointing at the pclntab")
}

/// The `uint32` at run-time address `addr` of the image.
fn u32_at(img: &Image, addr: u64) -> Option<u64> {
    let r = img.range_of(addr)?;
    let o = usize::try_from(addr - r.start).ok()?;
    let b: [u8; 4] = r.bytes.get(o..o.checked_add(4)?)?.try_into().ok()?;
    Some(u64::from(match img.endian {
        corefile::Endian::Little => u32::from_le_bytes(b),
        corefile::Endian::Big => u32::from_be_bytes(b),
    }))
}

/// `runtime.gcController`: its heap minimum follows from its GC percent, and its
/// in-use heap bytes are the heap's in-use pages.
fn gc_controller(proc: &Process<'_>, img: &Image) -> SigResult {
    let l = proc.layouts();
    let ty = "runtime.gcControllerState";
    let off = |f: &str| l.offset(ty, f).map_err(layout_err);
    let (pct, min, limit, in_use, free, released, mapped) = (
        off("gcPercent")?,
        off("heapMinimum")?,
        off("memoryLimit")?,
        off("heapInUse")?,
        off("heapFree")?,
        off("heapReleased")?,
        off("mappedReady")?,
    );
    let size = l.size(ty).map_err(layout_err)?;
    let page = l
        .constant_any(&[
            "runtime._PageSize",
            "runtime.pageSize",
            "internal/runtime/gc.PageSize",
        ])
        .map_err(layout_err)? as u64;
    if page == 0 {
        return Err("page size 0".into());
    }
    let pages = proc
        .global("runtime.mheap_", "runtime.mheap")
        .and_then(|m| m.field("pagesInUse"))
        .and_then(|r| r.uint())
        .map_err(|e| format!("needs mheap_.pagesInUse: {e}"))?;
    let want_in_use = pages.wrapping_mul(page);
    if want_in_use == 0 {
        return Err("mheap_.pagesInUse is 0: nothing to match gcController.heapInUse".into());
    }
    let mut hits = Vec::new();
    for r in &img.ranges {
        for o in words(r, size) {
            let addr = r.start + o as u64;
            if img.word(addr + in_use) != Some(want_in_use) {
                continue;
            }
            // gcPercent is an int32 (atomic.Int32).
            let Some(p) = u32_at(img, addr + pct).map(|v| i64::from(v as u32 as i32)) else {
                continue;
            };
            if p == 0 || !(-1..=1 << 24).contains(&p) {
                continue;
            }
            let hm = img.word(addr + min);
            let ok_min = [4u64 << 20, 512 << 10]
                .iter()
                .any(|d| hm == Some(d.wrapping_mul(p as u64) / 100));
            let ok = ok_min
                && img.word(addr + limit).is_some_and(|v| (v as i64) > 0)
                && img.word(addr + free).is_some_and(|v| v % page == 0)
                && img.word(addr + released).is_some_and(|v| v % page == 0)
                && img.word(addr + mapped).is_some_and(|v| v >= want_in_use);
            if ok {
                hits.push(Found {
                    addr,
                    size: Some(size),
                });
            }
        }
    }
    unique(hits, "runtime.gcControllerState (heapMinimum, heapInUse)")
}

/// `runtime.memstats`: the GC pause ring agrees with the GC count and totals.
fn memstats(proc: &Process<'_>, img: &Image) -> SigResult {
    let l = proc.layouts();
    let ty = "runtime.mstats";
    let off = |f: &str| l.offset(ty, f).map_err(layout_err);
    let (numgc, forced, total, pause_ns, pause_end, last, enable) = (
        off("numgc")?,
        off("numforcedgc")?,
        off("pause_total_ns")?,
        off("pause_ns")?,
        off("pause_end")?,
        off("last_gc_unix")?,
        off("enablegc")?,
    );
    let size = l.size(ty).map_err(layout_err)?;
    let byte_at = |addr: u64| -> Option<u8> {
        let r = img.range_of(addr)?;
        r.bytes.get(usize::try_from(addr - r.start).ok()?).copied()
    };
    let mut hits = Vec::new();
    for r in &img.ranges {
        for o in words(r, size) {
            let addr = r.start + o as u64;
            let Some(n) = u32_at(img, addr + numgc).filter(|&n| n >= 1) else {
                continue;
            };
            if byte_at(addr + enable) != Some(1) {
                continue;
            }
            if u32_at(img, addr + forced).is_none_or(|f| f > n) {
                continue;
            }
            let end = |i: u64| img.word(addr + pause_end + 8 * (i % 256));
            let Some(last_end) = end(n - 1).filter(|&e| e != 0) else {
                continue;
            };
            if img.word(addr + last) != Some(last_end) {
                continue;
            }
            let recorded = n.min(256);
            if !(0..recorded).all(|i| end(i).is_some_and(|e| e != 0)) {
                continue;
            }
            if n <= 256 {
                let sum = (0..n).try_fold(0u64, |a, i| {
                    img.word(addr + pause_ns + 8 * i).map(|v| a.wrapping_add(v))
                });
                if sum.is_none() || sum != img.word(addr + total) {
                    continue;
                }
            }
            hits.push(Found {
                addr,
                size: Some(size),
            });
        }
    }
    unique(hits, "runtime.mstats (GC pause ring)")
}

/// Most `m`s followed along `alllink` or an idle list.
const MAX_MS: usize = 1 << 16;

/// Most `p`s followed along the idle list.
const MAX_PS: u64 = 1 << 16;

/// How far `sched.goidgen` may run ahead of the largest goid in `allgs` (each P
/// caches a batch of 16 ids).
const GOID_SLACK: u64 = 1 << 20;

/// Most blocks followed on a finalizer or cleanup block chain while validating.
const MAX_BLOCKS: usize = 1 << 16;

/// The GC pointer masks of data and bss: which words the collector scans as pointers.
struct PtrMasks {
    masks: Vec<gobinary::PointerMask>,
    bias: u64,
}

impl PtrMasks {
    fn read(proc: &Process<'_>) -> Result<PtrMasks, String> {
        let bin = proc.binary();
        let md = bin.moduledata().map_err(|e| format!("moduledata: {e}"))?;
        let data = bin
            .data_pointer_mask(&md)
            .map_err(|e| format!("data pointer mask: {e}"))?;
        let bss = bin
            .bss_pointer_mask(&md)
            .map_err(|e| format!("bss pointer mask: {e}"))?;
        Ok(PtrMasks {
            masks: vec![data, bss],
            bias: proc.load_bias(),
        })
    }

    /// Whether the word at run-time address `addr` is a GC pointer slot.
    fn is_pointer(&self, addr: u64) -> bool {
        let a = addr.wrapping_sub(self.bias);
        self.masks.iter().any(|m| m.is_pointer(a))
    }
}

/// Recognises `m`s: an m's g0 points back at it, and its thread is one of the core's
/// (or it has none yet, like cgo's extra Ms): an m freed after its thread exited is not.
struct MCheck<'p, 'a> {
    proc: &'p Process<'a>,
    g_m: u64,
    m_g0: u64,
    m_procid: u64,
    tids: HashSet<u64>,
}

impl<'p, 'a> MCheck<'p, 'a> {
    fn new(proc: &'p Process<'a>) -> Result<Self, String> {
        let l = proc.layouts();
        Ok(MCheck {
            proc,
            g_m: l.offset("runtime.g", "m").map_err(layout_err)?,
            m_g0: l.offset("runtime.m", "g0").map_err(layout_err)?,
            m_procid: l.offset("runtime.m", "procid").map_err(layout_err)?,
            tids: proc
                .core()
                .threads()
                .iter()
                .map(|t| u64::from(t.tid))
                .collect(),
        })
    }

    fn is_m(&self, m: u64) -> bool {
        let core = self.proc.core();
        m != 0
            && m % 8 == 0
            && core
                .read_ptr(m.wrapping_add(self.m_g0))
                .and_then(|g0| core.read_ptr(g0.wrapping_add(self.g_m)))
                .is_ok_and(|back| back == m)
            && core
                .read_u64(m.wrapping_add(self.m_procid))
                .is_ok_and(|id| id == 0 || self.tids.contains(&id))
    }
}

/// The `int32` at run-time address `addr` of the image.
fn i32_at(img: &Image, addr: u64) -> Option<i64> {
    u32_at(img, addr).map(|v| i64::from(v as u32 as i32))
}

/// Length of the list from `head`, following the word at `next_off` of each element,
/// if every element passes `ok` and the list ends in nil within `max`.
fn list_len(
    proc: &Process<'_>,
    head: u64,
    next_off: u64,
    max: u64,
    ok: impl Fn(u64) -> bool,
) -> Option<u64> {
    let mut n = 0;
    let mut x = head;
    while x != 0 {
        if n >= max || !ok(x) {
            return None;
        }
        n += 1;
        x = proc.core().read_ptr(x.wrapping_add(next_off)).ok()?;
    }
    Some(n)
}

/// Largest goid of any goroutine in `allgs` (dead ones keep theirs).
fn max_goid(proc: &Process<'_>) -> Result<u64, String> {
    let goid = proc
        .layouts()
        .offset("runtime.g", "goid")
        .map_err(layout_err)?;
    let allgs = proc
        .global("runtime.allgs", "[]*runtime.g")
        .map_err(|e| format!("needs runtime.allgs: {e}"))?;
    let n = allgs.slice_len().map_err(|e| e.to_string())?.min(MAX_ALLGS);
    let mut max = 0;
    for i in 0..n {
        if let Ok(g) = allgs.index(i).and_then(|g| g.ptr()) {
            if let Ok(id) = proc.core().read_u64(g.wrapping_add(goid)) {
                max = max.max(id);
            }
        }
    }
    Ok(max)
}

/// `runtime.sched`: its counters agree with its idle lists and with the goroutines.
fn sched(proc: &Process<'_>, img: &Image) -> SigResult {
    let l = proc.layouts();
    let ty = "runtime.schedt";
    let off = |f: &str| l.offset(ty, f).map_err(layout_err);
    let size = l.size(ty).map_err(layout_err)?;
    let (goidgen, midle, nmidle, mnext, maxm, nmfreed, pidle, npidle) = (
        off("goidgen")?,
        off("midle")?,
        off("nmidle")?,
        off("mnext")?,
        off("maxmcount")?,
        off("nmfreed")?,
        off("pidle")?,
        off("npidle")?,
    );
    // Go 1.26+: midle is a listHeadManual threaded through m.idleNode; before, a
    // muintptr chained through m.schedlink.
    let (m_next, list_head) = match l.offset(ty, "midle.nodeOffset") {
        Ok(node_field) => {
            let node = l.offset("runtime.m", "idleNode").map_err(layout_err)?;
            let next = l
                .offset("runtime.listNodeManual", "next")
                .map_err(layout_err)?;
            (
                node + next,
                Some((off("midle.initialized")?, node_field, node)),
            )
        }
        Err(_) => (
            l.offset("runtime.m", "schedlink").map_err(layout_err)?,
            None,
        ),
    };
    let p_link = l.offset("runtime.p", "link").map_err(layout_err)?;
    let p_status = l.offset("runtime.p", "status").map_err(layout_err)?;
    let p_idle = l.constant_u64("runtime._Pidle").map_err(layout_err)?;
    let ms = MCheck::new(proc)?;
    let top = max_goid(proc)?;
    if top == 0 {
        return Err("no goroutine ids to match sched.goidgen against".into());
    }
    let byte_at = |addr: u64| -> Option<u8> {
        let r = img.range_of(addr)?;
        r.bytes.get(usize::try_from(addr - r.start).ok()?).copied()
    };
    let core = proc.core();
    let is_idle_p = |p: u64| {
        p % 8 == 0
            && core
                .read_u32(p.wrapping_add(p_status))
                .is_ok_and(|s| u64::from(s) == p_idle)
    };
    // checkmcount (`mcount() > sched.maxmcount`) reads mnext, nmfreed and maxmcount:
    // where its code names all three, sched is (a struct elsewhere may hold numbers
    // that pass the checks below when both idle lists are empty).
    let named: Option<HashSet<u64>> = code::refs(proc, img, "runtime.checkmcount").ok().map(|r| {
        r.keys()
            .map(|&a| a.wrapping_sub(maxm))
            .filter(|&b| r.contains_key(&(b + mnext)) && r.contains_key(&(b + nmfreed)))
            .collect()
    });
    let mut hits = Vec::new();
    for r in img.ranges.iter().filter(|r| !r.name.starts_with("noptr")) {
        for o in words(r, size) {
            let addr = r.start + o as u64;
            if named.as_ref().is_some_and(|n| !n.contains(&addr)) {
                continue;
            }
            match img.word(addr + goidgen) {
                Some(g) if g >= top && g - top <= GOID_SLACK => {}
                _ => continue,
            }
            let Some(max) = i32_at(img, addr + maxm).filter(|&v| v > 0) else {
                continue;
            };
            let (Some(next), Some(freed)) = (img.word(addr + mnext), img.word(addr + nmfreed))
            else {
                continue;
            };
            let (next, freed) = (next as i64, freed as i64);
            let mcount = next - freed;
            if freed < 0 || mcount < 1 || mcount > max || mcount > MAX_MS as i64 {
                continue;
            }
            let (Some(nm), Some(np)) = (i32_at(img, addr + nmidle), i32_at(img, addr + npidle))
            else {
                continue;
            };
            if nm < 0 || nm > mcount || np < 0 || np as u64 > MAX_PS {
                continue;
            }
            if let Some((init, node_field, node)) = list_head {
                if byte_at(addr + init) != Some(1) || img.word(addr + node_field) != Some(node) {
                    continue;
                }
            }
            let (Some(mh), Some(ph)) = (img.word(addr + midle), img.word(addr + pidle)) else {
                continue;
            };
            if list_len(proc, mh, m_next, MAX_MS as u64, |m| ms.is_m(m)) != Some(nm as u64) {
                continue;
            }
            if list_len(proc, ph, p_link, MAX_PS, is_idle_p) != Some(np as u64) {
                continue;
            }
            hits.push(Found {
                addr,
                size: Some(size),
            });
        }
    }
    unique(hits, "runtime.schedt (goidgen, m counts, idle lists)")
}

fn allm(proc: &Process<'_>, img: &Image) -> SigResult {
    let l = proc.layouts();
    let g_m = l.offset("runtime.g", "m").map_err(layout_err)?;
    let alllink = l.offset("runtime.m", "alllink").map_err(layout_err)?;
    let ms = MCheck::new(proc)?;
    let masks = PtrMasks::read(proc)?;
    let core = proc.core();
    // runtime.sched's words are ruled out (sched.midle may point at the newest m),
    // and its m count is the chain's length.
    let sched = proc.locate_global("runtime.sched").ok().and_then(|s| {
        let size = s.size.or_else(|| l.size("runtime.schedt").ok())?;
        let next = l.offset("runtime.schedt", "mnext").ok()?;
        let freed = l.offset("runtime.schedt", "nmfreed").ok()?;
        let mcount = core
            .read_u64(s.addr + next)
            .ok()?
            .wrapping_sub(core.read_u64(s.addr + freed).ok()?);
        Some((s.addr, s.addr.saturating_add(size), mcount as usize))
    });
    let allgs = proc
        .global("runtime.allgs", "[]*runtime.g")
        .map_err(|e| format!("needs runtime.allgs: {e}"))?;
    let n = allgs.slice_len().map_err(|e| e.to_string())?.min(MAX_ALLGS);
    // Every m some goroutine is on.
    let mut on_g: HashSet<u64> = HashSet::new();
    for i in 0..n {
        let Ok(g) = allgs.index(i).and_then(|g| g.ptr()) else {
            continue;
        };
        if let Ok(m) = core.read_ptr(g.wrapping_add(g_m)) {
            if m != 0 {
                on_g.insert(m);
            }
        }
    }
    // The chain from `head`, if every link is an m and it ends in nil within bounds.
    let chain = |head: u64| -> Option<Vec<u64>> {
        let mut out = Vec::new();
        let mut m = head;
        while m != 0 {
            if out.len() >= MAX_MS || !ms.is_m(m) {
                return None;
            }
            out.push(m);
            m = core.read_ptr(m.wrapping_add(alllink)).ok()?;
        }
        Some(out)
    };
    // Candidate words: GC pointers to an m whose chain covers every m found on a g
    // and ends at an m in the executable's data (m0).
    let mut best: Vec<(u64, usize)> = Vec::new();
    let mut checked: std::collections::HashMap<u64, Option<usize>> = Default::default();
    for r in img.ranges.iter().filter(|r| !r.name.starts_with("noptr")) {
        for off in words(r, 8) {
            let Some(p) = r.word(off, img.endian) else {
                continue;
            };
            if p == 0 || p % 8 != 0 {
                continue;
            }
            let addr = r.start + off as u64;
            if sched.is_some_and(|(lo, hi, _)| lo <= addr && addr < hi) || !masks.is_pointer(addr) {
                continue;
            }
            let len = *checked.entry(p).or_insert_with(|| {
                let c = chain(p)?;
                let last = *c.last()?;
                (on_g.iter().all(|m| c.contains(m)) && img.range_of(last).is_some())
                    .then_some(c.len())
            });
            if let Some(len) = len {
                best.push((addr, len));
            }
        }
    }
    if let Some((_, _, mcount)) = sched {
        best.retain(|b| b.1 == mcount);
        if best.is_empty() {
            return Err(format!(
                "no pointer to an m.alllink chain of sched.mnext - sched.nmfreed = {mcount} ms"
            ));
        }
    }
    // The head is the one whose chain is longest: any other word pointing into the
    // list points at a suffix of it.
    let longest = best.iter().map(|b| b.1).max().unwrap_or(0);
    let hits = best
        .into_iter()
        .filter(|b| b.1 == longest)
        .map(|(addr, _)| Found {
            addr,
            size: Some(8),
        })
        .collect();
    unique(hits, "pointer to the head of the m.alllink list")
}

/// Length of an `alllink` chain of off-heap blocks from `head` whose count (a
/// `uint32` at `count_off`) is at most `cap`, if it ends in nil within bounds.
fn block_chain(
    proc: &Process<'_>,
    head: u64,
    alllink: u64,
    count_off: u64,
    cap: u64,
) -> Option<usize> {
    let core = proc.core();
    let mut n = 0;
    let mut b = head;
    while b != 0 {
        if n >= MAX_BLOCKS || b % 8 != 0 {
            return None;
        }
        let c = core.read_u32(b.wrapping_add(count_off)).ok()?;
        if u64::from(c) > cap {
            return None;
        }
        n += 1;
        b = core.read_ptr(b.wrapping_add(alllink)).ok()?;
    }
    Some(n)
}

/// `runtime.allfin`: the finalizer blocks' list head, named by the code of the two
/// functions that use it. `*finBlock` points at not-in-heap memory, so the word is
/// not a GC pointer (it lives in noptrbss) and cannot be told apart by the masks.
fn allfin(proc: &Process<'_>, img: &Image) -> SigResult {
    let l = proc.layouts();
    let ty = if l.size("runtime.finBlock").is_ok() {
        "runtime.finBlock"
    } else {
        "runtime.finblock"
    };
    let off = |f: &str| l.offset(ty, f).map_err(layout_err);
    let (alllink, cnt, fin) = (off("alllink")?, off("cnt")?, off("fin")?);
    let bsize = l.size(ty).map_err(layout_err)?;
    let fsize = l.size("runtime.finalizer").map_err(layout_err)?.max(1);
    let cap = bsize.saturating_sub(fin) / fsize;
    // markroot loads it (`for fb := allfin; …`), queuefinalizer loads and stores it
    // (`finc.alllink = allfin; allfin = finc`): whole-word accesses in both, where
    // finptrmask, the other global both name, is only addressed or read by bytes.
    let mark = code::refs(proc, img, "runtime.markroot")?;
    let queue = code::refs(proc, img, "runtime.queuefinalizer")?;
    let hits = mark
        .iter()
        .filter(|&(a, k)| k & code::WORD != 0 && queue.get(a).is_some_and(|q| q & code::WORD != 0))
        .map(|(&a, _)| a)
        .filter(|&a| {
            img.word(a)
                .is_some_and(|h| block_chain(proc, h, alllink, cnt, cap).is_some())
        })
        .map(|addr| Found {
            addr,
            size: Some(8),
        })
        .collect();
    unique(
        hits,
        "word loaded by both runtime.markroot and runtime.queuefinalizer holding nil or finalizer blocks",
    )
}

/// `runtime.gcCleanups` (Go 1.25+): the cleanup queue, named by the code that queues
/// and runs cleanups and by the GC root marker that loads its block list.
fn gc_cleanups(proc: &Process<'_>, img: &Image) -> SigResult {
    let l = proc.layouts();
    let ty = "runtime.cleanupQueue";
    let off = |f: &str| l.offset(ty, f).map_err(layout_err);
    let (all, asleep, ng, queued, executed) = (
        off("all")?,
        off("asleep")?,
        off("ng")?,
        off("queued")?,
        off("executed")?,
    );
    let size = l.size(ty).map_err(layout_err)?;
    let alllink = l
        .offset("runtime.cleanupBlockHeader", "alllink")
        .map_err(layout_err)?;
    let nf = l
        .offset("runtime.cleanupBlockHeader", "n")
        .map_err(layout_err)?;
    let cl = l
        .offset("runtime.cleanupBlock", "cleanups")
        .map_err(layout_err)?;
    // Go 1.25 queues *funcval, later releases a cleanupFn.
    let esize = l
        .size("runtime.cleanupFn")
        .unwrap_or_else(|_| proc.ptr_size())
        .max(1);
    let bsize = l.size("runtime.cleanupBlock").map_err(layout_err)?;
    let cap = bsize.saturating_sub(cl) / esize;
    // markroot loads gcCleanups.all (on arm64 an atomic load: its address is taken).
    let mark = code::refs(proc, img, "runtime.markroot")?;
    let bases: HashSet<u64> = mark.keys().map(|&a| a.wrapping_sub(all)).collect();
    // The queue's own address is taken to call its methods: by the sweeper that
    // queues cleanups (freeSpecial) and by the goroutines running them.
    let mut named: HashSet<u64> = HashSet::new();
    let mut errs = Vec::new();
    for f in ["runtime.freeSpecial", "runtime.runCleanups"] {
        match code::refs(proc, img, f) {
            Ok(r) => named.extend(
                r.iter()
                    .filter(|&(_, k)| k & code::ADDR != 0)
                    .map(|(&a, _)| a),
            ),
            Err(e) => errs.push(e),
        }
    }
    if named.is_empty() {
        return Err(format!("no code naming the queue: {}", errs.join("; ")));
    }
    let mut hits: Vec<Found> = named
        .into_iter()
        .filter(|a| bases.contains(a))
        .filter(|&q| {
            let (Some(n), Some(sl)) = (u32_at(img, q + ng), u32_at(img, q + asleep)) else {
                return false;
            };
            let (Some(qd), Some(ex)) = (img.word(q + queued), img.word(q + executed)) else {
                return false;
            };
            img.range_of(q + size - 1).is_some()
                && sl <= n
                && n <= 1 << 20
                && ex <= qd
                && img
                    .word(q + all)
                    .is_some_and(|h| block_chain(proc, h, alllink, nf, cap).is_some())
        })
        .map(|addr| Found {
            addr,
            size: Some(size),
        })
        .collect();
    hits.sort_by_key(|f| f.addr);
    unique(
        hits,
        "runtime.cleanupQueue whose address the sweeper or runCleanups takes and whose .all runtime.markroot loads",
    )
}
