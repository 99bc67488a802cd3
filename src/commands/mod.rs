//! The command line: clap definitions and one file per command.
//!
//! Each command file takes the loaded [`Context`] and its own arguments, calls
//! the library and returns an exit code. Errors bubble up as `anyhow` with
//! context; `main.rs` prints the whole chain.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::{Config, Paths};

mod check;
mod deliveries;
mod demo;
mod digest;
mod events;
mod extract;
mod import_opml;
mod ingest;
mod reextract;
mod run;
mod serve;
mod signals;
mod sources;
mod token;
mod usage;

/// Watch AI and cloud vendors for partnership-term changes and tell each
/// client what to do about them.
#[derive(Debug, Parser)]
#[command(name = "termwatch", version, about, max_term_width = 100)]
pub struct Cli {
    /// Configuration file (optional; defaults work without it).
    #[arg(long, global = true, env = "TERMWATCH_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where the SQLite database and the outboxes live.
    #[arg(long, global = true, env = "TERMWATCH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Directory of source definitions (`*.toml`).
    #[arg(long, global = true, env = "TERMWATCH_SOURCES", value_name = "DIR")]
    pub sources: Option<PathBuf>,
    /// Directory of client profiles (`*.toml`).
    #[arg(long, global = true, env = "TERMWATCH_CLIENTS", value_name = "DIR")]
    pub clients: Option<PathBuf>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// More log output (-v info, -vv termwatch's debug, -vvv its trace); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the worker: every source on its own schedule, until SIGINT/SIGTERM.
    Run(run::Args),
    /// Validate the configuration, sources, clients, playbook and templates.
    Check(check::Args),
    /// List sources with their health.
    Sources(sources::Args),
    /// Turn an OPML subscription list into a source file.
    ImportOpml(import_opml::Args),
    /// Extract term changes from a file, a URL or standard input.
    Extract(extract::Args),
    /// Add local files as articles, then extract and correlate them.
    Ingest(ingest::Args),
    /// List correlated events.
    Events(events::Args),
    /// List possible changes the extractor could not complete, for review.
    Signals(signals::Args),
    /// Digests: preview what a client would get.
    Digest(digest::Args),
    /// List deliveries, or retry a failed or dead one.
    Deliveries(deliveries::Args),
    /// Read stored revisions again (after a prompt, model or rules change) and correlate.
    Reextract(reextract::Args),
    /// Model endpoint usage per day: requests, tokens, dropped changes, failures.
    Usage(usage::Args),
    /// Show the whole product offline in under a minute.
    Demo(demo::Args),
    /// Serve the HTTP API, metrics and feeds (and run the worker unless --no-worker).
    Serve(serve::Args),
    /// API tokens and per-client feed tokens.
    Token(token::Args),
}

/// What every command gets: the merged configuration and resolved paths.
#[derive(Debug, Clone)]
pub struct Context {
    pub config: Config,
    pub paths: Paths,
}

impl Context {
    /// The store, with an error that names it (its password hidden).
    pub async fn open_store(&self) -> anyhow::Result<crate::store::Store> {
        let url = self.paths.database_url(&self.config);
        crate::store::Store::open(&url).await.with_context(|| {
            format!(
                "could not open the store at {}",
                crate::config::redact_url(&url)
            )
        })
    }
}

/// Parse-free entry point used by `main.rs`: set up logging, load the
/// configuration, build a runtime and run the command.
pub fn main(cli: Cli) -> anyhow::Result<ExitCode> {
    init_logging(cli.log_json, cli.verbose);
    let (config, paths) = crate::config::load(
        cli.config.as_deref(),
        cli.data_dir,
        cli.sources,
        cli.clients,
    )
    .context("could not load the configuration")?;
    let ctx = Context { config, paths };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => run::run(&ctx, args).await,
            Command::Check(args) => check::run(&ctx, args).await,
            Command::Sources(args) => sources::run(&ctx, args).await,
            Command::ImportOpml(args) => import_opml::run(&ctx, args).await,
            Command::Extract(args) => extract::run(&ctx, args).await,
            Command::Ingest(args) => ingest::run(&ctx, args).await,
            Command::Events(args) => events::run(&ctx, args).await,
            Command::Signals(args) => signals::run(&ctx, args).await,
            Command::Digest(args) => digest::run(&ctx, args).await,
            Command::Deliveries(args) => deliveries::run(&ctx, args).await,
            Command::Reextract(args) => reextract::run(&ctx, args).await,
            Command::Usage(args) => usage::run(&ctx, args).await,
            Command::Demo(args) => demo::run(&ctx, args).await,
            Command::Serve(args) => serve::run(&ctx, args).await,
            Command::Token(args) => token::run(&ctx, args).await,
        }
    })
}

/// Turns true at the first SIGINT or SIGTERM: the worker stops taking new
/// work and lets what is in flight finish. A second signal ends the process
/// at once (what was in flight stays pending for the next run).
pub fn shutdown_on_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        // Listening from the start, so a second signal that comes before
        // the first is handled still counts.
        let mut signals = Signals::new();
        signals.next().await;
        tracing::warn!(
            "shutting down: no new work; sends in flight get [deliver] shutdown_grace_secs to finish; signal again to stop at once"
        );
        let _ = tx.send(true);
        let code = signals.next().await;
        eprintln!("second signal: stopping now; unfinished deliveries stay pending");
        std::process::exit(code);
    });
    rx
}

/// SIGINT and SIGTERM, each with its own listener.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                streams: signal(SignalKind::interrupt())
                    .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next signal, as the shell's exit code for it.
    async fn next(&mut self) -> i32 {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.streams {
            return tokio::select! {
                _ = int.recv() => 130,
                _ = term.recv() => 143,
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        130
    }
}

/// Crates whose debug output carries what termwatch must never print: request
/// URLs (a webhook URL's path is its token), redirect targets, header frames.
/// They are capped at info under every verbosity, `RUST_LOG` included.
const QUIET_TARGETS: &[&str] = &["h2", "hyper", "hyper_util", "reqwest", "lettre"];

fn init_logging(json: bool, verbose: u8) {
    use tracing_subscriber::EnvFilter;
    // Other crates stay at info even with -vv: their debug lines are about
    // their own internals, and some carry request URLs or protocol lines.
    let default = match verbose {
        0 => "warn,termwatch=info",
        1 => "info",
        2 => "info,termwatch=debug",
        _ => "info,termwatch=trace",
    };
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    for target in QUIET_TARGETS {
        if let Ok(d) = format!("{target}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests calling `main` twice) is harmless: keep the first.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
