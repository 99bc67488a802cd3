//! Collect step: poll due sources, store new articles and revisions.
