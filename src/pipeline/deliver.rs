//! Deliver step: send pending deliveries from the outbox.
