//! `termwatch extract [--json] FILE|URL|-`: run the extract stage on one
//! article and print its term changes, as a table or as the spec's JSON
//! (with the signals, possible changes for review, beside them).

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::extract::llm::Backend;
use crate::model::{Article, Extraction, TermChange, Trust};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print `{"changes": [...]}` in the spec's JSON shape instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How much the source is believed: vendor, news, commentary or feed.
    #[arg(long, default_value = "news", value_parser = parse_trust)]
    pub trust: Trust,
    /// Which extractor reads it: rules, llm or both (default: `[extract] backend`).
    #[arg(long, value_parser = parse_backend)]
    pub backend: Option<Backend>,
    /// A `.txt` or `.html` file, an http(s) URL, or `-` for standard input.
    pub input: String,
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse()
}

fn parse_trust(s: &str) -> Result<Trust, String> {
    Trust::parse(s)
        .ok_or_else(|| format!("unknown trust {s:?}; write vendor, news, commentary or feed"))
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    ctx.config
        .extract
        .validate()
        .context("the [extract] section of the configuration is invalid")?;
    let article = if is_url(&args.input) {
        // Fetched like the collector does: robots.txt, size caps, timeouts.
        let fetcher = crate::collect::Fetcher::new(&ctx.config.collect)
            .context("could not set up the HTTP client")?;
        let mut article = fetcher
            .fetch_article(&args.input)
            .await
            .with_context(|| format!("could not fetch {}", args.input))?;
        article.trust = args.trust;
        article
    } else {
        let (raw, name) = read_input(&args.input)?;
        to_article(&raw, &name, args.trust)
    };
    let backend = args.backend.unwrap_or(ctx.config.extract.backend);
    let rules = crate::extract::extract(&article, &ctx.config.extract);
    let (extraction, dropped) = if backend.uses_model() {
        with_model(&ctx.config.extract, backend, &article, rules).await?
    } else {
        (rules, None)
    };
    if let Some(cut) = extraction.cut {
        eprintln!(
            "note: the text is {} bytes; extraction read the first {} (the limit is {} bytes)",
            cut.total_bytes,
            cut.read_bytes,
            crate::extract::MAX_TEXT_BYTES
        );
    }
    if args.json {
        // Signals sit beside the changes: possible changes for review, never scored.
        let mut out = serde_json::json!({
            "changes": extraction.changes,
            "signals": extraction.signals,
        });
        if let Some(n) = dropped {
            out["dropped_unverified"] = n.into();
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", table(&extraction.changes));
        if let Some(n) = dropped.filter(|&n| n > 0) {
            println!(
                "\n{n} change(s) the model reported were dropped: their evidence, kind or names are not in the article."
            );
        }
        if !extraction.denials.is_empty() {
            println!("\nDenials (statements that a term did not change):");
            print!("{}", table(&extraction.denials));
        }
        if !extraction.signals.is_empty() {
            println!("\nSignals (possible changes to review; a slot was missing):");
            print!("{}", super::signals::table(&extraction.signals));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The model's reading of one article, checked and combined with the rules'
/// for `backend`, and how many of its changes were dropped. Nothing is
/// cached or counted in the store: this is the one-off look. When the
/// model fails, the rules' reading is printed and the failure said on stderr.
async fn with_model(
    config: &crate::extract::Config,
    backend: Backend,
    article: &Article,
    rules: Extraction,
) -> anyhow::Result<(Extraction, Option<usize>)> {
    use crate::extract::llm;
    let extractor = llm::Extractor::new(&config.llm)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the model backend is not configured; see [extract.llm] in the README")?;
    if !llm::wants_model(article, config) {
        return Ok((rules, Some(0)));
    }
    let budget = llm::Budget::new(&config.llm, 0, 0);
    match extractor
        .ask(article, &budget, &mut llm::Used::default())
        .await
    {
        Ok(answer) => {
            let v = llm::verify(article, config, &answer.changes);
            Ok((
                llm::combine(backend, rules, v.changes),
                Some(v.dropped_unverified),
            ))
        }
        Err(f) => {
            eprintln!("note: model extraction failed: {f}; showing the rules' changes");
            Ok((rules, None))
        }
    }
}

fn is_url(input: &str) -> bool {
    input.starts_with("http://") || input.starts_with("https://")
}

fn read_input(input: &str) -> anyhow::Result<(String, String)> {
    if input == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("could not read standard input as UTF-8 text")?;
        return Ok((s, "stdin".into()));
    }
    let path = Path::new(input);
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "could not read {}; give a .txt or .html file, a URL or - for stdin",
            path.display()
        )
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok((text, input.to_string()))
}

/// HTML becomes its main text (offsets refer to that text); plain text keeps
/// its opening title line and dateline as title and published date.
fn to_article(raw: &str, name: &str, trust: Trust) -> Article {
    let lower = name.to_ascii_lowercase();
    let is_html =
        lower.ends_with(".html") || lower.ends_with(".htm") || crate::html::looks_like_html(raw);
    let (title, published, text) = if is_html {
        let meta = crate::html::metadata(raw);
        (
            meta.title.unwrap_or_default(),
            meta.published,
            crate::html::main_text(raw),
        )
    } else {
        let (title, date) = crate::extract::text_header(raw);
        let published = date
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp());
        (title.unwrap_or_default(), published, raw.to_string())
    };
    let now = jiff::Timestamp::now();
    Article {
        source_id: "extract".into(),
        url: name.to_string(),
        guid: None,
        content_hash: Article::hash_content(&title, &text),
        title,
        published,
        author: None,
        text,
        fetched_at: now,
        trust,
        organisation: None,
    }
}

fn table(changes: &[TermChange]) -> String {
    use std::fmt::Write as _;
    if changes.is_empty() {
        return "No term changes found.\n".into();
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<19} {:<13} {:<28} {:<44} {:<10} {:>4}",
        "KIND", "STATUS", "PARTIES", "DETAIL", "UNTIL", "CONF"
    );
    for c in changes {
        let detail = match c.kind {
            k if k.is_product_kind() => format!(
                "{} on {}",
                c.product.as_deref().unwrap_or("?"),
                c.platform.as_deref().unwrap_or("?")
            ),
            crate::model::ChangeKind::RevenueShare => format!(
                "{} pays {}",
                c.payer.as_deref().unwrap_or("?"),
                c.payee.as_deref().unwrap_or("?")
            ),
            crate::model::ChangeKind::License => format!(
                "{} licenses {}",
                c.licensor.as_deref().unwrap_or("?"),
                c.licensee.as_deref().unwrap_or("?")
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "{:<19} {:<13} {:<28} {:<44} {:<10} {:>4.2}",
            c.kind.as_str(),
            c.status.as_str(),
            clip(&c.parties.join(", "), 28),
            clip(&detail, 44),
            c.until.as_deref().unwrap_or("-"),
            c.confidence
        );
        let _ = writeln!(s, "    \"{}\"", clip(&c.evidence.replace('\n', " "), 110));
    }
    s
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('\u{2026}');
        t
    }
}
