//! The delivery outbox: claim, mark sent, retry with backoff, dead-letter.

#[allow(unused_imports)]
use super::Store;
