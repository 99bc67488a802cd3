//! `termwatch sources`: every source with its health.

use std::process::ExitCode;

use super::Context;
use crate::store::{Store, articles};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(ctx: &Context, _args: Args) -> anyhow::Result<ExitCode> {
    let (sources, problems) = crate::collect::load_sources(&ctx.paths.sources_dir);
    let store = Store::open(&ctx.paths.database_url(&ctx.config)).await?;
    let states = articles::load_states(&store).await?;
    let counts = articles::article_counts(&store).await?;
    let waiting = crate::store::llm::retries_by_source(&store).await?;
    let when = |t: Option<jiff::Timestamp>| {
        t.map_or_else(
            || "never".to_string(),
            |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        )
    };
    for s in &sources {
        let st = states.get(&s.id).cloned().unwrap_or_default();
        let health = match (&st.last_error, st.last_success) {
            (Some(_), _) => format!("failing ({} in a row)", st.consecutive_failures),
            (None, Some(_)) => "ok".to_string(),
            (None, None) => "not polled yet".to_string(),
        };
        println!("{}  [{}] {}", s.id, health, s.name);
        println!("    url: {}", s.url);
        println!(
            "    articles: {}  last success: {}  next due: {}",
            counts.get(&s.id).copied().unwrap_or(0),
            when(st.last_success),
            when(st.next_due)
        );
        if let Some(until) = st.retry_after {
            println!("    server asked us to wait until {}", when(Some(until)));
        }
        if let Some(err) = &st.last_error {
            println!("    last error: {err}");
        }
        if let Some(skipped) = &st.item_errors {
            println!("    items skipped: {skipped}");
        }
        if let Some(w) = waiting.get(&s.id) {
            println!(
                "    model extraction: {} revision(s) read by the rules only, waiting for a retry; last failure at {}: {}",
                w.revisions,
                when(Some(w.last_failed)),
                w.last_reason
            );
        }
    }
    for p in &problems {
        println!("skipped: {p}");
    }
    println!("{} sources, {} problems", sources.len(), problems.len());
    Ok(ExitCode::SUCCESS)
}
