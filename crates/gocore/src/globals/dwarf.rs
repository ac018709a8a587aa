//! Global variables from DWARF: `DW_TAG_variable` entries whose `DW_AT_location` is a
//! single `DW_OP_addr`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;

use gimli::{AttributeValue, EndianSlice, Operation, RunTimeEndian, SectionId};
use object::{Object, ObjectSection};

/// Largest decompressed debug section accepted.
const MAX_SECTION: u64 = 1 << 30;

/// Most variables indexed (Go binaries have tens of thousands at most).
const MAX_VARIABLES: usize = 1 << 20;

/// Most DIEs visited.
const MAX_ENTRIES: u64 = 1 << 26;

/// Link-time addresses of the binary's global variables, by DWARF name.
pub(crate) type Variables = HashMap<String, u64>;

fn load_section<'d>(file: &object::File<'d>, id: SectionId) -> Result<Cow<'d, [u8]>, String> {
    if !matches!(
        id,
        SectionId::DebugInfo
            | SectionId::DebugAbbrev
            | SectionId::DebugStr
            | SectionId::DebugStrOffsets
            | SectionId::DebugLineStr
            | SectionId::DebugAddr
            | SectionId::DebugLine
    ) {
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
            Ok(Cow::Owned(out))
        }
        other => Err(format!("{name}: unsupported compression {other:?}")),
    }
}

/// Indexes every global variable with a static address. `Err` when the binary has no
/// DWARF or it cannot be read.
pub(crate) fn variables(data: &[u8]) -> Result<Variables, String> {
    let file = object::File::parse(data).map_err(|e| format!("executable: {e}"))?;
    let has = file
        .section_by_name(".debug_info")
        .or_else(|| file.section_by_name(".zdebug_info"))
        .or_else(|| file.section_by_name("__debug_info"))
        .is_some_and(|s| s.size() > 0);
    if !has {
        return Err("the executable has no DWARF".into());
    }
    let endian = if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let sections = gimli::DwarfSections::load(|id| load_section(&file, id))?;
    let dwarf = sections.borrow(|s| EndianSlice::new(s, endian));
    let mut out = Variables::new();
    let mut visited = 0u64;
    let mut headers = dwarf.units();
    while let Some(h) = headers.next().map_err(|e| format!(".debug_info: {e}"))? {
        let unit = dwarf
            .unit(h)
            .map_err(|e| format!("unit at {:#x}: {e}", h.offset().0))?;
        let mut cursor = unit.entries();
        while let Some(e) = cursor.next_dfs().map_err(|e| format!(".debug_info: {e}"))? {
            visited += 1;
            if visited > MAX_ENTRIES || out.len() >= MAX_VARIABLES {
                return Err(format!("more than {MAX_ENTRIES} DWARF entries"));
            }
            if e.tag() != gimli::DW_TAG_variable || e.depth() != 1 {
                continue;
            }
            let Some(AttributeValue::Exprloc(expr)) = e.attr_value(gimli::DW_AT_location) else {
                continue;
            };
            let mut ops = expr.operations(unit.encoding());
            let Ok(Some(Operation::Address { address })) = ops.next() else {
                continue;
            };
            // Only a location that is exactly one address.
            if !matches!(ops.next(), Ok(None)) {
                continue;
            }
            let Some(name) = e.attr_value(gimli::DW_AT_name) else {
                continue;
            };
            let Ok(name) = dwarf.attr_string(&unit, name) else {
                continue;
            };
            out.insert(String::from_utf8_lossy(name.slice()).into_owned(), address);
        }
    }
    Ok(out)
}
