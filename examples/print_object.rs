//! Prints the heap object containing an address with its type and field values,
//! using the public API only: [`gocore::Typing`] names the object's type,
//! [`gocore::Decoder`] decodes it.
//!
//! ```sh
//! cargo run --example print_object -- CORE ADDR [EXECUTABLE]
//! ```

use corefile::{Core, OpenOptions};
use gocore::{Data, Decoder, Heap, Limits, Process, Typing, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(addr)) = (args.next(), args.next()) else {
        return Err("usage: print_object CORE ADDR [EXECUTABLE]".into());
    };
    let addr = u64::from_str_radix(addr.trim_start_matches("0x"), 16)?;
    let mut options = OpenOptions::new();
    if let Some(exe) = args.next() {
        options = options.executable(exe);
    }
    let core = Core::open_with(&path, &options)?;
    let proc = Process::new(&core)?;
    let heap = Heap::new(&proc)?;
    let typing = Typing::compute(&proc, &heap)?;
    let dec = Decoder::new(&proc, Some(&heap), Some(&typing)).with_limits(Limits {
        depth: 2,
        ..Limits::default()
    });
    let (id, off) = heap
        .find_object(addr)
        .ok_or_else(|| format!("{addr:#x} is in no heap object"))?;
    match dec.object(id) {
        Some(v) => {
            println!("{addr:#x}: {off} bytes into a {}", v.type_name);
            print(&v, "", 1);
        }
        None => println!("{addr:#x}: {off} bytes into an untyped object"),
    }
    Ok(())
}

/// One line per value, fields and elements indented below their parent.
fn print(v: &Value, label: &str, indent: usize) {
    let pad = "  ".repeat(indent);
    let text = match &v.data {
        Data::Int(i) => i.to_string(),
        Data::Uint(u) => u.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::String { text, .. } => format!("{text:?}"),
        Data::Pointer { target, object } => match object {
            Some(o) => format!(
                "{target:#x} -> {}",
                o.type_name.as_deref().unwrap_or("untyped")
            ),
            None => format!("{target:#x}"),
        },
        Data::Interface {
            dynamic_type: Some(t),
            ..
        } => format!("({t})"),
        other => other.kind().to_string(),
    };
    if !label.is_empty() {
        println!("{pad}{label} {} = {text}", v.type_name);
    }
    match &v.data {
        Data::Struct { fields } => {
            for f in fields {
                print(&f.value, &f.name, indent + 1);
            }
        }
        Data::Array { elems, .. } | Data::Slice { elems, .. } => {
            for (i, e) in elems.iter().enumerate() {
                print(e, &format!("[{i}]"), indent + 1);
            }
        }
        Data::Interface { value: Some(x), .. } => print(x, "value", indent + 1),
        _ => {}
    }
}
