//! Correlate step: turn stored term changes into events; record what changed.
