-- One schema per projection version. Text keys use the "C" collation so that ordering is
-- by code point, exactly as in the in-memory oracle (and btree comparisons are cheaper).

-- Exactly-once bookkeeping, written in the same transaction as the rows below.
CREATE TABLE {schema}.applied_offsets (
    partition  integer PRIMARY KEY,
    "offset"   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {schema}.applied_events (
    event_id uuid PRIMARY KEY
);

-- Additive per rep per org-local day; reached_at = max(occurred_at) of the contributions.
CREATE TABLE {schema}.metric_daily (
    metric     text COLLATE "C" NOT NULL,
    rep_id     text COLLATE "C" NOT NULL,
    day        date NOT NULL,
    value      numeric NOT NULL,
    reached_at timestamptz NOT NULL,
    PRIMARY KEY (metric, rep_id, day)
);
CREATE TABLE {schema}.activity_daily (
    rep_id  text COLLATE "C" NOT NULL,
    day     date NOT NULL,
    kind    text COLLATE "C" NOT NULL,
    subkind text COLLATE "C" NOT NULL,
    count   bigint NOT NULL,
    amount  numeric NOT NULL,
    PRIMARY KEY (rep_id, day, kind, subkind)
);

-- Last writer wins on (at, event_id).
CREATE TABLE {schema}.units (
    unit_id   text COLLATE "C" PRIMARY KEY,
    name      text NOT NULL,
    kind      text NOT NULL,
    parent_id text COLLATE "C",
    at        timestamptz NOT NULL,
    event_id  uuid NOT NULL
);
-- A set of changes; the membership on a day is resolved at query time.
CREATE TABLE {schema}.rep_memberships (
    rep_id   text COLLATE "C" NOT NULL,
    event_id uuid NOT NULL,
    at       timestamptz NOT NULL,
    day      date NOT NULL,
    unit_id  text COLLATE "C",
    name     text,
    PRIMARY KEY (rep_id, event_id)
);

CREATE TABLE {schema}.targets (
    scope    text COLLATE "C" NOT NULL,
    metric   text COLLATE "C" NOT NULL,
    period   text COLLATE "C" NOT NULL,
    value    numeric NOT NULL,
    at       timestamptz NOT NULL,
    event_id uuid NOT NULL,
    PRIMARY KEY (scope, metric, period)
);
CREATE TABLE {schema}.target_history (
    event_id uuid PRIMARY KEY,
    scope    text COLLATE "C" NOT NULL,
    metric   text COLLATE "C" NOT NULL,
    period   text COLLATE "C" NOT NULL,
    value    numeric NOT NULL,
    at       timestamptz NOT NULL
);
CREATE INDEX ON {schema}.target_history (scope, metric, period, at, event_id);
-- The first lock (by at, event_id) is kept.
CREATE TABLE {schema}.target_locks (
    scope    text COLLATE "C" NOT NULL,
    period   text COLLATE "C" NOT NULL,
    at       timestamptz NOT NULL,
    event_id uuid NOT NULL,
    PRIMARY KEY (scope, period)
);

-- Each field group carries the (at, event) stamp of the event that set it.
CREATE TABLE {schema}.opportunities (
    opportunity_id text COLLATE "C" PRIMARY KEY,
    rep_id         text COLLATE "C",
    rep_at         timestamptz,
    rep_event      uuid,
    account_id     text,
    product_line   text,
    expected_close date,
    created_at     timestamptz,
    info_at        timestamptz,
    info_event     uuid,
    stage          text,
    stage_at       timestamptz,
    stage_event    uuid,
    amount         numeric,
    amount_at      timestamptz,
    amount_event   uuid,
    outcome        text,
    reason         text,
    outcome_at     timestamptz,
    outcome_event  uuid
);
CREATE INDEX ON {schema}.opportunities (rep_id);
CREATE TABLE {schema}.stage_history (
    opportunity_id text COLLATE "C" NOT NULL,
    event_id       uuid NOT NULL,
    stage          text NOT NULL,
    entered_at     timestamptz NOT NULL,
    PRIMARY KEY (opportunity_id, event_id)
);

-- Announcements keyed by their source event_id; cheers one per rep per broadcast.
CREATE TABLE {schema}.deal_wins (
    event_id       uuid PRIMARY KEY,
    source         text NOT NULL,
    rep_id         text COLLATE "C" NOT NULL,
    amount         numeric NOT NULL,
    account_id     text,
    opportunity_id text,
    order_id       text,
    at             timestamptz NOT NULL,
    day            date NOT NULL
);
CREATE INDEX ON {schema}.deal_wins (at DESC, event_id DESC);
CREATE INDEX ON {schema}.deal_wins (rep_id, day);
CREATE TABLE {schema}.cheers (
    broadcast_id text COLLATE "C" NOT NULL,
    rep_id       text COLLATE "C" NOT NULL,
    at           timestamptz NOT NULL,
    event_id     uuid NOT NULL,
    PRIMARY KEY (broadcast_id, rep_id)
);
