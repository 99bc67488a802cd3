//! The `deliver` stage: send one stored digest to one destination, by email
//! (SMTP through a pool of connections, or a file outbox of `.eml` files when no SMTP
//! server is configured) or by signed webhook (Standard Webhooks, Slack,
//! Teams).
//!
//! This stage only sends. Which deliveries are due, the leases that stop two
//! workers sending the same one, retries and dead-lettering live in
//! `store::deliveries` and `pipeline::deliver`, so a crash between sending and
//! marking loses nothing: the delivery is sent again with the same
//! `Message-ID` / `webhook-id` and the receiver can drop the duplicate.
//!
//! - `email`: lettre messages, atomic file outbox.
//! - `smtp`: SMTP connections (TCP_NODELAY, STARTTLS / TLS, AUTH) and their pool.
//! - `webhook`: payload formats and Standard Webhooks signing.
//! - `secrets`: `env:NAME` / `file:PATH` references; secrets never printed.
//! - `retry`: exponential backoff with jitter, `Retry-After`.
//! - `webhook_urls`: the outbox stores a reference, the URL is read from the
//!   client profile at send time.

pub mod email;
pub mod retry;
pub mod secrets;
pub mod smtp;
pub mod webhook;
pub mod webhook_urls;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Attempts before a delivery is dead-lettered.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// First retry delay; doubles per attempt.
pub const DEFAULT_BACKOFF_BASE_SECS: u64 = 30;
/// Longest retry delay.
pub const DEFAULT_BACKOFF_MAX_SECS: u64 = 3600;
/// Sends in flight per channel.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// How long a claim keeps other workers off a delivery; renewed while its
/// send is in flight, so it need not be longer than a send.
pub const DEFAULT_LEASE_SECS: u64 = 300;
/// Webhook request timeout.
pub const DEFAULT_WEBHOOK_TIMEOUT_SECS: u64 = 10;
/// SMTP command timeout.
pub const DEFAULT_SMTP_TIMEOUT_SECS: u64 = 30;
/// Sender when none is configured.
pub const DEFAULT_FROM: &str = "termwatch <termwatch@localhost>";
/// How long sends in flight may take to finish once shutdown begins.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 10;
/// Outbox folder name under the data dir.
pub const DEFAULT_OUTBOX_DIR: &str = "outbox";

/// `[deliver]` section of `termwatch.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where `.eml` files go when `[deliver.smtp]` is absent; default `<data dir>/outbox`.
    pub outbox_dir: Option<PathBuf>,
    pub max_attempts: u32,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// Sends in flight per channel (email and webhook each get this many).
    pub concurrency: usize,
    pub lease_secs: u64,
    /// Once shutdown begins, how long sends in flight may take to finish;
    /// those cut off stay pending for the next run.
    pub shutdown_grace_secs: u64,
    pub email: EmailConfig,
    /// SMTP server; without it, email goes to the file outbox.
    pub smtp: Option<SmtpConfig>,
    pub webhook: WebhookConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            outbox_dir: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff_base_secs: DEFAULT_BACKOFF_BASE_SECS,
            backoff_max_secs: DEFAULT_BACKOFF_MAX_SECS,
            concurrency: DEFAULT_CONCURRENCY,
            lease_secs: DEFAULT_LEASE_SECS,
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
            email: EmailConfig::default(),
            smtp: None,
            webhook: WebhookConfig::default(),
        }
    }
}

/// `[deliver.email]`: what every message carries, whichever way it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    pub from: String,
    pub reply_to: Option<String>,
    /// An https URL; when set, messages carry RFC 8058 one-click unsubscribe headers.
    pub unsubscribe_base_url: Option<String>,
}

impl Default for EmailConfig {
    fn default() -> EmailConfig {
        EmailConfig {
            from: DEFAULT_FROM.to_string(),
            reply_to: None,
            unsubscribe_base_url: None,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// No TLS at all: only for a relay on the same host or a test server.
    Plain,
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// `[deliver.smtp]`. The password is never written here: name an environment
/// variable or a file that holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default 25 (plain), 587 (starttls) or 465 (tls).
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default = "default_smtp_timeout")]
    pub timeout_secs: u64,
    /// PEM file of CA certificates to trust for this server besides the
    /// system's (a private CA, or a test server's self-signed certificate).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn default_smtp_timeout() -> u64 {
    DEFAULT_SMTP_TIMEOUT_SECS
}

/// `[deliver.webhook]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Allow targets on loopback, private and link-local addresses (cloud
    /// metadata and unspecified addresses stay refused).
    pub allow_private_targets: bool,
    pub timeout_secs: u64,
}

impl Default for WebhookConfig {
    fn default() -> WebhookConfig {
        WebhookConfig {
            allow_private_targets: false,
            timeout_secs: DEFAULT_WEBHOOK_TIMEOUT_SECS,
        }
    }
}

impl Config {
    /// The outbox directory for a data dir.
    pub fn outbox_dir(&self, data_dir: &Path) -> PathBuf {
        self.outbox_dir
            .clone()
            .unwrap_or_else(|| data_dir.join(DEFAULT_OUTBOX_DIR))
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs.max(1))
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    pub fn backoff(&self) -> retry::Backoff {
        retry::Backoff {
            base: Duration::from_secs(self.backoff_base_secs),
            max: Duration::from_secs(self.backoff_max_secs.max(self.backoff_base_secs)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "deliver.email.from {0:?} is not an email address; write it as \"Name <user@example.com>\""
    )]
    From(String),
    #[error(
        "deliver.email.reply_to {0:?} is not an email address; write it as \"Name <user@example.com>\""
    )]
    ReplyTo(String),
    #[error(
        "deliver.email.unsubscribe_base_url {0:?} must be an https URL (RFC 8058), e.g. \"https://example.com/unsubscribe\""
    )]
    Unsubscribe(String),
    #[error("deliver.smtp: {0}")]
    Smtp(String),
    #[error("deliver.smtp password: {0}")]
    Password(secrets::Error),
    #[error("could not build the webhook HTTP client: {0}")]
    Client(String),
    #[error("deliver.concurrency must be at least 1")]
    Concurrency,
}

/// Why one send failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq)]
pub struct SendError {
    pub message: String,
    /// True when a retry cannot help (bad address, refused target, 4xx):
    /// the delivery is dead-lettered at once, to be fixed and retried by hand.
    pub permanent: bool,
    /// The receiver's `Retry-After`, if it gave one.
    pub retry_after: Option<Duration>,
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            permanent: false,
            retry_after: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            permanent: true,
            retry_after: None,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A digest as stored, the input of one send.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDigest {
    pub id: String,
    pub client_id: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The serde JSON of `model::Digest`.
    pub json: String,
}

/// Where one delivery goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Comma-separated addresses.
    Email { to: String },
    Webhook {
        /// The URL, or the outbox's reference to the client's webhook.
        url: String,
        format: webhook::Format,
        secret_ref: Option<String>,
    },
}

/// One delivery to send: its stable id (the `webhook-id`, the outbox file
/// name) and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub delivery_id: String,
    pub target: Target,
}

/// The senders, built once from the configuration and shared by all sends.
pub struct Deliverer {
    email: email::Mailer,
    webhook: webhook::Sender,
    webhook_urls: webhook_urls::WebhookUrls,
}

impl std::fmt::Debug for Deliverer {
    // The SMTP transport holds credentials: print only what kind it is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("email", &self.email.kind())
            .finish_non_exhaustive()
    }
}

impl Deliverer {
    /// Checks the configuration, reads the SMTP password and builds the
    /// SMTP pool (or the outbox) and the webhook client.
    pub fn new(config: &Config, data_dir: &Path) -> Result<Deliverer, Error> {
        if config.concurrency == 0 {
            return Err(Error::Concurrency);
        }
        Ok(Deliverer {
            email: email::Mailer::new(config, data_dir)?,
            webhook: webhook::Sender::new(&config.webhook)?,
            webhook_urls: webhook_urls::WebhookUrls::default(),
        })
    }

    /// The client profiles' webhook URLs, which outbox references name.
    pub fn with_webhook_urls(mut self, urls: webhook_urls::WebhookUrls) -> Deliverer {
        self.webhook_urls = urls;
        self
    }

    /// Sends one delivery of one digest.
    pub async fn send(&self, job: &Job, digest: &StoredDigest) -> Result<(), SendError> {
        match &job.target {
            Target::Email { to } => self.email.send(&job.delivery_id, to, digest).await,
            Target::Webhook {
                url,
                format,
                secret_ref,
            } => {
                let url = self.webhook_urls.resolve(&digest.client_id, url)?;
                self.webhook
                    .send(
                        &job.delivery_id,
                        &url,
                        *format,
                        secret_ref.as_deref(),
                        digest,
                    )
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_section_reads_ca_file_and_defaults_to_starttls() {
        let c: Config = toml::from_str(
            r#"
            [smtp]
            host = "mail.example.com"
            username = "termwatch"
            password_env = "TW_SMTP_PASSWORD"
            ca_file = "/etc/termwatch/private-ca.pem"
            "#,
        )
        .unwrap();
        let smtp = c.smtp.unwrap();
        assert_eq!(smtp.security, Security::Starttls);
        assert_eq!(
            smtp.ca_file.as_deref(),
            Some(Path::new("/etc/termwatch/private-ca.pem"))
        );
        assert_eq!(smtp.timeout_secs, DEFAULT_SMTP_TIMEOUT_SECS);
    }
}
