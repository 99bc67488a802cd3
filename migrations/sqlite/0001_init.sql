-- The whole schema at first release. Append-only: change it with a new file.
-- Times are Unix seconds (UTC). JSON columns hold the serde form of the
-- model types, so a stage's output is stored exactly as it was produced.

-- Per-source polling state and health.
CREATE TABLE source_state (
    source_id            TEXT PRIMARY KEY,
    etag                 TEXT,
    last_modified        TEXT,
    last_attempt         INTEGER,
    last_success         INTEGER,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_due             INTEGER,
    -- Set by 429/503 Retry-After or backoff: nothing is fetched before it.
    retry_after          INTEGER
);

-- One row per canonical URL.
CREATE TABLE articles (
    id         INTEGER PRIMARY KEY,
    url        TEXT NOT NULL UNIQUE,
    source_id  TEXT NOT NULL,
    first_seen INTEGER NOT NULL
);

-- Every distinct content of an article, kept forever: legal users need the
-- text as it stood when they were told.
CREATE TABLE revisions (
    id           INTEGER PRIMARY KEY,
    article_id   INTEGER NOT NULL REFERENCES articles(id),
    content_hash TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    title        TEXT NOT NULL,
    published    INTEGER,
    author       TEXT,
    text         TEXT NOT NULL,
    fetched_at   INTEGER NOT NULL,
    trust        TEXT NOT NULL,
    organisation TEXT,
    -- NULL until the extract stage has run on this revision.
    extracted_at INTEGER,
    UNIQUE (article_id, content_hash)
);
CREATE INDEX revisions_pending_extract ON revisions (id) WHERE extracted_at IS NULL;

-- Term changes (and denials) read from one revision.
CREATE TABLE term_changes (
    id          INTEGER PRIMARY KEY,
    revision_id INTEGER NOT NULL REFERENCES revisions(id),
    denial      INTEGER NOT NULL DEFAULT 0,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX term_changes_revision ON term_changes (revision_id);

-- Correlated events; `body` is the model's Event.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    -- Hash of what a client sees; a new value means the event changed.
    fingerprint TEXT NOT NULL,
    first_seen  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- What changed in an event and when.
CREATE TABLE event_history (
    id       INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    at       INTEGER NOT NULL,
    what     TEXT NOT NULL
);
CREATE INDEX event_history_event ON event_history (event_id);

-- Per-client digest bookkeeping: the end of the last window sent.
CREATE TABLE client_state (
    client_id       TEXT PRIMARY KEY,
    last_window_end INTEGER
);

-- Rendered digests, stored before delivery so a resend is byte-identical.
CREATE TABLE digests (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    subject      TEXT NOT NULL,
    html         TEXT NOT NULL,
    text         TEXT NOT NULL,
    json         TEXT NOT NULL
);

-- The transactional outbox: one row per digest and destination, inserted in
-- the same transaction as the digest.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    digest_id       TEXT NOT NULL REFERENCES digests(id),
    client_id       TEXT NOT NULL,
    channel         TEXT NOT NULL,          -- 'email' | 'webhook'
    target          TEXT NOT NULL,          -- addresses (comma-separated) or URL
    format          TEXT,                   -- webhook: standard | slack | teams
    secret_ref      TEXT,                   -- webhook: env:NAME or file:PATH, never the secret
    status          TEXT NOT NULL DEFAULT 'pending', -- pending | sent | failed | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    last_error      TEXT,
    sent_at         INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
