//! Deliver step: claim due deliveries from the outbox, send them, then mark
//! each sent, scheduled for a retry, or dead.
//!
//! Email and webhooks run side by side, each with its own claims and its own
//! bound on sends in flight, so an SMTP server that is down (every send
//! waiting for a timeout) never holds up another client's webhook.
//! Marking right after each send keeps the window in which a crash causes a
//! duplicate to one send; the duplicate carries the same `Message-ID` /
//! `webhook-id`.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt as _;

use crate::deliver::webhook::Format;
use crate::deliver::{Config, Deliverer, Job, SendError, StoredDigest, Target};
use crate::store::deliveries::{self, Claimed};
use crate::store::{self, Store};

/// How often `run` looks for due deliveries.
pub const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub sent: usize,
    /// Failed and scheduled for another attempt.
    pub retrying: usize,
    pub dead: usize,
}

impl Summary {
    fn add(&mut self, o: Summary) {
        self.sent += o.sent;
        self.retrying += o.retrying;
        self.dead += o.dead;
    }
}

/// Sends everything due at `now` (Unix seconds) and returns when nothing due
/// is left unclaimed. Retries scheduled later are left for a later pass.
pub async fn deliver_due(
    store: &Store,
    deliverer: &Deliverer,
    config: &Config,
    now: i64,
) -> store::Result<Summary> {
    let (email, webhook) = tokio::join!(
        channel(store, deliverer, config, "email", now),
        channel(store, deliverer, config, "webhook", now),
    );
    let mut total = email?;
    total.add(webhook?);
    Ok(total)
}

/// Runs passes every [`POLL_INTERVAL`] until `shutdown` completes; a pass in
/// progress finishes first, so nothing is left claimed.
pub async fn run(
    store: &Store,
    deliverer: &Deliverer,
    config: &Config,
    shutdown: impl Future<Output = ()>,
) -> store::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let now = jiff::Timestamp::now().as_second();
        if let Err(e) = deliver_due(store, deliverer, config, now).await {
            tracing::error!(error = %e, "delivery pass failed; trying again at the next poll");
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

async fn channel(
    store: &Store,
    deliverer: &Deliverer,
    config: &Config,
    channel: &str,
    now: i64,
) -> store::Result<Summary> {
    let concurrency = config.concurrency.max(1);
    // Claims run ahead of the sends through a small queue, so the sends in
    // flight stay at `concurrency` instead of draining at the end of each
    // batch; the queue is short so claimed rows do not wait out their lease.
    let batch = (concurrency * 2) as i64;
    let (tx, rx) = tokio::sync::mpsc::channel::<Claimed>(concurrency * 2);
    let claimer = async move {
        loop {
            let claimed =
                deliveries::claim_due(store, channel, now, config.lease_secs as i64, batch).await?;
            if claimed.is_empty() {
                return Ok::<(), store::Error>(());
            }
            for c in claimed {
                if tx.send(c).await.is_err() {
                    return Ok(());
                }
            }
        }
    };
    let queue =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let sender = queue
        .map(|c| one(store, deliverer, config, c, now))
        .buffer_unordered(concurrency)
        .fold(
            Ok(Summary::default()),
            |acc: store::Result<Summary>, r| async move {
                let mut acc = acc?;
                acc.add(r?);
                Ok(acc)
            },
        );
    let (claimed, sent) = tokio::join!(claimer, sender);
    claimed?;
    sent
}

fn job(d: &deliveries::Delivery) -> Result<Job, SendError> {
    let target = match d.channel.as_str() {
        "email" => Target::Email {
            to: d.target.clone(),
        },
        "webhook" => Target::Webhook {
            url: d.target.clone(),
            format: Format::parse(d.format.as_deref()).ok_or_else(|| {
                SendError::permanent(format!(
                    "unknown webhook format {:?}; use standard, slack or teams",
                    d.format.as_deref().unwrap_or_default()
                ))
            })?,
            secret_ref: d.secret_ref.clone(),
        },
        other => {
            return Err(SendError::permanent(format!(
                "unknown channel {other:?}; use email or webhook"
            )));
        }
    };
    Ok(Job {
        delivery_id: d.id.clone(),
        target,
    })
}

async fn one(
    store: &Store,
    deliverer: &Deliverer,
    config: &Config,
    c: Claimed,
    now: i64,
) -> store::Result<Summary> {
    let d = &c.delivery;
    let digest = StoredDigest {
        id: d.digest_id.clone(),
        client_id: d.client_id.clone(),
        subject: c.subject.clone(),
        html: c.html.clone(),
        text: c.text.clone(),
        json: c.json.clone(),
    };
    let outcome = match job(d) {
        Ok(job) => deliverer.send(&job, &digest).await,
        Err(e) => Err(e),
    };
    let attempts = d.attempts.max(1) as u32;
    match outcome {
        Ok(()) => {
            let sent_at = jiff::Timestamp::now().as_second().max(now);
            deliveries::mark_sent(store, &d.id, sent_at).await?;
            tracing::debug!(delivery = %d.id, client = %d.client_id, channel = %d.channel, "sent");
            Ok(Summary {
                sent: 1,
                ..Summary::default()
            })
        }
        Err(e) if e.permanent || attempts >= config.max_attempts => {
            let why = if e.permanent {
                e.message.clone()
            } else {
                format!("{} (gave up after {attempts} attempts)", e.message)
            };
            tracing::warn!(delivery = %d.id, client = %d.client_id, channel = %d.channel,
                error = %why, "delivery dead-lettered; `termwatch deliveries retry {}` sends it again", d.id);
            deliveries::mark_failed(store, &d.id, &why, None).await?;
            Ok(Summary {
                dead: 1,
                ..Summary::default()
            })
        }
        Err(e) => {
            let delay = config.backoff().delay(attempts, e.retry_after);
            let at = now + delay.as_secs().max(1) as i64;
            tracing::info!(delivery = %d.id, client = %d.client_id, channel = %d.channel,
                error = %e.message, retry_in_secs = delay.as_secs(), "delivery failed; will retry");
            deliveries::mark_failed(store, &d.id, &e.message, Some(at)).await?;
            Ok(Summary {
                retrying: 1,
                ..Summary::default()
            })
        }
    }
}
