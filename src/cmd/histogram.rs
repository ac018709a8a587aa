//! `gocore histogram CORE`: heap objects grouped by type — from malloc headers and
//! `largeType`, and propagated from typed roots along typed pointers
//! ([`gocore::Typing`]) — else by size class: count and bytes.

use std::collections::HashMap;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::CoreArgs;
use crate::output::{human_bytes, print_json};

pub fn run(a: &CoreArgs) -> anyhow::Result<ExitCode> {
    super::objects::with_heap(a, |proc, heap| {
        let phase = crate::progress::phase("typing objects");
        let typing = gocore::Typing::compute(proc, heap);
        drop(phase);
        let typing = match typing {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("gocore: warning: types only from allocation headers: {e}");
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
        let ntypes = typing.as_ref().map_or(0, |t| t.types().len());
        let mut typed: Vec<(u64, u64)> = vec![(0, 0); ntypes];
        let mut other: HashMap<Key, (u64, u64, gocore::Object)> = HashMap::new();
        for obj in heap.objects() {
            let slot = heap.span(&obj).elemsize;
            let t = typing.as_ref().and_then(|t| t.object_type(obj.id));
            let key = match t {
                Some(t) if t.elems <= 1 => {
                    if let Some(e) = typed.get_mut(t.ty.0 as usize) {
                        e.0 += 1;
                        e.1 += slot;
                        continue;
                    }
                    Key::Typed(t.ty.0, t.elems)
                }
                Some(t) => Key::Typed(t.ty.0, t.elems),
                None => match heap.object_type(&obj) {
                    Some(h) => Key::Untyped(h.addr, 0),
                    None => Key::Untyped(0, u64::from(obj.span)),
                },
            };
            let e = other.entry(key).or_insert((0, 0, obj));
            e.0 += 1;
            e.1 += slot;
        }
        let mut groups: HashMap<String, (u64, u64)> = HashMap::new();
        let mut add = |k: String, n: u64, b: u64| {
            let e = groups.entry(k).or_default();
            e.0 += n;
            e.1 += b;
        };
        for (i, &(n, b)) in typed.iter().enumerate() {
            if n > 0 {
                let t = typing
                    .as_ref()
                    .and_then(|t| t.type_entry(gocore::TypeId(i as u32)));
                add(t.map_or_else(String::new, |t| t.name.clone()), n, b);
            }
        }
        for (_, (n, b, obj)) in other {
            let key = typing
                .as_ref()
                .and_then(|t| t.object_type_name(obj.id))
                .unwrap_or_else(|| super::objects::type_label(heap, &obj));
            add(key, n, b);
        }
        let mut rows: Vec<(String, u64, u64)> =
            groups.into_iter().map(|(k, (n, b))| (k, n, b)).collect();
        rows.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| x.0.cmp(&y.0)));
        let (count, bytes) = rows
            .iter()
            .fold((0u64, 0u64), |(n, b), r| (n + r.1, b + r.2));
        if a.json {
            let v: Vec<_> = rows
                .iter()
                .map(|(k, n, b)| json!({"type": k, "count": n, "bytes": b}))
                .collect();
            print_json(&json!({"objects": count, "bytes": bytes, "groups": v}))?;
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "{:>10} {:>12}  type or size class (bytes are whole slots)",
            "count", "bytes"
        );
        for (k, n, b) in &rows {
            println!("{n:>10} {b:>12}  {k}");
        }
        println!("{count:>10} {bytes:>12}  total ({})", human_bytes(bytes));
        Ok(ExitCode::SUCCESS)
    })
}
