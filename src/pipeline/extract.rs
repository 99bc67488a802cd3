//! Extract step: run the extractor on every revision not yet extracted; store its changes.
//!
//! One transaction per revision, so a crash loses at most the revision in
//! hand and the next pass picks it up again.

use crate::model::Extraction;
use crate::store::{self, Store};

/// What one extract pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extracted {
    pub revisions: usize,
    pub changes: usize,
    pub denials: usize,
}

/// Extracts every pending revision with the real extractor.
pub async fn run(
    store: &Store,
    config: &crate::extract::Config,
    now: jiff::Timestamp,
) -> store::Result<Extracted> {
    run_with(store, now, |article| {
        crate::extract::extract(article, config)
    })
    .await
}

/// Extracts every pending revision with `extract`. Tests pass their own
/// extractor here to feed hand-made term changes through the real store.
pub async fn run_with(
    store: &Store,
    now: jiff::Timestamp,
    extract: impl Fn(&crate::model::Article) -> Extraction,
) -> store::Result<Extracted> {
    let mut out = Extracted::default();
    for (revision_id, article) in store::changes::pending_extraction(store).await? {
        let extraction = extract(&article);
        store::changes::save_extraction(store, revision_id, &extraction, now).await?;
        tracing::debug!(url = %article.url, revision_id, changes = extraction.changes.len(), "extracted");
        out.revisions += 1;
        out.changes += extraction.changes.len();
        out.denials += extraction.denials.len();
    }
    Ok(out)
}
