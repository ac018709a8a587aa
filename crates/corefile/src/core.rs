//! Opening a core: program headers, notes, and the address space.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

use crate::arch::{Arch, Endian, Registers};
use crate::error::{Error, Missing, Result, Warning};
use crate::exe::{self, Executable};
use crate::notes::{self, Desc, FileEntry, ProcessInfo, SignalInfo};
use crate::source::Source;
use crate::Memory;

/// Auxiliary vector keys used here.
pub(crate) const AT_PHDR: u64 = 3;
pub(crate) const AT_PAGESZ: u64 = 6;
pub(crate) const AT_ENTRY: u64 = 9;

/// At most this many notes are read from one `PT_NOTE` segment.
const MAX_NOTES: usize = 1 << 20;

/// Options for [`Core::open_with`].
///
/// ```no_run
/// use corefile::{Core, OpenOptions};
/// let opts = OpenOptions::new()
///     .executable("bin/server")
///     .search_path("/tmp/libs")
///     .sysroot("/srv/sysroot");
/// let core = Core::open_with("core", &opts)?;
/// # Ok::<(), corefile::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    pub(crate) executable: Option<PathBuf>,
    pub(crate) search_paths: Vec<PathBuf>,
    pub(crate) sysroot: Option<PathBuf>,
    pub(crate) allow_mismatch: bool,
}

impl OpenOptions {
    /// Default options: find the executable and libraries by the paths the
    /// core records, then in the core's directory.
    ///
    /// ```
    /// let opts = corefile::OpenOptions::new();
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Use this executable instead of looking for one. It is checked against
    /// the core; a mismatch is an error unless
    /// [`allow_mismatch`](Self::allow_mismatch) is set.
    ///
    /// ```
    /// let opts = corefile::OpenOptions::new().executable("./server");
    /// ```
    pub fn executable(mut self, path: impl Into<PathBuf>) -> OpenOptions {
        self.executable = Some(path.into());
        self
    }

    /// Also look for mapped files by base name in this directory (tried in
    /// the order added, after the sysroot and the recorded path).
    ///
    /// ```
    /// let opts = corefile::OpenOptions::new().search_path("/tmp/libs");
    /// ```
    pub fn search_path(mut self, dir: impl Into<PathBuf>) -> OpenOptions {
        self.search_paths.push(dir.into());
        self
    }

    /// Look for mapped files under this prefix first: `/usr/lib/libc.so.6`
    /// is looked for as `SYSROOT/usr/lib/libc.so.6`.
    ///
    /// ```
    /// let opts = corefile::OpenOptions::new().sysroot("/srv/arm64-root");
    /// ```
    pub fn sysroot(mut self, dir: impl Into<PathBuf>) -> OpenOptions {
        self.sysroot = Some(dir.into());
        self
    }

    /// Use the explicitly given executable even if it does not match the
    /// core (a [`Warning::ExecutableMismatch`] is recorded instead of an
    /// error).
    ///
    /// ```
    /// let opts = corefile::OpenOptions::new().executable("./old-build").allow_mismatch(true);
    /// ```
    pub fn allow_mismatch(mut self, allow: bool) -> OpenOptions {
        self.allow_mismatch = allow;
        self
    }
}

/// Access permissions of a mapping.
///
/// ```
/// let p = corefile::Perms { read: true, write: false, exec: true };
/// assert_eq!(p.to_string(), "r-x");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Perms {
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
}

impl std::fmt::Display for Perms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = |b, ch| if b { ch } else { '-' };
        write!(
            f,
            "{}{}{}",
            c(self.read, 'r'),
            c(self.write, 'w'),
            c(self.exec, 'x')
        )
    }
}

/// One memory mapping of the process (a `PT_LOAD` segment of the core).
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// for m in core.mappings() {
///     println!(
///         "{:#x}-{:#x} {} {:?} core={} file={} zero={} missing={}",
///         m.start(), m.end(), m.perms(), m.path(),
///         m.bytes_in_core(), m.bytes_from_file(), m.bytes_zero(), m.bytes_missing()
///     );
/// }
/// # Ok::<(), corefile::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    start: u64,
    end: u64,
    perms: Perms,
    path: Option<PathBuf>,
    offset: Option<u64>,
    found: Option<PathBuf>,
    in_core: u64,
    from_file: u64,
    zero: u64,
    missing: u64,
    no_access: u64,
}

impl Mapping {
    /// First address.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let lowest = core.mappings().first().map(|m| m.start());
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn start(&self) -> u64 {
        self.start
    }
    /// One past the last address.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let highest = core.mappings().last().map(|m| m.end());
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn end(&self) -> u64 {
        self.end
    }
    /// Size in bytes.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let total: u64 = core.mappings().iter().map(|m| m.len()).sum();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    /// Whether the mapping is empty (never true for mappings of a [`Core`]).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// assert!(core.mappings().iter().all(|m| !m.is_empty()));
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
    /// Whether `addr` lies in the mapping.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let pc = core.threads()[0].registers.pc();
    /// let text = core.mappings().iter().find(|m| m.contains(pc));
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
    /// Access permissions.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let writable = core.mappings().iter().filter(|m| m.perms().write).count();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn perms(&self) -> Perms {
        self.perms
    }
    /// The mapped file's path as recorded in the core (`NT_FILE`), if any.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let libs: Vec<_> = core.mappings().iter().filter_map(|m| m.path()).collect();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    /// Offset in the mapped file of [`start`](Self::start), if file-backed.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let at_zero = core.mappings().iter().filter(|m| m.file_offset() == Some(0)).count();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn file_offset(&self) -> Option<u64> {
        self.offset
    }
    /// The file actually read for this mapping's omitted contents, if one was
    /// found (it may differ from [`path`](Self::path): sysroot, search path,
    /// compressed copy).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// for m in core.mappings() {
    ///     if let Some(f) = m.found_file() { println!("{}", f.display()); }
    /// }
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn found_file(&self) -> Option<&Path> {
        self.found.as_deref()
    }
    /// Bytes whose contents are stored in the core.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let dumped: u64 = core.mappings().iter().map(|m| m.bytes_in_core()).sum();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn bytes_in_core(&self) -> u64 {
        self.in_core
    }
    /// Bytes read from the executable or a library file.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let from_files: u64 = core.mappings().iter().map(|m| m.bytes_from_file()).sum();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn bytes_from_file(&self) -> u64 {
        self.from_file
    }
    /// Bytes known to be zero (bss, beyond the end of a mapped file).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let bss: u64 = core.mappings().iter().map(|m| m.bytes_zero()).sum();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn bytes_zero(&self) -> u64 {
        self.zero
    }
    /// Bytes of a readable (or writable/executable) mapping whose contents are
    /// unavailable: reads of them fail. See also [`Mapping::bytes_no_access`].
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let unreadable: u64 = core.mappings().iter().map(|m| m.bytes_missing()).sum();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn bytes_missing(&self) -> u64 {
        self.missing
    }

    /// Bytes of a mapping without any access permission (`---`, an address-space
    /// reservation) that the core does not hold: neither the process nor a reader
    /// can read them, and they are not counted as missing.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let reserved: u64 = core.mappings().iter().map(|m| m.bytes_no_access()).sum();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn bytes_no_access(&self) -> u64 {
        self.no_access
    }
}

/// A thread of the process (one `NT_PRSTATUS` note).
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// for t in core.threads() {
///     println!("tid {} signal {} pc {:#x}", t.tid, t.signal, t.registers.pc());
/// }
/// # Ok::<(), corefile::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Thread {
    /// Thread id (`pr_pid`).
    pub tid: u32,
    /// Signal being delivered to the thread when it dumped (`pr_cursig`),
    /// 0 if none.
    pub signal: i32,
    /// General-purpose registers.
    pub registers: Registers,
}

/// Where the bytes of an address range come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    /// The core file, at this offset.
    Core(u64),
    /// `files[index]`, at this offset.
    File(usize, u64),
    /// Known zero.
    Zero,
    /// Unavailable.
    Missing(Missing),
}

/// A contiguous address range with one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) src: Src,
}

/// A loaded `PT_LOAD` segment of the core.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub(crate) vaddr: u64,
    pub(crate) memsz: u64,
    pub(crate) offset: u64,
    pub(crate) filesz: u64,
    pub(crate) perms: Perms,
}

/// The address space: sorted, non-overlapping pieces over some sources.
pub(crate) struct Space<'a> {
    pub(crate) pieces: &'a [Piece],
    pub(crate) core: &'a [u8],
    pub(crate) files: &'a [Arc<Source>],
}

impl<'a> Space<'a> {
    fn index(&self, addr: u64) -> Option<usize> {
        let i = self.pieces.partition_point(|p| p.end <= addr);
        let p = self.pieces.get(i)?;
        (p.start <= addr).then_some(i)
    }

    fn bytes(&self, p: &Piece, addr: u64, len: u64) -> Result<Option<&'a [u8]>> {
        let (data, off) = match &p.src {
            Src::Core(off) => (self.core, *off),
            Src::File(i, off) => match self.files.get(*i) {
                Some(f) => (f.bytes(), *off),
                None => return Err(unavailable(addr, Missing::NotDumped)),
            },
            Src::Zero => return Ok(None),
            Src::Missing(m) => return Err(unavailable(addr, m.clone())),
        };
        let start = addr
            .checked_sub(p.start)
            .and_then(|d| off.checked_add(d))
            .and_then(|s| usize::try_from(s).ok());
        let slice = start.and_then(|s| {
            let e = s.checked_add(usize::try_from(len).ok()?)?;
            data.get(s..e)
        });
        match slice {
            Some(s) => Ok(Some(s)),
            None => Err(unavailable(addr, Missing::Truncated)),
        }
    }

    /// Checks that `[addr, end)` is fully readable.
    fn check(&self, addr: u64, end: u64) -> Result<()> {
        let mut cur = addr;
        let Some(mut i) = self.index(addr) else {
            return Err(Error::Unmapped { addr });
        };
        while cur < end {
            let p = match self.pieces.get(i) {
                Some(p) if p.start == cur || (p.start <= cur && cur < p.end) => p,
                _ => return Err(Error::Unmapped { addr: cur }),
            };
            if let Src::Missing(m) = &p.src {
                return Err(unavailable(cur, m.clone()));
            }
            cur = p.end.min(end);
            i += 1;
        }
        Ok(())
    }

    pub(crate) fn read(&self, addr: u64, len: usize) -> Result<Cow<'a, [u8]>> {
        if len == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        let end = end_of(addr, len)?;
        let Some(i) = self.index(addr) else {
            return Err(Error::Unmapped { addr });
        };
        if let Some(p) = self.pieces.get(i) {
            if end <= p.end {
                return Ok(match self.bytes(p, addr, end - addr)? {
                    Some(b) => Cow::Borrowed(b),
                    None => Cow::Owned(vec![0; len]),
                });
            }
        }
        // Spans pieces: check everything first so that the allocation is
        // bounded by what is actually mapped.
        self.check(addr, end)?;
        let mut buf = vec![0; len];
        self.read_exact(addr, &mut buf)?;
        Ok(Cow::Owned(buf))
    }

    pub(crate) fn read_exact(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = end_of(addr, buf.len())?;
        let Some(mut i) = self.index(addr) else {
            return Err(Error::Unmapped { addr });
        };
        let mut cur = addr;
        let mut out = buf;
        while cur < end {
            let p = match self.pieces.get(i) {
                Some(p) if p.start <= cur && cur < p.end => p,
                _ => return Err(Error::Unmapped { addr: cur }),
            };
            let n = p.end.min(end) - cur;
            let (dst, rest) = std::mem::take(&mut out).split_at_mut(n as usize);
            match self.bytes(p, cur, n)? {
                Some(b) => dst.copy_from_slice(b),
                None => dst.fill(0),
            }
            out = rest;
            cur += n;
            i += 1;
        }
        Ok(())
    }
}

fn unavailable(addr: u64, reason: Missing) -> Error {
    Error::Unavailable { addr, reason }
}

fn end_of(addr: u64, len: usize) -> Result<u64> {
    let len = len as u64;
    // Not `ok_or`: that builds (and drops, a call on every read) the error.
    match addr.checked_add(len) {
        Some(end) => Ok(end),
        None => Err(Error::Overflow { addr, len }),
    }
}

/// An opened ELF core file: memory, mappings, threads and process metadata.
///
/// `Core` is `Send + Sync`; reads borrow from the memory-mapped core (or
/// executable/library) where the range lies within one piece of memory and
/// copy only when it spans several.
///
/// ```no_run
/// use corefile::Core;
/// let core = Core::open("core.zst")?;
/// println!("{} {} threads", core.arch(), core.threads().len());
/// let sp = core.threads()[0].registers.sp();
/// let word = core.read_ptr(sp)?;
/// let bytes = core.read(sp, 64)?; // Cow<[u8]>
/// # Ok::<(), corefile::Error>(())
/// ```
pub struct Core {
    path: PathBuf,
    core: Source,
    arch: Arch,
    files: Vec<Arc<Source>>,
    pieces: Vec<Piece>,
    mappings: Vec<Mapping>,
    threads: Vec<Thread>,
    auxv: Vec<(u64, u64)>,
    process: Option<ProcessInfo>,
    signal: Option<SignalInfo>,
    executable: Option<Executable>,
    warnings: Vec<Warning>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("path", &self.path)
            .field("arch", &self.arch)
            .field("mappings", &self.mappings.len())
            .field("threads", &self.threads.len())
            .field("executable", &self.executable)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

fn malformed(path: &Path, what: &'static str, detail: impl ToString) -> Error {
    Error::Malformed {
        path: path.to_owned(),
        what,
        detail: detail.to_string(),
    }
}

/// Everything read from the core file itself.
pub(crate) struct Parsed {
    pub(crate) arch: Arch,
    pub(crate) segments: Vec<Segment>,
    pub(crate) threads: Vec<notes::PrStatus>,
    pub(crate) auxv: Vec<(u64, u64)>,
    pub(crate) process: Option<ProcessInfo>,
    pub(crate) siginfo: Option<SignalInfo>,
    pub(crate) files: Vec<FileEntry>,
    pub(crate) warnings: Vec<Warning>,
}

impl Parsed {
    pub(crate) fn auxv(&self, key: u64) -> Option<u64> {
        self.auxv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
    pub(crate) fn page_size(&self) -> u64 {
        match self.auxv(AT_PAGESZ) {
            Some(p) if p.is_power_of_two() && (1024..=1 << 20).contains(&p) => p,
            _ => 4096,
        }
    }
}

fn parse(path: &Path, data: &[u8]) -> Result<Parsed> {
    match object::FileKind::parse(data) {
        Ok(object::FileKind::Elf64) => {}
        Ok(object::FileKind::Elf32) => {
            return Err(Error::Unsupported {
                path: path.to_owned(),
                what: "32-bit ELF core".into(),
            })
        }
        Ok(k) => return Err(malformed(path, "ELF header", format!("not ELF ({k:?})"))),
        Err(e) => return Err(malformed(path, "ELF header", e)),
    }
    let hdr = elf::FileHeader64::<Endianness>::parse(data)
        .map_err(|e| malformed(path, "ELF header", e))?;
    let endian = hdr.endian().map_err(|e| malformed(path, "ELF header", e))?;
    if hdr.e_type(endian) != elf::ET_CORE {
        return Err(Error::Unsupported {
            path: path.to_owned(),
            what: format!("ELF type {:?} (not a core file)", hdr.e_type(endian)),
        });
    }
    let arch = match hdr.e_machine(endian) {
        elf::EM_X86_64 => Arch::Amd64,
        elf::EM_AARCH64 => Arch::Arm64,
        m => {
            return Err(Error::Unsupported {
                path: path.to_owned(),
                what: format!("machine {m:?} (only x86-64 and AArch64)"),
            })
        }
    };
    if endian != Endianness::Little {
        return Err(Error::Unsupported {
            path: path.to_owned(),
            what: "big-endian core".into(),
        });
    }
    let phdrs = hdr
        .program_headers(endian, data)
        .map_err(|e| malformed(path, "program headers", e))?;

    let mut warnings = Vec::new();
    let file_len = data.len() as u64;
    let mut expected = 0u64;
    let mut segments = Vec::new();
    let mut note_data = Vec::new();
    for ph in phdrs {
        let (ptype, offset, filesz) = (ph.p_type(endian), ph.p_offset(endian), ph.p_filesz(endian));
        if ptype != elf::PT_LOAD && ptype != elf::PT_NOTE {
            continue;
        }
        let vaddr = ph.p_vaddr(endian);
        let Some(file_end) = offset.checked_add(filesz) else {
            warnings.push(Warning::BadSegment {
                vaddr,
                detail: format!("file range {offset:#x}+{filesz:#x} overflows"),
            });
            continue;
        };
        expected = expected.max(file_end);
        if ptype == elf::PT_NOTE {
            let start = offset.min(file_len) as usize;
            let end = file_end.min(file_len) as usize;
            note_data.push((data.get(start..end).unwrap_or_default(), ph.p_align(endian)));
            continue;
        }
        let memsz = ph.p_memsz(endian);
        if memsz == 0 {
            continue;
        }
        if vaddr.checked_add(memsz).is_none() {
            warnings.push(Warning::BadSegment {
                vaddr,
                detail: format!("size {memsz:#x} overflows the address space"),
            });
            continue;
        }
        let flags = ph.p_flags(endian).0;
        segments.push(Segment {
            vaddr,
            memsz,
            offset,
            filesz: filesz.min(memsz),
            perms: Perms {
                read: flags & elf::PF_R.0 != 0,
                write: flags & elf::PF_W.0 != 0,
                exec: flags & elf::PF_X.0 != 0,
            },
        });
    }
    if expected > file_len {
        warnings.push(Warning::Truncated {
            expected,
            actual: file_len,
        });
    }
    segments.sort_by_key(|s| s.vaddr);
    let mut kept: Vec<Segment> = Vec::with_capacity(segments.len());
    for s in segments {
        if let Some(prev) = kept.last() {
            if s.vaddr < prev.vaddr + prev.memsz {
                warnings.push(Warning::BadSegment {
                    vaddr: s.vaddr,
                    detail: format!("overlaps the segment at {:#x}", prev.vaddr),
                });
                continue;
            }
        }
        kept.push(s);
    }

    let mut parsed = Parsed {
        arch,
        segments: kept,
        threads: Vec::new(),
        auxv: Vec::new(),
        process: None,
        siginfo: None,
        files: Vec::new(),
        warnings,
    };
    for (bytes, align) in note_data {
        parse_notes(&mut parsed, endian, bytes, align);
    }
    add_file_only_segments(&mut parsed);
    Ok(parsed)
}

/// Adds a segment for every part of an `NT_FILE` mapping that no `PT_LOAD` covers.
/// gdb's `gcore` leaves read-only file mappings out of the program headers entirely
/// (the kernel instead writes a header with `p_filesz` 0); their contents then come
/// from the file. Their permissions are not recorded anywhere in the core: they are
/// taken to be read-only.
fn add_file_only_segments(p: &mut Parsed) {
    let mut extra = Vec::new();
    for f in &p.files {
        let mut cur = f.start;
        let first = p.segments.partition_point(|s| s.vaddr + s.memsz <= f.start);
        for s in p.segments.get(first..).unwrap_or_default() {
            if s.vaddr >= f.end || cur >= f.end {
                break;
            }
            if s.vaddr > cur {
                extra.push((cur, s.vaddr));
            }
            cur = cur.max(s.vaddr + s.memsz);
        }
        if cur < f.end {
            extra.push((cur, f.end));
        }
    }
    if extra.is_empty() {
        return;
    }
    for (start, end) in extra {
        p.segments.push(Segment {
            vaddr: start,
            memsz: end - start,
            offset: 0,
            filesz: 0,
            perms: Perms {
                read: true,
                write: false,
                exec: false,
            },
        });
    }
    p.segments.sort_by_key(|s| s.vaddr);
    // NT_FILE entries come from garbage too: keep the segments non-overlapping.
    let mut kept: Vec<Segment> = Vec::with_capacity(p.segments.len());
    for s in p.segments.drain(..) {
        match kept.last() {
            Some(prev) if s.vaddr < prev.vaddr + prev.memsz => {}
            _ => kept.push(s),
        }
    }
    p.segments = kept;
}

fn parse_notes(p: &mut Parsed, endian: Endianness, bytes: &[u8], align: u64) {
    let mut it = match object::read::elf::NoteIterator::<elf::FileHeader64<Endianness>>::new(
        endian, align, bytes,
    ) {
        Ok(it) => it,
        Err(e) => {
            p.warnings.push(Warning::BadNote {
                what: "PT_NOTE",
                detail: e.to_string(),
            });
            return;
        }
    };
    let d = |data| Desc {
        data,
        endian: Endian::Little,
    };
    for _ in 0..MAX_NOTES {
        let note = match it.next() {
            Ok(Some(n)) => n,
            Ok(None) => break,
            Err(e) => {
                p.warnings.push(Warning::BadNote {
                    what: "PT_NOTE",
                    detail: e.to_string(),
                });
                break;
            }
        };
        if note.name() != elf::ELF_NOTE_CORE {
            continue;
        }
        let desc = note.desc();
        let t = note.n_type(endian);
        let bad = |what, detail: String| Warning::BadNote { what, detail };
        if t == elf::NT_PRSTATUS {
            match notes::prstatus(d(desc), p.arch) {
                Ok(s) => p.threads.push(s),
                Err(e) => p.warnings.push(bad("NT_PRSTATUS", e)),
            }
        } else if t == elf::NT_PRPSINFO {
            match notes::prpsinfo(d(desc)) {
                Ok(s) if p.process.is_none() => p.process = Some(s),
                Ok(_) => {}
                Err(e) => p.warnings.push(bad("NT_PRPSINFO", e)),
            }
        } else if t == elf::NT_SIGINFO {
            match notes::siginfo(d(desc)) {
                Ok(s) if p.siginfo.is_none() => p.siginfo = Some(s),
                Ok(_) => {}
                Err(e) => p.warnings.push(bad("NT_SIGINFO", e)),
            }
        } else if t == elf::NT_AUXV {
            if p.auxv.is_empty() {
                p.auxv = notes::auxv(d(desc));
            }
        } else if t == elf::NT_FILE && p.files.is_empty() {
            match notes::nt_file(d(desc)) {
                Ok(f) => p.files = f,
                Err(e) => p.warnings.push(bad("NT_FILE", e)),
            }
        }
    }
}

/// Fills `[a, b)` from `regions` (sorted, non-overlapping); gaps are
/// `NotDumped`.
fn fill(out: &mut Vec<Piece>, a: u64, b: u64, regions: &[Piece]) {
    let mut cur = a;
    let first = regions.partition_point(|r| r.end <= a);
    for r in regions.get(first..).unwrap_or_default() {
        if r.start >= b || cur >= b {
            break;
        }
        if r.start > cur {
            out.push(Piece {
                start: cur,
                end: r.start,
                src: Src::Missing(Missing::NotDumped),
            });
            cur = r.start;
        }
        let end = r.end.min(b);
        // Offsets may come from garbage; they are bounds-checked on read.
        let src = match &r.src {
            Src::File(i, off) => Src::File(*i, off.saturating_add(cur - r.start)),
            Src::Core(off) => Src::Core(off.saturating_add(cur - r.start)),
            s => s.clone(),
        };
        out.push(Piece {
            start: cur,
            end,
            src,
        });
        cur = end;
    }
    if cur < b {
        out.push(Piece {
            start: cur,
            end: b,
            src: Src::Missing(Missing::NotDumped),
        });
    }
}

/// Sorts regions and makes them non-overlapping (earlier start wins).
pub(crate) fn normalize(mut regions: Vec<Piece>) -> Vec<Piece> {
    regions.sort_by_key(|r| r.start);
    let mut out: Vec<Piece> = Vec::with_capacity(regions.len());
    for mut r in regions {
        if let Some(prev) = out.last() {
            if r.start < prev.end {
                let skip = prev.end - r.start;
                r.start = prev.end;
                if let Src::File(_, off) | Src::Core(off) = &mut r.src {
                    *off = off.saturating_add(skip);
                }
            }
        }
        if r.start < r.end {
            out.push(r);
        }
    }
    out
}

/// Builds the pieces of the address space from the core's segments and the
/// file-backed regions for what the core omits.
pub(crate) fn build_pieces(segments: &[Segment], core_len: u64, regions: &[Piece]) -> Vec<Piece> {
    let mut out = Vec::with_capacity(segments.len() * 2);
    for s in segments {
        let end = s.vaddr + s.memsz;
        let in_file = core_len.saturating_sub(s.offset).min(s.filesz);
        if in_file > 0 {
            out.push(Piece {
                start: s.vaddr,
                end: s.vaddr + in_file,
                src: Src::Core(s.offset),
            });
        }
        if in_file < s.filesz {
            out.push(Piece {
                start: s.vaddr + in_file,
                end: s.vaddr + s.filesz,
                src: Src::Missing(Missing::Truncated),
            });
        }
        if s.filesz < s.memsz {
            if s.perms.read || s.perms.write || s.perms.exec {
                fill(&mut out, s.vaddr + s.filesz, end, regions);
            } else {
                // PROT_NONE: an address-space reservation (Go reserves heap arenas
                // this way). The process could not read it either.
                out.push(Piece {
                    start: s.vaddr + s.filesz,
                    end,
                    src: Src::Missing(Missing::NoAccess),
                });
            }
        }
    }
    out
}

impl Core {
    /// Opens a core file (plain, `.zst` or `.gz`), looking for the executable
    /// and libraries by the paths recorded in the core and in the core's
    /// directory.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("/tmp/core.1234")?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Core> {
        Core::open_with(path, &OpenOptions::default())
    }

    /// Opens a core file with options (explicit executable, search paths,
    /// sysroot).
    ///
    /// ```no_run
    /// use corefile::{Core, OpenOptions};
    /// let core = Core::open_with("core", &OpenOptions::new().executable("server.zst"))?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn open_with(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Core> {
        let path = path.as_ref();
        Core::from_source(path, Source::open(path)?, options)
    }

    /// Opens a core held in memory (uncompressed ELF bytes). `path` is the name
    /// it goes by in messages, and its directory is searched for the executable as
    /// for [`Core::open_with`]. [`Core::into_bytes`] hands the bytes back, so that
    /// a caller can change a few of them and open again without copying the rest
    /// (the fuzz targets do).
    ///
    /// ```no_run
    /// use corefile::{Core, OpenOptions};
    /// let bytes = std::fs::read("core")?;
    /// let core = Core::from_bytes("core", bytes, &OpenOptions::new().executable("server"))?;
    /// println!("{} mappings", core.mappings().len());
    /// let bytes: Vec<u8> = core.into_bytes().unwrap_or_default();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_bytes(
        path: impl AsRef<Path>,
        bytes: Vec<u8>,
        options: &OpenOptions,
    ) -> Result<Core> {
        let path = path.as_ref();
        Core::from_source(path, Source::from_vec(path, bytes), options)
    }

    /// The bytes of a core made by [`Core::from_bytes`] (`None` for a core opened
    /// from a file).
    ///
    /// ```
    /// use corefile::{Core, OpenOptions};
    /// // Not an ELF file: the error says so, and the bytes are gone with it.
    /// assert!(Core::from_bytes("junk", b"junk".to_vec(), &OpenOptions::new()).is_err());
    /// ```
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        self.core.into_vec()
    }

    fn from_source(path: &Path, core: Source, options: &OpenOptions) -> Result<Core> {
        let mut parsed = parse(path, core.bytes())?;
        let core_len = core.bytes().len() as u64;
        let core_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();

        // First pass: what the core alone holds, to check files against.
        let core_only = build_pieces(&parsed.segments, core_len, &[]);
        let space = Space {
            pieces: &core_only,
            core: core.bytes(),
            files: &[],
        };
        let ctx = exe::Context {
            parsed: &parsed,
            space: &space,
            options,
            core_path: path,
            core_dir: &core_dir,
        };
        let found = ctx.load_files()?;
        let exe::Found {
            files,
            regions,
            executable,
            warnings,
            backing,
        } = found;
        parsed.warnings.extend(warnings);
        let regions = normalize(regions);
        let pieces = build_pieces(&parsed.segments, core_len, &regions);

        let mut by_start: Vec<&FileEntry> = parsed.files.iter().collect();
        by_start.sort_by_key(|f| f.start);
        let mappings = parsed
            .segments
            .iter()
            .map(|s| {
                let end = s.vaddr + s.memsz;
                let i = by_start.partition_point(|f| f.start <= s.vaddr);
                let entry = i
                    .checked_sub(1)
                    .and_then(|i| by_start.get(i))
                    .copied()
                    .filter(|f| s.vaddr < f.end);
                let mut m = Mapping {
                    start: s.vaddr,
                    end,
                    perms: s.perms,
                    path: entry.map(|f| f.path.clone()),
                    offset: entry.and_then(|f| f.offset.checked_add(s.vaddr - f.start)),
                    found: None,
                    in_core: 0,
                    from_file: 0,
                    zero: 0,
                    missing: 0,
                    no_access: 0,
                };
                let first = pieces.partition_point(|p| p.end <= s.vaddr);
                for p in pieces.get(first..).unwrap_or_default() {
                    if p.start >= end {
                        break;
                    }
                    let n = p.end - p.start;
                    match &p.src {
                        Src::Core(_) => m.in_core += n,
                        Src::File(i, _) => {
                            m.from_file += n;
                            if m.found.is_none() {
                                m.found = files.get(*i).map(|f| f.path.clone());
                            }
                        }
                        Src::Zero => m.zero += n,
                        Src::Missing(Missing::NoAccess) => m.no_access += n,
                        Src::Missing(_) => m.missing += n,
                    }
                }
                if m.found.is_none() {
                    if let Some(p) = &m.path {
                        m.found = backing.get(p).cloned();
                    }
                }
                m
            })
            .collect();

        let first_tid = parsed.threads.first().map(|t| t.tid);
        let signal = match parsed.siginfo {
            Some(mut s) => {
                s.tid = first_tid;
                Some(s)
            }
            None => parsed.threads.first().and_then(|t| {
                (t.cursig != 0 || t.signo != 0).then_some(SignalInfo {
                    signo: if t.cursig != 0 { t.cursig } else { t.signo },
                    code: t.code,
                    errno: t.errno,
                    addr: None,
                    sender_pid: None,
                    tid: Some(t.tid),
                })
            }),
        };
        let threads = parsed
            .threads
            .into_iter()
            .map(|t| Thread {
                tid: t.tid,
                signal: t.cursig,
                registers: t.registers,
            })
            .collect();
        Ok(Core {
            path: path.to_owned(),
            core,
            arch: parsed.arch,
            files,
            pieces,
            mappings,
            threads,
            auxv: parsed.auxv,
            process: parsed.process,
            signal,
            executable,
            warnings: parsed.warnings,
        })
    }

    fn space(&self) -> Space<'_> {
        Space {
            pieces: &self.pieces,
            core: self.core.bytes(),
            files: &self.files,
        }
    }

    /// The path the core was opened from.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// assert_eq!(core.path(), std::path::Path::new("core"));
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The target architecture.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let ptr = core.arch().ptr_size();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The process's mappings, sorted by address.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let stack = core.mappings().iter().find(|m| m.contains(core.threads()[0].registers.sp()));
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    /// The mapping containing `addr`, if any.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let m = core.mapping_at(core.threads()[0].registers.pc());
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn mapping_at(&self, addr: u64) -> Option<&Mapping> {
        let i = self.mappings.partition_point(|m| m.end <= addr);
        self.mappings.get(i).filter(|m| m.contains(addr))
    }

    /// The threads, in the order the core lists them (the first is the one
    /// that received the fatal signal).
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let crashed = &core.threads()[0];
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn threads(&self) -> &[Thread] {
        &self.threads
    }

    /// The auxiliary vector (`NT_AUXV`) as `(key, value)` pairs, without the
    /// terminating `AT_NULL`.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let at_entry = core.auxv().iter().find(|(k, _)| *k == 9).map(|(_, v)| *v);
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn auxv(&self) -> &[(u64, u64)] {
        &self.auxv
    }

    /// Process information from `NT_PRPSINFO`.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let pid = core.process().map(|p| p.pid);
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn process(&self) -> Option<&ProcessInfo> {
        self.process.as_ref()
    }

    /// The fatal signal (`NT_SIGINFO`, or the first thread's `pr_cursig`).
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let segv = core.signal().is_some_and(|s| s.signo == 11);
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn signal(&self) -> Option<SignalInfo> {
        self.signal
    }

    /// The executable, if one matching the core was found.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// if let Some(exe) = core.executable() {
    ///     println!("{} loaded at bias {:#x}", exe.path().display(), exe.load_bias());
    /// }
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn executable(&self) -> Option<&Executable> {
        self.executable.as_ref()
    }

    /// Non-fatal problems found while opening.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// for w in core.warnings() { eprintln!("warning: {w}"); }
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Reads `len` bytes at `addr`: borrowed from the mapped core or file
    /// when contiguous there, copied otherwise.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let sp = core.threads()[0].registers.sp();
    /// let stack_top = core.read(sp, 256)?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn read(&self, addr: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        self.space().read(addr, len)
    }

    /// Fills `buf` with the bytes at `addr`.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let mut buf = [0u8; 16];
    /// core.read_exact(core.threads()[0].registers.sp(), &mut buf)?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn read_exact(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.space().read_exact(addr, buf)
    }

    /// Reads a byte.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let b = core.read_u8(core.threads()[0].registers.pc())?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn read_u8(&self, addr: u64) -> Result<u8> {
        Memory::read_u8(self, addr)
    }

    /// Reads a target-endian `u16`.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let v = core.read_u16(core.threads()[0].registers.sp())?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn read_u16(&self, addr: u64) -> Result<u16> {
        Memory::read_u16(self, addr)
    }

    /// Reads a target-endian `u32`.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let v = core.read_u32(core.threads()[0].registers.sp())?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn read_u32(&self, addr: u64) -> Result<u32> {
        Memory::read_u32(self, addr)
    }

    /// Reads a target-endian `u64`.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let v = core.read_u64(core.threads()[0].registers.sp())?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn read_u64(&self, addr: u64) -> Result<u64> {
        Memory::read_u64(self, addr)
    }

    /// Reads a target pointer.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// let ret = core.read_ptr(core.threads()[0].registers.sp())?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn read_ptr(&self, addr: u64) -> Result<u64> {
        Memory::read_ptr(self, addr)
    }
}

impl Memory for Core {
    fn arch(&self) -> Arch {
        self.arch
    }
    fn read(&self, addr: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        self.space().read(addr, len)
    }
    fn read_exact(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.space().read_exact(addr, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(start: u64, end: u64, src: Src) -> Piece {
        Piece { start, end, src }
    }

    #[test]
    fn reads_span_pieces_and_fail_on_gaps() {
        let core: Vec<u8> = (0..=255).collect();
        let pieces = vec![
            piece(0x1000, 0x1010, Src::Core(0)),
            piece(0x1010, 0x1020, Src::Zero),
            piece(0x1020, 0x1030, Src::Core(0x20)),
            piece(0x1030, 0x1040, Src::Missing(Missing::NotDumped)),
            piece(0x2000, 0x2010, Src::Core(0x10)),
        ];
        let s = Space {
            pieces: &pieces,
            core: &core,
            files: &[],
        };
        assert!(matches!(
            s.read(0x1004, 4).unwrap(),
            Cow::Borrowed(&[4, 5, 6, 7])
        ));
        let r = s.read(0x100e, 4).unwrap();
        assert_eq!(&*r, &[14, 15, 0, 0]);
        let r = s.read(0x101e, 4).unwrap();
        assert_eq!(&*r, &[0, 0, 0x20, 0x21]);
        assert!(matches!(
            s.read(0x102e, 4),
            Err(Error::Unavailable {
                addr: 0x1030,
                reason: Missing::NotDumped
            })
        ));
        assert!(matches!(
            s.read(0x0fff, 1),
            Err(Error::Unmapped { addr: 0xfff })
        ));
        assert!(matches!(
            s.read(0x1040, 1),
            Err(Error::Unmapped { addr: 0x1040 })
        ));
        assert!(matches!(
            s.read(0x200f, usize::MAX),
            Err(Error::Overflow { .. }) | Err(Error::Unmapped { .. })
        ));
        assert!(matches!(
            s.read(0x200f, 2),
            Err(Error::Unmapped { addr: 0x2010 })
        ));
        // Huge read over a small mapping fails before allocating.
        assert!(s.read(0x2000, 1 << 40).is_err());
        let mut buf = [0u8; 3];
        s.read_exact(0x200e, &mut buf[..2]).unwrap();
        assert_eq!(buf, [0x1e, 0x1f, 0]);
    }

    #[test]
    fn normalize_clips_overlaps() {
        let r = normalize(vec![
            piece(0x10, 0x30, Src::File(0, 100)),
            piece(0x0, 0x20, Src::File(1, 0)),
            piece(0x5, 0x8, Src::Zero),
        ]);
        assert_eq!(
            r,
            vec![
                piece(0x0, 0x20, Src::File(1, 0)),
                piece(0x20, 0x30, Src::File(0, 116)),
            ]
        );
    }
}
