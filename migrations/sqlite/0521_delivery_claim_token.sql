-- Who holds a delivery's claim. Set with every claim and checked by every
-- mark and renewal, so a worker whose claim expired (and passed to another)
-- can neither overwrite the new holder's outcome nor turn a sent delivery
-- back to failed.
ALTER TABLE deliveries ADD COLUMN claim_token TEXT;

-- Webhook URLs can be bearer secrets (Slack, Teams) and are no longer stored:
-- new rows hold a reference resolved from the client profile at send time.
-- Rows an earlier termwatch already sent keep only the URL's origin; rows
-- still to send keep their URL until then.
UPDATE deliveries
SET target = 'profile-webhook:- ' || CASE
        WHEN instr(substr(target, 9), '/') > 0
            THEN substr(target, 1, 7 + instr(substr(target, 9), '/'))
        ELSE target
    END
WHERE channel = 'webhook' AND status = 'sent' AND target NOT LIKE 'profile-webhook:%';
