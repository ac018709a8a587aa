//! `gocore histogram CORE`: heap objects grouped by type — from malloc headers and
//! `largeType`, and propagated from typed roots along typed pointers
//! ([`gocore::Typing`]) — else by size class: count and bytes. Every allocated
//! object by default (as the heap holds them: the unswept garbage too); `--live`
//! counts only the objects reachable from the roots ([`gocore::Reachability`]),
//! marked beside the typing.

use std::collections::HashMap;
use std::process::ExitCode;

use clap::Args as ClapArgs;
use serde_json::json;

use crate::cli::CoreArgs;
use crate::output::{human_bytes, print_json};

/// Options of `gocore histogram`.
#[derive(Debug, ClapArgs)]
pub struct HistogramArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// Count only live objects (reachable from the roots; marks the heap first).
    #[arg(long)]
    pub live: bool,
}

pub fn run(args: &HistogramArgs) -> anyhow::Result<ExitCode> {
    let a = &args.core;
    super::objects::with_heap(a, |proc, heap| {
        let phase = if args.live {
            crate::progress::phase_over(
                "typing and marking objects",
                heap.progress(),
                &[gocore::Stage::Typing, gocore::Stage::Marking],
            )
        } else {
            crate::progress::phase_over("typing objects", heap.progress(), &[gocore::Stage::Typing])
        };
        let (typing, reach) = super::top::beside(
            || Some(gocore::Typing::compute(proc, heap)),
            || {
                args.live.then(|| {
                    let roots = gocore::RootSet::collect(proc, heap)?;
                    for w in roots.warnings() {
                        eprintln!("gocore: warning: roots: {w}");
                    }
                    gocore::Reachability::compute(proc, heap, roots.roots())
                })
            },
        );
        drop(phase);
        let reach = reach.transpose()?;
        let live = |id| reach.as_ref().is_none_or(|r| r.is_live(id));
        let typing = match typing {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                eprintln!("gocore: warning: types only from allocation headers: {e}");
                None
            }
            None => {
                eprintln!("gocore: warning: types only from allocation headers: typing failed");
                None
            }
        };
        // Counted by a small key per object (a type id, an allocation type, a size
        // class), named once per key, then merged by name.
        #[derive(PartialEq, Eq, Hash)]
        enum Key {
            Typed(u32, u64),
            Untyped(u64, u64),
        }
        let types = typing.as_ref().map_or(&[][..], |t| t.types());
        // Typed objects are counted per type id, without hashing: all of them but
        // `[N]T` arrays of a descriptor type, whose name has N in it. The element
        // counts seen are kept as the group's size (one count, or `mixed`).
        #[derive(Clone, Copy, Default)]
        struct Tally {
            n: u64,
            bytes: u64,
            elems: u64,
            mixed: bool,
        }
        let mut typed: Vec<Tally> = vec![Tally::default(); types.len()];
        let mut other: HashMap<Key, (u64, u64, gocore::Object)> = HashMap::new();
        for obj in heap.objects() {
            if !live(obj.id) {
                continue;
            }
            let slot = heap.span(&obj).elemsize;
            let t = typing.as_ref().and_then(|t| t.object_type(obj.id));
            let key = match t {
                Some(t) => {
                    let elems = t.elems.max(1);
                    let by_id = elems == 1
                        || types
                            .get(t.ty.0 as usize)
                            .is_some_and(|e| e.kind != gocore::EntryKind::Descriptor);
                    if let Some(e) = typed.get_mut(t.ty.0 as usize).filter(|_| by_id) {
                        if e.n == 0 {
                            e.elems = elems;
                        } else if e.elems != elems {
                            e.mixed = true;
                        }
                        e.n += 1;
                        e.bytes += slot;
                        continue;
                    }
                    Key::Typed(t.ty.0, t.elems)
                }
                None => match heap.object_type(&obj) {
                    Some(h) => Key::Untyped(h.addr, 0),
                    None => Key::Untyped(0, u64::from(obj.span)),
                },
            };
            let e = other.entry(key).or_insert((0, 0, obj));
            e.0 += 1;
            e.1 += slot;
        }
        // Per name: count, bytes (whole slots) and the size of one value of the type
        // (`None` for size classes, allocation types without propagation, and names
        // whose groups disagree).
        let mut groups: HashMap<String, (u64, u64, Option<u64>)> = HashMap::new();
        let mut add = |k: String, n: u64, b: u64, size: Option<u64>| {
            let e = groups.entry(k).or_insert((0, 0, size));
            if e.2 != size {
                e.2 = None;
            }
            e.0 += n;
            e.1 += b;
        };
        let size_of = |ty: u32, elems: u64| {
            types
                .get(ty as usize)
                .map(|e| e.size.saturating_mul(elems.max(1)))
        };
        for (i, t) in typed.iter().enumerate() {
            if t.n > 0 {
                // Values of different counts differ in size, unless the type has none.
                let size = match size_of(i as u32, 1) {
                    Some(0) => Some(0),
                    _ if t.mixed => None,
                    _ => size_of(i as u32, t.elems),
                };
                let name = types.get(i).map_or_else(String::new, |e| e.name.clone());
                add(name, t.n, t.bytes, size);
            }
        }
        for (key, (n, b, obj)) in other {
            let name = typing
                .as_ref()
                .and_then(|t| t.object_type_name(obj.id))
                .unwrap_or_else(|| super::objects::type_label(heap, &obj));
            let size = match key {
                Key::Typed(ty, elems) => size_of(ty, elems),
                Key::Untyped(..) => None,
            };
            add(name, n, b, size);
        }
        let mut rows: Vec<(String, u64, u64, Option<u64>)> = groups
            .into_iter()
            .map(|(k, (n, b, z))| (k, n, b, z))
            .collect();
        rows.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| x.0.cmp(&y.0)));
        let (count, bytes) = rows
            .iter()
            .fold((0u64, 0u64), |(n, b), r| (n + r.1, b + r.2));
        if a.json {
            let v: Vec<_> = rows
                .iter()
                .map(|(k, n, b, z)| json!({"type": k, "count": n, "bytes": b, "size": z}))
                .collect();
            print_json(&json!({
                "live_only": args.live,
                "objects": count,
                "bytes": bytes,
                "groups": v,
            }))?;
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "{:>10} {:>12}  type or size class (bytes are whole slots)",
            "count", "bytes"
        );
        for (k, n, b, _) in &rows {
            println!("{n:>10} {b:>12}  {k}");
        }
        println!("{count:>10} {bytes:>12}  total ({})", human_bytes(bytes));
        Ok(ExitCode::SUCCESS)
    })
}
