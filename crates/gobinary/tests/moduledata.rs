//! Part 4: moduledata layouts against each release's DWARF `runtime.moduledata`,
//! field values against the linker's symbols, and lookup without symbols.

mod common;

use gobinary::{FoundBy, GoBinary, MappedFile, Moduledata};
use object::{Object, ObjectSection};
use std::collections::BTreeMap;

/// Member offsets and byte size of a DWARF struct.
fn dwarf_struct(data: &[u8], name: &str) -> Option<(BTreeMap<String, u64>, u64)> {
    let obj = object::File::parse(data).ok()?;
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
    let owned = gimli::DwarfSections::load(load).ok()?;
    let dwarf = owned.borrow(|s| gimli::EndianSlice::new(s, endian));
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let unit = dwarf.unit(header).ok()?;
        let mut cursor = unit.entries();
        let mut inside: Option<isize> = None;
        let mut members = BTreeMap::new();
        let mut size = 0;
        while let Ok(Some(e)) = cursor.next_dfs() {
            let ename = e
                .attr_value(gimli::DW_AT_name)
                .and_then(|v| dwarf.attr_string(&unit, v).ok())
                .map(|s| String::from_utf8_lossy(s.slice()).into_owned());
            match inside {
                None => {
                    if e.tag() == gimli::DW_TAG_structure_type && ename.as_deref() == Some(name) {
                        inside = Some(e.depth());
                        size = e
                            .attr_value(gimli::DW_AT_byte_size)
                            .and_then(|v| v.udata_value())
                            .unwrap_or(0);
                    }
                }
                Some(d) => {
                    if e.depth() <= d {
                        return Some((members, size));
                    }
                    if e.tag() == gimli::DW_TAG_member && e.depth() == d + 1 {
                        let off = e
                            .attr_value(gimli::DW_AT_data_member_location)
                            .and_then(|v| v.udata_value())
                            .unwrap_or(0);
                        members.insert(ename.unwrap_or_default(), off);
                    }
                }
            }
        }
        if inside.is_some() {
            return Some((members, size));
        }
    }
    None
}

fn check_layout(md: &Moduledata<'_>, data: &[u8], what: &str) {
    let (mut members, size) = dwarf_struct(data, "runtime.moduledata")
        .unwrap_or_else(|| panic!("{what}: no DWARF runtime.moduledata"));
    members.remove("NotInHeap");
    let ours: BTreeMap<String, u64> = md
        .field_names()
        .map(|n| (n.to_string(), md.field_offset(n).unwrap()))
        .collect();
    assert_eq!(ours, members, "{what}: field offsets");
    assert_eq!(md.size(), size, "{what}: size");
}

/// Field values against the linker-defined symbols of an unstripped binary.
fn check_values(bin: &GoBinary<'_>, md: &Moduledata<'_>, what: &str) {
    let sym = |n: &str| bin.symbol(n).map(|s| s.address);
    for (field, symbol) in [
        ("text", "runtime.text"),
        ("etext", "runtime.etext"),
        ("noptrdata", "runtime.noptrdata"),
        ("enoptrdata", "runtime.enoptrdata"),
        ("data", "runtime.data"),
        ("edata", "runtime.edata"),
        ("bss", "runtime.bss"),
        ("ebss", "runtime.ebss"),
        ("noptrbss", "runtime.noptrbss"),
        ("enoptrbss", "runtime.enoptrbss"),
        ("gcdata", "runtime.gcdata"),
        ("gcbss", "runtime.gcbss"),
        ("types", "runtime.types"),
        ("etypes", "runtime.etypes"),
        ("end", "runtime.end"),
    ] {
        if let Some(addr) = sym(symbol) {
            assert_eq!(md.word(field), Some(addr), "{what}: {field}");
        }
    }
    if let Some(g) = sym("go:func.*") {
        assert_eq!(md.gofunc(), g, "{what}: gofunc");
    }
    assert_eq!(md.byte("hasmain"), Some(1), "{what}");
    if let Some(tl) = md.typelinks() {
        assert!(tl.len > 10 && tl.len == tl.cap, "{what}: typelinks {tl:?}");
    }
    // Data/bss pointer masks: os.Args (a slice in bss or data) starts with a pointer,
    // runtime.ncpu (int32) is not one.
    let data_mask = bin.data_pointer_mask(md).unwrap();
    let bss_mask = bin.bss_pointer_mask(md).unwrap();
    let (d0, d1) = md.data_range();
    let (b0, b1) = md.bss_range();
    let p = u64::from(bin.ptr_size());
    assert_eq!(data_mask.nbits, (d1 - d0) / p, "{what}: data mask length");
    assert_eq!(bss_mask.nbits, (b1 - b0) / p, "{what}: bss mask length");
    let is_ptr = |a: u64| data_mask.is_pointer(a) || bss_mask.is_pointer(a);
    let args = sym("os.Args").expect("os.Args");
    assert!(is_ptr(args), "{what}: os.Args is a pointer root");
    assert!(!is_ptr(args + p), "{what}: len(os.Args) is not");
    if let Some(ncpu) = sym("runtime.ncpu") {
        assert!(!is_ptr(ncpu), "{what}: runtime.ncpu");
    }
}

#[test]
fn layouts_match_dwarf_and_symbols() {
    for tc in common::toolchains_with_debian() {
        for goarch in ["amd64", "386", "arm64"] {
            let Some(path) = tc.build("linux", goarch, "") else {
                continue;
            };
            let what = format!("go{} linux/{goarch}", tc.version);
            let file = MappedFile::open(&path).unwrap();
            let bin = file.parse().unwrap();
            let md = bin.moduledata().unwrap();
            assert_eq!(md.found_by(), FoundBy::Symbol, "{what}");
            check_layout(&md, file.bytes(), &what);
            check_values(&bin, &md, &what);
        }
    }
}

/// Stripped builds: found through `.go.module` (1.26+) or by scanning, with the same
/// field values as the unstripped build of the same program.
#[test]
fn stripped_builds_find_the_same_moduledata() {
    for tc in common::toolchains() {
        let (Some(full), Some(stripped)) = (
            tc.build("linux", "amd64", ""),
            tc.build("linux", "amd64", "-s -w"),
        ) else {
            continue;
        };
        let what = format!("go{}", tc.version);
        let full = std::fs::read(full).unwrap();
        let stripped = std::fs::read(stripped).unwrap();
        let a = GoBinary::parse(&full).unwrap();
        let b = GoBinary::parse(&stripped).unwrap();
        let ma = a.moduledata().unwrap();
        let mb = b.moduledata().unwrap();
        let minor: u32 = tc.version.split('.').nth(1).unwrap().parse().unwrap();
        let want = if minor >= 26 {
            FoundBy::Section
        } else {
            FoundBy::Scan
        };
        assert_eq!(mb.found_by(), want, "{what}");
        // Text is laid out identically; data moves a little without a symbol table,
        // so check data/bss against the section headers instead.
        for name in ["text", "etext"] {
            assert_eq!(ma.word(name), mb.word(name), "{what}: {name}");
        }
        for (field, section) in [
            ("noptrdata", ".noptrdata"),
            ("data", ".data"),
            ("bss", ".bss"),
            ("noptrbss", ".noptrbss"),
        ] {
            let s = b.section(section).unwrap();
            assert_eq!(mb.word(field), Some(s.address), "{what}: {field}");
        }
        let pa = a.pclntab().unwrap();
        let pb = b.pclntab().unwrap();
        assert_eq!(pb.gofunc().is_some(), pa.gofunc().is_some(), "{what}");
    }
}

#[test]
fn fixtures_have_plausible_moduledata() {
    for f in common::fixtures() {
        let bin = GoBinary::parse(&f.binary).unwrap();
        let md = bin.moduledata().unwrap();
        assert_ne!(md.found_by(), FoundBy::Symbol, "{}", f.name);
        // Asked again (found once, then kept): the same structure.
        let again = bin.moduledata().unwrap();
        assert_eq!(
            (again.address(), again.found_by(), again.size()),
            (md.address(), md.found_by(), md.size()),
            "{}",
            f.name
        );
        for name in md.field_names() {
            assert_eq!(again.word(name), md.word(name), "{}: {name}", f.name);
        }
        assert_eq!(
            Some(md.text()),
            bin.text_section().map(|t| t.address),
            "{}",
            f.name
        );
        let (t0, t1) = md.types_range();
        assert!(t0 < t1, "{}", f.name);
        let mask = bin.data_pointer_mask(&md).unwrap();
        assert!(
            mask.bits.iter().any(|&b| b != 0),
            "{}: no data pointers",
            f.name
        );
    }
}
