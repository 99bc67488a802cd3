//! `termwatch reextract [--since DATE] [--backend B]`: read stored revisions
//! again (after a prompt change, a model change or a better rules release),
//! replace their term changes and correlate, so that the events, and the
//! digests routed from them at the next pass, carry the differences.
//!
//! Cached model answers are reused when the content, prompt version and
//! model are the same; anything else is asked again.

use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::extract::llm::Backend;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only revisions fetched on or after this date (default: all).
    #[arg(long, value_parser = super::ingest::parse_date, value_name = "YYYY-MM-DD")]
    pub since: Option<jiff::Timestamp>,
    /// Which extractor reads them: rules, llm or both (default: `[extract] backend`).
    #[arg(long, value_parser = |s: &str| s.parse::<Backend>())]
    pub backend: Option<Backend>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let mut config = ctx.config.extract.clone();
    if let Some(b) = args.backend {
        config.backend = b;
    }
    if config.backend.uses_model() {
        let problems = config.llm.problems(config.backend);
        if !problems.is_empty() {
            anyhow::bail!("{}", problems.join("; "));
        }
    }
    let store = ctx.open_store().await?;
    let now = jiff::Timestamp::now();
    let since = args.since.unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let done = crate::pipeline::extract::reextract(&store, &config, since, now)
        .await
        .context("could not re-extract the stored revisions")?;
    let applied = crate::pipeline::correlate::run(&store, &ctx.config.correlate, now)
        .await
        .context("could not correlate")?;
    println!(
        "re-read {} revision(s) with backend {}: {} change(s); events: {} new, {} changed, {} removed (the next pass routes them)",
        done.revisions,
        config.backend.as_str(),
        done.changes,
        applied.new.len(),
        applied.changed.len(),
        applied.removed.len()
    );
    Ok(ExitCode::SUCCESS)
}
