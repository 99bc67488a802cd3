-- Who holds a delivery's claim. Set with every claim and checked by every
-- mark and renewal, so a worker whose claim expired (and passed to another)
-- can neither overwrite the new holder's outcome nor turn a sent delivery
-- back to failed.
ALTER TABLE deliveries ADD COLUMN claim_token TEXT;
