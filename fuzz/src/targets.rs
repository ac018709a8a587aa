//! The fuzz targets' logic, shared by the libFuzzer binaries (`fuzz/fuzz_targets/`)
//! and by `tests/fuzz_regressions.rs` and `tests/damage.rs` in the main workspace
//! (included there with `#[path]`), so that a crash input found by the fuzzer is
//! replayed through exactly the code that found it.
//!
//! * [`corefile_bytes`]: the input is an ELF core; it is opened and every mapping
//!   and thread is read.
//! * [`gobinary_patch`]: the input picks one of the committed fixture binaries of
//!   `crates/gobinary/tests/data` (ELF amd64/386/arm/arm64, PE, Mach-O) and patches
//!   it (bytes anywhere, bytes inside the sections Go's tables live in, boundary
//!   integers, a truncation); then every `gobinary` entry point runs.
//! * [`gocore_patch`]: the input picks a committed corpus core and patches its
//!   memory (the `PT_LOAD` contents, not its headers): bytes over words that hold
//!   data, pointers to other such words (cycles, pointers into metadata), zeroed
//!   runs; then the whole runtime model runs ([`analyze`]).
//!
//! Nothing here asserts more than "no panic, no hang, bounded memory": libFuzzer
//! (`-timeout`, `-rss_limit_mb`) and the tests' time bounds check the rest.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use corefile::{Core, Memory, OpenOptions};
use gobinary::GoBinary;
use gocore::{
    paths_to, Breakdown, Dominators, Heap, LeakOptions, LeakReport, ObjectGraph, Process,
    Reachability, RootSet, Typing,
};

/// A little-endian reader over the fuzz input.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.0.get(..4)?;
        let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        self.0 = &self.0[4..];
        Some(v)
    }
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let n = n.min(self.0.len());
        if n == 0 {
            return None;
        }
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(b)
    }
}

/// Integers at the edges of what parsers expect.
const BOUNDARY: [u64; 16] = [
    0,
    1,
    2,
    7,
    8,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// The repository root (found from the `testkit` crate's location).
pub fn repo_root() -> PathBuf {
    testkit::workspace_root()
}

// ---------------------------------------------------------------------------
// corefile

/// Opens `data` as a core (no executable) and reads everything it describes.
pub fn corefile_bytes(data: &[u8]) {
    let opts = OpenOptions::new();
    let Ok(core) = Core::from_bytes("/nonexistent/fuzz/core", data.to_vec(), &opts) else {
        return;
    };
    exercise_core(&core);
}

/// Reads the start, middle and end of every mapping, and the stack and PC of every
/// thread; formats everything printable.
pub fn exercise_core(core: &Core) {
    for w in core.warnings() {
        let _ = w.to_string();
    }
    let _ = format!("{core:?} {:?} {:?}", core.process(), core.signal());
    let _ = core.auxv().len();
    for m in core.mappings() {
        let _ = (m.bytes_in_core(), m.bytes_from_file(), m.bytes_missing());
        for addr in [
            m.start(),
            m.end().saturating_sub(1),
            m.start() + m.len() / 2,
        ] {
            let _ = core.read_u8(addr);
            let _ = core.read_ptr(addr);
        }
        let _ = core.read(m.start(), m.len().min(1 << 16) as usize);
        let _ = core.read(m.end().saturating_sub(4), 8);
    }
    for t in core.threads() {
        let _ = core.read_ptr(t.registers.sp());
        let _ = core.read(t.registers.pc(), 16);
        let _ = t.registers.iter().count();
    }
    if let Some(e) = core.executable() {
        let _ = (e.data().len(), e.load_bias(), e.build_id());
    }
    let _ = Memory::read_u64(core, 0);
}

// ---------------------------------------------------------------------------
// gobinary

struct BinBase {
    name: String,
    bytes: Vec<u8>,
    /// File ranges of the sections Go's own tables live in.
    hot: Vec<(usize, usize)>,
}

fn bin_bases() -> &'static [BinBase] {
    static BASES: OnceLock<Vec<BinBase>> = OnceLock::new();
    BASES.get_or_init(|| {
        let dir = repo_root().join("crates/gobinary/tests/data");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "zst"));
        names.sort();
        names
            .into_iter()
            .filter_map(|p| {
                let name = p.file_stem()?.to_string_lossy().into_owned();
                let cache = repo_root().join("target/testdata-cache/gobinary-fixtures");
                let bytes = std::fs::read(testkit::unpack(&p, &cache.join(&name)).ok()?).ok()?;
                let hot = GoBinary::parse(&bytes)
                    .map(|b| {
                        b.sections()
                            .iter()
                            .filter(|s| {
                                let n = s.name.trim_start_matches(['.', '_']);
                                [
                                    "gopclntab",
                                    "go.buildinfo",
                                    "noptrdata",
                                    "data",
                                    "rodata",
                                    "typelink",
                                    "itablink",
                                    "go_buildinfo",
                                    "rdata",
                                ]
                                .iter()
                                .any(|h| n.starts_with(h))
                            })
                            .filter_map(|s| {
                                let off = usize::try_from(s.file_offset?).ok()?;
                                Some((off, s.data.len()))
                            })
                            .filter(|&(_, n)| n > 0)
                            .collect()
                    })
                    .unwrap_or_default();
                Some(BinBase {
                    name: p.file_name()?.to_string_lossy().into_owned(),
                    bytes,
                    hot,
                })
            })
            .collect()
    })
}

/// Names of the binaries [`gobinary_patch`] picks from (by the input's first byte).
pub fn gobinary_bases() -> Vec<String> {
    bin_bases().iter().map(|b| b.name.clone()).collect()
}

/// Patches a fixture binary as the input says, then runs every `gobinary` entry point.
///
/// Input: a byte choosing the binary, then records `op …`:
/// `op & 3 == 0`: `u32 offset` (anywhere in the file), then `(op >> 2 & 7) + 1` bytes;
/// `op & 3 == 1`: `u32` cut: the file is truncated there;
/// `op & 3 == 2`: `u32 offset`, a boundary integer (`op >> 2 & 15`) written as 4 or 8
/// bytes (`op >> 6 & 1`);
/// `op & 3 == 3`: `u8 section`, `u32 offset` inside one of the sections of Go tables,
/// then `(op >> 2 & 7) + 1` bytes.
pub fn gobinary_patch(data: &[u8]) {
    let bases = bin_bases();
    let mut input = Input(data);
    let Some(sel) = input.u8() else { return };
    let Some(base) = bases.get(usize::from(sel) % bases.len().max(1)) else {
        return;
    };
    let mut bytes = base.bytes.clone();
    let mut cut = bytes.len();
    while let Some(op) = input.u8() {
        let len = bytes.len().max(1);
        match op & 3 {
            0 => {
                let Some(off) = input.u32() else { break };
                let Some(b) = input.bytes(usize::from(op >> 2 & 7) + 1) else {
                    break;
                };
                write(&mut bytes, off as usize % len, b);
            }
            1 => {
                let Some(c) = input.u32() else { break };
                cut = cut.min(c as usize % len);
            }
            2 => {
                let Some(off) = input.u32() else { break };
                let v = BOUNDARY[usize::from(op >> 2 & 15)];
                let b = v.to_le_bytes();
                let n = if op >> 6 & 1 == 1 { 8 } else { 4 };
                write(&mut bytes, off as usize % len, &b[..n]);
            }
            _ => {
                let (Some(s), Some(off)) = (input.u8(), input.u32()) else {
                    break;
                };
                let Some(b) = input.bytes(usize::from(op >> 2 & 7) + 1) else {
                    break;
                };
                if let Some(&(start, n)) = base.hot.get(usize::from(s) % base.hot.len().max(1)) {
                    write(&mut bytes, start + off as usize % n, b);
                }
            }
        }
    }
    bytes.truncate(cut);
    exercise_binary(&bytes);
}

fn write(bytes: &mut [u8], off: usize, b: &[u8]) {
    let end = (off + b.len()).min(bytes.len());
    if let Some(dst) = bytes.get_mut(off..end) {
        dst.copy_from_slice(&b[..end - off]);
    }
}

/// Runs every `gobinary` entry point on `data`.
pub fn exercise_binary(data: &[u8]) {
    // A universal Mach-O (the patches can write its magic): every member by arch.
    for arch in GoBinary::fat_arches(data).unwrap_or_default() {
        if let Ok(member) = GoBinary::parse_arch(data, arch) {
            let _ = (member.arch(), member.build_info(), member.pclntab().is_ok());
        }
    }
    let Ok(bin) = GoBinary::parse(data) else {
        return;
    };
    let _ = (
        bin.format(),
        bin.arch(),
        bin.os(),
        bin.ptr_size(),
        bin.endian(),
    );
    let _ = (bin.go_build_id(), bin.gnu_build_id(), bin.has_symbols());
    let _ = bin.symbol("runtime.main");
    if let Some(t) = bin.text_section() {
        let _ = bin.read_at(t.address, 64);
        let _ = bin.section_at(t.address + t.size / 2);
    }
    if let Ok(info) = bin.build_info() {
        let _ = (
            info.modinfo_string(),
            info.render_version_m("fuzz"),
            info.version(),
        );
    }
    if let Ok(tab) = bin.pclntab() {
        let n = tab.func_count();
        let _ = tab.file_count();
        for i in 0..n.min(20_000) {
            let Ok(f) = tab.func(i) else { continue };
            let detailed = i < 64 || i % 97 == 0;
            let _ = tab.func_for_pc(f.entry);
            if !detailed {
                continue;
            }
            let mid = f.entry + (f.end.saturating_sub(f.entry)) / 2;
            let _ = tab.func_file_line(&f, mid);
            let _ = tab.sp_delta(&f, mid);
            let _ = tab.pcdata_value(&f, 0, mid);
            let _ = tab.pcdata_ranges(&f, 1);
            let _ = tab.funcdata_address(&f, 0);
            let _ = tab.funcdata_raw(&f, 1);
            let _ = tab.inlined_calls(&f);
            let _ = tab.pc_values(f.pcsp, f.entry);
            let _ = tab.frames(mid);
            let _ = f.package();
        }
        let _ = tab.file_line(tab.text_start());
    }
    if let Ok(md) = bin.moduledata() {
        let _ = bin.data_pointer_mask(&md);
        let _ = bin.bss_pointer_mask(&md);
        if let Ok(tr) = bin.type_reader(&md) {
            let _ = tr.typelinks();
            let _ = tr.itabs();
            let _ = tr.listed_types();
            if let Ok(all) = tr.all_types() {
                for (i, &addr) in all.iter().enumerate().take(20_000) {
                    let Ok(t) = tr.type_at(addr) else { continue };
                    if i >= 300 && i % 31 != 0 {
                        continue;
                    }
                    let _ = tr.elem(&t);
                    let _ = tr.key(&t);
                    let _ = tr.array_len(&t);
                    let _ = tr.fields(&t);
                    let _ = tr.methods(&t);
                    let _ = tr.pkg_path(&t);
                    let _ = tr.gc_mask(&t);
                    let _ = tr.descriptor_size(&t);
                    let _ = tr.func_signature(&t);
                    let _ = tr.interface_methods(&t);
                    let _ = tr.map_group(&t);
                    let _ = tr.qualified_name(&t);
                    let _ = tr.referenced_types(&t);
                }
            }
        }
    }
    let _ = bin.symbols_for_vulncheck();
}

// ---------------------------------------------------------------------------
// gocore

/// What [`analyze`] got through.
#[derive(Debug, Default, Clone)]
pub struct Analysis {
    /// The first stage that failed outright (`process: …`), if any.
    pub error: Option<String>,
    /// Stages after the first that failed (goroutines, roots, reachability, typing).
    pub stage_errors: Vec<String>,
    /// Warnings from every stage, and goroutines or stacks that could not be read.
    pub warnings: usize,
    /// Goroutines listed.
    pub goroutines: usize,
    /// Heap objects listed.
    pub objects: u64,
    /// Roots collected.
    pub roots: usize,
    /// Live objects, when marking ran.
    pub live: Option<u64>,
}

/// Runs the whole runtime model over `core`, as the CLI's commands do: process,
/// goroutines and their stacks, heap objects and their pointers, roots,
/// reachability, typing, the retention analyses (object graph, dominator tree,
/// paths, leak suspects, pprof profiles) and the memory breakdown.
pub fn analyze(core: &Core) -> Analysis {
    analyze_stages(core, true, true)
}

/// [`analyze`], with typing (and the retention analyses after it) and the breakdown
/// optional (they cost the most per input; the fuzz target lets the input choose).
pub fn analyze_stages(core: &Core, typing: bool, breakdown: bool) -> Analysis {
    let mut a = Analysis {
        warnings: core.warnings().len(),
        ..Analysis::default()
    };
    let proc = match Process::new(core) {
        Ok(p) => p,
        Err(e) => {
            a.error = Some(format!("process: {e}"));
            return a;
        }
    };
    a.warnings += proc.warnings().len();
    match proc.goroutines() {
        Ok(gs) => {
            for g in gs {
                match g {
                    Ok(g) => {
                        a.goroutines += 1;
                        let _ = (g.state(), g.state_full());
                        let st = g.stack(&proc);
                        if st.error.is_some() {
                            a.warnings += 1;
                        }
                        let _ = gocore::Goroutine::top_user_frame(&st.frames);
                    }
                    Err(_) => a.warnings += 1,
                }
            }
        }
        Err(e) => a.stage_errors.push(format!("goroutines: {e}")),
    }
    let heap = match Heap::new(&proc) {
        Ok(h) => h,
        Err(e) => {
            a.error = Some(format!("heap: {e}"));
            return a;
        }
    };
    a.warnings += heap.warnings().len();
    let mut budget: u64 = 4 << 20;
    for o in heap.objects() {
        a.objects += 1;
        let _ = heap.object_type(&o);
        let _ = heap.span(&o).end();
        for p in heap.pointers(&o) {
            budget = budget.saturating_sub(1);
            if let Ok(p) = p {
                let _ = heap.find_object(p.target);
            }
            if budget == 0 {
                break;
            }
        }
    }
    let roots = match RootSet::collect(&proc, &heap) {
        Ok(r) => r,
        Err(e) => {
            a.stage_errors.push(format!("roots: {e}"));
            if breakdown {
                let _ = Breakdown::compute(&proc, &heap, None);
            }
            return a;
        }
    };
    a.warnings += roots.warnings().len();
    a.roots = roots.len();
    let reach = match Reachability::compute(&proc, &heap, roots.roots()) {
        Ok(r) => {
            a.warnings += r.warnings().len();
            a.live = Some(r.live_count());
            Some(r)
        }
        Err(e) => {
            a.stage_errors.push(format!("reachability: {e}"));
            None
        }
    };
    if typing {
        let t = match Typing::compute(&proc, &heap) {
            Ok(t) => {
                a.warnings += t.warnings().len();
                let _ = t.histogram(&heap, |_| true);
                Some(t)
            }
            Err(e) => {
                a.stage_errors.push(format!("typing: {e}"));
                None
            }
        };
        retention(&proc, &heap, &roots, t.as_ref(), &mut a);
    }
    if breakdown {
        let b = Breakdown::compute(&proc, &heap, reach.as_ref());
        a.warnings += b.warnings.len();
        let _ = (
            b.root.is_consistent(),
            b.checks.iter().filter(|c| c.ok()).count(),
        );
    }
    a
}

/// The retention analyses, as `top`, `path`, `leaks` and `pprof` run them: the
/// object graph (its huge objects in parts), the dominator tree, retained sizes by
/// type, paths to the largest retainer (backward, and forward with the rows read
/// again from the core), leak suspects and both pprof profiles.
fn retention(
    proc: &Process<'_>,
    heap: &Heap<'_>,
    roots: &RootSet,
    typing: Option<&Typing>,
    a: &mut Analysis,
) {
    let mut graph = match ObjectGraph::build(heap, roots) {
        Ok(g) => g,
        Err(e) => {
            a.stage_errors.push(format!("object graph: {e}"));
            return;
        }
    };
    a.warnings += graph.warnings().len();
    let dom = Dominators::compute(&graph, heap);
    let top = dom.top_objects(&graph, 5);
    let _ = dom.group_by(&graph, |id| {
        typing.and_then(|t| t.object_type(id)).map(|t| t.ty)
    });
    if let Some(&(n, _)) = top.first() {
        let _ = paths_to(&graph, n, 3);
        let _ = dom.dominator_chain(n);
    }
    let _ = LeakReport::compute(
        proc,
        heap,
        roots,
        &graph,
        &dom,
        typing,
        &LeakOptions::default(),
    );
    let retained = |id: gocore::ObjId| dom.retained(graph.object_node(id));
    let p = gocore::pprof::heap_profile(proc, heap, roots, typing, Some(&retained));
    a.warnings += p.warnings.len();
    let p = gocore::pprof::dominator_profile(proc, heap, &graph, &dom, typing);
    a.warnings += p.warnings.len();
    // As `leaks` searches its paths: the rows read again from the core.
    let targets: Vec<_> = top.iter().map(|&(n, _)| n).collect();
    graph.release_successors();
    let _ = gocore::shortest_paths(heap, roots, &graph, &targets);
}

/// A corpus core held in memory, patched in place and restored after each input.
struct CoreBase {
    name: String,
    core_path: PathBuf,
    exe_path: PathBuf,
    bytes: Vec<u8>,
    /// Segments: (file offset, file size, vaddr).
    segments: Vec<(u64, u64, u64)>,
    /// File offsets of the 8-aligned words of the segments that are not zero.
    words: Vec<u32>,
}

/// The corpus cases [`gocore_patch`] picks from (by the input's first byte): an
/// old-heap release, the newest release, and a stripped binary (layouts from the
/// generated tables, globals found by signature).
pub const GOCORE_BASES: [&str; 3] = [
    "leak-go1.21.13-default-crash-amd64",
    "zoo-go1.27.3-default-crash-amd64",
    "zoo-go1.27.3-stripped-crash-amd64",
];

fn core_bases() -> &'static [Mutex<CoreBase>] {
    static BASES: OnceLock<Vec<Mutex<CoreBase>>> = OnceLock::new();
    BASES.get_or_init(|| {
        let cases = testkit::committed_cases();
        GOCORE_BASES
            .iter()
            .filter_map(|name| {
                let case = cases.iter().find(|c| c.name == *name)?;
                let core_path = case.core_path();
                let bytes = std::fs::read(&core_path).ok()?;
                let segments = load_segments(&bytes);
                let mut words = Vec::new();
                for &(off, size, _) in &segments {
                    for w in (off..off + size).step_by(8) {
                        let nonzero = bytes
                            .get(w as usize..w as usize + 8)
                            .is_some_and(|b| b.iter().any(|&x| x != 0));
                        if nonzero {
                            words.extend(u32::try_from(w).ok());
                        }
                    }
                }
                Some(Mutex::new(CoreBase {
                    name: case.name.clone(),
                    exe_path: case.exe_path(),
                    core_path,
                    bytes,
                    segments,
                    words,
                }))
            })
            .collect()
    })
}

/// `PT_LOAD` segments of a little-endian ELF64 core: (offset, filesz, vaddr).
fn load_segments(b: &[u8]) -> Vec<(u64, u64, u64)> {
    let u16_at = |o: usize| b.get(o..o + 2).map(|x| u16::from_le_bytes([x[0], x[1]]));
    let u32_at = |o: usize| {
        b.get(o..o + 4)
            .map(|x| u32::from_le_bytes(x.try_into().unwrap_or([0; 4])))
    };
    let u64_at = |o: usize| {
        b.get(o..o + 8)
            .map(|x| u64::from_le_bytes(x.try_into().unwrap_or([0; 8])))
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..usize::from(phnum) {
        let h = phoff as usize + i * usize::from(phentsize);
        if u32_at(h) != Some(1) {
            continue;
        }
        let (Some(off), Some(vaddr), Some(filesz)) =
            (u64_at(h + 8), u64_at(h + 16), u64_at(h + 32))
        else {
            continue;
        };
        if filesz > 0 && off.saturating_add(filesz) <= b.len() as u64 {
            out.push((off, filesz, vaddr));
        }
    }
    out
}

/// Names of the cores [`gocore_patch`] picks from.
pub fn gocore_bases() -> Vec<String> {
    core_bases()
        .iter()
        .filter_map(|m| m.lock().ok().map(|b| b.name.clone()))
        .collect()
}

/// Patches the memory of a corpus core as the input says and runs [`analyze`].
///
/// Input: a byte choosing the core (`% 3` of its low two bits) and whether typing
/// (bit 2) and the breakdown (bit 3) run, then records `op …` (`W` is an index into the
/// words of the core's memory that are not zero, taken modulo their count):
/// `op & 3 == 0`: `u32 W`, then `(op >> 2 & 7) + 1` bytes written there;
/// `op & 3 == 1`: `u32 W`, `u32 W2`: the address of word `W2` (plus `op >> 2 & 7`)
/// written over word `W` — pointers into live structures, cycles;
/// `op & 3 == 2`: `u32 W`: `((op >> 2) + 1) * 8` bytes from word `W` zeroed;
/// `op & 3 == 3`: `u32 W`, a boundary integer (`op >> 2 & 15`) written over word `W`.
pub fn gocore_patch(data: &[u8]) {
    let bases = core_bases();
    let mut input = Input(data);
    let Some(sel) = input.u8() else { return };
    let Some(base) = bases.get(usize::from(sel & 3) % bases.len().max(1)) else {
        return;
    };
    let (typing, breakdown) = (sel & 4 != 0, sel & 8 != 0);
    let mut base = base.lock().unwrap_or_else(|e| e.into_inner());
    let base = &mut *base;
    if base.bytes.is_empty() {
        // A panic while the bytes were lent out (only under `cargo test`).
        base.bytes = std::fs::read(&base.core_path).unwrap_or_default();
    }
    let mut saved: Vec<(usize, Vec<u8>)> = Vec::new();
    let nwords = base.words.len().max(1);
    let word = |i: u32| base.words.get(i as usize % nwords).map(|&w| w as usize);
    let mut patches: Vec<(usize, Vec<u8>)> = Vec::new();
    while let Some(op) = input.u8() {
        let Some(w) = input.u32().and_then(word) else {
            break;
        };
        match op & 3 {
            0 => {
                let Some(b) = input.bytes(usize::from(op >> 2 & 7) + 1) else {
                    break;
                };
                patches.push((w, b.to_vec()));
            }
            1 => {
                let Some(w2) = input.u32().and_then(word) else {
                    break;
                };
                let Some(addr) = vaddr_of(&base.segments, w2 as u64) else {
                    continue;
                };
                let v = addr + u64::from(op >> 2 & 7);
                patches.push((w, v.to_le_bytes().to_vec()));
            }
            2 => patches.push((w, vec![0; (usize::from(op >> 2) + 1) * 8])),
            _ => {
                let v = BOUNDARY[usize::from(op >> 2 & 15)];
                patches.push((w, v.to_le_bytes().to_vec()));
            }
        }
        if patches.len() >= 256 {
            break;
        }
    }
    for (off, b) in &patches {
        let end = (off + b.len()).min(base.bytes.len());
        if let Some(dst) = base.bytes.get_mut(*off..end) {
            saved.push((*off, dst.to_vec()));
            dst.copy_from_slice(&b[..end - off]);
        }
    }
    let opts = OpenOptions::new()
        .executable(&base.exe_path)
        .allow_mismatch(true);
    let bytes = std::mem::take(&mut base.bytes);
    let restored = match Core::from_bytes(&base.core_path, bytes, &opts) {
        Ok(core) => {
            let _ = analyze_stages(&core, typing, breakdown);
            core.into_bytes()
        }
        Err(_) => None,
    };
    match restored {
        Some(mut bytes) => {
            for (off, old) in saved.into_iter().rev() {
                bytes[off..off + old.len()].copy_from_slice(&old);
            }
            base.bytes = bytes;
        }
        None => base.bytes = std::fs::read(&base.core_path).unwrap_or_default(),
    }
}

fn vaddr_of(segments: &[(u64, u64, u64)], off: u64) -> Option<u64> {
    segments
        .iter()
        .find(|&&(o, n, _)| o <= off && off < o + n)
        .map(|&(o, _, v)| v + (off - o))
}

/// The regression inputs saved for `target` (`fuzz/regressions/<target>/*`).
pub fn regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir: &Path = &repo_root().join("fuzz/regressions").join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
                .filter_map(|p| Some((p.clone(), std::fs::read(&p).ok()?)))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
