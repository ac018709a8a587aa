//! Finding, checking and using the executable and the mapped files.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

use crate::arch::Arch;
use crate::core::{OpenOptions, Parsed, Piece, Space, Src, AT_ENTRY, AT_PHDR};
use crate::error::{Error, Missing, Result, Warning};
use crate::notes::FileEntry;
use crate::source::Source;

/// Only this many bytes of each read-only segment are compared with the core.
const COMPARE_LEN: u64 = 4096;

/// At most this many mapped files are looked for.
const MAX_FILES: usize = 4096;

/// The executable of the process, as found on disk.
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// if let Some(exe) = core.executable() {
///     // Parse it with any ELF reader; add load_bias() to its addresses.
///     let elf: &[u8] = exe.data();
///     println!("{} ({} bytes), bias {:#x}", exe.path().display(), elf.len(), exe.load_bias());
/// }
/// # Ok::<(), corefile::Error>(())
/// ```
#[derive(Clone)]
pub struct Executable {
    path: PathBuf,
    core_path: Option<PathBuf>,
    load_bias: u64,
    build_id: Option<Vec<u8>>,
    verified: bool,
    source: Arc<Source>,
}

impl std::fmt::Debug for Executable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executable")
            .field("path", &self.path)
            .field("core_path", &self.core_path)
            .field("load_bias", &format_args!("{:#x}", self.load_bias))
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

impl Executable {
    /// The file that was opened (possibly compressed; [`data`](Self::data)
    /// is always the decompressed ELF image).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let path = core.executable().map(|e| e.path());
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The executable's path as the core records it (`NT_FILE`), if known.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let recorded = core.executable().and_then(|e| e.core_path());
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn core_path(&self) -> Option<&Path> {
        self.core_path.as_deref()
    }

    /// Load bias: runtime address minus link-time address (`AT_ENTRY −
    /// e_entry`; 0 for non-PIE executables).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let exe = core.executable().unwrap();
    /// let runtime_addr = 0x401000 + exe.load_bias();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn load_bias(&self) -> u64 {
        self.load_bias
    }

    /// The whole ELF file, memory-mapped (decompressed if it was compressed).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let is_elf = core.executable().is_some_and(|e| e.data().starts_with(b"\x7fELF"));
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn data(&self) -> &[u8] {
        self.source.bytes()
    }

    /// The GNU build ID of the file, if it has one.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// if let Some(id) = core.executable().and_then(|e| e.build_id()) {
    ///     let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    /// }
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn build_id(&self) -> Option<&[u8]> {
        self.build_id.as_deref()
    }

    /// Whether some of the file's bytes could be compared with the core (and
    /// matched). `false` means only the entry point and program header
    /// address could be checked.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let checked = core.executable().is_some_and(|e| e.verified());
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn verified(&self) -> bool {
        self.verified
    }
}

/// A `PT_LOAD` of an ELF file on disk.
struct Load {
    vaddr: u64,
    memsz: u64,
    offset: u64,
    filesz: u64,
    write: bool,
}

/// What is needed of an executable or library.
struct ElfInfo {
    exec: bool,
    entry: u64,
    phdr_vaddr: Option<u64>,
    loads: Vec<Load>,
    /// `(vaddr, offset, size)` of `PT_NOTE` segments.
    notes: Vec<(u64, u64, u64)>,
    build_id: Option<Vec<u8>>,
}

fn elf_info(data: &[u8], arch: Arch) -> std::result::Result<ElfInfo, String> {
    let hdr = elf::FileHeader64::<Endianness>::parse(data)
        .map_err(|e| format!("not a 64-bit ELF file: {e}"))?;
    let endian = hdr.endian().map_err(|e| e.to_string())?;
    let machine = match hdr.e_machine(endian) {
        elf::EM_X86_64 => Some(Arch::Amd64),
        elf::EM_AARCH64 => Some(Arch::Arm64),
        _ => None,
    };
    if machine != Some(arch) || endian != Endianness::Little {
        let built = match machine {
            Some(m) => m.to_string(),
            None => format!("ELF machine {}", hdr.e_machine(endian).0),
        };
        return Err(format!("built for {built}, the core is {arch}"));
    }
    let phdrs = hdr
        .program_headers(endian, data)
        .map_err(|e| format!("bad program headers: {e}"))?;
    let phoff = hdr.e_phoff(endian);
    let mut info = ElfInfo {
        exec: hdr.e_type(endian) == elf::ET_EXEC,
        entry: hdr.e_entry(endian),
        phdr_vaddr: None,
        loads: Vec::new(),
        notes: Vec::new(),
        build_id: None,
    };
    for ph in phdrs {
        let t = ph.p_type(endian);
        if t == elf::PT_PHDR {
            info.phdr_vaddr = Some(ph.p_vaddr(endian));
        } else if t == elf::PT_LOAD {
            info.loads.push(Load {
                vaddr: ph.p_vaddr(endian),
                memsz: ph.p_memsz(endian),
                offset: ph.p_offset(endian),
                filesz: ph.p_filesz(endian).min(ph.p_memsz(endian)),
                write: ph.p_flags(endian).0 & elf::PF_W.0 != 0,
            });
        } else if t == elf::PT_NOTE {
            info.notes
                .push((ph.p_vaddr(endian), ph.p_offset(endian), ph.p_filesz(endian)));
            if info.build_id.is_none() {
                if let Ok(Some(mut notes)) = ph.notes(endian, data) {
                    while let Ok(Some(n)) = notes.next() {
                        if n.name() == elf::ELF_NOTE_GNU && n.n_type(endian) == elf::NT_GNU_BUILD_ID
                        {
                            info.build_id = Some(n.desc().to_vec());
                            break;
                        }
                    }
                }
            }
        }
    }
    if info.phdr_vaddr.is_none() {
        // No PT_PHDR (static executables): the headers' address is where the
        // segment holding e_phoff maps it.
        info.phdr_vaddr = info.loads.iter().find_map(|l| {
            let d = phoff.checked_sub(l.offset)?;
            (d < l.filesz).then(|| l.vaddr.wrapping_add(d))
        });
    }
    Ok(info)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// GNU build ID in raw note bytes.
fn build_id_in(bytes: &[u8], align: u64) -> Option<Vec<u8>> {
    let mut it = object::read::elf::NoteIterator::<elf::FileHeader64<Endianness>>::new(
        Endianness::Little,
        align,
        bytes,
    )
    .ok()?;
    while let Ok(Some(n)) = it.next() {
        if n.name() == elf::ELF_NOTE_GNU && n.n_type(Endianness::Little) == elf::NT_GNU_BUILD_ID {
            return Some(n.desc().to_vec());
        }
    }
    None
}

impl Space<'_> {
    /// Compares the in-core bytes of `[addr, addr+len)` with `file`; returns
    /// the number of bytes compared, or the first differing address.
    fn compare(&self, addr: u64, file: &[u8]) -> std::result::Result<u64, u64> {
        let Some(end) = addr.checked_add(file.len() as u64) else {
            return Ok(0);
        };
        let mut compared = 0;
        let first = self.pieces.partition_point(|p| p.end <= addr);
        for p in self.pieces.get(first..).unwrap_or_default() {
            if p.start >= end {
                break;
            }
            let Src::Core(_) = p.src else { continue };
            let a = p.start.max(addr);
            let b = p.end.min(end);
            let Ok(core) = self.read(a, (b - a) as usize) else {
                continue;
            };
            let from = (a - addr) as usize;
            let Some(want) = file.get(from..from + core.len()) else {
                continue;
            };
            if let Some(i) = core.iter().zip(want).position(|(x, y)| x != y) {
                return Err(a + i as u64);
            }
            compared += b - a;
        }
        Ok(compared)
    }
}

/// Checks an ELF file loaded at `bias` against the core. Returns whether any
/// bytes could be compared.
fn check(
    info: &ElfInfo,
    data: &[u8],
    bias: u64,
    space: &Space<'_>,
    parsed: &Parsed,
    is_exe: bool,
) -> std::result::Result<bool, String> {
    let page = parsed.page_size();
    if bias % page != 0 {
        return Err(format!("load bias {bias:#x} is not page-aligned"));
    }
    if is_exe {
        if let Some(at_entry) = parsed.auxv(AT_ENTRY) {
            if info.exec && at_entry != info.entry {
                return Err(format!(
                    "entry point {:#x} differs from the core's AT_ENTRY {at_entry:#x}",
                    info.entry
                ));
            }
        }
        if let (Some(at_phdr), Some(v)) = (parsed.auxv(AT_PHDR), info.phdr_vaddr) {
            if v.wrapping_add(bias) != at_phdr {
                return Err(format!(
                    "program headers would load at {:#x}, the core's AT_PHDR is {at_phdr:#x}",
                    v.wrapping_add(bias)
                ));
            }
        }
    }
    // Notes first, for a clearer message when the build ID differs.
    for &(vaddr, offset, size) in &info.notes {
        let (Some(addr), Ok(off), Ok(len)) = (
            vaddr.checked_add(bias),
            usize::try_from(offset),
            usize::try_from(size.min(COMPARE_LEN)),
        ) else {
            continue;
        };
        let Some(file) = data.get(off..off.saturating_add(len)) else {
            continue;
        };
        if let Err(at) = space.compare(addr, file) {
            let core_id = space
                .read(addr, len)
                .ok()
                .and_then(|b| build_id_in(&b, 4))
                .map(|b| hex(&b));
            let file_id = info.build_id.as_deref().map(hex);
            return Err(match (core_id, file_id) {
                (Some(c), Some(f)) if c != f => {
                    format!("build ID {f} differs from the core's {c}")
                }
                _ => format!("notes differ from the core at {at:#x}"),
            });
        }
    }
    let mut compared = 0;
    for l in info.loads.iter().filter(|l| !l.write) {
        let (Some(addr), Ok(off), Ok(len)) = (
            l.vaddr.checked_add(bias),
            usize::try_from(l.offset),
            usize::try_from(l.filesz.min(COMPARE_LEN)),
        ) else {
            continue;
        };
        let Some(file) = data.get(off..off.saturating_add(len)) else {
            return Err(format!("file is truncated at offset {:#x}", l.offset));
        };
        match space.compare(addr, file) {
            Ok(n) => compared += n,
            Err(at) => {
                return Err(format!(
                    "contents at {at:#x} (file offset {:#x}) differ from the core",
                    l.offset.wrapping_add(at - addr)
                ))
            }
        }
    }
    Ok(compared > 0)
}

/// Address-space regions an ELF file provides when loaded at `bias`.
fn elf_regions(info: &ElfInfo, bias: u64, page: u64, file: usize, file_len: u64) -> Vec<Piece> {
    let mut out = Vec::new();
    for l in &info.loads {
        if l.memsz == 0 {
            continue;
        }
        let Some(va) = l.vaddr.checked_add(bias) else {
            continue;
        };
        let Some(vend) = va.checked_add(l.memsz) else {
            continue;
        };
        let lead = (va % page).min(l.offset);
        let (start, fofs) = (va - lead, l.offset - lead);
        let Some(mut fend) = va.checked_add(l.filesz) else {
            continue;
        };
        if l.memsz == l.filesz {
            // The rest of the last page holds the following file bytes.
            fend = fend
                .checked_next_multiple_of(page)
                .unwrap_or(fend)
                .max(fend);
        }
        let avail = file_len.saturating_sub(fofs);
        let fend_file = fend.min(start.saturating_add(avail));
        if start < fend_file {
            out.push(Piece {
                start,
                end: fend_file,
                src: Src::File(file, fofs),
            });
        }
        // Beyond the end of the file, and the bss: zero.
        let zstart = fend_file.max(start);
        // The loader maps anonymous zero pages up to the end of the page.
        let zend = if l.memsz > l.filesz {
            vend.checked_next_multiple_of(page).unwrap_or(vend)
        } else {
            fend
        };
        if zstart < zend {
            out.push(Piece {
                start: zstart,
                end: zend,
                src: Src::Zero,
            });
        }
    }
    out
}

/// The result of looking for files.
pub(crate) struct Found {
    pub(crate) files: Vec<Arc<Source>>,
    pub(crate) regions: Vec<Piece>,
    pub(crate) executable: Option<Executable>,
    pub(crate) warnings: Vec<Warning>,
    /// Recorded path → file found, for every file accepted.
    pub(crate) backing: HashMap<PathBuf, PathBuf>,
}

pub(crate) struct Context<'a> {
    pub(crate) parsed: &'a Parsed,
    pub(crate) space: &'a Space<'a>,
    pub(crate) options: &'a OpenOptions,
    pub(crate) core_path: &'a Path,
    pub(crate) core_dir: &'a Path,
}

fn with_suffixes(p: PathBuf, out: &mut Vec<PathBuf>) {
    for ext in ["", ".zst", ".gz"] {
        let mut s = OsString::from(p.as_os_str());
        s.push(ext);
        let c = PathBuf::from(s);
        if !out.contains(&c) {
            out.push(c);
        }
    }
}

/// `qemu_<name>_<date>-<time>_<pid>.core` → `<name>`.
fn qemu_core_name(core: &Path) -> Option<String> {
    let f = core.file_name()?.to_str()?;
    let f = f
        .strip_suffix(".zst")
        .or(f.strip_suffix(".gz"))
        .unwrap_or(f);
    let inner = f.strip_prefix("qemu_")?.strip_suffix(".core")?;
    let mut parts = inner.rsplitn(3, '_');
    let (_pid, _date, name) = (parts.next()?, parts.next()?, parts.next()?);
    Some(name.to_string())
}

enum Opened {
    Elf(Arc<Source>, ElfInfo),
    Other(Arc<Source>),
}

impl Context<'_> {
    /// Places to look for a file the core records as `recorded`.
    fn candidates(&self, recorded: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let s = recorded.to_string_lossy();
        let recorded = match s.strip_suffix(" (deleted)") {
            Some(p) => PathBuf::from(p),
            None => recorded.to_owned(),
        };
        if let Some(root) = &self.options.sysroot {
            let rel = recorded.strip_prefix("/").unwrap_or(&recorded);
            with_suffixes(root.join(rel), &mut out);
        }
        if recorded.is_absolute() {
            with_suffixes(recorded.clone(), &mut out);
        }
        if let Some(base) = recorded.file_name() {
            for dir in &self.options.search_paths {
                with_suffixes(dir.join(base), &mut out);
            }
            with_suffixes(self.core_dir.join(base), &mut out);
        }
        out
    }

    fn open(&self, path: &Path) -> std::result::Result<Opened, String> {
        let src = Arc::new(Source::open(path).map_err(|e| e.to_string())?);
        match elf_info(src.bytes(), self.parsed.arch) {
            Ok(info) => Ok(Opened::Elf(src, info)),
            Err(e) if src.bytes().starts_with(b"\x7fELF") => Err(e),
            Err(_) => Ok(Opened::Other(src)),
        }
    }

    fn exe_candidates(&self, recorded: Option<&Path>) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(r) = recorded {
            out = self.candidates(r);
        }
        let mut names = Vec::new();
        if let Some(p) = &self.parsed.process {
            if let Some(first) = p.args.split_whitespace().next() {
                names.push(first.to_string());
            }
            names.push(p.fname.clone());
        }
        names.extend(qemu_core_name(self.core_path));
        for n in names {
            if let Some(base) = Path::new(&n).file_name() {
                for dir in &self.options.search_paths {
                    with_suffixes(dir.join(base), &mut out);
                }
                with_suffixes(self.core_dir.join(base), &mut out);
            }
        }
        out
    }

    pub(crate) fn load_files(&self) -> Result<Found> {
        let parsed = self.parsed;
        let page = parsed.page_size();
        let mut found = Found {
            files: Vec::new(),
            regions: Vec::new(),
            executable: None,
            warnings: Vec::new(),
            backing: HashMap::new(),
        };

        // The executable.
        let at_entry = parsed.auxv(AT_ENTRY);
        let recorded = at_entry.and_then(|e| {
            parsed
                .files
                .iter()
                .find(|f| f.start <= e && e < f.end)
                .map(|f| f.path.clone())
        });
        let explicit = self.options.executable.clone();
        let candidates = match &explicit {
            Some(p) => vec![p.clone()],
            None => self.exe_candidates(recorded.as_deref()),
        };
        let mut tried = Vec::new();
        let mut rejected = false;
        for cand in candidates {
            if explicit.is_none() && !cand.is_file() {
                tried.push(cand);
                continue;
            }
            let (src, info) = match self.open(&cand) {
                Ok(Opened::Elf(s, i)) => (s, i),
                Ok(Opened::Other(_)) if explicit.is_some() => {
                    return Err(Error::ExecutableMismatch {
                        path: cand,
                        reason: "not an ELF file".into(),
                    })
                }
                Ok(Opened::Other(_)) => continue,
                Err(e) if explicit.is_some() => {
                    return Err(Error::ExecutableMismatch {
                        path: cand,
                        reason: e,
                    })
                }
                Err(e) => {
                    found.warnings.push(Warning::ExecutableMismatch {
                        path: cand,
                        reason: e,
                    });
                    rejected = true;
                    continue;
                }
            };
            let bias = match at_entry {
                Some(e) => e.wrapping_sub(info.entry),
                None => 0,
            };
            let verified = match check(&info, src.bytes(), bias, self.space, parsed, true) {
                Ok(v) => v,
                Err(reason) if explicit.is_some() && !self.options.allow_mismatch => {
                    return Err(Error::ExecutableMismatch { path: cand, reason })
                }
                Err(reason) => {
                    found.warnings.push(Warning::ExecutableMismatch {
                        path: cand.clone(),
                        reason,
                    });
                    if explicit.is_none() {
                        rejected = true;
                        continue;
                    }
                    false
                }
            };
            let idx = found.files.len();
            found.files.push(src.clone());
            found.regions.extend(elf_regions(
                &info,
                bias,
                page,
                idx,
                src.bytes().len() as u64,
            ));
            if let Some(r) = &recorded {
                found.backing.insert(r.clone(), cand.clone());
            }
            found.executable = Some(Executable {
                path: cand,
                core_path: recorded.clone(),
                load_bias: bias,
                build_id: info.build_id,
                verified,
                source: src,
            });
            break;
        }
        if found.executable.is_none() {
            if at_entry.is_some() || explicit.is_some() {
                found.warnings.push(Warning::ExecutableNotFound { tried });
            }
            if let Some(r) = &recorded {
                let why = if rejected {
                    Missing::FileMismatch(r.clone())
                } else {
                    Missing::FileNotFound(r.clone())
                };
                for f in parsed.files.iter().filter(|f| &f.path == r) {
                    found.regions.push(Piece {
                        start: f.start,
                        end: f.end,
                        src: Src::Missing(why.clone()),
                    });
                }
            }
        }

        // Other mapped files, when the core omits some of their contents.
        let mut by_path: HashMap<&Path, Vec<&FileEntry>> = HashMap::new();
        let mut order: Vec<&Path> = Vec::new();
        for f in &parsed.files {
            if recorded.as_deref() == Some(&f.path) {
                continue;
            }
            let entries = by_path.entry(&f.path).or_insert_with(|| {
                order.push(&f.path);
                Vec::new()
            });
            entries.push(f);
        }
        let mut looked = 0;
        for path in order {
            let entries = by_path.get(path).map(Vec::as_slice).unwrap_or_default();
            if !entries.iter().any(|f| self.omits(f.start, f.end)) {
                continue;
            }
            looked += 1;
            if looked > MAX_FILES {
                found.warnings.push(Warning::BadNote {
                    what: "NT_FILE",
                    detail: format!("more than {MAX_FILES} files; the rest are not looked for"),
                });
                break;
            }
            self.load_file(path, entries, page, &mut found);
        }
        Ok(found)
    }

    /// Whether the core omits any part of `[start, end)`.
    fn omits(&self, start: u64, end: u64) -> bool {
        let first = self.space.pieces.partition_point(|p| p.end <= start);
        self.space
            .pieces
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|p| p.start < end)
            .any(|p| matches!(p.src, Src::Missing(_)))
    }

    fn load_file(&self, recorded: &Path, entries: &[&FileEntry], page: u64, found: &mut Found) {
        let missing = |found: &mut Found, m: Missing| {
            for e in entries {
                found.regions.push(Piece {
                    start: e.start,
                    end: e.end,
                    src: Src::Missing(m.clone()),
                });
            }
        };
        let mut tried = Vec::new();
        let mut mismatch = None;
        for cand in self.candidates(recorded) {
            if !cand.is_file() {
                tried.push(cand);
                continue;
            }
            match self.open(&cand) {
                Ok(Opened::Elf(src, info)) => {
                    // Bias from the mapping of file offset 0 and the segment
                    // holding it.
                    let base = entries.iter().find(|e| e.offset == 0).map(|e| e.start);
                    let first = info.loads.iter().find(|l| l.offset < page);
                    let bias = match (base, first) {
                        (Some(b), Some(l)) => b.wrapping_sub(l.vaddr - l.vaddr % page),
                        _ => {
                            mismatch.get_or_insert((
                                cand,
                                "cannot place it: no mapping of its first page".to_string(),
                            ));
                            continue;
                        }
                    };
                    match check(&info, src.bytes(), bias, self.space, self.parsed, false) {
                        Ok(_) => {
                            let idx = found.files.len();
                            let len = src.bytes().len() as u64;
                            found.files.push(src);
                            found
                                .regions
                                .extend(elf_regions(&info, bias, page, idx, len));
                            found.backing.insert(recorded.to_owned(), cand);
                            return;
                        }
                        Err(reason) => {
                            mismatch.get_or_insert((cand, reason));
                        }
                    }
                }
                Ok(Opened::Other(src)) => {
                    let idx = found.files.len();
                    let len = src.bytes().len() as u64;
                    found.files.push(src);
                    for e in entries {
                        let avail = len.saturating_sub(e.offset);
                        let fend = e.end.min(e.start.saturating_add(avail));
                        if e.start < fend {
                            found.regions.push(Piece {
                                start: e.start,
                                end: fend,
                                src: Src::File(idx, e.offset),
                            });
                        }
                        if fend.max(e.start) < e.end {
                            found.regions.push(Piece {
                                start: fend.max(e.start),
                                end: e.end,
                                src: Src::Zero,
                            });
                        }
                    }
                    found.backing.insert(recorded.to_owned(), cand);
                    return;
                }
                Err(reason) => {
                    mismatch.get_or_insert((cand, reason));
                }
            }
        }
        match mismatch {
            Some((cand, reason)) => {
                found.warnings.push(Warning::FileMismatch {
                    path: recorded.to_owned(),
                    found: cand,
                    reason,
                });
                missing(found, Missing::FileMismatch(recorded.to_owned()));
            }
            None => {
                found.warnings.push(Warning::FileNotFound {
                    path: recorded.to_owned(),
                    tried,
                });
                missing(found, Missing::FileNotFound(recorded.to_owned()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_names() {
        assert_eq!(
            qemu_core_name(Path::new("/x/qemu_gocrash_20261126-110538_9381.core")).as_deref(),
            Some("gocrash")
        );
        assert_eq!(
            qemu_core_name(Path::new("qemu_a_b_c_20261126-110538_9381.core.zst")).as_deref(),
            Some("a_b_c")
        );
        assert_eq!(qemu_core_name(Path::new("core")), None);
    }

    #[test]
    fn regions_of_a_segment_with_bss() {
        let info = ElfInfo {
            exec: true,
            entry: 0,
            phdr_vaddr: None,
            loads: vec![Load {
                vaddr: 0x1e10,
                memsz: 0x3000,
                offset: 0xe10,
                filesz: 0x100,
                write: true,
            }],
            notes: vec![],
            build_id: None,
        };
        let r = elf_regions(&info, 0x10000, 0x1000, 0, 0x10000);
        assert_eq!(
            r,
            vec![
                Piece {
                    start: 0x11000,
                    end: 0x11f10,
                    src: Src::File(0, 0)
                },
                Piece {
                    start: 0x11f10,
                    end: 0x15000,
                    src: Src::Zero
                },
            ]
        );
    }
}
