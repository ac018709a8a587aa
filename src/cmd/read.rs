//! `gocore read CORE ADDR [LEN]`: a hex dump of process memory;
//! `gocore object CORE ADDR`: the heap object containing an address, its words
//! with pointer slots marked and their targets.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::cli::{ObjectArgs, ReadArgs};
use crate::output::{hex, print_json};

/// Longest dump `read` prints.
const MAX_READ: u64 = 64 << 20;
/// Most words `object` prints.
const MAX_WORDS: u64 = 4096;

pub fn run_read(a: &ReadArgs) -> anyhow::Result<ExitCode> {
    let core = super::open_core(&a.core)?;
    let len = a.len.min(MAX_READ);
    let bytes = core
        .read(a.addr, len as usize)
        .with_context(|| format!("reading {len} bytes at {:#x}", a.addr))?;
    if a.core.json {
        let hexs: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        print_json(&json!({"address": a.addr, "length": len, "hex": hexs}))?;
        return Ok(ExitCode::SUCCESS);
    }
    for (i, line) in bytes.chunks(16).enumerate() {
        let at = a.addr + 16 * i as u64;
        let h: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let asc: String = line
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        println!("{at:016x}  {:<47}  |{asc}|", h.join(" "));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_object(a: &ObjectArgs) -> anyhow::Result<ExitCode> {
    super::objects::with_heap(&a.core, |proc, heap| {
        let Some((id, off)) = heap.find_object(a.addr) else {
            let why = match heap.span_of(a.addr) {
                Some(s) => format!(
                    "in a {:?} span at {:#x} (size class {}), but not in an allocated object",
                    s.state,
                    s.base,
                    s.size_class()
                ),
                None => "not in any heap span".to_string(),
            };
            if a.core.json {
                print_json(&json!({"address": a.addr, "object": null, "reason": why}))?;
            } else {
                println!("{:#x}: {why}", a.addr);
            }
            return Ok(ExitCode::FAILURE);
        };
        let obj = heap.object(id).context("object id out of range")?;
        let span = heap.span(&obj);
        let mut ptrs = BTreeMap::new();
        for p in heap.pointers(&obj) {
            let p = p.with_context(|| format!("pointers of object {:#x}", obj.addr))?;
            ptrs.insert(p.offset, p.target);
        }
        let ps = proc.ptr_size();
        let nwords = (obj.size / ps).min(MAX_WORDS);
        let mem = proc
            .core()
            .read(obj.addr, (nwords * ps) as usize)
            .with_context(|| format!("reading object {:#x}", obj.addr))?;
        let target_desc = |t: u64| -> Option<String> {
            if t == 0 {
                return None;
            }
            Some(match heap.find_object(t) {
                Some((tid, toff)) => {
                    let to = heap.object(tid)?;
                    let label = super::objects::type_label(heap, &to);
                    if toff == 0 {
                        format!("object {:#x} ({label})", to.addr)
                    } else {
                        format!("object {:#x}+{toff} ({label})", to.addr)
                    }
                }
                None if heap.span_of(t).is_some() => "heap span, no allocated object".into(),
                None => "outside the heap".into(),
            })
        };
        let label = super::objects::type_label(heap, &obj);
        if a.core.json {
            let words: Vec<_> = mem
                .chunks_exact(8)
                .enumerate()
                .map(|(i, w)| {
                    let off = i as u64 * ps;
                    let v = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
                    let is_ptr = ptrs.contains_key(&off);
                    json!({
                        "offset": off,
                        "value": v,
                        "pointer": is_ptr,
                        "target": if is_ptr { target_desc(v) } else { None },
                    })
                })
                .collect();
            print_json(&json!({
                "address": a.addr,
                "object": {
                    "id": obj.id.0,
                    "address": obj.addr,
                    "offset": off,
                    "size": obj.size,
                    "slot": obj.slot,
                    "span": span.base,
                    "span_class": span.spanclass,
                    "size_class": span.size_class(),
                    "elemsize": span.elemsize,
                    "noscan": span.noscan(),
                    "type": heap.object_type(&obj).map(|t| t.display_name()),
                    "pointer_slots": ptrs.len(),
                    "words": words,
                    "truncated": obj.size / ps > nwords,
                }
            }))?;
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "{:#x} is {off} bytes into object {:#x} (id {}): {} bytes, {label}",
            a.addr, obj.addr, obj.id.0, obj.size
        );
        println!(
            "span {} class {} (spanclass {}), slot {} bytes at {}, {} pointer slots",
            hex(span.base),
            span.size_class(),
            span.spanclass,
            span.elemsize,
            hex(obj.slot),
            ptrs.len()
        );
        for (i, w) in mem.chunks_exact(8).enumerate() {
            let o = i as u64 * ps;
            let v = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
            let mark = if ptrs.contains_key(&o) { '*' } else { ' ' };
            let desc = if mark == '*' {
                target_desc(v)
                    .map(|d| format!("  -> {d}"))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            println!("  +{o:<6} {mark} {v:#018x}{desc}");
        }
        if obj.size / ps > nwords {
            println!("  … {} more words not shown", obj.size / ps - nwords);
        }
        Ok(ExitCode::SUCCESS)
    })
}
