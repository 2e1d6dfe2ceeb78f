"""The channels file (TOML): where announcements and digests go, and which ones each takes.

```toml
[[channel]]
name = "east-floor"            # unique; the delivery state is keyed by it
kind = "wecom"                 # slack, teams, wecom, dingtalk, feishu or webhook
url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."   # or url_env = "VAR"
secret_env = "EAST_SECRET"     # dingtalk / feishu / webhook signing secret (or secret = "...")
scope = "unit:east"            # a unit's subtree; default "company" (everything)
kinds = ["deal_won", "milestone"]
language = "zh-CN"             # or "en"
min_amount = "10000"           # deals below it are not posted
daily_digest = "18:00"         # org time zone; weekly_digest = "mon 09:00"
```
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from projections.model.readmodel import Unit
from streams.notify.formats.registry import PLATFORMS
from streams.notify.texts import KINDS, LANGUAGES, Item

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A channel that announces deals and milestones also hears when one is withdrawn or corrected.
DEFAULT_KINDS = ("deal_won", "milestone", "deal_retracted", "deal_corrected", "milestone_revoked")


class ChannelsError(ValueError):
    """The channels file is unusable; the message names the channel and the field."""


@dataclass(frozen=True)
class Channel:
    """One chat destination and its filters, limits and digest times."""

    name: str
    kind: str
    url: str
    secret: str | None = None
    scope: str = "company"
    kinds: tuple[str, ...] = DEFAULT_KINDS
    language: str = "en"
    min_amount: Decimal | None = None
    per_minute: int = 20
    retries: int = 5  # attempts before a message is recorded as failed
    backoff_s: float = 1.0  # first retry delay; doubles each time
    timeout_s: float = 10.0
    daily_digest: time | None = None
    weekly_digest: tuple[int, time] | None = None  # (weekday 0 = Monday, time)

    @property
    def interval_s(self) -> float:
        """The pause between two messages that keeps within per_minute in any minute."""
        return 60.0 / self.per_minute

    def accepts(self, item: Item, units: Mapping[str, Unit]) -> bool:
        """True when this channel takes the announcement (kind, minimum amount, scope)."""
        if item.kind not in self.kinds or item.kind not in KINDS:
            return False
        field = KINDS[item.kind].amount_field
        if self.min_amount is not None and field is not None:
            try:
                if Decimal(str(item.payload.get(field, 0))) < self.min_amount:
                    return False
            except InvalidOperation:
                return False
        return self.scope == "company" or _in_scope(self.scope, item.payload, units)


def _in_scope(scope: str, payload: Mapping[str, Any], units: Mapping[str, Unit]) -> bool:
    kind, _, ident = scope.partition(":")
    if kind == "rep":
        return payload.get("rep_id") == ident or payload.get("scope") == scope
    unit_id = payload.get("unit_id")
    if unit_id is None and str(payload.get("scope", "")).startswith("unit:"):
        unit_id = str(payload["scope"]).removeprefix("unit:")
    seen: set[str] = set()
    while unit_id is not None and unit_id not in seen:  # a cycle in bad data ends the walk
        if unit_id == ident:
            return True
        seen.add(unit_id)
        unit = units.get(unit_id)
        unit_id = unit.parent_id if unit else None
    return False


def load_channels(path: str | Path, env: Mapping[str, str] | None = None) -> list[Channel]:
    """Parse and check a channels file; secrets and URLs may come from the environment."""
    env = os.environ if env is None else env
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ChannelsError(f"{path}: {exc}") from exc
    out = [parse_channel(raw, i, env) for i, raw in enumerate(doc.get("channel", []))]
    names = [c.name for c in out]
    for name in names:
        if names.count(name) > 1:
            raise ChannelsError(f"channel {name!r}: the name is used twice")
    return out


def parse_channel(raw: Mapping[str, Any], index: int, env: Mapping[str, str]) -> Channel:
    name = str(raw.get("name") or f"channel-{index + 1}")

    def fail(field: str, reason: str) -> ChannelsError:
        return ChannelsError(f"channel {name!r}: {field}: {reason}")

    kind = str(raw.get("kind", ""))
    if kind not in PLATFORMS:
        raise fail("kind", f"{kind!r} is not one of {', '.join(PLATFORMS)}")
    url = _value(raw, "url", env)
    if not url:
        raise fail("url", "required (url, or url_env naming a variable)")
    language = str(raw.get("language", "en"))
    if language not in LANGUAGES:
        raise fail("language", f"{language!r} is not one of {', '.join(LANGUAGES)}")
    kinds = tuple(raw.get("kinds", DEFAULT_KINDS))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise fail("kinds", f"unknown {unknown} (known: {', '.join(KINDS)})")
    scope = str(raw.get("scope", "company"))
    if scope != "company" and scope.partition(":")[0] not in ("unit", "rep"):
        raise fail("scope", f"{scope!r} is not company, unit:<id> or rep:<id>")
    try:
        min_amount = Decimal(str(raw["min_amount"])) if "min_amount" in raw else None
    except InvalidOperation:
        raise fail("min_amount", f"{raw['min_amount']!r} is not a number") from None
    return Channel(
        name=name,
        kind=kind,
        url=url,
        secret=_value(raw, "secret", env),
        scope=scope,
        kinds=kinds,
        language=language,
        min_amount=min_amount,
        per_minute=_positive(raw, "per_minute", PLATFORMS[kind].per_minute, fail),
        retries=_positive(raw, "retries", 5, fail),
        backoff_s=float(raw.get("backoff_s", 1.0)),
        timeout_s=float(raw.get("timeout_s", 10.0)),
        daily_digest=_time(raw.get("daily_digest"), "daily_digest", fail),
        weekly_digest=_weekly(raw.get("weekly_digest"), fail),
    )


def _value(raw: Mapping[str, Any], field: str, env: Mapping[str, str]) -> str | None:
    if raw.get(f"{field}_env"):
        return env.get(str(raw[f"{field}_env"])) or None
    value = raw.get(field)
    return str(value) if value else None


def _positive(raw: Mapping[str, Any], field: str, default: int, fail: Any) -> int:
    value = raw.get(field, default)
    if not isinstance(value, int) or value < 1:
        raise fail(field, f"{value!r} is not a positive whole number")
    return value


def _time(text: Any, field: str, fail: Any) -> time | None:
    if text is None:
        return None
    try:
        return time.fromisoformat(str(text))
    except ValueError:
        raise fail(field, f"{text!r} is not HH:MM") from None


def _weekly(text: Any, fail: Any) -> tuple[int, time] | None:
    if text is None:
        return None
    day, _, at = str(text).strip().partition(" ")
    if day.lower()[:3] not in WEEKDAYS:
        raise fail("weekly_digest", f"{text!r} is not like 'mon 09:00'")
    when = _time(at or "09:00", "weekly_digest", fail)
    assert when is not None
    return WEEKDAYS.index(day.lower()[:3]), when
