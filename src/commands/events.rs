//! `termwatch events`: the correlated events, as a table or as JSON.

use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::model::Event;

/// Widest key shown in the table; the JSON has it whole.
const KEY_WIDTH: usize = 38;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print `{"events": [...]}` (each event with its sources and history).
    #[arg(long)]
    pub json: bool,
    /// Only events with a report published on or after this date.
    #[arg(long, value_parser = super::ingest::parse_date, value_name = "YYYY-MM-DD")]
    pub since: Option<jiff::Timestamp>,
    /// Only disputed events.
    #[arg(long)]
    pub disputed: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let events: Vec<Event> = crate::store::events::list(&store)
        .await
        .context("could not read the events")?
        .into_iter()
        .filter(|e| args.since.is_none_or(|s| e.last_seen >= s))
        .filter(|e| !args.disputed || e.disputed)
        .collect();
    if args.json {
        let mut history = crate::store::events::history(&store)
            .await
            .context("could not read the event history")?;
        let mut out = Vec::with_capacity(events.len());
        for e in &events {
            // Through text, not `to_value`: that widens f32 confidences to
            // f64 and prints 0.800000011920929 for 0.8.
            let mut v: serde_json::Value = serde_json::from_str(&serde_json::to_string(e)?)?;
            if let Some(obj) = v.as_object_mut() {
                let lines = history.remove(&e.id).unwrap_or_default();
                obj.insert("history".into(), serde_json::to_value(lines)?);
            }
            out.push(v);
        }
        let json = serde_json::to_string_pretty(&serde_json::json!({ "events": out }))?;
        write_out(&(json + "\n"))?;
    } else {
        write_out(&table(&events))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints to stdout; a reader that stops early (`| head`) is not an error.
pub(super) fn write_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("could not write to standard output")
        }
        _ => Ok(()),
    }
}

/// The key an event is matched on, for people.
pub fn key_label(e: &Event) -> String {
    let or_any = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    if e.kind.is_product_kind() {
        return format!("{} on {}", or_any(&e.product), or_any(&e.platform));
    }
    match (&e.payer, &e.payee, &e.licensor, &e.licensee) {
        (Some(_), _, _, _) | (_, Some(_), _, _) => {
            format!("{} pays {}", or_any(&e.payer), or_any(&e.payee))
        }
        (_, _, Some(_), _) | (_, _, _, Some(_)) => {
            format!("{} licenses {}", or_any(&e.licensor), or_any(&e.licensee))
        }
        _ => e.parties.join(" + "),
    }
}

fn table(events: &[Event]) -> String {
    if events.is_empty() {
        return "no events; add articles with `termwatch ingest FILE...` or `termwatch run --once`\n"
            .to_string();
    }
    let mut out = format!(
        "{:<19} {:<18} {:<KEY_WIDTH$} {:<13} {:<8} {:>5} {:>4}\n",
        "ID", "KIND", "KEY", "STATUS", "SEVERITY", "CONF", "SRC"
    );
    for e in events {
        let mut key = key_label(e);
        if key.chars().count() > KEY_WIDTH {
            key = key.chars().take(KEY_WIDTH - 1).collect::<String>() + "…";
        }
        let mut urls: Vec<&str> = e.sources.iter().map(|s| s.url.as_str()).collect();
        urls.sort_unstable();
        urls.dedup();
        out.push_str(&format!(
            "{:<19} {:<18} {:<KEY_WIDTH$} {:<13} {:<8} {:>5.2} {:>4}{}\n",
            e.id,
            e.kind.as_str(),
            key,
            e.status.as_str(),
            e.severity.as_str(),
            e.confidence,
            urls.len(),
            if e.disputed { "  DISPUTED" } else { "" }
        ));
    }
    out
}
