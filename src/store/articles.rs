//! Sources' polling state, articles and their revisions.

#[allow(unused_imports)]
use super::Store;
