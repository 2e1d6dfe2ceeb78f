-- A version whose replay has caught up with the log: the live workers keep it current
-- beside the active one until it is switched to (or retired). Guarded, so that the exclusive
-- lock of ALTER TABLE is taken once, not at every start of every worker.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = '{schema}.projection_versions'::regclass
          AND conname = 'projection_versions_status_check'
          AND pg_get_constraintdef(oid) LIKE '%ready%'
    ) THEN
        ALTER TABLE {schema}.projection_versions
            DROP CONSTRAINT IF EXISTS projection_versions_status_check;
        ALTER TABLE {schema}.projection_versions
            ADD CONSTRAINT projection_versions_status_check
            CHECK (status IN ('building', 'ready', 'active', 'retired'));
    END IF;
END
$$;
