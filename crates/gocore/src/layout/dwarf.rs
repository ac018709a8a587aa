//! Source A: the catalogued items, read from a binary's DWARF.
//!
//! This is also the code `cargo xtask layouts` runs over reference builds to make the
//! generated tables, so both sources are extracted identically.
//!
//! Only the sections needed to name types and read members are loaded
//! (`.debug_info`, `.debug_abbrev`, the string sections, `.debug_addr` and `.debug_line`, whose
//! header gimli reads for each unit), decompressing them when
//! the Go linker compressed them (`SHF_COMPRESSED` with zlib, the default on ELF, or
//! the older `.zdebug_*` sections). DIEs are indexed by name in one pass over the
//! top level of every unit; nothing else of the type graph is built.

use std::collections::HashMap;

use gimli::{AttributeValue, UnitOffset};

use super::catalog;
use super::{Field, LayoutData};
pub(crate) use crate::dwarf::has_dwarf;
use crate::dwarf::{self as dw, const_value, DW_AT_GO_EMBEDDED_FIELD, R};

/// Longest field path walked (`a.b.c…`) and longest typedef chain followed.
const MAX_DEPTH: usize = 16;

/// A DIE's place: index into the unit list and offset within that unit.
#[derive(Clone, Copy)]
struct DieRef {
    unit: usize,
    offset: UnitOffset<usize>,
}

struct Index<'a> {
    dwarf: gimli::Dwarf<R<'a>>,
    units: Vec<gimli::Unit<R<'a>>>,
    /// Unit start offsets in `.debug_info`, ascending, parallel to `units`.
    starts: Vec<usize>,
}

/// Extracts every catalogued item the DWARF has. Errors are descriptions of what in
/// the DWARF could not be read (the caller adds the Go version).
pub(crate) fn extract(file: &object::File<'_>) -> Result<LayoutData, String> {
    let sections = dw::load(file, Some(dw::NAMING_SECTIONS))?;
    let mut idx = Index {
        dwarf: dw::borrow(&sections, dw::endian(file)),
        units: Vec::new(),
        starts: Vec::new(),
    };
    for unit in dw::units(&idx.dwarf) {
        let (start, unit) = unit?;
        idx.starts.push(start);
        idx.units.push(unit);
    }
    if idx.units.is_empty() {
        return Err("no compilation units in .debug_info".into());
    }

    // One pass over the top level of every unit: catalogued type names and constants.
    let mut types: HashMap<&'static str, DieRef> = HashMap::new();
    let mut data = LayoutData::default();
    for (ui, unit) in idx.units.iter().enumerate() {
        let mut cursor = unit.entries();
        while let Some(e) = cursor
            .next_dfs()
            .map_err(|err| format!("unit at {:#x}: {err}", idx.starts[ui]))?
        {
            if e.depth() != 1 {
                continue;
            }
            let tag = e.tag();
            let is_type = matches!(
                tag,
                gimli::DW_TAG_structure_type
                    | gimli::DW_TAG_base_type
                    | gimli::DW_TAG_typedef
                    | gimli::DW_TAG_array_type
                    | gimli::DW_TAG_pointer_type
            );
            if !is_type && tag != gimli::DW_TAG_constant {
                continue;
            }
            let Some(name) = e.attr_value(gimli::DW_AT_name) else {
                continue;
            };
            let Ok(name) = idx.dwarf.attr_string(unit, name) else {
                continue;
            };
            let name = name.to_string_lossy();
            if is_type {
                let Some(cat) = catalog::TYPES.iter().map(|t| t.name).find(|n| *n == name) else {
                    continue;
                };
                // Go emits a named struct and a typedef of the same name: keep the
                // struct (or whichever non-typedef comes), else the first typedef.
                if !types.contains_key(cat) || tag != gimli::DW_TAG_typedef {
                    let offset = e.offset();
                    types.insert(cat, DieRef { unit: ui, offset });
                }
            } else if let Some(cat) = catalog::CONSTANTS.iter().find(|n| **n == name) {
                if data.consts.contains_key(*cat) {
                    continue;
                }
                if let Some(v) = const_value(e.attr_value(gimli::DW_AT_const_value)) {
                    data.consts.insert(cat.to_string(), v);
                }
            }
        }
    }

    for entry in catalog::TYPES {
        let Some(&die) = types.get(entry.name) else {
            continue;
        };
        let size = idx
            .byte_size(die)
            .map_err(|e| format!("size of {}: {e}", entry.name))?;
        data.sizes.insert(entry.name.to_string(), size);
        for path in entry.fields {
            let found = idx
                .field(die, path)
                .map_err(|e| format!("{}.{path}: {e}", entry.name))?;
            if let Some(f) = found {
                data.fields
                    .insert((entry.name.to_string(), path.to_string()), f);
            }
        }
    }
    Ok(data)
}

impl<'a> Index<'a> {
    fn die(&self, r: DieRef) -> Result<gimli::DebuggingInformationEntry<R<'a>>, String> {
        let unit = self.units.get(r.unit).ok_or("bad unit index")?;
        unit.entry(r.offset).map_err(|e| e.to_string())
    }

    fn name(&self, r: DieRef) -> Option<String> {
        let e = self.die(r).ok()?;
        let unit = self.units.get(r.unit)?;
        let v = e.attr_value(gimli::DW_AT_name)?;
        let s = self.dwarf.attr_string(unit, v).ok()?;
        Some(s.to_string_lossy().into_owned())
    }

    /// Resolves a `DW_AT_type`-style reference made from unit `from`.
    fn resolve(&self, from: usize, v: AttributeValue<R<'a>>) -> Result<DieRef, String> {
        match v {
            AttributeValue::UnitRef(offset) => Ok(DieRef { unit: from, offset }),
            AttributeValue::DebugInfoRef(o) => {
                let ui = match self.starts.binary_search(&o.0) {
                    Ok(i) => i,
                    Err(0) => return Err(format!("reference {:#x} before any unit", o.0)),
                    Err(i) => i - 1,
                };
                let unit = self.units.get(ui).ok_or("bad unit index")?;
                let offset = o
                    .to_unit_offset(&unit.header)
                    .ok_or_else(|| format!("reference {:#x} outside its unit", o.0))?;
                Ok(DieRef { unit: ui, offset })
            }
            other => Err(format!("unsupported type reference {other:?}")),
        }
    }

    fn type_of(&self, r: DieRef) -> Result<DieRef, String> {
        let e = self.die(r)?;
        let v = e.attr_value(gimli::DW_AT_type).ok_or("no DW_AT_type")?;
        self.resolve(r.unit, v)
    }

    /// Follows typedefs to the underlying type.
    fn strip_typedefs(&self, mut r: DieRef) -> Result<DieRef, String> {
        for _ in 0..MAX_DEPTH {
            if self.die(r)?.tag() != gimli::DW_TAG_typedef {
                return Ok(r);
            }
            r = self.type_of(r)?;
        }
        Err("typedef chain too long".into())
    }

    fn byte_size(&self, r: DieRef) -> Result<u64, String> {
        let r = self.strip_typedefs(r)?;
        let e = self.die(r)?;
        if let Some(v) = e.attr_value(gimli::DW_AT_byte_size) {
            return v.udata_value().ok_or_else(|| "bad DW_AT_byte_size".into());
        }
        match e.tag() {
            gimli::DW_TAG_pointer_type | gimli::DW_TAG_subroutine_type => {
                let unit = self.units.get(r.unit).ok_or("bad unit index")?;
                Ok(u64::from(unit.header.address_size()))
            }
            t => Err(format!("{t} has no DW_AT_byte_size")),
        }
    }

    /// The member `name` of struct `r`: (offset, member DIE). Like Go's field
    /// promotion, a name not found directly is looked for in embedded members
    /// (`DW_AT_go_embedded_field`), breadth first, so `heapArena.bitmap` finds the
    /// `bitmap` of the embedded `heapArenaPtrScalar`.
    fn member(&self, r: DieRef, name: &str) -> Result<Option<(u64, DieRef)>, String> {
        let mut level = vec![(0u64, r)];
        for _ in 0..MAX_DEPTH {
            let mut embedded = Vec::new();
            for (base, st) in level {
                let (found, emb) = self.direct_member(st, name)?;
                if let Some((off, m)) = found {
                    return Ok(Some((base.checked_add(off).ok_or("offset overflows")?, m)));
                }
                for (off, m) in emb {
                    let ty = self.strip_typedefs(self.type_of(m)?)?;
                    embedded.push((base.checked_add(off).ok_or("offset overflows")?, ty));
                }
            }
            if embedded.is_empty() {
                return Ok(None);
            }
            level = embedded;
        }
        Ok(None)
    }

    /// The direct member `name` of struct `r`, and the embedded members.
    #[allow(clippy::type_complexity)]
    fn direct_member(
        &self,
        r: DieRef,
        name: &str,
    ) -> Result<(Option<(u64, DieRef)>, Vec<(u64, DieRef)>), String> {
        let unit = self.units.get(r.unit).ok_or("bad unit index")?;
        let mut cursor = unit
            .entries_at_offset(r.offset)
            .map_err(|e| e.to_string())?;
        let mut seen_root = false;
        let mut embedded = Vec::new();
        while let Some(e) = cursor.next_dfs().map_err(|e| e.to_string())? {
            if !seen_root {
                seen_root = true;
                if !e.has_children() || e.tag() != gimli::DW_TAG_structure_type {
                    break;
                }
                continue;
            }
            match e.depth() {
                d if d <= 0 => break,
                1 => {}
                _ => continue,
            }
            if e.tag() != gimli::DW_TAG_member {
                continue;
            }
            let off = match e.attr_value(gimli::DW_AT_data_member_location) {
                Some(v) => v
                    .udata_value()
                    .ok_or("DW_AT_data_member_location is not a constant")?,
                None => 0,
            };
            let member = DieRef {
                unit: r.unit,
                offset: e.offset(),
            };
            let is_embedded = matches!(
                e.attr_value(DW_AT_GO_EMBEDDED_FIELD),
                Some(AttributeValue::Flag(true))
            );
            if is_embedded {
                embedded.push((off, member));
            }
            let Some(n) = e.attr_value(gimli::DW_AT_name) else {
                continue;
            };
            let n = self.dwarf.attr_string(unit, n).map_err(|e| e.to_string())?;
            if n.slice() == name.as_bytes() {
                return Ok((Some((off, member)), Vec::new()));
            }
        }
        Ok((None, embedded))
    }

    /// Walks `path` from struct type `r`. `None` if some segment is not a member.
    fn field(&self, r: DieRef, path: &str) -> Result<Option<Field>, String> {
        let mut ty = r;
        let mut offset = 0u64;
        for (i, seg) in path.split('.').enumerate() {
            if i >= MAX_DEPTH {
                return Err("field path too long".into());
            }
            let st = self.strip_typedefs(ty)?;
            let Some((off, member)) = self.member(st, seg)? else {
                return Ok(None);
            };
            offset = offset.checked_add(off).ok_or("offset overflows")?;
            ty = self.type_of(member)?;
        }
        Ok(Some(Field {
            offset,
            size: self.byte_size(ty)?,
            type_name: self.name(ty).unwrap_or_default(),
        }))
    }
}
