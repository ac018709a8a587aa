//! The Region API on every corpus core: runtime structures read by field name give
//! what the Go runtime itself recorded (version string, goroutine ids and states).

use std::collections::BTreeSet;

use corefile::{Core, OpenOptions};
use gocore::{Error, Process};

#[test]
fn build_version_and_goroutines_match_the_truth() {
    let cases = testkit::cases();
    let mut checked = 0;
    for case in &cases {
        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let version = match proc.global("runtime.buildVersion", "string") {
            Ok(r) => r.string().unwrap(),
            Err(e) => panic!("{}: {e}", case.name),
        };
        assert!(
            version.starts_with(&case.go_version()),
            "{}: runtime.buildVersion {version:?}",
            case.name
        );

        // Every goroutine the fixture started is in allgs with its id, not dead.
        let allgs = proc.global("runtime.allgs", "[]*runtime.g").unwrap();
        let n = allgs.slice_len().unwrap();
        let dead = proc.layouts().constant_u64("runtime._Gdead").unwrap();
        let scan = proc.layouts().constant_u64("runtime._Gscan").unwrap();
        let mut live = BTreeSet::new();
        for i in 0..n {
            let g = allgs.index(i).unwrap().deref().unwrap();
            let status = g.field("atomicstatus").unwrap().uint().unwrap() & !scan;
            if status != dead {
                live.insert(g.field("goid").unwrap().uint().unwrap());
            }
        }
        let truth = case.truth();
        for g in truth["goroutines"].as_array().unwrap() {
            let ids: Vec<u64> = match g.get("id").and_then(|v| v.as_u64()) {
                Some(id) => vec![id],
                None => g["ids"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
                    .unwrap_or_default(),
            };
            for id in ids {
                assert!(
                    live.contains(&id),
                    "{}: goroutine {id} ({}) not live in allgs",
                    case.name,
                    g["role"]
                );
            }
        }
        // The traceback printed no goroutine that allgs does not have (goroutine 0
        // is how it prints a thread's g0 stack).
        for tg in case.traceback().into_iter().filter(|g| g.id != 0) {
            assert!(
                live.contains(&tg.id),
                "{}: traceback goroutine {} not live in allgs",
                case.name,
                tg.id
            );
        }
        checked += 1;
    }
    eprintln!("checked {checked} of {} cases", cases.len());
    assert!(cases.is_empty() || checked > 0);
}

#[test]
fn region_errors_are_typed() {
    let Some(case) = testkit::cases().into_iter().find(|c| c.mode() == "default") else {
        return;
    };
    let core = Core::open_with(
        case.core_path(),
        &OpenOptions::new().executable(case.exe_path()),
    )
    .unwrap();
    let proc = Process::new(&core).unwrap();
    let g = proc.region(0, "runtime.g");
    assert!(matches!(g.deref(), Err(Error::WrongType { .. })));
    assert!(matches!(g.field("no_such_field"), Err(Error::Layout(_))));
    assert!(matches!(
        proc.region(0, "*runtime.g").deref(),
        Err(Error::Memory { .. })
    ));
    let allgs = proc.global("runtime.allgs", "[]*runtime.g").unwrap();
    let n = allgs.slice_len().unwrap();
    assert!(matches!(allgs.index(n), Err(Error::OutOfRange { .. })));
    assert!(matches!(allgs.string(), Err(Error::WrongType { .. })));
}
