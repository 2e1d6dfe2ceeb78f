"""The org simulator: deterministic, valid against the event models, and shaped like a real org."""

from __future__ import annotations

import argparse
import json
import sys
import types
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from random import Random
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest

from producers.simulator import SimConfig, iter_emitted, iter_lines
from producers.simulator.activity import VISIT_TYPES
from producers.simulator.amounts import allocate
from producers.simulator.live import paced
from producers.simulator.outbox import REPEAT, Outbox
from producers.simulator.rhythm import Clock
from salespulse.commands import simulate as simulate_command
from schemas.events import EVENT_TYPES, parse_event

SHAPE = SimConfig(reps=40, days=60, seed=11)
MONEY_FIELDS = ("amount", "value")


def _no_floats(text: str) -> Any:
    raise AssertionError(f"a JSON float in the output: {text}")


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return list(iter_lines(SHAPE))


@pytest.fixture(scope="module")
def events(lines: list[str]) -> list[dict[str, Any]]:
    # parse_float fails the run on any number with a fraction: money must be decimal strings.
    return [json.loads(line, parse_float=_no_floats) for line in lines]


def _ts(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def _first_seen(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    unique = []
    for e in events:
        if e["event_id"] not in seen:
            seen.add(e["event_id"])
            unique.append(e)
    return unique


def test_given_the_same_seed_when_simulated_twice_then_the_output_is_byte_identical() -> None:
    config = SimConfig(reps=15, days=20, seed=7)
    assert "\n".join(iter_lines(config)) == "\n".join(iter_lines(config))


def test_given_another_seed_then_the_history_differs() -> None:
    a = list(iter_lines(SimConfig(reps=15, days=20, seed=7)))
    b = list(iter_lines(SimConfig(reps=15, days=20, seed=8)))
    assert a != b
    assert not {json.loads(x)["event_id"] for x in a} & {json.loads(x)["event_id"] for x in b}


def test_every_line_validates_against_the_event_models(lines: list[str]) -> None:
    for number, line in enumerate(lines, start=1):
        event = parse_event(json.loads(line))
        assert event.occurred_at.utcoffset() is not None, f"line {number} has no offset"


def test_keys_are_in_a_stable_order_and_money_is_a_decimal_string(
    events: list[dict[str, Any]],
) -> None:
    for e in events:
        assert list(e)[:3] == ["event_id", "type", "occurred_at"]
        assert list(e)[-1] == "data"
        for name in MONEY_FIELDS:
            if name in e["data"]:
                assert isinstance(e["data"][name], str)
                Decimal(e["data"][name])


def test_event_ids_come_from_the_seeded_rng_as_uuid4() -> None:
    # Same bits as uuid.UUID(int=rng.getrandbits(128), version=4), built without the object.
    out = Outbox(Random(3), Clock(ZoneInfo("UTC")), 0)
    expected = uuid.UUID(int=Random(3).getrandbits(128), version=4)
    assert out.uid() == str(expected)


def test_the_whole_catalogue_and_every_visit_type_appear(events: list[dict[str, Any]]) -> None:
    types = Counter(e["type"] for e in events)
    assert set(types) == set(EVENT_TYPES)
    visit_types = {e["data"]["visit_type"] for e in events if e["type"] == "VisitCompleted"}
    assert visit_types == set(VISIT_TYPES)
    outcomes = {e["data"]["outcome"] for e in events if e["type"] == "CallLogged"}
    assert outcomes == {"connected", "no_answer", "voicemail"}
    levels = {e["data"]["level"] for e in events if e["type"] == "LeadQualified"}
    assert levels == {"MQL", "SQL"}
    assert any(e["type"] == "OrderSigned" and "opportunity_id" not in e["data"] for e in events)


def test_volume_is_proportional_to_reps_and_working_days(events: list[dict[str, Any]]) -> None:
    working_days = sum(1 for d in range(SHAPE.days) if date.fromordinal(
        SHAPE.start.toordinal() + d).weekday() < 5)  # fmt: skip
    per_rep_day = len(events) / (SHAPE.reps * working_days)
    assert 35 <= per_rep_day <= 80


def test_staff_changes_happen_and_nobody_works_outside_their_tenure(
    events: list[dict[str, Any]],
) -> None:
    joined: dict[str, datetime] = {}
    left: dict[str, datetime] = {}
    for e in events:
        if e["type"] == "RepJoined":
            joined[e["rep_id"]] = _ts(e)
        elif e["type"] == "RepLeft":
            left[e["rep_id"]] = _ts(e)
    types = Counter(e["type"] for e in events)
    assert types["RepTransferred"] >= 1
    assert types["RepLeft"] >= 1
    assert types["RepJoined"] > SHAPE.reps  # the initial staff plus later joiners
    for e in events:
        rep = e.get("rep_id")
        if rep is None or e["type"] in ("RepJoined", "RepLeft"):
            continue
        assert joined[rep] <= _ts(e), e
        assert rep not in left or _ts(e) < left[rep], e


def test_transfers_take_effect_mid_month(events: list[dict[str, Any]]) -> None:
    for e in events:
        if e["type"] == "RepTransferred":
            assert 8 <= _ts(e).day <= 22


def test_calls_and_visits_follow_the_working_week(events: list[dict[str, Any]]) -> None:
    per_weekday: Counter[int] = Counter()
    for e in events:
        if e["type"] in ("CallLogged", "VisitCompleted"):
            at = _ts(e)
            assert at.weekday() < 5 and 9 <= at.hour < 18, e
            if at.weekday() == 4:
                assert at.hour < 15, e
            per_weekday[at.weekday()] += 1
    assert per_weekday[4] < 0.8 * per_weekday[2]  # fewer on Fridays


def test_late_and_resubmitted_shares_are_within_bands(lines: list[str]) -> None:
    events = [json.loads(line) for line in lines]
    latest = datetime.min.replace(tzinfo=ZoneInfo("UTC"))
    late: Counter[str] = Counter()
    first_line: dict[str, str] = {}
    resubmitted = 0
    for line, e in zip(lines, events, strict=True):
        if e["event_id"] in first_line:
            resubmitted += 1
            assert first_line[e["event_id"]] == line  # the exact same line again
            continue
        first_line[e["event_id"]] = line
        at = _ts(e)
        if (latest - at).total_seconds() > 3600:
            late[e["type"]] += 1
        latest = max(latest, at)
    types = Counter(e["type"] for e in _first_seen(events))
    assert 0.01 <= late["VisitCompleted"] / types["VisitCompleted"] <= 0.035
    assert 0.002 <= sum(late.values()) / len(first_line) <= 0.02
    assert 0.003 <= resubmitted / len(lines) <= 0.008


def _latest_targets(events: list[dict[str, Any]]) -> dict[tuple[str, str, str], Decimal]:
    # A later TargetSet for the same scope, metric and period replaces the earlier one.
    return {
        (e["data"]["scope"], e["data"]["metric"], e["data"]["period"]): Decimal(e["data"]["value"])
        for e in events
        if e["type"] == "TargetSet"
    }


def test_targets_add_up_exactly_top_down(events: list[dict[str, Any]]) -> None:
    targets = _latest_targets(events)
    children: dict[str, list[str]] = defaultdict(list)
    for e in events:
        if e["type"] == "UnitDefined" and e["data"]["parent_id"] is not None:
            parent = e["data"]["parent_id"]
            children["company" if parent == "co" else f"unit:{parent}"].append(
                f"unit:{e['data']['unit_id']}"
            )
    # Reps count for the team they were in when their month's targets were set.
    unit_of: dict[str, str] = {}
    team_reps: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for e in events:
        if e["type"] in ("RepJoined", "RepTransferred"):
            unit_of[e["rep_id"]] = e["data"]["unit_id"]
        elif e["type"] == "TargetSet" and e["data"]["scope"].startswith("rep:"):
            rep = e["data"]["scope"][4:]
            key = (f"unit:{unit_of[rep]}", e["data"]["metric"], e["data"]["period"])
            if e["data"]["scope"] not in team_reps[key]:
                team_reps[key].append(e["data"]["scope"])
    for (scope, metric, period), reps in team_reps.items():
        assert targets[(scope, metric, period)] == sum(targets[(r, metric, period)] for r in reps)
    split_months = {p for (s, _, p) in targets if s.startswith("unit:")}
    assert len(split_months) == 3  # January, February and the 1st of March
    checked = 0
    for (scope, metric, period), value in targets.items():
        parts = [targets.get((c, metric, period)) for c in children.get(scope, [])]
        if parts and all(p is not None for p in parts):
            assert value == sum(p for p in parts if p is not None), (scope, metric, period)
            checked += 1
    assert checked >= len(split_months) * 4 * 2  # four metrics, company and departments
    year = "2026"
    quarters = [targets[("company", "revenue", f"{year}-Q{q}")] for q in range(1, 5)]
    month_values = [targets[("company", "revenue", f"{year}-{m:02d}")] for m in range(1, 13)]
    assert targets[("company", "revenue", year)] == sum(quarters) == sum(month_values)
    for q in range(4):
        assert quarters[q] == sum(month_values[3 * q : 3 * q + 3])
    # Weighted, not even: reps of one team do not all get the same revenue target.
    rep_values = {v for (s, m, p), v in targets.items() if s.startswith("rep:") and m == "revenue"}
    assert len(rep_values) > 10


def test_payments_never_exceed_their_order(events: list[dict[str, Any]]) -> None:
    orders: dict[str, tuple[Decimal, str]] = {}
    paid: dict[str, Decimal] = defaultdict(Decimal)
    parts: Counter[str] = Counter()
    for e in _first_seen(events):
        if e["type"] == "OrderSigned":
            orders[e["data"]["order_id"]] = (Decimal(e["data"]["amount"]), e["data"]["currency"])
        elif e["type"] == "PaymentReceived":
            order_id = e["data"]["order_id"]
            assert e["data"]["currency"] == orders[order_id][1]
            paid[order_id] += Decimal(e["data"]["amount"])
            parts[order_id] += 1
    for order_id, total in paid.items():
        assert total <= orders[order_id][0]
    assert max(parts.values()) >= 2  # some orders are paid in instalments


def test_deals_follow_the_stages_and_wins_lead_to_orders_and_cheers(
    events: list[dict[str, Any]],
) -> None:
    unique = _first_seen(events)
    stages = ("prospecting", "qualification", "proposal", "negotiation")
    stage: dict[str, int] = {}
    closed: set[str] = set()
    wins: dict[str, str] = {}
    for e in sorted(unique, key=_ts):
        d = e["data"]
        if e["type"] == "OpportunityCreated":
            stage[d["opportunity_id"]] = stages.index(d["stage"])
        elif e["type"] == "OpportunityStageChanged":
            assert stages.index(d["to_stage"]) == stage[d["opportunity_id"]] + 1
            stage[d["opportunity_id"]] += 1
        elif e["type"] in ("OpportunityWon", "OpportunityLost"):
            assert d["opportunity_id"] not in closed
            closed.add(d["opportunity_id"])
            if e["type"] == "OpportunityWon":
                assert stage[d["opportunity_id"]] == 3
                wins[e["event_id"]] = d["opportunity_id"]
    # Enterprise deals are worked at meetings: those visits name the deal.
    deal_visits = [
        e for e in unique if e["type"] == "VisitCompleted" and "opportunity_id" in e["data"]
    ]
    assert deal_visits and all(e["data"]["opportunity_id"] in stage for e in deal_visits)
    ordered = {e["data"].get("opportunity_id") for e in unique if e["type"] == "OrderSigned"}
    assert set(wins.values()) <= ordered
    cheered = {e["data"]["broadcast_id"] for e in unique if e["type"] == "Cheered"}
    assert cheered <= set(wins)
    win_rate = len(wins) / len(stage)
    assert 0.04 <= win_rate <= 0.2


def test_allocate_splits_exactly_by_weight() -> None:
    parts = allocate(1_000_001, [1.0, 2.0, 0.5, 0.0])
    assert sum(parts) == 1_000_001 and parts[3] == 0 and parts[1] > parts[0] > parts[2]
    assert sum(allocate(12_345, [0.3, 0.9, 0.4], quantum=100)) == 12_345
    assert allocate(7, [0.0, 0.0]) == [4, 3]


def test_the_org_time_zone_sets_the_offset_and_the_working_hours() -> None:
    config = SimConfig(reps=8, days=7, seed=3, tz="Asia/Shanghai")
    for line in iter_lines(config):
        e = json.loads(line)
        assert e["occurred_at"].endswith("+08:00")
        if e["type"] == "CallLogged":
            assert 9 <= int(e["occurred_at"][11:13]) < 18


def test_live_pacing_retimes_to_the_wall_clock_and_keeps_duplicates_identical() -> None:
    # Given a fake wall clock that only moves when the pacer sleeps
    fake_now = [1_800_000_000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        fake_now[0] += seconds

    emitted = list(iter_emitted(SimConfig(reps=40, days=3, seed=5)))
    clock = Clock(ZoneInfo("UTC"))
    # When it is released at 100 events per second
    out = list(paced(iter(emitted), 100.0, clock, now=lambda: fake_now[0], sleep=sleep))
    # Then it takes the time that rate implies, on-time events carry the publish moment ...
    assert len(out) == len(emitted)
    assert sum(slept) == pytest.approx((len(out) - 1) / 100.0, abs=0.05)
    last = json.loads(out[-1])
    assert last["event_id"] == json.loads(emitted[-1][3])["event_id"]
    assert datetime.fromisoformat(last["occurred_at"]).timestamp() >= fake_now[0] - 3 * 86400
    first = datetime.fromisoformat(json.loads(out[0])["occurred_at"]).timestamp()
    assert first == pytest.approx(1_800_000_000, abs=1)
    # ... and a resubmission is still a byte-identical copy of its re-timed original.
    by_id: dict[str, str] = {}
    repeats = 0
    for line in out:
        event_id = json.loads(line)["event_id"]
        if event_id in by_id:
            assert by_id[event_id] == line
            repeats += 1
        by_id[event_id] = line
    assert repeats == sum(1 for e in emitted if e[4] == REPEAT) > 0
    assert all(parse_event(json.loads(line)) for line in out)


def test_the_command_writes_the_same_lines_as_the_library(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run("--reps", "6", "--days", "5", "--seed", "9") == 0
    captured = capsys.readouterr()
    assert captured.out == "\n".join(iter_lines(SimConfig(reps=6, days=5, seed=9))) + "\n"
    assert "simulated" in captured.err and "events/s" in captured.err


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    simulate_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["simulate", *argv])
    code: int = args.run(args)
    return code


class FakePublisher:
    """Stands in for infra.publisher.EventPublisher: records what would be sent."""

    instances: ClassVar[list[FakePublisher]] = []

    def __init__(self, settings: object, **options: object) -> None:
        self.events: list[Any] = []
        self.options = options
        FakePublisher.instances.append(self)

    def __enter__(self) -> FakePublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True

    def publish_many(self, events: Any) -> int:
        self.events.extend(events)
        return len(events)


def test_given_publish_the_events_go_to_the_publisher_as_models_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stand-in module, so the unit test needs neither Kafka nor its client library.
    fake_module = types.ModuleType("infra.publisher")
    fake_module.EventPublisher = FakePublisher  # type: ignore[attr-defined]
    fake_module.PublishError = RuntimeError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "infra.publisher", fake_module)
    FakePublisher.instances.clear()
    assert _run("--reps", "6", "--days", "5", "--seed", "9", "--publish") == 0
    (publisher,) = FakePublisher.instances
    lines = list(iter_lines(SimConfig(reps=6, days=5, seed=9)))
    assert [str(e.event_id) for e in publisher.events] == [
        json.loads(line)["event_id"] for line in lines
    ]
    assert publisher.closed and publisher.options == {"source": "simulator"}
    captured = capsys.readouterr()
    assert captured.out == "" and f"published {len(lines)} events" in captured.err


def test_foreign_currencies_need_a_configured_rate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SALESPULSE_FX_RATES", raising=False)
    assert _run("--reps", "6", "--days", "5", "--currencies", "EUR") == 2
    assert "SALESPULSE_FX_RATES" in capsys.readouterr().err

    monkeypatch.setenv("SALESPULSE_FX_RATES", "EUR=1.08")
    assert _run("--reps", "12", "--days", "20", "--currencies", "EUR") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    currencies = Counter(e["data"]["currency"] for e in events if e["type"] == "OrderSigned")
    assert 0 < 3 * currencies["EUR"] < currencies["USD"]
    for e in events:
        parse_event(e)
