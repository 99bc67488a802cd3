//! One Chat Completions request to the configured endpoint, and every way
//! it can fail, in words an operator can act on.
//!
//! Each request is bounded by `timeout_secs` from connect to the last byte
//! of the answer, so a slow endpoint costs a pass at most that long per
//! request (and the pipeline stops asking after the first such failure).
//! The key goes in a header marked sensitive; errors carry no URL (reqwest
//! puts the URL in its messages, `without_url` takes it out) and never the
//! key or the reply's text.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Config;
use crate::deliver::secrets::{Secret, SecretRef};

/// How the API key is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// `Authorization: Bearer KEY` (OpenAI, Ollama, vLLM, llama.cpp, Bedrock, Gemini).
    #[default]
    Bearer,
    /// `api-key: KEY` (Azure OpenAI).
    ApiKey,
}

/// Why the model did not give a usable answer for an article. Display is
/// what `sources` and the logs show.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    #[error(
        "the model endpoint did not answer within {secs} s; raise [extract.llm] timeout_secs or check the server's load"
    )]
    Timeout { secs: u64 },
    #[error(
        "could not reach the model endpoint at {host}: {reason}; check [extract.llm] base_url and that the server is running"
    )]
    Connect { host: String, reason: String },
    #[error("the model endpoint is rate-limiting termwatch (HTTP 429){}", retry_words(*.retry_after_secs))]
    RateLimited { retry_after_secs: Option<i64> },
    #[error("the model endpoint failed (HTTP {status}); the article is retried at a later pass")]
    Server { status: u16 },
    #[error("the model endpoint refused the request (HTTP {status}){hint}")]
    Refused { status: u16, hint: &'static str },
    #[error("the model's reply is not the JSON asked for: {what}")]
    Malformed { what: String },
    #[error("the model's reply does not follow the schema: {what}")]
    Schema { what: String },
    #[error("the model declined to answer ({why})")]
    Refusal { why: String },
    #[error(
        "today's model token budget is spent ({used} of {max} tokens, [extract.llm] max_tokens_per_day); the rules stand in until tomorrow (UTC)"
    )]
    Budget { used: u64, max: u64 },
    #[error(
        "the hourly request limit is reached ({max} requests, [extract.llm] max_requests_per_hour); the rules stand in until the next hour"
    )]
    HourlyLimit { max: u64 },
    #[error("the API key could not be read: {0}")]
    Key(String),
    #[error("the model was not asked: it failed earlier in this pass ({0})")]
    Skipped(String),
}

fn retry_words(secs: Option<i64>) -> String {
    match secs {
        Some(s) => format!("; it asked to wait {s} s, the article is retried at a later pass"),
        None => "; the article is retried at a later pass".to_string(),
    }
}

impl Failure {
    /// Whether the endpoint itself is unwell or closed to us, so that asking
    /// about the pass's other articles would only wait or fail the same way.
    /// A bad reply about one article says nothing about the next.
    pub fn stops_the_pass(&self) -> bool {
        !matches!(
            self,
            Failure::Malformed { .. } | Failure::Schema { .. } | Failure::Refusal { .. }
        )
    }
}

/// What one completion returned.
#[derive(Debug, Clone)]
pub struct Completion {
    pub content: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A client for one configured endpoint.
pub struct Client {
    http: reqwest::Client,
    url: String,
    host: String,
    model: String,
    auth: Auth,
    key: Option<Result<Secret, String>>,
    timeout_secs: u64,
    response_format: serde_json::Value,
}

impl Client {
    /// Checked by `Config::problems` first: base_url and model are set.
    pub fn new(config: &Config) -> Result<Client, String> {
        let base = config.base_url.as_deref().unwrap_or_default();
        let parsed = url::Url::parse(base).map_err(|e| format!("[extract.llm] base_url: {e}"))?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .connect_timeout(Duration::from_secs(config.timeout_secs.min(10)))
            .user_agent(concat!("termwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("could not set up the HTTP client: {}", e.without_url()))?;
        // Resolved once; a missing variable fails each article in words
        // (and `check` reports it) rather than stopping the worker.
        let key = config.api_key.as_deref().map(|r| {
            SecretRef::parse(r)
                .and_then(|r| r.resolve())
                .map_err(|e| e.to_string())
        });
        Ok(Client {
            http,
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            host: parsed.host_str().unwrap_or_default().to_string(),
            model: config.model.clone().unwrap_or_default(),
            auth: config.auth,
            key,
            timeout_secs: config.timeout_secs,
            response_format: super::schema::response_format(),
        })
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// One request: the system prompt and one part of an article.
    pub async fn complete(&self, system: &str, user: &str) -> Result<Completion, Failure> {
        let body = serde_json::json!({
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "response_format": self.response_format,
        });
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(key) = &self.key {
            let key = key.as_ref().map_err(|e| Failure::Key(e.clone()))?;
            let (name, value) = match self.auth {
                Auth::Bearer => ("authorization", format!("Bearer {}", key.expose())),
                Auth::ApiKey => ("api-key", key.expose().to_string()),
            };
            let mut value = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|_| Failure::Key("it holds characters a header cannot carry".into()))?;
            value.set_sensitive(true);
            req = req.header(name, value);
        }
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(status_failure(status, resp.headers()));
        }
        let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
        read_completion(&bytes)
    }

    fn transport(&self, e: reqwest::Error) -> Failure {
        if e.is_timeout() {
            return Failure::Timeout {
                secs: self.timeout_secs,
            };
        }
        Failure::Connect {
            host: self.host.clone(),
            reason: crate::collect::fetch::root_cause(&e.without_url()),
        }
    }
}

fn status_failure(status: reqwest::StatusCode, headers: &reqwest::header::HeaderMap) -> Failure {
    let code = status.as_u16();
    match code {
        429 => Failure::RateLimited {
            retry_after_secs: headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::collect::fetch::parse_retry_after),
        },
        500..=599 => Failure::Server { status: code },
        401 | 403 => Failure::Refused {
            status: code,
            hint: "; check [extract.llm] api_key (and auth = \"api-key\" for Azure)",
        },
        404 => Failure::Refused {
            status: code,
            hint: "; check [extract.llm] base_url (termwatch appends /chat/completions) and model",
        },
        _ => Failure::Refused {
            status: code,
            hint: "; the server may not support structured output (response_format json_schema)",
        },
    }
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<Message>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// The answer's content from a Chat Completions reply body.
fn read_completion(bytes: &[u8]) -> Result<Completion, Failure> {
    let reply: Reply = serde_json::from_slice(bytes).map_err(|_| Failure::Malformed {
        what: "the reply body is not a Chat Completions object".into(),
    })?;
    let (input_tokens, output_tokens) = reply
        .usage
        .map_or((0, 0), |u| (u.prompt_tokens, u.completion_tokens));
    let Some(choice) = reply.choices.into_iter().next() else {
        return Err(Failure::Malformed {
            what: "the reply has no choices".into(),
        });
    };
    let message = choice.message.unwrap_or(Message {
        content: None,
        refusal: None,
    });
    if message.refusal.as_deref().is_some_and(|r| !r.is_empty()) {
        return Err(Failure::Refusal {
            why: "the reply carries a refusal".into(),
        });
    }
    match choice.finish_reason.as_deref() {
        Some("content_filter") => {
            return Err(Failure::Refusal {
                why: "the server's content filter stopped it".into(),
            });
        }
        Some("length") => {
            return Err(Failure::Malformed {
                what: "the answer was cut off at the output limit".into(),
            });
        }
        _ => {}
    }
    let content = message.content.unwrap_or_default();
    if content.trim().is_empty() {
        return Err(Failure::Malformed {
            what: "the answer is empty".into(),
        });
    }
    Ok(Completion {
        content,
        input_tokens,
        output_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_and_a_cut_answer_are_failures() {
        let refusal =
            br#"{"choices":[{"message":{"content":null,"refusal":"no"},"finish_reason":"stop"}]}"#;
        assert!(matches!(
            read_completion(refusal),
            Err(Failure::Refusal { .. })
        ));
        let cut = br#"{"choices":[{"message":{"content":"{\"cha"},"finish_reason":"length"}]}"#;
        assert!(matches!(
            read_completion(cut),
            Err(Failure::Malformed { .. })
        ));
        let ok = br#"{"choices":[{"message":{"content":"{}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":3}}"#;
        let c = read_completion(ok).unwrap();
        assert_eq!((c.input_tokens, c.output_tokens), (7, 3));
    }
}
