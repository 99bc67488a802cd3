//! Extract step: run the extractor on every revision not yet extracted; store its changes.
