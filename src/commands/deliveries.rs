//! `termwatch deliveries`: list the outbox (pending, sent, failed, dead, with
//! the last error), `retry ID` to queue a failed or dead delivery again, and
//! `send` to send what is due now and exit.

use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::deliver::Deliverer;
use crate::store::Store;
use crate::store::deliveries::{self, Delivery, RetryOutcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Only deliveries with this status.
    #[arg(long, value_enum)]
    status: Option<Status>,
    /// Show at most this many, newest first.
    #[arg(long, default_value_t = 50)]
    limit: i64,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Queue a failed or dead delivery again, due now, with a fresh attempt count.
    Retry {
        /// The delivery id (first column of `termwatch deliveries`).
        id: String,
    },
    /// Send every delivery that is due now, then exit.
    Send,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Status {
    Pending,
    Sent,
    Failed,
    Dead,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Dead => "dead",
        }
    }
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let url = ctx.paths.database_url(&ctx.config);
    // The store's error names the (redacted) URL already.
    let store = Store::open(&url).await?;
    let now = jiff::Timestamp::now().as_second();
    match args.action {
        Some(Action::Retry { id }) => match deliveries::retry(&store, &id, now).await? {
            RetryOutcome::Queued => {
                println!(
                    "delivery {id} queued; `termwatch deliveries send` (or the running worker) sends it"
                );
                Ok(ExitCode::SUCCESS)
            }
            RetryOutcome::AlreadySent => {
                anyhow::bail!("delivery {id} was already sent; nothing to retry")
            }
            RetryOutcome::InFlight => {
                anyhow::bail!(
                    "delivery {id} is being sent by a running worker right now; see its outcome with `termwatch deliveries`"
                )
            }
            RetryOutcome::NotFound => {
                anyhow::bail!("no delivery {id}; run `termwatch deliveries` to list the ids")
            }
        },
        Some(Action::Send) => {
            let _owner = ctx.paths.own_data_dir(&ctx.config)?;
            let deliverer = Deliverer::new(&ctx.config.deliver, &ctx.paths.data_dir)
                .context("the [deliver] configuration is invalid")?
                .with_webhook_urls(crate::pipeline::deliver::webhook_urls(
                    &ctx.paths.clients_dir,
                ));
            let s = crate::pipeline::deliver::deliver_until(
                &store,
                &deliverer,
                &ctx.config.deliver,
                now,
                super::shutdown_on_signal(),
            )
            .await?;
            println!(
                "sent {}, retrying later {}, dead {}",
                s.sent, s.retrying, s.dead
            );
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let rows =
                deliveries::list(&store, args.status.map(Status::as_str), args.limit).await?;
            let counts = deliveries::counts(&store).await?;
            print!("{}", render(&rows, &counts));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Where a delivery goes, safe to print: a webhook URL often carries a
/// token in its path, so only its origin is shown.
fn shown_target(d: &Delivery) -> String {
    if d.channel == "webhook" {
        format!(
            "{} ({})",
            crate::deliver::webhook_urls::shown(&d.target),
            d.format.as_deref().unwrap_or("standard")
        )
    } else {
        d.target.clone()
    }
}

fn when(d: &Delivery) -> String {
    let at = match d.status.as_str() {
        "sent" => d.sent_at,
        "dead" => None,
        _ => Some(d.next_attempt_at),
    };
    at.map(|s| {
        crate::store::from_secs(s)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    })
    .unwrap_or_else(|| "-".to_string())
}

fn render(rows: &[Delivery], counts: &[(String, i64)]) -> String {
    let mut out = String::new();
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{s} {n}")).collect();
    out.push_str(&format!(
        "deliveries: {}\n",
        if summary.is_empty() {
            "none".to_string()
        } else {
            summary.join(", ")
        }
    ));
    if rows.is_empty() {
        return out;
    }
    out.push_str(&format!(
        "{:<36}  {:<7}  {:<7}  {:<16}  {:>3}  {:<19}  {}\n",
        "ID", "STATUS", "CHANNEL", "CLIENT", "TRY", "NEXT/SENT (UTC)", "TARGET / LAST ERROR"
    ));
    for d in rows {
        out.push_str(&format!(
            "{:<36}  {:<7}  {:<7}  {:<16}  {:>3}  {:<19}  {}\n",
            d.id,
            d.status,
            d.channel,
            d.client_id,
            d.attempts,
            when(d),
            shown_target(d)
        ));
        if let Some(err) = &d.last_error {
            out.push_str(&format!(
                "{:>38}last error: {}\n",
                "",
                err.replace('\n', " ")
            ));
        }
    }
    out
}
