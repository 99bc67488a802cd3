//! `termwatch run`: the long-running worker, or one pass with `--once`.
//!
//! With `--once`, errors of failed sources are printed first and the summary
//! line is always the last line on stdout, so scripts can `tail -1` it.

use std::io::IsTerminal;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Context;
use crate::pipeline;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Poll every source once (due or not), run the later stages, print a summary and exit.
    #[arg(long)]
    pub once: bool,
    /// Also serve `/metrics` and `/healthz` (nothing else) on this address.
    #[arg(long, value_name = "ADDR", conflicts_with = "once")]
    pub metrics_listen: Option<String>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let _owner = ctx.paths.own_data_dir(&ctx.config)?;
    let rx = super::shutdown_on_signal();
    if !args.once {
        if let Some(addr) = &args.metrics_listen {
            let listener = super::serve::bind(addr).await?;
            let store = ctx.open_store().await?;
            let state = crate::serve::AppState::new(store, ctx.config.clone(), ctx.paths.clone());
            tokio::spawn(crate::serve::serve_metrics(listener, state, rx.clone()));
        }
        pipeline::run(&ctx.config, &ctx.paths, rx).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} sources {elapsed}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let report = pipeline::run_once(&ctx.config, &ctx.paths, &bar, rx).await?;
    bar.finish_and_clear();
    for p in &report.problems {
        eprintln!("skipped: {p}");
    }
    let c = &report.collect;
    for (id, until) in &c.deferred {
        println!("deferred {id}: the server asked us to wait until {until}");
    }
    for (id, err) in &c.failed {
        println!("failed {id}: {err}");
    }
    println!("{}", report.summary());
    Ok(ExitCode::SUCCESS)
}
