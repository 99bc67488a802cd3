//! `termwatch ingest`.

use std::process::ExitCode;

use super::Context;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_ctx: &Context, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`ingest` is not built yet")
}
