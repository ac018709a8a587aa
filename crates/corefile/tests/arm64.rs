//! arm64 cores written by qemu-aarch64 (no NT_FILE): the committed one of a
//! tiny freestanding program, checked against gdb-multiarch's view
//! (`tests/data/arm64-qemu/gdb.txt`, made by `regen.sh`), and, when the Go
//! toolchain and qemu are installed, a fresh one of a Go program.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{check_against_gdb, data_dir, have, parse_gdb, run_gdb};
use corefile::{Arch, Core, Warning};
use object::{Object, ObjectSymbol};

fn committed() -> PathBuf {
    let dir = data_dir("arm64-qemu");
    fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".core.zst"))
        .expect("committed qemu core")
}

fn symbol(core: &Core, name: &str) -> u64 {
    let exe = core.executable().expect("executable");
    let obj = object::File::parse(exe.data()).unwrap();
    obj.symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap()
        .address()
        + exe.load_bias()
}

#[test]
fn committed_core_matches_gdb() {
    let core = Core::open(committed()).unwrap();
    assert_eq!(core.arch(), Arch::Arm64);
    assert!(core.mappings().iter().all(|m| m.path().is_none()));
    let g = parse_gdb(&fs::read_to_string(data_dir("arm64-qemu").join("gdb.txt")).unwrap());
    let (nregs, nwords) = check_against_gdb(&core, &g);
    assert_eq!(core.threads().len(), 2);
    assert!(nregs >= 2 * 34, "compared {nregs} registers");
    assert!(nwords >= 12, "compared {nwords} words");
    let names: Vec<_> = core.threads()[0].registers.iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 34);
    assert_eq!(&names[29..], ["x29", "x30", "sp", "pc", "pstate"]);
}

#[test]
fn committed_core_executable_by_name() {
    let core = Core::open(committed()).unwrap();
    assert!(core.warnings().is_empty(), "{:?}", core.warnings());
    let exe = core
        .executable()
        .expect("found as tiny.zst next to the core");
    assert_eq!(exe.path(), data_dir("arm64-qemu").join("tiny.zst"));
    assert_eq!(exe.core_path(), None);
    assert_eq!(exe.load_bias(), 0);
    let p = core.process().unwrap();
    assert_eq!((p.fname.as_str(), p.args.as_str()), ("tiny", "./tiny"));
    assert_eq!(core.signal().unwrap().signo, 6);
    // Data and bss in the core, text from the executable.
    assert_eq!(
        &*core.read(symbol(&core, "marker"), 17).unwrap(),
        b"arm64 data marker"
    );
    let start = symbol(&core, "_start");
    let text = core.mapping_at(start).unwrap();
    assert_eq!(text.bytes_in_core(), 0);
    assert!(text.bytes_from_file() > 0);
    assert!(core.read(start, 16).is_ok());
    // The pc of each thread is in the text.
    for t in core.threads() {
        assert!(text.contains(t.registers.pc()));
        assert_eq!(t.registers.lr(), t.registers.get("x30"));
    }
}

#[test]
fn explicit_executable_without_nt_file() {
    let tmp = tempfile::tempdir().unwrap();
    let core_path = tmp.path().join("renamed.core.zst");
    fs::copy(committed(), &core_path).unwrap();
    let core = Core::open(&core_path).unwrap();
    assert!(core.executable().is_none());
    assert!(core
        .warnings()
        .iter()
        .any(|w| matches!(w, Warning::ExecutableNotFound { .. })));
    let exe = data_dir("arm64-qemu").join("tiny.zst");
    let core = Core::open_with(&core_path, &corefile::OpenOptions::new().executable(&exe)).unwrap();
    assert_eq!(core.executable().unwrap().path(), exe);
}

fn go_toolchain() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let dir = Path::new(&home).join(".cache/gocore/toolchains");
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin/go")))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

/// A fresh Go program crashed under qemu-aarch64 (skipped without a Go
/// toolchain or qemu; compared with gdb-multiarch when installed).
#[test]
fn fresh_go_core_under_qemu() {
    let Some(go) = go_toolchain() else {
        eprintln!("skipped: no Go toolchain in ~/.cache/gocore/toolchains");
        return;
    };
    if !have("qemu-aarch64") {
        eprintln!("skipped: no qemu-aarch64");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("main.go"),
        "package main\n\nimport \"time\"\n\nfunc main() {\n\tfor i := 0; i < 3; i++ {\n\t\tgo func() { time.Sleep(time.Hour) }()\n\t}\n\ttime.Sleep(10 * time.Millisecond)\n\tpanic(\"boom\")\n}\n",
    )
    .unwrap();
    fs::write(dir.join("go.mod"), "module gocrash\n\ngo 1.21\n").unwrap();
    let status = Command::new(&go)
        .args(["build", "-o", "gocrash", "."])
        .current_dir(dir)
        .env("GOARCH", "arm64")
        .env("GOTOOLCHAIN", "local")
        .env("GOCACHE", dir.join("cache"))
        .env("GOFLAGS", "-mod=mod")
        .status()
        .unwrap();
    assert!(status.success());
    let _ = Command::new("sh")
        .args([
            "-c",
            "ulimit -c unlimited; GOTRACEBACK=crash exec qemu-aarch64 ./gocrash",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    let _ = fs::remove_file(dir.join("core")); // qemu's own core
    let Some(core_path) = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".core"))
    else {
        eprintln!("skipped: qemu wrote no core (core size limit?)");
        return;
    };
    let core = Core::open(&core_path).unwrap();
    assert_eq!(core.arch(), Arch::Arm64);
    let exe = core.executable().expect("found by name");
    assert!(exe.verified(), "read-only data compared with the core");
    assert!(core.threads().len() >= 2);
    // runtime.buildVersion is a Go string header in data: pointer to text.
    let obj = object::File::parse(exe.data()).unwrap();
    let bv = obj
        .symbols()
        .find(|s| s.name() == Ok("runtime.buildVersion"))
        .unwrap()
        .address();
    let ptr = core.read_ptr(bv).unwrap();
    let len = core.read_u64(bv + 8).unwrap();
    let version = core.read(ptr, len as usize).unwrap();
    assert!(
        version.starts_with(b"go1."),
        "{:?}",
        String::from_utf8_lossy(&version)
    );
    if have("gdb-multiarch") {
        let g = parse_gdb(&run_gdb("gdb-multiarch", &dir.join("gocrash"), &core_path));
        let (nregs, _) = check_against_gdb(&core, &g);
        assert!(nregs >= core.threads().len() * 34);
    } else {
        eprintln!("gdb-multiarch not installed: registers not compared");
    }
}
