//! `termwatch check`: validate the configuration, every source file, every
//! client profile, the playbook, the digest templates and `[deliver]`.
//!
//! Each problem is printed on its own line as `FILE line N: what to write
//! instead`, warnings (worth a look, not wrong) as `warning: ...`; the exit
//! code is 1 when there is any problem. Nothing here does DNS or sends.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Context;
use crate::config::{Config, Problem};
use crate::guard::Guard;
use crate::route::{self, KnownNames};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not resolve `env:`/`file:` secrets (for a configuration checked
    /// away from the machine that holds them); everything else is checked.
    #[arg(long)]
    pub no_secrets: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    // The configuration file was parsed on load: an error there has already
    // stopped us with its line. What is left is what serde cannot check.
    let config_file = ctx
        .paths
        .config_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_CONFIG_FILE));
    let config = &ctx.config;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if let Err(e) = crate::collect::schedule::parse_duration(&config.collect.jitter) {
        problems.push(Problem::new(
            &config_file,
            None,
            format!("[collect] jitter {e}"),
        ));
    }
    if let Err(e) = config.extract.validate() {
        problems.push(Problem::new(&config_file, None, e.to_string()));
    }
    for p in config.extract.llm.problems(config.extract.backend) {
        problems.push(Problem::new(&config_file, None, p));
    }
    if let Some(key) = &config.extract.llm.api_key
        && config.extract.backend.uses_model()
        && !args.no_secrets
        && let Err(e) = resolvable(key)
    {
        problems.push(Problem::new(
            &config_file,
            None,
            format!("[extract.llm] api_key: {e}"),
        ));
    }
    if let Err(e) = config.correlate.check() {
        problems.push(Problem::new(&config_file, None, e.to_string()));
    }
    problems.extend(playbook_path(config, &config_file));
    problems.extend(deliver_section(ctx, &config_file, !args.no_secrets));
    let (sources, mut source_problems) = crate::collect::load_sources(&ctx.paths.sources_dir);
    problems.append(&mut source_problems);
    // Clients are optional: a worker that only collects has none yet.
    let clients_dir = &ctx.paths.clients_dir;
    let clients = if clients_dir.is_dir() {
        let known = known_names(config);
        let guard = Guard::webhook(config.deliver.webhook.allow_private_targets);
        let target = |url: &url::Url| webhook_refusal(&guard, url);
        let secret = |r: &str| resolvable(r);
        let found = route::check_clients(
            clients_dir,
            &route::CheckOptions {
                known: &known,
                webhook_target: &target,
                secret: (!args.no_secrets).then_some(&secret as &route::SecretCheck),
            },
        );
        problems.extend(found.errors);
        warnings.extend(found.warnings);
        route::load_clients(clients_dir).0.len()
    } else {
        0
    };
    problems.extend(route::validate_playbook(&config.route));
    problems.extend(crate::digest::validate_templates(&config.digest));
    for w in &warnings {
        println!("warning: {w}");
    }
    for p in &problems {
        println!("{p}");
    }
    if problems.is_empty() {
        println!(
            "ok: configuration, {} sources in {}, {} clients in {}, the playbook and the templates are valid",
            sources.len(),
            ctx.paths.sources_dir.display(),
            clients,
            clients_dir.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let n = problems.len();
        println!("{n} {}", if n == 1 { "problem" } else { "problems" });
        Ok(ExitCode::FAILURE)
    }
}

/// A playbook path set in the configuration that does not exist. The
/// default path is optional (the shipped playbook is used without it).
fn playbook_path(config: &Config, config_file: &Path) -> Option<Problem> {
    let path = config.route.playbook.as_ref()?;
    if path.exists() || *path == Path::new(route::DEFAULT_PLAYBOOK_PATH) {
        return None;
    }
    Some(Problem::new(
        config_file,
        None,
        format!(
            "[route] playbook {} does not exist; fix the path, or remove the setting to use the shipped playbook",
            path.display()
        ),
    ))
}

/// `[deliver]` as the worker will build it: the from and reply-to
/// addresses, the SMTP settings, CA file and password (unless secrets are
/// skipped). Nothing connects.
fn deliver_section(ctx: &Context, config_file: &Path, secrets: bool) -> Vec<Problem> {
    let deliver = &ctx.config.deliver;
    let mut problems = Vec::new();
    if deliver.concurrency == 0 {
        problems.push(Problem::new(
            config_file,
            None,
            crate::deliver::Error::Concurrency.to_string(),
        ));
    }
    if let Some(smtp) = &deliver.smtp
        && smtp.host.trim().is_empty()
    {
        problems.push(Problem::new(
            config_file,
            None,
            "[deliver.smtp] host is empty; write the SMTP server's name, or remove [deliver.smtp] to use the file outbox",
        ));
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    match crate::deliver::email::Mailer::new(deliver, &ctx.paths.data_dir) {
        Ok(_) => {}
        // The password is resolved last, after every other setting.
        Err(crate::deliver::Error::Password(_)) if !secrets => {}
        Err(e) => problems.push(Problem::new(config_file, None, e.to_string())),
    }
    problems
}

/// Why the webhook guard would refuse `url`, judged without DNS: the
/// scheme, IP literals, and `localhost` (which always means loopback).
fn webhook_refusal(guard: &Guard, url: &url::Url) -> Result<(), String> {
    guard.check_url(url).map_err(|r| r.to_string())?;
    match url.host() {
        Some(url::Host::Domain(d))
            if d.eq_ignore_ascii_case("localhost")
                || d.to_ascii_lowercase().ends_with(".localhost") =>
        {
            guard
                .check_ip(d, IpAddr::V4(Ipv4Addr::LOCALHOST))
                .map_err(|r| r.to_string())
        }
        _ => Ok(()),
    }
}

/// Whether a secret reference can be read now; the value is dropped unseen.
fn resolvable(reference: &str) -> Result<(), String> {
    crate::deliver::secrets::SecretRef::parse(reference)
        .and_then(|r| r.resolve())
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The names a client profile may use: the alias tables (with the user's
/// `[extract]` additions), the playbook's regimes and regions, and the
/// common lists in `route::clients`.
fn known_names(config: &Config) -> KnownNames {
    let mut k = KnownNames::default();
    if let Ok(t) = config.extract.tables() {
        for o in &t.organisations {
            k.vendors.push(o.name.clone());
            k.vendors.extend(o.aliases.iter().cloned());
        }
        for p in &t.platforms {
            k.platforms.push(p.name.clone());
            k.platforms.extend(p.aliases.iter().cloned());
        }
    }
    k.clouds = k.platforms.clone();
    k.clouds
        .extend(route::COMMON_CLOUDS.iter().map(|s| s.to_string()));
    k.regimes = route::COMMON_REGIMES
        .iter()
        .map(|s| s.to_string())
        .collect();
    k.residency = route::COMMON_RESIDENCY
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Ok(playbook) = route::load_playbook(&config.route) {
        for r in &playbook.rules {
            k.regimes.extend(r.rule.regimes.iter().cloned());
            k.residency.extend(r.rule.residency.iter().cloned());
        }
    }
    k
}
