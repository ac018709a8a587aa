//! Global variables from DWARF: `DW_TAG_variable` entries whose `DW_AT_location` is a
//! single `DW_OP_addr`.

use std::collections::HashMap;

use gimli::AttributeValue;

use crate::dwarf as dw;

/// Most variables indexed (Go binaries have tens of thousands at most).
const MAX_VARIABLES: usize = 1 << 20;

/// Link-time addresses of the binary's global variables, by DWARF name.
pub(crate) type Variables = HashMap<String, u64>;

/// Indexes every global variable with a static address. `Err` when the binary has no
/// DWARF or it cannot be read.
pub(crate) fn variables(data: &[u8]) -> Result<Variables, String> {
    let file = object::File::parse(data).map_err(|e| format!("executable: {e}"))?;
    if !dw::has_dwarf(&file) {
        return Err("the executable has no DWARF".into());
    }
    let sections = dw::load(&file, Some(dw::NAMING_SECTIONS))?;
    let dwarf = dw::borrow(&sections, dw::endian(&file));
    let mut out = Variables::new();
    let mut visited = 0u64;
    for unit in dw::units(&dwarf) {
        let (_, unit) = unit?;
        let mut cursor = unit.entries();
        while let Some(e) = cursor.next_dfs().map_err(|e| format!(".debug_info: {e}"))? {
            visited += 1;
            if visited > dw::MAX_ENTRIES || out.len() >= MAX_VARIABLES {
                return Err(format!("more than {} DWARF entries", dw::MAX_ENTRIES));
            }
            if e.tag() != gimli::DW_TAG_variable || e.depth() != 1 {
                continue;
            }
            let Some(AttributeValue::Exprloc(expr)) = e.attr_value(gimli::DW_AT_location) else {
                continue;
            };
            // Only a location that is exactly one address.
            let Some(address) = dw::static_address(expr, unit.encoding()) else {
                continue;
            };
            let Some(name) = dw::name(&dwarf, &unit, e) else {
                continue;
            };
            out.insert(name, address);
        }
    }
    Ok(out)
}
