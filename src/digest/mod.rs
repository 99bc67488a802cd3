//! The `digest` stage: per-client digests over cadence windows (time zones,
//! DST, quiet hours, the immediate override), rendered from `templates/`.
//!
//! Building and rendering are pure; `pipeline::route` reads events and
//! client state from the store, calls this module and stores the result.

mod build;
mod evidence;
mod filter;
mod group;
mod render;
mod sample;
pub mod window;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::Severity;

pub use build::{Change, Notes, before_after, build_digest, clean_line, digest_id, headline};
pub use evidence::{enrich, in_context};
pub use filter::Pattern;
pub use render::{Error, Rendered, Renderer, TEMPLATE_NAMES, validate_templates};
pub use sample::sample_digest;
pub use window::{Window, WindowKind, due_window, in_quiet_hours, latest_slot, quiet_until};

/// Default templates directory; built-in templates fill in missing files.
pub const DEFAULT_TEMPLATES_DIR: &str = "templates";
/// Events at or above this severity go out at once, whatever the cadence.
pub const DEFAULT_IMMEDIATE_SEVERITY: Severity = Severity::Critical;

/// `[digest]` section of `termwatch.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub templates_dir: PathBuf,
    /// Events at or above this severity are sent immediately, even to daily
    /// and weekly clients (outside their quiet hours).
    pub immediate_severity: Severity,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            templates_dir: PathBuf::from(DEFAULT_TEMPLATES_DIR),
            immediate_severity: DEFAULT_IMMEDIATE_SEVERITY,
        }
    }
}
