//! Secret references: `env:NAME` or `file:PATH`, resolved when needed, so a
//! secret is never stored in the database or the configuration file.
//!
//! [`Secret`] prints as `[redacted]` in Debug and Display so it cannot leak
//! into a log line or an error message by accident.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    #[error(
        "secret reference {0:?} is not understood; write env:NAME (an environment variable) or file:PATH (a file holding the secret)"
    )]
    Syntax(String),
    #[error(
        "environment variable {0} is not set; export it or point the reference at a file with file:PATH"
    )]
    MissingEnv(String),
    #[error("could not read the secret file {path}: {reason}; check the path and its permissions")]
    File { path: PathBuf, reason: String },
    #[error("the secret in {0} is empty; write the secret into it")]
    Empty(String),
}

/// Where a secret lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl SecretRef {
    pub fn parse(s: &str) -> Result<SecretRef, Error> {
        let s = s.trim();
        if let Some(name) = s.strip_prefix("env:")
            && !name.is_empty()
        {
            return Ok(SecretRef::Env(name.to_string()));
        }
        if let Some(path) = s.strip_prefix("file:")
            && !path.is_empty()
        {
            return Ok(SecretRef::File(PathBuf::from(path)));
        }
        Err(Error::Syntax(s.to_string()))
    }

    /// Reads the secret now; a file's trailing newline is dropped.
    pub fn resolve(&self) -> Result<Secret, Error> {
        let value = match self {
            SecretRef::Env(name) => {
                std::env::var(name).map_err(|_| Error::MissingEnv(name.clone()))?
            }
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map_err(|e| Error::File {
                    path: path.clone(),
                    reason: e.to_string(),
                })?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        };
        if value.is_empty() {
            return Err(Error::Empty(self.to_string()));
        }
        Ok(Secret(value))
    }
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

/// A secret value. Read it with [`Secret::expose`]; it never formats.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env_and_file() {
        assert_eq!(
            SecretRef::parse("env:HOOK_SECRET").unwrap(),
            SecretRef::Env("HOOK_SECRET".into())
        );
        assert_eq!(
            SecretRef::parse("file:/run/s").unwrap(),
            SecretRef::File("/run/s".into())
        );
        let err = SecretRef::parse("whsec_abc").unwrap_err().to_string();
        assert!(err.contains("env:NAME"), "{err}");
        assert!(SecretRef::parse("env:").is_err());
    }

    #[test]
    fn file_secret_drops_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, "hunter2\n").unwrap();
        let s = SecretRef::File(p).resolve().unwrap();
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn secret_never_formats() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
    }

    #[test]
    fn missing_env_names_the_variable() {
        let err = SecretRef::Env("TERMWATCH_TEST_UNSET_SECRET_VAR".into())
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(err.contains("TERMWATCH_TEST_UNSET_SECRET_VAR"), "{err}");
    }
}
