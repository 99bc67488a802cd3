//! Correlating many term changes into events: throughput and scaling.
//!
//! `cargo bench --bench correlate` prints reports per second for 10k to 200k
//! synthetic reports (invented vendors, several reports per change, some
//! contradicting, some denials), then one worst case: every report on a
//! single key. Time per report staying flat as n grows is what shows the
//! stage is not quadratic. Last, the whole correlate step over a real
//! SQLite store holding 100k term changes.

use std::hint::black_box;
use std::time::Instant;

use termwatch::correlate::{Config, correlate};
use termwatch::model::{ChangeKind, Report, Span, Status, TermChange, Trust};

/// A small deterministic generator: the bench needs no entropy, only spread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const VENDORS: [&str; 12] = [
    "Nimbus Labs",
    "Corvid Cloud",
    "Heron AI",
    "Kestrel Compute",
    "Osprey Systems",
    "Wren Data",
    "Pelican Models",
    "Starling Cloud",
    "Finch Analytics",
    "Gannet AI",
    "Lark Platforms",
    "Tern Labs",
];
const STATUSES: [Status; 6] = [
    Status::Ended,
    Status::Continues,
    Status::Capped,
    Status::Available,
    Status::Started,
    Status::Changed,
];

fn reports(n: usize, keys: u64, seed: u64) -> Vec<Report> {
    let mut rng = Rng(seed);
    let start: jiff::Timestamp = "2020-01-01T00:00:00Z".parse().expect("valid");
    (0..n)
        .map(|i| {
            let k = rng.below(keys);
            let kind = ChangeKind::ALL[(k % 10) as usize];
            let a = VENDORS[(k / 10 % 12) as usize];
            let b = VENDORS[(k / 120 % 12) as usize];
            let mut change = TermChange {
                kind,
                parties: vec![a.to_string(), b.to_string()],
                licensor: None,
                licensee: None,
                payer: None,
                payee: None,
                product: None,
                platform: None,
                status: STATUSES[rng.below(STATUSES.len() as u64) as usize],
                exclusive: None,
                until: (rng.below(4) == 0).then(|| format!("{}", 2028 + rng.below(4))),
                effective: None,
                evidence: format!("report {i} of change {k}"),
                span: Span { start: 0, end: 20 },
                confidence: 0.5 + (rng.below(50) as f32) / 100.0,
            };
            if kind.is_product_kind() {
                change.product = Some(format!("Model-{}", k / 1440));
                change.platform = Some(format!("{b} Hub"));
            } else if kind == ChangeKind::RevenueShare {
                change.payer = Some(a.to_string());
                change.payee = Some(b.to_string());
            }
            // Each key's reports fall on a few real dates over six years.
            let day = (k * 37 + rng.below(3) * 400 + rng.below(10)) % 2200;
            Report {
                change,
                denial: rng.below(50) == 0,
                article_id: i as i64,
                revision_id: i as i64,
                source_id: "bench".into(),
                url: format!("https://news{}.example/{}", rng.below(40), i / 3),
                title: format!("article {}", i / 3),
                trust: [Trust::Vendor, Trust::News, Trust::Commentary][rng.below(3) as usize],
                published: start + jiff::SignedDuration::from_hours(24 * day as i64),
            }
        })
        .collect()
}

fn measure(label: &str, input: &[Report], config: &Config) {
    let runs = 3;
    let mut best = f64::MAX;
    let mut events = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let out = correlate(black_box(input), config);
        best = best.min(t.elapsed().as_secs_f64());
        events = out.len();
        black_box(out);
    }
    println!(
        "{label:<28} reports={:>7} events={:>7} best_of_{runs}={:>8.1} ms  {:>9.0} reports/s  {:>6.2} us/report",
        input.len(),
        events,
        best * 1e3,
        input.len() as f64 / best,
        best * 1e6 / input.len() as f64
    );
}

/// The whole correlate step over a real SQLite store in a temp dir: load
/// every report, correlate, write the events (first run: all new; second
/// run: nothing changed, only fingerprints compared).
fn store_round_trip(n: usize) {
    use termwatch::model::{Article, Extraction};
    use termwatch::store::{Store, changes};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_in(dir.path()).await.expect("store");
        let input = reports(n, (n / 4) as u64, 42);
        let t = Instant::now();
        // Five changes per article, as a long announcement carries.
        for chunk in input.chunks(5) {
            let r = &chunk[0];
            let article = Article {
                source_id: "bench".into(),
                url: format!("{}#{}", r.url, r.article_id),
                guid: None,
                title: r.title.clone(),
                published: Some(r.published),
                author: None,
                text: String::new(),
                content_hash: format!("{}", r.article_id),
                fetched_at: r.published,
                trust: r.trust,
                organisation: None,
            };
            let (_, _, rev) = changes::store_article(&store, &article)
                .await
                .expect("stored");
            let ex = Extraction {
                changes: chunk
                    .iter()
                    .filter(|r| !r.denial)
                    .map(|r| r.change.clone())
                    .collect(),
                denials: chunk
                    .iter()
                    .filter(|r| r.denial)
                    .map(|r| r.change.clone())
                    .collect(),
                ..Extraction::default()
            };
            changes::save_extractions(&store, &[(rev, ex)], r.published)
                .await
                .expect("saved");
        }
        println!(
            "store: seeded {n} term changes in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let config = Config::default();
        let t = Instant::now();
        let loaded = changes::reports(&store).await.expect("reports load");
        println!(
            "store: loading {} reports alone took {:.0} ms",
            loaded.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
        for label in ["first run (all new)", "second run (unchanged)"] {
            let t = Instant::now();
            let now = jiff::Timestamp::now();
            let applied = termwatch::pipeline::correlate::run(&store, &config, now)
                .await
                .expect("correlated");
            let secs = t.elapsed().as_secs_f64();
            println!(
                "store: {label:<24} changes={n} new={} changed={} in {:.0} ms  {:.0} changes/s",
                applied.new.len(),
                applied.changed.len(),
                secs * 1e3,
                n as f64 / secs
            );
        }
    });
}

fn main() {
    let config = Config::default();
    for n in [10_000, 50_000, 100_000, 200_000] {
        // About four reports per distinct change, as with a busy news week.
        measure("spread keys", &reports(n, (n / 4) as u64, 42), &config);
    }
    measure("one key, 100k reports", &reports(100_000, 1, 7), &config);
    store_round_trip(100_000);
}
