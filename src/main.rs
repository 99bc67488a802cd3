//! The `termwatch` binary: parse the command line, run the command, map the
//! outcome to an exit code. Everything else lives in the library.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = termwatch::commands::Cli::parse();
    match termwatch::commands::main(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
