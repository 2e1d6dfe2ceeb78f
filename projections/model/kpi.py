"""KPI definitions: metrics, pipeline stages and behaviour rules from a versioned TOML file."""

from __future__ import annotations

import re
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from schemas.events import DEFAULT_STAGES, EVENT_CLASSES, Stage

Measure = Literal["count", "sum"]
ForecastMethod = Literal["pipeline", "run_rate", "none"]
FieldKind = Literal["bool", "number", "text", "date"]
RulePer = Literal["rep", "team", "unit", "company"]
CorrectionPolicy = Literal["restate", "clawback"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CONDITION = re.compile(r"^\s*([A-Za-z_]\w*)\s*(==|=|!=|>=|<=|>|<)\s*(\S.*?)\s*$")
_SUM = re.compile(r"^sum\(\s*([A-Za-z_]\w*)\s*\)$")
_RULE = re.compile(
    r"^\s*([a-z][a-z0-9_]*)\s*(>=|<=)\s*(\d+(?:\.\d+)?)\s+per\s+(year|quarter|month|week|day)"
    r"\s+per\s+(rep|team|unit|company)\s*$"
)
# Events without a rep cannot be attributed to anyone, so no metric may count them.
_REPLESS = frozenset({"UnitDefined", "TargetSet", "TargetsLocked"})
_ORDERED_OPS = frozenset({">", ">=", "<", "<="})


class KpiError(ValueError):
    """A KPI definitions file that cannot be used; the message names the metric and problem."""


@dataclass(frozen=True)
class Condition:
    """`<field> <op> <value>` on an event's data (the fold compiles it into a test)."""

    field: str
    op: str
    value: Any

    def __str__(self) -> str:
        return f"{self.field} {self.op} {self.value!r}"


@dataclass(frozen=True)
class Weight:
    """Multiply a metric's contribution by `factor` when `condition` holds."""

    condition: Condition
    factor: Decimal


@dataclass(frozen=True)
class MetricDef:
    """One metric: which events it counts or sums, under which conditions and weights."""

    name: str
    event: str
    measure: Measure
    field: str | None  # the summed data field; None for count
    where: tuple[Condition, ...] = ()
    weights: tuple[Weight, ...] = ()
    forecast: ForecastMethod = "run_rate"
    is_money: bool = False  # sums an amount converted to the base currency
    # The assessed value's share of the target (红圈's 考核值); None: the healthy band's floor.
    assessed: Decimal | None = None


@dataclass(frozen=True)
class Rule:
    """A behaviour rule, e.g. `f2f_visits >= 15 per month per rep`."""

    text: str
    metric: str
    op: Literal[">=", "<="]
    required: Decimal
    period_kind: Literal["year", "quarter", "month", "week", "day"]
    per: RulePer


@dataclass(frozen=True, eq=False)  # identity semantics: hashable, so the fold can cache by it
class KpiDefinitions:
    """A whole KPI definitions version: metrics, pipeline configuration and rules."""

    version: int
    description: str
    metrics: Mapping[str, MetricDef]
    stages: tuple[str, ...]
    probabilities: Mapping[str, Decimal]
    stall_days: Mapping[str, int]
    rules: tuple[Rule, ...]
    source: str = ""  # the TOML text, stored with the projection version
    by_event: Mapping[str, tuple[MetricDef, ...]] = field(default_factory=dict)
    # Where a correction's difference is booked: on the corrected fact's own day ("restate"),
    # or on the correction's day, leaving reported periods as they were ("clawback").
    corrections: CorrectionPolicy = "restate"


def _unwrap(annotation: Any) -> Any:
    """Strip Optional[...] and Annotated[...] down to the base type."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def field_kind(event: str, name: str) -> tuple[FieldKind, tuple[Any, ...]]:
    """The kind of a data field of an event type and, for a Literal, its allowed values."""
    data_model = EVENT_CLASSES[event].model_fields["data"].annotation
    fields = data_model.model_fields  # type: ignore[union-attr]
    if name not in fields:
        raise KpiError(f"unknown field {name!r} of {event} (known: {', '.join(fields)})")
    base = _unwrap(fields[name].annotation)
    if get_origin(base) is Literal:
        return "text", get_args(base)
    if base is bool:
        return "bool", ()
    if base in (int, float, Decimal):
        return "number", ()
    if base is date:
        return "date", ()
    return "text", ()


def _literal(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise KpiError(f'bad value {text!r} (write a TOML literal: true, 20, "MQL")') from exc


def _condition(event: str, text: Any) -> Condition:
    if not isinstance(text, str) or not (m := _CONDITION.match(text)):
        raise KpiError(f"bad condition {text!r}: expected '<field> <op> <value>'")
    name, op, raw = m[1], m[2], m[3]
    kind, allowed = field_kind(event, name)
    value = _literal(raw)
    ok = {
        "bool": isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "text": isinstance(value, str),
        "date": isinstance(value, date),
    }[kind]
    if not ok:
        raise KpiError(f"condition {text!r}: {name} is a {kind} field, got {value!r}")
    if allowed and value not in allowed:
        raise KpiError(f"condition {text!r}: {name} is one of {', '.join(map(str, allowed))}")
    if op in _ORDERED_OPS and kind in ("bool", "text"):
        raise KpiError(f"condition {text!r}: {op} needs a number or date field")
    if kind == "number":
        value = Decimal(str(value))
    return Condition(name, op, value)


def _metric(name: str, spec: Any) -> MetricDef:
    if not _NAME.match(name):
        raise KpiError(f"bad metric name {name!r}: use lower_snake_case")
    if not isinstance(spec, dict):
        raise KpiError("must be a table")
    unknown = set(spec) - {
        "event",
        "measure",
        "where",
        "weights",
        "forecast",
        "description",
        "assessed",
    }
    if unknown:
        raise KpiError(f"unknown key(s) {', '.join(sorted(unknown))}")
    event = spec.get("event")
    if event not in EVENT_CLASSES:
        raise KpiError(f"unknown event type {event!r} (known: {', '.join(EVENT_CLASSES)})")
    if event in _REPLESS:
        raise KpiError(f"event type {event} carries no rep_id, so it cannot be a metric")
    measure_text = spec.get("measure")
    summed: str | None = None
    if measure_text == "count":
        measure: Measure = "count"
    elif isinstance(measure_text, str) and (m := _SUM.match(measure_text)):
        measure, summed = "sum", m[1]
        if field_kind(event, summed)[0] != "number":
            raise KpiError(f"bad measure {measure_text!r}: {summed} is not a number field")
    else:
        raise KpiError(f"bad measure {measure_text!r}: expected 'count' or 'sum(<field>)'")
    where = spec.get("where", [])
    if not isinstance(where, list):
        raise KpiError("where must be a list of conditions")
    weights = []
    for w in spec.get("weights", []):
        if not isinstance(w, dict) or set(w) != {"where", "factor"}:
            raise KpiError('each weight must be { where = "...", factor = <number> }')
        if isinstance(w["factor"], bool) or not isinstance(w["factor"], int | float):
            raise KpiError(f"weight factor {w['factor']!r} is not a number")
        weights.append(Weight(_condition(event, w["where"]), Decimal(str(w["factor"]))))
    forecast = spec.get("forecast", "run_rate")
    if forecast not in ("pipeline", "run_rate", "none"):
        raise KpiError(f"bad forecast {forecast!r}: expected pipeline, run_rate or none")
    is_money = summed == "amount" and "currency" in _data_fields(event)
    conditions = tuple(_condition(event, c) for c in where)
    assessed = spec.get("assessed")
    if assessed is not None and (
        isinstance(assessed, bool) or not isinstance(assessed, int | float) or not 0 < assessed <= 2
    ):
        raise KpiError(f"bad assessed {assessed!r}: a share of the target in (0, 2], e.g. 0.9")
    return MetricDef(
        name,
        event,
        measure,
        summed,
        conditions,
        tuple(weights),
        forecast,
        is_money,
        None if assessed is None else Decimal(str(assessed)),
    )


def _data_fields(event: str) -> Mapping[str, Any]:
    return EVENT_CLASSES[event].model_fields["data"].annotation.model_fields  # type: ignore[union-attr]


def _rule(text: Any, metrics: Mapping[str, MetricDef]) -> Rule:
    if not isinstance(text, str) or not (m := _RULE.match(text)):
        raise KpiError(
            f"rule {text!r}: bad rule syntax, expected e.g. 'f2f_visits >= 15 per month per rep'"
        )
    if m[1] not in metrics:
        raise KpiError(f"rule {text!r}: unknown metric {m[1]!r}")
    return Rule(text.strip(), m[1], m[2], Decimal(m[3]), m[4], m[5])  # type: ignore[arg-type]


def _pipeline(spec: Any) -> tuple[tuple[str, ...], dict[str, Decimal], dict[str, int]]:
    if not isinstance(spec, dict):
        raise KpiError("[pipeline] must be a table")
    default_stages = tuple(s for s, _ in DEFAULT_STAGES)
    stages = tuple(spec.get("stages", default_stages))
    known = get_args(Stage)
    for s in stages:
        if s not in known:
            raise KpiError(f"[pipeline] unknown stage {s!r} (known: {', '.join(known)})")
    probs = dict(DEFAULT_STAGES)
    for s, p in spec.get("probability", {}).items():
        if s not in stages:
            raise KpiError(f"[pipeline.probability] unknown stage {s!r}")
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            raise KpiError(f"[pipeline.probability] {s} must be a number in [0, 1], got {p!r}")
        probs[s] = Decimal(str(p))
    stall = {s: 30 for s in stages}
    for s, d in spec.get("stall_days", {}).items():
        if s not in stages:
            raise KpiError(f"[pipeline.stall_days] unknown stage {s!r}")
        if isinstance(d, bool) or not isinstance(d, int) or d <= 0:
            raise KpiError(f"[pipeline.stall_days] {s} must be a positive integer, got {d!r}")
        stall[s] = d
    return stages, {s: probs[s] for s in stages}, stall


def parse_kpis(text: str, origin: str = "<string>") -> KpiDefinitions:
    """Parse and validate KPI definitions; raises KpiError naming the metric and the problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KpiError(f"{origin}: not valid TOML: {exc}") from exc
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise KpiError(f"{origin}: version must be a positive integer, got {version!r}")
    unknown = set(doc) - {"version", "description", "metrics", "pipeline", "rules", "corrections"}
    if unknown:
        raise KpiError(f"{origin}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    metrics: dict[str, MetricDef] = {}
    for name, spec in doc.get("metrics", {}).items():
        try:
            metrics[name] = _metric(name, spec)
        except KpiError as exc:
            raise KpiError(f"{origin}: metric {name!r}: {exc}") from exc
    if not metrics:
        raise KpiError(f"{origin}: no [metrics.<name>] defined")
    try:
        stages, probs, stall = _pipeline(doc.get("pipeline", {}))
        rules = tuple(_rule(r, metrics) for r in doc.get("rules", []))
    except KpiError as exc:
        raise KpiError(f"{origin}: {exc}") from exc
    corrections = doc.get("corrections", "restate")
    if corrections not in ("restate", "clawback"):
        raise KpiError(
            f"{origin}: corrections must be 'restate' or 'clawback', got {corrections!r}"
        )
    by_event: dict[str, list[MetricDef]] = {}
    for m in metrics.values():
        by_event.setdefault(m.event, []).append(m)
    return KpiDefinitions(
        version=version,
        description=str(doc.get("description", "")),
        metrics=metrics,
        stages=stages,
        probabilities=probs,
        stall_days=stall,
        rules=rules,
        source=text,
        by_event={k: tuple(v) for k, v in by_event.items()},
        corrections=corrections,
    )


def load_kpis(path: str | Path) -> KpiDefinitions:
    """Load a KPI definitions file."""
    p = Path(path)
    return parse_kpis(p.read_text(encoding="utf-8"), origin=str(p))


def default_kpis() -> KpiDefinitions:
    """Version 1, the DESIGN.md defaults shipped in this package."""
    text = resources.files("projections.model").joinpath("kpis_v1.toml").read_text(encoding="utf-8")
    return parse_kpis(text, origin="kpis_v1.toml")
