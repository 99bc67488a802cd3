//! The model half of the extract step (`[extract] backend = "llm" | "both"`):
//! the rules read every revision as always, then each revision in which
//! their trigger scan finds a term word is answered from the cache or sent
//! to the model, checked, and combined with the rules' reading.
//!
//! A revision is never sent twice: answers are cached by content hash,
//! prompt version and model. When the model fails on one, the rules' changes
//! stand for it, the failure is logged in words and the revision is marked
//! for a retry at a later pass (shown by `sources`). A failure of the
//! endpoint itself (timeout, refused connection, 429, 5xx, a spent budget)
//! stops asking for the rest of the pass, so a pass never waits on a slow
//! or closed endpoint longer than one timeout per request in flight.

use std::sync::{Arc, Mutex};

use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::extract::llm::{self, Answer, Backend, Budget, Extractor, Failure, Used};
use crate::model::{Article, Extraction};
use crate::store::llm::{AnswerKey, UsageDelta};
use crate::store::{self, Store};

/// Revisions retried per pass: enough to catch up after an outage within a
/// few passes without spending one pass's budget on old articles only.
const RETRIES_PER_PASS: i64 = 64;

/// The model step for one pass.
pub struct ModelStep {
    backend: Backend,
    config: Arc<crate::extract::Config>,
    extractor: Extractor,
    budget: Budget,
    /// Set by the first failure of the endpoint itself: why the pass stopped asking.
    stopped: Mutex<Option<String>>,
}

impl ModelStep {
    /// The step for `config`, or None: with `backend = "rules"`, or when
    /// `[extract.llm]` is unusable (logged; `termwatch check` says what to fix).
    pub async fn new(
        store: &Store,
        config: &crate::extract::Config,
        now: jiff::Timestamp,
    ) -> store::Result<Option<ModelStep>> {
        if !config.backend.uses_model() {
            return Ok(None);
        }
        let extractor = match Extractor::new(&config.llm) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(
                    "model extraction is off for this pass: {e}; the rules stand in (`termwatch check` lists what to fix)"
                );
                return Ok(None);
            }
        };
        let (requests, tokens) = store::llm::spent_now(store, now).await?;
        Ok(Some(ModelStep {
            backend: config.backend,
            budget: Budget::new(&config.llm, requests, tokens),
            config: Arc::new(config.clone()),
            extractor,
            stopped: Mutex::new(None),
        }))
    }

    /// Reads a batch of revisions with the rules, then with the model.
    pub async fn extract_batch(
        &self,
        store: &Store,
        revisions: Vec<(i64, Article)>,
        now: jiff::Timestamp,
    ) -> store::Result<Vec<(i64, Extraction)>> {
        let articles: Vec<Article> = revisions.iter().map(|(_, a)| a.clone()).collect();
        let config = self.config.clone();
        let rules = super::extract::extract_parallel(revisions, move |a| {
            crate::extract::extract(a, &config)
        })
        .await;
        futures_util::stream::iter(rules.into_iter().zip(articles))
            .map(|((id, rules), article)| self.one(store, id, article, rules, now))
            .buffered(self.config.llm.concurrency.max(1))
            .try_collect()
            .await
    }

    /// Revisions the model failed on in earlier passes, asked again; their
    /// stored changes are replaced by the new reading.
    pub async fn retry_due(
        &self,
        store: &Store,
        now: jiff::Timestamp,
    ) -> store::Result<Vec<(i64, Extraction)>> {
        if self.stopped().is_some() {
            return Ok(Vec::new());
        }
        let mut due = Vec::new();
        for (id, article) in store::llm::due_retries(store, now, RETRIES_PER_PASS).await? {
            // The trigger scan may no longer pick it (a newer rules release):
            // the rules' reading stands and nothing is left to retry.
            if llm::wants_model(&article, &self.config) {
                due.push((id, article));
            } else {
                store::llm::clear_retry(store, id).await?;
            }
        }
        if due.is_empty() {
            return Ok(Vec::new());
        }
        tracing::info!(
            revisions = due.len(),
            "asking the model again about revisions it failed on"
        );
        let batch = self.extract_batch(store, due, now).await?;
        store::changes::save_extractions(store, &batch, now).await?;
        Ok(batch)
    }

    async fn one(
        &self,
        store: &Store,
        id: i64,
        article: Article,
        rules: Extraction,
        now: jiff::Timestamp,
    ) -> store::Result<(i64, Extraction)> {
        if !llm::wants_model(&article, &self.config) {
            return Ok((id, rules));
        }
        let key = AnswerKey {
            content_hash: &article.content_hash,
            prompt_version: self.extractor.prompt_version(),
            model: self.extractor.model(),
        };
        let cached = store::llm::answer(store, key)
            .await?
            .and_then(|json| serde_json::from_str::<Answer>(&json).ok());
        let (answer, fresh) = match cached {
            Some(a) => (a, false),
            None => match self.ask(store, id, &article, now).await? {
                Some(a) => {
                    store::llm::save_answer(store, key, &serde_json::to_string(&a)?, now).await?;
                    (a, true)
                }
                None => return Ok((id, rules)),
            },
        };
        let verified = llm::verify(&article, &self.config, &answer.changes);
        if fresh {
            let d = verified.dropped_unverified as u64;
            store::llm::add_usage(
                store,
                now,
                UsageDelta {
                    requests: answer.requests,
                    input_tokens: answer.input_tokens,
                    output_tokens: answer.output_tokens,
                    dropped: d,
                    failures: 0,
                },
            )
            .await?;
            if d > 0 {
                tracing::info!(
                    url = %article.url,
                    dropped_unverified = d,
                    "model changes dropped: their evidence, kind or names are not in the article"
                );
            }
        }
        store::llm::clear_retry(store, id).await?;
        Ok((id, llm::combine(self.backend, rules, verified.changes)))
    }

    /// The model's answer, or None after logging the failure and marking the
    /// revision for a retry.
    async fn ask(
        &self,
        store: &Store,
        id: i64,
        article: &Article,
        now: jiff::Timestamp,
    ) -> store::Result<Option<Answer>> {
        let mut used = Used::default();
        let result = match self.stopped() {
            Some(why) => Err(Failure::Skipped(why)),
            None => self.extractor.ask(article, &self.budget, &mut used).await,
        };
        let failure = match result {
            Ok(a) => return Ok(Some(a)),
            Err(f) => f,
        };
        if failure.stops_the_pass() && !matches!(failure, Failure::Skipped(_)) {
            let mut s = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
            s.get_or_insert_with(|| failure.to_string());
        }
        tracing::warn!(
            source = %article.source_id,
            url = %article.url,
            "model extraction failed: {failure}; the rules' changes stand for this article until a retry"
        );
        store::llm::add_usage(
            store,
            now,
            UsageDelta {
                requests: used.requests,
                input_tokens: used.input_tokens,
                output_tokens: used.output_tokens,
                dropped: 0,
                failures: u64::from(!matches!(failure, Failure::Skipped(_))),
            },
        )
        .await?;
        store::llm::mark_retry(store, id, &article.source_id, &failure.to_string(), now).await?;
        Ok(None)
    }

    fn stopped(&self) -> Option<String> {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
