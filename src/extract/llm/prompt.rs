//! The system prompt: `templates/extract-llm.txt` (an operator reads and
//! edits it there), plus an optional instructions file, and its version.
//!
//! The version is a hash of everything that shapes the answer (prompt,
//! instructions, schema): cached answers are keyed by it, so an edited
//! prompt makes `termwatch reextract` ask again instead of reusing answers
//! to the old one.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Config;

/// Where the system prompt is read from when `[extract.llm] prompt` is not set.
pub const PROMPT_FILE: &str = "templates/extract-llm.txt";

/// The built-in copy, used when the default file is not there (the binary
/// run from another directory, or in a container without `templates/`).
const BUILTIN: &str = include_str!("../../../templates/extract-llm.txt");

/// The system prompt as sent, with its version.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub system: String,
    pub version: String,
}

impl Prompt {
    pub fn load(config: &Config) -> Result<Prompt, String> {
        let base = match &config.prompt {
            Some(p) => read(p, "prompt")?,
            None => std::fs::read_to_string(PROMPT_FILE).unwrap_or_else(|_| BUILTIN.to_string()),
        };
        let mut system = base.trim_end().to_string();
        if let Some(p) = &config.instructions {
            let extra = read(p, "instructions")?;
            system.push_str("\n\n");
            system.push_str(extra.trim_end());
        }
        let mut h = Sha256::new();
        h.update(system.as_bytes());
        h.update([0u8]);
        h.update(super::schema::response_format().to_string().as_bytes());
        let version = hex::encode(&h.finalize()[..6]);
        Ok(Prompt { system, version })
    }
}

fn read(path: &PathBuf, key: &str) -> Result<String, String> {
    std::fs::read_to_string(Path::new(path)).map_err(|e| {
        format!(
            "[extract.llm] {key} = {:?} cannot be read: {e}; fix the path or remove the key",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_change_the_prompt_version() {
        let dir = tempfile::tempdir().unwrap();
        let extra = dir.path().join("extra.txt");
        std::fs::write(&extra, "Treat Corvid Cloud as a platform.").unwrap();
        let plain = Prompt::load(&Config::default()).unwrap();
        let with = Prompt::load(&Config {
            instructions: Some(extra),
            ..Config::default()
        })
        .unwrap();
        assert_ne!(plain.version, with.version);
        assert!(with.system.ends_with("Treat Corvid Cloud as a platform."));
    }
}
