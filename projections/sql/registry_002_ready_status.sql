-- A version whose replay has caught up with the log: the live workers keep it current
-- beside the active one until it is switched to (or retired).
ALTER TABLE {registry}.projection_versions
    DROP CONSTRAINT IF EXISTS projection_versions_status_check;
ALTER TABLE {registry}.projection_versions
    ADD CONSTRAINT projection_versions_status_check
    CHECK (status IN ('building', 'ready', 'active', 'retired'));
