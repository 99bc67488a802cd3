-- Items that a source's last fetched body had to skip for good, and why (a
-- page that could not be parsed, an absurd link): shown by `sources` beside
-- the source's own health.
ALTER TABLE source_state ADD COLUMN item_errors TEXT;
