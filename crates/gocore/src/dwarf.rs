//! Shared DWARF reading for the modules that parse the executable's `.debug_*`
//! sections themselves (`layout::dwarf`, `globals::dwarf`, `value`): loading the
//! sections (decompressing zlib-compressed ones, bounded), iterating units,
//! attribute readers, Go's vendor attributes and location-expression evaluation.
//!
//! Everything returns `Option`/`Result` with a description of what could not be
//! read; nothing panics on bad DWARF.

use std::borrow::Cow;
use std::io::Read;

use gimli::{AttributeValue, EndianSlice, Operation, RunTimeEndian, SectionId};
use object::{Object, ObjectSection};

/// The reader every DWARF walk uses: a slice of the (possibly decompressed)
/// section in the executable's byte order.
pub(crate) type R<'a> = EndianSlice<'a, RunTimeEndian>;

/// Largest decompressed DWARF section accepted (a bound against bad size headers).
pub(crate) const MAX_SECTION: u64 = 1 << 30;
/// Most DWARF entries a full walk visits.
pub(crate) const MAX_ENTRIES: u64 = 1 << 26;

/// Go's `DW_AT_go_kind` (the runtime `Kind` of a type).
pub(crate) const DW_AT_GO_KIND: gimli::DwAt = gimli::DwAt(0x2900);
/// Go's `DW_AT_go_elem` (a slice's or map's element type).
pub(crate) const DW_AT_GO_ELEM: gimli::DwAt = gimli::DwAt(0x2902);
/// Go's `DW_AT_go_embedded_field` (a flag on members that are embedded fields).
pub(crate) const DW_AT_GO_EMBEDDED_FIELD: gimli::DwAt = gimli::DwAt(0x2903);
/// Go's `DW_AT_go_runtime_type` (the type's runtime descriptor).
pub(crate) const DW_AT_GO_RUNTIME_TYPE: gimli::DwAt = gimli::DwAt(0x2904);

/// The sections needed to name DIEs and read their attributes (`.debug_line` only
/// for its header, which gimli's `Unit` parses); no ranges or location lists.
pub(crate) const NAMING_SECTIONS: &[SectionId] = &[
    SectionId::DebugInfo,
    SectionId::DebugAbbrev,
    SectionId::DebugStr,
    SectionId::DebugStrOffsets,
    SectionId::DebugLineStr,
    SectionId::DebugAddr,
    SectionId::DebugLine,
];

/// [`NAMING_SECTIONS`] plus the location lists: what reading variables' locations
/// (typing's frame and global variables) needs; no ranges or frames.
pub(crate) const LOCATION_SECTIONS: &[SectionId] = &[
    SectionId::DebugInfo,
    SectionId::DebugAbbrev,
    SectionId::DebugStr,
    SectionId::DebugStrOffsets,
    SectionId::DebugLineStr,
    SectionId::DebugAddr,
    SectionId::DebugLine,
    SectionId::DebugLoc,
    SectionId::DebugLocLists,
];

/// Whether the file has a non-empty `.debug_info` section (compressed or not).
pub(crate) fn has_dwarf(file: &object::File<'_>) -> bool {
    file.section_by_name(".debug_info")
        .or_else(|| file.section_by_name(".zdebug_info"))
        .or_else(|| file.section_by_name("__debug_info"))
        .is_some_and(|s| s.size() > 0)
}

/// The file's byte order as gimli's.
pub(crate) fn endian(file: &object::File<'_>) -> RunTimeEndian {
    if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    }
}

/// One section's bytes, decompressed when the Go linker compressed it
/// (`SHF_COMPRESSED` with zlib, the default on ELF, or GNU `.zdebug_*`; Mach-O
/// spells the name `__debug_*`). A section not in `only` (when given) or absent is
/// empty.
fn load_section<'d>(
    file: &object::File<'d>,
    id: SectionId,
    only: Option<&[SectionId]>,
) -> Result<Cow<'d, [u8]>, String> {
    if only.is_some_and(|o| !o.contains(&id)) {
        return Ok(Cow::Borrowed(&[]));
    }
    let name = id.name();
    let section = file
        .section_by_name(name)
        .or_else(|| file.section_by_name(&format!("__{}", name.trim_start_matches('.'))));
    let Some(section) = section else {
        return Ok(Cow::Borrowed(&[]));
    };
    let c = section
        .compressed_data()
        .map_err(|e| format!("{name}: {e}"))?;
    match c.format {
        object::CompressionFormat::None => Ok(Cow::Borrowed(c.data)),
        object::CompressionFormat::Zlib => {
            if c.uncompressed_size > MAX_SECTION {
                return Err(format!(
                    "{name}: claims {} bytes uncompressed (limit {MAX_SECTION})",
                    c.uncompressed_size
                ));
            }
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(c.data)
                .take(c.uncompressed_size)
                .read_to_end(&mut out)
                .map_err(|e| format!("{name}: zlib: {e}"))?;
            if out.len() as u64 != c.uncompressed_size {
                return Err(format!(
                    "{name}: decompressed to {} bytes, header says {}",
                    out.len(),
                    c.uncompressed_size
                ));
            }
            Ok(Cow::Owned(out))
        }
        other => Err(format!("{name}: unsupported compression {other:?}")),
    }
}

/// Loads the DWARF sections of `file` (those in `only`, or all); borrow them with
/// [`borrow`].
pub(crate) fn load<'d>(
    file: &object::File<'d>,
    only: Option<&[SectionId]>,
) -> Result<gimli::DwarfSections<Cow<'d, [u8]>>, String> {
    gimli::DwarfSections::load(|id| load_section(file, id, only))
}

/// The loaded sections as a `gimli::Dwarf` in the file's byte order.
pub(crate) fn borrow<'s>(
    sections: &'s gimli::DwarfSections<Cow<'_, [u8]>>,
    endian: RunTimeEndian,
) -> gimli::Dwarf<R<'s>> {
    sections.borrow(|s| EndianSlice::new(s, endian))
}

/// Every unit of `.debug_info` with its start offset, errors described with where
/// they happened; iteration ends after the first error.
pub(crate) struct Units<'d, 'a> {
    dwarf: &'d gimli::Dwarf<R<'a>>,
    headers: gimli::DebugInfoUnitHeadersIter<R<'a>>,
    failed: bool,
}

/// Iterates the units of `dwarf`; see [`Units`].
pub(crate) fn units<'d, 'a>(dwarf: &'d gimli::Dwarf<R<'a>>) -> Units<'d, 'a> {
    Units {
        dwarf,
        headers: dwarf.units(),
        failed: false,
    }
}

impl<'a> Iterator for Units<'_, 'a> {
    type Item = Result<(usize, gimli::Unit<R<'a>>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = match self.headers.next() {
            Ok(None) => return None,
            Ok(Some(h)) => {
                let start = h.offset().0;
                self.dwarf
                    .unit(h)
                    .map(|u| (start, u))
                    .map_err(|e| format!("unit at {start:#x}: {e}"))
            }
            Err(e) => Err(format!(".debug_info: {e}")),
        };
        self.failed = r.is_err();
        Some(r)
    }
}

/// A DIE's `DW_AT_name` (lossy UTF-8).
pub(crate) fn name(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    e: &gimli::DebuggingInformationEntry<R<'_>>,
) -> Option<String> {
    let v = e.attr_value(gimli::DW_AT_name)?;
    let s = dwarf.attr_string(unit, v).ok()?;
    Some(String::from_utf8_lossy(s.slice()).into_owned())
}

/// The `.debug_info` offset a reference attribute (`DW_AT_type`,
/// `DW_AT_abstract_origin` …) of a DIE in `unit` points to.
pub(crate) fn die_ref(
    unit: &gimli::Unit<R<'_>>,
    v: Option<AttributeValue<R<'_>>>,
) -> Option<usize> {
    match v? {
        AttributeValue::UnitRef(r) => r.to_debug_info_offset(&unit.header).map(|o| o.0),
        AttributeValue::DebugInfoRef(r) => Some(r.0),
        _ => None,
    }
}

/// An unsigned constant attribute.
pub(crate) fn udata(e: &gimli::DebuggingInformationEntry<R<'_>>, at: gimli::DwAt) -> Option<u64> {
    e.attr_value(at)?.udata_value()
}

/// Whether a flag attribute is present and true.
pub(crate) fn flag(e: &gimli::DebuggingInformationEntry<R<'_>>, at: gimli::DwAt) -> bool {
    matches!(e.attr_value(at), Some(AttributeValue::Flag(true)))
}

/// A constant attribute (`DW_AT_const_value`) as a signed value.
pub(crate) fn const_value(v: Option<AttributeValue<R<'_>>>) -> Option<i64> {
    match v? {
        AttributeValue::Sdata(v) => Some(v),
        AttributeValue::Udata(v) => Some(v as i64),
        AttributeValue::Data1(v) => Some(i64::from(v)),
        AttributeValue::Data2(v) => Some(i64::from(v)),
        AttributeValue::Data4(v) => Some(i64::from(v)),
        AttributeValue::Data8(v) => Some(v as i64),
        _ => None,
    }
}

/// A DIE's `[DW_AT_low_pc, DW_AT_high_pc)` (link addresses; a high PC that is a
/// constant is an offset from the low one).
pub(crate) fn pc_range(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    e: &gimli::DebuggingInformationEntry<R<'_>>,
) -> Option<(u64, u64)> {
    let addr = |v| dwarf.attr_address(unit, v).ok().flatten();
    let lo = e.attr_value(gimli::DW_AT_low_pc).and_then(addr)?;
    let hi = match e.attr_value(gimli::DW_AT_high_pc)? {
        v @ (AttributeValue::Addr(_) | AttributeValue::DebugAddrIndex(_)) => addr(v)?,
        v => lo.wrapping_add(v.udata_value()?),
    };
    Some((lo, hi))
}

/// The address of a location expression that is exactly one `DW_OP_addr`
/// (package variables).
pub(crate) fn static_address(expr: gimli::Expression<R<'_>>, enc: gimli::Encoding) -> Option<u64> {
    let mut ops = expr.operations(enc);
    match (ops.next(), ops.next()) {
        (Ok(Some(Operation::Address { address })), Ok(None)) => Some(address),
        _ => None,
    }
}

/// Where one piece of a variable is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// At this offset from the CFA (Go's frame pointer: the caller's SP).
    Cfa(i64),
    /// In this DWARF register.
    Reg(u16),
    /// Nowhere (optimized out).
    Absent,
}

/// A variable's location at some PC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Loc {
    /// In memory at this offset from the CFA (`DW_OP_fbreg`,
    /// `DW_OP_call_frame_cfa [DW_OP_plus_uconst n]`, or pieces in consecutive
    /// stack slots).
    Cfa(i64),
    /// Wholly in one register (`DW_OP_reg*`, `DW_OP_regx`).
    Register(u16),
    /// Pieces (`DW_OP_piece`), at least one not on the stack: each part with its
    /// size in bytes, in order.
    Pieces(Box<[(Part, u64)]>),
    /// An empty location: the value does not exist here.
    OptimizedOut,
    /// An expression this evaluator does not handle.
    Other,
}

/// Evaluates a location expression of the forms Go's compiler emits: one
/// CFA-relative slot, one register, or pieces of those (`DW_OP_piece`); pieces in
/// consecutive CFA-relative slots are one slot. Anything else is [`Loc::Other`].
pub(crate) fn location(expr: gimli::Expression<R<'_>>, enc: gimli::Encoding) -> Loc {
    let mut ops = expr.operations(enc);
    let mut pieces: Vec<(Part, u64)> = Vec::new();
    let mut cur: Option<Part> = None;
    let mut any = false;
    let mut n = 0;
    loop {
        n += 1;
        if n > 64 {
            return Loc::Other;
        }
        let op = match ops.next() {
            Ok(Some(op)) => op,
            Ok(None) => break,
            Err(_) => return Loc::Other,
        };
        any = true;
        match op {
            Operation::FrameOffset { offset } if cur.is_none() => cur = Some(Part::Cfa(offset)),
            Operation::CallFrameCFA if cur.is_none() => cur = Some(Part::Cfa(0)),
            Operation::PlusConstant { value } => match cur {
                Some(Part::Cfa(o)) => {
                    match i64::try_from(value).ok().and_then(|v| o.checked_add(v)) {
                        Some(x) => cur = Some(Part::Cfa(x)),
                        None => return Loc::Other,
                    }
                }
                _ => return Loc::Other,
            },
            Operation::Register { register } if cur.is_none() => cur = Some(Part::Reg(register.0)),
            Operation::Piece {
                size_in_bits,
                bit_offset: None,
            } if size_in_bits % 8 == 0 => {
                // An empty piece is an optimized-out part.
                pieces.push((cur.take().unwrap_or(Part::Absent), size_in_bits / 8));
            }
            _ => return Loc::Other,
        }
    }
    if !any {
        return Loc::OptimizedOut;
    }
    if pieces.is_empty() {
        return match cur {
            Some(Part::Cfa(o)) => Loc::Cfa(o),
            Some(Part::Reg(r)) => Loc::Register(r),
            _ => Loc::Other,
        };
    }
    if cur.is_some() {
        return Loc::Other;
    }
    // All pieces in consecutive stack slots: the value is in memory.
    if let Some((Part::Cfa(first), _)) = pieces.first() {
        let mut at = *first;
        let consecutive = pieces.iter().all(|&(p, size)| {
            let ok = p == Part::Cfa(at);
            at = at.saturating_add(i64::try_from(size).unwrap_or(i64::MAX));
            ok
        });
        if consecutive {
            return Loc::Cfa(*first);
        }
    }
    Loc::Pieces(pieces.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(bytes: &[u8]) -> Loc {
        let enc = gimli::Encoding {
            format: gimli::Format::Dwarf32,
            version: 4,
            address_size: 8,
        };
        location(
            gimli::Expression(EndianSlice::new(bytes, RunTimeEndian::Little)),
            enc,
        )
    }

    #[test]
    fn locations() {
        // DW_OP_call_frame_cfa
        assert_eq!(loc(&[0x9c]), Loc::Cfa(0));
        // DW_OP_call_frame_cfa; DW_OP_plus_uconst 16
        assert_eq!(loc(&[0x9c, 0x23, 16]), Loc::Cfa(16));
        // DW_OP_reg0 (rax / x0)
        assert_eq!(loc(&[0x50]), Loc::Register(0));
        // DW_OP_regx 17
        assert_eq!(loc(&[0x90, 17]), Loc::Register(17));
        // reg0 piece 8, reg3 piece 8 (a string in AX, BX)
        assert_eq!(
            loc(&[0x50, 0x93, 8, 0x53, 0x93, 8]),
            Loc::Pieces(vec![(Part::Reg(0), 8), (Part::Reg(3), 8)].into_boxed_slice())
        );
        // cfa piece 8, cfa+8 piece 8: one slot
        assert_eq!(loc(&[0x9c, 0x93, 8, 0x9c, 0x23, 8, 0x93, 8]), Loc::Cfa(0));
        // reg0 piece 8, empty piece 8
        assert_eq!(
            loc(&[0x50, 0x93, 8, 0x93, 8]),
            Loc::Pieces(vec![(Part::Reg(0), 8), (Part::Absent, 8)].into_boxed_slice())
        );
        assert_eq!(loc(&[]), Loc::OptimizedOut);
        // DW_OP_lit1: not a location form Go emits
        assert_eq!(loc(&[0x31]), Loc::Other);
    }
}
