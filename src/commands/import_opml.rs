//! `termwatch import-opml FILE`: an OPML subscription list into a source file.
//!
//! Never writes an id or a feed URL that a source file already holds, even
//! in an entry that does not validate (it would load as a duplicate once
//! fixed), and reports every outline it skipped by line.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
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

/// Ids and URLs already written, by URL.
#[derive(Default)]
struct Taken {
    ids: HashSet<String>,
    by_url: HashMap<String, String>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("could not read {}", args.file.display()))?;
    let parsed = opml::parse(&text).with_context(|| format!("in {}", args.file.display()))?;
    let dir = &ctx.paths.sources_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let into = args.into.unwrap_or_else(|| dir.join("imported.toml"));
    let mut taken = Taken::default();
    let mut files = toml_files(dir)?;
    if !files.contains(&into) && into.exists() {
        files.push(into.clone());
    }
    for f in &files {
        read_taken(f, &mut taken)?;
    }

    let name = args.file.display();
    let mut new = Vec::new();
    let mut duplicates = 0;
    for o in &parsed.outlines {
        if let Some(id) = taken.by_url.get(&o.xml_url) {
            println!(
                "skipped {name} line {}: {} is already a source (id \"{id}\")",
                o.line, o.xml_url
            );
            duplicates += 1;
            continue;
        }
        let id = opml::make_id(&o.title, &o.xml_url, &taken.ids);
        taken.ids.insert(id.clone());
        taken.by_url.insert(o.xml_url.clone(), id.clone());
        new.push((id, o));
    }
    for s in &parsed.skipped {
        println!(
            "skipped {name} line {} (\"{}\"): {}",
            s.line,
            s.title.replace(['\r', '\n'], " "),
            s.reason
        );
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
        "imported {} sources into {} ({} duplicates skipped, {} outlines refused)",
        new.len(),
        into.display(),
        duplicates,
        parsed.skipped.len()
    );
    if parsed.skipped.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "fix the refused outlines in {name} and import it again: what was imported is skipped as a duplicate"
        );
        Ok(ExitCode::FAILURE)
    }
}

fn toml_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("could not read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// The `id` and `url` of every `[[source]]` in `file`, valid or not. A file
/// that is not TOML at all stops the import: its ids cannot be known, and
/// writing one of them again would make a duplicate.
fn read_taken(file: &Path, taken: &mut Taken) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("could not read {}", file.display()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}; fix that source file first (`termwatch check` shows what is wrong), then import again",
            crate::config::Problem::from_toml(file, &text, &e)
        )
    })?;
    let Some(toml::Value::Array(sources)) = table.get("source") else {
        return Ok(());
    };
    for s in sources {
        let id = s.get("id").and_then(|v| v.as_str()).map(str::trim);
        if let Some(id) = id {
            taken.ids.insert(id.to_string());
        }
        if let Some(url) = s.get("url").and_then(|v| v.as_str()) {
            let key = url::Url::parse(url.trim())
                .map(|u| u.to_string())
                .unwrap_or_else(|_| url.trim().to_string());
            taken
                .by_url
                .insert(key, id.unwrap_or("(no id)").to_string());
        }
    }
    Ok(())
}
