//! Replays every input saved in `fuzz/regressions/<target>/` (each one crashed or
//! hung a fuzz target before its fix) through the fuzz targets' own code, plus a
//! few deterministic pseudo-random inputs per target, so that `cargo test` catches a
//! regression without cargo-fuzz or a nightly compiler. Each input runs on its own
//! thread with a time bound. See docs/robustness.md.

#[allow(dead_code)]
#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::sync::mpsc;
use std::time::{Duration, Instant};

const TIME_BOUND: Duration = Duration::from_secs(120);

fn replay(target: &str, name: &str, input: Vec<u8>) {
    let f: fn(&[u8]) = match target {
        "corefile_bytes" => targets::corefile_bytes,
        "gobinary_patch" => targets::gobinary_patch,
        "gocore_patch" => targets::gocore_patch,
        _ => panic!("unknown fuzz target {target}"),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| f(&input));
        let _ = tx.send(r.is_ok());
    });
    match rx.recv_timeout(TIME_BOUND) {
        Ok(true) => {}
        Ok(false) => panic!("{target} {name}: panicked"),
        Err(_) => panic!("{target} {name}: no result within {TIME_BOUND:?}"),
    }
}

/// Deterministic inputs in each target's format.
fn generated(target: &str, n: usize) -> Vec<Vec<u8>> {
    let mut x = 0x2545_f491_4f6c_dd1d_u64 ^ target.len() as u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let mut v = vec![i as u8];
            let len = 1 + (next() % 200) as usize;
            v.extend((0..len).map(|_| next() as u8));
            v
        })
        .collect()
}

#[test]
fn fuzz_regressions_replay() {
    let start = Instant::now();
    for (target, generated_n) in [
        ("corefile_bytes", 32),
        ("gobinary_patch", 16),
        ("gocore_patch", 3),
    ] {
        let saved = targets::regressions(target);
        let n_saved = saved.len();
        for (path, input) in saved {
            replay(target, &path.display().to_string(), input);
        }
        for (i, input) in generated(target, generated_n).into_iter().enumerate() {
            replay(target, &format!("generated #{i}"), input);
        }
        println!("{target}: {n_saved} saved regression inputs and {generated_n} generated inputs replayed");
    }
    // The targets find their base files (fixture binaries, corpus cores).
    assert_eq!(
        targets::gobinary_bases().len(),
        8,
        "{:?}",
        targets::gobinary_bases()
    );
    assert_eq!(targets::gocore_bases().len(), targets::GOCORE_BASES.len());
    println!("replayed in {:.1?}", start.elapsed());
}
