-- no-transaction
-- Articles keyed by the SHA-256 of their link instead of the link itself, and
-- feed guids stored per source, so an item seen again under the same guid (a
-- later pass, a changed link) is the same article.
--
-- Links (up to 4 KiB) and guids (up to 2 KiB) are attacker-chosen text: a
-- unique index over them whole costs their whole length again per row, and a
-- short (64-bit) hash of attacker-chosen text can be collided on purpose to
-- make a hostile item pass for another source's article. A 32-byte SHA-256
-- cannot, and stays a fixed-size key.
--
-- SQLite cannot drop the old UNIQUE(url) in place, so `articles` is rebuilt
-- (SQLite's documented procedure: foreign keys off around an explicit
-- transaction, which is why this file opts out of the migrator's own). The
-- ids are kept, so revisions still point at their articles. SQLite has no
-- SHA-256 function: `url_hash` of the copied rows is filled in by
-- `Store::open` right after the migrations run (the index finds them, as
-- NULL). Every statement is safe to run twice, should the process stop
-- between this commit and the migrator recording it.
PRAGMA foreign_keys = OFF;
BEGIN;
DROP TABLE IF EXISTS articles_keyed;
CREATE TABLE articles_keyed (
    id         INTEGER PRIMARY KEY,
    -- Whole, at most 4 KiB (the collector skips longer links).
    url        TEXT NOT NULL,
    -- SHA-256 of `url`: the key.
    url_hash   BLOB UNIQUE,
    source_id  TEXT NOT NULL,
    first_seen INTEGER NOT NULL
);
INSERT INTO articles_keyed (id, url, source_id, first_seen)
    SELECT id, url, source_id, first_seen FROM articles;
DROP TABLE articles;
ALTER TABLE articles_keyed RENAME TO articles;

-- A feed's guid for an article, per source: the same guid in another source
-- is that source's business, not a claim on this article.
CREATE TABLE IF NOT EXISTS article_guids (
    source_id  TEXT NOT NULL,
    -- SHA-256 of `guid`: the key.
    guid_hash  BLOB NOT NULL,
    -- Whole, at most 2 KiB (the collector skips longer guids).
    guid       TEXT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    PRIMARY KEY (source_id, guid_hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS article_guids_article ON article_guids (article_id);
COMMIT;
PRAGMA foreign_keys = ON;
