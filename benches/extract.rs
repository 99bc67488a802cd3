//! Extraction throughput: `cargo bench --bench extract`.
//!
//! Two workloads over the project's own fixtures (and the shared dev corpus
//! when it is present beside the repo, read at run time, never copied):
//! a batch of articles repeated to about 24 MB, extracted one by one as the
//! pipeline does, and the same text as one large article (which would show
//! any cost that grows faster than the text). Prints MB/s on one core, by
//! wall clock and by this thread's CPU time (the machine is shared, so wall
//! time alone reads other processes' load as our slowness).
//! `EXTRACT_BENCH_DIR=DIR` runs the same two workloads over the `.txt` and
//! `.html` files in DIR instead.

use std::path::Path;
use std::time::Instant;

use termwatch::extract::{Config, Engine, extract_with};
use termwatch::model::{Article, Trust};

fn load(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let Ok(raw) = std::fs::read_to_string(&p) else {
            continue;
        };
        match p.extension().and_then(|e| e.to_str()) {
            Some("txt") => out.push(raw),
            Some("html") => out.push(termwatch::html::main_text(&raw)),
            _ => {}
        }
    }
}

/// This thread's CPU time in seconds (user + system), from
/// `/proc/thread-self/stat`; None where that file does not exist.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn per_cpu(mb: f64, c0: Option<f64>) -> String {
    match (c0, cpu_secs()) {
        (Some(a), Some(b)) if b > a => format!("{:.1} MB/s per CPU-second", mb / (b - a)),
        _ => "CPU time unavailable".to_string(),
    }
}

fn article(text: String) -> Article {
    Article {
        source_id: "bench".into(),
        url: "https://bench.test/".into(),
        guid: None,
        title: String::new(),
        published: Some(jiff::Timestamp::from_second(1_767_225_600).expect("valid time")),
        author: None,
        text,
        content_hash: String::new(),
        fetched_at: jiff::Timestamp::UNIX_EPOCH,
        trust: Trust::News,
        organisation: None,
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = Vec::new();
    load(&root.join("tests/fixtures/extract"), &mut docs);
    load(&root.join("../../shared/corpus/dev"), &mut docs);
    load(Path::new("/work/shared/corpus/dev"), &mut docs);
    // `EXTRACT_BENCH_DIR=DIR` measures your own texts (.txt or .html)
    // instead, e.g. a feed farm's articles dumped from the store.
    if let Some(dir) = std::env::var_os("EXTRACT_BENCH_DIR") {
        docs.clear();
        load(Path::new(&dir), &mut docs);
    }
    assert!(!docs.is_empty(), "no fixture texts found");
    let engine = Engine::new(&Config::default()).expect("shipped tables compile");

    const TARGET: usize = 24 << 20;
    let mut batch: Vec<Article> = Vec::new();
    let mut bytes = 0;
    while bytes < TARGET {
        for d in &docs {
            bytes += d.len();
            batch.push(article(d.clone()));
        }
    }
    // Warm up caches and lazily built regexes.
    for a in batch.iter().take(docs.len()) {
        extract_with(&engine, a);
    }
    let c0 = cpu_secs();
    let t = Instant::now();
    let mut changes = 0;
    for a in &batch {
        changes += extract_with(&engine, a).changes.len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "batch: {} articles, {:.1} MB in {:.3} s = {:.1} MB/s wall, {} ({} changes)",
        batch.len(),
        bytes as f64 / 1e6,
        secs,
        bytes as f64 / 1e6 / secs,
        per_cpu(bytes as f64 / 1e6, c0),
        changes
    );

    let mut big = String::new();
    while big.len() < (8 << 20) {
        for d in &docs {
            big.push_str(d);
            big.push_str("\n\n");
        }
    }
    let one = article(big);
    let c0 = cpu_secs();
    let t = Instant::now();
    let x = extract_with(&engine, &one);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "one article: {:.1} MB in {:.3} s = {:.1} MB/s wall, {} ({} changes after merging)",
        one.text.len() as f64 / 1e6,
        secs,
        one.text.len() as f64 / 1e6 / secs,
        per_cpu(one.text.len() as f64 / 1e6, c0),
        x.changes.len()
    );

    adversarial(&engine);
}

/// Many names after one trigger sentence: any scan over every mention per
/// name shows here as time growing with the square of the size (issue 11).
/// The figures should double with the size, MB/s staying level.
fn adversarial(engine: &Engine) {
    const LEAD: &str = "Kestrel Labs will license its models to Harbor Cloud.\n\n";
    const UNIT: &str = "Microsoft and Acme Corp, ";
    for size in [512 << 10, 1 << 20, 2 << 20, 4 << 20] {
        let mut text = String::with_capacity(size + LEAD.len());
        text.push_str(LEAD);
        while text.len() < size {
            text.push_str(UNIT);
        }
        let one = article(text);
        let c0 = cpu_secs();
        let t = Instant::now();
        let x = extract_with(engine, &one);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "adversarial names: {:.1} MB in {:.3} s = {:.1} MB/s wall, {} ({} changes)",
            one.text.len() as f64 / 1e6,
            secs,
            one.text.len() as f64 / 1e6 / secs,
            per_cpu(one.text.len() as f64 / 1e6, c0),
            x.changes.len()
        );
    }
}
