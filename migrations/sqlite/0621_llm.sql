-- Model-assisted extraction ([extract] backend = "llm" | "both").

-- The model's raw answer per content, prompt version and model: a revision
-- is never sent twice; `reextract` after a prompt or model change asks again.
CREATE TABLE llm_answers (
    content_hash   TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    model          TEXT NOT NULL,
    answer         TEXT NOT NULL,
    at             INTEGER NOT NULL,
    PRIMARY KEY (content_hash, prompt_version, model)
);

-- What the endpoint cost, per clock hour (UTC); `usage` sums it per day.
CREATE TABLE llm_usage (
    hour          INTEGER PRIMARY KEY,
    requests      INTEGER NOT NULL DEFAULT 0,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    dropped       INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0
);

-- Revisions the model failed on (the rules stood in): asked again later.
CREATE TABLE llm_retries (
    revision_id INTEGER PRIMARY KEY REFERENCES revisions(id),
    source_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    failed_at   INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 1
);
