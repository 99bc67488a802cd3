//! `termwatch digest preview CLIENT`: print what a client would get now,
//! without sending or recording anything.

use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Print the digest a client would get now (nothing is sent or recorded).
    Preview(PreviewArgs),
}

#[derive(Debug, clap::Args)]
struct PreviewArgs {
    /// The client's id (the `id` in its profile).
    client: String,
    /// Print the HTML email.
    #[arg(long, conflicts_with_all = ["text", "json"])]
    html: bool,
    /// Print the plain-text email (the default).
    #[arg(long, conflicts_with = "json")]
    text: bool,
    /// Print the JSON webhook document.
    #[arg(long)]
    json: bool,
    /// Include every event changed since this date (YYYY-MM-DD, UTC) instead
    /// of since the client's last digest.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let Sub::Preview(args) = args.command;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let store = Store::open(&ctx.paths.database_url(&ctx.config))
        .await
        .context("could not open the database")?;
    let now = jiff::Timestamp::now();
    let result = crate::pipeline::route::preview(
        &store,
        &ctx.config,
        &ctx.paths.clients_dir,
        &args.client,
        since,
        now,
    )
    .await?;
    match result {
        None => {
            eprintln!(
                "nothing for {} in this window: no new or changed event applies to them (try --since 2026-01-01)",
                args.client
            );
        }
        Some((digest, rendered)) => {
            let body = if args.html {
                rendered.html
            } else if args.json {
                rendered.json
            } else {
                format!("Subject: {}\n\n{}", digest.subject, rendered.text)
            };
            print!("{body}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_since(s: &str) -> anyhow::Result<jiff::Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let date: jiff::civil::Date = s.parse().with_context(|| {
        format!("--since \"{s}\" is not a date; write YYYY-MM-DD, like --since 2026-01-01")
    })?;
    Ok(date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .context("--since date is out of range")?
        .timestamp())
}
