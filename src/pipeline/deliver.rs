//! Deliver step: claim due deliveries from the outbox, send them, then mark
//! each sent, scheduled for a retry, or dead.
//!
//! Email and webhooks run side by side, each with its own claims and its own
//! bound on sends in flight, so an SMTP server that is down (every send
//! waiting for a timeout) never holds up another client's webhook.
//! A delivery is claimed only when a send slot is free for it, and its claim
//! is renewed while the send is in flight, so a lease shorter than a slow
//! send never lets another worker take it. Marking right after each send
//! keeps the window in which a crash causes a duplicate to one send; the
//! duplicate carries the same `Message-ID` / `webhook-id`.
//!
//! On shutdown a pass stops claiming at once; sends in flight get
//! `[deliver] shutdown_grace_secs` to finish, and whatever is cut off is
//! released, to be sent by the next worker.

use std::collections::HashMap;
use std::future::Future;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::deliver::webhook::Format;
use crate::deliver::webhook_urls::WebhookUrls;
use crate::deliver::{Config, Deliverer, Job, SendError, StoredDigest, Target};
use crate::store::deliveries::{self, Claimed};
use crate::store::{self, Store};

/// The webhook URLs of the client profiles in `clients_dir`, which the
/// outbox's references name; a profile that does not load lists none.
pub fn webhook_urls(clients_dir: &std::path::Path) -> WebhookUrls {
    let (clients, _) = crate::route::load_clients(clients_dir);
    WebhookUrls::new(
        clients
            .into_iter()
            .flat_map(|c| c.webhooks.into_iter().map(move |w| (c.id.clone(), w.url))),
    )
}

/// Added to every claim's expiry: claim times are whole seconds taken from
/// a wall-clock second plus a monotonic count of seconds, each truncated, so
/// a worker's clock may run up to two seconds behind another's.
const CLOCK_SLACK_SECS: i64 = 2;

/// Turns true when the process starts shutting down.
pub type Shutdown = watch::Receiver<bool>;

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
/// is left unclaimed; for callers that are never interrupted.
pub async fn deliver_due(
    store: &Store,
    deliverer: &Deliverer,
    config: &Config,
    now: i64,
) -> store::Result<Summary> {
    let (_keep, never) = watch::channel(false);
    deliver_until(store, deliverer, config, now, never).await
}

/// Sends everything due at `now` (Unix seconds) until nothing due is left
/// unclaimed or `shutdown` turns true. Retries scheduled later are left for a
/// later pass.
pub async fn deliver_until(
    store: &Store,
    deliverer: &Deliverer,
    config: &Config,
    now: i64,
    shutdown: Shutdown,
) -> store::Result<Summary> {
    let clock = Clock {
        pass_start: now,
        started: Instant::now(),
    };
    let (email, webhook) = tokio::join!(
        channel(store, deliverer, config, "email", clock, shutdown.clone()),
        channel(store, deliverer, config, "webhook", clock, shutdown),
    );
    let mut total = email?;
    total.add(webhook?);
    Ok(total)
}

/// Completes once `shutdown` is true; never, when its sender is gone
/// without having said so.
async fn stopped(shutdown: &mut Shutdown) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The pass's notion of now: the pass's start (what is due) plus the time
/// since, so a claim made late in a long pass is dated when it is made.
/// Monotonic, so tokio's paused time drives it in tests.
#[derive(Debug, Clone, Copy)]
struct Clock {
    pass_start: i64,
    started: Instant,
}

impl Clock {
    fn now(&self) -> i64 {
        self.pass_start + self.started.elapsed().as_secs() as i64
    }
}

async fn channel(
    store: &Store,
    deliverer: &Deliverer,
    config: &Config,
    channel: &str,
    clock: Clock,
    mut shutdown: Shutdown,
) -> store::Result<Summary> {
    let concurrency = config.concurrency.max(1);
    let lease = config.lease().as_secs() as i64 + CLOCK_SLACK_SECS;
    let mut in_flight = FuturesUnordered::new();
    // Claims of the sends in flight, to give back if shutdown cuts them off.
    let mut held: HashMap<String, String> = HashMap::new();
    let mut summary = Summary::default();
    let mut claiming = true;
    let mut grace_ends: Option<Instant> = None;
    // A claim runs beside the sends in flight, never instead of them: a send
    // left unpolled could hold one of the pool's connections the claim
    // waits for. Once started it is never dropped half-way, since its rows
    // are claimed as soon as its statement runs.
    let mut claim: Option<futures_util::future::BoxFuture<'_, store::Result<Vec<Claimed>>>> = None;
    loop {
        if claiming && *shutdown.borrow() {
            claiming = false;
        }
        if claim.is_none() && claiming && in_flight.len() < concurrency {
            let free = (concurrency - in_flight.len()) as i64;
            claim = Some(Box::pin(deliveries::claim_due(
                store,
                channel,
                clock.pass_start,
                clock.now(),
                lease,
                free,
            )));
        }
        if in_flight.is_empty() && claim.is_none() {
            return Ok(summary);
        }
        if !claiming && grace_ends.is_none() && *shutdown.borrow() {
            grace_ends = Some(Instant::now() + config.shutdown_grace());
        }
        let grace = async {
            match grace_ends {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let claimed = async {
            match claim.as_mut() {
                Some(c) => c.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            claimed = claimed => {
                claim = None;
                let claimed = claimed?;
                if claimed.is_empty() {
                    claiming = false;
                }
                for c in claimed {
                    let token = c.delivery.claim_token.clone().unwrap_or_default();
                    if claiming {
                        held.insert(c.delivery.id.clone(), token);
                        in_flight.push(one(store, deliverer, config, c, clock));
                    } else {
                        // Shutdown began while this claim ran: not sent.
                        deliveries::release(store, &c.delivery.id, &token).await?;
                    }
                }
            }
            done = in_flight.next(), if !in_flight.is_empty() => {
                if let Some((id, r)) = done {
                    held.remove(&id);
                    summary.add(r?);
                }
            }
            _ = stopped(&mut shutdown), if claiming || grace_ends.is_none() => {
                claiming = false;
            }
            _ = grace => {
                drop(in_flight);
                return give_back(store, channel, &held).await.map(|()| summary);
            }
        }
    }
}

/// Releases the claims of sends cut off at the end of the shutdown grace.
async fn give_back(
    store: &Store,
    channel: &str,
    held: &HashMap<String, String>,
) -> store::Result<()> {
    tracing::warn!(
        channel,
        cut_off = held.len(),
        "shutdown grace over: sends still in flight were stopped; they stay pending for the next run"
    );
    for (id, token) in held {
        deliveries::release(store, id, token).await?;
    }
    Ok(())
}

/// Runs `send`, renewing the claim every third of the lease until it ends.
async fn renewing<T>(
    store: &Store,
    config: &Config,
    d: &deliveries::Delivery,
    clock: Clock,
    send: impl Future<Output = T>,
) -> T {
    tokio::pin!(send);
    let lease = config.lease();
    let token = d.claim_token.as_deref().unwrap_or_default();
    loop {
        tokio::select! {
            out = &mut send => return out,
            _ = tokio::time::sleep(lease / 3) => {
                let until = clock.now() + lease.as_secs() as i64 + CLOCK_SLACK_SECS;
                match deliveries::renew(store, &d.id, token, until).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(delivery = %d.id,
                        "the claim on this delivery passed to another holder while it was being sent"),
                    Err(e) => tracing::warn!(delivery = %d.id, error = %e,
                        "could not renew the claim on this delivery; trying again"),
                }
            }
        }
    }
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
    clock: Clock,
) -> (String, store::Result<Summary>) {
    let id = c.delivery.id.clone();
    let r = send_and_mark(store, deliverer, config, c, clock).await;
    (id, r)
}

async fn send_and_mark(
    store: &Store,
    deliverer: &Deliverer,
    config: &Config,
    c: Claimed,
    clock: Clock,
) -> store::Result<Summary> {
    let d = &c.delivery;
    let token = d.claim_token.as_deref().unwrap_or_default();
    let digest = StoredDigest {
        id: d.digest_id.clone(),
        client_id: d.client_id.clone(),
        subject: c.subject.clone(),
        html: c.html.clone(),
        text: c.text.clone(),
        json: c.json.clone(),
    };
    let outcome = match job(d) {
        Ok(job) => renewing(store, config, d, clock, deliverer.send(&job, &digest)).await,
        Err(e) => Err(e),
    };
    let attempts = d.attempts.max(1) as u32;
    let now = clock.now();
    let (marked, summary) = match outcome {
        Ok(()) => {
            let sent_at = jiff::Timestamp::now().as_second().max(now);
            let marked = deliveries::mark_sent(store, &d.id, token, sent_at).await?;
            tracing::debug!(delivery = %d.id, client = %d.client_id, channel = %d.channel, "sent");
            (
                marked,
                Summary {
                    sent: 1,
                    ..Summary::default()
                },
            )
        }
        Err(e) if e.permanent || attempts >= config.max_attempts => {
            let why = if e.permanent {
                e.message.clone()
            } else {
                format!("{} (gave up after {attempts} attempts)", e.message)
            };
            tracing::warn!(delivery = %d.id, client = %d.client_id, channel = %d.channel,
                error = %why, "delivery dead-lettered; `termwatch deliveries retry {}` sends it again", d.id);
            let marked = deliveries::mark_failed(store, &d.id, token, &why, None).await?;
            (
                marked,
                Summary {
                    dead: 1,
                    ..Summary::default()
                },
            )
        }
        Err(e) => {
            let delay = config.backoff().delay(attempts, e.retry_after);
            let at = now + delay.as_secs().max(1) as i64;
            tracing::info!(delivery = %d.id, client = %d.client_id, channel = %d.channel,
                error = %e.message, retry_in_secs = delay.as_secs(), "delivery failed; will retry");
            let marked = deliveries::mark_failed(store, &d.id, token, &e.message, Some(at)).await?;
            (
                marked,
                Summary {
                    retrying: 1,
                    ..Summary::default()
                },
            )
        }
    };
    if !marked {
        // Renewal keeps this from happening while the store answers; if it
        // does, the holder of the claim records the outcome instead.
        tracing::warn!(delivery = %d.id, client = %d.client_id,
            "this delivery's claim had passed to another holder; its outcome here is not recorded");
        return Ok(Summary::default());
    }
    Ok(summary)
}
