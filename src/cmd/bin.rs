//! `gocore bin …`: facts of a Go binary alone.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{json, Value};

use crate::cli::{BinArgs, BinCommand, BinFuncsArgs, BinLinesArgs, BinTypesArgs};
use crate::output::print_json;

/// Runs one `gocore bin` subcommand.
pub fn run(c: &BinCommand) -> anyhow::Result<ExitCode> {
    match c {
        BinCommand::Info(a) => info(a),
        BinCommand::Funcs(a) => funcs(a),
        BinCommand::Lines(a) => lines(a),
        BinCommand::Types(a) => types(a),
        BinCommand::Symbols(a) => symbols(a),
    }
}

/// Maps and parses the binary named on the command line, then runs `f` on it.
fn with_binary<T>(
    a: &BinArgs,
    f: impl FnOnce(&gobinary::GoBinary<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let file = gobinary::MappedFile::open(&a.binary)
        .with_context(|| format!("opening {}", a.binary.display()))?;
    let bin = file
        .parse()
        .with_context(|| format!("reading {}", a.binary.display()))?;
    f(&bin)
}

fn pclntab<'d>(a: &BinArgs, bin: &gobinary::GoBinary<'d>) -> anyhow::Result<gobinary::Pclntab<'d>> {
    bin.pclntab()
        .with_context(|| format!("reading the function table of {}", a.binary.display()))
}

/// `gocore bin info BINARY`: build info, as `go version -m` prints it.
pub fn info(a: &BinArgs) -> anyhow::Result<ExitCode> {
    with_binary(a, |bin| {
        let info = bin
            .build_info()
            .with_context(|| format!("reading the build info of {}", a.binary.display()))?;
        if a.json {
            let module = |m: &gobinary::Module| {
                json!({
                    "path": m.path, "version": m.version, "sum": m.sum,
                    "replace": m.replace.as_ref().map(|r| json!({
                        "path": r.path, "version": r.version, "sum": r.sum,
                    })),
                })
            };
            print_json(&json!({
                "file": a.binary.display().to_string(),
                "format": bin.format().to_string(),
                "goos": bin.os().goos(),
                "goarch": bin.arch().goarch(),
                "go_version": info.go_version,
                "path": info.path,
                "main": info.main.as_ref().map(module),
                "deps": info.deps.iter().map(module).collect::<Vec<_>>(),
                "settings": info.settings.iter().map(|s| json!({"key": s.key, "value": s.value})).collect::<Vec<_>>(),
                "go_build_id": bin.go_build_id(),
                "gnu_build_id": bin.gnu_build_id(),
            }))?;
        } else {
            print!("{}", info.render_version_m(&a.binary.display().to_string()));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `gocore bin funcs BINARY [--inlined]`.
fn funcs(a: &BinFuncsArgs) -> anyhow::Result<ExitCode> {
    with_binary(&a.bin, |bin| {
        let tab = pclntab(&a.bin, bin)?;
        let mut out = BufWriter::new(io::stdout().lock());
        let mut all = Vec::new();
        for func in tab.funcs() {
            let func = func.context("reading the function table")?;
            let pos = tab.func_file_line(&func, func.entry).ok().flatten();
            let file = pos.as_ref().map(|p| p.file.as_str()).unwrap_or("?");
            let line = func
                .start_line
                .or(pos.as_ref().map(|p| p.line))
                .unwrap_or(0);
            let inlined = if a.inlined {
                inlined_of(&tab, &func)
                    .with_context(|| format!("reading the inline tree of {}", func.name))?
            } else {
                Vec::new()
            };
            if a.bin.json {
                let mut v = json!({
                    "entry": func.entry, "end": func.end, "name": func.name,
                    "package": func.package(), "file": file, "start_line": line,
                });
                if a.inlined {
                    v["inlined"] = inlined
                        .iter()
                        .map(|(c, file)| {
                            json!({"name": c.name, "package": gobinary::package_of(c.name),
                                   "start_line": c.start_line, "file": file,
                                   "parent": c.parent, "call_pc": c.parent_pc})
                        })
                        .collect();
                }
                all.push(v);
                continue;
            }
            writeln!(
                out,
                "{:#x} {:#x} {} {} {file}:{line}",
                func.entry,
                func.end,
                func.name,
                or_dash(func.package())
            )?;
            for (c, file) in &inlined {
                writeln!(
                    out,
                    "    inlined {} {} {}:{}",
                    c.name,
                    or_dash(gobinary::package_of(c.name)),
                    file.as_deref().unwrap_or("?"),
                    c.start_line.unwrap_or(0)
                )?;
            }
        }
        if a.bin.json {
            drop(out);
            print_json(&Value::Array(all))?;
        } else {
            out.flush()?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// The inlined calls of `func`, each with the file of its body (the file at the
/// first PC that the inline-tree index attributes to it).
fn inlined_of<'d>(
    tab: &gobinary::Pclntab<'d>,
    func: &gobinary::Func<'_>,
) -> gobinary::Result<Vec<(gobinary::InlinedFunc<'d>, Option<String>)>> {
    let calls = tab.inlined_calls(func)?;
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    // The first PC of each inlined body: one walk over the index table.
    let mut first_pc: BTreeMap<i32, u64> = BTreeMap::new();
    for (start, _, v) in tab.pcdata_ranges(func, gobinary::pcdata::INL_TREE_INDEX)? {
        first_pc.entry(v).or_insert(start);
    }
    Ok(calls
        .into_iter()
        .map(|c| {
            let file = first_pc
                .get(&(c.index as i32))
                .and_then(|&pc| tab.func_file_line(func, pc).ok().flatten())
                .map(|p| p.file);
            (c, file)
        })
        .collect())
}

/// `gocore bin lines BINARY PC…`.
fn lines(a: &BinLinesArgs) -> anyhow::Result<ExitCode> {
    with_binary(&a.bin, |bin| {
        let tab = pclntab(&a.bin, bin)?;
        let mut out = BufWriter::new(io::stdout().lock());
        let mut all = Vec::new();
        for &pc in &a.pcs {
            let frames = tab
                .frames(pc)
                .with_context(|| format!("reading the frames at {pc:#x}"))?;
            if a.bin.json {
                all.push(json!({
                    "pc": pc,
                    "frames": frames.iter().map(|f| json!({
                        "function": f.function, "file": f.file, "line": f.line,
                        "inlined": f.inlined, "entry": f.entry,
                    })).collect::<Vec<_>>(),
                }));
                continue;
            }
            if frames.is_empty() {
                writeln!(out, "{pc:#x} ? ?:0")?;
            }
            for f in &frames {
                let mark = if f.inlined { " (inlined)" } else { "" };
                writeln!(out, "{pc:#x} {} {}:{}{mark}", f.function, f.file, f.line)?;
            }
        }
        if a.bin.json {
            drop(out);
            print_json(&Value::Array(all))?;
        } else {
            out.flush()?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `gocore bin types BINARY [--fields]`.
fn types(a: &BinTypesArgs) -> anyhow::Result<ExitCode> {
    with_binary(&a.bin, |bin| {
        let md = bin
            .moduledata()
            .with_context(|| format!("finding the moduledata of {}", a.bin.binary.display()))?;
        let reader = bin.type_reader(&md).context("reading type descriptors")?;
        let addrs = reader.all_types().context("listing type descriptors")?;
        let mut out = BufWriter::new(io::stdout().lock());
        let mut all = Vec::new();
        for addr in addrs {
            let t = reader.type_at(addr)?;
            let name = reader.qualified_name(&t)?;
            let fields = if a.fields {
                reader
                    .fields(&t)?
                    .into_iter()
                    .map(|f| {
                        let tn = reader
                            .type_at(f.typ)
                            .and_then(|ft| reader.qualified_name(&ft))
                            .unwrap_or_else(|_| format!("{:#x}", f.typ));
                        (f, tn)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            if a.bin.json {
                let mut v = json!({
                    "address": addr, "name": name, "string": t.name, "kind": t.kind.to_string(),
                    "size": t.size, "ptrdata": t.ptr_bytes, "align": t.align,
                });
                if a.fields && t.kind == gobinary::Kind::Struct {
                    v["fields"] = fields
                        .iter()
                        .map(|(f, tn)| {
                            json!({"name": f.name, "offset": f.offset, "type": tn,
                                   "type_address": f.typ, "embedded": f.embedded})
                        })
                        .collect();
                }
                all.push(v);
                continue;
            }
            writeln!(
                out,
                "{addr:#x} {} size {} ptrdata {} {name}",
                t.kind, t.size, t.ptr_bytes
            )?;
            for (f, tn) in &fields {
                let emb = if f.embedded { " (embedded)" } else { "" };
                writeln!(out, "    +{} {} {tn}{emb}", f.offset, f.name)?;
            }
        }
        if a.bin.json {
            drop(out);
            print_json(&Value::Array(all))?;
        } else {
            out.flush()?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `gocore bin symbols BINARY`: the vulncheck view, by module and package.
fn symbols(a: &BinArgs) -> anyhow::Result<ExitCode> {
    with_binary(a, |bin| {
        let view = bin
            .symbols_for_vulncheck()
            .with_context(|| format!("reading the symbols of {}", a.binary.display()))?;
        // module -> (version, package -> symbols); symbols arrive sorted.
        let mut by_module: BTreeMap<&str, (&str, BTreeMap<&str, Vec<&gobinary::VulnSymbol>>)> =
            BTreeMap::new();
        for s in &view.symbols {
            by_module
                .entry(&s.module)
                .or_insert((&s.version, BTreeMap::new()))
                .1
                .entry(&s.package)
                .or_default()
                .push(s);
        }
        if a.json {
            let modules: Vec<Value> = by_module
                .iter()
                .map(|(m, (v, pkgs))| {
                    json!({
                        "module": m, "version": v,
                        "packages": pkgs.iter().map(|(p, syms)| json!({
                            "package": p,
                            "symbols": syms.iter().map(|s| json!({
                                "name": s.symbol, "inlined_only": s.inlined_only,
                            })).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            print_json(&json!({"go_version": view.go_version, "modules": modules}))?;
            return Ok(ExitCode::SUCCESS);
        }
        let mut out = BufWriter::new(io::stdout().lock());
        for (m, (v, pkgs)) in &by_module {
            let m = if m.is_empty() { "(unknown module)" } else { m };
            writeln!(out, "{m} {v}")?;
            for (p, syms) in pkgs {
                writeln!(out, "    {p}")?;
                for s in syms {
                    let mark = if s.inlined_only {
                        " (inlined only)"
                    } else {
                        ""
                    };
                    writeln!(out, "        {}{mark}", s.symbol)?;
                }
            }
        }
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    })
}
