//! Configuration: `termwatch.toml` (optional), then `TERMWATCH_*` environment
//! overrides, then command-line flags, merged in that order.
//!
//! Each stage owns its own section type (`collect::Config`, ...) with serde
//! defaults, so the defaults live next to the code that uses them. This file
//! only composes them and resolves paths.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Default directory for the SQLite database and the outboxes.
pub const DEFAULT_DATA_DIR: &str = "termwatch-data";
/// Default directory of source definitions.
pub const DEFAULT_SOURCES_DIR: &str = "sources";
/// Default directory of client profiles.
pub const DEFAULT_CLIENTS_DIR: &str = "clients";
/// Configuration file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "termwatch.toml";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Overridden by `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// Overridden by `--sources`.
    pub sources_dir: Option<PathBuf>,
    /// Overridden by `--clients`.
    pub clients_dir: Option<PathBuf>,
    /// Database URL; default is `sqlite://<data dir>/termwatch.db`.
    pub database_url: Option<String>,
    pub collect: crate::collect::Config,
    pub extract: crate::extract::Config,
    pub correlate: crate::correlate::Config,
    pub route: crate::route::Config,
    pub digest: crate::digest::Config,
    pub deliver: crate::deliver::Config,
    pub serve: crate::serve::Config,
}

/// Resolved locations every command uses.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The configuration file that was read, if any.
    pub config_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub sources_dir: PathBuf,
    pub clients_dir: PathBuf,
}

/// A URL or connection string safe to print: the password of its userinfo
/// (`postgres://user:PASSWORD@host/db`) becomes `***`. Works on text that
/// does not parse as a URL too, so an error about a malformed URL cannot
/// echo the password either.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_string();
    };
    format!(
        "{}{}:***{}",
        &url[..scheme_end],
        &authority[..colon],
        &rest[at..]
    )
}

impl Paths {
    pub fn database_url(&self, config: &Config) -> String {
        config
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("termwatch.db").display()))
    }
}

/// A problem in a file a user wrote, with where it is and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl Problem {
    pub fn new(file: &Path, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    /// A TOML parse or schema error, with the line toml reports.
    pub fn from_toml(file: &Path, text: &str, err: &toml::de::Error) -> Problem {
        let line = err.span().map(|span| line_of(text, span.start));
        Problem::new(file, line, err.message().trim().to_string())
    }
}

/// Most problems one file reports; past them the file is too far gone.
const MAX_PROBLEMS_PER_FILE: usize = 20;

/// Deserialises `text`, reporting every problem in it rather than the
/// first only: each problem's line is blanked and the text read again, so a
/// later mistake is found too. A TOML syntax error blanks the whole
/// statement it is in (from the line its unclosed bracket opened on), so
/// the lines after it are read as they are rather than reported as the same
/// error again. The value read from the blanked text comes back when there
/// is one, so later checks can run on the rest.
pub fn from_toml_all<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
) -> (Option<T>, Vec<Problem>) {
    let mut err = match toml::from_str::<T>(text) {
        Ok(v) => return (Some(v), Vec::new()),
        Err(e) => e,
    };
    let mut problems = vec![Problem::from_toml(file, text, &err)];
    let mut masked = text.to_string();
    // Keys of the lines blanked: a "missing field" for one of them is ours.
    let mut blanked: Vec<String> = Vec::new();
    while problems.len() < MAX_PROBLEMS_PER_FILE {
        let Some(mut span) = err.span() else { break };
        if err.message().starts_with("missing field") {
            break;
        }
        if toml::from_str::<toml::Table>(&masked).is_err() {
            span.start = statement_start(&masked, span.start);
        }
        let before = masked.clone();
        blanked.extend(blank_lines(&mut masked, span));
        if masked == before {
            // Nothing left to blank there (a header, an empty line): the
            // same error would come back.
            break;
        }
        err = match toml::from_str::<T>(&masked) {
            Ok(v) => return (Some(v), by_line(problems)),
            Err(e) => e,
        };
        let ours = err
            .message()
            .strip_prefix("missing field `")
            .is_some_and(|rest| {
                blanked
                    .iter()
                    .any(|k| rest.split('`').next() == Some(k.as_str()))
            });
        if ours {
            break;
        }
        problems.push(Problem::from_toml(file, &masked, &err));
    }
    (None, by_line(problems))
}

/// Problems in file order: a syntax error is found before the schema
/// mistakes above it.
fn by_line(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by_key(|p| p.line);
    problems
}

/// Byte offset of the start of the line on which the bracket still open at
/// `offset` was opened (an array or inline table running over several
/// lines), else of `offset`'s own line. Quotes and comments are skipped
/// roughly: this only picks which lines a syntax error blanks.
fn statement_start(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
    let mut opened: Vec<usize> = Vec::new();
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut escaped = false;
    for (i, c) in text[..offset].char_indices() {
        match (quote, c) {
            _ if comment => comment = c != '\n',
            (Some('"'), '\\') => escaped = !escaped,
            (Some(q), _) if c == q && !escaped => quote = None,
            (Some(_), _) => escaped = false,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => comment = true,
            (None, '[' | '{') => opened.push(i),
            (None, ']' | '}') => {
                opened.pop();
            }
            _ => {}
        }
        if c == '\n' && quote == Some('\'') {
            // A literal string does not run over a line end: the quote was
            // an apostrophe in a bare word.
            quote = None;
        }
    }
    // A table header's brackets close on their line; an open one here is
    // a value that runs on.
    opened
        .first()
        .map_or(line_start(offset), |&i| line_start(i))
}

/// Replaces the lines `span` touches with spaces (byte offsets and line
/// numbers stay the same); returns the keys those lines set.
fn blank_lines(text: &mut String, span: std::ops::Range<usize>) -> Vec<String> {
    let start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let end = text[span.end.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| span.end.min(text.len()) + i);
    let keys = text[start..end]
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, _)| k.trim().trim_matches('"').to_string())
        })
        .collect();
    let blank: String = text[start..end]
        .bytes()
        .map(|b| if b == b'\n' { '\n' } else { ' ' })
        .collect();
    text.replace_range(start..end, &blank);
    keys
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, byte_offset: usize) -> usize {
    let end = byte_offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Name of the lock file a worker holds in its data dir.
pub const LOCK_FILE: &str = "termwatch.lock";

/// Creates `dir` and its missing parents readable by the owner only (0700):
/// the data dir holds the database and the outbox of client mail.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Opens `path` for writing, created readable by the owner only (0600);
/// an existing file keeps its mode and content.
pub fn open_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// Held by a command that sends (`run`, `deliveries send`, `demo`) for as
/// long as it runs: one worker per SQLite data dir. The OS drops the lock
/// when the process ends, however it ends.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

impl Paths {
    /// Takes the data dir for this process, or says which process has it.
    /// Nothing to take when the database is not SQLite: workers on
    /// PostgreSQL share the outbox through their claims.
    pub fn own_data_dir(&self, config: &Config) -> Result<Option<DataDirLock>, Error> {
        if !self.database_url(config).starts_with("sqlite:") {
            return Ok(None);
        }
        let path = self.data_dir.join(LOCK_FILE);
        let io = |source| Error::Lock {
            path: path.clone(),
            source,
        };
        create_private_dir(&self.data_dir).map_err(io)?;
        let mut file = open_private_file(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(Error::Owned {
                    dir: self.data_dir.clone(),
                    pid: match pid.trim() {
                        "" => "unknown".to_string(),
                        p => p.to_string(),
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        use std::io::Write as _;
        file.set_len(0).map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Some(DataDirLock { _file: file }))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "a termwatch worker (pid {pid}) already owns the data dir {dir}: stop it first, or give this command another --data-dir; read-only commands (events, sources, deliveries, digest) work beside it"
    )]
    Owned { dir: PathBuf, pid: String },
    #[error(
        "could not lock the data dir with {path}: {source}; check the --data-dir path and its permissions"
    )]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Problem),
    #[error("environment override is invalid: {0}; fix or unset the TERMWATCH_* variable it names")]
    Env(String),
}

/// Reads the configuration file (the given one, else `./termwatch.toml` if
/// present, else defaults), applies `TERMWATCH_*` overrides
/// (`TERMWATCH_COLLECT__USER_AGENT` sets `collect.user_agent`) and resolves
/// paths, flags first.
pub fn load(
    file: Option<&Path>,
    data_dir: Option<PathBuf>,
    sources_dir: Option<PathBuf>,
    clients_dir: Option<PathBuf>,
) -> Result<(Config, Paths), Error> {
    let (config, config_file) = read_file(file)?;
    let config = apply_env(config)?;
    let paths = Paths {
        data_dir: data_dir
            .or_else(|| config.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        sources_dir: sources_dir
            .or_else(|| config.sources_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SOURCES_DIR)),
        clients_dir: clients_dir
            .or_else(|| config.clients_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CLIENTS_DIR)),
        config_file,
    };
    Ok((config, paths))
}

fn read_file(file: Option<&Path>) -> Result<(Config, Option<PathBuf>), Error> {
    let path = match file {
        Some(p) => p.to_path_buf(),
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
        None => return Ok((Config::default(), None)),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let config = parse(&path, &text).map_err(Error::Invalid)?;
    Ok((config, Some(path)))
}

/// Parses a configuration file's text; errors carry the line.
pub fn parse(path: &Path, text: &str) -> Result<Config, Problem> {
    toml::from_str(text).map_err(|e| Problem::from_toml(path, text, &e))
}

/// Top-level keys an environment variable may set directly; every other
/// override names a section (`TERMWATCH_DELIVER__SMTP__HOST`). Other
/// `TERMWATCH_*` variables (flags such as `TERMWATCH_SOURCES`, or a test
/// harness's own) are not configuration and are left alone.
const TOP_LEVEL_ENV_KEYS: &[&str] = &["DATA_DIR", "DATABASE_URL", "SOURCES_DIR", "CLIENTS_DIR"];

fn apply_env(config: Config) -> Result<Config, Error> {
    use figment::Figment;
    use figment::providers::{Env, Serialized};
    let env = Env::prefixed("TERMWATCH_")
        .filter(|key| {
            let key = key.as_str();
            key.contains("__")
                || TOP_LEVEL_ENV_KEYS
                    .iter()
                    .any(|k| key.eq_ignore_ascii_case(k))
        })
        .split("__");
    Figment::from(Serialized::defaults(config))
        .merge(env)
        .extract()
        .map_err(|e| Error::Env(env_error(e)))
}

/// figment's message without the values it read: its type errors quote the
/// value (`found string "..."`), and an override may hold a secret
/// (`TERMWATCH_DATABASE_URL` with a password). Each error names the key, the
/// variable and what was expected instead.
fn env_error(e: figment::Error) -> String {
    use figment::error::Kind;
    e.into_iter()
        .map(|e| {
            let what = match &e.kind {
                Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
                    format!("expected {expected}")
                }
                Kind::InvalidLength(_, expected) => format!("expected {expected}"),
                Kind::Message(_) => "the value is invalid".to_string(),
                other => other.to_string(),
            };
            let key = e.path.join(".");
            let var = format!("TERMWATCH_{}", e.path.join("__").to_ascii_uppercase());
            format!("{key} (set by {var}): {what}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_its_line() {
        let text = "data_dir = \"x\"\n\n[collect]\nbogus = 1\n";
        let err = parse(Path::new("termwatch.toml"), text).unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[test]
    fn database_url_with_a_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://tw:SECRETPW@127.0.0.1:1/x"),
            "postgres://tw:***@127.0.0.1:1/x"
        );
        assert_eq!(
            redact_url("postgres://tw:p@ss:w@rd@db/x?sslmode=require"),
            "postgres://tw:***@db/x?sslmode=require"
        );
        assert_eq!(
            redact_url("sqlite://data/termwatch.db"),
            "sqlite://data/termwatch.db"
        );
        assert_eq!(redact_url("postgres://tw@db/x"), "postgres://tw@db/x");
    }

    #[test]
    fn env_type_error_does_not_echo_the_value() {
        let e = figment::Figment::from(figment::providers::Serialized::defaults(Config::default()))
            .merge(figment::providers::Serialized::default(
                "deliver",
                serde_json::json!({"smtp": {"host": "h", "port": "SECRET-PORT-VALUE"}}),
            ))
            .extract::<Config>()
            .unwrap_err();
        let msg = env_error(e);
        assert!(!msg.contains("SECRET-PORT-VALUE"), "{msg}");
        assert!(msg.contains("TERMWATCH_DELIVER__SMTP__PORT"), "{msg}");
    }

    #[test]
    fn every_schema_problem_in_a_file_is_reported() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            a: u32,
            b: String,
        }
        let text = "a = \"x\"\nbogus = 1\nb = \"ok\"\nother = 2\n";
        let (v, problems) = from_toml_all::<T>(Path::new("t.toml"), text);
        let lines: Vec<_> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(1), Some(2), Some(4)], "{problems:?}");
        assert!(v.is_none(), "a is required and was blanked");
        let (v, problems) = from_toml_all::<T>(Path::new("t.toml"), "a = 1\nb = \"x\"\nc = 3\n");
        assert_eq!(problems.len(), 1);
        assert_eq!(v.unwrap().a, 1);
    }

    #[test]
    fn syntax_errors_are_reported_with_every_problem_after_them() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            a: u32,
            list: Option<Vec<String>>,
            b: Option<u32>,
            c: Option<u32>,
        }
        // An unclosed array over two lines, a schema mistake, a second
        // syntax error, another schema mistake.
        let text = "a = 1\nlist = [\"x\", \"y\"\nb = 2\nc = \"three\"\nd = = 4\nbogus = 5\n";
        let (_, problems) = from_toml_all::<T>(Path::new("t.toml"), text);
        let lines: Vec<_> = problems.iter().map(|p| p.line).collect();
        assert_eq!(
            lines,
            [Some(3), Some(4), Some(5), Some(6)],
            "one problem per mistake, none repeated: {problems:?}"
        );
        assert!(problems[0].message.contains("comma"), "{problems:?}");
        assert!(problems[1].message.contains("invalid type"), "{problems:?}");
        assert!(
            problems[3].message.contains("unknown field"),
            "{problems:?}"
        );
    }

    #[test]
    fn empty_file_gives_defaults() {
        let cfg = parse(Path::new("t.toml"), "").unwrap();
        assert!(cfg.database_url.is_none());
    }
}
