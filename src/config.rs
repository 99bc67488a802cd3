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

/// Deserialises `text`, reporting every schema problem in it rather than
/// the first only: each problem's line is blanked and the text read again,
/// so a later mistake is found too. A TOML syntax error stops the search
/// (nothing past it can be read). The value read from the blanked text
/// comes back when there is one, so later checks can run on the rest.
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
        let Some(span) = err.span() else { break };
        if err.message().starts_with("missing field")
            || toml::from_str::<toml::Table>(&masked).is_err()
        {
            break;
        }
        let before = masked.clone();
        blanked.extend(blank_lines(&mut masked, span));
        if masked == before {
            // Nothing left to blank there (a header, an empty line): the
            // same error would come back.
            break;
        }
        err = match toml::from_str::<T>(&masked) {
            Ok(v) => return (Some(v), problems),
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
        if ours || toml::from_str::<toml::Table>(&masked).is_err() {
            break;
        }
        problems.push(Problem::from_toml(file, &masked, &err));
    }
    (None, problems)
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

#[derive(Debug, thiserror::Error)]
pub enum Error {
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
        .map_err(|e| Error::Env(e.to_string()))
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
    fn empty_file_gives_defaults() {
        let cfg = parse(Path::new("t.toml"), "").unwrap();
        assert!(cfg.database_url.is_none());
    }
}
