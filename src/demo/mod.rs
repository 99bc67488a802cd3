//! `termwatch demo`: the whole product, offline, in under a minute.
//!
//! It serves a few bundled sample announcements (written for this project,
//! in the style of a vendor post, a cloud launch note and an analyst's take)
//! from a loopback server, runs one real pipeline pass over them (collect,
//! extract, correlate, route, digest, deliver) with the bundled example
//! clients and the default playbook, delivers to the file outbox and to a
//! webhook receiver it starts, and reports what happened. Both servers are
//! stopped before it returns, so it leaves nothing running.

mod servers;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use indicatif::ProgressBar;

use crate::config::{Config, Paths};
use crate::store::Store;

/// The example clients shipped in `clients.example/`, bundled so the demo
/// runs from any directory.
const EXAMPLE_CLIENTS: &[(&str, &str)] = &[
    (
        "harbor-clinic",
        include_str!("../../clients.example/harbor-clinic.toml"),
    ),
    (
        "rhein-legal",
        include_str!("../../clients.example/rhein-legal.toml"),
    ),
    (
        "capitol-fed",
        include_str!("../../clients.example/capitol-fed.toml"),
    ),
];

/// What the demo did, for the closing report.
#[derive(Debug, Default)]
pub struct Outcome {
    pub dir: PathBuf,
    pub summary: String,
    pub events: usize,
    pub disputed: usize,
    pub digests: Vec<(String, PathBuf)>,
    pub emails: Vec<PathBuf>,
    pub webhooks: Vec<PathBuf>,
}

/// The file a demo leaves in its directory, so a later demo knows the
/// directory is its own to clear.
pub const MARKER: &str = ".termwatch-demo";

/// The directories the demo writes (and clears on a rerun) in its directory.
const DEMO_DIRS: [&str; 5] = ["data", "webhooks", "digests", "sources", "clients"];
/// The demo receiver's signing secret, beside them.
const SECRET_FILE: &str = "webhook-secret";

/// Runs the demo in `dir` (created if needed; an earlier demo's data there
/// is replaced). A directory holding any of the demo's entries without the
/// demo's marker is refused untouched: it may be a deployment.
pub async fn run(dir: &Path) -> anyhow::Result<Outcome> {
    let dir = std::path::absolute(dir).context("could not resolve the demo directory")?;
    refuse_foreign(&dir)?;
    let paths = Paths {
        config_file: None,
        data_dir: dir.join("data"),
        sources_dir: dir.join("sources"),
        clients_dir: dir.join("clients"),
    };
    let mut config = Config::default();
    // Sends like `run`, so no worker may share its data dir; and taken before
    // anything is cleared, so a worker using this directory loses nothing.
    let _owner = paths
        .own_data_dir(&config)
        .with_context(|| format!("refusing to run the demo in {}", dir.display()))?;
    mark(&dir)?;
    clear(&dir)?;

    let secret_file = dir.join(SECRET_FILE);
    let secret = servers::webhook_secret();
    crate::config::open_private_file(&secret_file)
        .and_then(|mut f| {
            f.set_len(0)?;
            std::io::Write::write_all(&mut f, secret.as_bytes())
        })
        .context("could not write the demo webhook secret")?;

    let feeds = servers::FeedServer::start().await?;
    let hooks = servers::WebhookReceiver::start(&secret, dir.join("webhooks")).await?;

    std::fs::write(dir.join("sources/demo.toml"), feeds.sources_toml())
        .context("could not write the demo sources")?;
    write_clients(&dir.join("clients"), &hooks.url(), &secret_file)?;

    // The demo's webhook receiver is on loopback, which is refused by default.
    config.deliver.webhook.allow_private_targets = true;
    // So are its feeds: the collector may fetch from the demo's own server only.
    config.collect.allow_private_hosts = vec![feeds.allowance()];
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let report = crate::pipeline::run_once(&config, &paths, &ProgressBar::hidden(), rx).await;

    feeds.stop().await;
    hooks.stop().await;
    let report = report.context("the demo pass failed")?;

    let mut outcome = Outcome {
        summary: report.summary(),
        ..Outcome::default()
    };
    let store = Store::open(&paths.database_url(&config)).await?;
    let events = crate::store::events::list(&store).await?;
    outcome.events = events.len();
    outcome.disputed = events.iter().filter(|e| e.disputed).count();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT client_id, html FROM digests ORDER BY client_id, created_at")
            .fetch_all(store.pool())
            .await?;
    for (client, html) in rows {
        let path = dir.join("digests").join(format!("{client}.html"));
        std::fs::write(&path, html)
            .with_context(|| format!("could not write {}", path.display()))?;
        outcome.digests.push((client, path));
    }
    store.pool().close().await;
    outcome.emails = files_with(&dir.join("data"), "eml");
    outcome.webhooks = files_with(&dir.join("webhooks"), "json");
    outcome.dir = dir;
    Ok(outcome)
}

/// Refuses, before anything is written, a directory that holds any of the
/// demo's entries but not the marker of an earlier demo: it may be a
/// deployment.
fn refuse_foreign(dir: &Path) -> anyhow::Result<()> {
    if dir.join(MARKER).exists() {
        return Ok(());
    }
    let found: Vec<&str> = DEMO_DIRS
        .into_iter()
        .chain([SECRET_FILE])
        .filter(|e| dir.join(e).exists())
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to run the demo in {}: it already holds {} and was not created by the demo (no {MARKER} file), \
         so the demo would replace them; run it in a new directory, e.g. `termwatch demo termwatch-demo`",
        dir.display(),
        found.join(", ")
    )
}

/// Marks `dir` as the demo's, so a rerun may clear it.
fn mark(dir: &Path) -> anyhow::Result<()> {
    let marker = dir.join(MARKER);
    std::fs::write(
        &marker,
        "This directory was created by `termwatch demo`; a rerun replaces what it wrote here.\n",
    )
    .with_context(|| format!("could not write {}", marker.display()))
}

/// Empties the demo's directories. The data dir's lock file stays: it is the
/// lock this process holds, and a new file would be a lock nobody holds.
fn clear(dir: &Path) -> anyhow::Result<()> {
    for sub in DEMO_DIRS {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p).with_context(|| format!("could not create {}", p.display()))?;
        let entries =
            std::fs::read_dir(&p).with_context(|| format!("could not read {}", p.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("could not read {}", p.display()))?
                .path();
            if sub == "data" && path.file_name() == Some(crate::config::LOCK_FILE.as_ref()) {
                continue;
            }
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.with_context(|| format!("could not clear {}", path.display()))?;
        }
    }
    Ok(())
}

/// The example clients, set to hear about everything at once and to post
/// their webhooks to the demo's receiver with the demo's secret.
fn write_clients(dir: &Path, hook_url: &str, secret_file: &Path) -> anyhow::Result<()> {
    for (id, text) in EXAMPLE_CLIENTS {
        let mut table: toml::Table =
            toml::from_str(text).with_context(|| format!("bundled client {id} is invalid"))?;
        table.insert("cadence".into(), "immediate".into());
        table.remove("quiet_hours");
        if let Some(toml::Value::Array(hooks)) = table.get_mut("webhooks") {
            for hook in hooks.iter_mut() {
                if let toml::Value::Table(h) = hook {
                    h.insert("url".into(), format!("{hook_url}/{id}").into());
                    h.insert(
                        "secret_ref".into(),
                        format!("file:{}", secret_file.display()).into(),
                    );
                }
            }
        }
        let out = toml::to_string(&table).context("could not write a demo client")?;
        std::fs::write(dir.join(format!("{id}.toml")), out)
            .with_context(|| format!("could not write the demo client {id}"))?;
    }
    Ok(())
}

/// Every file under `dir` with extension `ext`, sorted.
fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
