-- Orders, payments and opportunities as sets of facts (projections/model/entities.py), and the
-- credited metric rows each entity adds, recomputed from all of its facts and replaced whole.
-- Metric reads add entity_credits to metric_daily (which keeps the per-event metrics).
-- A version built before this migration keeps its earlier order/payment/win sums in
-- metric_daily, where corrections cannot reach them: replay it to correct those.
CREATE TABLE {schema}.entity_facts (
    kind       text COLLATE "C" NOT NULL,
    entity_id  text COLLATE "C" NOT NULL,
    event_id   uuid NOT NULL,
    at         timestamptz NOT NULL,
    day        date NOT NULL,
    fact       text NOT NULL,
    rep_id     text COLLATE "C" NOT NULL,
    amount     numeric,
    currency   text,
    account_id text,
    ref_id     text,
    text       text,
    shares     text,  -- CreditAssigned: JSON [[rep_id, "share"], ...]
    PRIMARY KEY (kind, entity_id, event_id)
);
CREATE TABLE {schema}.entity_credits (
    kind       text COLLATE "C" NOT NULL,
    entity_id  text COLLATE "C" NOT NULL,
    metric     text COLLATE "C" NOT NULL,
    rep_id     text COLLATE "C" NOT NULL,
    day        date NOT NULL,
    value      numeric NOT NULL,
    reached_at timestamptz NOT NULL,
    PRIMARY KEY (kind, entity_id, metric, rep_id, day)
);
CREATE INDEX ON {schema}.entity_credits (metric, rep_id, day);
-- Who created a deal: a duplicate deal (撞单) is one account with open deals of two reps.
ALTER TABLE {schema}.opportunities ADD COLUMN created_by text;
CREATE INDEX ON {schema}.opportunities (account_id);
