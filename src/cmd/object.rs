//! `gocore object CORE ADDR [--depth N] [--as TYPE]`: the heap object containing an address —
//! address, size, span class, its type and how it was typed, and its fields with
//! values (decoded by [`gocore::Decoder`]); untyped objects as raw words with the
//! pointer slots marked and their targets. Also the value printers the `globals`
//! and `goroutines --vars` commands share.
//!
//! Then the object's referrers (`--referrers N`, default 20; 0 skips them): every
//! object or root pointing into it, with the slot holding the pointer.
//!
//! JSON: `{"address", "referrers": {"total", "list": [{"kind": "object"|"root",
//! "from", "address", "via", "offset"}]} (null when skipped), "object": {"id", "address", "offset", "size", "slot", "span",
//! "span_class", "size_class", "elemsize", "noscan", "type", "type_source",
//! "type_offset", "type_elems", "pointer_slots", "value", "decoded_as", "words",
//! "truncated"}}`
//! (`object` is null, with a `reason`, when the address is in no object; `words`
//! only for untyped objects). A value is `{"type", "address", "size", "kind", …}`
//! with, by `kind`: `bool`/`int`/`uint`/`float` → `value`; `complex` → `real`,
//! `imag`; `string` → `ptr`, `len`, `text`, `truncated`; `pointer` → `target`,
//! `object` (`{"address", "offset", "type"}` or null); `struct` → `fields`
//! (`[{"name", "offset", "value"}]`); `array` → `len`, `elems`; `slice` → `ptr`,
//! `len`, `cap`, `elems`; `interface` → `dynamic_type`, `value` (null when nil);
//! `map` → `ptr`, `len`, `entries` (`[{"key", "value"}]`), `truncated`; `chan` →
//! `ptr`, `len`, `cap`, `elems`; `func` → `ptr`, `pc`, `function`; `unreadable` →
//! `error`; `elided` (depth or size limit) nothing more. The same value form is
//! used by `globals --json` and `goroutines --vars --json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args as ClapArgs;
use gocore::{Data, Decoder, Limits, Typing, Value};
use serde_json::json;

use crate::cli::CoreArgs;
use crate::output::{hex, print_json};

/// Most words printed for an untyped object.
const MAX_WORDS: u64 = 4096;

/// Options of `gocore object`.
#[derive(Debug, ClapArgs)]
pub struct ObjectArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// Address (hex, `0x` optional): anywhere inside the object.
    #[arg(value_parser = parse_addr)]
    pub addr: u64,
    /// Nesting levels of fields expanded (pointers are shown, not followed).
    #[arg(long, default_value_t = 3)]
    pub depth: u32,
    /// Elements shown per array, slice or map.
    #[arg(long, default_value_t = 16)]
    pub elems: u64,
    /// Decode the memory at ADDR as this type (the runtime's spelling:
    /// `main.Session`, `[]string`), whatever the object's own type.
    #[arg(long = "as", value_name = "TYPE")]
    pub as_type: Option<String>,
    /// Referrers listed (objects and roots pointing into the object, from the
    /// object graph's reverse edges); 0 skips building the graph.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub referrers: usize,
}

/// One referrer of the object, for text and JSON.
struct RefLine {
    /// `object 0xADDR (TYPE)` or the root group's name.
    from: String,
    /// `object` or `root`.
    kind: &'static str,
    /// The referring object's address (objects only).
    address: Option<u64>,
    /// The slot holding the pointer.
    via: String,
    /// Where in the object the pointer lands.
    offset: u64,
}

/// Referrers of object `id`: `(total, first `limit`)`; `None` (with a warning) when
/// the roots or the graph can't be built.
fn referrers(
    proc: &gocore::Process<'_>,
    heap: &gocore::Heap<'_>,
    typing: Option<&Typing>,
    id: gocore::ObjId,
    limit: usize,
) -> Option<(usize, Vec<RefLine>)> {
    let roots = match gocore::RootSet::collect(proc, heap) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gocore: warning: no referrers: collecting roots: {e}");
            return None;
        }
    };
    let graph = match gocore::ObjectGraph::build(heap, &roots) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gocore: warning: no referrers: building the object graph: {e}");
            return None;
        }
    };
    let labeler = gocore::PathLabeler::new(proc, heap, &roots, typing);
    let refs = labeler.referrers(&graph, graph.object_node(id));
    let lines = refs
        .iter()
        .take(limit)
        .map(|r| match graph.kind(r.node) {
            gocore::NodeKind::Object(from) => {
                let obj = heap.object(from);
                let label = typing
                    .and_then(|t| t.object_type_name(from))
                    .or_else(|| obj.as_ref().map(|o| super::objects::type_label(heap, o)))
                    .unwrap_or_default();
                RefLine {
                    from: format!("object {} ({label})", graph.describe(r.node, heap)),
                    kind: "object",
                    address: obj.map(|o| o.addr),
                    via: r.via.clone(),
                    offset: r.offset,
                }
            }
            _ => RefLine {
                from: graph.describe(r.node, heap),
                kind: "root",
                address: None,
                via: r.via.clone(),
                offset: r.offset,
            },
        })
        .collect();
    Some((refs.len(), lines))
}

fn referrers_json(r: &Option<(usize, Vec<RefLine>)>) -> serde_json::Value {
    match r {
        None => serde_json::Value::Null,
        Some((total, lines)) => json!({
            "total": total,
            "list": lines.iter().map(|l| json!({
                "kind": l.kind,
                "from": l.from,
                "address": l.address,
                "via": l.via,
                "offset": l.offset,
            })).collect::<Vec<_>>(),
        }),
    }
}

fn print_referrers(r: &Option<(usize, Vec<RefLine>)>) {
    let Some((total, lines)) = r else {
        return;
    };
    println!("referrers: {total}");
    for l in lines {
        let via = if l.via.is_empty() {
            String::new()
        } else {
            format!(" {}", l.via)
        };
        let into = if l.offset != 0 {
            format!(" (→ +{})", l.offset)
        } else {
            String::new()
        };
        println!("  {}{via}{into}", l.from);
    }
    if *total > lines.len() {
        println!("  … {} more (--referrers N)", total - lines.len());
    }
}

fn parse_addr(s: &str) -> Result<u64, String> {
    let d = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(d, 16).map_err(|e| format!("not a hex address: {s}: {e}"))
}

/// One word of an untyped object.
struct Word {
    offset: u64,
    value: u64,
    /// Whether the heap's pointer bitmap marks the slot.
    pointer: bool,
    /// Where a pointer slot points (`object 0x… (T)`, `outside the heap` …).
    target: Option<String>,
}

/// Everything `object` shows about the object holding an address, gathered once
/// and rendered as text ([`Report::print`]) or JSON ([`Report::json`]).
struct Report {
    addr: u64,
    obj: gocore::Object,
    span: gocore::SpanInfo,
    /// Where in the object the address is.
    offset: u64,
    /// The object's type name, when typed (or from the malloc header).
    type_name: Option<String>,
    /// The type or size class shown in the heading.
    label: String,
    obj_type: Option<gocore::ObjType>,
    /// How the type was found, in words.
    how: String,
    pointer_slots: usize,
    /// The decoded value (typed objects, or `--as`).
    value: Option<Value>,
    decoded_as: Option<String>,
    /// Untyped objects: the words shown, and how many the object has.
    words: Vec<Word>,
    total_words: u64,
    refs: Option<(usize, Vec<RefLine>)>,
}

impl Report {
    fn json(&self) -> serde_json::Value {
        let (obj, span, t) = (&self.obj, &self.span, self.obj_type);
        let words: Vec<_> = self
            .words
            .iter()
            .map(|w| {
                json!({
                    "offset": w.offset,
                    "value": w.value,
                    "pointer": w.pointer,
                    "target": w.target,
                })
            })
            .collect();
        json!({
            "address": self.addr,
            "object": {
                "id": obj.id.0,
                "address": obj.addr,
                "offset": self.offset,
                "size": obj.size,
                "slot": obj.slot,
                "span": span.base,
                "span_class": span.spanclass,
                "size_class": span.size_class(),
                "elemsize": span.elemsize,
                "noscan": span.noscan(),
                "type": self.type_name,
                "type_source": t.map(|t| source_name(t.source)),
                "type_offset": t.map(|t| t.offset),
                "type_elems": t.map(|t| t.elems),
                "pointer_slots": self.pointer_slots,
                "value": self.value.as_ref().map(value_json),
                "decoded_as": self.decoded_as,
                "words": words,
                "truncated": self.value.is_none() && self.total_words > self.words.len() as u64,
            },
            "referrers": referrers_json(&self.refs),
        })
    }

    fn print(&self) {
        let (obj, span) = (&self.obj, &self.span);
        println!(
            "{:#x} is {} bytes into object {:#x} (id {}): {} bytes, {}",
            self.addr, self.offset, obj.addr, obj.id.0, obj.size, self.label
        );
        println!(
            "span {} class {} (spanclass {}), slot {} bytes at {}, {} pointer slots",
            hex(span.base),
            span.size_class(),
            span.spanclass,
            span.elemsize,
            hex(obj.slot),
            self.pointer_slots
        );
        println!(
            "type: {} ({})",
            self.type_name.as_deref().unwrap_or("unknown"),
            self.how
        );
        if let Some(t) = &self.decoded_as {
            println!("decoded as {t} at {:#x} (--as)", self.addr);
        }
        if let Some(v) = &self.value {
            let mut out = String::new();
            let rel = v.addr.wrapping_sub(obj.addr);
            let at = if rel > 0 {
                format!("+{rel} ")
            } else {
                String::new()
            };
            write_value(&mut out, &format!("{at}{}", v.type_name), v, 0, true);
            print!("{out}");
        } else {
            for w in &self.words {
                let mark = if w.pointer { '*' } else { ' ' };
                let desc = match (&w.target, w.pointer) {
                    (Some(d), true) => format!("  -> {d}"),
                    _ => String::new(),
                };
                println!("  +{:<6} {mark} {:#018x}{desc}", w.offset, w.value);
            }
            let shown = self.words.len() as u64;
            if self.total_words > shown {
                println!("  … {} more words not shown", self.total_words - shown);
            }
        }
        print_referrers(&self.refs);
    }
}

pub fn run(a: &ObjectArgs) -> anyhow::Result<ExitCode> {
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
            return Ok(ExitCode::from(crate::exit::NOT_FOUND));
        };
        let typing = match Typing::compute(proc, heap) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("gocore: warning: types only from allocation headers: {e}");
                None
            }
        };
        let dec = Decoder::new(proc, Some(heap), typing.as_ref()).with_limits(Limits {
            depth: a.depth,
            elems: a.elems,
            ..Limits::default()
        });
        let refs = if a.referrers > 0 {
            referrers(proc, heap, typing.as_ref(), id, a.referrers)
        } else {
            None
        };
        let obj = heap.object(id).context("object id out of range")?;
        let span = heap.span(&obj).clone();
        let mut ptrs = BTreeMap::new();
        for p in heap.pointers(&obj) {
            let p = p.with_context(|| format!("pointers of object {:#x}", obj.addr))?;
            ptrs.insert(p.offset, p.target);
        }
        let value = match &a.as_type {
            Some(t) => {
                let rt = dec
                    .type_by_name(t)
                    .with_context(|| format!("no type descriptor named {t} in the executable"))?;
                Some(dec.decode(a.addr, rt))
            }
            None => dec.object(id),
        };
        let obj_type = typing.as_ref().and_then(|t| t.object_type(id));
        let type_name = typing
            .as_ref()
            .and_then(|t| t.object_type_name(id))
            .or_else(|| heap.object_type(&obj).map(|t| t.display_name()));
        let how = match (obj_type, &type_name) {
            (Some(t), _) => {
                let at = if t.offset > 0 {
                    format!(", starting {} bytes in", t.offset)
                } else {
                    String::new()
                };
                format!("{}{at}", source_text(t.source))
            }
            (None, Some(_)) => "from the malloc header".to_string(),
            (None, None) => "untyped".to_string(),
        };
        let ps = proc.ptr_size();
        let nwords = (obj.size / ps).min(MAX_WORDS);
        let mem = proc
            .core()
            .read(obj.addr, (nwords * ps) as usize)
            .with_context(|| format!("reading object {:#x}", obj.addr))?;
        let word = |w: &[u8]| -> u64 {
            if ps == 4 {
                u64::from(u32::from_le_bytes(w.try_into().unwrap_or([0; 4])))
            } else {
                u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))
            }
        };
        let target_desc = |t: u64| -> Option<String> {
            if t == 0 {
                return None;
            }
            Some(match heap.find_object(t) {
                Some((tid, toff)) => {
                    let to = heap.object(tid)?;
                    let label = typing
                        .as_ref()
                        .and_then(|ty| ty.object_type_name(tid))
                        .unwrap_or_else(|| super::objects::type_label(heap, &to));
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
        let words = if value.is_none() {
            mem.chunks_exact(ps as usize)
                .enumerate()
                .map(|(i, w)| {
                    let offset = i as u64 * ps;
                    let value = word(w);
                    let pointer = ptrs.contains_key(&offset);
                    Word {
                        offset,
                        value,
                        pointer,
                        target: if pointer { target_desc(value) } else { None },
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let label = type_name
            .clone()
            .unwrap_or_else(|| super::objects::class_label(heap, &obj));
        let report = Report {
            addr: a.addr,
            offset: off,
            type_name,
            label,
            obj_type,
            how,
            pointer_slots: ptrs.len(),
            value,
            decoded_as: a.as_type.clone(),
            words,
            total_words: obj.size / ps,
            refs,
            obj,
            span,
        };
        if a.core.json {
            print_json(&report.json())?;
        } else {
            report.print();
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `header`, `propagated`, … as in JSON.
pub fn source_name(s: gocore::TypeSource) -> String {
    format!("{s:?}").to_lowercase()
}

fn source_text(s: gocore::TypeSource) -> String {
    match source_name(s).as_str() {
        "header" => "from the malloc header or largeType".into(),
        "propagated" => "propagated along typed pointers".into(),
        "closure" => "a closure context, from its function".into(),
        "inferred" => "inferred from its shape".into(),
        other => other.to_string(),
    }
}

// ------------------------------------------------------------------ printing values

/// A one-line rendering of a scalar value, or `None` for composite ones.
fn scalar(v: &Value) -> Option<String> {
    Some(match &v.data {
        Data::Bool(b) => b.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Uint(u) => u.to_string(),
        Data::Float(f) => f.to_string(),
        Data::Complex(r, i) => format!("({r}{i:+}i)"),
        Data::String {
            len,
            text,
            truncated,
            ..
        } => {
            if *truncated {
                format!("{text:?}… (len {len})")
            } else {
                format!("{text:?}")
            }
        }
        Data::Pointer { target, object } => pointer_text(*target, object.as_ref()),
        Data::Chan {
            ptr,
            len,
            cap,
            elems,
        } if elems.is_empty() => {
            if *ptr == 0 {
                "nil".into()
            } else {
                format!("{ptr:#x} (len {len}, cap {cap})")
            }
        }
        Data::Func { ptr, function, .. } => {
            if *ptr == 0 {
                "nil".into()
            } else {
                function.clone().unwrap_or_else(|| format!("func@{ptr:#x}"))
            }
        }
        Data::Map { ptr: 0, .. } => "nil".into(),
        Data::Interface {
            dynamic_type: None, ..
        } => "nil".into(),
        Data::Slice { ptr: 0, .. } => "nil".into(),
        Data::Struct { fields } if fields.is_empty() => "{}".into(),
        Data::Elided => "…".into(),
        Data::Unreadable(e) => format!("<unreadable: {e}>"),
        _ => return None,
    })
}

fn pointer_text(target: u64, object: Option<&gocore::PointerTarget>) -> String {
    if target == 0 {
        return "nil".into();
    }
    match object {
        Some(o) => {
            let ty = o.type_name.as_deref().unwrap_or("untyped");
            if o.offset == 0 {
                format!("{target:#x} → {ty}")
            } else {
                format!("{target:#x} → {:#x}+{} {ty}", o.object, o.offset)
            }
        }
        None => format!("{target:#x}"),
    }
}

/// A bounded one-line summary of any value (globals' table, map keys).
pub fn summary(v: &Value, max: usize) -> String {
    let mut s = String::new();
    summarize(&mut s, v, max);
    if s.chars().count() > max {
        s = s.chars().take(max).collect::<String>() + "…";
    }
    s
}

fn summarize(s: &mut String, v: &Value, max: usize) {
    if s.len() > max {
        return;
    }
    if let Some(x) = scalar(v) {
        s.push_str(&x);
        return;
    }
    match &v.data {
        Data::Struct { fields } => {
            s.push('{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                if s.len() > max {
                    break;
                }
                let _ = write!(s, "{}: ", f.name);
                summarize(s, &f.value, max);
            }
            s.push('}');
        }
        Data::Array { elems, len } | Data::Slice { elems, len, .. } => {
            if matches!(v.data, Data::Slice { .. }) {
                let _ = write!(s, "len {len} ");
            }
            s.push('[');
            for (i, e) in elems.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                if s.len() > max {
                    break;
                }
                summarize(s, e, max);
            }
            if (elems.len() as u64) < *len {
                s.push_str(", …");
            }
            s.push(']');
        }
        Data::Interface {
            dynamic_type: Some(t),
            value,
        } => {
            let _ = write!(s, "{t}(");
            if let Some(x) = value {
                summarize(s, x, max);
            }
            s.push(')');
        }
        Data::Chan {
            ptr,
            len,
            cap,
            elems,
        } => {
            let _ = write!(s, "{ptr:#x} (len {len}, cap {cap}) [");
            for (i, e) in elems.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                if s.len() > max {
                    break;
                }
                summarize(s, e, max);
            }
            if (elems.len() as u64) < *len {
                s.push_str(", …");
            }
            s.push(']');
        }
        Data::Map {
            ptr, len, entries, ..
        } => {
            let _ = write!(s, "{ptr:#x} len {len} [");
            for (i, (k, x)) in entries.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                if s.len() > max {
                    break;
                }
                summarize(s, k, max);
                s.push_str(": ");
                summarize(s, x, max);
            }
            s.push(']');
        }
        _ => s.push('?'),
    }
}

/// Writes `label = value` with composite values expanded one line per field or
/// element, indented by `indent` levels. `root` prints the label as a heading.
pub fn write_value(out: &mut String, label: &str, v: &Value, indent: usize, root: bool) {
    let pad = "  ".repeat(indent);
    let head = if root {
        label.to_string()
    } else {
        format!("{label} {}", v.type_name)
    };
    if let Some(x) = scalar(v) {
        let _ = writeln!(out, "{pad}{head} = {x}");
        return;
    }
    let open = format!("{pad}{head}");
    match &v.data {
        Data::Struct { fields } => {
            let _ = writeln!(out, "{open} {{");
            let w = fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
            for f in fields {
                let l = format!("+{:<4} {:<w$}", f.offset, f.name);
                write_value(out, &l, &f.value, indent + 1, false);
            }
            let _ = writeln!(out, "{pad}}}");
        }
        Data::Array { len, elems }
        | Data::Slice { len, elems, .. }
        | Data::Chan { len, elems, .. } => {
            let head = match &v.data {
                Data::Slice { ptr, cap, .. } => format!(" ({ptr:#x}, len {len}, cap {cap})"),
                Data::Chan { ptr, cap, .. } => {
                    format!(" ({ptr:#x}, len {len}, cap {cap}, buffered)")
                }
                _ => String::new(),
            };
            let flat: Option<Vec<String>> = elems.iter().map(scalar).collect();
            let more = if (elems.len() as u64) < *len {
                format!(", … {} more", len - elems.len() as u64)
            } else {
                String::new()
            };
            match flat {
                Some(f) if f.iter().map(String::len).sum::<usize>() < 100 => {
                    let _ = writeln!(out, "{open}{head} = [{}{more}]", f.join(", "));
                }
                _ => {
                    let _ = writeln!(out, "{open}{head} [");
                    for (i, e) in elems.iter().enumerate() {
                        write_value(out, &format!("[{i}]"), e, indent + 1, false);
                    }
                    if !more.is_empty() {
                        let _ = writeln!(out, "{pad}  …{}", more.trim_start_matches(", …"));
                    }
                    let _ = writeln!(out, "{pad}]");
                }
            }
        }
        Data::Interface {
            dynamic_type: Some(t),
            value,
        } => match value {
            Some(x) => write_value(out, &format!("{head} = ({t})"), x, indent, true),
            None => {
                let _ = writeln!(out, "{open} = ({t})");
            }
        },
        Data::Map {
            ptr,
            len,
            entries,
            truncated,
        } => {
            let _ = writeln!(out, "{open} ({ptr:#x}, len {len}) [");
            for (k, x) in entries {
                write_value(out, &format!("[{}]", summary(k, 60)), x, indent + 1, false);
            }
            if *truncated {
                let _ = writeln!(
                    out,
                    "{pad}  … {} more",
                    len.saturating_sub(entries.len() as u64)
                );
            }
            let _ = writeln!(out, "{pad}]");
        }
        _ => {
            let _ = writeln!(out, "{open} = {}", summary(v, 100));
        }
    }
}

/// The JSON form of a value (schema: `type`, `address`, `size`, `kind`, then per
/// kind `value` / `text` / `target` / `fields` / `elems` / `entries` …).
pub fn value_json(v: &Value) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("type".into(), json!(v.type_name));
    m.insert("address".into(), json!(v.addr));
    m.insert("size".into(), json!(v.size));
    m.insert("kind".into(), json!(v.data.kind()));
    let mut put = |k: &str, x: serde_json::Value| {
        m.insert(k.into(), x);
    };
    match &v.data {
        Data::Bool(b) => put("value", json!(b)),
        Data::Int(i) => put("value", json!(i)),
        Data::Uint(u) => put("value", json!(u)),
        Data::Float(f) => put("value", json!(f)),
        Data::Complex(r, i) => {
            put("real", json!(r));
            put("imag", json!(i));
        }
        Data::String {
            ptr,
            len,
            text,
            truncated,
        } => {
            put("ptr", json!(ptr));
            put("len", json!(len));
            put("text", json!(text));
            put("truncated", json!(truncated));
        }
        Data::Pointer { target, object } => {
            put("target", json!(target));
            put(
                "object",
                object.as_ref().map_or(
                    serde_json::Value::Null,
                    |o| json!({"address": o.object, "offset": o.offset, "type": o.type_name}),
                ),
            );
        }
        Data::Struct { fields } => put(
            "fields",
            fields
                .iter()
                .map(|f| json!({"name": f.name, "offset": f.offset, "value": value_json(&f.value)}))
                .collect(),
        ),
        Data::Array { len, elems } => {
            put("len", json!(len));
            put("elems", elems.iter().map(value_json).collect());
        }
        Data::Slice {
            ptr,
            len,
            cap,
            elems,
        } => {
            put("ptr", json!(ptr));
            put("len", json!(len));
            put("cap", json!(cap));
            put("elems", elems.iter().map(value_json).collect());
        }
        Data::Interface {
            dynamic_type,
            value,
        } => {
            put("dynamic_type", json!(dynamic_type));
            put(
                "value",
                value.as_deref().map_or(serde_json::Value::Null, value_json),
            );
        }
        Data::Map {
            ptr,
            len,
            entries,
            truncated,
        } => {
            put("ptr", json!(ptr));
            put("len", json!(len));
            put(
                "entries",
                entries
                    .iter()
                    .map(|(k, x)| json!({"key": value_json(k), "value": value_json(x)}))
                    .collect(),
            );
            put("truncated", json!(truncated));
        }
        Data::Chan {
            ptr,
            len,
            cap,
            elems,
        } => {
            put("ptr", json!(ptr));
            put("len", json!(len));
            put("cap", json!(cap));
            put("elems", elems.iter().map(value_json).collect());
        }
        Data::Func { ptr, pc, function } => {
            put("ptr", json!(ptr));
            put("pc", json!(pc));
            put("function", json!(function));
        }
        Data::Unreadable(e) => put("error", json!(e)),
        _ => {}
    }
    serde_json::Value::Object(m)
}
