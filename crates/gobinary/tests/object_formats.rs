//! Part 1: object formats, targets and build IDs, checked against `go tool buildid`.

mod common;

use gobinary::{Arch, Endian, Format, GoBinary, MappedFile, Os};

fn expected_target(goos: &str, goarch: &str) -> (Format, Os, Arch, u8) {
    let format = match goos {
        "windows" => Format::Pe,
        "darwin" => Format::MachO,
        _ => Format::Elf,
    };
    let os = match goos {
        "windows" => Os::Windows,
        "darwin" => Os::Darwin,
        _ => Os::Linux,
    };
    let (arch, ptr) = match goarch {
        "amd64" => (Arch::Amd64, 8),
        "arm64" => (Arch::Arm64, 8),
        "386" => (Arch::I386, 4),
        "arm" => (Arch::Arm, 4),
        other => panic!("unexpected GOARCH {other}"),
    };
    (format, os, arch, ptr)
}

fn check(bin: &GoBinary<'_>, goos: &str, goarch: &str, build_id: &str, what: &str) {
    let (format, os, arch, ptr) = expected_target(goos, goarch);
    assert_eq!(bin.format(), format, "{what}");
    assert_eq!(bin.os(), os, "{what}");
    assert_eq!(bin.arch(), arch, "{what}");
    assert_eq!(bin.ptr_size(), ptr, "{what}");
    assert_eq!(bin.endian(), Endian::Little, "{what}");
    assert_eq!(
        bin.go_build_id().as_deref(),
        Some(build_id.trim()),
        "{what}"
    );
    assert!(bin.text_section().is_some(), "{what}");
}

#[test]
fn fixtures_report_their_target() {
    for f in common::fixtures() {
        let mut parts = f.name.split('-');
        let (_, goos, goarch) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        let bin = GoBinary::parse(&f.binary).unwrap();
        check(&bin, goos, goarch, &f.expected("buildid"), &f.name);
        assert!(
            !bin.has_symbols() || bin.format() == Format::MachO,
            "{}",
            f.name
        );
    }
}

#[test]
fn toolchain_builds_report_their_target() {
    let targets = [
        ("linux", "amd64", "-s -w"),
        ("linux", "amd64", ""),
        ("linux", "arm64", ""),
        ("linux", "386", ""),
        ("linux", "arm", ""),
        ("windows", "amd64", ""),
        ("windows", "386", ""),
        ("darwin", "arm64", ""),
        ("darwin", "amd64", ""),
    ];
    for tc in common::toolchains() {
        for (goos, goarch, ldflags) in targets {
            let release_free = matches!((goos, goarch), ("windows", "386") | ("darwin", "amd64"));
            if release_free && !common::is_edge_release(&tc.version) {
                continue; // read by release-independent code: oldest and newest suffice
            }
            let Some(path) = tc.build(goos, goarch, ldflags) else {
                continue;
            };
            let want = tc
                .run(&["tool", "buildid", path.to_str().unwrap()], None)
                .unwrap();
            let file = MappedFile::open(&path).unwrap();
            let bin = file.parse().unwrap();
            let what = format!("go{} {goos}/{goarch} {ldflags}", tc.version);
            check(&bin, goos, goarch, &want, &what);
            if goos == "linux" && ldflags.is_empty() {
                assert!(bin.symbol("runtime.main").is_some(), "{what}");
            }
        }
    }
}

#[test]
fn universal_macho() {
    // Build a fat file by hand from two darwin members (lipo is not available).
    let Some(tc) = common::newest() else { return };
    let (Some(a), Some(b)) = (
        tc.build("darwin", "amd64", ""),
        tc.build("darwin", "arm64", ""),
    ) else {
        return;
    };
    let a = std::fs::read(a).unwrap();
    let b = std::fs::read(b).unwrap();
    let align = 1u64 << 14;
    let off_a = align;
    let off_b = (off_a + a.len() as u64).div_ceil(align) * align;
    let mut fat = Vec::new();
    fat.extend_from_slice(&0xcafe_babeu32.to_be_bytes());
    fat.extend_from_slice(&2u32.to_be_bytes());
    for (cpu, off, len) in [
        (0x0100_0007u32, off_a, a.len()),
        (0x0100_000c, off_b, b.len()),
    ] {
        for v in [cpu, 3, off as u32, len as u32, 14] {
            fat.extend_from_slice(&v.to_be_bytes());
        }
    }
    fat.resize(off_a as usize, 0);
    fat.extend_from_slice(&a);
    fat.resize(off_b as usize, 0);
    fat.extend_from_slice(&b);
    assert_eq!(
        GoBinary::fat_arches(&fat).unwrap(),
        vec![Arch::Amd64, Arch::Arm64]
    );
    assert_eq!(GoBinary::parse(&fat).unwrap().arch(), Arch::Amd64);
    let arm = GoBinary::parse_arch(&fat, Arch::Arm64).unwrap();
    assert_eq!(arm.arch(), Arch::Arm64);
    assert_eq!(arm.build_info().unwrap().setting("GOARCH"), Some("arm64"));
    assert!(GoBinary::parse_arch(&fat, Arch::I386).is_err());
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for f in common::fixtures() {
        // Truncations and corruptions of a real binary.
        for cut in [0usize, 4, 64, 1000, f.binary.len() / 2] {
            let _ = GoBinary::parse(f.binary.get(..cut).unwrap_or(&[]))
                .map(|b| (b.go_build_id(), b.build_info().ok()));
        }
        let mut bad = f.binary.clone();
        for i in (0..bad.len()).step_by(4099) {
            bad[i] ^= 0x5a;
        }
        let _ = GoBinary::parse(&bad).map(|b| (b.go_build_id(), b.build_info().ok()));
    }
}

/// Truncated copies of every fixture: the build info and the function table, when
/// read, are exactly the full file's (never a partial list from a cut table);
/// otherwise they are an error that says the file is truncated, never a panic.
#[test]
fn truncated_binaries_give_errors() {
    let mut whole_total = 0;
    for f in common::fixtures() {
        let full = GoBinary::parse(&f.binary).unwrap();
        let info = full.build_info().unwrap();
        let magic = f
            .binary
            .windows(14)
            .position(|w| w == b"\xff Go buildinf:")
            .expect("build info magic");
        // A whole file without build info: plainly not found, no talk of a cut.
        let mut no_magic = f.binary.clone();
        no_magic[magic] ^= 0xff;
        let e = GoBinary::parse(&no_magic)
            .unwrap()
            .build_info()
            .unwrap_err();
        assert!(
            matches!(e, gobinary::Error::NotFound { .. }),
            "{}: {e}",
            f.name
        );
        let tab = full.pclntab().unwrap();
        let funcs: Vec<(u64, String)> = tab
            .funcs()
            .map(|x| x.map(|x| (x.entry, x.name.to_string())).unwrap())
            .collect();
        let sec = full.section_at(tab.address()).unwrap();
        let tab_start = (sec.file_offset.unwrap() + (tab.address() - sec.address)) as usize;
        let tab_end = tab_start + tab.data().len();
        let (mut errors, mut whole) = (0, 0);
        for percent in [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99] {
            let cut = f.binary.len() * percent / 100;
            let what = format!("{} cut at {cut} ({percent}%)", f.name);
            let bin = match GoBinary::parse(&f.binary[..cut]) {
                Ok(bin) => bin,
                Err(e) => {
                    assert!(!e.to_string().is_empty(), "{what}");
                    errors += 1;
                    continue;
                }
            };
            match bin.build_info() {
                Ok(got) => {
                    assert!(cut > magic, "{what}: build info past the cut");
                    assert_eq!(got, info, "{what}");
                    whole += 1;
                }
                Err(e) => {
                    // The message says why: the cut.
                    assert!(e.to_string().contains("truncated"), "{what}: {e}");
                    errors += 1;
                }
            }
            let listed: Result<Vec<(u64, String)>, _> = bin.pclntab().and_then(|t| {
                t.funcs()
                    .map(|x| x.map(|x| (x.entry, x.name.to_string())))
                    .collect()
            });
            match listed {
                Ok(got) => {
                    assert!(cut >= tab_end, "{what}: pclntab read past the cut");
                    assert_eq!(got, funcs, "{what}");
                    whole += 1;
                }
                Err(e) => {
                    assert!(e.to_string().contains("truncated"), "{what}: {e}");
                    errors += 1;
                }
            }
        }
        println!("{}: {errors} errors, {whole} whole reads", f.name);
        assert!(errors > 0, "{}: no truncation gave an error", f.name);
        whole_total += whole;
    }
    assert!(whole_total > 0, "no truncated copy read whole");
}
