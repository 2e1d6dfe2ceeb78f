-- One event_id, one content: the fingerprint of the copy that was applied, so a copy with
-- other content (a resubmission with another rep or amount) is recognised, not counted, and
-- recorded here. Rows applied before this migration keep NULL (no conflict can be told).
ALTER TABLE {schema}.applied_events ADD COLUMN fingerprint bytea;
CREATE TABLE {schema}.event_conflicts (
    event_id     uuid        NOT NULL,
    fingerprint  bytea       NOT NULL,   -- the refused copy's
    kept         bytea,                  -- the applied copy's
    "partition"  integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, fingerprint)
);
