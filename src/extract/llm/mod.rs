//! Model-assisted extraction: `[extract] backend = "llm"` or `"both"` sends
//! an article to an OpenAI-compatible Chat Completions endpoint and keeps
//! only the changes whose evidence the article itself supports.
//!
//! The model is asked for the fields of [`TermChange`] that a reader can
//! quote (never the offsets or the confidence, which termwatch computes),
//! through a JSON schema generated from the same types, at temperature 0.
//! Every change it returns is checked in [`verify`]: its quote must be in
//! the article (after whitespace and quote-mark folding), its kind known,
//! its names in the article under one of their aliases, and its dates are
//! read by termwatch from the quote. Anything else is dropped and counted.
//!
//! The endpoint is one the operator configured (`[extract.llm] base_url`),
//! not a URL from a scraped page, so the collector's private-address guard
//! does not apply to it: a local Ollama or vLLM on loopback or on the LAN is
//! a normal setup. Scraped text only ever goes into the request body.
//!
//! # Layout
//!
//! - `schema`: the answer's shape and its JSON schema, derived from the model types.
//! - `prompt`: the system prompt (`templates/extract-llm.txt`) and its version.
//! - `chunk`: an article's text as requests, split on paragraph boundaries with overlap.
//! - `client`: one Chat Completions request; every failure in words.
//! - `limits`: requests per hour and tokens per day.
//! - `verify`: the evidence check.
//! - `merge`: chunks' answers into one list; `both` merged with the rules.

mod chunk;
mod client;
mod limits;
mod merge;
mod prompt;
mod schema;
mod verify;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use client::{Auth, Client, Failure};
pub use limits::{Budget, Used};
pub use merge::combine;
pub use prompt::{PROMPT_FILE, Prompt};
pub use verify::{Verified, verify};

use crate::model::Article;

/// Which extractor reads articles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The offline rules only (the default: no network, no model).
    #[default]
    Rules,
    /// The model only, its answers checked; the rules when it fails.
    Llm,
    /// Rules and model merged by change key.
    Both,
}

impl Backend {
    pub fn uses_model(self) -> bool {
        self != Backend::Rules
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Rules => "rules",
            Backend::Llm => "llm",
            Backend::Both => "both",
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Backend, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rules" => Ok(Backend::Rules),
            "llm" => Ok(Backend::Llm),
            "both" => Ok(Backend::Both),
            _ => Err(format!("unknown backend {s:?}; write rules, llm or both")),
        }
    }
}

/// Default seconds one request may take, answer included.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;
/// Default requests in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 2;
/// Default cap on requests per clock hour (UTC).
pub const DEFAULT_MAX_REQUESTS_PER_HOUR: u64 = 600;
/// Default cap on input plus output tokens per day (UTC).
pub const DEFAULT_MAX_TOKENS_PER_DAY: u64 = 2_000_000;
/// Default characters of article text per request; longer articles are
/// split. About 4,000 tokens: within every hosted model's context and a
/// local 8k-context model's too, with room for the prompt and the answer.
pub const DEFAULT_MAX_CHUNK_CHARS: usize = 16_000;

/// `[extract.llm]`: the model endpoint and its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `https://api.openai.com/v1`; termwatch appends `/chat/completions`.
    pub base_url: Option<String>,
    /// The model (or Azure deployment) name.
    pub model: Option<String>,
    /// `env:NAME` or `file:PATH`; optional for local servers. Never logged.
    pub api_key: Option<String>,
    /// How the key is sent: `bearer` (Authorization header) or `api-key` (Azure).
    pub auth: Auth,
    pub timeout_secs: u64,
    pub concurrency: usize,
    pub max_requests_per_hour: u64,
    pub max_tokens_per_day: u64,
    pub max_chunk_chars: usize,
    /// The system prompt; default `templates/extract-llm.txt`, else the built-in copy.
    pub prompt: Option<PathBuf>,
    /// A file of extra instructions appended to the system prompt.
    pub instructions: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            base_url: None,
            model: None,
            api_key: None,
            auth: Auth::default(),
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            concurrency: DEFAULT_CONCURRENCY,
            max_requests_per_hour: DEFAULT_MAX_REQUESTS_PER_HOUR,
            max_tokens_per_day: DEFAULT_MAX_TOKENS_PER_DAY,
            max_chunk_chars: DEFAULT_MAX_CHUNK_CHARS,
            prompt: None,
            instructions: None,
        }
    }
}

impl Config {
    /// What is wrong with the section for `backend`, each with what to write.
    /// Secrets are not read here (`check` resolves them unless told not to).
    pub fn problems(&self, backend: Backend) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(k) = &self.api_key
            && let Err(e) = crate::deliver::secrets::SecretRef::parse(k)
        {
            out.push(format!("[extract.llm] api_key: {e}"));
        }
        if !backend.uses_model() {
            return out;
        }
        match self.base_url.as_deref().map(url::Url::parse) {
            None => out.push(format!(
                "[extract] backend = \"{}\" needs [extract.llm] base_url, e.g. base_url = \"https://api.openai.com/v1\"",
                backend.as_str()
            )),
            Some(Ok(u)) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Some(_) => out.push(
                "[extract.llm] base_url is not an http(s) URL; write e.g. \"http://localhost:11434/v1\""
                    .to_string(),
            ),
        }
        if self.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
            out.push(
                "[extract.llm] model is not set; write the model or deployment name, e.g. model = \"gpt-4.1-mini\""
                    .to_string(),
            );
        }
        if !(1..=3600).contains(&self.timeout_secs) {
            out.push("[extract.llm] timeout_secs must be between 1 and 3600".to_string());
        }
        if !(1..=64).contains(&self.concurrency) {
            out.push("[extract.llm] concurrency must be between 1 and 64".to_string());
        }
        if self.max_chunk_chars < 2_000 {
            out.push(
                "[extract.llm] max_chunk_chars must be at least 2000 (one long paragraph)"
                    .to_string(),
            );
        }
        for (key, path) in [
            ("prompt", &self.prompt),
            ("instructions", &self.instructions),
        ] {
            if let Some(p) = path
                && let Err(e) = std::fs::read_to_string(p)
            {
                out.push(format!(
                    "[extract.llm] {key} = {:?} cannot be read: {e}; fix the path or remove the key",
                    p.display()
                ));
            }
        }
        out
    }
}

/// Whether an article goes to the model: only when the rules' trigger scan
/// finds a term word in it (most feed items state no term at all, and each
/// request costs money and time).
pub fn wants_model(article: &Article, config: &super::Config) -> bool {
    let engine = super::engine_for(config);
    let t = super::text::Text::new(super::capped(&article.text).0);
    let mut hits = Vec::new();
    engine.lex.scan(&t.lower, &mut hits);
    super::any_trigger(&hits) || {
        let title = super::text::Text::new(&article.title);
        hits.clear();
        engine.lex.scan(&title.lower, &mut hits);
        super::any_trigger(&hits)
    }
}

/// The model's raw answer for one article, every part's changes together,
/// as cached: verification runs again on every read, so a better check
/// applies to old answers too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub changes: Vec<serde_json::Value>,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A configured model endpoint with its prompt: asks about one article.
pub struct Extractor {
    client: Client,
    prompt: Prompt,
    max_chunk_chars: usize,
}

impl Extractor {
    /// The extractor for `[extract.llm]`, or what is wrong with it.
    pub fn new(config: &Config) -> Result<Extractor, String> {
        let problems = config.problems(Backend::Llm);
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(Extractor {
            client: Client::new(config)?,
            prompt: Prompt::load(config)?,
            max_chunk_chars: config.max_chunk_chars,
        })
    }

    /// The model name and prompt version: with the content hash, the cache key.
    pub fn model(&self) -> &str {
        self.client.model()
    }

    pub fn prompt_version(&self) -> &str {
        &self.prompt.version
    }

    /// Asks the model about every part of the article in turn; the first
    /// failure ends it (the caller falls back to the rules for the article).
    /// `used` counts what was spent even when a later part fails.
    pub async fn ask(
        &self,
        article: &Article,
        budget: &Budget,
        used: &mut Used,
    ) -> Result<Answer, Failure> {
        let parts = chunk::requests(article, self.max_chunk_chars);
        let mut answer = Answer::default();
        for part in &parts {
            budget.start()?;
            used.requests += 1;
            let reply = self.client.complete(&self.prompt.system, part).await;
            let reply = reply?;
            budget.spent(reply.input_tokens + reply.output_tokens);
            used.input_tokens += reply.input_tokens;
            used.output_tokens += reply.output_tokens;
            answer.changes.extend(schema::parse_answer(&reply.content)?);
        }
        answer.requests = used.requests;
        answer.input_tokens = used.input_tokens;
        answer.output_tokens = used.output_tokens;
        Ok(answer)
    }
}

/// Confidence of a change only the model reported, as a share of the rules'
/// base confidence for the source's trust: checked evidence, but no rule
/// agreed.
pub(crate) const MODEL_ONLY_FACTOR: f32 = 0.85;
