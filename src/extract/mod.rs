//! The `extract` stage (being built; see the issue).

use serde::{Deserialize, Serialize};

/// `[extract]` section of `termwatch.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

/// Reads the term changes stated in one article.
pub fn extract(_article: &crate::model::Article, _config: &Config) -> crate::model::Extraction {
    crate::model::Extraction::default()
}
