//! Part 5: runtime type descriptors against DWARF (`DW_AT_go_runtime_type` links a
//! DWARF type to its descriptor; `DW_AT_go_kind` gives the kind).

mod common;

use gobinary::{GoBinary, Kind, MappedFile};
use object::{Object, ObjectSection};
use std::collections::BTreeMap;

struct DwarfType {
    name: String,
    kind: u64,
    size: Option<u64>,
    members: Vec<(String, u64)>,
}

/// DWARF types that name a runtime type descriptor, by descriptor address.
fn dwarf_types(data: &[u8]) -> BTreeMap<u64, DwarfType> {
    let obj = object::File::parse(data).unwrap();
    let endian = if obj.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let load = |id: gimli::SectionId| -> Result<&[u8], gimli::Error> {
        Ok(obj
            .section_by_name(id.name())
            .and_then(|s| s.data().ok())
            .unwrap_or(&[]))
    };
    let owned = gimli::DwarfSections::load(load).unwrap();
    let dwarf = owned.borrow(|s| gimli::EndianSlice::new(s, endian));
    let mut out = BTreeMap::new();
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let unit = dwarf.unit(header).unwrap();
        let mut cursor = unit.entries();
        let mut current: Option<u64> = None;
        while let Ok(Some(e)) = cursor.next_dfs() {
            let name = e
                .attr_value(gimli::DW_AT_name)
                .and_then(|v| dwarf.attr_string(&unit, v).ok())
                .map(|s| String::from_utf8_lossy(s.slice()).into_owned())
                .unwrap_or_default();
            if e.depth() == 1 {
                current = None;
                let rt = e.attr_value(gimli::DwAt(0x2904));
                let kind = e
                    .attr_value(gimli::DwAt(0x2900))
                    .and_then(|v| v.udata_value());
                if let (Some(gimli::AttributeValue::Addr(addr @ 1..)), Some(kind)) = (rt, kind) {
                    let size = e
                        .attr_value(gimli::DW_AT_byte_size)
                        .and_then(|v| v.udata_value());
                    out.insert(
                        addr,
                        DwarfType {
                            name,
                            kind,
                            size,
                            members: Vec::new(),
                        },
                    );
                    current = Some(addr);
                }
            } else if e.depth() == 2 && e.tag() == gimli::DW_TAG_member {
                if let Some(t) = current.and_then(|a| out.get_mut(&a)) {
                    let off = e
                        .attr_value(gimli::DW_AT_data_member_location)
                        .and_then(|v| v.udata_value())
                        .unwrap_or(0);
                    t.members.push((name, off));
                }
            }
        }
    }
    out
}

#[test]
fn descriptors_match_dwarf() {
    for tc in common::toolchains() {
        for goarch in ["amd64", "386"] {
            let Some(path) = tc.build("linux", goarch, "-compressdwarf=false") else {
                continue;
            };
            let what = format!("go{} linux/{goarch}", tc.version);
            let file = MappedFile::open(&path).unwrap();
            let bin = file.parse().unwrap();
            let md = bin.moduledata().unwrap();
            let reader = bin.type_reader(&md).unwrap();
            let dwarf = dwarf_types(file.bytes());
            assert!(dwarf.len() > 100, "{what}: {} DWARF types", dwarf.len());
            let (mut structs, mut checked, mut methods, mut masks) = (0, 0, 0, 0);
            let tab = bin.pclntab().unwrap();
            let (types, _) = md.types_range();
            let rel = dwarf.keys().filter(|&&a| a < types).count();
            eprintln!(
                "{what}: {} DWARF types, {rel} with relative addresses",
                dwarf.len()
            );
            for (&addr, d) in &dwarf {
                // Some releases record descriptor offsets from runtime.types.
                let addr = if addr < types { types + addr } else { addr };
                let t = reader
                    .type_at(addr)
                    .unwrap_or_else(|e| panic!("{what}: {}: {e}", d.name));
                // DWARF pointer types carry kind 0; the rest must agree.
                if d.kind != 0 {
                    assert_eq!(Kind::from_raw(d.kind as u8), t.kind, "{what}: {}", d.name);
                }
                if let Some(size) = d.size {
                    assert_eq!(t.size, size, "{what}: {} size", d.name);
                }
                // The runtime string uses the package name, DWARF the full path.
                // Function-local types get a `·N` suffix in DWARF only.
                let short = d
                    .name
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .split('·')
                    .next()
                    .unwrap();
                if t.tflag & 4 != 0 && !d.name.contains(['[', '{']) {
                    assert!(short.ends_with(&t.name), "{what}: {} vs {}", d.name, t.name);
                }
                if t.kind == Kind::Struct {
                    let fields: Vec<(String, u64)> = reader
                        .fields(&t)
                        .unwrap()
                        .into_iter()
                        .map(|f| (f.name, f.offset))
                        .collect();
                    assert_eq!(fields, d.members, "{what}: {} fields", d.name);
                    structs += 1;
                    // The GC mask marks pointer fields (not pointers to not-in-heap types,
                    // whose PtrBytes is 0) and nothing pointer-free.
                    if let Ok(mask) = reader.gc_mask(&t) {
                        let p = u64::from(bin.ptr_size());
                        let bit = |w: u64| {
                            mask.get((w / 8) as usize)
                                .is_some_and(|b| b & (1 << (w % 8)) != 0)
                        };
                        for f in reader.fields(&t).unwrap() {
                            let ft = reader.type_at(f.typ).unwrap();
                            let w = f.offset / p;
                            if matches!(
                                ft.kind,
                                Kind::Pointer
                                    | Kind::Map
                                    | Kind::Chan
                                    | Kind::UnsafePointer
                                    | Kind::Func
                            ) && ft.ptr_bytes > 0
                            {
                                assert!(bit(w), "{what}: {}.{} not in mask", d.name, f.name);
                                masks += 1;
                            } else if ft.ptr_bytes == 0 {
                                for k in 0..ft.size / p {
                                    assert!(!bit(w + k), "{what}: {}.{} in mask", d.name, f.name);
                                }
                            }
                        }
                    }
                }
                if let Some(e) = reader.elem(&t).unwrap() {
                    reader.type_at(e).unwrap();
                }
                // Method entries must be functions named after the method.
                for m in reader.methods(&t).unwrap() {
                    if m.tfn == -1 {
                        continue;
                    }
                    let pc = md.text() + m.tfn as u64;
                    let func = tab.func_for_pc(pc).unwrap().expect("method function");
                    assert_eq!(func.entry, pc, "{what}: {}.{}", d.name, m.name);
                    let method = m.name.rsplit('.').next().unwrap();
                    assert!(
                        func.name.ends_with(&format!(".{method}")),
                        "{what}: {}.{} is {}",
                        d.name,
                        m.name,
                        func.name
                    );
                    methods += 1;
                }
                checked += 1;
            }
            assert!(
                structs > 20 && checked > 100 && methods > 20 && masks > 20,
                "{what}: {structs}/{checked}/{methods}"
            );
            if let Ok(links) = reader.typelinks() {
                for a in links {
                    reader.type_at(a).unwrap();
                }
            }
        }
    }
}

#[test]
fn fixture_types_and_methods() {
    for f in common::fixtures() {
        let bin = GoBinary::parse(&f.binary).unwrap();
        let Ok(md) = bin.moduledata() else { continue };
        let Ok(reader) = bin.type_reader(&md) else {
            continue; // go1.19
        };
        let Ok(links) = reader.typelinks() else {
            continue; // go1.27 has no typelinks
        };
        let mut named = 0;
        for a in links {
            let t = reader.type_at(a).unwrap();
            for m in reader.methods(&t).unwrap() {
                assert!(!m.name.is_empty(), "{}", f.name);
            }
            if reader.pkg_path(&t).unwrap().is_some() {
                named += 1;
            }
        }
        assert!(named > 0, "{}", f.name);
    }
}
