//! `termwatch signals [--since DATE] [--json]`: possible changes the
//! extractor could not complete (a strong trigger and a name, a slot
//! missing), from each article's latest revision, for a person to review.

use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::model::Signal;
use crate::store::Store;

/// Widest evidence shown in the table; the JSON has it whole.
const EVIDENCE_WIDTH: usize = 60;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print `{"signals": [...]}`, each with its article's URL and title.
    #[arg(long)]
    pub json: bool,
    /// Only signals extracted on or after this date.
    #[arg(long, value_parser = super::ingest::parse_date, value_name = "YYYY-MM-DD")]
    pub since: Option<jiff::Timestamp>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let url = ctx.paths.database_url(&ctx.config);
    let store = Store::open(&url)
        .await
        .with_context(|| format!("could not open the store at {url}"))?;
    let stored = crate::store::signals::list(&store, args.since)
        .await
        .context("could not read the signals")?;
    if args.json {
        let out: Vec<serde_json::Value> = stored
            .iter()
            .map(|s| {
                serde_json::json!({
                    "revision_id": s.revision_id,
                    "url": s.url,
                    "title": s.title,
                    "extracted_at": s.at.to_string(),
                    "kind": s.signal.kind,
                    "evidence": s.signal.evidence,
                    "span": s.signal.span,
                    "names": s.signal.names,
                    "missing": s.signal.missing,
                })
            })
            .collect();
        let json = serde_json::to_string_pretty(&serde_json::json!({ "signals": out }))?;
        super::events::write_out(&(json + "\n"))?;
    } else if stored.is_empty() {
        super::events::write_out(
            "no signals; they appear when an article names a change the rules could not complete\n",
        )?;
    } else {
        let mut out = String::new();
        for s in &stored {
            out.push_str(&format!("{}\n", s.url));
            out.push_str(&table(std::slice::from_ref(&s.signal)));
        }
        super::events::write_out(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per signal: kind, what was missing, the sentence (shortened).
pub fn table(signals: &[Signal]) -> String {
    let mut out = String::new();
    for s in signals {
        let mut ev: String = s.evidence.split_whitespace().collect::<Vec<_>>().join(" ");
        if ev.chars().count() > EVIDENCE_WIDTH {
            ev = ev.chars().take(EVIDENCE_WIDTH - 1).collect::<String>() + "…";
        }
        out.push_str(&format!(
            "  {:<18} missing {:<36} {}\n",
            s.kind.as_str(),
            s.missing,
            ev
        ));
    }
    out
}
