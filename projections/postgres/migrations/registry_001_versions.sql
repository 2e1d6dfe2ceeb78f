-- The projection versions: one row per KPI definitions version, at most one active.
CREATE TABLE IF NOT EXISTS {schema}.projection_versions (
    version      integer PRIMARY KEY,
    schema_name  text COLLATE "C" NOT NULL UNIQUE,
    status       text COLLATE "C" NOT NULL CHECK (status IN ('building', 'active', 'retired')),
    kpis_toml    text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS projection_versions_one_active
    ON {schema}.projection_versions ((true)) WHERE status = 'active';
