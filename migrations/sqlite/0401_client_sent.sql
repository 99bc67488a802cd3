-- Which version (fingerprint) of each event each client has been sent, so an
-- event sent early by the immediate override is not repeated in the regular
-- digest, and a changed event is marked "updated" rather than "new".
CREATE TABLE client_sent (
    client_id   TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    digest_id   TEXT NOT NULL,
    sent_at     INTEGER NOT NULL,
    PRIMARY KEY (client_id, event_id)
);
