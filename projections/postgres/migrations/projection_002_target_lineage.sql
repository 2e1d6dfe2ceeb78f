-- TargetSet v2 and TargetsLocked v2 lineage: which split produced a target, who set it, and
-- whether an admin set it over a lock. Rows of v1 events keep NULL / false: they had none.
ALTER TABLE {schema}.targets
    ADD COLUMN decomposition_id uuid,
    ADD COLUMN set_by           text,
    ADD COLUMN override         boolean NOT NULL DEFAULT false;
ALTER TABLE {schema}.target_history
    ADD COLUMN decomposition_id uuid,
    ADD COLUMN set_by           text,
    ADD COLUMN override         boolean NOT NULL DEFAULT false;
-- A repeated split looks its earlier events up by decomposition id (idempotence).
CREATE INDEX ON {schema}.target_history (decomposition_id) WHERE decomposition_id IS NOT NULL;
ALTER TABLE {schema}.target_locks ADD COLUMN set_by text;
