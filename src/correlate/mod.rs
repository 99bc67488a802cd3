//! The `correlate` stage (being built; see the issue).

use serde::{Deserialize, Serialize};

/// `[correlate]` section of `termwatch.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}
