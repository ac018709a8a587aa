//! The pclntab: Go's function table, line tables, frame sizes, pcdata/funcdata and
//! inline trees. Formats: magic 0xfffffffb (Go 1.2–1.15), 0xfffffffa (1.16–1.17),
//! 0xfffffff0 (1.18–1.19) and 0xfffffff1 (1.20+).

use crate::binary::{read_sections, Section};
use crate::bytes::{uvarint, Encoding, Endian};
use crate::{Error, Location, Result};

/// Which pclntab format a table uses.
///
/// ```
/// assert!(gobinary::PclntabVersion::V120 > gobinary::PclntabVersion::V118);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PclntabVersion {
    /// Magic 0xfffffffb: Go 1.2 through 1.15.
    V12,
    /// Magic 0xfffffffa: Go 1.16 and 1.17.
    V116,
    /// Magic 0xfffffff0: Go 1.18 and 1.19.
    V118,
    /// Magic 0xfffffff1: Go 1.20 and later.
    V120,
}

impl PclntabVersion {
    /// The version for a magic number.
    ///
    /// ```
    /// use gobinary::PclntabVersion;
    /// assert_eq!(PclntabVersion::from_magic(0xfffffff1), Some(PclntabVersion::V120));
    /// ```
    pub fn from_magic(magic: u32) -> Option<Self> {
        match magic {
            0xfffffffb => Some(Self::V12),
            0xfffffffa => Some(Self::V116),
            0xfffffff0 => Some(Self::V118),
            0xfffffff1 => Some(Self::V120),
            _ => None,
        }
    }
}

/// `PCDATA` table indexes (`internal/abi`).
pub mod pcdata {
    /// `PCDATA_UnsafePoint`.
    pub const UNSAFE_POINT: u32 = 0;
    /// `PCDATA_StackMapIndex`: which stack map is live at a PC.
    pub const STACK_MAP_INDEX: u32 = 1;
    /// `PCDATA_InlTreeIndex`: which inline-tree node a PC belongs to.
    pub const INL_TREE_INDEX: u32 = 2;
    /// `PCDATA_ArgLiveIndex`.
    pub const ARG_LIVE_INDEX: u32 = 3;
}

/// `FUNCDATA` indexes (`internal/abi`).
pub mod funcdata {
    /// `FUNCDATA_ArgsPointerMaps`.
    pub const ARGS_POINTER_MAPS: u8 = 0;
    /// `FUNCDATA_LocalsPointerMaps`.
    pub const LOCALS_POINTER_MAPS: u8 = 1;
    /// `FUNCDATA_StackObjects`.
    pub const STACK_OBJECTS: u8 = 2;
    /// `FUNCDATA_InlTree`.
    pub const INL_TREE: u8 = 3;
    /// `FUNCDATA_OpenCodedDeferInfo`.
    pub const OPEN_CODED_DEFER_INFO: u8 = 4;
    /// `FUNCDATA_ArgInfo`.
    pub const ARG_INFO: u8 = 5;
}

/// `abi.FuncFlag` bits.
///
/// ```
/// let f = gobinary::FuncFlags(1);
/// assert!(f.top_frame() && !f.asm());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FuncFlags(pub u8);

impl FuncFlags {
    /// `FuncFlagTopFrame`: the function is at the top of its stack (unwinding stops).
    ///
    /// ```
    /// assert!(gobinary::FuncFlags(1).top_frame());
    /// ```
    pub fn top_frame(self) -> bool {
        self.0 & 1 != 0
    }
    /// `FuncFlagSPWrite`: the function writes SP arbitrarily.
    ///
    /// ```
    /// assert!(gobinary::FuncFlags(2).sp_write());
    /// ```
    pub fn sp_write(self) -> bool {
        self.0 & 2 != 0
    }
    /// `FuncFlagAsm`: the function is written in assembly.
    ///
    /// ```
    /// assert!(gobinary::FuncFlags(4).asm());
    /// ```
    pub fn asm(self) -> bool {
        self.0 & 4 != 0
    }
}

/// One function of the table.
///
/// ```no_run
/// # fn f(tab: &gobinary::Pclntab<'_>) -> gobinary::Result<()> {
/// if let Some(func) = tab.func_for_pc(0x401234)? {
///     println!("{} [{:#x}, {:#x}) in {}", func.name, func.entry, func.end, func.package());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Func<'data> {
    /// Index in the function table.
    pub index: usize,
    /// Entry PC.
    pub entry: u64,
    /// End PC (the next function's entry).
    pub end: u64,
    /// Symbol name (`main.main`, `fmt.(*pp).doPrintf`, …).
    pub name: &'data str,
    /// Size of the arguments (`args`).
    pub args: i32,
    /// `deferreturn` offset.
    pub deferreturn: u32,
    /// Offset of the pc→SP-delta table.
    pub pcsp: u32,
    /// Offset of the pc→file table.
    pub pcfile: u32,
    /// Offset of the pc→line table.
    pub pcln: u32,
    /// Number of pcdata tables.
    pub npcdata: u32,
    /// Number of funcdata entries.
    pub nfuncdata: u8,
    /// Compilation-unit index into the CU file table (Go 1.16+).
    pub cu_offset: u32,
    /// Line of the `func` keyword (Go 1.20+).
    pub start_line: Option<i32>,
    /// `abi.FuncID` (numbers shift between releases: compare names instead).
    pub func_id: u8,
    /// `abi.FuncFlag` (Go 1.17+; zero before).
    pub flags: FuncFlags,
    /// Offset of the `_func` structure within the pclntab.
    pub struct_offset: usize,
}

impl Func<'_> {
    /// The package path part of the name, as `debug/gosym` computes it ("" for
    /// compiler-generated `type:`/`go:` symbols).
    ///
    /// ```no_run
    /// # fn f(func: &gobinary::Func<'_>) {
    /// // "internal/abi.(*Type).NumMethod" -> "internal/abi"
    /// let pkg = func.package();
    /// # }
    /// ```
    pub fn package(&self) -> &str {
        package_of(self.name)
    }
}

/// The package path of a Go symbol name.
///
/// ```
/// assert_eq!(gobinary::package_of("internal/abi.(*Type).NumMethod"), "internal/abi");
/// assert_eq!(gobinary::package_of("main.F[go.shape.int]"), "main");
/// assert_eq!(gobinary::package_of("type:.eq.[2]string"), "");
/// ```
pub fn package_of(name: &str) -> &str {
    if name.starts_with("go:") || name.starts_with("type:") {
        return "";
    }
    // Ignore generic instantiation brackets, which may hold dots and slashes.
    let cut = name.find('[').unwrap_or(name.len());
    let base = name.get(..cut).unwrap_or(name);
    let pathend = base.rfind('/').unwrap_or(0);
    match base.get(pathend..).and_then(|s| s.find('.')) {
        Some(i) => name.get(..pathend.saturating_add(i)).unwrap_or(""),
        None => "",
    }
}

/// A source position.
///
/// ```
/// let p = gobinary::FileLine { file: "main.go".into(), line: 3 };
/// assert_eq!(p.to_string(), "main.go:3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLine {
    /// File name as recorded (absolute, or trimmed with `-trimpath`).
    pub file: String,
    /// Line number.
    pub line: i32,
}

impl std::fmt::Display for FileLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One logical frame at a PC: the physical function or a call inlined into it.
///
/// ```no_run
/// # fn f(tab: &gobinary::Pclntab<'_>) -> gobinary::Result<()> {
/// for frame in tab.frames(0x401234)? {
///     println!("{} {}:{}", frame.function, frame.file, frame.line);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Function name.
    pub function: String,
    /// Source file.
    pub file: String,
    /// Line.
    pub line: i32,
    /// Line of the `func` keyword (Go 1.20+).
    pub start_line: Option<i32>,
    /// `abi.FuncID` of the function.
    pub func_id: u8,
    /// Whether this frame was inlined into its caller.
    pub inlined: bool,
    /// Entry of the physical function.
    pub entry: u64,
}

/// Cap on a pclntab's function count and file count.
const MAX_FUNCS: u64 = 1 << 24;
/// Cap on inline depth.
const MAX_INLINE_DEPTH: usize = 1024;

/// A parsed pclntab.
///
/// Obtained with [`crate::GoBinary::pclntab`] (which also fills in the text start and
/// the `go:func.*` base from moduledata when it can), or [`Pclntab::parse`].
///
/// ```no_run
/// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
/// let tab = bin.pclntab()?;
/// for func in tab.funcs() {
///     let func = func?;
///     println!("{:#x} {}", func.entry, func.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Pclntab<'data> {
    data: &'data [u8],
    address: u64,
    version: PclntabVersion,
    enc: Encoding,
    quantum: u8,
    nfunc: usize,
    nfiles: usize,
    text_start: u64,
    header_text_start: u64,
    funcnametab: &'data [u8],
    cutab: &'data [u8],
    filetab: &'data [u8],
    pctab: &'data [u8],
    functab: &'data [u8],
    /// Base of `_func` offsets from the functab.
    func_base: &'data [u8],
    gofunc: Option<u64>,
    sections: Vec<Section<'data>>,
}

impl<'data> Pclntab<'data> {
    /// Validates a pclntab header at the start of `data` (pad bytes zero, minLC in
    /// {1, 2, 4}, ptrSize in {4, 8}, known magic in either byte order) and returns the
    /// version and byte order.
    ///
    /// ```
    /// let hdr = [0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8];
    /// assert!(gobinary::Pclntab::check_header(&hdr).is_some());
    /// ```
    pub fn check_header(data: &[u8]) -> Option<(PclntabVersion, Endian)> {
        let h = data.get(..8)?;
        if h.get(4..6)? != [0, 0] || !matches!(h.get(6)?, 1 | 2 | 4) || !matches!(h.get(7)?, 4 | 8)
        {
            return None;
        }
        let b: [u8; 4] = h.get(..4)?.try_into().ok()?;
        if let Some(v) = PclntabVersion::from_magic(u32::from_le_bytes(b)) {
            return Some((v, Endian::Little));
        }
        PclntabVersion::from_magic(u32::from_be_bytes(b)).map(|v| (v, Endian::Big))
    }

    /// Parses a pclntab whose header starts at `data[0]`, loaded at `address`.
    /// `sections` lets funcdata (inline trees) be read; `text_start` is used when the
    /// header carries none (before 1.18, and from 1.26 where it is zero).
    ///
    /// ```
    /// assert!(gobinary::Pclntab::parse(&[0u8; 8], 0, Vec::new(), 0).is_err());
    /// ```
    pub fn parse(
        data: &'data [u8],
        address: u64,
        sections: Vec<Section<'data>>,
        text_start: u64,
    ) -> Result<Self> {
        let bad = |off: u64, reason: &str| {
            Error::malformed("pclntab", Location::TableOffset("pclntab", off), reason)
        };
        let (version, endian) = Self::check_header(data).ok_or_else(|| bad(0, "bad header"))?;
        let quantum = *data.get(6).ok_or_else(|| bad(6, "short"))?;
        let ptr_size = *data.get(7).ok_or_else(|| bad(7, "short"))?;
        let enc = Encoding { endian, ptr_size };
        let p = usize::from(ptr_size);
        let word = |i: usize| -> Result<u64> {
            let off = 8usize.saturating_add(i.saturating_mul(p));
            enc.read_ptr(data, off)
                .ok_or_else(|| bad(off as u64, "short header"))
        };
        let slice_from = |off: u64| -> Result<&'data [u8]> {
            usize::try_from(off)
                .ok()
                .and_then(|o| data.get(o..))
                .ok_or_else(|| bad(off, "table offset out of range"))
        };
        let nfunc = word(0)?;
        if nfunc > MAX_FUNCS {
            return Err(bad(8, "implausible function count"));
        }
        let nfunc = nfunc as usize;
        let mut tab = Pclntab {
            data,
            address,
            version,
            enc,
            quantum,
            nfunc,
            nfiles: 0,
            text_start,
            header_text_start: 0,
            funcnametab: data,
            cutab: &[],
            filetab: &[],
            pctab: data,
            functab: &[],
            func_base: data,
            gofunc: None,
            sections,
        };
        match version {
            PclntabVersion::V12 => {
                let ft = 8usize.saturating_add(p);
                tab.functab = data.get(ft..).ok_or_else(|| bad(ft as u64, "short"))?;
                // After nfunc {entry, funcoff} pairs: the end PC, then the filetab offset.
                let ftabend = nfunc
                    .checked_mul(2 * p)
                    .and_then(|n| n.checked_add(ft))
                    .ok_or_else(|| bad(8, "function table too large"))?;
                let fileoff = enc
                    .read_u32(data, ftabend.saturating_add(p))
                    .ok_or_else(|| bad(ftabend as u64, "short function table"))?;
                tab.filetab = slice_from(u64::from(fileoff))?;
                tab.nfiles = enc.read_u32(tab.filetab, 0).unwrap_or(0) as usize;
            }
            PclntabVersion::V116 => {
                tab.nfiles = usize::try_from(word(1)?.min(MAX_FUNCS)).unwrap_or(0);
                tab.funcnametab = slice_from(word(2)?)?;
                tab.cutab = slice_from(word(3)?)?;
                tab.filetab = slice_from(word(4)?)?;
                tab.pctab = slice_from(word(5)?)?;
                tab.functab = slice_from(word(6)?)?;
                tab.func_base = tab.functab;
            }
            PclntabVersion::V118 | PclntabVersion::V120 => {
                tab.nfiles = usize::try_from(word(1)?.min(MAX_FUNCS)).unwrap_or(0);
                tab.header_text_start = word(2)?;
                if tab.header_text_start != 0 {
                    tab.text_start = tab.header_text_start;
                }
                tab.funcnametab = slice_from(word(3)?)?;
                tab.cutab = slice_from(word(4)?)?;
                tab.filetab = slice_from(word(5)?)?;
                tab.pctab = slice_from(word(6)?)?;
                tab.functab = slice_from(word(7)?)?;
                tab.func_base = tab.functab;
            }
        }
        // The function table must hold nfunc+1 entries.
        let need = tab
            .functab_entry_size()
            .checked_mul(nfunc.saturating_add(1))
            .ok_or_else(|| bad(8, "function table too large"))?;
        if tab.functab.len() < need {
            return Err(bad(8, "function table runs past the data"));
        }
        Ok(tab)
    }

    /// The format version.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) {
    /// println!("{:?}", tab.version());
    /// # }
    /// ```
    pub fn version(&self) -> PclntabVersion {
        self.version
    }

    /// Virtual address of the header.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) {
    /// println!("{:#x}", tab.address());
    /// # }
    /// ```
    pub fn address(&self) -> u64 {
        self.address
    }

    /// The pclntab bytes, from the header on.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) {
    /// let magic = &tab.data()[..4];
    /// # }
    /// ```
    pub fn data(&self) -> &'data [u8] {
        self.data
    }

    /// Instruction-size quantum (`minLC`).
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) {
    /// assert!(matches!(tab.quantum(), 1 | 2 | 4));
    /// # }
    /// ```
    pub fn quantum(&self) -> u8 {
        self.quantum
    }

    /// Pointer size and byte order of the table.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) {
    /// let ptr = tab.encoding().ptr_size;
    /// # }
    /// ```
    pub fn encoding(&self) -> Encoding {
        self.enc
    }

    /// Start of the text the entry offsets are relative to (Go 1.18+).
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) {
    /// println!("{:#x}", tab.text_start());
    /// # }
    /// ```
    pub fn text_start(&self) -> u64 {
        self.text_start
    }

    /// `pcHeader.textStart` as stored (zero from Go 1.26 on, and before 1.18).
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) {
    /// let stored = tab.header_text_start();
    /// # }
    /// ```
    pub fn header_text_start(&self) -> u64 {
        self.header_text_start
    }

    /// Sets the address of `go:func.*` (`moduledata.gofunc`), which funcdata offsets
    /// are relative to from Go 1.18 on.
    ///
    /// ```no_run
    /// # fn f(tab: &mut gobinary::Pclntab<'_>) {
    /// tab.set_gofunc(0x4a0000);
    /// # }
    /// ```
    pub fn set_gofunc(&mut self, gofunc: u64) {
        self.gofunc = Some(gofunc);
    }

    /// Sets the text start (`moduledata.text`) for tables whose header has none.
    ///
    /// ```no_run
    /// # fn f(tab: &mut gobinary::Pclntab<'_>) {
    /// tab.set_text_start(0x401000);
    /// # }
    /// ```
    pub fn set_text_start(&mut self, text: u64) {
        self.text_start = text;
    }

    /// The `go:func.*` base, when known.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) {
    /// let base = tab.gofunc();
    /// # }
    /// ```
    pub fn gofunc(&self) -> Option<u64> {
        self.gofunc
    }

    /// Number of functions.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) {
    /// println!("{} functions", tab.func_count());
    /// # }
    /// ```
    pub fn func_count(&self) -> usize {
        self.nfunc
    }

    /// Number of entries in the file table.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) {
    /// println!("{} files", tab.file_count());
    /// # }
    /// ```
    pub fn file_count(&self) -> usize {
        self.nfiles
    }

    fn bad(&self, off: usize, reason: &str) -> Error {
        Error::malformed(
            "pclntab",
            Location::TableOffset("pclntab", off as u64),
            reason,
        )
    }

    fn functab_entry_size(&self) -> usize {
        match self.version {
            PclntabVersion::V12 | PclntabVersion::V116 => 2 * usize::from(self.enc.ptr_size),
            _ => 8,
        }
    }

    /// Entry PC of function `i` (i == nfunc gives the end of the last function).
    fn entry_pc(&self, i: usize) -> Result<u64> {
        let off = i
            .checked_mul(self.functab_entry_size())
            .ok_or_else(|| self.bad(0, "function index overflows"))?;
        match self.version {
            PclntabVersion::V12 | PclntabVersion::V116 => self.enc.read_ptr(self.functab, off),
            _ => self
                .enc
                .read_u32(self.functab, off)
                .map(|e| self.text_start.wrapping_add(u64::from(e))),
        }
        .ok_or_else(|| self.bad(off, "function table entry out of range"))
    }

    /// Offset (within `func_base`) of function `i`'s `_func`.
    fn func_offset(&self, i: usize) -> Result<usize> {
        let size = self.functab_entry_size();
        let off = i
            .checked_mul(size)
            .and_then(|o| o.checked_add(size / 2))
            .ok_or_else(|| self.bad(0, "function index overflows"))?;
        let v = match self.version {
            PclntabVersion::V12 | PclntabVersion::V116 => self.enc.read_ptr(self.functab, off),
            _ => self.enc.read_u32(self.functab, off).map(u64::from),
        }
        .ok_or_else(|| self.bad(off, "function table entry out of range"))?;
        usize::try_from(v).map_err(|_| self.bad(off, "function offset too large"))
    }

    /// Reads function `index` of the table.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) -> gobinary::Result<()> {
    /// let first = tab.func(0)?;
    /// # Ok(()) }
    /// ```
    pub fn func(&self, index: usize) -> Result<Func<'data>> {
        if index >= self.nfunc {
            return Err(self.bad(0, "function index out of range"));
        }
        let entry = self.entry_pc(index)?;
        let end = self.entry_pc(index.saturating_add(1))?;
        let foff = self.func_offset(index)?;
        let f = self
            .func_base
            .get(foff..)
            .ok_or_else(|| self.bad(foff, "_func out of range"))?;
        // Position of the _func within the whole table, for error messages and users.
        let struct_offset = (self.data.len() - self.func_base.len()).saturating_add(foff);
        let e = self.enc;
        let r32 = |o: usize| {
            e.read_u32(f, o)
                .ok_or_else(|| self.bad(struct_offset.saturating_add(o), "short _func"))
        };
        let r8 = |o: usize| {
            f.get(o)
                .copied()
                .ok_or_else(|| self.bad(struct_offset.saturating_add(o), "short _func"))
        };
        // Offset of the field after `entry` (entryOff u32 or entry uintptr).
        let b = match self.version {
            PclntabVersion::V12 | PclntabVersion::V116 => usize::from(e.ptr_size),
            _ => 4,
        };
        let name_off = r32(b)?;
        let args = r32(b + 4)? as i32;
        let deferreturn = r32(b + 8)?;
        let pcsp = r32(b + 12)?;
        let pcfile = r32(b + 16)?;
        let pcln = r32(b + 20)?;
        let npcdata = r32(b + 24)?;
        let (cu_offset, start_line, tail) = match self.version {
            PclntabVersion::V12 => (0, None, b + 28),
            PclntabVersion::V116 | PclntabVersion::V118 => (r32(b + 28)?, None, b + 32),
            PclntabVersion::V120 => (r32(b + 28)?, Some(r32(b + 32)? as i32), b + 36),
        };
        let func_id = r8(tail)?;
        let flags = match self.version {
            PclntabVersion::V12 => FuncFlags(0),
            _ => FuncFlags(r8(tail + 1)?),
        };
        let nfuncdata = r8(tail + 3)?;
        let name = self.name_at(name_off)?;
        Ok(Func {
            index,
            entry,
            end,
            name,
            args,
            deferreturn,
            pcsp,
            pcfile,
            pcln,
            npcdata,
            nfuncdata,
            cu_offset,
            start_line,
            func_id,
            flags,
            struct_offset,
        })
    }

    /// Size of the fixed part of `_func`.
    fn func_fixed_size(&self) -> usize {
        let p = usize::from(self.enc.ptr_size);
        match self.version {
            PclntabVersion::V12 => p + 32,
            PclntabVersion::V116 => p + 36,
            PclntabVersion::V118 => 40,
            PclntabVersion::V120 => 44,
        }
    }

    /// A NUL-terminated name from the function-name table.
    fn name_at(&self, off: u32) -> Result<&'data str> {
        let o = off as usize;
        let rest = self
            .funcnametab
            .get(o..)
            .ok_or_else(|| self.bad(o, "name offset out of range"))?;
        let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(rest.get(..len).unwrap_or(&[]))
            .map_err(|_| self.bad(o, "function name is not UTF-8"))
    }

    /// Iterates over all functions in table order; stops after the first error.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) -> gobinary::Result<()> {
    /// let names: Vec<_> = tab.funcs().map(|f| f.map(|f| f.name)).collect::<Result<_, _>>()?;
    /// # Ok(()) }
    /// ```
    pub fn funcs(&self) -> impl Iterator<Item = Result<Func<'data>>> + '_ {
        let mut failed = false;
        (0..self.nfunc).map_while(move |i| {
            if failed {
                return None;
            }
            let r = self.func(i);
            failed = r.is_err();
            Some(r)
        })
    }

    /// The function containing `pc`, if any.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) -> gobinary::Result<()> {
    /// let name = tab.func_for_pc(0x401234)?.map(|f| f.name);
    /// # Ok(()) }
    /// ```
    pub fn func_for_pc(&self, pc: u64) -> Result<Option<Func<'data>>> {
        if self.nfunc == 0 {
            return Ok(None);
        }
        if pc < self.entry_pc(0)? || pc >= self.entry_pc(self.nfunc)? {
            return Ok(None);
        }
        // Largest i with entry(i) <= pc.
        let (mut lo, mut hi) = (0usize, self.nfunc);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.entry_pc(mid)? <= pc {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.func(lo).map(Some)
    }

    /// Evaluates the pc-value table at `table_off` of `func` at `pc`
    /// (`None` when the table has no entry covering `pc`, or offset 0 = no table).
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>, func: &gobinary::Func<'_>) -> gobinary::Result<()> {
    /// let line = tab.pc_value(func.pcln, func.entry, func.entry)?;
    /// # Ok(()) }
    /// ```
    pub fn pc_value(&self, table_off: u32, entry: u64, pc: u64) -> Result<Option<i32>> {
        if table_off == 0 {
            return Ok(None);
        }
        let o = table_off as usize;
        let mut p = self
            .pctab
            .get(o..)
            .ok_or_else(|| self.bad(o, "pc-value table offset out of range"))?;
        let mut val: i32 = -1;
        let mut cur = entry;
        let mut first = true;
        // Each step consumes at least two bytes; bound the loop by the data length.
        for _ in 0..=p.len() / 2 {
            let (uvdelta, n) = uvarint(p).ok_or_else(|| self.bad(o, "bad pc-value varint"))?;
            if uvdelta == 0 && !first {
                return Ok(None);
            }
            first = false;
            p = p.get(n..).unwrap_or(&[]);
            let uvdelta = uvdelta as u32;
            let delta = (-((uvdelta & 1) as i32)) ^ ((uvdelta >> 1) as i32);
            val = val.wrapping_add(delta);
            let (pcdelta, n) = uvarint(p).ok_or_else(|| self.bad(o, "bad pc-value varint"))?;
            p = p.get(n..).unwrap_or(&[]);
            cur = cur.wrapping_add(pcdelta.wrapping_mul(u64::from(self.quantum)));
            if pc < cur {
                return Ok(Some(val));
            }
        }
        Err(self.bad(o, "pc-value table does not terminate"))
    }

    /// The whole pc-value table at `table_off` of a function starting at `entry`:
    /// `(start, end, value)` for each PC range, in order (empty for offset 0).
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>, func: &gobinary::Func<'_>) -> gobinary::Result<()> {
    /// for (start, end, line) in tab.pc_values(func.pcln, func.entry)? {
    ///     println!("{start:#x}-{end:#x}: line {line}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pc_values(&self, table_off: u32, entry: u64) -> Result<Vec<(u64, u64, i32)>> {
        let mut out = Vec::new();
        if table_off == 0 {
            return Ok(out);
        }
        let o = table_off as usize;
        let mut p = self
            .pctab
            .get(o..)
            .ok_or_else(|| self.bad(o, "pc-value table offset out of range"))?;
        let mut val: i32 = -1;
        let mut cur = entry;
        let mut first = true;
        for _ in 0..=p.len() / 2 {
            let (uvdelta, n) = uvarint(p).ok_or_else(|| self.bad(o, "bad pc-value varint"))?;
            if uvdelta == 0 && !first {
                return Ok(out);
            }
            first = false;
            p = p.get(n..).unwrap_or(&[]);
            let uvdelta = uvdelta as u32;
            let delta = (-((uvdelta & 1) as i32)) ^ ((uvdelta >> 1) as i32);
            val = val.wrapping_add(delta);
            let (pcdelta, n) = uvarint(p).ok_or_else(|| self.bad(o, "bad pc-value varint"))?;
            p = p.get(n..).unwrap_or(&[]);
            let next = cur.wrapping_add(pcdelta.wrapping_mul(u64::from(self.quantum)));
            out.push((cur, next, val));
            cur = next;
        }
        Err(self.bad(o, "pc-value table does not terminate"))
    }

    /// The offset of pcdata table `table` of `func` (`None` if it has none).
    fn pcdata_table(&self, func: &Func<'_>, table: u32) -> Result<Option<u32>> {
        if table >= func.npcdata {
            return Ok(None);
        }
        let off = func
            .struct_offset
            .saturating_add(self.func_fixed_size())
            .saturating_add((table as usize).saturating_mul(4));
        let t = self
            .enc
            .read_u32(self.data, off)
            .ok_or_else(|| self.bad(off, "pcdata offset out of range"))?;
        Ok(Some(t).filter(|&t| t != 0))
    }

    /// The whole pcdata table `table` (see [`pcdata`]) of `func` as
    /// `(start, end, value)` PC ranges (empty if the function has no such table).
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>, func: &gobinary::Func<'_>) -> gobinary::Result<()> {
    /// let ranges = tab.pcdata_ranges(func, gobinary::pcdata::INL_TREE_INDEX)?;
    /// # Ok(()) }
    /// ```
    pub fn pcdata_ranges(&self, func: &Func<'_>, table: u32) -> Result<Vec<(u64, u64, i32)>> {
        match self.pcdata_table(func, table)? {
            Some(t) => self.pc_values(t, func.entry),
            None => Ok(Vec::new()),
        }
    }

    /// The functions inlined into `func`: the entries of its inline tree, up to the
    /// largest index its inline-tree-index pcdata table uses (the tree's length is
    /// stored nowhere; this is how `govulncheck` counts it too). Empty when
    /// nothing was inlined.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>, func: &gobinary::Func<'_>) -> gobinary::Result<()> {
    /// for call in tab.inlined_calls(func)? {
    ///     println!("{} inlined into {} (parent {:?})", call.name, func.name, call.parent);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn inlined_calls(&self, func: &Func<'_>) -> Result<Vec<InlinedFunc<'data>>> {
        if self.funcdata_raw(func, funcdata::INL_TREE)?.is_none() {
            return Ok(Vec::new());
        }
        let Some(tree) = self.funcdata_address(func, funcdata::INL_TREE)? else {
            return Ok(Vec::new());
        };
        let Some(table) = self.pcdata_table(func, pcdata::INL_TREE_INDEX)? else {
            return Ok(Vec::new());
        };
        let values = self.pc_values(table, func.entry)?;
        let max = values.iter().map(|v| v.2).max().unwrap_or(-1);
        if max < 0 {
            return Ok(Vec::new());
        }
        // Each entry is at least one instruction's worth of code.
        let span = func.end.saturating_sub(func.entry).max(1);
        if max as u64 > span.min(MAX_FUNCS) {
            return Err(self.bad(func.struct_offset, "implausible inline tree index"));
        }
        let mut out = Vec::with_capacity(max as usize + 1);
        for i in 0..=max as u64 {
            let call = self.inlined_call(tree, i)?;
            let parent_pc = func.entry.wrapping_add(call.parent_pc as i64 as u64);
            let parent = if call.parent_pc >= 0 {
                self.pc_value(table, func.entry, parent_pc)?
                    .filter(|&p| p >= 0)
                    .map(|p| p as usize)
            } else {
                None
            };
            out.push(InlinedFunc {
                index: i as usize,
                name: self.name_at(call.name_off)?,
                func_id: call.func_id,
                start_line: call.start_line,
                parent_pc,
                parent,
            });
        }
        Ok(out)
    }

    /// The SP delta (frame size so far) of `func` at `pc`, from the pcsp table.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>, func: &gobinary::Func<'_>) -> gobinary::Result<()> {
    /// let frame = tab.sp_delta(func, func.entry)?;
    /// assert_eq!(frame, Some(0));
    /// # Ok(()) }
    /// ```
    pub fn sp_delta(&self, func: &Func<'_>, pc: u64) -> Result<Option<i32>> {
        self.pc_value(func.pcsp, func.entry, pc)
    }

    /// The file name for file number `fileno` of `func` (from the pcfile table).
    fn file_name(&self, func: &Func<'_>, fileno: i32) -> Result<Option<String>> {
        let Ok(fileno) = u32::try_from(fileno) else {
            return Ok(None);
        };
        let off = match self.version {
            PclntabVersion::V12 => {
                if fileno == 0 || fileno as usize >= self.nfiles {
                    return Ok(None);
                }
                self.enc
                    .read_u32(self.filetab, (fileno as usize).saturating_mul(4))
                    .ok_or_else(|| self.bad(0, "file table entry out of range"))?
            }
            _ => {
                let idx = (func.cu_offset as usize).saturating_add(fileno as usize);
                let off = self
                    .enc
                    .read_u32(self.cutab, idx.saturating_mul(4))
                    .ok_or_else(|| self.bad(0, "CU table entry out of range"))?;
                if off == u32::MAX {
                    return Ok(None);
                }
                off
            }
        };
        let tab = match self.version {
            PclntabVersion::V12 => self.data,
            _ => self.filetab,
        };
        let rest = tab
            .get(off as usize..)
            .ok_or_else(|| self.bad(off as usize, "file name offset out of range"))?;
        let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Ok(Some(
            String::from_utf8_lossy(rest.get(..len).unwrap_or(&[])).into_owned(),
        ))
    }

    /// File and line of `pc` within `func`.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>, func: &gobinary::Func<'_>) -> gobinary::Result<()> {
    /// if let Some(pos) = tab.func_file_line(func, func.entry)? { println!("{pos}"); }
    /// # Ok(()) }
    /// ```
    pub fn func_file_line(&self, func: &Func<'_>, pc: u64) -> Result<Option<FileLine>> {
        let Some(fileno) = self.pc_value(func.pcfile, func.entry, pc)? else {
            return Ok(None);
        };
        let Some(line) = self.pc_value(func.pcln, func.entry, pc)? else {
            return Ok(None);
        };
        Ok(self
            .file_name(func, fileno)?
            .map(|file| FileLine { file, line }))
    }

    /// File and line of `pc` (of the physical function; see [`Pclntab::frames`] for
    /// inlined calls — the innermost frame's position is the same).
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) -> gobinary::Result<()> {
    /// let pos = tab.file_line(0x401234)?;
    /// # Ok(()) }
    /// ```
    pub fn file_line(&self, pc: u64) -> Result<Option<FileLine>> {
        match self.func_for_pc(pc)? {
            Some(f) => self.func_file_line(&f, pc),
            None => Ok(None),
        }
    }

    /// The value of pcdata table `table` (see [`pcdata`]) of `func` at `pc`.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>, func: &gobinary::Func<'_>) -> gobinary::Result<()> {
    /// let stack_map = tab.pcdata_value(func, gobinary::pcdata::STACK_MAP_INDEX, func.entry)?;
    /// # Ok(()) }
    /// ```
    pub fn pcdata_value(&self, func: &Func<'_>, table: u32, pc: u64) -> Result<Option<i32>> {
        if table >= func.npcdata {
            return Ok(None);
        }
        let off = func
            .struct_offset
            .saturating_add(self.func_fixed_size())
            .saturating_add((table as usize).saturating_mul(4));
        let t = self
            .enc
            .read_u32(self.data, off)
            .ok_or_else(|| self.bad(off, "pcdata offset out of range"))?;
        self.pc_value(t, func.entry, pc)
    }

    /// The raw funcdata slot `index` (see [`funcdata`]) of `func`: from Go 1.18 an
    /// offset from `go:func.*` (`None` for the "no data" marker), before that an
    /// absolute address (`None` for nil).
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>, func: &gobinary::Func<'_>) -> gobinary::Result<()> {
    /// let raw = tab.funcdata_raw(func, gobinary::funcdata::LOCALS_POINTER_MAPS)?;
    /// # Ok(()) }
    /// ```
    pub fn funcdata_raw(&self, func: &Func<'_>, index: u8) -> Result<Option<u64>> {
        if index >= func.nfuncdata {
            return Ok(None);
        }
        let mut off = func
            .struct_offset
            .saturating_add(self.func_fixed_size())
            .saturating_add((func.npcdata as usize).saturating_mul(4));
        match self.version {
            PclntabVersion::V118 | PclntabVersion::V120 => {
                off = off.saturating_add(usize::from(index).saturating_mul(4));
                let v = self
                    .enc
                    .read_u32(self.data, off)
                    .ok_or_else(|| self.bad(off, "funcdata out of range"))?;
                Ok((v != u32::MAX).then_some(u64::from(v)))
            }
            _ => {
                let p = usize::from(self.enc.ptr_size);
                // funcdata is pointer-aligned after the pcdata offsets.
                let rel = off.saturating_sub(func.struct_offset);
                off = func
                    .struct_offset
                    .saturating_add(rel.div_ceil(p).saturating_mul(p));
                off = off.saturating_add(usize::from(index).saturating_mul(p));
                let v = self
                    .enc
                    .read_ptr(self.data, off)
                    .ok_or_else(|| self.bad(off, "funcdata out of range"))?;
                Ok((v != 0).then_some(v))
            }
        }
    }

    /// The address of funcdata `index` of `func` (needs [`Pclntab::gofunc`] from Go 1.18).
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>, func: &gobinary::Func<'_>) -> gobinary::Result<()> {
    /// let inl = tab.funcdata_address(func, gobinary::funcdata::INL_TREE)?;
    /// # Ok(()) }
    /// ```
    pub fn funcdata_address(&self, func: &Func<'_>, index: u8) -> Result<Option<u64>> {
        let Some(raw) = self.funcdata_raw(func, index)? else {
            return Ok(None);
        };
        match self.version {
            PclntabVersion::V118 | PclntabVersion::V120 => match self.gofunc {
                Some(base) => Ok(Some(base.wrapping_add(raw))),
                None => Err(Error::NotFound {
                    structure: "go:func.* base (moduledata.gofunc)",
                    go_version: None,
                }),
            },
            _ => Ok(Some(raw)),
        }
    }

    /// The logical frames at `pc`, innermost first: calls inlined at `pc` followed
    /// by the physical function. Empty if no function contains `pc`. For a return
    /// address, pass `pc - 1` as `runtime.CallersFrames` does.
    ///
    /// ```no_run
    /// # fn f(tab: &gobinary::Pclntab<'_>) -> gobinary::Result<()> {
    /// let names: Vec<String> = tab.frames(0x401234)?.into_iter().map(|f| f.function).collect();
    /// # Ok(()) }
    /// ```
    pub fn frames(&self, pc: u64) -> Result<Vec<Frame>> {
        let Some(func) = self.func_for_pc(pc)? else {
            return Ok(Vec::new());
        };
        let inl = match self.funcdata_raw(&func, funcdata::INL_TREE)? {
            Some(_) => self.funcdata_address(&func, funcdata::INL_TREE)?,
            None => None,
        };
        let mut out = Vec::new();
        let mut pc = pc;
        for _ in 0..MAX_INLINE_DEPTH {
            let pos = self.func_file_line(&func, pc)?;
            let (file, line) = pos.map(|p| (p.file, p.line)).unwrap_or_default();
            let index = match inl {
                Some(_) => self.pcdata_value(&func, pcdata::INL_TREE_INDEX, pc)?,
                None => None,
            };
            let (Some(tree), Some(ix)) = (inl, index.filter(|&i| i >= 0)) else {
                out.push(Frame {
                    function: func.name.to_string(),
                    file,
                    line,
                    start_line: func.start_line,
                    func_id: func.func_id,
                    inlined: false,
                    entry: func.entry,
                });
                return Ok(out);
            };
            let call = self.inlined_call(tree, ix as u64)?;
            out.push(Frame {
                function: self.name_at(call.name_off)?.to_string(),
                file,
                line,
                start_line: call.start_line,
                func_id: call.func_id,
                inlined: true,
                entry: func.entry,
            });
            pc = func.entry.wrapping_add(call.parent_pc as i64 as u64);
        }
        Err(self.bad(func.struct_offset, "inline tree too deep or cyclic"))
    }

    fn inlined_call(&self, tree: u64, index: u64) -> Result<InlinedCall> {
        let size: u64 = if self.version >= PclntabVersion::V120 {
            16
        } else {
            20
        };
        let addr = index
            .checked_mul(size)
            .and_then(|o| o.checked_add(tree))
            .ok_or_else(|| self.bad(0, "inline tree index overflows"))?;
        let b = read_sections(&self.sections, addr, size)?;
        let e = self.enc;
        let bad = || Error::malformed("inline tree", Location::Address(addr), "short entry");
        let r32 = |o: usize| e.read_u32(b, o).ok_or_else(bad);
        if self.version >= PclntabVersion::V120 {
            Ok(InlinedCall {
                func_id: *b.first().ok_or_else(bad)?,
                name_off: r32(4)?,
                parent_pc: r32(8)? as i32,
                start_line: Some(r32(12)? as i32),
            })
        } else {
            // parent int16, funcID uint8, _ byte, file int32, line int32, func_ int32, parentPc int32
            Ok(InlinedCall {
                func_id: *b.get(2).ok_or_else(bad)?,
                name_off: r32(12)?,
                parent_pc: r32(16)? as i32,
                start_line: None,
            })
        }
    }
}

/// One entry of a function's inline tree: a call that the compiler inlined.
///
/// ```no_run
/// # fn f(tab: &gobinary::Pclntab<'_>, func: &gobinary::Func<'_>) -> gobinary::Result<()> {
/// let names: Vec<&str> = tab.inlined_calls(func)?.iter().map(|c| c.name).collect();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinedFunc<'data> {
    /// Index in the inline tree.
    pub index: usize,
    /// The inlined function's name.
    pub name: &'data str,
    /// Its `abi.FuncID`.
    pub func_id: u8,
    /// Line of its `func` keyword (Go 1.20+).
    pub start_line: Option<i32>,
    /// A PC in the physical function whose position is the call site.
    pub parent_pc: u64,
    /// The inline-tree index of the inlined function making the call (`None`: the
    /// physical function itself).
    pub parent: Option<usize>,
}

struct InlinedCall {
    func_id: u8,
    name_off: u32,
    parent_pc: i32,
    start_line: Option<i32>,
}

impl<'data> crate::GoBinary<'data> {
    /// Finds the pclntab: the `.gopclntab`/`__gopclntab` section, else the
    /// `runtime.pclntab` symbol, else a scan of read-only data for a valid header.
    /// Returns its address and the bytes from it to the end of its section.
    pub(crate) fn find_pclntab(&self) -> Result<(u64, &'data [u8])> {
        for name in [".gopclntab", "__gopclntab"] {
            if let Some(s) = self.section(name) {
                if Pclntab::check_header(s.data).is_some() {
                    return Ok((s.address, s.data));
                }
            }
        }
        if let Some(sym) = self.symbol("runtime.pclntab") {
            if let Ok(d) = self.read_from(sym.address) {
                if Pclntab::check_header(d).is_some() {
                    return Ok((sym.address, d));
                }
            }
        }
        let magics: [u32; 4] = [0xfffffff1, 0xfffffff0, 0xfffffffa, 0xfffffffb];
        for s in self.sections() {
            if matches!(s.kind, crate::SectionKind::Text | crate::SectionKind::Bss) {
                continue;
            }
            for m in magics {
                let pat = match self.endian() {
                    Endian::Little => m.to_le_bytes(),
                    Endian::Big => m.to_be_bytes(),
                };
                let mut from = 0usize;
                while let Some(i) = crate::bytes::find(s.data, &pat, from) {
                    from = i.saturating_add(1);
                    let d = s.data.get(i..).unwrap_or(&[]);
                    if d.get(7) != Some(&self.ptr_size()) || Pclntab::check_header(d).is_none() {
                        continue;
                    }
                    let addr = s.address.saturating_add(i as u64);
                    let text = self.text_section().map(|t| t.address).unwrap_or(0);
                    if let Ok(tab) = Pclntab::parse(d, addr, Vec::new(), text) {
                        // A real table has functions whose first one parses.
                        if tab.func_count() > 0 && tab.func(0).is_ok() {
                            return Ok((addr, d));
                        }
                    }
                }
            }
        }
        Err(self.not_found("pclntab"))
    }

    /// Finds and parses the pclntab, and fills in what the table itself lacks from
    /// moduledata when it can be found: the text start (Go 1.26+ stores none in the
    /// header; the `.text` section start is the fallback) and the `go:func.*` base
    /// needed for funcdata and inline trees.
    ///
    /// ```no_run
    /// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
    /// let tab = bin.pclntab()?;
    /// let main = tab.funcs().filter_map(Result::ok).find(|f| f.name == "main.main");
    /// # Ok(()) }
    /// ```
    pub fn pclntab(&self) -> Result<Pclntab<'data>> {
        let version = self.build_info().ok().map(|b| b.go_version);
        let with_version = |e: Error| e.with_go_version(version.as_deref());
        let (addr, data) = self.find_pclntab().map_err(with_version)?;
        let text = self.text_section().map(|t| t.address).unwrap_or(0);
        let mut tab =
            Pclntab::parse(data, addr, self.sections().to_vec(), text).map_err(with_version)?;
        if tab.version() >= PclntabVersion::V118 {
            if let Ok(md) = self.moduledata() {
                if tab.header_text_start() == 0 && md.text() != 0 {
                    tab.set_text_start(md.text());
                }
                tab.set_gofunc(md.gofunc());
            } else if let Some(sym) = self
                .symbol("go:func.*")
                .or_else(|| self.symbol("go.func.*"))
            {
                tab.set_gofunc(sym.address);
            }
        }
        Ok(tab)
    }
}
