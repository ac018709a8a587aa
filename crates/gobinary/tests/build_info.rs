//! Part 2: build info, rendered and compared with `go version -m` line for line.

mod common;

use gobinary::{BuildInfo, GoBinary, HeaderForm, MappedFile};

fn compare(got: &str, want: &str, what: &str) {
    let g: Vec<&str> = got.lines().collect();
    let w: Vec<&str> = want.lines().collect();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert_eq!(a, b, "{what}: line {}", i + 1);
    }
    assert_eq!(g.len(), w.len(), "{what}: line count");
    assert_eq!(got, want, "{what}: bytes");
}

#[test]
fn fixtures_match_go_version_m() {
    for f in common::fixtures() {
        let bin = GoBinary::parse(&f.binary).unwrap();
        let info = bin.build_info().unwrap();
        assert_eq!(info.form, HeaderForm::Inline);
        compare(
            &info.render_version_m(&f.name),
            &f.expected("version-m"),
            &f.name,
        );
        let v = info.version().unwrap();
        assert_eq!(
            format!("go1.{}", v.minor),
            f.name.split('-').next().unwrap()
        );
        let dep = &info.deps[0];
        assert_eq!(dep.path, "example.com/dep");
        assert_eq!(dep.replace.as_ref().unwrap().path, "./dep");
    }
}

#[test]
fn toolchain_builds_match_go_version_m() {
    let targets = [
        ("linux", "amd64", ""),
        ("linux", "amd64", "-s -w"),
        ("linux", "arm64", ""),
        ("linux", "386", ""),
        ("linux", "arm", ""),
        ("windows", "amd64", ""),
        ("windows", "386", ""),
        ("darwin", "arm64", ""),
        ("darwin", "amd64", ""),
    ];
    // Debian's go1.19 too (when installed): the oldest release with today's format.
    for tc in common::toolchains_with_debian() {
        for (goos, goarch, ldflags) in targets {
            let release_free = matches!((goos, goarch), ("windows", "386") | ("darwin", "amd64"));
            if release_free && !common::is_edge_release(&tc.version) {
                continue; // read by release-independent code: oldest and newest suffice
            }
            let Some(path) = tc.build(goos, goarch, ldflags) else {
                continue;
            };
            let p = path.to_str().unwrap();
            let want = tc.run(&["version", "-m", p], None).unwrap();
            let file = MappedFile::open(&path).unwrap();
            let info = file.parse().unwrap().build_info().unwrap();
            let what = format!("go{} {goos}/{goarch} {ldflags}", tc.version);
            compare(&info.render_version_m(p), &want, &what);
            assert_eq!(info.setting("GOOS"), Some(goos), "{what}");
            assert_eq!(info.setting("GOARCH"), Some(goarch), "{what}");
        }
    }
}

/// Go 1.20+ toolchains still read the old pointer form; none can write it any more,
/// so build a pre-1.18 style image by hand (header, string headers, strings) in an
/// ELF made from a real binary by rewriting its `.go.buildinfo` section in place.
#[test]
fn pointer_form_header() {
    let Some(f) = common::fixtures()
        .into_iter()
        .find(|f| f.name.contains("linux-amd64"))
    else {
        return;
    };
    let bin = GoBinary::parse(&f.binary).unwrap();
    let sec = bin.section(".go.buildinfo").unwrap().clone();
    let (base, off) = (sec.address, sec.file_offset.unwrap() as usize);
    let modinfo = "0123456789abcdef\npath\tex/old\nmod\tex/old\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.0\th1:abc=\n0123456789abcdef";
    let vers = "go1.16.15";
    let mut image = vec![0u8; 64];
    image[..14].copy_from_slice(b"\xff Go buildinf:");
    image[14] = 8;
    image[15] = 0; // little-endian, pointer form
    let vers_hdr = base + 32;
    let mod_hdr = base + 48;
    let vers_data = base + 64;
    let mod_data = vers_data + vers.len() as u64;
    image[16..24].copy_from_slice(&vers_hdr.to_le_bytes());
    image[24..32].copy_from_slice(&mod_hdr.to_le_bytes());
    image[32..40].copy_from_slice(&vers_data.to_le_bytes());
    image[40..48].copy_from_slice(&(vers.len() as u64).to_le_bytes());
    image[48..56].copy_from_slice(&mod_data.to_le_bytes());
    image[56..64].copy_from_slice(&(modinfo.len() as u64).to_le_bytes());
    image.extend_from_slice(vers.as_bytes());
    image.extend_from_slice(modinfo.as_bytes());
    assert!(image.len() <= sec.data.len());
    let mut bytes = f.binary.clone();
    bytes[off..off + image.len()].copy_from_slice(&image);
    let info = GoBinary::parse(&bytes).unwrap().build_info().unwrap();
    assert_eq!(info.form, HeaderForm::Pointer);
    assert_eq!(info.go_version, "go1.16.15");
    assert_eq!(info.path, "ex/old");
    assert_eq!(info.deps[0].sum, "h1:abc=");
    assert_eq!(
        info.render_version_m("old"),
        "old: go1.16.15\n\tpath\tex/old\n\tmod\tex/old\t(devel)\t\n\tdep\tgolang.org/x/text\tv0.3.0\th1:abc=\n"
    );
}

#[test]
fn found_by_scanning_without_the_section() {
    let Some(f) = common::fixtures()
        .into_iter()
        .find(|f| f.name.contains("linux-amd64"))
    else {
        return;
    };
    let want = GoBinary::parse(&f.binary).unwrap().build_info().unwrap();
    // Rename the section so that only the scan can find the magic.
    let mut bytes = f.binary.clone();
    let pos = bytes
        .windows(14)
        .position(|w| w == b".go.buildinfo\0")
        .unwrap();
    bytes[pos + 1] = b'x';
    let bin = GoBinary::parse(&bytes).unwrap();
    assert!(bin.section(".go.buildinfo").is_none());
    assert_eq!(bin.build_info().unwrap(), want);
}

#[test]
fn experiments_and_quoting() {
    let info = BuildInfo::parse_modinfo(
        "go1.24.3 X:noswissmap",
        "path\tx\nbuild\t-ldflags=\"-X main.v=a\\tb\"\nbuild\t\"we=ird\"=`q`\n",
    )
    .unwrap();
    assert_eq!(info.version().unwrap().experiments, ["noswissmap"]);
    assert_eq!(info.setting("-ldflags"), Some("-X main.v=a\tb"));
    assert_eq!(info.setting("we=ird"), Some("q"));
    assert_eq!(
        info.modinfo_string(),
        "path\tx\nbuild\t-ldflags=\"-X main.v=a\\tb\"\nbuild\t\"we=ird\"=q\n"
    );
    assert!(BuildInfo::parse_modinfo("go1.22", "=>\ta\tb\tc\n").is_err());
    assert!(BuildInfo::parse_modinfo("go1.22", "build\t=x\n").is_err());
}
