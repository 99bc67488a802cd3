-- Due dates as first given to a client: reminders, calendars and
-- acknowledgements need them to stay put while an event is updated.
CREATE TABLE action_dues (
    client_id TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    rule_id   TEXT NOT NULL,
    due       TEXT NOT NULL,
    PRIMARY KEY (client_id, event_id, rule_id)
);

-- Each version of an event a digest told, so an update can say what it
-- was before ("+15% from 15 Jan 2027 is now +20% from 1 Feb 2027").
CREATE TABLE sent_versions (
    event_id    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (event_id, fingerprint)
);
