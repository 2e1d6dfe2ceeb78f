"""Property: the projection depends on the set of events, not their arrival order or repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.memory.oracle import build_oracle
from projections.memory.projection import InMemoryProjection
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis, parse_kpis
from schemas.events import AnyEvent
from tests.support.builders import Events

CTX = FoldContext(default_kpis(), fx_rates={"EUR": Decimal("1.0833")})
_CLAWBACK = default_kpis().source.replace("version = 1", 'version = 2\ncorrections = "clawback"')
CONTEXTS = (CTX, FoldContext(parse_kpis(_CLAWBACK), fx_rates={"EUR": Decimal("1.0833")}))
REPS = ("r1", "r2")
OPPS = ("o1", "o2")
ORDERS = ("k1", "k2")  # shared order ids: a second OrderSigned of one is an amendment
PAYMENTS = ("p1", "p2")
# Few distinct instants, so that equal timestamps (ties broken by event_id) are common.
INSTANTS = [
    datetime(2026, 11, 1, 9, tzinfo=UTC) + timedelta(days=d, hours=h)
    for d in (0, 15, 29)
    for h in (0, 14)
]

rep = st.sampled_from(REPS)
at = st.sampled_from(INSTANTS)
amount = st.decimals(min_value=0, max_value=10_000, places=2)
stage = st.sampled_from(["prospecting", "qualification", "proposal", "negotiation"])
unit = st.sampled_from(["t1", "t2"])

SPECS: st.SearchStrategy[tuple[Any, ...]] = st.one_of(
    st.tuples(st.just("visit"), rep, at, st.booleans(), st.booleans()),
    st.tuples(st.just("call"), rep, at, st.sampled_from(["connected", "no_answer", "voicemail"])),
    st.tuples(st.just("order"), rep, at, amount, st.sampled_from(["USD", "EUR"])),
    st.tuples(st.just("transfer"), rep, at, unit),
    st.tuples(st.just("leave"), rep, at),
    st.tuples(st.just("target"), st.sampled_from(["rep:r1", "unit:t1"]), at, amount),
    st.tuples(st.just("created"), rep, at, st.sampled_from(OPPS), amount, stage),
    st.tuples(st.just("stage"), rep, at, st.sampled_from(OPPS), stage, st.none() | amount),
    st.tuples(st.just("won"), rep, at, st.sampled_from(OPPS), amount),
    st.tuples(st.just("lost"), rep, at, st.sampled_from(OPPS)),
    st.tuples(st.just("cheer"), rep, at, st.sampled_from(["b1", "b2"])),
    st.tuples(st.just("unit"), unit, at),
    # Corrections, often of entities whose facts are elsewhere in the shuffled history.
    st.tuples(
        st.just("signed"), rep, at, st.sampled_from(ORDERS), amount, st.sampled_from(["USD", "EUR"])
    ),
    st.tuples(st.just("amend"), rep, at, st.sampled_from(ORDERS), amount),
    st.tuples(st.just("cancel"), rep, at, st.sampled_from(ORDERS)),
    st.tuples(st.just("paid"), rep, at, st.sampled_from(PAYMENTS), amount),
    st.tuples(st.just("reverse"), rep, at, st.sampled_from(PAYMENTS), st.none() | amount),
    st.tuples(st.just("reopen"), rep, at, st.sampled_from(OPPS), stage),
    st.tuples(
        st.just("credit"),
        rep,
        at,
        st.sampled_from([("order_id", o) for o in ORDERS] + [("opp", o) for o in OPPS]),
        st.sampled_from(
            [{"r1": "1"}, {"r2": "1"}, {"r1": "0.5", "r2": "0.5"}, {"r1": "0.3333", "r2": "0.6667"}]
        ),
    ),
)


def build(specs: list[tuple[Any, ...]]) -> list[AnyEvent]:
    e = Events()
    events = [e.unit("c", "company", None), e.unit("t1", "team", "c"), e.unit("t2", "team", "c")]
    events += [e.join(r, "t1") for r in REPS]
    for kind, *args in specs:
        if kind == "visit":
            events.append(e.visit(args[0], args[1], f2f=args[2], ka=args[3]))
        elif kind == "call":
            events.append(e.call(*args))
        elif kind == "order":
            events.append(e.order(args[0], args[1], args[2], currency=args[3]))
        elif kind == "transfer":
            events.append(e.transfer(args[0], args[2], args[1]))
        elif kind == "leave":
            events.append(e.leave(*args))
        elif kind == "target":
            events.append(e.target(args[0], "revenue", "2026-11", args[2], at=args[1]))
        elif kind == "created":
            events.append(e.created(args[0], args[1], args[2], args[3], stage=args[4]))
        elif kind == "stage":
            events.append(e.stage(args[0], args[1], args[2], args[3], amount=args[4]))
        elif kind == "won":
            events.append(e.won(*args))
        elif kind == "lost":
            events.append(e.lost(*args))
        elif kind == "cheer":
            events.append(e.cheer(*args))
        elif kind == "signed":
            events.append(e.order(args[0], args[1], args[3], currency=args[4], order_id=args[2]))
        elif kind == "amend":
            events.append(e.amend(*args))
        elif kind == "cancel":
            events.append(e.cancel(*args))
        elif kind == "paid":
            events.append(e.payment(args[0], args[1], args[3], payment_id=args[2]))
        elif kind == "reverse":
            events.append(e.reverse(*args))
        elif kind == "reopen":
            events.append(e.reopen(*args))
        elif kind == "credit":
            (field, target), shares = args[2], args[3]
            events.append(e.credit(args[0], args[1], shares, **{field: target}))
        else:
            events.append(
                e(
                    "UnitDefined",
                    args[1],
                    unit_id=args[0],
                    name=f"{args[0]}@{args[1]:%d%H}",
                    kind="team",
                    parent_id="c",
                )
            )
    return events


@settings(max_examples=150, deadline=None)
@given(
    specs=st.lists(SPECS, min_size=10, max_size=60),
    data=st.data(),
)
def test_any_arrival_order_with_duplicates_gives_the_same_projection(
    specs: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    events = build(specs)
    ctx = data.draw(st.sampled_from(CONTEXTS), label="corrections policy")
    reference = build_oracle(events, ctx).snapshot()
    shuffled = data.draw(st.permutations(events), label="order")
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=10), label="repeats")
    assert build_oracle([*shuffled, *repeats], ctx).snapshot() == reference


@settings(max_examples=100, deadline=None)
@given(specs=st.lists(SPECS, min_size=10, max_size=60), data=st.data())
def test_batches_across_partitions_with_replays_give_the_same_projection(
    specs: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    # Given the events spread over 3 partitions (each partition keeps its own order), when
    # they are applied in batches that interleave partitions and replay earlier offsets,
    # then the result equals the oracle over the plain list.
    events = build(specs)
    ctx = data.draw(st.sampled_from(CONTEXTS), label="corrections policy")
    reference = build_oracle(events, ctx).snapshot()
    partitions: dict[int, list[AnyEvent]] = {0: [], 1: [], 2: []}
    for event in events:
        partitions[data.draw(st.integers(0, 2), label="partition")].append(event)
    log = [(p, o, ev) for p, evs in partitions.items() for o, ev in enumerate(evs)]
    projection = InMemoryProjection(ctx)
    position = dict.fromkeys(partitions, 0)
    while any(position[p] < len(partitions[p]) for p in partitions):
        batch = []
        for p in partitions:
            take = data.draw(st.integers(1, 4), label="take")
            # Re-read up to 2 records before the position (a redelivery after a rebalance).
            start = max(0, position[p] - data.draw(st.integers(0, 2), label="rewind"))
            batch += [r for r in log if r[0] == p and start <= r[1] < position[p] + take]
            position[p] = min(len(partitions[p]), position[p] + take)
        projection.apply_batch(data.draw(st.permutations(batch), label="batch order"))
    assert projection.snapshot() == reference
