-- The broadcast log: announcements (deal wins, milestones) stored once, numbered.
CREATE TABLE IF NOT EXISTS {schema}.broadcasts (
    seq          bigserial PRIMARY KEY,
    broadcast_id text COLLATE "C" NOT NULL UNIQUE,
    kind         text COLLATE "C" NOT NULL
                 CHECK (kind IN ('deal_won', 'milestone', 'leaderboard')),
    payload      jsonb NOT NULL,
    occurred_at  timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- The outbox column: the worker copies each announcement to the broadcasts topic after commit
-- and marks it; after a crash in between it is copied again (same key: consumers dedupe).
ALTER TABLE {schema}.broadcasts ADD COLUMN IF NOT EXISTS relayed_at timestamptz;
