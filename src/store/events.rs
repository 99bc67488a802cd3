//! Correlated events and their history.

#[allow(unused_imports)]
use super::Store;
