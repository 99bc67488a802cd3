//! Rendering a digest from the editable templates in `templates/`
//! (minijinja): HTML (auto-escaped: scraped text is untrusted), plain text
//! and JSON. A template missing from the directory falls back to the one
//! built into the binary; a template that does not compile or render is a
//! `check` problem with file and line, not a failed send.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use minijinja::value::{Enumerator, Object};
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use crate::config::Problem;
use crate::model::{Action, Digest, DigestItem, Event, EventSource, Severity, truncate};

/// Template file names, in the templates directory.
pub const TEMPLATE_NAMES: [&str; 3] = ["digest.html", "digest.txt", "digest.json"];

const BUILT_IN: [&str; 3] = [
    include_str!("../../templates/digest.html"),
    include_str!("../../templates/digest.txt"),
    include_str!("../../templates/digest.json"),
];

/// The three bodies of one digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub html: String,
    pub text: String,
    pub json: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Template(Problem),
    #[error(
        "template {file} did not produce valid JSON: {source}; insert values with `{{{{ digest_json }}}}` or the `tojson` filter"
    )]
    NotJson {
        file: PathBuf,
        source: serde_json::Error,
    },
}

/// The built-in JSON template is exactly this text around `{{ digest_json }}`.
const JSON_PREFIX: &str = "{\"type\": \"termwatch.digest\", \"version\": 1, \"digest\": ";
const JSON_SUFFIX: &str = "}";

/// Compiled templates, shared by every digest of a run.
#[derive(Debug)]
pub struct Renderer {
    env: Environment<'static>,
    files: [PathBuf; 3],
    /// Identifies this renderer's events in the per-thread `PREPARED`
    /// cache. One step renders the same events for thousands of clients;
    /// converting each event once instead of once per digest is most of
    /// the rendering time saved.
    id: u64,
    /// The JSON template is the built-in one, which wraps `digest_json`
    /// (serde_json output) in fixed text: its output is valid JSON by
    /// construction, so re-parsing every body to check it is skipped.
    json_built_in: bool,
    /// Each template's last output size, to size the next output buffer.
    sizes: [AtomicUsize; 3],
}

/// Past this many cached events the cache starts over, so a long-lived
/// renderer cannot grow without bound.
const MAX_CACHED_EVENTS: usize = 20_000;

/// One event converted for the templates; `event` is kept to check that a
/// cached entry is for exactly this version of the event.
#[derive(Debug)]
struct PreparedEvent {
    event: Arc<Event>,
    value: Value,
    json: String,
}

/// Field names of the types the templates see most, in Serde order, and a
/// lookup from name to position that compares against constants instead
/// of scanning every name (a template looks fields up thousands of times
/// per digest).
macro_rules! fields {
    ($names:ident, $find:ident, [$($n:literal),* $(,)?]) => {
        const $names: &[&str] = &[$($n),*];
        fn $find(key: &str) -> Option<usize> {
            const TABLE: [u8; SLOTS] = field_table($names);
            find_field(&TABLE, $names, key)
        }
    };
}

/// Size of a field table: a power of two well above any field count, so
/// probes are short.
const SLOTS: usize = 64;
const EMPTY: u8 = u8::MAX;

/// Where a field name starts probing: from its length and end bytes, which
/// are the bytes that tell the names of one struct apart.
const fn field_slot(name: &[u8]) -> usize {
    let n = name.len();
    if n == 0 {
        return 0;
    }
    (n.wrapping_mul(31) ^ (name[0] as usize).wrapping_mul(7) ^ ((name[n - 1] as usize) * 3)) % SLOTS
}

/// An open-addressing table from `field_slot` to a position in `names`.
const fn field_table(names: &[&str]) -> [u8; SLOTS] {
    assert!(names.len() < SLOTS / 2);
    let mut table = [EMPTY; SLOTS];
    let mut i = 0;
    while i < names.len() {
        let mut slot = field_slot(names[i].as_bytes());
        while table[slot] != EMPTY {
            slot = (slot + 1) % SLOTS;
        }
        table[slot] = i as u8;
        i += 1;
    }
    table
}

fn find_field(table: &[u8; SLOTS], names: &[&str], key: &str) -> Option<usize> {
    let mut slot = field_slot(key.as_bytes());
    loop {
        let i = table[slot];
        if i == EMPTY {
            return None;
        }
        if names[usize::from(i)] == key {
            return Some(usize::from(i));
        }
        slot = (slot + 1) % SLOTS;
    }
}

fields!(
    EVENT_FIELDS,
    event_field,
    [
        "id",
        "kind",
        "parties",
        "licensor",
        "licensee",
        "payer",
        "payee",
        "product",
        "platform",
        "status",
        "exclusive",
        "until",
        "effective",
        "severity",
        "confidence",
        "disputed",
        "claims",
        "sources",
        "confirmations",
        "first_seen",
        "last_seen",
        "supersedes",
    ]
);
fields!(
    SOURCE_FIELDS,
    source_field,
    [
        "article_id",
        "revision_id",
        "url",
        "title",
        "trust",
        "published",
        "evidence",
        "confidence",
        "status",
        "exclusive",
        "until",
    ]
);
fields!(CLAIM_FIELDS, claim_field, ["field", "value", "sources"]);
fields!(
    ITEM_FIELDS,
    item_field,
    [
        "event", "change", "urgency", "reasons", "actions", "headline", "details", "disputes",
        "changes", "grouped"
    ]
);
fields!(
    ACTION_FIELDS,
    action_field,
    [
        "rule_id", "title", "why", "owner", "due", "overdue", "severity"
    ]
);

/// A struct as the templates see it: the fields of its Serde form in the
/// same order (so `tojson`, `items`, loops and printing are unchanged),
/// looked up through `find`.
#[derive(Debug)]
struct Record {
    names: &'static [&'static str],
    find: fn(&str) -> Option<usize>,
    /// By position in `names`; `None` for a field Serde skipped.
    values: Box<[Option<Value>]>,
    /// Positions of the present fields, in Serde order.
    order: Box<[u8]>,
}

impl Object for Record {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.values[(self.find)(key)?].clone()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.order
                .iter()
                .map(|&i| Value::from(self.names[usize::from(i)]))
                .collect(),
        )
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.order.len())
    }
}

/// `Record` from fields given in `names` order (all present).
fn record(
    names: &'static [&'static str],
    find: fn(&str) -> Option<usize>,
    values: Vec<Value>,
) -> Value {
    debug_assert_eq!(names.len(), values.len());
    Value::from_object(Record {
        names,
        find,
        order: (0..values.len() as u8).collect(),
        values: values.into_iter().map(Some).collect(),
    })
}

/// The Serde form of a struct (a map) as a `Record`, with `inner` applied
/// to each field value; the map unchanged if it has a field `names` lacks.
fn as_record(
    v: Value,
    names: &'static [&'static str],
    find: fn(&str) -> Option<usize>,
    inner: impl Fn(&str, Value) -> Value,
) -> Value {
    let Ok(keys) = v.try_iter() else {
        return v;
    };
    let mut values: Vec<Option<Value>> = vec![None; names.len()];
    let mut order = Vec::new();
    for key in keys {
        let Some(i) = key.as_str().and_then(find) else {
            return v;
        };
        let Ok(field) = v.get_attr(names[i]) else {
            return v;
        };
        values[i] = Some(inner(names[i], field));
        order.push(i as u8);
    }
    Value::from_object(Record {
        names,
        find,
        values: values.into_boxed_slice(),
        order: order.into_boxed_slice(),
    })
}

/// Each element of a sequence through `f`; other values unchanged.
fn map_seq(v: Value, f: impl Fn(Value) -> Value) -> Value {
    if v.kind() != minijinja::value::ValueKind::Seq {
        return v;
    }
    match v.try_iter() {
        Ok(items) => Value::from(items.map(f).collect::<Vec<_>>()),
        Err(_) => v,
    }
}

fn source_value(v: Value) -> Value {
    as_record(v, SOURCE_FIELDS, source_field, |_, f| f)
}

/// An event as the templates see it: its Serde form, with the event, its
/// sources and claims as `Record`s.
fn event_value(event: &Event) -> Value {
    as_record(
        Value::from(minijinja::value::Serde(event)),
        EVENT_FIELDS,
        event_field,
        |name, f| match name {
            "sources" | "confirmations" => map_seq(f, source_value),
            "claims" => map_seq(f, |c| {
                as_record(c, CLAIM_FIELDS, claim_field, |name, f| match name {
                    "sources" => map_seq(f, source_value),
                    _ => f,
                })
            }),
            _ => f,
        },
    )
}

fn action_value(a: &Action) -> Value {
    record(
        ACTION_FIELDS,
        action_field,
        vec![
            Value::from(a.rule_id.as_str()),
            Value::from(a.title.as_str()),
            Value::from(a.why.as_str()),
            Value::from(a.owner.as_str()),
            a.due.as_deref().map_or(Value::from(()), Value::from),
            Value::from(a.overdue),
            Value::from(a.severity.as_str()),
        ],
    )
}

/// A `DigestItem` as the templates see it, with the event already converted.
fn item_value(item: &DigestItem, event: &Value) -> Value {
    record(
        ITEM_FIELDS,
        item_field,
        vec![
            event.clone(),
            Value::from(item.change.as_str()),
            Value::from(item.urgency.as_str()),
            Value::from(
                item.reasons
                    .iter()
                    .map(|r| Value::from(r.as_str()))
                    .collect::<Vec<_>>(),
            ),
            Value::from(item.actions.iter().map(action_value).collect::<Vec<_>>()),
            Value::from(truncate(&item.headline, MAX_QUOTE_CHARS).as_ref()),
            strings(&item.details),
            strings(&item.disputes),
            strings(&item.changes),
            strings(&item.grouped),
        ],
    )
}

fn strings(v: &[String]) -> Value {
    Value::from(
        v.iter()
            .map(|s| Value::from(s.as_str()))
            .collect::<Vec<_>>(),
    )
}

#[derive(Serialize)]
struct Group {
    label: &'static str,
    severity: Severity,
    colour: &'static str,
    items: Value,
}

/// A `Digest` as the templates see it (same fields, same order).
#[derive(Serialize)]
struct DigestView<'a> {
    id: &'a str,
    client_id: &'a str,
    client_name: &'a str,
    role: &'a str,
    window_start: jiff::Timestamp,
    window_end: jiff::Timestamp,
    generated_at: jiff::Timestamp,
    subject: &'a str,
    items: &'a Value,
    immediate: bool,
    timezone: &'a str,
}

/// The digest's fields before `items`, for the JSON body.
#[derive(Serialize)]
struct DigestHead<'a> {
    id: &'a str,
    client_id: &'a str,
    client_name: &'a str,
    role: &'a str,
    window_start: jiff::Timestamp,
    window_end: jiff::Timestamp,
    generated_at: jiff::Timestamp,
    subject: &'a str,
}

/// An item's fields after `event`, for the JSON body.
#[derive(Serialize)]
struct ItemTail<'a> {
    change: &'a str,
    urgency: Severity,
    reasons: &'a [String],
    actions: &'a [Action],
    headline: &'a str,
    details: &'a [String],
    disputes: &'a [String],
    changes: &'a [String],
    grouped: &'a [String],
}

#[derive(Serialize)]
struct Context<'a> {
    digest: Value,
    /// The digest as JSON, already serialised (serde_json is many times
    /// faster than rebuilding it through template values); marked safe.
    digest_json: Value,
    groups: Vec<Group>,
    period: &'a str,
}

impl Renderer {
    /// Loads the templates of `config.templates_dir`, falling back to the
    /// built-in ones file by file.
    pub fn load(config: &super::Config) -> Result<Renderer, Vec<Problem>> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.add_filter("safe_url", safe_url);
        env.add_filter("oneline", oneline);
        env.add_filter("day", day);
        let mut problems = Vec::new();
        let mut files: [PathBuf; 3] = Default::default();
        let mut json_built_in = false;
        for (i, name) in TEMPLATE_NAMES.iter().enumerate() {
            let path = config.templates_dir.join(name);
            let (source, shown) = match std::fs::read_to_string(&path) {
                Ok(s) => (s, path.clone()),
                Err(_) => (
                    BUILT_IN[i].to_string(),
                    PathBuf::from(format!("<built-in {name}>")),
                ),
            };
            if i == 2 {
                json_built_in = source == BUILT_IN[2];
            }
            if let Err(e) = env.add_template_owned(*name, source) {
                problems.push(template_problem(&shown, &e));
            }
            files[i] = shown;
        }
        if problems.is_empty() {
            Ok(Renderer {
                env,
                files,
                id: NEXT_RENDERER.fetch_add(1, Ordering::Relaxed),
                json_built_in,
                sizes: Default::default(),
            })
        } else {
            Err(problems)
        }
    }

    /// Renders all three bodies. `timezone` is the client's, for the period line.
    pub fn render(&self, digest: &Digest, timezone: &str) -> Result<Rendered, Error> {
        let not_json = |source| Error::NotJson {
            file: self.files[2].clone(),
            source,
        };
        let prepared = self.prepared_all(digest).map_err(not_json)?;
        let digest_json = digest_json(digest, &prepared).map_err(not_json)?;
        let digest_json_len = digest_json.len();
        let digest_json_value = Value::from_safe_string(digest_json);
        let items: Vec<Value> = digest
            .items
            .iter()
            .zip(&prepared)
            .map(|(i, p)| item_value(i, &p.value))
            .collect();
        let groups = groups(&digest.items, &items);
        let items = Value::from(items);
        let period = period(digest, timezone);
        let ctx = Value::from(minijinja::value::Serde(Context {
            digest: Value::from(minijinja::value::Serde(DigestView {
                id: &digest.id,
                client_id: &digest.client_id,
                client_name: &digest.client_name,
                role: &digest.role,
                window_start: digest.window_start,
                window_end: digest.window_end,
                generated_at: digest.generated_at,
                subject: &digest.subject,
                items: &items,
                immediate: digest.immediate,
                timezone: &digest.timezone,
            })),
            digest_json: digest_json_value.clone(),
            groups,
            period: &period,
        }));
        let one = |i: usize| -> Result<String, Error> {
            let problem =
                |e: minijinja::Error| Error::Template(template_problem(&self.files[i], &e));
            // Sized from the last body of this template: growing a string
            // of a few hundred KB by doubling copies it several times.
            let last = self.sizes[i].load(Ordering::Relaxed);
            let mut out = Vec::with_capacity(last + last / 8);
            self.env
                .get_template(TEMPLATE_NAMES[i])
                .and_then(|t| t.render_captured_to(ctx.clone(), &mut out))
                .map_err(problem)?;
            self.sizes[i].store(out.len(), Ordering::Relaxed);
            // Templates write only `str`s, so this check never fails.
            String::from_utf8(out).map_err(|e| {
                problem(minijinja::Error::new(
                    minijinja::ErrorKind::WriteFailure,
                    e.to_string(),
                ))
            })
        };
        let json = if self.json_built_in {
            // What the built-in template renders, without running it.
            let mut json =
                String::with_capacity(JSON_PREFIX.len() + digest_json_len + JSON_SUFFIX.len());
            json.push_str(JSON_PREFIX);
            json.push_str(digest_json_value.as_str().unwrap_or_default());
            json.push_str(JSON_SUFFIX);
            json
        } else {
            let json = one(2)?;
            if let Err(source) = serde_json::from_str::<serde::de::IgnoredAny>(&json) {
                return Err(Error::NotJson {
                    file: self.files[2].clone(),
                    source,
                });
            }
            json
        };
        Ok(Rendered {
            html: one(0)?,
            text: one(1)?,
            json,
        })
    }

    /// The cached conversions of the digest's events, made on first use.
    fn prepared_all(&self, digest: &Digest) -> Result<Vec<Rc<PreparedEvent>>, serde_json::Error> {
        digest
            .items
            .iter()
            .map(|i| self.prepared(&i.event))
            .collect()
    }

    /// The cached conversion of `event`, made on first use by this thread.
    fn prepared(&self, event: &Arc<Event>) -> Result<Rc<PreparedEvent>, serde_json::Error> {
        PREPARED.with(|cell| {
            let mut cache = cell.borrow_mut();
            if cache.renderer != self.id {
                cache.renderer = self.id;
                cache.events.clear();
            }
            // The same shared event is the common case and costs a pointer
            // compare; an equal copy (a digest read back) is still a hit.
            if let Some(p) = cache
                .events
                .get(&event.id)
                .filter(|p| Arc::ptr_eq(&p.event, event) || p.event == *event)
            {
                return Ok(p.clone());
            }
            let shown = capped(event);
            let p = Rc::new(PreparedEvent {
                json: serde_json::to_string(&*shown)?,
                value: event_value(&shown),
                event: Arc::clone(event),
            });
            if cache.events.len() >= MAX_CACHED_EVENTS {
                cache.events.clear();
            }
            cache.events.insert(event.id.clone(), p.clone());
            Ok(p)
        })
    }
}

/// Longest title, party, product or platform name a digest shows, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest quote (a source's evidence, a claim's value) a digest shows.
pub const MAX_QUOTE_CHARS: usize = 600;
/// Sources, confirmations and claims one item shows; with the caps above,
/// one item (say, a 1 MB scraped title) adds a bounded amount to a digest.
pub const MAX_SOURCES_PER_ITEM: usize = 12;

/// The event as a digest shows it: display text cut with an ellipsis and
/// lists cut to their first entries (sources are newest or strongest
/// first). Links stay whole. Borrowed when nothing needs cutting.
fn capped(event: &Event) -> Cow<'_, Event> {
    let long = |s: &str, max: usize| matches!(truncate(s, max), Cow::Owned(_));
    let source_long = |s: &EventSource| {
        long(&s.title, MAX_NAME_CHARS)
            || long(&s.evidence, MAX_QUOTE_CHARS)
            || s.until.as_deref().is_some_and(|u| long(u, MAX_NAME_CHARS))
    };
    let names = || {
        event
            .parties
            .iter()
            .map(String::as_str)
            .chain(event.product.as_deref())
            .chain(event.platform.as_deref())
            .chain(event.until.as_deref())
            .chain(event.effective.as_deref())
    };
    let needs = event.sources.len() > MAX_SOURCES_PER_ITEM
        || event.confirmations.len() > MAX_SOURCES_PER_ITEM
        || event.claims.len() > MAX_SOURCES_PER_ITEM
        || event.parties.len() > MAX_SOURCES_PER_ITEM
        || names().any(|n| long(n, MAX_NAME_CHARS))
        || event
            .sources
            .iter()
            .chain(&event.confirmations)
            .any(source_long)
        || event.claims.iter().any(|c| {
            c.sources.len() > MAX_SOURCES_PER_ITEM
                || long(&c.value, MAX_QUOTE_CHARS)
                || c.sources.iter().any(source_long)
        });
    if !needs {
        return Cow::Borrowed(event);
    }
    let mut e = event.clone();
    let name = |s: &mut String| *s = truncate(s, MAX_NAME_CHARS).into_owned();
    let sources = |list: &mut Vec<EventSource>| {
        list.truncate(MAX_SOURCES_PER_ITEM);
        for s in list {
            name(&mut s.title);
            s.evidence = truncate(&s.evidence, MAX_QUOTE_CHARS).into_owned();
            s.until.as_mut().map(name);
        }
    };
    e.parties.truncate(MAX_SOURCES_PER_ITEM);
    e.parties.iter_mut().for_each(name);
    for field in [
        &mut e.product,
        &mut e.platform,
        &mut e.until,
        &mut e.effective,
    ] {
        field.as_mut().map(name);
    }
    sources(&mut e.sources);
    sources(&mut e.confirmations);
    e.claims.truncate(MAX_SOURCES_PER_ITEM);
    for c in &mut e.claims {
        c.value = truncate(&c.value, MAX_QUOTE_CHARS).into_owned();
        sources(&mut c.sources);
    }
    Cow::Owned(e)
}

/// The prepared events of one renderer, on one thread.
#[derive(Default)]
struct PreparedCache {
    /// `Renderer::id` of the renderer the events were prepared for.
    renderer: u64,
    events: HashMap<String, Rc<PreparedEvent>>,
}

/// Source of `Renderer::id`; 0 is never handed out, so an empty cache
/// belongs to no renderer.
static NEXT_RENDERER: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Per thread, not shared: every template lookup clones the event's
    /// values (reference counts), and threads rendering the same events
    /// from one shared copy fight over those counts' cache lines. One
    /// renderer's events at a time, so renderers made per step do not pile
    /// up on long-lived threads.
    static PREPARED: std::cell::RefCell<PreparedCache> =
        std::cell::RefCell::new(PreparedCache::default());
}

/// `serde_json::to_string(digest)`, with each event's JSON spliced in from
/// the cache instead of serialised again.
fn digest_json(digest: &Digest, events: &[Rc<PreparedEvent>]) -> Result<String, serde_json::Error> {
    let head = serde_json::to_string(&DigestHead {
        id: &digest.id,
        client_id: &digest.client_id,
        client_name: &digest.client_name,
        role: &digest.role,
        window_start: digest.window_start,
        window_end: digest.window_end,
        generated_at: digest.generated_at,
        subject: &digest.subject,
    })?;
    let size: usize = events.iter().map(|e| e.json.len() + 512).sum();
    let mut out = String::with_capacity(head.len() + size + 64);
    // `head` is a JSON object: reopen it to append the remaining fields.
    out.push_str(&head[..head.len() - 1]);
    out.push_str(",\"items\":[");
    for (n, (item, event)) in digest.items.iter().zip(events).enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str("{\"event\":");
        out.push_str(&event.json);
        let tail = serde_json::to_string(&ItemTail {
            change: &item.change,
            urgency: item.urgency,
            reasons: &item.reasons,
            actions: &item.actions,
            headline: &truncate(&item.headline, MAX_QUOTE_CHARS),
            details: &item.details,
            disputes: &item.disputes,
            changes: &item.changes,
            grouped: &item.grouped,
        })?;
        out.push(',');
        out.push_str(&tail[1..]);
    }
    out.push_str("],\"immediate\":");
    out.push_str(if digest.immediate { "true" } else { "false" });
    out.push_str(",\"timezone\":");
    out.push_str(&serde_json::to_string(&digest.timezone)?);
    out.push('}');
    Ok(out)
}

/// Every problem in the templates: syntax errors, and errors rendering a
/// sample digest (unknown filters, bad JSON), with file and line.
pub fn validate_templates(config: &super::Config) -> Vec<Problem> {
    let renderer = match Renderer::load(config) {
        Ok(r) => r,
        Err(problems) => return problems,
    };
    let mut problems = renderer.undefined_variables();
    match renderer.render(&super::sample::sample_digest(), "UTC") {
        Ok(_) => {}
        Err(Error::Template(p)) => problems.push(p),
        Err(e @ Error::NotJson { .. }) => {
            problems.push(Problem::new(&renderer.files[2], None, e.to_string()))
        }
    }
    problems
}

/// The variables a template gets (the fields of `Context`).
const CONTEXT_VARS: [&str; 4] = ["digest", "digest_json", "groups", "period"];
/// The fields of `DigestView`, what `digest.NAME` may name.
const DIGEST_VARS: [&str; 11] = [
    "id",
    "client_id",
    "client_name",
    "role",
    "window_start",
    "window_end",
    "generated_at",
    "subject",
    "items",
    "immediate",
    "timezone",
];
/// Names minijinja provides inside templates.
const TEMPLATE_BUILTINS: [&str; 6] = ["loop", "self", "super", "caller", "varargs", "kwargs"];

impl Renderer {
    /// A variable a template uses that no digest provides renders as
    /// nothing (undefined values chain silently), so `check` names it.
    fn undefined_variables(&self) -> Vec<Problem> {
        let globals: Vec<&str> = self.env.globals().map(|(k, _)| k).collect();
        let mut problems = Vec::new();
        for (name, file) in TEMPLATE_NAMES.iter().zip(&self.files) {
            let Ok(t) = self.env.get_template(name) else {
                continue;
            };
            let mut unknown: Vec<String> = t
                .undeclared_variables(true)
                .into_iter()
                .filter(|v| {
                    let mut parts = v.split('.');
                    let top = parts.next().unwrap_or_default();
                    let known = CONTEXT_VARS.contains(&top)
                        || TEMPLATE_BUILTINS.contains(&top)
                        || globals.contains(&top);
                    !known
                        || (top == "digest"
                            && parts.next().is_some_and(|f| !DIGEST_VARS.contains(&f)))
                })
                .collect();
            unknown.sort();
            for v in unknown {
                let line = t
                    .source()
                    .find(&v)
                    .map(|at| crate::config::line_of(t.source(), at));
                problems.push(Problem::new(
                    file,
                    line,
                    format!(
                        "template variable {v} is not defined, so it renders as nothing; use one of {} (digest has {})",
                        CONTEXT_VARS.join(", "),
                        DIGEST_VARS.join(", ")
                    ),
                ));
            }
        }
        problems
    }
}

fn template_problem(file: &Path, e: &minijinja::Error) -> Problem {
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    Problem::new(
        file,
        e.line(),
        format!(
            "template error ({}){detail}; fix the template or delete the file to use the built-in one",
            e.kind()
        ),
    )
}

/// Items are sorted most urgent first, so each group is one slice;
/// `values` are the items as template values, in the same order.
fn groups(items: &[DigestItem], values: &[Value]) -> Vec<Group> {
    let band = |s: Severity| match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low | Severity::Info => 3,
    };
    let mut out = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let b = band(items[start].urgency);
        let len = items[start..]
            .iter()
            .take_while(|i| band(i.urgency) == b)
            .count();
        let (label, colour) = match b {
            0 => ("Act now", "#b42318"),
            1 => ("Act this week", "#c4570a"),
            2 => ("Plan for it", "#2f5d8a"),
            _ => ("For your awareness", "#52606d"),
        };
        out.push(Group {
            label,
            severity: items[start].urgency,
            colour,
            items: Value::from(values[start..start + len].to_vec()),
        });
        start += len;
    }
    out
}

fn period(digest: &Digest, timezone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let fmt = |t: jiff::Timestamp| {
        t.to_zoned(tz.clone())
            .strftime("%-d %b %Y %H:%M")
            .to_string()
    };
    format!(
        "{} to {} ({timezone})",
        fmt(digest.window_start),
        fmt(digest.window_end)
    )
}

/// Only http(s) links survive; anything else (`javascript:`) becomes `#`.
fn safe_url_str(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => u.to_string(),
        _ => "#".to_string(),
    }
}

/// Past this many URLs a thread's `safe_url` cache starts over.
const MAX_CACHED_URLS: usize = 8_192;

thread_local! {
    /// `safe_url` results by input: the same source links appear in every
    /// client's digest, and parsing a URL costs far more than a lookup.
    static SAFE_URLS: std::cell::RefCell<HashMap<String, Value>> =
        std::cell::RefCell::new(HashMap::new());
}

/// The `safe_url` filter; the filter's argument conversion (any value
/// becomes its string form) is kept for values that are not strings.
fn safe_url(state: &minijinja::State, v: Value) -> Result<Value, minijinja::Error> {
    let owned;
    let url = match v.as_str() {
        Some(s) => s,
        None => {
            owned = string_arg(state, &v)?;
            &owned
        }
    };
    SAFE_URLS.with(|cache| {
        if let Some(hit) = cache.borrow().get(url) {
            return Ok(hit.clone());
        }
        let out = Value::from(safe_url_str(url));
        let mut cache = cache.borrow_mut();
        if cache.len() >= MAX_CACHED_URLS {
            cache.clear();
        }
        cache.insert(url.to_string(), out.clone());
        Ok(out)
    })
}

/// A filter argument as a `String` filter parameter would receive it.
fn string_arg(state: &minijinja::State, v: &Value) -> Result<String, minijinja::Error> {
    use minijinja::value::ArgType;
    String::from_state_and_value(Some(state), Some(v)).map(|(s, _)| s)
}

/// The `day` filter: a timestamp as "30 Apr 2026" in the time zone given
/// (the client's); anything that is not a timestamp is printed as it is.
/// Results are cached per thread: the same source dates appear in every
/// client's digest, and a zone lookup costs far more than a hash lookup.
fn day(v: Value, tz: Option<String>) -> Value {
    let s = v.to_string();
    let tz = tz.unwrap_or_default();
    DAYS.with(|cache| {
        let key = (tz, s);
        if let Some(hit) = cache.borrow().get(&key) {
            return hit.clone();
        }
        let zone = jiff::tz::TimeZone::get(&key.0).unwrap_or(jiff::tz::TimeZone::UTC);
        let out = match key.1.parse::<jiff::Timestamp>() {
            Ok(t) => Value::from(crate::route::day_text(t.to_zoned(zone).date())),
            Err(_) => Value::from(key.1.as_str()),
        };
        let mut cache = cache.borrow_mut();
        if cache.len() >= MAX_CACHED_URLS {
            cache.clear();
        }
        cache.insert(key, out.clone());
        out
    })
}

thread_local! {
    static DAYS: std::cell::RefCell<HashMap<(String, String), Value>> =
        std::cell::RefCell::new(HashMap::new());
}

/// Scraped text on one line, without control characters.
fn oneline_str(s: String) -> String {
    if super::build::is_clean_line(&s) {
        s
    } else {
        super::build::clean_line_unbounded(&s)
    }
}

/// The `oneline` filter: a plain string already on one line is passed
/// through without a copy. Safe strings take the general path, which (as
/// before) returns a plain string.
fn oneline(state: &minijinja::State, v: Value) -> Result<Value, minijinja::Error> {
    if !v.is_safe()
        && let Some(s) = v.as_str()
        && super::build::is_clean_line(s)
    {
        return Ok(v);
    }
    Ok(Value::from(oneline_str(string_arg(state, &v)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer() -> Renderer {
        Renderer::load(&super::super::Config {
            templates_dir: PathBuf::from("/nonexistent"),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn check_names_an_undefined_template_variable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("digest.txt"),
            "{{ digest.subject }}\n{% for i in digest.items %}{{ i.headline }}{% endfor %}\n{{ digest.subjcet }} {{ clientname }}\n",
        )
        .unwrap();
        let config = super::super::Config {
            templates_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let problems = validate_templates(&config);
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 2, "{text:#?}");
        assert!(
            text[0].contains("line 3: template variable clientname"),
            "{text:#?}"
        );
        assert!(text[1].contains("digest.subjcet"), "{text:#?}");
        // The shipped templates use only what a digest provides.
        let shipped = super::super::Config {
            templates_dir: PathBuf::from("/nonexistent"),
            ..Default::default()
        };
        assert_eq!(validate_templates(&shipped), Vec::new());
    }

    #[test]
    fn oneline_keeps_clean_text_and_cleans_the_rest() {
        assert_eq!(
            oneline_str("Nimbus Labs & Corvid".into()),
            "Nimbus Labs & Corvid"
        );
        assert_eq!(oneline_str(" a\r\nb\t c  d ".into()), "a b c d");
        assert_eq!(oneline_str("a\u{7f}b\u{a0}c".into()), "a b c");
        assert_eq!(oneline_str(String::new()), "");
    }

    #[test]
    fn spliced_json_equals_serde_json_of_the_digest() {
        let r = renderer();
        let mut d = super::super::sample::sample_digest();
        d.immediate = true;
        let prepared: Vec<_> = d
            .items
            .iter()
            .map(|i| r.prepared(&i.event).unwrap())
            .collect();
        let ours = digest_json(&d, &prepared).unwrap();
        assert_eq!(ours, serde_json::to_string(&d).unwrap());
    }

    #[test]
    fn every_field_name_is_found_and_no_other() {
        for (names, find) in [
            (EVENT_FIELDS, event_field as fn(&str) -> Option<usize>),
            (SOURCE_FIELDS, source_field),
            (CLAIM_FIELDS, claim_field),
            (ITEM_FIELDS, item_field),
            (ACTION_FIELDS, action_field),
        ] {
            for (i, n) in names.iter().enumerate() {
                assert_eq!(find(n), Some(i), "{n}");
                assert_eq!(find(&format!("{n}x")), None);
            }
            for other in ["", "x", "sourcesx", "Id", "evidence2"] {
                assert_eq!(find(other), None, "{other}");
            }
        }
    }

    /// The template values built by hand are the Serde values they replace:
    /// same fields, order, nesting and printed form, so output is unchanged.
    #[test]
    fn record_values_equal_their_serde_form() {
        let mut d = super::super::sample::sample_digest();
        let mut item = d.items[0].clone();
        let e = Arc::make_mut(&mut item.event);
        e.confirmations = e.sources.clone();
        e.supersedes = vec!["ev-old".into()];
        e.licensor = Some("Nimbus Labs".into());
        item.actions.push(Action {
            due: None,
            severity: Severity::Info,
            ..item.actions[0].clone()
        });
        item.reasons.push("you use Corvid Cloud".into());
        d.items.push(item);
        for item in &d.items {
            let ours = item_value(item, &event_value(&item.event));
            let serde = Value::from(minijinja::value::Serde(item));
            assert_eq!(ours.to_string(), serde.to_string());
            assert_eq!(
                serde_json::to_string(&ours).unwrap(),
                serde_json::to_string(&serde).unwrap()
            );
            let keys = |v: &Value| v.try_iter().unwrap().collect::<Vec<_>>();
            assert_eq!(
                keys(&ours.get_attr("event").unwrap()),
                keys(&serde.get_attr("event").unwrap())
            );
            assert!(
                ours.get_attr("event")
                    .unwrap()
                    .get_attr("claims")
                    .unwrap()
                    .is_true()
            );
            assert!(ours.get_attr("nope").unwrap().is_undefined());
        }
        let no_claims = &d.items[0].event;
        let mut plain = (**no_claims).clone();
        plain.claims.clear();
        let v = event_value(&plain);
        assert!(v.get_attr("claims").unwrap().is_undefined());
        assert_eq!(
            v.to_string(),
            Value::from(minijinja::value::Serde(&plain)).to_string()
        );
    }

    #[test]
    fn built_in_json_is_rendered_as_the_template_would() {
        // minijinja drops the one trailing newline of a template.
        assert_eq!(
            BUILT_IN[2],
            format!("{JSON_PREFIX}{{{{ digest_json }}}}{JSON_SUFFIX}\n")
        );
        let r = renderer();
        assert!(r.json_built_in);
        let d = super::super::sample::sample_digest();
        let ours = r.render(&d, "UTC").unwrap().json;
        let dj = digest_json(&d, &r.prepared_all(&d).unwrap()).unwrap();
        let by_template = r
            .env
            .get_template("digest.json")
            .unwrap()
            .render(minijinja::context! { digest_json => Value::from_safe_string(dj) })
            .unwrap();
        assert_eq!(ours, by_template);
    }

    #[test]
    fn filters_keep_their_results() {
        let env = {
            let mut env = Environment::new();
            env.add_filter("safe_url", safe_url);
            env.add_filter("oneline", oneline);
            env
        };
        let r = |src: &str, v: Value| env.render_str(src, minijinja::context! { v => v }).unwrap();
        for _ in 0..2 {
            assert_eq!(
                r("{{ v|safe_url }}", Value::from("HTTPS://Example.com")),
                "https://example.com/"
            );
            assert_eq!(r("{{ v|safe_url }}", Value::from("javascript:x")), "#");
        }
        assert_eq!(r("{{ v|safe_url }}", Value::from(3)), "#");
        assert_eq!(r("{{ v|oneline }}", Value::from(" a\n b ")), "a b");
        assert_eq!(r("{{ v|oneline }}", Value::from(12)), "12");
        assert_eq!(r("{{ v|oneline }}", Value::from("a b")), "a b");
        // A safe string comes back plain, as it did through a `String` filter.
        let out = env
            .render_str(
                "{{ (v|oneline) is safe }}",
                minijinja::context! { v => Value::from_safe_string("a".into()) },
            )
            .unwrap();
        assert!(out.eq_ignore_ascii_case("false"), "{out}");
    }

    #[test]
    fn cached_event_is_not_reused_once_the_event_changes() {
        let r = renderer();
        let mut d = super::super::sample::sample_digest();
        let first = r.render(&d, "UTC").unwrap();
        assert_eq!(r.render(&d, "UTC").unwrap(), first);
        Arc::make_mut(&mut d.items[0].event).sources[0].evidence =
            "Revised <b>wording</b> of the terms".into();
        let second = r.render(&d, "UTC").unwrap();
        assert!(
            second.html.contains("Revised &lt;b&gt;wording"),
            "{}",
            second.html
        );
        assert!(second.json.contains("Revised <b>wording"));
        assert!(!first.html.contains("Revised"));
    }
}
