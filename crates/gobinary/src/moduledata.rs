//! `runtime.moduledata`: where a module's text, data, bss, types and tables are.

use crate::binary::{GoBinary, SectionKind};
use crate::bytes::Encoding;
use crate::layouts::{layout_for, FieldKind, Layout, LAYOUTS};
use crate::pclntab::{Pclntab, PclntabVersion};
use crate::{Error, GoVersion, Location, Result};

/// A Go slice header as stored in the binary.
///
/// ```
/// let s = gobinary::GoSlice { ptr: 0x1000, len: 2, cap: 2 };
/// assert_eq!(s.len, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GoSlice {
    /// Address of element 0.
    pub ptr: u64,
    /// Length.
    pub len: u64,
    /// Capacity.
    pub cap: u64,
}

/// How the moduledata was found.
///
/// ```
/// assert_ne!(gobinary::FoundBy::Symbol, gobinary::FoundBy::Scan);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FoundBy {
    /// The `runtime.firstmoduledata` symbol.
    Symbol,
    /// The `.go.module` / `__go_module` section (Go 1.26+).
    Section,
    /// A scan of writable data for a pointer to the pclntab.
    Scan,
}

/// A word-level view of a module's `runtime.moduledata` as stored in the binary.
///
/// Fields are named as in `runtime/symtab.go`; which exist depends on the release
/// (for example `typelinks` is gone in 1.27, `epclntab` appears in 1.26).
///
/// ```no_run
/// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
/// let md = bin.moduledata()?;
/// println!("text {:#x}-{:#x}, layout for Go {}", md.text(), md.etext(), md.layout_releases());
/// if let Some(t) = md.slice("typelinks") { println!("{} typelinks", t.len); }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Moduledata<'data> {
    address: u64,
    raw: &'data [u8],
    enc: Encoding,
    layout: &'static Layout,
    offsets: Vec<(&'static str, FieldKind, u64)>,
    found_by: FoundBy,
}

impl<'data> Moduledata<'data> {
    /// Address of the structure.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) {
    /// println!("{:#x}", md.address());
    /// # }
    /// ```
    pub fn address(&self) -> u64 {
        self.address
    }

    /// Size of the structure in this layout.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) {
    /// println!("{} bytes", md.size());
    /// # }
    /// ```
    pub fn size(&self) -> u64 {
        self.raw.len() as u64
    }

    /// The releases whose layout was applied (`"1.23-1.25"`).
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) {
    /// println!("{}", md.layout_releases());
    /// # }
    /// ```
    pub fn layout_releases(&self) -> &'static str {
        self.layout.releases
    }

    /// How it was found.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) {
    /// println!("{:?}", md.found_by());
    /// # }
    /// ```
    pub fn found_by(&self) -> FoundBy {
        self.found_by
    }

    /// Byte offset of a field in this layout.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) {
    /// let off = md.field_offset("gofunc");
    /// # }
    /// ```
    pub fn field_offset(&self, name: &str) -> Option<u64> {
        self.offsets
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, _, o)| *o)
    }

    /// The field names of this layout, in order.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) {
    /// for name in md.field_names() { println!("{name}"); }
    /// # }
    /// ```
    pub fn field_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.offsets.iter().map(|(n, _, _)| *n)
    }

    fn at(&self, name: &str, kind: FieldKind) -> Option<usize> {
        self.offsets
            .iter()
            .find(|(n, k, _)| *n == name && *k == kind)
            .and_then(|(_, _, o)| usize::try_from(*o).ok())
    }

    /// A pointer or `uintptr` field (`text`, `etext`, `gcdata`, `types`, `gofunc`, …).
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) {
    /// let rodata = md.word("rodata");
    /// # }
    /// ```
    pub fn word(&self, name: &str) -> Option<u64> {
        self.enc.read_ptr(self.raw, self.at(name, FieldKind::Word)?)
    }

    /// A slice field (`ftab`, `typelinks`, `itablinks`, `textsectmap`, …).
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) {
    /// let ftab = md.slice("ftab");
    /// # }
    /// ```
    pub fn slice(&self, name: &str) -> Option<GoSlice> {
        let o = self.at(name, FieldKind::Slice)?;
        let p = usize::from(self.enc.ptr_size);
        Some(GoSlice {
            ptr: self.enc.read_ptr(self.raw, o)?,
            len: self.enc.read_ptr(self.raw, o.checked_add(p)?)?,
            cap: self.enc.read_ptr(self.raw, o.checked_add(2 * p)?)?,
        })
    }

    /// A string field (`pluginpath`, `modulename`) as (pointer, length).
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) {
    /// let name = md.string("modulename");
    /// # }
    /// ```
    pub fn string(&self, name: &str) -> Option<(u64, u64)> {
        let o = self.at(name, FieldKind::String)?;
        let p = usize::from(self.enc.ptr_size);
        Some((
            self.enc.read_ptr(self.raw, o)?,
            self.enc.read_ptr(self.raw, o.checked_add(p)?)?,
        ))
    }

    /// A one-byte field (`hasmain`, `bad`).
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) {
    /// let main = md.byte("hasmain") == Some(1);
    /// # }
    /// ```
    pub fn byte(&self, name: &str) -> Option<u8> {
        self.raw.get(self.at(name, FieldKind::Byte)?).copied()
    }

    fn w(&self, name: &str) -> u64 {
        self.word(name).unwrap_or(0)
    }

    /// Start of the module's text.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) { let t = md.text(); }
    /// ```
    pub fn text(&self) -> u64 {
        self.w("text")
    }
    /// End of the module's text.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) { let t = md.etext(); }
    /// ```
    pub fn etext(&self) -> u64 {
        self.w("etext")
    }
    /// The data section range `[data, edata)` (scanned by the GC via `gcdata`).
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) { let (a, b) = md.data_range(); }
    /// ```
    pub fn data_range(&self) -> (u64, u64) {
        (self.w("data"), self.w("edata"))
    }
    /// The bss range `[bss, ebss)` (scanned by the GC via `gcbss`).
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) { let (a, b) = md.bss_range(); }
    /// ```
    pub fn bss_range(&self) -> (u64, u64) {
        (self.w("bss"), self.w("ebss"))
    }
    /// The pointer-free data range `[noptrdata, enoptrdata)`.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) { let (a, b) = md.noptrdata_range(); }
    /// ```
    pub fn noptrdata_range(&self) -> (u64, u64) {
        (self.w("noptrdata"), self.w("enoptrdata"))
    }
    /// The pointer-free bss range `[noptrbss, enoptrbss)`.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) { let (a, b) = md.noptrbss_range(); }
    /// ```
    pub fn noptrbss_range(&self) -> (u64, u64) {
        (self.w("noptrbss"), self.w("enoptrbss"))
    }
    /// The type-descriptor range `[types, etypes)`; type offsets are relative to `types`.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) { let (a, b) = md.types_range(); }
    /// ```
    pub fn types_range(&self) -> (u64, u64) {
        (self.w("types"), self.w("etypes"))
    }
    /// `go:func.*`, the base of funcdata offsets.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) { let g = md.gofunc(); }
    /// ```
    pub fn gofunc(&self) -> u64 {
        self.w("gofunc")
    }
    /// `typelinks` (offsets of type descriptors from `types`); absent from Go 1.27.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) { let t = md.typelinks(); }
    /// ```
    pub fn typelinks(&self) -> Option<GoSlice> {
        self.slice("typelinks")
    }
    /// `itablinks` (pointers to itabs); absent from Go 1.27.
    ///
    /// ```no_run
    /// # fn f(md: &gobinary::Moduledata<'_>) { let t = md.itablinks(); }
    /// ```
    pub fn itablinks(&self) -> Option<GoSlice> {
        self.slice("itablinks")
    }
}

/// One bit per pointer-sized word of a data or bss range: set where the GC finds a
/// pointer (a root).
///
/// ```
/// let m = gobinary::PointerMask { start: 0x1000, ptr_size: 8, bits: vec![0b10] , nbits: 2 };
/// assert!(!m.is_pointer(0x1000) && m.is_pointer(0x1008) && !m.is_pointer(0x1010));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointerMask {
    /// Address of the first word.
    pub start: u64,
    /// Word size.
    pub ptr_size: u8,
    /// Bits, least significant first.
    pub bits: Vec<u8>,
    /// Number of valid bits.
    pub nbits: u64,
}

impl PointerMask {
    /// Whether the word at `addr` holds a pointer.
    ///
    /// ```
    /// let m = gobinary::PointerMask { start: 0, ptr_size: 4, bits: vec![1], nbits: 1 };
    /// assert!(m.is_pointer(0) && !m.is_pointer(4));
    /// ```
    pub fn is_pointer(&self, addr: u64) -> bool {
        let Some(off) = addr.checked_sub(self.start) else {
            return false;
        };
        let i = off / u64::from(self.ptr_size.max(1));
        i < self.nbits
            && usize::try_from(i / 8)
                .ok()
                .and_then(|b| self.bits.get(b))
                .is_some_and(|b| b & (1 << (i % 8)) != 0)
    }
}

/// Cap on GC-program output: 2^31 bits (16 GiB of 64-bit words).
const MAX_GCPROG_BITS: u64 = 1 << 31;

/// Runs a GC program (`runtime.runGCProg`), producing at most `max_bits` bits.
pub(crate) fn run_gc_prog(prog: &[u8], max_bits: u64) -> Option<(Vec<u8>, u64)> {
    let max_bits = max_bits.min(MAX_GCPROG_BITS);
    let mut out: Vec<u8> = Vec::new();
    let mut n_out: u64 = 0;
    let push = |out: &mut Vec<u8>, n_out: &mut u64, bit: bool| -> Option<()> {
        if *n_out >= max_bits {
            return None;
        }
        if *n_out % 8 == 0 {
            out.push(0);
        }
        if bit {
            *out.last_mut()? |= 1 << (*n_out % 8);
        }
        *n_out += 1;
        Some(())
    };
    let get = |out: &Vec<u8>, i: u64| -> bool {
        usize::try_from(i / 8)
            .ok()
            .and_then(|b| out.get(b))
            .is_some_and(|b| b & (1 << (i % 8)) != 0)
    };
    let mut p = 0usize;
    let varint = |p: &mut usize| -> Option<u64> {
        let (v, n) = crate::bytes::uvarint(prog.get(*p..)?)?;
        *p = p.checked_add(n)?;
        Some(v)
    };
    // Every instruction consumes at least one byte.
    for _ in 0..=prog.len() {
        let inst = *prog.get(p)?;
        p += 1;
        let mut n = u64::from(inst & 0x7f);
        if inst & 0x80 == 0 {
            if n == 0 {
                return Some((out, n_out));
            }
            for i in 0..n {
                let byte = *prog.get(p.checked_add(usize::try_from(i / 8).ok()?)?)?;
                push(&mut out, &mut n_out, byte & (1 << (i % 8)) != 0)?;
            }
            p = p.checked_add(usize::try_from(n.div_ceil(8)).ok()?)?;
            continue;
        }
        if n == 0 {
            n = varint(&mut p)?;
        }
        let c = varint(&mut p)?;
        if n == 0 || n > n_out {
            return None;
        }
        let total = n.checked_mul(c)?;
        if total > max_bits.saturating_sub(n_out) {
            return None;
        }
        let src = n_out - n;
        for k in 0..total {
            let bit = get(&out, src + (k % n));
            push(&mut out, &mut n_out, bit)?;
        }
    }
    None
}

impl<'data> GoBinary<'data> {
    /// Finds and reads the first module's `runtime.moduledata`: by the
    /// `runtime.firstmoduledata` symbol, else the `.go.module`/`__go_module` section
    /// (Go 1.26+), else by scanning writable data for a pointer to the pclntab. The
    /// layout comes from the build info's Go version, or (without one) from the
    /// first layout whose fields are consistent.
    ///
    /// ```no_run
    /// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
    /// let md = bin.moduledata()?;
    /// println!("{:?} at {:#x}", md.found_by(), md.address());
    /// # Ok(()) }
    /// ```
    pub fn moduledata(&self) -> Result<Moduledata<'data>> {
        if let Some(&(address, layout, found_by)) = self.moduledata.get() {
            let (offsets, size) = layout.offsets(self.ptr_size());
            return Ok(Moduledata {
                address,
                raw: self.read_at(address, size)?,
                enc: self.encoding(),
                layout,
                offsets,
                found_by,
            });
        }
        let version = self.build_info().ok().and_then(|b| b.version());
        let vstr = version.as_ref().map(|v| v.raw.clone());
        let md = self
            .moduledata_inner(version.as_ref())
            .map_err(|e| e.with_go_version(vstr.as_deref()))?;
        let _ = self.moduledata.set((md.address, md.layout, md.found_by));
        Ok(md)
    }

    fn moduledata_inner(&self, version: Option<&GoVersion>) -> Result<Moduledata<'data>> {
        let (pcaddr, pcdata) = self.find_pclntab()?;
        let (pcver, _) = Pclntab::check_header(pcdata)
            .ok_or_else(|| Error::malformed("pclntab", Location::Address(pcaddr), "bad header"))?;
        if pcver < PclntabVersion::V118 {
            return Err(Error::Unsupported {
                structure: "moduledata",
                go_version: None,
                reason: "no layout for releases before Go 1.18".into(),
            });
        }
        let layouts: Vec<&'static Layout> = match version {
            Some(v) if v.major == 1 => match layout_for(v.minor) {
                Some(l) => vec![l],
                None => {
                    return Err(Error::Unsupported {
                        structure: "moduledata",
                        go_version: None,
                        reason: "release too old".into(),
                    })
                }
            },
            _ => LAYOUTS.iter().collect(),
        };
        let p = u64::from(self.ptr_size());
        let funcname_off = self
            .encoding()
            .read_ptr(pcdata, 8 + 3 * usize::from(self.ptr_size()))
            .unwrap_or(0);
        let nfunc = self.encoding().read_ptr(pcdata, 8).unwrap_or(0);
        let try_at = |addr: u64, found_by: FoundBy| -> Option<Moduledata<'data>> {
            for &layout in &layouts {
                let (offsets, size) = layout.offsets(self.ptr_size());
                let raw = self.read_at(addr, size).ok()?;
                let md = Moduledata {
                    address: addr,
                    raw,
                    enc: self.encoding(),
                    layout,
                    offsets,
                    found_by,
                };
                if plausible(&md, pcaddr, funcname_off, nfunc) {
                    return Some(md);
                }
            }
            None
        };
        if let Some(sym) = self.symbol("runtime.firstmoduledata") {
            if let Some(md) = try_at(sym.address, FoundBy::Symbol) {
                return Ok(md);
            }
        }
        for name in [".go.module", "__go_module"] {
            if let Some(s) = self.section(name) {
                if let Some(md) = try_at(s.address, FoundBy::Section) {
                    return Ok(md);
                }
            }
        }
        for s in self.sections() {
            if s.kind != SectionKind::Data {
                continue;
            }
            let mut off = 0usize;
            let step = usize::from(self.ptr_size());
            while let Some(w) = self.encoding().read_ptr(s.data, off) {
                if w == pcaddr {
                    let addr = s.address.saturating_add(off as u64);
                    if let Some(md) = try_at(addr, FoundBy::Scan) {
                        return Ok(md);
                    }
                }
                off = off.saturating_add(step);
            }
        }
        let _ = p;
        Err(self.not_found("moduledata"))
    }

    /// The GC pointer mask of the data section (`moduledata.gcdata` is a GC program
    /// covering `[data, edata)`; this runs it).
    ///
    /// ```no_run
    /// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
    /// let md = bin.moduledata()?;
    /// let mask = bin.data_pointer_mask(&md)?;
    /// # Ok(()) }
    /// ```
    pub fn data_pointer_mask(&self, md: &Moduledata<'_>) -> Result<PointerMask> {
        let (start, end) = md.data_range();
        self.pointer_mask(md.word("gcdata").unwrap_or(0), start, end)
    }

    /// The GC pointer mask of the bss section (from `moduledata.gcbss`).
    ///
    /// ```no_run
    /// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
    /// let md = bin.moduledata()?;
    /// let mask = bin.bss_pointer_mask(&md)?;
    /// # Ok(()) }
    /// ```
    pub fn bss_pointer_mask(&self, md: &Moduledata<'_>) -> Result<PointerMask> {
        let (start, end) = md.bss_range();
        self.pointer_mask(md.word("gcbss").unwrap_or(0), start, end)
    }

    fn pointer_mask(&self, prog: u64, start: u64, end: u64) -> Result<PointerMask> {
        let words = end.saturating_sub(start) / u64::from(self.ptr_size());
        let prog_bytes = self.read_from(prog)?;
        let (bits, nbits) = run_gc_prog(prog_bytes, words).ok_or_else(|| {
            Error::malformed(
                "GC program",
                Location::Address(prog),
                "bad or overlong program",
            )
        })?;
        Ok(PointerMask {
            start,
            ptr_size: self.ptr_size(),
            bits,
            nbits,
        })
    }
}

fn plausible(md: &Moduledata<'_>, pcaddr: u64, funcname_off: u64, nfunc: u64) -> bool {
    let ordered = |a: &str, b: &str| match (md.word(a), md.word(b)) {
        (Some(x), Some(y)) => x <= y,
        _ => false,
    };
    md.word("pcHeader") == Some(pcaddr)
        && md.slice("funcnametab").map(|s| s.ptr) == Some(pcaddr.wrapping_add(funcname_off))
        && md.slice("ftab").map(|s| s.len) == Some(nfunc.wrapping_add(1))
        && ordered("minpc", "maxpc")
        && ordered("text", "etext")
        && ordered("noptrdata", "enoptrdata")
        && ordered("data", "edata")
        && ordered("bss", "ebss")
        && ordered("noptrbss", "enoptrbss")
        && ordered("types", "etypes")
        && md.byte("hasmain").is_some_and(|b| b <= 1)
        && md.byte("bad") == Some(0)
        && md.word("text").is_some_and(|t| t != 0)
        && md.word("gofunc").is_some_and(|g| g != 0)
}

#[cfg(test)]
mod tests {
    use super::run_gc_prog;

    #[test]
    fn gc_program() {
        // 3 literal bits 101, then repeat the last 3 bits twice, then end.
        let prog = [0x03, 0b101, 0x83, 0x02, 0x00];
        let (bits, n) = run_gc_prog(&prog, 100).unwrap();
        assert_eq!(n, 9);
        assert_eq!(bits, vec![0b0110_1101, 0b1]);
        assert!(run_gc_prog(&prog, 5).is_none());
        assert!(run_gc_prog(&[0x81, 0x01, 0], 10).is_none());
    }
}
