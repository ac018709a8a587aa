//! `gocore bin …`: facts of a Go binary alone.

use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::cli::BinArgs;
use crate::output::print_json;

/// `gocore bin info BINARY`: build info, as `go version -m` prints it.
pub fn info(a: &BinArgs) -> anyhow::Result<ExitCode> {
    let file = gobinary::MappedFile::open(&a.binary)
        .with_context(|| format!("opening {}", a.binary.display()))?;
    let bin = file
        .parse()
        .with_context(|| format!("reading {}", a.binary.display()))?;
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
}
