"""SQL of the PostgreSQL store as named constants; `{s}` is the projection version's schema."""

from __future__ import annotations

# -- exactly-once bookkeeping ---------------------------------------------------------------
LOCK_OFFSETS = """
SELECT partition, "offset" FROM {s}.applied_offsets WHERE partition = ANY(%b::int[]) FOR UPDATE
"""
SELECT_OFFSETS = 'SELECT partition, "offset" FROM {s}.applied_offsets ORDER BY partition'
UPSERT_OFFSETS = """
INSERT INTO {s}.applied_offsets AS a (partition, "offset")
SELECT * FROM unnest(%b::int[], %b::bigint[])
ON CONFLICT (partition) DO UPDATE
SET "offset" = GREATEST(a."offset", EXCLUDED."offset"), updated_at = now()
"""
# Inserts the batch's event ids and returns those that were there already (applied before).
CLAIM_EVENTS = """
WITH batch AS (SELECT * FROM unnest(%b::uuid[], %b::bytea[]) AS b (event_id, fingerprint)),
claimed AS (
    INSERT INTO {s}.applied_events (event_id, fingerprint) SELECT event_id, fingerprint FROM batch
    ON CONFLICT DO NOTHING RETURNING event_id),
before AS (SELECT event_id FROM batch EXCEPT SELECT event_id FROM claimed)
SELECT before.event_id, a.fingerprint FROM before
LEFT JOIN {s}.applied_events AS a USING (event_id)
"""
# The ids applied before this batch, with the fingerprint of the copy that was applied. The
# ids come from the INSERT (which waits for a concurrent claimer's commit); the fingerprint
# comes from the statement's snapshot, so it is NULL for a row a concurrent transaction
# (a rebalance zombie) just committed: then no conflict can be told, and none is recorded.
INSERT_CONFLICTS = """
INSERT INTO {s}.event_conflicts (event_id, fingerprint, kept, "partition", "offset")
SELECT * FROM unnest(%b::uuid[], %b::bytea[], %b::bytea[], %b::int[], %b::bigint[])
ON CONFLICT DO NOTHING
"""
SELECT_FINGERPRINTS = """
SELECT event_id, fingerprint FROM {s}.applied_events WHERE event_id = ANY(%s::uuid[])
"""
NOTIFY = "SELECT pg_notify(%s, %s)"

# Write parameters travel in binary (%b): dumping big arrays as text costs several times more.

# -- set-based upserts; each ON CONFLICT clause is the merge rule of projections.model.aggregate --
UPSERT_METRICS = """
INSERT INTO {s}.metric_daily AS m (metric, rep_id, day, value, reached_at)
SELECT * FROM unnest(%b::text[], %b::text[], %b::date[], %b::numeric[], %b::timestamptz[])
ON CONFLICT (metric, rep_id, day) DO UPDATE
SET value = m.value + EXCLUDED.value, reached_at = GREATEST(m.reached_at, EXCLUDED.reached_at)
"""
UPSERT_ACTIVITIES = """
INSERT INTO {s}.activity_daily AS a (rep_id, day, kind, subkind, count, amount)
SELECT * FROM unnest(%b::text[], %b::date[], %b::text[], %b::text[], %b::bigint[], %b::numeric[])
ON CONFLICT (rep_id, day, kind, subkind) DO UPDATE
SET count = a.count + EXCLUDED.count, amount = a.amount + EXCLUDED.amount
"""
UPSERT_UNITS = """
INSERT INTO {s}.units AS u (unit_id, name, kind, parent_id, at, event_id)
SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::uuid[])
ON CONFLICT (unit_id) DO UPDATE
SET name = EXCLUDED.name, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id,
    at = EXCLUDED.at, event_id = EXCLUDED.event_id
WHERE (EXCLUDED.at, EXCLUDED.event_id) > (u.at, u.event_id)
"""
INSERT_MEMBERSHIPS = """
INSERT INTO {s}.rep_memberships (rep_id, event_id, at, day, unit_id, name)
SELECT * FROM unnest(%b::text[], %b::uuid[], %b::timestamptz[], %b::date[], %b::text[], %b::text[])
ON CONFLICT DO NOTHING
"""
_TARGET_COLUMNS = "scope, metric, period, value, at, event_id, decomposition_id, set_by, override"
_TARGET_ARRAYS = """
SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::numeric[], %b::timestamptz[],
                     %b::uuid[], %b::uuid[], %b::text[], %b::boolean[])"""
UPSERT_TARGETS = f"""
INSERT INTO {{s}}.targets AS t ({_TARGET_COLUMNS}){_TARGET_ARRAYS}
ON CONFLICT (scope, metric, period) DO UPDATE
SET value = EXCLUDED.value, at = EXCLUDED.at, event_id = EXCLUDED.event_id,
    decomposition_id = EXCLUDED.decomposition_id, set_by = EXCLUDED.set_by,
    override = EXCLUDED.override
WHERE (EXCLUDED.at, EXCLUDED.event_id) > (t.at, t.event_id)
"""
INSERT_TARGET_HISTORY = f"""
INSERT INTO {{s}}.target_history ({_TARGET_COLUMNS}){_TARGET_ARRAYS}
ON CONFLICT DO NOTHING
"""
UPSERT_LOCKS = """
INSERT INTO {s}.target_locks AS l (scope, period, at, event_id, set_by)
SELECT * FROM unnest(%b::text[], %b::text[], %b::timestamptz[], %b::uuid[], %b::text[])
ON CONFLICT (scope, period) DO UPDATE
SET at = EXCLUDED.at, event_id = EXCLUDED.event_id, set_by = EXCLUDED.set_by
WHERE (EXCLUDED.at, EXCLUDED.event_id) < (l.at, l.event_id)
"""
INSERT_STAGES = """
INSERT INTO {s}.stage_history (opportunity_id, event_id, stage, entered_at)
SELECT * FROM unnest(%b::text[], %b::uuid[], %b::text[], %b::timestamptz[])
ON CONFLICT DO NOTHING
"""
INSERT_WINS = """
INSERT INTO {s}.deal_wins
    (event_id, source, rep_id, amount, account_id, opportunity_id, order_id, at, day)
SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::numeric[], %b::text[], %b::text[],
                     %b::text[], %b::timestamptz[], %b::date[])
ON CONFLICT DO NOTHING
"""
UPSERT_CHEERS = """
INSERT INTO {s}.cheers AS c (broadcast_id, rep_id, event_id, at)
SELECT * FROM unnest(%b::text[], %b::text[], %b::uuid[], %b::timestamptz[])
ON CONFLICT (broadcast_id, rep_id) DO UPDATE SET at = EXCLUDED.at, event_id = EXCLUDED.event_id
WHERE (EXCLUDED.at, EXCLUDED.event_id) < (c.at, c.event_id)
"""

# -- entities: facts, and their credited rows replaced whole ------------------------------------
# Workers of different partitions may touch one entity (an order and its cancellation keyed by
# different reps): each takes the entities' locks, in key order, before reading their facts,
# so the second reads the first's committed facts and computes from all of them.
LOCK_ENTITIES = """
SELECT pg_advisory_xact_lock(hashtextextended(%s || k.kind || ':' || k.entity_id, 0))
FROM unnest(%b::text[], %b::text[]) AS k(kind, entity_id)
"""
SELECT_FACTS = """
SELECT f.kind, f.entity_id, f.event_id, f.at, f.day, f.fact, f.rep_id, f.amount, f.currency,
       f.account_id, f.ref_id, f.text, f.shares
FROM {s}.entity_facts f JOIN unnest(%b::text[], %b::text[]) AS k(kind, entity_id)
  ON f.kind = k.kind AND f.entity_id = k.entity_id
"""
INSERT_FACTS = """
INSERT INTO {s}.entity_facts
    (kind, entity_id, event_id, at, day, fact, rep_id, amount, currency, account_id, ref_id,
     text, shares)
SELECT * FROM unnest(%b::text[], %b::text[], %b::uuid[], %b::timestamptz[], %b::date[],
                     %b::text[], %b::text[], %b::numeric[], %b::text[], %b::text[], %b::text[],
                     %b::text[], %b::text[])
ON CONFLICT DO NOTHING
"""
DELETE_CREDITS = """
DELETE FROM {s}.entity_credits c USING unnest(%b::text[], %b::text[]) AS k(kind, entity_id)
WHERE c.kind = k.kind AND c.entity_id = k.entity_id
"""
INSERT_CREDITS = """
INSERT INTO {s}.entity_credits (kind, entity_id, metric, rep_id, day, value, reached_at)
SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::date[], %b::numeric[],
                     %b::timestamptz[])
"""

# Opportunity field groups: each is replaced only by a newer (at, event) stamp.
OPPORTUNITY_GROUPS: dict[str, tuple[str, ...]] = {
    "rep": ("rep_id",),
    "info": ("account_id", "product_line", "expected_close", "created_at", "created_by"),
    "stage": ("stage",),
    "amount": ("amount",),
    "outcome": ("outcome", "reason"),
}
_OPP_TYPES = {
    "rep_id": "text",
    "account_id": "text",
    "product_line": "text",
    "expected_close": "date",
    "created_at": "timestamptz",
    "created_by": "text",
    "stage": "text",
    "amount": "numeric",
    "outcome": "text",
    "reason": "text",
}
OPPORTUNITY_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    *(c for g, cols in OPPORTUNITY_GROUPS.items() for c in (*cols, f"{g}_at", f"{g}_event")),
)


def _opportunity_upsert() -> str:
    types = {"opportunity_id": "text"} | _OPP_TYPES
    types |= {f"{g}_at": "timestamptz" for g in OPPORTUNITY_GROUPS}
    types |= {f"{g}_event": "uuid" for g in OPPORTUNITY_GROUPS}
    sets = []
    for g, cols in OPPORTUNITY_GROUPS.items():
        newer = (
            f"EXCLUDED.{g}_at IS NOT NULL AND (o.{g}_at IS NULL OR "
            f"(EXCLUDED.{g}_at, EXCLUDED.{g}_event) > (o.{g}_at, o.{g}_event))"
        )
        for c in (*cols, f"{g}_at", f"{g}_event"):
            sets.append(f"{c} = CASE WHEN {newer} THEN EXCLUDED.{c} ELSE o.{c} END")
    arrays = ", ".join(f"%b::{types[c]}[]" for c in OPPORTUNITY_COLUMNS)
    return (
        f"INSERT INTO {{s}}.opportunities AS o ({', '.join(OPPORTUNITY_COLUMNS)})\n"
        f"SELECT * FROM unnest({arrays})\n"
        f"ON CONFLICT (opportunity_id) DO UPDATE SET\n" + ",\n".join(sets)
    )


UPSERT_OPPORTUNITIES = _opportunity_upsert()

# -- reads ----------------------------------------------------------------------------------
SPANS = "unnest(%s::text[], %s::date[], %s::date[]) AS iv(rep_id, d0, d1)"
SELECT_UNITS = "SELECT unit_id, name, kind, parent_id FROM {s}.units ORDER BY unit_id"
SELECT_MEMBERSHIPS = """
SELECT rep_id, event_id, at, day, unit_id, name FROM {s}.rep_memberships
ORDER BY rep_id, day, at, event_id
"""
# Per-event sums and the entities' credited rows, read as one set of cells.
_METRIC_CELLS = """(
    SELECT metric, rep_id, day, value, reached_at FROM {s}.metric_daily
    UNION ALL
    SELECT metric, rep_id, day, value, reached_at FROM {s}.entity_credits)"""
SELECT_METRIC_TOTALS = f"""
SELECT m.metric, m.rep_id, sum(m.value), max(m.reached_at)
FROM {_METRIC_CELLS} m JOIN {SPANS}
  ON m.rep_id = iv.rep_id AND m.day >= iv.d0 AND m.day < iv.d1
WHERE m.metric = ANY(%s::text[])
GROUP BY m.metric, m.rep_id ORDER BY m.metric, m.rep_id
"""
SELECT_METRIC_DAYS = f"""
SELECT m.metric, m.rep_id, m.day, sum(m.value), max(m.reached_at)
FROM {_METRIC_CELLS} m JOIN {SPANS}
  ON m.rep_id = iv.rep_id AND m.day >= iv.d0 AND m.day < iv.d1
WHERE m.metric = ANY(%s::text[])
GROUP BY m.metric, m.rep_id, m.day
ORDER BY m.metric, m.rep_id, m.day
"""
SELECT_ACTIVITY_TOTALS = f"""
SELECT a.rep_id, a.kind, a.subkind, sum(a.count)::bigint, sum(a.amount)
FROM {{s}}.activity_daily a JOIN {SPANS}
  ON a.rep_id = iv.rep_id AND a.day >= iv.d0 AND a.day < iv.d1
GROUP BY a.rep_id, a.kind, a.subkind ORDER BY a.rep_id, a.kind, a.subkind
"""
# The current target: the latest TargetSet by (at, event_id) that its (scope, period)'s lock
# does not refuse (projections.model.lockrule): derived from the history and the locks, so
# the answer does not depend on which of the two the worker applied first.
SELECT_TARGETS = f"""
SELECT DISTINCT ON (h.scope, h.metric, h.period)
    h.{_TARGET_COLUMNS.replace(", ", ", h.")}
FROM {{s}}.target_history AS h
LEFT JOIN {{s}}.target_locks AS l ON l.scope = h.scope AND l.period = h.period
WHERE (%(scope)s::text IS NULL OR h.scope = %(scope)s)
  AND (%(period)s::text IS NULL OR h.period = %(period)s)
  AND (%(metric)s::text IS NULL OR h.metric = %(metric)s)
  AND (h.override OR l.scope IS NULL OR (h.at, h.event_id) < (l.at, l.event_id))
ORDER BY h.scope, h.metric, h.period, h.at DESC, h.event_id DESC
"""
SELECT_TARGET_HISTORY = f"""
SELECT {_TARGET_COLUMNS} FROM {{s}}.target_history
WHERE scope = %s AND metric = %s AND period = %s ORDER BY at, event_id
"""
SELECT_DECOMPOSITION = f"""
SELECT {_TARGET_COLUMNS} FROM {{s}}.target_history
WHERE decomposition_id = %s ORDER BY at, event_id
"""
SELECT_LOCKS = """
SELECT scope, period, at, event_id, set_by FROM {s}.target_locks ORDER BY scope, period
"""
SELECT_OPPORTUNITIES = f"""
SELECT {", ".join(OPPORTUNITY_COLUMNS)} FROM {{s}}.opportunities
WHERE %(reps)s::text[] IS NULL OR rep_id = ANY(%(reps)s::text[])
ORDER BY opportunity_id
"""
SELECT_STAGES = """
SELECT h.opportunity_id, h.event_id, h.stage, h.entered_at
FROM {s}.stage_history h JOIN {s}.opportunities o USING (opportunity_id)
WHERE %(reps)s::text[] IS NULL OR o.rep_id = ANY(%(reps)s::text[])
"""
SELECT_DEAL_WINS = """
SELECT w.event_id, w.source, w.rep_id, w.amount, w.account_id, w.opportunity_id, w.order_id,
       w.at, w.day, (SELECT count(*) FROM {s}.cheers c WHERE c.broadcast_id = w.event_id::text)
FROM {s}.deal_wins w
WHERE (%(rep)s::text IS NULL OR w.rep_id = %(rep)s)
  AND (%(start)s::date IS NULL OR w.day >= %(start)s)
  AND (%(end)s::date IS NULL OR w.day < %(end)s)
ORDER BY w.at DESC, w.event_id DESC
LIMIT %(limit)s
"""
SELECT_FACT_TYPES = """
SELECT entity_id, array_agg(DISTINCT fact ORDER BY fact) FROM {s}.entity_facts
WHERE kind = %s AND entity_id = ANY(%s::text[]) GROUP BY entity_id
"""
SELECT_CHEERERS = "SELECT rep_id FROM {s}.cheers WHERE broadcast_id = %s ORDER BY rep_id"
