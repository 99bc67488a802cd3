//! `termwatch import-opml FILE`: an OPML subscription list into a source file.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::collect::opml;

/// Schedule of imported feeds: every 30 minutes (jitter spreads them).
const IMPORTED_SCHEDULE: &str = "*/30 * * * *";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The OPML file to read.
    pub file: PathBuf,
    /// Source file to append to (default: `imported.toml` in the sources directory).
    #[arg(long, value_name = "FILE")]
    pub into: Option<PathBuf>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("could not read {}", args.file.display()))?;
    let outlines = opml::parse(&text).with_context(|| format!("in {}", args.file.display()))?;
    let dir = &ctx.paths.sources_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let into = args.into.unwrap_or_else(|| dir.join("imported.toml"));
    let (existing, _) = crate::collect::load_sources(dir);
    let mut by_url: HashMap<String, String> = existing
        .iter()
        .map(|s| (s.url.to_string(), s.id.clone()))
        .collect();
    let mut taken: HashSet<String> = existing.iter().map(|s| s.id.clone()).collect();
    // `--into` outside the sources directory: its ids and URLs count too.
    if !into.starts_with(dir)
        && let Ok(t) = std::fs::read_to_string(&into)
    {
        for s in crate::collect::sources::parse_file(&into, &t).0 {
            by_url.insert(s.url.to_string(), s.id.clone());
            taken.insert(s.id);
        }
    }
    let mut new = Vec::new();
    let mut skipped = 0;
    for o in &outlines {
        let key = url::Url::parse(&o.xml_url)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| o.xml_url.clone());
        if let Some(id) = by_url.get(&key) {
            println!("skipped {}: already a source (id \"{id}\")", o.xml_url);
            skipped += 1;
            continue;
        }
        let id = opml::make_id(&o.title, &o.xml_url, &taken);
        taken.insert(id.clone());
        by_url.insert(key, id.clone());
        new.push((id, o));
    }
    if !new.is_empty() {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&into)
            .with_context(|| format!("could not open {} for writing", into.display()))?;
        file.write_all(opml::to_toml(&new, IMPORTED_SCHEDULE).as_bytes())
            .with_context(|| format!("could not write {}", into.display()))?;
    }
    println!(
        "imported {} sources into {} ({} duplicates skipped)",
        new.len(),
        into.display(),
        skipped
    );
    Ok(ExitCode::SUCCESS)
}
