//! `termwatch token`: API tokens for `serve`, and per-client feed tokens.
//! A token is printed once and kept only as a hash.

use std::process::ExitCode;

use super::Context;
use crate::serve::auth::{self, Scope};
use crate::store::tokens;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Make an API token and print it (once).
    Create {
        name: String,
        /// read (GET routes), review (and the review queue) or admin (and writes).
        #[arg(long, default_value = "read")]
        scope: String,
    },
    /// List the tokens (names and scopes; the tokens themselves are not kept).
    List,
    /// Remove a token: requests with it get 401 at once.
    Revoke { name: String },
    /// Make (or replace) a client's feed token and print its feed path.
    Feed { client: String },
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let now = jiff::Timestamp::now().as_second();
    match args.command {
        Sub::Create { name, scope } => {
            let Some(scope) = Scope::parse(&scope) else {
                anyhow::bail!("scope \"{scope}\" is not one of read, review, admin");
            };
            let token = auth::new_token("tw");
            if !tokens::create(&store, &name, &auth::hash(&token), scope.as_str(), now).await? {
                anyhow::bail!(
                    "a token named \"{name}\" exists; revoke it first or pick another name"
                );
            }
            eprintln!(
                "token \"{name}\" ({}) created; it is shown only now:",
                scope.as_str()
            );
            println!("{token}");
        }
        Sub::List => {
            for t in tokens::list(&store).await? {
                println!(
                    "{}  {}  created {}",
                    t.name,
                    t.scope,
                    crate::store::from_secs(t.created_at)
                );
            }
        }
        Sub::Revoke { name } => {
            if !tokens::revoke(&store, &name).await? {
                anyhow::bail!("no token named \"{name}\"; `termwatch token list` shows them");
            }
            println!("revoked {name}");
        }
        Sub::Feed { client } => {
            let (clients, _) = crate::route::load_clients(&ctx.paths.clients_dir);
            if !clients.iter().any(|c| c.id == client) {
                anyhow::bail!(
                    "no client \"{client}\" in {}",
                    ctx.paths.clients_dir.display()
                );
            }
            let token = auth::new_token("twf");
            tokens::set_feed(&store, &client, &auth::hash(&token), now).await?;
            eprintln!("feed for {client} (any earlier feed link stops working):");
            println!("/feeds/{token}/events.atom");
        }
    }
    Ok(ExitCode::SUCCESS)
}
