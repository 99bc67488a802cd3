//! The `termwatch` binary: parse the command line, run the command, map the
//! outcome to an exit code. Everything else lives in the library.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = termwatch::commands::Cli::parse();
    match termwatch::commands::main(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// glibc gives each thread that allocates its own arena, up to eight per
/// core, and freed memory stays in the arena it came from. A cold pass
/// allocates from a dozen threads (pollers, extraction, SQLite's worker), so
/// peak RSS grew with the thread count, not with the work in hand. Two
/// arenas keep contention low on the 2-core machines we size for.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing in main, before any thread exists;
    // mallopt only adjusts allocator parameters.
    unsafe {
        let n: i32 = std::env::var("TW_ARENAS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
        if n > 0 { libc::mallopt(libc::M_ARENA_MAX, n); }
    }
}
