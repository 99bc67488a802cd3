//! Digests and the client bookkeeping of cadence windows; a digest and its deliveries are written in one transaction.

#[allow(unused_imports)]
use super::Store;
