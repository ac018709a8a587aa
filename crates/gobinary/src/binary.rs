//! Opening an executable: object format, target, sections, symbols, build IDs.

use crate::bytes::{find, Encoding, Endian};
use crate::{quote, Error, Location, Result};
use object::{Object, ObjectSection, ObjectSymbol};

/// The object file format of a binary.
///
/// ```
/// assert_eq!(gobinary::Format::Elf.to_string(), "ELF");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// ELF (Linux, BSDs, …).
    Elf,
    /// PE/COFF (Windows).
    Pe,
    /// Mach-O (macOS, iOS); also each member of a universal ("fat") file.
    MachO,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Elf => "ELF",
            Format::Pe => "PE",
            Format::MachO => "Mach-O",
        })
    }
}

/// A processor architecture, named as `GOARCH` names it.
///
/// ```
/// assert_eq!(gobinary::Arch::I386.goarch(), "386");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Arch {
    /// x86-64.
    Amd64,
    /// AArch64.
    Arm64,
    /// 32-bit x86.
    I386,
    /// 32-bit ARM.
    Arm,
    /// Big-endian 64-bit PowerPC.
    Ppc64,
    /// Little-endian 64-bit PowerPC.
    Ppc64le,
    /// IBM Z.
    S390x,
    /// 64-bit RISC-V.
    Riscv64,
    /// Big-endian 32-bit MIPS.
    Mips,
    /// Little-endian 32-bit MIPS.
    Mipsle,
    /// Big-endian 64-bit MIPS.
    Mips64,
    /// Little-endian 64-bit MIPS.
    Mips64le,
    /// 64-bit LoongArch.
    Loong64,
    /// WebAssembly.
    Wasm,
    /// Anything else.
    Unknown,
}

impl Arch {
    /// The `GOARCH` spelling.
    ///
    /// ```
    /// assert_eq!(gobinary::Arch::Amd64.goarch(), "amd64");
    /// ```
    pub fn goarch(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::I386 => "386",
            Arch::Arm => "arm",
            Arch::Ppc64 => "ppc64",
            Arch::Ppc64le => "ppc64le",
            Arch::S390x => "s390x",
            Arch::Riscv64 => "riscv64",
            Arch::Mips => "mips",
            Arch::Mipsle => "mipsle",
            Arch::Mips64 => "mips64",
            Arch::Mips64le => "mips64le",
            Arch::Loong64 => "loong64",
            Arch::Wasm => "wasm",
            Arch::Unknown => "unknown",
        }
    }

    /// The minimum instruction size (the pclntab's "quantum"): 1 on x86, 4 on RISC machines.
    ///
    /// ```
    /// assert_eq!(gobinary::Arch::Arm64.pc_quantum(), 4);
    /// ```
    pub fn pc_quantum(self) -> u8 {
        match self {
            Arch::Amd64 | Arch::I386 | Arch::Wasm | Arch::Unknown => 1,
            Arch::S390x | Arch::Riscv64 => 2,
            _ => 4,
        }
    }

    fn from_object(a: object::Architecture, little: bool) -> Arch {
        use object::Architecture as A;
        match (a, little) {
            (A::X86_64, _) => Arch::Amd64,
            (A::Aarch64, _) => Arch::Arm64,
            (A::I386, _) => Arch::I386,
            (A::Arm, _) => Arch::Arm,
            (A::PowerPc64, true) => Arch::Ppc64le,
            (A::PowerPc64, false) => Arch::Ppc64,
            (A::S390x, _) => Arch::S390x,
            (A::Riscv64, _) => Arch::Riscv64,
            (A::Mips, true) => Arch::Mipsle,
            (A::Mips, false) => Arch::Mips,
            (A::Mips64, true) => Arch::Mips64le,
            (A::Mips64, false) => Arch::Mips64,
            (A::LoongArch64, _) => Arch::Loong64,
            (A::Wasm32, _) => Arch::Wasm,
            _ => Arch::Unknown,
        }
    }
}

/// The operating system a binary was built for, named as `GOOS` names it.
///
/// This is what the object headers say; the build info's `GOOS` setting is
/// authoritative when present.
///
/// ```
/// assert_eq!(gobinary::Os::Darwin.goos(), "darwin");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Os {
    /// Linux (any ELF file without another OS marker).
    Linux,
    /// Android (ELF with the Android dynamic linker).
    Android,
    /// Windows (PE).
    Windows,
    /// macOS or iOS (Mach-O).
    Darwin,
    /// FreeBSD.
    FreeBsd,
    /// NetBSD.
    NetBsd,
    /// OpenBSD.
    OpenBsd,
    /// Anything else.
    Unknown,
}

impl Os {
    /// The `GOOS` spelling.
    ///
    /// ```
    /// assert_eq!(gobinary::Os::Windows.goos(), "windows");
    /// ```
    pub fn goos(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Android => "android",
            Os::Windows => "windows",
            Os::Darwin => "darwin",
            Os::FreeBsd => "freebsd",
            Os::NetBsd => "netbsd",
            Os::OpenBsd => "openbsd",
            Os::Unknown => "unknown",
        }
    }
}

/// What kind of bytes a section holds.
///
/// ```
/// assert_ne!(gobinary::SectionKind::Text, gobinary::SectionKind::Data);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SectionKind {
    /// Executable code.
    Text,
    /// Read-only data.
    ReadOnlyData,
    /// Writable, initialized data.
    Data,
    /// Writable data with no bytes in the file (zero-filled).
    Bss,
    /// Anything else that is loaded.
    Other,
}

/// One loaded section of a binary.
///
/// ```
/// # fn f(bin: &gobinary::GoBinary<'_>) {
/// for s in bin.sections() {
///     println!("{:<20} {:#x} {:#x} {:?}", s.name, s.address, s.size, s.kind);
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Section<'data> {
    /// Section name (`.text`, `__text`, …).
    pub name: &'data str,
    /// Virtual address where the section is loaded.
    pub address: u64,
    /// Size in memory.
    pub size: u64,
    /// Bytes present in the file (may be shorter than `size`, empty for bss).
    pub data: &'data [u8],
    /// File offset of `data`, when it has bytes in the file.
    pub file_offset: Option<u64>,
    /// What the section holds.
    pub kind: SectionKind,
}

impl Section<'_> {
    /// Whether `addr` falls within the section's memory range.
    ///
    /// ```
    /// let s = gobinary::Section { name: ".data", address: 0x1000, size: 0x10, data: &[], file_offset: None, kind: gobinary::SectionKind::Data };
    /// assert!(s.contains(0x100f) && !s.contains(0x1010));
    /// ```
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.address && addr - self.address < self.size
    }
}

/// A symbol from the binary's symbol table.
///
/// ```
/// # fn f(bin: &gobinary::GoBinary<'_>) {
/// if let Some(sym) = bin.symbol("runtime.firstmoduledata") {
///     println!("{:#x} {}", sym.address, sym.size);
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol {
    /// Address of the symbol.
    pub address: u64,
    /// Size in bytes (0 if unknown).
    pub size: u64,
}

/// An executable opened for reading: its format, target and loaded sections.
///
/// Borrows the bytes it was parsed from, so it works the same over a memory map
/// ([`crate::MappedFile`]) or any byte slice.
///
/// ```no_run
/// let bytes = std::fs::read("hello")?;
/// let bin = gobinary::GoBinary::parse(&bytes)?;
/// println!("{} {} {}", bin.format(), bin.os().goos(), bin.arch().goarch());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct GoBinary<'data> {
    data: &'data [u8],
    file: object::File<'data>,
    format: Format,
    arch: Arch,
    os: Os,
    enc: Encoding,
    sections: Vec<Section<'data>>,
    /// The first section whose file range goes past the end of the data (name or
    /// index, start and end offset): the file was cut short.
    cut: Option<(String, u64, u64)>,
    /// Where [`GoBinary::moduledata`] found it (address, layout, how): finding it
    /// parses the build info and looks a symbol up by name, and some callers ask
    /// once per stack frame. Nothing borrowed, so `GoBinary` stays covariant.
    pub(crate) moduledata:
        std::sync::OnceLock<(u64, &'static crate::layouts::Layout, crate::FoundBy)>,
}

const MAX_SECTIONS: usize = 4096;

impl<'data> GoBinary<'data> {
    /// Parses an ELF, PE or Mach-O executable. For a universal (fat) Mach-O file,
    /// the first member is used, as `go version` does; see [`GoBinary::parse_arch`].
    ///
    /// ```
    /// assert!(gobinary::GoBinary::parse(&[0u8; 64]).is_err());
    /// ```
    pub fn parse(data: &'data [u8]) -> Result<Self> {
        match fat_members(data)? {
            Some(members) => {
                let (_, member) = members
                    .into_iter()
                    .next()
                    .ok_or_else(|| format_err("universal file has no members"))?;
                Self::parse_single(member)
            }
            None => Self::parse_single(data),
        }
    }

    /// Parses the member for `arch` of a universal (fat) Mach-O file; for any other
    /// file, parses it and checks that it is for `arch`.
    ///
    /// ```
    /// assert!(gobinary::GoBinary::parse_arch(&[0u8; 64], gobinary::Arch::Arm64).is_err());
    /// ```
    pub fn parse_arch(data: &'data [u8], arch: Arch) -> Result<Self> {
        let bin = match fat_members(data)? {
            Some(members) => {
                let (_, member) = members
                    .into_iter()
                    .find(|(a, _)| *a == arch)
                    .ok_or_else(|| format_err("no member for this architecture"))?;
                Self::parse_single(member)?
            }
            None => Self::parse_single(data)?,
        };
        if bin.arch != arch {
            return Err(format_err(&format!(
                "binary is for {}, not {}",
                bin.arch.goarch(),
                arch.goarch()
            )));
        }
        Ok(bin)
    }

    /// The architectures of a universal (fat) Mach-O file's members, or an empty
    /// list for any other file.
    ///
    /// ```
    /// assert!(gobinary::GoBinary::fat_arches(b"\x7fELF").unwrap_or_default().is_empty());
    /// ```
    pub fn fat_arches(data: &'data [u8]) -> Result<Vec<Arch>> {
        Ok(fat_members(data)?
            .unwrap_or_default()
            .into_iter()
            .map(|(a, _)| a)
            .collect())
    }

    fn parse_single(data: &'data [u8]) -> Result<Self> {
        let file = object::File::parse(data).map_err(|e| format_err(&e.to_string()))?;
        let format = match file.format() {
            object::BinaryFormat::Elf => Format::Elf,
            object::BinaryFormat::Pe => Format::Pe,
            object::BinaryFormat::MachO => Format::MachO,
            other => return Err(format_err(&format!("unsupported format {other:?}"))),
        };
        let little = file.is_little_endian();
        let arch = Arch::from_object(file.architecture(), little);
        let enc = Encoding {
            endian: if little { Endian::Little } else { Endian::Big },
            ptr_size: if file.is_64() { 8 } else { 4 },
        };
        let mut sections = Vec::new();
        let mut cut = None;
        for s in file.sections().take(MAX_SECTIONS) {
            if let Some((off, size)) = s.file_range() {
                let end = off.saturating_add(size);
                if end > data.len() as u64 && cut.is_none() {
                    let name = match s.name() {
                        Ok(n) => n.to_string(),
                        Err(_) => format!("#{}", s.index().0),
                    };
                    cut = Some((name, off, end));
                }
            }
            let address = s.address();
            if address == 0 {
                continue; // not loaded (debug info, symbol tables)
            }
            let Ok(name) = s.name() else { continue };
            let kind = match s.kind() {
                object::SectionKind::Text => SectionKind::Text,
                object::SectionKind::ReadOnlyData
                | object::SectionKind::ReadOnlyString
                | object::SectionKind::ReadOnlyDataWithRel => SectionKind::ReadOnlyData,
                object::SectionKind::Data | object::SectionKind::Tls => SectionKind::Data,
                object::SectionKind::UninitializedData | object::SectionKind::UninitializedTls => {
                    SectionKind::Bss
                }
                _ => SectionKind::Other,
            };
            let (data, file_offset) = if kind == SectionKind::Bss {
                (&[][..], None)
            } else {
                match s.file_range() {
                    Some((off, _)) => (s.data().unwrap_or(&[]), Some(off)),
                    None => (&[][..], None),
                }
            };
            sections.push(Section {
                name,
                address,
                size: s.size(),
                data,
                file_offset,
                kind,
            });
        }
        let os = match format {
            Format::Pe => Os::Windows,
            Format::MachO => Os::Darwin,
            Format::Elf => elf_os(data, &sections),
        };
        Ok(GoBinary {
            data,
            file,
            format,
            arch,
            os,
            enc,
            sections,
            cut,
            moduledata: std::sync::OnceLock::new(),
        })
    }

    /// The error for a structure that was looked for and not found: "not found",
    /// or, when the file was cut short, which section the cut goes through.
    pub(crate) fn not_found(&self, structure: &'static str) -> Error {
        match &self.cut {
            Some((name, start, end)) => Error::malformed(
                structure,
                Location::Offset(self.data.len() as u64),
                format!(
                    "not found: the file is truncated, it ends there, inside section {name} \
                     (file offsets {start:#x}..{end:#x})"
                ),
            ),
            None => Error::not_found(structure),
        }
    }

    /// The bytes of the (member) file.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// let size = bin.data().len();
    /// # }
    /// ```
    pub fn data(&self) -> &'data [u8] {
        self.data
    }

    /// The object file format.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// if bin.format() == gobinary::Format::Pe { /* … */ }
    /// # }
    /// ```
    pub fn format(&self) -> Format {
        self.format
    }

    /// The processor architecture.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// println!("{}", bin.arch().goarch());
    /// # }
    /// ```
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The operating system, as far as the object headers tell.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// println!("{}", bin.os().goos());
    /// # }
    /// ```
    pub fn os(&self) -> Os {
        self.os
    }

    /// Byte order.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// let little = bin.endian() == gobinary::Endian::Little;
    /// # }
    /// ```
    pub fn endian(&self) -> Endian {
        self.enc.endian
    }

    /// Pointer size in bytes (4 or 8).
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// assert!(matches!(bin.ptr_size(), 4 | 8));
    /// # }
    /// ```
    pub fn ptr_size(&self) -> u8 {
        self.enc.ptr_size
    }

    /// Pointer size and byte order together.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// let enc = bin.encoding();
    /// # }
    /// ```
    pub fn encoding(&self) -> Encoding {
        self.enc
    }

    /// The loaded sections (those with a non-zero address).
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// let text = bin.sections().iter().filter(|s| s.kind == gobinary::SectionKind::Text).count();
    /// # }
    /// ```
    pub fn sections(&self) -> &[Section<'data>] {
        &self.sections
    }

    /// The first loaded section with this name.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// let pcln = bin.section(".gopclntab");
    /// # }
    /// ```
    pub fn section(&self, name: &str) -> Option<&Section<'data>> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The loaded section containing `addr`.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// let s = bin.section_at(0x401000);
    /// # }
    /// ```
    pub fn section_at(&self, addr: u64) -> Option<&Section<'data>> {
        self.sections.iter().find(|s| s.contains(addr))
    }

    /// The main text section (`.text`, `__text`).
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// let start = bin.text_section().map(|s| s.address);
    /// # }
    /// ```
    pub fn text_section(&self) -> Option<&Section<'data>> {
        self.section(".text")
            .or_else(|| self.section("__text"))
            .or_else(|| self.sections.iter().find(|s| s.kind == SectionKind::Text))
    }

    /// Reads `len` file-backed bytes at virtual address `addr`.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
    /// let header = bin.read_at(0x401000, 16)?;
    /// # Ok(()) }
    /// ```
    pub fn read_at(&self, addr: u64, len: u64) -> Result<&'data [u8]> {
        read_sections(&self.sections, addr, len)
    }

    /// All file-backed bytes from `addr` to the end of its section.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
    /// let rest = bin.read_from(0x401000)?;
    /// # Ok(()) }
    /// ```
    pub fn read_from(&self, addr: u64) -> Result<&'data [u8]> {
        let err = |reason: &str| Error::malformed("memory read", Location::Address(addr), reason);
        let s = self
            .section_at(addr)
            .ok_or_else(|| err("address is in no loaded section"))?;
        let start = usize::try_from(addr - s.address).map_err(|_| err("offset too large"))?;
        s.data
            .get(start..)
            .ok_or_else(|| err("address is not backed by file bytes"))
    }

    /// Reads a pointer-sized word at `addr`.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
    /// let word = bin.read_ptr(0x401000)?;
    /// # Ok(()) }
    /// ```
    pub fn read_ptr(&self, addr: u64) -> Result<u64> {
        let b = self.read_at(addr, u64::from(self.enc.ptr_size))?;
        self.enc
            .read_ptr(b, 0)
            .ok_or_else(|| Error::malformed("memory read", Location::Address(addr), "short read"))
    }

    /// Looks a symbol up by name in the symbol table (absent in stripped binaries).
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// let main = bin.symbol("main.main");
    /// # }
    /// ```
    pub fn symbol(&self, name: &str) -> Option<Symbol> {
        let sym = self.file.symbol_by_name(name).or_else(|| {
            // Mach-O prefixes C-level names with an underscore; Go symbols keep theirs.
            self.file.symbol_by_name(&format!("_{name}"))
        })?;
        Some(Symbol {
            address: sym.address(),
            size: sym.size(),
        })
    }

    /// Whether the binary has a symbol table.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// let stripped = !bin.has_symbols();
    /// # }
    /// ```
    pub fn has_symbols(&self) -> bool {
        self.file.symbols().next().is_some()
    }

    /// The Go build ID: the `.note.go.buildid` ELF note, else the
    /// `\xff Go build ID: "…"` string at the start of the text.
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// if let Some(id) = bin.go_build_id() {
    ///     println!("{id}");
    /// }
    /// # }
    /// ```
    pub fn go_build_id(&self) -> Option<String> {
        if let Some(s) = self.section(".note.go.buildid") {
            if let Some((name, ty, desc)) = self.first_note(s.data) {
                if name == b"Go\0\0" && ty == 4 {
                    return std::str::from_utf8(desc).ok().map(str::to_string);
                }
            }
        }
        const PREFIX: &[u8] = b"\xff Go build ID: \"";
        const WINDOW: usize = 32 * 1024;
        let mut candidates: Vec<&[u8]> = Vec::new();
        if let Some(t) = self.text_section() {
            candidates.push(t.data.get(..WINDOW.min(t.data.len())).unwrap_or(&[]));
        }
        candidates.push(self.data.get(..WINDOW.min(self.data.len())).unwrap_or(&[]));
        for hay in candidates {
            if let Some(start) = find(hay, PREFIX, 0) {
                let q = start.checked_add(PREFIX.len() - 1)?;
                let end = find(hay, b"\"\n \xff", q)?;
                let quoted = std::str::from_utf8(hay.get(q..end.checked_add(1)?)?).ok()?;
                return quote::go_unquote(quoted);
            }
        }
        None
    }

    /// The GNU build ID (`.note.gnu.build-id`) as lowercase hex, when present
    /// (Go's linker writes one only when asked to, or when linking externally).
    ///
    /// ```
    /// # fn f(bin: &gobinary::GoBinary<'_>) {
    /// let id = bin.gnu_build_id();
    /// # }
    /// ```
    pub fn gnu_build_id(&self) -> Option<String> {
        let s = self.section(".note.gnu.build-id")?;
        let (name, ty, desc) = self.first_note(s.data)?;
        if name != b"GNU\0" || ty != 3 {
            return None;
        }
        Some(desc.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Parses the first ELF note in `data`: (name incl. padding to namesz, type, desc).
    fn first_note(&self, data: &'data [u8]) -> Option<(&'data [u8], u32, &'data [u8])> {
        let namesz = usize::try_from(self.enc.read_u32(data, 0)?).ok()?;
        let descsz = usize::try_from(self.enc.read_u32(data, 4)?).ok()?;
        let ty = self.enc.read_u32(data, 8)?;
        let name = data.get(12..12usize.checked_add(namesz)?)?;
        let desc_off = 12usize.checked_add(namesz.checked_add(3)? & !3)?;
        let desc = data.get(desc_off..desc_off.checked_add(descsz)?)?;
        Some((name, ty, desc))
    }
}

fn format_err(reason: &str) -> Error {
    Error::Format {
        reason: reason.to_string(),
    }
}

type FatMembers<'data> = Vec<(Arch, &'data [u8])>;

fn fat_members(data: &[u8]) -> Result<Option<FatMembers<'_>>> {
    use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64};
    let kind = object::FileKind::parse(data).map_err(|e| format_err(&e.to_string()))?;
    let mut out = Vec::new();
    match kind {
        object::FileKind::MachOFat32 => {
            let fat = MachOFatFile32::parse(data).map_err(|e| format_err(&e.to_string()))?;
            for a in fat.arches().iter().take(64) {
                let d = a.data(data).map_err(|e| format_err(&e.to_string()))?;
                out.push((fat_arch(a.architecture(), d), d));
            }
        }
        object::FileKind::MachOFat64 => {
            let fat = MachOFatFile64::parse(data).map_err(|e| format_err(&e.to_string()))?;
            for a in fat.arches().iter().take(64) {
                let d = a.data(data).map_err(|e| format_err(&e.to_string()))?;
                out.push((fat_arch(a.architecture(), d), d));
            }
        }
        _ => return Ok(None),
    }
    Ok(Some(out))
}

fn fat_arch(a: object::Architecture, member: &[u8]) -> Arch {
    // Mach-O magic tells the byte order: 0xfeedface/0xfeedfacf read little-endian.
    let little = matches!(member.get(..4), Some([0xce | 0xcf, 0xfa, 0xed, 0xfe]));
    Arch::from_object(a, little)
}

fn elf_os(data: &[u8], sections: &[Section<'_>]) -> Os {
    match data.get(7) {
        Some(9) => return Os::FreeBsd,
        Some(2) => return Os::NetBsd,
        Some(12) => return Os::OpenBsd,
        _ => {}
    }
    let has = |n: &str| sections.iter().any(|s| s.name == n);
    if has(".note.netbsd.ident") {
        Os::NetBsd
    } else if has(".note.openbsd.ident") {
        Os::OpenBsd
    } else if sections
        .iter()
        .find(|s| s.name == ".interp")
        .is_some_and(|s| find(s.data, b"/system/bin/linker", 0).is_some())
    {
        Os::Android
    } else {
        Os::Linux
    }
}

/// Reads `len` file-backed bytes at `addr` from whichever section holds them.
pub(crate) fn read_sections<'data>(
    sections: &[Section<'data>],
    addr: u64,
    len: u64,
) -> Result<&'data [u8]> {
    let err = |reason: &str| Error::malformed("memory read", Location::Address(addr), reason);
    let s = sections
        .iter()
        .find(|s| s.contains(addr))
        .ok_or_else(|| err("address is in no loaded section"))?;
    let start = usize::try_from(addr - s.address).map_err(|_| err("offset too large"))?;
    let len = usize::try_from(len).map_err(|_| err("length too large"))?;
    let end = start
        .checked_add(len)
        .ok_or_else(|| err("length overflows"))?;
    s.data
        .get(start..end)
        .ok_or_else(|| err("range is not backed by file bytes"))
}
