//! `gocore objects CORE`: every allocated heap object — address, size, span class
//! and allocation type where the heap records it (malloc headers, `largeType`),
//! else its size class.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use gocore::{Heap, Object, Process};
use serde_json::json;

use crate::cli::CoreArgs;

/// Opens the core, its process model and heap index, prints their warnings, and
/// runs `f` on them.
pub fn with_heap<R>(
    a: &CoreArgs,
    f: impl FnOnce(&Process<'_>, &Heap<'_>) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    let core = super::open_core(a)?;
    let proc = Process::new(&core).context("reading the Go runtime model")?;
    for w in proc.warnings() {
        eprintln!("gocore: warning: {w}");
    }
    let phase = crate::progress::phase("indexing the heap");
    let heap = Heap::new(&proc).context("indexing the heap");
    drop(phase);
    let heap = heap?;
    for w in heap.warnings() {
        eprintln!("gocore: warning: heap: {w}");
    }
    f(&proc, &heap)
}

/// What an object is: its allocation type when recorded, else its size class.
pub fn type_label(heap: &Heap<'_>, obj: &Object) -> String {
    if let Some(t) = heap.object_type(obj) {
        return t.display_name();
    }
    class_label(heap, obj)
}

/// `class N (S B)`, or `large (S B)` for objects with their own span.
pub fn class_label(heap: &Heap<'_>, obj: &Object) -> String {
    let s = heap.span(obj);
    let noscan = if s.noscan() { ", noscan" } else { "" };
    match s.size_class() {
        0 => format!("large ({} B{noscan})", s.elemsize),
        c => format!("class {c} ({} B{noscan})", s.elemsize),
    }
}

pub fn run(a: &CoreArgs) -> anyhow::Result<ExitCode> {
    with_heap(a, |_proc, heap| match list(a, heap) {
        // `gocore objects CORE | head` is fine.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        r => Ok(r.map(|()| ExitCode::SUCCESS)?),
    })
}

fn list(a: &CoreArgs, heap: &Heap<'_>) -> io::Result<()> {
    {
        let mut out = BufWriter::new(io::stdout().lock());
        if a.json {
            writeln!(out, "[")?;
        } else {
            writeln!(out, "{:>18} {:>10} {:>6}  type", "address", "size", "class")?;
        }
        let mut first = true;
        for obj in heap.objects() {
            let s = heap.span(&obj);
            let ty = heap.object_type(&obj).map(|t| t.display_name());
            if a.json {
                let v = json!({
                    "id": obj.id.0,
                    "address": obj.addr,
                    "size": obj.size,
                    "slot": obj.slot,
                    "span_class": s.spanclass,
                    "size_class": s.size_class(),
                    "noscan": s.noscan(),
                    "type": ty,
                });
                let sep = if first { "" } else { ",\n" };
                write!(out, "{sep}  {v}")?;
            } else {
                let label = ty.unwrap_or_else(|| class_label(heap, &obj));
                writeln!(
                    out,
                    "{:>#18x} {:>10} {:>6}  {label}",
                    obj.addr,
                    obj.size,
                    s.size_class()
                )?;
            }
            first = false;
        }
        if a.json {
            writeln!(out, "\n]")?;
        }
        out.flush()?;
        Ok(())
    }
}
