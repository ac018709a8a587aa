//! `gocore`: the command-line front end. A thin layer: arguments are parsed and
//! validated here, the work is done by the `corefile`, `gobinary` and `gocore` crates,
//! and the results are printed as text or JSON.
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// Exit codes: 0 success (warnings about the input go to stderr), 1 the input could
/// not be read or analysed, 2 usage error (from clap).
pub(crate) const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cmd::run(&args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("gocore: error: {err:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
