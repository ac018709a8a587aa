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
        let mut groups: HashMap<String, (u64, u64)> = HashMap::new();
        for obj in heap.objects() {
            let key = typing
                .as_ref()
                .and_then(|t| t.object_type_name(obj.id))
                .unwrap_or_else(|| super::objects::type_label(heap, &obj));
            let slot = heap.span(&obj).elemsize;
            let e = groups.entry(key).or_default();
            e.0 += 1;
            e.1 += slot;
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
