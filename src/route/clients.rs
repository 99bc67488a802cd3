//! Client profiles: `clients/*.toml`, one client per file, read into
//! [`ClientProfile`]s. Every problem carries the file and line and says what
//! to write instead; one bad file never stops the others from loading.
//!
//! Secrets never live here: a webhook names its secret with `secret_ref =
//! "env:NAME"` or `"file:PATH"`, and a value that is neither is rejected
//! without echoing it (it may be the secret pasted by mistake).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Problem, line_of};
use crate::model::{
    Cadence, ChangeKind, ClientProfile, Filters, QuietHours, Role, Severity, Webhook,
};

/// Webhook body formats the deliver stage can produce.
pub const WEBHOOK_FORMATS: [&str; 3] = ["standard", "slack", "teams"];

/// The file form of a client: strict, with spans for the values checked after parsing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    id: Spanned<String>,
    name: String,
    role: Role,
    #[serde(default)]
    recipients: Vec<Spanned<String>>,
    #[serde(default)]
    webhooks: Vec<WebhookFile>,
    #[serde(default)]
    vendors: Vec<Spanned<String>>,
    #[serde(default)]
    clouds: Vec<Spanned<String>>,
    #[serde(default)]
    platforms: Vec<Spanned<String>>,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    regimes: Vec<Spanned<String>>,
    #[serde(default)]
    residency: Vec<Spanned<String>>,
    #[serde(default)]
    min_severity: Severity,
    #[serde(default)]
    cadence: Cadence,
    send_time: Option<Spanned<String>>,
    send_day: Option<Spanned<String>>,
    timezone: Spanned<String>,
    quiet_hours: Option<Spanned<QuietHoursFile>>,
    #[serde(default)]
    kinds: Vec<Spanned<String>>,
    filters: Option<Spanned<FiltersFile>>,
}

/// `[filters]`: what the client chose to see or not.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FiltersFile {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    mute_sources: Vec<String>,
    #[serde(default)]
    mute_kinds: Vec<String>,
    #[serde(default)]
    min_confidence: f32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    url: Spanned<String>,
    #[serde(default = "default_format")]
    format: Spanned<String>,
    secret_ref: Option<Spanned<String>>,
}

fn default_format() -> Spanned<String> {
    Spanned::new(0..0, "standard".to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuietHoursFile {
    start: String,
    end: String,
}

/// Reads every `*.toml` in `dir` (sorted by name). Valid profiles come back
/// with the problems of the others. A missing directory is one problem.
pub fn load_clients(dir: &Path) -> (Vec<ClientProfile>, Vec<Problem>) {
    let mut clients: Vec<ClientProfile> = Vec::new();
    let mut problems = Vec::new();
    let files = match client_files(dir) {
        Ok(files) => files,
        Err(p) => return (clients, vec![p]),
    };
    let mut seen: Vec<(String, PathBuf)> = Vec::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem::new(&path, None, format!("could not read: {e}")));
                continue;
            }
        };
        match parse_client(&path, &text) {
            Ok(client) => {
                if let Some((_, first)) = seen.iter().find(|(id, _)| *id == client.id) {
                    problems.push(Problem::new(
                        &path,
                        None,
                        format!(
                            "client id \"{}\" is already used by {}; give each client its own id",
                            client.id,
                            first.display()
                        ),
                    ));
                    continue;
                }
                seen.push((client.id.clone(), path.clone()));
                clients.push(client);
            }
            Err(mut ps) => problems.append(&mut ps),
        }
    }
    (clients, problems)
}

/// Every problem in the client directory, for `termwatch check`.
pub fn validate_clients(dir: &Path) -> Vec<Problem> {
    load_clients(dir).1
}

fn client_files(dir: &Path) -> Result<Vec<PathBuf>, Problem> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Problem::new(
            dir,
            None,
            format!(
                "could not read the client directory: {e}; create it or pass --clients DIR (see clients.example/)"
            ),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Parses and validates one client file; all problems at once.
pub fn parse_client(path: &Path, text: &str) -> Result<ClientProfile, Vec<Problem>> {
    let (file, mut problems) = crate::config::from_toml_all::<ClientFile>(path, text);
    let Some(file) = file else {
        return Err(problems);
    };
    // With a schema problem, a line was set aside: a setting that looks
    // missing may be the misspelt one, so "add X" checks are left out.
    let complete = problems.is_empty();
    let at = |span: std::ops::Range<usize>| Some(line_of(text, span.start));

    let id = file.id.get_ref().trim().to_string();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        problems.push(Problem::new(
            path,
            at(file.id.span()),
            format!("id \"{id}\" must be letters, digits, '-' or '_' (for example id = \"northwind-clinic\")"),
        ));
    }

    let timezone = file.timezone.get_ref().trim().to_string();
    if jiff::tz::TimeZone::get(&timezone).is_err() {
        problems.push(Problem::new(
            path,
            at(file.timezone.span()),
            format!(
                "timezone \"{timezone}\" is not an IANA time zone; write a name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\""
            ),
        ));
    }

    let mut recipients = Vec::new();
    for r in &file.recipients {
        let addr = r.get_ref().trim();
        if is_email(addr) {
            recipients.push(addr.to_string());
        } else {
            problems.push(Problem::new(
                path,
                at(r.span()),
                format!(
                    "recipient \"{}\" cannot be an email address; write one address per string, like \"it-ops@example.com\"",
                    addr.replace(['\r', '\n'], " ")
                ),
            ));
        }
    }

    let mut webhooks = Vec::new();
    for w in &file.webhooks {
        let line = at(w.url.span());
        match url::Url::parse(w.url.get_ref()) {
            Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
            _ => problems.push(Problem::new(
                path,
                line,
                "webhook url must be an absolute http(s) URL, like \"https://hooks.example.com/termwatch\"",
            )),
        }
        let format = w.format.get_ref().trim().to_ascii_lowercase();
        if !WEBHOOK_FORMATS.contains(&format.as_str()) {
            problems.push(Problem::new(
                path,
                at(w.format.span()).or(line),
                format!(
                    "webhook format \"{format}\" is unknown; write one of {}",
                    WEBHOOK_FORMATS.join(", ")
                ),
            ));
        }
        let secret_ref = w
            .secret_ref
            .as_ref()
            .map(|s| s.get_ref().trim().to_string());
        if let Some(s) = &w.secret_ref
            && !is_secret_ref(s.get_ref().trim())
        {
            // Deliberately not echoed: it may be the secret itself.
            problems.push(Problem::new(
                path,
                at(s.span()),
                "secret_ref must name where the secret lives, not hold it: write secret_ref = \"env:VARIABLE\" or \"file:/path/to/secret\"",
            ));
        }
        webhooks.push(Webhook {
            url: w.url.get_ref().trim().to_string(),
            format,
            secret_ref,
        });
    }
    if recipients.is_empty() && webhooks.is_empty() && problems.is_empty() {
        problems.push(Problem::new(
            path,
            None,
            "the client has no recipients and no webhooks; add recipients = [\"someone@example.com\"] or a [[webhooks]] table",
        ));
    }

    let send_time = match &file.send_time {
        Some(t) => {
            match parse_time(t.get_ref()) {
                Some(v) => Some(v),
                None => {
                    problems.push(Problem::new(
                    path,
                    at(t.span()),
                    format!("send_time \"{}\" is not a time; write 24-hour \"HH:MM\", like \"08:30\"", t.get_ref()),
                ));
                    None
                }
            }
        }
        None => None,
    };
    if complete && file.cadence != Cadence::Immediate && file.send_time.is_none() {
        problems.push(Problem::new(
            path,
            None,
            format!(
                "a {} cadence needs a local send time; add send_time = \"08:00\"",
                file.cadence.as_str()
            ),
        ));
    }
    let send_day = match &file.send_day {
        Some(d) => match parse_weekday(d.get_ref()) {
            Some(n) => Some(n),
            None => {
                problems.push(Problem::new(
                    path,
                    at(d.span()),
                    format!(
                        "send_day \"{}\" is not a weekday; write \"monday\" ... \"sunday\"",
                        d.get_ref()
                    ),
                ));
                None
            }
        },
        None => None,
    };
    if complete && file.cadence == Cadence::Weekly && file.send_day.is_none() {
        problems.push(Problem::new(
            path,
            None,
            "a weekly cadence needs a day; add send_day = \"monday\"",
        ));
    }

    let quiet_hours = match &file.quiet_hours {
        Some(q) => {
            let (start, end) = (parse_time(&q.get_ref().start), parse_time(&q.get_ref().end));
            match (start, end) {
                (Some(start), Some(end)) => Some(QuietHours { start, end }),
                _ => {
                    problems.push(Problem::new(
                        path,
                        at(q.span()),
                        "quiet_hours start and end must be 24-hour \"HH:MM\" times, like start = \"21:00\", end = \"07:00\"",
                    ));
                    None
                }
            }
        }
        None => None,
    };
    if let (Some(q), Some(t)) = (quiet_hours, send_time)
        && crate::digest::window::in_quiet_hours(&q, t)
    {
        problems.push(Problem::new(
            path,
            file.send_time.as_ref().and_then(|s| at(s.span())),
            format!(
                "send_time {} falls inside quiet_hours {}-{}; move the send time or shorten the quiet hours",
                t.strftime("%H:%M"),
                q.start.strftime("%H:%M"),
                q.end.strftime("%H:%M")
            ),
        ));
    }

    let mut kinds = Vec::new();
    for k in &file.kinds {
        match ChangeKind::parse(k.get_ref().trim()) {
            Some(kind) => kinds.push(kind),
            None => problems.push(Problem::new(
                path,
                at(k.span()),
                format!(
                    "kind \"{}\" is unknown; write one of {}",
                    k.get_ref(),
                    ChangeKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            )),
        }
    }

    let filters = match &file.filters {
        Some(f) => filters(f.get_ref(), at(f.span()), path, &mut problems),
        None => Filters::default(),
    };

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ClientProfile {
        id,
        name: file.name,
        role: file.role,
        recipients,
        webhooks,
        vendors: plain(&file.vendors),
        clouds: plain(&file.clouds),
        platforms: plain(&file.platforms),
        products: file.products,
        regimes: plain(&file.regimes),
        residency: file
            .residency
            .iter()
            .map(|r| r.get_ref().trim().to_ascii_lowercase())
            .collect(),
        min_severity: file.min_severity,
        cadence: file.cadence,
        send_time,
        send_day,
        timezone,
        quiet_hours,
        kinds,
        filters,
    })
}

/// `[filters]` checked: every pattern compiles, every family is known,
/// the confidence is between 0 and 1.
fn filters(
    f: &FiltersFile,
    line: Option<usize>,
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Filters {
    for (field, patterns) in [("include", &f.include), ("exclude", &f.exclude)] {
        for p in patterns {
            if let Err(e) = crate::digest::Pattern::parse(p) {
                problems.push(Problem::new(
                    path,
                    line,
                    format!("filters {field} pattern {p:?}: {e}"),
                ));
            }
        }
    }
    let mut mute_kinds = Vec::new();
    for k in &f.mute_kinds {
        match ChangeKind::parse(k.trim()) {
            Some(kind) => mute_kinds.push(kind),
            None => problems.push(Problem::new(
                path,
                line,
                format!(
                    "filters mute_kinds \"{k}\" is not an event family; write one of {}",
                    ChangeKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            )),
        }
    }
    if !(0.0..=1.0).contains(&f.min_confidence) {
        problems.push(Problem::new(
            path,
            line,
            format!(
                "filters min_confidence {} is out of range; write a number from 0 to 1, like 0.6",
                f.min_confidence
            ),
        ));
    }
    Filters {
        include: f.include.clone(),
        exclude: f.exclude.clone(),
        mute_sources: f
            .mute_sources
            .iter()
            .map(|s| s.trim().to_string())
            .collect(),
        mute_kinds,
        min_confidence: f.min_confidence,
    }
}

fn plain(values: &[Spanned<String>]) -> Vec<String> {
    values.iter().map(|v| v.get_ref().clone()).collect()
}

/// A plausible single address: one `@`, a dotted domain, no spaces, quotes,
/// commas or angle brackets (commas would split the outbox's target list).
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let bad = |c: char| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\@".contains(c);
    !local.is_empty()
        && local.len() <= 64
        && !local.chars().any(bad)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// `env:NAME` or `file:PATH`.
pub fn is_secret_ref(s: &str) -> bool {
    match s.split_once(':') {
        Some(("env", name)) => {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        Some(("file", p)) => !p.trim().is_empty(),
        _ => false,
    }
}

fn parse_time(s: &str) -> Option<jiff::civil::Time> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    jiff::civil::Time::new(h, m, 0, 0).ok()
}

fn parse_weekday(s: &str) -> Option<i8> {
    let s = s.trim().to_ascii_lowercase();
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    days.iter()
        .position(|d| *d == s || (s.len() >= 3 && d.starts_with(&s)))
        .map(|i| i as i8 + 1)
}

/// Names termwatch knows, per client field: a value that is a near miss of
/// one is a typo that would silently match nothing. Built by `termwatch
/// check` from the alias tables, the playbook and the lists below.
#[derive(Debug, Clone, Default)]
pub struct KnownNames {
    pub vendors: Vec<String>,
    pub clouds: Vec<String>,
    pub platforms: Vec<String>,
    pub regimes: Vec<String>,
    pub residency: Vec<String>,
}

/// Clouds as clients write them, besides the platform names.
pub const COMMON_CLOUDS: &[&str] = &[
    "AWS",
    "Azure",
    "Google Cloud",
    "GCP",
    "Oracle Cloud",
    "OCI",
    "IBM Cloud",
    "Alibaba Cloud",
];
/// Compliance regimes clients commonly name, besides the playbook's.
pub const COMMON_REGIMES: &[&str] = &[
    "HIPAA",
    "HITRUST",
    "GDPR",
    "UK GDPR",
    "FedRAMP",
    "StateRAMP",
    "SOC 1",
    "SOC 2",
    "ISO 27001",
    "ISO 27017",
    "ISO 27018",
    "ISO 27701",
    "ISO 42001",
    "PCI DSS",
    "CCPA",
    "CPRA",
    "GLBA",
    "SOX",
    "FERPA",
    "COPPA",
    "NIS2",
    "DORA",
    "EU AI Act",
    "CJIS",
    "ITAR",
    "CMMC",
    "NIST 800-53",
    "NIST 800-171",
    "IRAP",
    "C5",
    "ENS",
    "TISAX",
    "LGPD",
    "PIPEDA",
    "APPI",
    "PDPA",
    "PIPL",
];
/// Data-residency regions clients commonly name, besides the playbook's.
pub const COMMON_RESIDENCY: &[&str] = &[
    "eu", "eea", "us", "uk", "ch", "ca", "au", "nz", "jp", "kr", "sg", "in", "br", "de", "fr",
    "apac", "emea", "latam", "global",
];

/// What `termwatch check` looks at beyond the file's own rules. The
/// callbacks keep the webhook guard and secret resolution in their stage.
pub struct CheckOptions<'a> {
    pub known: &'a KnownNames,
    /// Why a webhook target would be refused, if it would.
    pub webhook_target: &'a dyn Fn(&url::Url) -> Result<(), String>,
    /// Why a secret reference cannot be read; `None` skips the check
    /// (`check --no-secrets`, for a configuration away from its secrets).
    pub secret: Option<&'a SecretCheck>,
}

/// Why a secret reference (`env:NAME`, `file:PATH`) cannot be read.
pub type SecretCheck = dyn Fn(&str) -> Result<(), String>;

/// Errors (exit 1) and warnings (worth a look, not wrong) from `check`.
#[derive(Debug, Default)]
pub struct Findings {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// Every problem in the client directory, for `termwatch check`: what
/// loading reports, then near-miss names, refused webhook targets and
/// unreadable secrets.
pub fn check_clients(dir: &Path, opts: &CheckOptions) -> Findings {
    let mut out = Findings {
        errors: validate_clients(dir),
        warnings: Vec::new(),
    };
    let Ok(files) = client_files(dir) else {
        return out;
    };
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        // A file that cannot be read as a client was reported above.
        if let (Some(file), _) = crate::config::from_toml_all::<ClientFile>(&path, &text) {
            lint(&path, &text, &file, opts, &mut out);
        }
    }
    out
}

fn lint(path: &Path, text: &str, file: &ClientFile, opts: &CheckOptions, out: &mut Findings) {
    let at = |s: &Spanned<String>| Some(line_of(text, s.span().start));
    let k = opts.known;
    let fields = [
        ("vendor", "vendors", &file.vendors, &k.vendors),
        ("cloud", "clouds", &file.clouds, &k.clouds),
        ("platform", "platforms", &file.platforms, &k.platforms),
        ("regime", "regimes", &file.regimes, &k.regimes),
        ("residency", "residency", &file.residency, &k.residency),
    ];
    for (field, key, values, known) in fields {
        for v in values {
            let name = v.get_ref().trim();
            match closest(name, known) {
                Match::Known => {}
                Match::NearMiss(suggestion) => out.errors.push(Problem::new(
                    path,
                    at(v),
                    format!(
                        "{field} {name}: did you mean {suggestion}? Names are matched exactly, so a misspelt one never matches an event; fix it in {key}"
                    ),
                )),
                Match::Unknown => out.warnings.push(Problem::new(
                    path,
                    at(v),
                    format!(
                        "{field} {name} is not a name termwatch knows; if it is right, events must name it exactly so (add a vendor under [[extract.organisations]] in termwatch.toml)"
                    ),
                )),
            }
        }
    }
    for w in &file.webhooks {
        if let Ok(url) = url::Url::parse(w.url.get_ref().trim())
            && let Err(why) = (opts.webhook_target)(&url)
        {
            out.errors.push(Problem::new(path, at(&w.url), why));
        }
        if let (Some(check), Some(s)) = (opts.secret, &w.secret_ref)
            && is_secret_ref(s.get_ref().trim())
            && let Err(why) = check(s.get_ref().trim())
        {
            out.errors.push(Problem::new(
                path,
                at(s),
                format!("webhook secret_ref: {why}"),
            ));
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Match<'a> {
    Known,
    NearMiss(&'a str),
    Unknown,
}

/// `name` against `known`, ignoring case: known, a near miss (a typo or
/// two, by optimal string alignment distance), or neither.
fn closest<'a>(name: &str, known: &'a [String]) -> Match<'a> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        let kl = k.to_lowercase();
        if kl == lower {
            return Match::Known;
        }
        let d = strsim::osa_distance(&lower, &kl);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    // Short names are near everything: "IBM" is one letter from "AMD".
    let allowed = match lower.chars().count() {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    };
    match best {
        Some((d, k)) if d <= allowed => Match::NearMiss(k),
        _ => Match::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "acme"
name = "Acme"
role = "legal"
recipients = ["counsel@acme.example"]
timezone = "Europe/Paris"
cadence = "weekly"
send_day = "mon"
send_time = "09:00"
"#;

    #[test]
    fn good_file_parses() {
        let c = parse_client(Path::new("acme.toml"), GOOD).unwrap();
        assert_eq!(c.send_day, Some(1));
        assert_eq!(c.role, Role::Legal);
    }

    #[test]
    fn bad_time_zone_names_line_and_fix() {
        let text = GOOD.replace("Europe/Paris", "Europe/Pariss");
        let err = parse_client(Path::new("acme.toml"), &text).unwrap_err();
        assert_eq!(err[0].line, Some(6), "{:?}", err);
        assert!(err[0].message.contains("IANA"), "{}", err[0]);
    }

    #[test]
    fn bad_email_and_unknown_field() {
        let text = GOOD.replace("counsel@acme.example", "counsel at acme");
        let err = parse_client(Path::new("a.toml"), &text).unwrap_err();
        assert_eq!(err[0].line, Some(5));
        assert!(err[0].message.contains("like \"it-ops@example.com\""));
        let text = format!("{GOOD}colour = \"red\"\n");
        let err = parse_client(Path::new("a.toml"), &text).unwrap_err();
        assert!(err[0].message.contains("colour"), "{}", err[0]);
        assert_eq!(err[0].line, Some(10));
    }

    #[test]
    fn raw_secret_is_rejected_without_echo() {
        let text = format!(
            "{GOOD}[[webhooks]]\nurl = \"https://h.example/x\"\nsecret_ref = \"whsec_hunter2\"\n"
        );
        let err = parse_client(Path::new("a.toml"), &text).unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(!err[0].to_string().contains("hunter2"));
        assert!(err[0].message.contains("env:VARIABLE"));
    }

    #[test]
    fn emails() {
        assert!(is_email("a.b+c@x-y.example.org"));
        for bad in [
            "",
            "a@",
            "@b.c",
            "a@b",
            "a b@c.d",
            "a@b..c",
            "a,b@c.d",
            "a@b.c\r\nBcc: x@y.z",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn check_catches_typos_near_miss_vendor_is_an_error_unknown_a_warning() {
        let known: Vec<String> = ["Microsoft", "OpenAI", "Amazon", "IBM", "AMD"]
            .map(String::from)
            .to_vec();
        assert_eq!(closest("Microsfot", &known), Match::NearMiss("Microsoft"));
        assert_eq!(closest("openai", &known), Match::Known);
        assert_eq!(closest("Nimbus Labs", &known), Match::Unknown);
        assert_eq!(
            closest("IBN", &known),
            Match::Unknown,
            "short names need an exact match"
        );

        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{GOOD}vendors = [\"Microsfot\", \"Nimbus Labs\"]\n[[webhooks]]\nurl = \"http://10.0.0.7/h\"\nsecret_ref = \"env:TW_TEST_UNSET_HOOK\"\n"
        );
        std::fs::write(dir.path().join("acme.toml"), text).unwrap();
        let names = KnownNames {
            vendors: known,
            ..KnownNames::default()
        };
        let refuse = |u: &url::Url| Err(format!("refused {}", u.host_str().unwrap_or("")));
        let missing = |r: &str| Err(format!("{r} is not set"));
        let f = check_clients(
            dir.path(),
            &CheckOptions {
                known: &names,
                webhook_target: &refuse,
                secret: Some(&missing),
            },
        );
        let errors: Vec<String> = f.errors.iter().map(|p| p.to_string()).collect();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].contains("line 10: vendor Microsfot: did you mean Microsoft?"),
            "{errors:#?}"
        );
        assert!(errors[1].contains("refused 10.0.0.7"), "{errors:#?}");
        assert!(errors[2].contains("TW_TEST_UNSET_HOOK"), "{errors:#?}");
        assert_eq!(f.warnings.len(), 1);
        assert!(
            f.warnings[0].message.contains("Nimbus Labs"),
            "{:?}",
            f.warnings
        );

        // --no-secrets skips only the secret.
        let f = check_clients(
            dir.path(),
            &CheckOptions {
                known: &names,
                webhook_target: &refuse,
                secret: None,
            },
        );
        assert_eq!(f.errors.len(), 2, "{:?}", f.errors);
    }

    #[test]
    fn check_reports_every_problem_in_a_client_file_at_once() {
        let text =
            format!("{GOOD}colour = \"red\"\nsize = 3\n").replace("Europe/Paris", "Mars/Olympus");
        let err = parse_client(Path::new("a.toml"), &text).unwrap_err();
        let lines: Vec<_> = err.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(10), Some(11), Some(6)], "{err:#?}");
        assert!(err[0].message.contains("colour"), "{}", err[0]);
        assert!(err[1].message.contains("size"), "{}", err[1]);
    }
}
