//! Route step: route changed events to clients and store the digests that are due.
