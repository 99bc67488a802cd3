//! `termwatch demo [DIR]`: the whole product offline, then a report of what
//! happened and where to look.

use std::path::PathBuf;
use std::process::ExitCode;

use super::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the demo writes its sources, clients, database and outboxes.
    #[arg(default_value = "termwatch-demo")]
    pub dir: PathBuf,
}

pub async fn run(_ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    println!("termwatch demo: serving sample announcements on loopback and running one pass...");
    let o = crate::demo::run(&args.dir).await?;
    println!("{}", o.summary);
    println!(
        "events: {} ({} disputed); digests: {}; emails in the file outbox: {}; webhooks received and verified: {}",
        o.events,
        o.disputed,
        o.digests.len(),
        o.emails.len(),
        o.webhooks.len()
    );
    for (client, path) in &o.digests {
        println!("  digest for {client}: {}", path.display());
    }
    if let Some(eml) = o.emails.first() {
        println!("  an email as sent: {}", eml.display());
    }
    match o.digests.first() {
        Some((_, path)) => println!("Open {} in a browser to read a digest.", path.display()),
        None => println!("No digest was produced; see the log above."),
    }
    println!(
        "Everything is in {}; the servers are stopped. Next: copy clients.example/ to clients/ and run `termwatch run`.",
        o.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
