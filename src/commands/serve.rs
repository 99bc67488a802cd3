//! `termwatch serve`: the HTTP API (and, unless `--no-worker`, the worker).

use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::serve::{self, AppState};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (default `[serve] listen`, 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Serve only; leave collecting and sending to a `termwatch run` elsewhere.
    #[arg(long)]
    pub no_worker: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    // The worker takes the data dir; a serve without one only reads (and
    // writes client files and tokens), which is safe beside a `run`.
    let _owner = if args.no_worker {
        None
    } else {
        ctx.paths.own_data_dir(&ctx.config)?
    };
    let addr = args
        .listen
        .unwrap_or_else(|| ctx.config.serve.listen.clone());
    let listener = bind(&addr).await?;
    let store = ctx.open_store().await?;
    let rx = super::shutdown_on_signal();
    let state = AppState::new(store, ctx.config.clone(), ctx.paths.clone());
    eprintln!("serving on http://{addr} (API under /api/v1/, document at /openapi.json)");
    let server = tokio::spawn(serve::serve(listener, state, rx.clone()));
    if !args.no_worker {
        crate::pipeline::run(&ctx.config, &ctx.paths, rx).await?;
    }
    server
        .await
        .context("the HTTP server stopped unexpectedly")?
        .context("the HTTP server failed")?;
    Ok(ExitCode::SUCCESS)
}

/// Binds `addr`, saying what to do when it cannot.
pub(super) async fn bind(addr: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("could not listen on {addr}; is another process using it? Pick another with --listen HOST:PORT")
    })
}
