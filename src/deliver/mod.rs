//! The `deliver` stage (being built; see the issue).

use serde::{Deserialize, Serialize};

/// `[deliver]` section of `termwatch.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}
