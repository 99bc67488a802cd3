//! Term changes read from each revision, and which revisions still await extraction.

#[allow(unused_imports)]
use super::Store;
