-- Possible changes the extractor could not complete (a strong trigger and a
-- name, but a slot missing): kept with the revision they were read from, for
-- review. `body` is the model's Signal; `at` is when the revision was extracted.
CREATE TABLE signals (
    id          INTEGER PRIMARY KEY,
    revision_id INTEGER NOT NULL REFERENCES revisions(id),
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX signals_revision ON signals (revision_id);
CREATE INDEX signals_at ON signals (at);
