//! Typed values against what the fixture programs recorded, on every corpus core.
//!
//! * `named_objects`: decoding the object at each recorded address gives the
//!   recorded type, and the field values `testdata/programs/zoo/main.go` stores
//!   (`main.TreeNode` root `Val` 127, the cycle's `Next` links, `IfaceHolder`'s
//!   dynamic types and values, `[]any`'s elements, `Box[string]`'s string …).
//! * `globals`: every truth global is listed at its recorded address; with DWARF
//!   its type and value match the program (`gList` points to `list_head`, maps have
//!   the recorded lengths and — all entries walked — as many distinct keys, `bigmap`
//!   values' `ID` equal their keys, `gChan` buffers 10 of 16, IDs 0..9 oldest first …).
//! * frame variables: the chan-send goroutine's `item` and the chan-receive
//!   goroutine's `held` point to `sent_item` and `stack_held`; every variable
//!   decoded from a stack slot (inlined calls' too) lies in its goroutine's stack.
//! * frame parameters against the crash traceback: where the runtime printed a
//!   frame's arguments as plain words (no `?`), each parameter the decoder finds in
//!   a stack slot has that value (about 3000 per zoo core, in ~2100 frames).
//! * registers of running goroutines' innermost frames (signal contexts) against
//!   the register dumps the runtime printed on SIGQUIT (zoo sigquit cases);
//!   register-located parameters and locals against the values a program printed
//!   and its register dump (`register_variables_of_a_live_program`, ignored: it
//!   builds `tests/regprog` with each installed toolchain and makes cores).
//! * decoding every type seen at unmapped and heap addresses stays within the
//!   value budget and reports unreadable memory.
//!
//! Executables without DWARF check named objects as far as typing reaches (an
//! untyped object is reported; a typed one must have the recorded type and values)
//! and globals by symbol-table address; stripped ones only named objects.

use std::collections::HashSet;

use corefile::{Core, OpenOptions};
use gocore::{Data, Decoder, Heap, Limits, Process, Typing, Value};
use serde_json::Value as Json;

fn field<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    match &v.data {
        Data::Struct { fields } => fields.iter().find(|f| f.name == name).map(|f| &f.value),
        _ => None,
    }
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v?.data {
        Data::Int(i) => Some(i),
        Data::Uint(u) => i64::try_from(u).ok(),
        _ => None,
    }
}

fn ptr(v: Option<&Value>) -> Option<u64> {
    match v?.data {
        Data::Pointer { target, .. } => Some(target),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> Option<&str> {
    match &v?.data {
        Data::String { text, .. } => Some(text),
        _ => None,
    }
}

fn iface(v: Option<&Value>) -> Option<(&str, &Value)> {
    match &v?.data {
        Data::Interface {
            dynamic_type: Some(t),
            value: Some(x),
        } => Some((t.as_str(), x)),
        _ => None,
    }
}

fn func_name(v: Option<&Value>) -> Option<&str> {
    match &v?.data {
        Data::Func { function, .. } => function.as_deref(),
        _ => None,
    }
}

fn named(truth: &Json, name: &str) -> Option<u64> {
    truth["named_objects"]
        .as_array()?
        .iter()
        .find(|o| o["name"] == name)?["addr"]
        .as_u64()
}

/// Checks on a named object's decoded value: (name, check) → error text.
type Check = fn(&Value, &Json) -> Result<(), String>;

fn eq<T: PartialEq + std::fmt::Debug>(what: &str, got: Option<T>, want: T) -> Result<(), String> {
    match got {
        Some(g) if g == want => Ok(()),
        g => Err(format!("{what}: got {g:?}, want {want:?}")),
    }
}

fn checks() -> Vec<(&'static str, Check)> {
    vec![
        ("list_head", |v, _| eq("Val", int(field(v, "Val")), 0)),
        ("tree_root", |v, _| eq("Val", int(field(v, "Val")), 127)),
        ("cycle_a", |v, t| {
            eq("Val", int(field(v, "Val")), 1)?;
            eq(
                "Next",
                ptr(field(v, "Next")),
                named(t, "cycle_b").unwrap_or(0),
            )
        }),
        ("cycle_b", |v, t| {
            eq("Val", int(field(v, "Val")), 2)?;
            eq(
                "Next",
                ptr(field(v, "Next")),
                named(t, "cycle_c").unwrap_or(0),
            )
        }),
        ("cycle_c", |v, t| {
            eq("Val", int(field(v, "Val")), 3)?;
            eq(
                "Next",
                ptr(field(v, "Next")),
                named(t, "cycle_a").unwrap_or(0),
            )
        }),
        ("interior_obj", |v, _| {
            eq("Mid", int(field(v, "Mid")), 4242)?;
            eq("Tail", int(field(v, "Tail")), 7)
        }),
        ("any_ptr_target", |v, _| eq("ID", int(field(v, "ID")), 1)),
        ("any_boxed", |v, _| {
            eq("X", int(field(v, "X")), 1007)?;
            eq("Y", int(field(v, "Y")), 2)
        }),
        ("any_direct_target", |v, _| eq("ID", int(field(v, "ID")), 3)),
        ("any_error", |v, _| {
            eq("Msg", text(field(v, "Msg")), "zoo error in []any")
        }),
        ("iface_holder", |v, t| {
            let (ty, x) = iface(field(v, "Integer")).ok_or("Integer: not an interface")?;
            eq("Integer type", Some(ty), "int")?;
            eq("Integer", int(Some(x)), 6007)?;
            let (ty, x) = iface(field(v, "Err")).ok_or("Err: not an interface")?;
            eq("Err type", Some(ty), "*main.ZooError")?;
            if let Data::Pointer {
                object: Some(o), ..
            } = &x.data
            {
                eq("Err target type", o.type_name.as_deref(), "main.ZooError")?;
            } else {
                return Err(format!("Err: {:?}", x.data));
            }
            eq(
                "Str type",
                iface(field(v, "Str")).map(|x| x.0),
                "*main.Named",
            )?;
            eq(
                "Any type",
                iface(field(v, "Any")).map(|x| x.0),
                "*main.FieldPtrTarget",
            )?;
            let (ty, x) = iface(field(v, "Boxed")).ok_or("Boxed: not an interface")?;
            eq("Boxed type", Some(ty), "main.FieldBoxed")?;
            eq("Boxed.X", int(field(x, "X")), 2007)?;
            eq("Boxed.Y", int(field(x, "Y")), 9)?;
            let (_, x) = iface(field(v, "Func")).ok_or("Func: not an interface")?;
            eq("Func", func_name(Some(x)), "main.namedFunc")?;
            let _ = t;
            Ok(())
        }),
        ("any_slice", |v, t| {
            let Data::Array { len, elems } = &v.data else {
                return Err(format!("not an array: {:?}", v.data));
            };
            eq("len", Some(*len), 7)?;
            let e = |i: usize| iface(elems.get(i));
            eq("[0]", e(0).and_then(|x| int(Some(x.1))), 5007)?;
            eq(
                "[1]",
                e(1).and_then(|x| text(Some(x.1))),
                "beta string built at run time 1000",
            )?;
            eq("[2] type", e(2).map(|x| x.0), "*main.AnyPtrTarget")?;
            eq(
                "[2]",
                e(2).and_then(|x| ptr(Some(x.1))),
                named(t, "any_ptr_target").unwrap_or(0),
            )?;
            eq("[3].X", e(3).and_then(|x| int(field(x.1, "X"))), 1007)?;
            eq(
                "[4]",
                e(4).and_then(|x| func_name(Some(x.1))),
                "main.namedFunc",
            )?;
            eq(
                "[5].Target",
                e(5).and_then(|x| ptr(field(x.1, "Target"))),
                named(t, "any_direct_target").unwrap_or(0),
            )?;
            eq("[6] type", e(6).map(|x| x.0), "*main.ZooError")
        }),
        ("captured_0", |v, _| eq("ID", int(field(v, "ID")), 0)),
        ("captured_1", |v, _| eq("ID", int(field(v, "ID")), 1)),
        ("captured_2", |v, _| eq("ID", int(field(v, "ID")), 2)),
        ("method_recv", |v, _| eq("ID", int(field(v, "ID")), 77)),
        ("box_int_head", |v, _| eq("Val", int(field(v, "Val")), 0)),
        ("box_str_head", |v, _| {
            eq("Val", text(field(v, "Val")), "box-7")
        }),
        ("finalized", |v, _| eq("ID", int(field(v, "ID")), 5)),
        ("sent_item", |v, _| eq("ID", int(field(v, "ID")), 11)),
        ("stack_held", |v, _| eq("ID", int(field(v, "ID")), 12)),
        ("mid_struct_slice", |v, _| {
            let Data::Array { len, elems } = &v.data else {
                return Err(format!("not an array: {:?}", v.data));
            };
            if *len < 40 {
                return Err(format!("len {len} < 40"));
            }
            match elems.first().and_then(|e| field(e, "Target")) {
                Some(Value {
                    data:
                        Data::Pointer {
                            object: Some(o), ..
                        },
                    ..
                }) => eq(
                    "[0].Target type",
                    o.type_name.as_deref(),
                    "main.MidSliceTarget",
                ),
                x => Err(format!("[0].Target: {x:?}")),
            }
        }),
    ]
}

/// Named objects whose type typing leaves unknown on some case, reported rather
/// than asserted there (see tests/typing.rs).
const MAY_BE_UNTYPED: &[&str] = &["interior_obj", "captured_0", "captured_1", "captured_2"];

/// A header-typed array's length comes from the slot size (`[42]T` for a 40-element
/// slice in a 1016-byte slot): accept `[M]T` for `[N]T` when N ≤ M and M values fit.
fn same_type(got: &str, want: &str, obj_size: u64) -> bool {
    if got == want {
        return true;
    }
    let split = |s: &str| -> Option<(u64, String)> {
        let (n, t) = s.strip_prefix('[')?.split_once(']')?;
        Some((n.parse().ok()?, t.to_string()))
    };
    match (split(got), split(want)) {
        (Some((m, t1)), Some((n, t2))) => {
            t1 == t2 && m >= n && n > 0 && m * (obj_size / m) <= obj_size
        }
        _ => false,
    }
}

fn open(case: &testkit::Case) -> Core {
    Core::open_with(
        case.core_path(),
        &OpenOptions::new().executable(case.exe_path()),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", case.name))
}

#[test]
fn named_objects_decode_to_recorded_types_and_values() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in testkit::cases() {
        if case.program() != "zoo" {
            continue;
        }
        let core = open(&case);
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let Ok(heap) = Heap::new(&proc) else {
            println!("{}: heap not located, skipped", case.name);
            continue;
        };
        let typing = Typing::compute(&proc, &heap).unwrap_or_else(|e| panic!("{e}"));
        let dec = Decoder::new(&proc, Some(&heap), Some(&typing));
        let truth = case.truth();
        let dwarf = dec.has_dwarf();
        let mut ok = 0;
        for (name, check) in checks() {
            let Some(addr) = named(&truth, name) else {
                continue;
            };
            let want_ty = truth["named_objects"]
                .as_array()
                .and_then(|a| a.iter().find(|o| o["name"] == name))
                .and_then(|o| o["type"].as_str())
                .unwrap_or("");
            let Some((id, off)) = heap.find_object(addr) else {
                failures.push(format!("{}: {name}: no object at {addr:#x}", case.name));
                continue;
            };
            let v = dec.object(id);
            let lenient = !dwarf || MAY_BE_UNTYPED.contains(&name);
            let Some(v) = v else {
                if lenient {
                    println!("{}: {name}: untyped (not asserted)", case.name);
                } else {
                    failures.push(format!("{}: {name}: untyped", case.name));
                }
                continue;
            };
            // The value at the recorded address (the object itself, or the typed
            // array of its elements).
            let res = if v.addr == addr || off == 0 {
                if !same_type(&v.type_name, want_ty, heap.object(id).map_or(0, |o| o.size)) {
                    Err(format!("type {} (want {want_ty})", v.type_name))
                } else {
                    check(&v, &truth)
                }
            } else {
                Err(format!("decoded at {:#x}, recorded {addr:#x}", v.addr))
            };
            match res {
                Ok(()) => ok += 1,
                // A type shown must be right, with or without DWARF.
                Err(e) if MAY_BE_UNTYPED.contains(&name) => {
                    println!("{}: {name}: {e} (not asserted)", case.name)
                }
                Err(e) => failures.push(format!("{}: {name}: {e}", case.name)),
            }
        }
        println!("{}: {ok} named objects match", case.name);
        checked += 1;
    }
    assert!(checked > 0, "no zoo case");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn globals_are_listed_with_recorded_addresses_types_and_values() {
    let mut failures = Vec::new();
    for case in testkit::cases() {
        let core = open(&case);
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let heap = Heap::new(&proc).ok();
        let dec = Decoder::new(&proc, heap.as_ref(), None).with_limits(Limits {
            depth: 2,
            elems: 1 << 14,
            ..Limits::default()
        });
        let truth = case.truth();
        let globals = dec.globals();
        if globals.is_empty() {
            println!("{}: no DWARF and no symbol table: no globals", case.name);
            continue;
        }
        let Some(want) = truth["globals"].as_object() else {
            continue;
        };
        let mut fail = |m: String| failures.push(format!("{}: {m}", case.name));
        for (name, addr) in want {
            let addr = addr.as_u64().unwrap_or(0);
            match globals.iter().find(|g| &g.name == name) {
                Some(g) if g.addr == Some(addr) => {}
                Some(g) => fail(format!("{name} at {:?}, want {addr:#x}", g.addr)),
                None => fail(format!("{name} not listed")),
            }
        }
        if !dec.has_dwarf() {
            println!(
                "{}: {} truth globals at their addresses (no DWARF)",
                case.name,
                want.len()
            );
            continue;
        }
        let get = |n: &str| globals.iter().find(|g| g.name == n);
        let ty = |n: &str| get(n).and_then(|g| g.type_name.clone());
        let val = |n: &str| get(n).and_then(|g| g.value.as_ref());
        if case.program() == "zoo" {
            for (n, t) in [
                ("main.gList", "*main.ListNode"),
                ("main.gBigMap", "map[int]*main.MapVal"),
                ("main.gBigKV", "map[main.BigMapKey]main.BigMapVal"),
                ("main.gStrAlpha", "string"),
                ("main.gAny", "[]interface {}"),
                ("main.gChan", "chan *main.ChanItem"),
                ("main.gFuncs", "[]func() int64"),
            ] {
                if ty(n).as_deref() != Some(t) {
                    fail(format!("{n}: type {:?}, want {t}", ty(n)));
                }
            }
            if ptr(val("main.gList")) != named(&truth, "list_head") {
                fail(format!("gList: {:?}", val("main.gList")));
            }
            let note = |n: &str| {
                truth["named_objects"]
                    .as_array()
                    .and_then(|a| a.iter().find(|o| o["name"] == n))
                    .and_then(|o| o["note"].as_str())
                    .and_then(|s| s.strip_prefix("string data; value: "))
                    .map(str::to_string)
            };
            for (g, n) in [
                ("main.gStrAlpha", "str_alpha"),
                ("main.gStrBeta", "str_beta"),
            ] {
                if text(val(g)).map(str::to_string) != note(n) {
                    fail(format!("{g}: {:?}", text(val(g))));
                }
            }
            // 10 *main.ChanItem buffered, sent with ID 0..9: oldest first.
            match val("main.gChan").map(|v| &v.data) {
                Some(Data::Chan {
                    ptr,
                    len: 10,
                    cap: 16,
                    elems,
                }) if Some(*ptr) == named(&truth, "chan_hchan") => {
                    let ids: Vec<Option<i64>> = elems
                        .iter()
                        .map(|e| {
                            ptr_target(&dec, heap.as_ref(), e).and_then(|t| int(field(&t, "ID")))
                        })
                        .collect();
                    if ids != (0..10).map(Some).collect::<Vec<_>>() {
                        fail(format!("gChan buffered IDs {ids:?}"));
                    }
                }
                x => fail(format!("gChan: {x:?}")),
            }
            for m in truth["maps"].as_array().into_iter().flatten() {
                let name = m["name"].as_str().unwrap_or("");
                let g = match name {
                    "bigmap" => "main.gBigMap",
                    "bigkv" => "main.gBigKV",
                    "growmap" => "main.gGrowMap",
                    _ => continue,
                };
                let Some(Data::Map {
                    ptr,
                    len,
                    entries,
                    truncated,
                }) = val(g).map(|v| &v.data)
                else {
                    fail(format!("{g}: {:?}", val(g).map(|v| v.data.kind())));
                    continue;
                };
                let keys: HashSet<String> =
                    entries.iter().map(|e| format!("{:?}", e.0.data)).collect();
                if Some(*ptr) != m["addr"].as_u64()
                    || Some(*len) != m["len"].as_u64()
                    || keys.len() as u64 != *len
                    || *truncated
                {
                    fail(format!(
                        "{g}: ptr {ptr:#x} len {len} distinct keys {} truncated {truncated}, truth {m}",
                        keys.len()
                    ));
                }
                let mut bad = 0;
                for (k, v) in entries {
                    let ok = match name {
                        "bigmap" => {
                            // value ID == key: decode the *MapVal's target.
                            let t = ptr_target(&dec, heap.as_ref(), v);
                            t.is_some_and(|t| int(field(&t, "ID")) == int(Some(k)))
                        }
                        "bigkv" => {
                            matches!(&k.data, Data::Array { len: 20, .. })
                                && v.type_name == "main.BigMapVal"
                                && matches!(
                                    field(v, "Target").map(|t| &t.data),
                                    Some(Data::Pointer {
                                        object: Some(_),
                                        ..
                                    })
                                )
                        }
                        _ => v.type_name == "*main.GrowVal",
                    };
                    if !ok {
                        bad += 1;
                    }
                }
                if bad > 0 {
                    fail(format!("{g}: {bad} entries do not match the program"));
                }
            }
        }
        println!(
            "{}: {} globals, truth globals checked",
            case.name,
            globals.len()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The heap object a pointer value targets, decoded with its runtime type named by
/// the map's value type (`*T` → `T`).
fn ptr_target(dec: &Decoder<'_, '_>, heap: Option<&Heap<'_>>, v: &Value) -> Option<Value> {
    let Data::Pointer { target, .. } = v.data else {
        return None;
    };
    let _ = heap?;
    let elem = v.type_name.strip_prefix('*')?;
    let g = dec.type_by_name(elem)?;
    Some(dec.decode(target, g))
}

#[test]
fn frame_locals_match_recorded_objects() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in testkit::cases() {
        if case.program() != "zoo" {
            continue;
        }
        let core = open(&case);
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let heap = Heap::new(&proc).ok();
        let dec = Decoder::new(&proc, heap.as_ref(), None);
        if !dec.has_dwarf() {
            println!("{}: no DWARF: {:?}", case.name, dec.dwarf_error());
            continue;
        }
        let truth = case.truth();
        let gid = |role: &str| {
            truth["goroutines"]
                .as_array()
                .and_then(|a| a.iter().find(|g| g["role"] == role))
                .and_then(|g| g["id"].as_u64())
        };
        let gs: Vec<_> = proc
            .goroutines()
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(Result::ok)
            .collect();
        for (role, func, var, obj) in [
            ("chan-send", "main.chanSender", "item", "sent_item"),
            ("chan-receive", "main.chanReceiver", "held", "stack_held"),
        ] {
            let want = named(&truth, obj);
            let Some(g) = gid(role).and_then(|id| gs.iter().find(|g| g.id == id)) else {
                failures.push(format!("{}: no {role} goroutine", case.name));
                continue;
            };
            let stack = g.stack(&proc);
            let Some(f) = stack.frames.iter().find(|f| f.function == func) else {
                failures.push(format!("{}: no {func} frame", case.name));
                continue;
            };
            let vars = dec.frame_variables(f).unwrap_or_default();
            let v = vars.iter().find(|v| v.name == var);
            let got = v.and_then(|v| ptr(v.value.as_ref()));
            if got != want || v.and_then(|v| v.type_name.clone()).is_none() {
                failures.push(format!(
                    "{}: {func} {var} = {got:?}, want {want:?} ({:?})",
                    case.name,
                    vars.iter().map(|v| (&v.name, &v.note)).collect::<Vec<_>>()
                ));
            }
        }
        // Every variable decoded from a stack slot, inlined calls' included, lies
        // in its goroutine's stack.
        let (mut slots, mut inlined) = (0, 0);
        for g in &gs {
            for f in g.stack(&proc).frames {
                for v in dec.frame_variables(&f).unwrap_or_default() {
                    let Some(a) = v.addr else { continue };
                    slots += 1;
                    if f.inlined {
                        inlined += 1;
                    }
                    if a < g.stack_lo || a.saturating_add(v.size) > g.stack_hi {
                        failures.push(format!(
                            "{}: goroutine {} {} {} at {a:#x} outside its stack {:#x}-{:#x}",
                            case.name, g.id, f.function, v.name, g.stack_lo, g.stack_hi
                        ));
                    }
                }
            }
        }
        checked += 1;
        println!(
            "{}: frame locals match; {slots} variables in stack slots ({inlined} of inlined calls)",
            case.name
        );
    }
    assert!(checked > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn decoding_any_type_anywhere_is_bounded_and_never_panics() {
    let case = testkit::find_case(|c| c.name == "zoo-go1.27.3-default-crash-amd64")
        .or_else(|| testkit::cases().into_iter().next())
        .expect("a corpus case");
    let core = open(&case);
    let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let heap = Heap::new(&proc).unwrap_or_else(|e| panic!("{e}"));
    let typing = Typing::compute(&proc, &heap).unwrap_or_else(|e| panic!("{e}"));
    let limits = Limits {
        depth: 3,
        elems: 4,
        string_bytes: 16,
        values: 64,
    };
    let dec = Decoder::new(&proc, Some(&heap), Some(&typing)).with_limits(limits);
    let somewhere = heap.objects().nth(100).map_or(0, |o| o.addr);
    let mut unreadable = 0;
    for t in typing.types() {
        for addr in [0u64, 8, somewhere, u64::MAX - 7] {
            let v = dec.decode(addr, t.addr);
            fn count(v: &Value) -> u64 {
                1 + match &v.data {
                    Data::Struct { fields } => fields.iter().map(|f| count(&f.value)).sum(),
                    Data::Array { elems, .. } | Data::Slice { elems, .. } => {
                        elems.iter().map(count).sum()
                    }
                    Data::Interface { value: Some(x), .. } => count(x),
                    Data::Map { entries, .. } => {
                        entries.iter().map(|(k, x)| count(k) + count(x)).sum()
                    }
                    _ => 0,
                }
            }
            // Everything produced is bounded by the value budget (×4 for the
            // unexpanded leaves created past it).
            assert!(
                count(&v) <= 4 * limits.values + 1,
                "{}: {} values",
                t.name,
                count(&v)
            );
            if addr == 0 && matches!(v.data, Data::Unreadable(_)) {
                unreadable += 1;
            }
        }
    }
    println!(
        "{} types decoded at 4 addresses; {unreadable} unreadable at 0",
        typing.types().len()
    );
    assert!(unreadable > 0, "nothing reported unreadable at address 0");
}

/// Traceback frames: (goroutine id, fp) → the printed argument words (`None` for
/// words the runtime marks `?`, possibly stale), for frames whose arguments print
/// as plain words (no `{…}` aggregates, no `...`).
fn traceback_args(text: &str) -> std::collections::HashMap<(u64, u64), Vec<Option<u64>>> {
    let mut out = std::collections::HashMap::new();
    let mut gid = 0u64;
    let mut call: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("goroutine ") {
            gid = rest
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            call = None;
            continue;
        }
        if let Some(l) = line.strip_prefix('\t') {
            let (Some(c), Some(fp)) = (call.take(), l.split(" fp=").nth(1)) else {
                continue;
            };
            let fp = fp.split(' ').next().unwrap_or("");
            let Ok(fp) = u64::from_str_radix(fp.trim_start_matches("0x"), 16) else {
                continue;
            };
            let Some(args) = c.rsplit_once('(').map(|x| x.1.trim_end_matches(')')) else {
                continue;
            };
            if args.is_empty() || args.contains('{') || args.contains("...") {
                continue;
            }
            let words = args
                .split(", ")
                .map(|w| {
                    if w.ends_with('?') {
                        None
                    } else {
                        u64::from_str_radix(w.trim_start_matches("0x"), 16).ok()
                    }
                })
                .collect();
            out.insert((gid, fp), words);
            continue;
        }
        call = Some(line.to_string());
    }
    out
}

/// A parameter's value as the runtime prints an argument word: its bits at its size.
fn word_of(v: &Value) -> Option<u64> {
    let mask = |x: u64| {
        if v.size >= 8 {
            x
        } else {
            x & ((1u64 << (8 * v.size)) - 1)
        }
    };
    match v.data {
        Data::Int(i) => Some(mask(i as u64)),
        Data::Uint(u) => Some(mask(u)),
        Data::Bool(b) => Some(u64::from(b)),
        Data::Pointer { target, .. } => Some(target),
        Data::Chan { ptr, .. } | Data::Func { ptr, .. } | Data::Map { ptr, .. } => Some(ptr),
        _ => None,
    }
}

#[test]
fn frame_parameters_match_the_tracebacks_argument_words() {
    let mut total = 0;
    let mut failures = Vec::new();
    // Crash cores of builds with DWARF (the committed ones if this corpus has none).
    let with_dwarf = |c: &testkit::Case| {
        c.producer() == "crash" && c.mode() != "nodwarf" && c.mode() != "stripped"
    };
    for case in testkit::cases_where(with_dwarf) {
        let core = open(&case);
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let dec = Decoder::new(&proc, None, None);
        if !dec.has_dwarf() {
            continue;
        }
        let tb = traceback_args(&case.traceback_text());
        let (mut compared, mut frames, mut from_registers) = (0, 0, 0);
        for g in proc
            .goroutines()
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            let stack = g.stack(&proc);
            let regs = dec.stack_registers(&g, &stack.frames);
            for (f, r) in stack.frames.iter().zip(&regs) {
                if f.inlined {
                    continue;
                }
                let Some(words) = tb.get(&(g.id, f.fp)) else {
                    continue;
                };
                let Ok(vars) = dec.frame_variables_with(f, r.as_ref()) else {
                    continue;
                };
                let params: Vec<_> = vars
                    .iter()
                    .filter(|v| v.kind == gocore::VarKind::Param)
                    .collect();
                // Only frames whose parameters are each one printed word.
                if params.len() != words.len() || params.iter().any(|p| p.size == 0 || p.size > 8) {
                    continue;
                }
                frames += 1;
                for (p, w) in params.iter().zip(words) {
                    let (Some(w), Some(v)) = (w, p.value.as_ref()) else {
                        continue;
                    };
                    let Some(got) = word_of(v) else { continue };
                    compared += 1;
                    if p.addr.is_none() {
                        from_registers += 1;
                    }
                    if got != *w {
                        failures.push(format!(
                            "{}: goroutine {} {} {} = {got:#x}, traceback {w:#x}",
                            case.name, g.id, f.function, p.name
                        ));
                    }
                }
            }
        }
        println!(
            "{}: {compared} parameter values in {frames} frames equal the traceback's words \
             ({from_registers} of them from registers)",
            case.name
        );
        total += compared;
    }
    assert!(total > 0, "no parameter compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The register dumps of a SIGQUIT traceback: per signalled thread whose current
/// goroutine is a real one, (goroutine id, PC, register name → value) as the
/// runtime printed them from the signal context.
fn register_dumps(text: &str) -> Vec<(u64, u64, std::collections::HashMap<String, u64>)> {
    let mut out = Vec::new();
    let mut cur: Option<(Option<u64>, u64, std::collections::HashMap<String, u64>)> = None;
    let mut flush = |c: Option<(Option<u64>, u64, std::collections::HashMap<String, u64>)>| {
        if let Some((Some(g), pc, regs)) = c {
            if g != 0 && !regs.is_empty() {
                out.push((g, pc, regs));
            }
        }
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("PC=") {
            flush(cur.take());
            let pc = rest.split(' ').next().unwrap_or("");
            let pc = u64::from_str_radix(pc.trim_start_matches("0x"), 16).unwrap_or(0);
            cur = Some((None, pc, std::collections::HashMap::new()));
            continue;
        }
        if line.starts_with("-----") {
            flush(cur.take());
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        if let Some(rest) = line.strip_prefix("goroutine ") {
            if c.0.is_none() {
                c.0 = rest.split(' ').next().and_then(|n| n.parse().ok());
            }
            continue;
        }
        let mut it = line.split_whitespace();
        if let (Some(name), Some(v), None) = (it.next(), it.next(), it.next()) {
            if let (true, Ok(v)) = (
                name.chars().all(|ch| ch.is_ascii_alphanumeric()),
                u64::from_str_radix(v.trim_start_matches("0x"), 16),
            ) {
                if v.to_string() != name && line.contains("0x") {
                    c.2.insert(name.to_string(), v);
                }
            }
        }
    }
    flush(cur);
    out
}

#[test]
fn innermost_registers_match_the_signal_contexts_the_runtime_printed() {
    // SIGQUIT dumps: each signalled thread prints its goroutine and the registers
    // of the interrupted context (the kernel's signal frame).
    let mut compared = 0;
    let mut goroutines = 0;
    let mut failures = Vec::new();
    for case in testkit::cases_where(|c| c.producer() == "sigquit") {
        let dumps = register_dumps(&case.traceback_text());
        let core = open(&case);
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let dec = Decoder::new(&proc, None, None);
        let gs: Vec<_> = proc
            .goroutines()
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
            .collect();
        for (gid, pc, printed) in &dumps {
            let Some(g) = gs.iter().find(|g| g.id == *gid) else {
                failures.push(format!("{}: goroutine {gid} not found", case.name));
                continue;
            };
            if g.status != gocore::Status::Running {
                // A goroutine in a system call: its frames start from
                // g.syscallsp, whose registers nothing recorded.
                continue;
            }
            let stack = g.stack(&proc);
            let regs = dec.stack_registers(g, &stack.frames);
            let Some(Some(r)) = regs.first() else {
                failures.push(format!(
                    "{}: running goroutine {gid}: no registers for its innermost frame",
                    case.name
                ));
                continue;
            };
            goroutines += 1;
            if r.pc() != *pc {
                failures.push(format!(
                    "{}: goroutine {gid} pc {:#x}, printed {pc:#x}",
                    case.name,
                    r.pc()
                ));
            }
            for (name, v) in r.iter() {
                // The runtime prints no floating-point registers.
                if name.starts_with("xmm") || name.starts_with('v') {
                    continue;
                }
                // The runtime's names: arm64 r0…r29, lr; amd64 as DWARF's.
                let printed_name = match name.strip_prefix('x') {
                    Some("30") => "lr".to_string(),
                    Some(n) => format!("r{n}"),
                    None => name.clone(),
                };
                let Some(&want) = printed.get(&printed_name) else {
                    failures.push(format!("{}: {printed_name} not printed", case.name));
                    continue;
                };
                compared += 1;
                if v != want {
                    failures.push(format!(
                        "{}: goroutine {gid} {name} = {v:#x}, printed {want:#x} ({:?})",
                        case.name,
                        r.source()
                    ));
                }
            }
        }
        println!(
            "{}: {} register dumps; registers compared so far {compared}",
            case.name,
            dumps.len()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(goroutines > 0 && compared > 0, "no register compared");
    println!("{compared} registers of {goroutines} running goroutines equal the printed ones");
}

/// Builds `tests/regprog` with `go` for `arch` (arm64 runs under `qemu-aarch64`),
/// runs it to a core (`wait`: SIGQUIT after READY; otherwise the panic) under
/// `GOTRACEBACK=crash`, and returns (core, executable, stderr), or why not.
fn regprog_core(
    go: &std::path::Path,
    dir: &std::path::Path,
    arch: &str,
    wait: bool,
) -> Result<(std::path::PathBuf, std::path::PathBuf, String), String> {
    use std::process::{Command, Stdio};
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regprog");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let exe = dir.join("regprog");
    let st = Command::new(go)
        .args(["build", "-o"])
        .arg(&exe)
        .arg(".")
        .current_dir(&src)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOARCH", arch)
        .env("CGO_ENABLED", "0")
        .status()
        .map_err(|e| format!("{}: {e}", go.display()))?;
    if !st.success() {
        return Err(format!("go build failed: {st}"));
    }
    for e in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("core") || n.ends_with(".core") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let mut cmd = Command::new("sh");
    let run = if arch == "arm64" {
        "ulimit -c unlimited; exec qemu-aarch64 ./regprog 2>stderr.txt"
    } else {
        "ulimit -c unlimited; exec ./regprog 2>stderr.txt"
    };
    cmd.args(["-c", run])
        .current_dir(dir)
        .env("GOTRACEBACK", "crash")
        .env("GOMAXPROCS", "4")
        .stdout(Stdio::piped());
    if wait {
        cmd.env("MODE", "wait");
    }
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    if wait {
        use std::io::BufRead;
        let out = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if line.trim() != "READY" {
            return Err(format!("expected READY, got {line:?}"));
        }
        Command::new("kill")
            .args(["-QUIT", &child.id().to_string()])
            .status()
            .map_err(|e| e.to_string())?;
    }
    child.wait().map_err(|e| e.to_string())?;
    let stderr = std::fs::read_to_string(dir.join("stderr.txt")).map_err(|e| e.to_string())?;
    let core = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .find(|e| {
            // Under qemu the guest's core is qemu_*.core (a `core` is qemu's own).
            let n = e.file_name().to_string_lossy().into_owned();
            if arch == "arm64" {
                n.starts_with("qemu_") && n.ends_with(".core")
            } else {
                n.starts_with("core")
            }
        })
        .map(|e| e.path())
        .ok_or_else(|| {
            format!(
                "no core in {} (core_pattern {:?})",
                dir.display(),
                std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default()
            )
        })?;
    Ok((core, exe, stderr))
}

/// Register-located parameters and locals against what the program printed and,
/// with SIGQUIT, the registers the runtime printed for the signalled thread: the
/// nosplit spinner's innermost frame (thread registers or signal context) and the
/// preemptible spinner's frame below `runtime.asyncPreempt` (its saved registers).
/// Builds `tests/regprog` with every toolchain in `~/.cache/gocore/toolchains`
/// for amd64 and, when `qemu-aarch64` is installed, arm64 (run under qemu), and
/// needs cores written to the working directory (`core_pattern` `core`).
#[test]
#[ignore = "builds and runs a Go program with each installed toolchain to make cores"]
fn register_variables_of_a_live_program() {
    let home = std::env::var("HOME").expect("HOME");
    let root = std::path::Path::new(&home).join(".cache/gocore/toolchains");
    let mut gos: Vec<_> = std::fs::read_dir(&root)
        .expect("toolchains")
        .flatten()
        .map(|e| e.path().join("bin/go"))
        .filter(|p| p.exists())
        .collect();
    gos.sort();
    assert!(!gos.is_empty(), "no toolchain under {}", root.display());
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("regprog");
    let (mut total, mut from_regs, mut against_dump) = (0, 0, 0);
    let mut sources: std::collections::BTreeMap<String, usize> = Default::default();
    let mut failures = Vec::new();
    let qemu = std::process::Command::new("qemu-aarch64")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let arches: &[&str] = if qemu {
        &["amd64", "arm64"]
    } else {
        &["amd64"]
    };
    for (go, arch) in gos.iter().flat_map(|g| arches.iter().map(move |a| (g, *a))) {
        let ver = go
            .parent()
            .and_then(|p| p.parent())
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for wait in [false, true] {
            let name = format!("{ver}-{}-{arch}", if wait { "sigquit" } else { "crash" });
            let (core_path, exe, stderr) = regprog_core(go, &tmp.join(&name), arch, wait)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let truth_p = stderr
                .lines()
                .find_map(|l| l.strip_prefix("TRUTH p="))
                .and_then(|r| r.split(' ').next())
                .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
                .unwrap_or_else(|| panic!("{name}: no TRUTH line"));
            let dumps = register_dumps(&stderr);
            let core = Core::open_with(&core_path, &OpenOptions::new().executable(&exe))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let proc = Process::new(&core).unwrap_or_else(|e| panic!("{name}: {e}"));
            let dec = Decoder::new(&proc, None, None);
            let (mut here, mut here_regs) = (0, 0);
            for g in proc
                .goroutines()
                .unwrap_or_else(|e| panic!("{e}"))
                .flatten()
            {
                let stack = g.stack(&proc);
                let regs = dec.stack_registers(&g, &stack.frames);
                for (f, r) in stack.frames.iter().zip(&regs) {
                    let spinner = match f.function.as_str() {
                        "main.spinNS" => "nosplit",
                        "main.spinPre" => "preemptible",
                        _ => continue,
                    };
                    let vars = dec
                        .frame_variables_with(f, r.as_ref())
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    let dump = dumps.iter().find(|d| d.0 == g.id).map(|d| &d.2);
                    println!(
                        "  {name}: goroutine {} ({}) {spinner}: registers {}",
                        g.id,
                        g.state(),
                        r.as_ref().map_or("none", |r| r.source().name())
                    );
                    for v in &vars {
                        let float = match v.value.as_ref().map(|x| &x.data) {
                            Some(Data::Float(x)) => Some(x.to_bits()),
                            _ => None,
                        };
                        let Some(got) = v.value.as_ref().and_then(word_of).or(float) else {
                            continue;
                        };
                        let want = match v.name.as_str() {
                            "p" => Some(truth_p),
                            "b" => Some(1),
                            "f" => Some(3.25f64.to_bits()),
                            _ => None,
                        };
                        let in_reg = v.addr.is_none();
                        if let Some(w) = want {
                            here += 1;
                            here_regs += usize::from(in_reg);
                            if let (true, Some(r)) = (in_reg, r) {
                                *sources
                                    .entry(format!("{spinner}: {}", r.source().name()))
                                    .or_default() += 1;
                            }
                            if got != w {
                                failures.push(format!(
                                    "{name}: {spinner} {} = {got:#x}, the program says {w:#x} ({:?})",
                                    v.name, v.note
                                ));
                            }
                        }
                        // A variable wholly in one register equals what the
                        // runtime printed for it from the signal context (arm64:
                        // x0 printed as r0).
                        let reg = v
                            .note
                            .as_deref()
                            .and_then(|n| n.strip_prefix("in register "))
                            .and_then(|n| n.split(',').next())
                            .map(|r| match r.strip_prefix('x') {
                                Some(n) => format!("r{n}"),
                                None => r.to_string(),
                            });
                        if let (Some(reg), Some(dump), true) = (reg, dump, in_reg) {
                            let Some(&w) = dump.get(&reg) else { continue };
                            let w = if v.size >= 8 {
                                w
                            } else {
                                w & ((1 << (8 * v.size)) - 1)
                            };
                            against_dump += 1;
                            if got != w {
                                failures.push(format!(
                                    "{name}: {spinner} {} in {reg} = {got:#x}, printed {w:#x}",
                                    v.name
                                ));
                            }
                        }
                    }
                }
            }
            println!("{name}: {here} parameters equal the program's values, {here_regs} of them from registers");
            if here_regs == 0 {
                failures.push(format!("{name}: no parameter from registers"));
            }
            total += here;
            from_regs += here_regs;
            // Cores are tens of MB each (and qemu leaves its own): removed once
            // checked.
            drop(proc);
            drop(core);
            if let Some(dir) = core_path.parent() {
                for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    if n.starts_with("core") || n.ends_with(".core") {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
    }
    println!(
        "{total} parameters compared ({from_regs} from registers: {sources:?}); {against_dump} \
         register variables equal the runtime's register dump"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
