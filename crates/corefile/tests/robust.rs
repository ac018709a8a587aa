//! Truncated, garbled and garbage inputs give errors or warnings, never
//! panics.

mod common;

use std::fs;
use std::path::Path;

use common::data_dir;
use corefile::{Core, Error, Missing, Warning};

fn core_bytes() -> Vec<u8> {
    zstd::decode_all(fs::File::open(data_dir("amd64-c").join("core.zst")).unwrap()).unwrap()
}

/// Uses everything a core offers; must not panic.
fn exercise(core: &Core) {
    for w in core.warnings() {
        let _ = w.to_string();
    }
    let _ = format!("{core:?} {:?} {:?}", core.process(), core.signal());
    for m in core.mappings() {
        for addr in [m.start(), m.end() - 1, m.start() + m.len() / 2] {
            if let Err(e) = core.read_u8(addr) {
                assert_eq!(e.addr(), Some(addr), "{e}");
            }
        }
        let _ = core.read(m.start(), m.len().min(1 << 16) as usize);
        let _ = core.read(m.end() - 4, 8);
    }
    for t in core.threads() {
        let _ = core.read_ptr(t.registers.sp());
        let _ = core.read(t.registers.pc(), 16);
    }
    if let Some(e) = core.executable() {
        let _ = (e.data().len(), e.load_bias(), e.build_id());
    }
}

/// Writes `bytes` to a new file (never over a file that an open `Core` may
/// still map: truncating a mapped file raises SIGBUS) and opens it.
fn open_bytes(dir: &Path, bytes: &[u8]) -> Result<Core, Error> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = dir.join(format!("core.{n}"));
    fs::write(&p, bytes).unwrap();
    let r = Core::open(&p);
    // Unlinking is fine: the mapping stays valid.
    let _ = fs::remove_file(&p);
    r
}

#[test]
fn truncated_cores() {
    let full = core_bytes();
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(
        data_dir("amd64-c").join("crash.zst"),
        tmp.path().join("crash.zst"),
    )
    .unwrap();
    let reference = open_bytes(tmp.path(), &full).unwrap();
    assert!(!reference
        .warnings()
        .iter()
        .any(|w| matches!(w, Warning::Truncated { .. })));

    let mut points: Vec<usize> = vec![0, 1, 3, 4, 5, 16, 18, 20, 52, 63, 64, 65];
    points.extend((0..40).flat_map(|k| [64 + 56 * k - 1, 64 + 56 * k, 64 + 56 * k + 1]));
    points.extend((0x600..0xa000).step_by(37));
    points.extend((0xa000..0x40000).step_by(0x1001));
    points.extend([full.len() / 2, full.len() - 4097, full.len() - 1]);
    let mut opened = 0;
    for &n in &points {
        let n = n.min(full.len());
        match open_bytes(tmp.path(), &full[..n]) {
            Ok(core) => {
                opened += 1;
                exercise(&core);
                // Everything past the cut is reported as lost.
                let lost = core
                    .mappings()
                    .iter()
                    .find(|m| m.bytes_missing() > 0 && m.bytes_in_core() > 0);
                if n > 0x10000 {
                    assert!(
                        core.warnings()
                            .iter()
                            .any(|w| matches!(w, Warning::Truncated { actual, .. } if *actual == n as u64)),
                        "cut at {n:#x}: {:?}",
                        core.warnings()
                    );
                    let m = lost.expect("a partly lost mapping");
                    let last = m.end() - 1;
                    if reference.read_u8(last).is_ok() {
                        match core.read_u8(last) {
                            Err(Error::Unavailable {
                                addr,
                                reason: Missing::Truncated,
                            }) => {
                                assert_eq!(addr, last)
                            }
                            r => panic!("cut at {n:#x}: reading {last:#x}: {r:?}"),
                        }
                    }
                }
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains("core"), "{msg}");
            }
        }
    }
    assert!(opened > points.len() / 2, "only {opened} opened");
}

/// A small deterministic generator.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn garbled_cores() {
    let full = core_bytes();
    // Headers, notes and the first segments.
    let base = &full[..0x30000];
    let tmp = tempfile::tempdir().unwrap();
    let mut positions: Vec<usize> = (0..64).collect();
    positions.extend((64..64 + 56 * 31).step_by(3));
    positions.extend((0x6d0..0x9910).step_by(13));
    for (i, &pos) in positions.iter().enumerate() {
        let mut b = base.to_vec();
        b[pos] ^= [0xff, 0x80, 0x01, 0x7f][i % 4];
        if let Ok(core) = open_bytes(tmp.path(), &b) {
            exercise(&core);
        }
    }
    // Several random changes at once, including big values in size fields.
    let mut rng = Lcg(0x5eed);
    for _ in 0..300 {
        let mut b = base.to_vec();
        for _ in 0..1 + rng.next() % 8 {
            let pos = (rng.next() as usize) % 0x9910;
            let v = rng.next() as u8;
            b[pos] = if v & 1 == 0 { 0xff } else { v };
        }
        if let Ok(core) = open_bytes(tmp.path(), &b) {
            exercise(&core);
        }
    }
}

#[test]
fn garbage_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("text", b"hello, this is not a core".to_vec()),
        ("elf magic only", b"\x7fELF".to_vec()),
        ("zeros", vec![0; 4096]),
        ("truncated zstd", vec![0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]),
        ("truncated gzip", vec![0x1f, 0x8b, 8, 0, 0]),
    ];
    for (name, bytes) in cases {
        match open_bytes(tmp.path(), &bytes) {
            Err(e) => assert!(!e.to_string().is_empty(), "{name}"),
            Ok(_) => panic!("{name}: opened"),
        }
    }
    // An ELF executable is not a core.
    let exe = std::env::current_exe().unwrap();
    match Core::open(&exe) {
        Err(Error::Unsupported { what, .. }) => assert!(what.contains("not a core"), "{what}"),
        r => panic!("{r:?}"),
    }
    // A 32-bit ELF.
    let mut elf32 = core_bytes()[..4096].to_vec();
    elf32[4] = 1;
    assert!(matches!(
        open_bytes(tmp.path(), &elf32),
        Err(Error::Unsupported { .. }) | Err(Error::Malformed { .. })
    ));
    // A file that does not exist.
    match Core::open(tmp.path().join("nope")) {
        Err(Error::Io { path, .. }) => assert!(path.ends_with("nope")),
        r => panic!("{r:?}"),
    }
}

/// A core handed over as bytes reads exactly like the same core opened from a
/// file, and gives its bytes back.
#[test]
fn from_bytes_reads_like_open() {
    let full = core_bytes();
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(
        data_dir("amd64-c").join("crash.zst"),
        tmp.path().join("crash.zst"),
    )
    .unwrap();
    let path = tmp.path().join("core");
    fs::write(&path, &full).unwrap();
    let a = Core::open(&path).unwrap();
    let b = Core::from_bytes(&path, full.clone(), &corefile::OpenOptions::new()).unwrap();
    assert_eq!(a.mappings().len(), b.mappings().len());
    assert_eq!(a.threads().len(), b.threads().len());
    assert!(b.executable().is_some());
    for m in a.mappings() {
        let n = m.len().min(4096) as usize;
        assert_eq!(
            a.read(m.start(), n).ok(),
            b.read(m.start(), n).ok(),
            "{:#x}",
            m.start()
        );
    }
    assert_eq!(a.into_bytes(), None);
    assert_eq!(b.into_bytes().as_deref(), Some(&full[..]));
}
