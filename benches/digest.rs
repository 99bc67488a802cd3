//! Digest benchmark: route, apply the playbook and render (HTML, text, JSON)
//! digests for 10,000 clients over 200 events, as one route step would.
//!
//! Run: `cargo bench --bench digest` (optionally `-- CLIENTS EVENTS THREADS`).
//! Prints the wall time for one thread and for all available threads.
//! With `DIGEST_BENCH_CHECKSUM=1` it also prints a hash of the sample's
//! rendered bodies, to compare the output before and after a change.

use std::sync::Arc;
use std::time::Instant;

use termwatch::digest::{self, Change, Renderer, Window, WindowKind};
use termwatch::model::{
    Cadence, ChangeKind, ClientProfile, Event, EventSource, Role, Severity, Status, Trust,
};
use termwatch::route::{self, Playbook};

const ORGS: [&str; 14] = [
    "Microsoft",
    "OpenAI",
    "Amazon",
    "Google",
    "Anthropic",
    "Oracle",
    "Meta",
    "Mistral AI",
    "NVIDIA",
    "Nimbus Labs",
    "Corvid Cloud",
    "Cohere",
    "Snowflake",
    "Databricks",
];
const PLATFORMS: [&str; 6] = [
    "Azure OpenAI",
    "Amazon Bedrock",
    "Vertex AI",
    "Azure AI Foundry",
    "Oracle Cloud Infrastructure",
    "Snowflake Cortex",
];
const REGIMES: [&str; 6] = ["HIPAA", "FedRAMP", "GDPR", "SOC 2", "ISO 27001", "PCI DSS"];
const ZONES: [&str; 5] = [
    "America/New_York",
    "Europe/Berlin",
    "Asia/Tokyo",
    "UTC",
    "America/Chicago",
];

/// A small deterministic generator, so every run measures the same input.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn events(n: usize, rng: &mut Lcg) -> Vec<Event> {
    let at: jiff::Timestamp = "2026-06-01T12:00:00Z".parse().expect("valid");
    (0..n)
        .map(|i| {
            let kind = ChangeKind::ALL[rng.next(ChangeKind::ALL.len())];
            let a = ORGS[rng.next(ORGS.len())];
            let b = ORGS[rng.next(ORGS.len())];
            let mut parties = vec![a.to_string(), b.to_string()];
            parties.sort();
            parties.dedup();
            let product_kind = kind.is_product_kind();
            let status = match kind {
                ChangeKind::Availability => Status::Available,
                ChangeKind::Deprecation => Status::Retired,
                ChangeKind::Exclusivity => Status::Ended,
                ChangeKind::License => Status::NonExclusive,
                _ => Status::Changed,
            };
            let source = |k: usize| EventSource {
                article_id: k as i64,
                revision_id: k as i64,
                url: format!("https://news.example/{i}/{k}"),
                title: format!("Report {k} on {a} and {b}"),
                trust: Trust::News,
                published: at,
                evidence: format!(
                    "{a} and {b} said the terms <em>change</em> today & that \"more\" follows; \
                     the agreement now runs to 2031 under revised conditions for partners."
                ),
                confidence: 0.8,
                status,
                exclusive: None,
                until: None,
            };
            Event {
                id: format!("ev-{i}"),
                kind,
                parties,
                licensor: Some(a.into()),
                licensee: Some(b.into()),
                payer: Some(b.into()),
                payee: Some(a.into()),
                product: product_kind.then(|| format!("Model-{}", i % 17)),
                platform: product_kind.then(|| PLATFORMS[rng.next(PLATFORMS.len())].to_string()),
                status,
                exclusive: None,
                until: Some("2031".into()),
                effective: Some("2026-09-01".into()),
                severity: [Severity::Low, Severity::Medium, Severity::High][rng.next(3)],
                confidence: 0.8,
                disputed: i % 11 == 0,
                claims: Vec::new(),
                sources: (0..1 + rng.next(3)).map(source).collect(),
                confirmations: Vec::new(),
                first_seen: at,
                last_seen: at,
                supersedes: Vec::new(),
            }
        })
        .collect()
}

fn clients(n: usize, rng: &mut Lcg) -> Vec<ClientProfile> {
    (0..n)
        .map(|i| {
            let pick = |rng: &mut Lcg, from: &[&str], k: usize| -> Vec<String> {
                let mut v: Vec<String> = (0..k)
                    .map(|_| from[rng.next(from.len())].to_string())
                    .collect();
                v.sort();
                v.dedup();
                v
            };
            ClientProfile {
                id: format!("client-{i}"),
                name: format!("Client {i} & Partners"),
                role: if i % 3 == 0 { Role::Legal } else { Role::Msp },
                recipients: vec![format!("ops{i}@client.example")],
                vendors: pick(rng, &ORGS, 2),
                platforms: pick(rng, &PLATFORMS, 1),
                regimes: pick(rng, &REGIMES, 2),
                residency: vec![if i % 4 == 0 { "eu" } else { "us" }.into()],
                min_severity: Severity::Low,
                cadence: Cadence::Daily,
                send_time: Some(jiff::civil::time(8, 0, 0, 0)),
                timezone: ZONES[i % ZONES.len()].into(),
                ..Default::default()
            }
        })
        .collect()
}

/// Builds and renders every client's digest; returns (digests, items, bytes).
fn run(
    clients: &[ClientProfile],
    events: &[Arc<Event>],
    playbook: &Playbook,
    renderer: &Renderer,
    window: &Window,
) -> (usize, usize, usize) {
    let mut totals = (0, 0, 0);
    for c in clients {
        let Some(d) = digest::build_digest(
            c,
            playbook,
            events.iter().map(|e| (e, Change::New)),
            window,
            window.end,
            digest::Notes::default(),
        ) else {
            continue;
        };
        let r = renderer.render(&d, &c.timezone).expect("render");
        totals.0 += 1;
        totals.1 += d.items.len();
        totals.2 += r.html.len() + r.text.len() + r.json.len();
    }
    totals
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_clients = args.first().copied().unwrap_or(10_000);
    let n_events = args.get(1).copied().unwrap_or(200);
    let threads = args
        .get(2)
        .copied()
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let mut rng = Lcg(42);
    // Shared, as the route step shares them between the digests it builds.
    let events: Vec<Arc<Event>> = events(n_events, &mut rng)
        .into_iter()
        .map(Arc::new)
        .collect();
    let clients = clients(n_clients, &mut rng);
    let playbook = route::load_playbook(&route::Config { playbook: None }).expect("playbook");
    let renderer = Renderer::load(&digest::Config::default()).expect("templates");
    let window = Window {
        start: "2026-06-01T00:00:00Z".parse().expect("valid"),
        end: "2026-06-02T00:00:00Z".parse().expect("valid"),
        kind: WindowKind::Regular,
    };

    // Phase split on a tenth of the clients, one thread: building (route,
    // playbook, action templates) against rendering the three bodies.
    let sample = &clients[..n_clients / 10];
    let t = Instant::now();
    let built: Vec<(usize, termwatch::model::Digest)> = sample
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            digest::build_digest(
                c,
                &playbook,
                events.iter().map(|e| (e, Change::New)),
                &window,
                window.end,
                digest::Notes::default(),
            )
            .map(|d| (i, d))
        })
        .collect();
    let build_time = t.elapsed();
    let t = Instant::now();
    for (i, d) in &built {
        renderer.render(d, &sample[*i].timezone).expect("render");
    }
    println!(
        "1 thread, {} clients: build {:.2?}, render {:.2?}",
        sample.len(),
        build_time,
        t.elapsed()
    );

    // Opt-in, outside the timings: a hash of every body of the sample, to
    // check that a change to rendering left the output byte for byte alone
    // (run once before and once after the change, compare the lines).
    if std::env::var_os("DIGEST_BENCH_CHECKSUM").is_some() {
        use sha2::{Digest as _, Sha256};
        let mut h = Sha256::new();
        for (i, d) in &built {
            let r = renderer.render(d, &sample[*i].timezone).expect("render");
            for body in [&r.html, &r.text, &r.json] {
                h.update(body.len().to_le_bytes());
                h.update(body.as_bytes());
            }
        }
        println!(
            "checksum of {} digests: {}",
            built.len(),
            hex::encode(h.finalize())
        );
    }

    let t = Instant::now();
    let one = run(
        &clients[..n_clients / 10],
        &events,
        &playbook,
        &renderer,
        &window,
    );
    let single = t.elapsed();
    println!(
        "1 thread, {} clients: {:.2?} ({} digests, {} items, {:.1} MB rendered)",
        n_clients / 10,
        single,
        one.0,
        one.1,
        one.2 as f64 / 1e6
    );

    let t = Instant::now();
    let chunk = n_clients.div_ceil(threads.max(1));
    let totals = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .chunks(chunk)
            .map(|part| s.spawn(|| run(part, &events, &playbook, &renderer, &window)))
            .collect();
        handles.into_iter().fold((0, 0, 0), |acc, h| {
            let r = h.join().expect("bench thread");
            (acc.0 + r.0, acc.1 + r.1, acc.2 + r.2)
        })
    });
    let elapsed = t.elapsed();
    println!(
        "{threads} threads, {n_clients} clients x {n_events} events: {:.2?} ({} digests, {} items, {:.0} MB rendered, {:.0} digests/s)",
        elapsed,
        totals.0,
        totals.1,
        totals.2 as f64 / 1e6,
        totals.0 as f64 / elapsed.as_secs_f64()
    );
}
