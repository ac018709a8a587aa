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
    for tc in common::toolchains_with_debian() {
        for goarch in ["amd64", "386"] {
            let Some(path) = tc.build("linux", goarch, "") else {
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
            // How many DWARF-described types the traversal finds. Types referenced
            // only from code (an assertion to an otherwise unused type) are not
            // reachable from typelinks and itabs: a handful per program.
            let all: std::collections::HashSet<u64> =
                reader.all_types().unwrap().into_iter().collect();
            let missing: Vec<&str> = dwarf
                .iter()
                .filter(|(&a, _)| !all.contains(&if a < types { types + a } else { a }))
                .map(|(_, d)| d.name.as_str())
                .collect();
            eprintln!(
                "{what}: all_types finds {} of {} DWARF types; not {missing:?}",
                dwarf.len() - missing.len(),
                dwarf.len()
            );
            assert!(missing.len() * 50 < dwarf.len(), "{what}: {missing:?}");
        }
    }
}

#[test]
fn fixture_types_and_methods() {
    for f in common::fixtures() {
        let bin = GoBinary::parse(&f.binary).unwrap();
        let Ok(md) = bin.moduledata() else { continue };
        let reader = bin
            .type_reader(&md)
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let all = reader
            .all_types()
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert!(all.len() > 300, "{}: {} types", f.name, all.len());
        let itabs = reader.itabs().unwrap();
        assert!(itabs.len() > 5, "{}: {} itabs", f.name, itabs.len());
        for i in &itabs {
            assert_eq!(reader.type_at(i.interface).unwrap().kind, Kind::Interface);
            reader.type_at(i.typ).unwrap();
        }
        let mut named = 0;
        for a in all {
            let t = reader.type_at(a).unwrap();
            for m in reader.methods(&t).unwrap() {
                assert!(!m.name.is_empty(), "{}", f.name);
            }
            if reader.pkg_path(&t).unwrap().is_some() {
                named += 1;
            }
            if t.ptr_bytes > 0 {
                let mask = reader.gc_mask(&t).unwrap();
                assert_eq!(
                    mask.len() as u64,
                    (t.ptr_bytes / u64::from(bin.ptr_size())).div_ceil(8)
                );
            }
        }
        assert!(named > 0, "{}", f.name);
    }
}

/// What tests/goprog's `types` mode printed about one type via reflect.
#[derive(Debug)]
struct Truth {
    addr: u64,
    kind: u8,
    size: u64,
    mask: Vec<u8>,
    string: String,
    qualified: String,
    fields: Vec<(String, u64, bool, u64)>,
}

fn parse_truth(out: &str) -> Vec<Truth> {
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let mut all: Vec<Truth> = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("type ") {
            let (head, qualified) = rest.split_once('\t').unwrap();
            let parts: Vec<&str> = head.splitn(5, ' ').collect();
            let mask = (0..parts[3].len() / 2)
                .map(|i| u8::from_str_radix(&parts[3][2 * i..2 * i + 2], 16).unwrap())
                .collect();
            all.push(Truth {
                addr: hex(parts[0]),
                kind: parts[1].parse().unwrap(),
                size: parts[2].parse().unwrap(),
                mask,
                string: parts[4].to_string(),
                qualified: qualified.to_string(),
                fields: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("field ") {
            let p: Vec<&str> = rest.split(' ').collect();
            all.last_mut().unwrap().fields.push((
                p[0].to_string(),
                p[1].parse().unwrap(),
                p[2] == "true",
                hex(p[3]),
            ));
        }
    }
    all
}

/// Every type tests/goprog's `types` mode reports through reflect (named, generic,
/// embedded, big GC-program/on-demand masks, another module's) is among
/// `all_types`, with the same name, package path, kind, size, fields and pointer
/// mask; the `*Impl`→`Iface` itab points at `(*Impl).M`. Go 1.21–1.27 and
/// Debian's go1.19 when installed (`runtime/type.go` descriptors), each
/// built with its symbol table and DWARF and stripped (`-s -w`: no symbols, so
/// moduledata is found through `.go.module` or by scanning); each binary is
/// compared with what the same binary printed.
/// Stripped linux/386 and linux/arm64 builds too (arm64 run under qemu-user).
#[test]
fn all_types_match_reflect() {
    let mut checked = 0;
    for tc in common::toolchains_with_debian() {
        for (goarch, ldflags) in [
            ("amd64", ""),
            ("amd64", "-s -w"),
            ("386", "-s -w"),
            ("arm64", "-s -w"),
        ] {
            checked += usize::from(all_types_match_reflect_in(&tc, goarch, ldflags));
        }
    }
    println!("{checked} builds compared with reflect");
}

/// False when the build could not be made or run here.
fn all_types_match_reflect_in(tc: &common::Toolchain, goarch: &str, ldflags: &str) -> bool {
    let Some(path) = tc.build("linux", goarch, ldflags) else {
        return false;
    };
    let what = format!("go{} linux/{goarch} {ldflags:?}", tc.version);
    let Some(out) = common::run_linux(&path, goarch, &["types"]) else {
        return false;
    };
    let truth = parse_truth(&String::from_utf8(out.stdout).unwrap());
    assert!(truth.len() >= 25, "{what}: {} types", truth.len());
    let file = MappedFile::open(&path).unwrap();
    let bin = file.parse().unwrap();
    let md = bin.moduledata().unwrap();
    if !ldflags.is_empty() {
        assert!(!bin.has_symbols(), "{what}: has a symbol table");
        assert_ne!(md.found_by(), gobinary::FoundBy::Symbol, "{what}");
    }
    let reader = bin.type_reader(&md).unwrap();
    let all: std::collections::BTreeSet<u64> = reader.all_types().unwrap().into_iter().collect();
    let mut missing = Vec::new();
    for t in &truth {
        if !all.contains(&t.addr) {
            missing.push(t.string.clone());
            continue;
        }
        let d = reader.type_at(t.addr).unwrap();
        let w = format!("{what}: {}", t.string);
        assert_eq!(d.name, t.string, "{w}");
        assert_eq!(reader.qualified_name(&d).unwrap(), t.qualified, "{w}");
        assert_eq!(d.kind, Kind::from_raw(t.kind), "{w}");
        assert_eq!(d.size, t.size, "{w}");
        let fields: Vec<(String, u64, bool, u64)> = reader
            .fields(&d)
            .unwrap()
            .into_iter()
            .map(|f| (f.name, f.offset, f.embedded, f.typ))
            .collect();
        assert_eq!(fields, t.fields, "{w}");
        assert_eq!(reader.gc_mask(&d).unwrap(), t.mask, "{w} mask");
    }
    assert!(missing.is_empty(), "{what}: not found: {missing:?}");
    // The itab of *Impl for Iface holds (*Impl).M.
    let find = |s: &str| truth.iter().find(|t| t.string == s).unwrap().addr;
    let (iface, imp) = (find("main.Iface"), find("*main.Impl"));
    let itab = reader
        .itabs()
        .unwrap()
        .into_iter()
        .find(|i| i.interface == iface && i.typ == imp)
        .unwrap_or_else(|| panic!("{what}: no itab"));
    let tab = bin.pclntab().unwrap();
    let m = tab.func_for_pc(itab.methods[0]).unwrap().unwrap();
    assert_eq!(m.name, "main.(*Impl).M", "{what}");
    assert_eq!(m.entry, itab.methods[0], "{what}");
    eprintln!(
        "{what}: {} types, {} itabs",
        all.len(),
        reader.itabs().unwrap().len()
    );
    true
}
