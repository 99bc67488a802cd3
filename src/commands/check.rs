//! `termwatch check`: validate the configuration, every source file, every
//! client profile, the playbook and the digest templates.
//!
//! Each problem is printed on its own line as `FILE line N: what to write
//! instead`; the exit code is 1 when there is any.

use std::path::PathBuf;
use std::process::ExitCode;

use super::Context;
use crate::config::Problem;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(ctx: &Context, _args: Args) -> anyhow::Result<ExitCode> {
    // The configuration file was parsed on load: an error there has already
    // stopped us with its line. What is left is what serde cannot check.
    let config_file = ctx
        .paths
        .config_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_CONFIG_FILE));
    let mut problems = Vec::new();
    if let Err(e) = crate::collect::schedule::parse_duration(&ctx.config.collect.jitter) {
        problems.push(Problem::new(
            &config_file,
            None,
            format!("[collect] jitter {e}"),
        ));
    }
    if let Err(e) = ctx.config.extract.validate() {
        problems.push(Problem::new(&config_file, None, e.to_string()));
    }
    if let Err(e) = ctx.config.correlate.check() {
        problems.push(Problem::new(&config_file, None, e.to_string()));
    }
    let (sources, mut source_problems) = crate::collect::load_sources(&ctx.paths.sources_dir);
    problems.append(&mut source_problems);
    // Clients are optional: a worker that only collects has none yet.
    let clients_dir = &ctx.paths.clients_dir;
    let clients = if clients_dir.is_dir() {
        crate::route::load_clients(clients_dir).0.len()
    } else {
        0
    };
    let stage_problems = if clients_dir.is_dir() {
        crate::pipeline::route::check(&ctx.config, clients_dir)
    } else {
        let mut p = crate::route::validate_playbook(&ctx.config.route);
        p.extend(crate::digest::validate_templates(&ctx.config.digest));
        p
    };
    problems.extend(stage_problems);
    for p in &problems {
        println!("{p}");
    }
    if problems.is_empty() {
        println!(
            "ok: configuration, {} sources in {}, {} clients in {}, the playbook and the templates are valid",
            sources.len(),
            ctx.paths.sources_dir.display(),
            clients,
            clients_dir.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let n = problems.len();
        println!("{n} {}", if n == 1 { "problem" } else { "problems" });
        Ok(ExitCode::FAILURE)
    }
}
