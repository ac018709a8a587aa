//! Where was each thread when the process died? Opens a core with `corefile`, reads
//! the executable's function table with `gobinary`, and prints every thread's PC
//! with its function and file:line (inlined frames first).
//!
//! ```sh
//! cargo run --example threads -- testdata/corpus/zoo-go1.27.3-default-crash-amd64/core.zst
//! ```

use corefile::Core;
use gobinary::GoBinary;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: threads CORE [EXECUTABLE]")?;
    let mut options = corefile::OpenOptions::new();
    if let Some(exe) = std::env::args().nth(2) {
        options = options.executable(exe);
    }
    let core = Core::open_with(&path, &options)?;
    for w in core.warnings() {
        eprintln!("warning: {w}");
    }
    let exe = core.executable().ok_or("executable not found; pass it")?;
    let bin = GoBinary::parse(exe.data())?;
    println!(
        "{} ({})",
        exe.path().display(),
        bin.build_info()?.go_version
    );
    let tab = bin.pclntab()?;
    for t in core.threads() {
        // PCs in the core are run-time addresses; the table has link-time ones.
        let pc = t.registers.pc().wrapping_sub(exe.load_bias());
        println!("thread {} pc {:#x}", t.tid, t.registers.pc());
        for frame in tab.frames(pc)? {
            println!("    {} {}:{}", frame.function, frame.file, frame.line);
        }
    }
    Ok(())
}
