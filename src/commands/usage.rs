//! `termwatch usage [--since DATE]`: what the model endpoint cost per day
//! (UTC): requests, input and output tokens, changes dropped by the evidence
//! check, and failed articles.

use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;

/// Days shown when `--since` is not given.
const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// First day to show (default: the last 30 days).
    #[arg(long, value_parser = super::ingest::parse_date, value_name = "YYYY-MM-DD")]
    pub since: Option<jiff::Timestamp>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let since = args.since.unwrap_or_else(|| {
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * DEFAULT_DAYS)
    });
    let days = crate::store::llm::usage_by_day(&store, since)
        .await
        .context("could not read the model usage")?;
    if days.is_empty() {
        println!(
            "no model usage recorded; it is counted when [extract] backend is \"llm\" or \"both\""
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<10} {:>8} {:>13} {:>13} {:>8} {:>8}",
        "DAY", "REQUESTS", "INPUT_TOKENS", "OUTPUT_TOKENS", "DROPPED", "FAILED"
    );
    for d in &days {
        let u = d.usage;
        println!(
            "{:<10} {:>8} {:>13} {:>13} {:>8} {:>8}",
            d.day, u.requests, u.input_tokens, u.output_tokens, u.dropped, u.failures
        );
    }
    Ok(ExitCode::SUCCESS)
}
