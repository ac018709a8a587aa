//! `Heap::typed_objects` is exactly the objects of `Heap::objects` for which
//! `Heap::object_type` is `Some`, in the same order, with the same types, on every
//! corpus core (typing's header sources rely on it).

use corefile::{Core, OpenOptions};
use gocore::{Heap, Process};

#[test]
fn typed_objects_are_the_objects_with_an_allocation_type() {
    let (mut cases, mut typed) = (0, 0);
    for case in testkit::cases() {
        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let proc = Process::new(&core).unwrap();
        let Ok(heap) = Heap::new(&proc) else { continue };
        let want: Vec<_> = heap
            .objects()
            .filter_map(|o| heap.object_type(&o).map(|t| (o, t.addr)))
            .collect();
        let got: Vec<_> = heap.typed_objects().map(|(o, t)| (o, t.addr)).collect();
        assert_eq!(got.len(), want.len(), "{}: typed object count", case.name);
        assert!(got == want, "{}: typed objects differ", case.name);
        cases += 1;
        typed += got.len();
    }
    eprintln!("{cases} cases, {typed} objects with an allocation type");
    assert!(cases > 0, "no corpus case opened");
    // Go 1.22+ cores have malloc headers and largeType: the check is not vacuous.
    assert!(typed > 0, "no object with an allocation type in any case");
}
