-- What the correlate step last ran on (a fingerprint of the extracted
-- revisions, their term changes and the correlate config), so a pass with
-- nothing new skips re-reading every report. One row at most.
CREATE TABLE correlated_inputs (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    inputs TEXT NOT NULL
);
