//! `termwatch check`: validate the configuration and every source file.
//!
//! Each problem is printed on its own line as `FILE line N: what to write
//! instead`; the exit code is 1 when there is any.

use std::process::ExitCode;

use super::Context;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(ctx: &Context, _args: Args) -> anyhow::Result<ExitCode> {
    // The configuration file was parsed on load: an error there has already
    // stopped us with its line. What is left is what it points at.
    let mut problems = Vec::new();
    if let Err(e) = crate::collect::schedule::parse_duration(&ctx.config.collect.jitter) {
        let file = ctx
            .paths
            .config_file
            .clone()
            .unwrap_or_else(|| "termwatch.toml".into());
        problems.push(crate::config::Problem::new(
            &file,
            None,
            format!("[collect] jitter {e}"),
        ));
    }
    let (sources, mut source_problems) = crate::collect::load_sources(&ctx.paths.sources_dir);
    problems.append(&mut source_problems);
    for p in &problems {
        println!("{p}");
    }
    if problems.is_empty() {
        println!(
            "ok: configuration and {} sources in {} are valid",
            sources.len(),
            ctx.paths.sources_dir.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let n = problems.len();
        println!("{n} {}", if n == 1 { "problem" } else { "problems" });
        Ok(ExitCode::FAILURE)
    }
}
