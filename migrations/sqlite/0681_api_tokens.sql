-- Bearer tokens for `termwatch serve`'s API. Only the SHA-256 of a token is
-- kept: the token itself is shown once, by `termwatch token create`.
CREATE TABLE api_tokens (
    name       TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    scope      TEXT NOT NULL,           -- read | review | admin
    created_at INTEGER NOT NULL
);

-- One feed token per client, for its Atom and iCalendar feeds; rotating it
-- replaces the row, so the old feed URL stops working at once.
CREATE TABLE feed_tokens (
    client_id  TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
