"""Runtime settings from the environment (servers, topics, time zone, currencies), read once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.money import ISO_4217, to_decimal


class SettingsError(ValueError):
    """An environment variable with a value we cannot use; the message names the variable."""


class CurrencyError(ValueError):
    """An amount in a currency with no configured rate to the base currency."""


def _no_rates() -> Mapping[str, Decimal]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Settings:
    """Everything configurable by environment variable; the defaults suit the local stack."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    events_topic: str = "sales.events"
    dlq_topic: str = "sales.events.dlq"
    broadcasts_topic: str = "sales.broadcasts"
    partitions: int = 6
    database_url: str = "postgresql://salespulse@127.0.0.1:5433/salespulse"
    tz: str = "UTC"
    base_currency: str = "USD"
    # 1 unit of the key currency = value units of the base currency.
    fx_rates: Mapping[str, Decimal] = field(default_factory=_no_rates)
    # The projecting workers' consumer group (also the faust app id).
    worker_group: str = "salespulse-projector"
    # Projection versions live in PostgreSQL schemas named <prefix>_v<N>.
    schema_prefix: str = "sp"
    # A batch is applied when it has this many events, or this long after its first one.
    # Catching up on the 1M bench history, one worker: 20.1-25.4k events/s, 17.9-20.2k at 5,000.
    batch_max: int = 10_000
    batch_within_ms: int = 20  # p99 deal-to-dashboard 73 ms at 20, 152 ms at 100 (bench)
    # Deals that occurred longer ago than this are recorded but not pushed as live news.
    live_cutoff_hours: int = 24
    # How `salespulse worker` consumes: "batch" (aiokafka batches, the default: 4.3x faust's
    # per-event stream on 2 cores, see README.md) or "faust" (a faust-streaming agent).
    worker_engine: str = "batch"
    # A dependency that is down must cost a caller seconds, not minutes: connecting to
    # PostgreSQL gives up after this (every connection: workers, API, replay, CLI), ...
    pg_connect_timeout_s: int = 3
    # ... an API query is cancelled after this, and an API request waits at most this long
    # for a pooled connection before answering 503.
    api_statement_timeout_ms: int = 5000
    api_pool_timeout_s: int = 2
    # An event may say it occurred at most this far in the future (clock skew, zones);
    # beyond it the edge refuses it: it would be announced as live news for months.
    future_horizon_hours: int = 48
    # POST /api/events refuses a larger body with 413 while reading it (10,000 events fit).
    api_max_body_bytes: int = 8 * 1024 * 1024
    # The chat notifier's consumer group on the broadcasts topic.
    notify_group: str = "salespulse-notifier"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the SALESPULSE_* / KAFKA_BOOTSTRAP / DATABASE_URL variables, checking each."""
        env = os.environ if env is None else env
        default = cls()
        base = env.get("SALESPULSE_BASE_CURRENCY", default.base_currency).strip().upper()
        if base not in ISO_4217:
            raise SettingsError(f"SALESPULSE_BASE_CURRENCY: {base!r} is not an ISO 4217 code")
        tz = env.get("SALESPULSE_TZ", default.tz).strip()
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"SALESPULSE_TZ: {tz!r} is not a known time zone") from exc
        return cls(
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP") or local_kafka_bootstrap(env),
            events_topic=env.get("SALESPULSE_EVENTS_TOPIC", default.events_topic),
            dlq_topic=env.get("SALESPULSE_DLQ_TOPIC", default.dlq_topic),
            broadcasts_topic=env.get("SALESPULSE_BROADCASTS_TOPIC", default.broadcasts_topic),
            partitions=_positive_int(env, "SALESPULSE_PARTITIONS", default.partitions),
            database_url=env.get("DATABASE_URL") or local_database_url(env),
            tz=tz,
            base_currency=base,
            fx_rates=parse_fx_rates(env.get("SALESPULSE_FX_RATES", ""), base),
            worker_group=env.get("SALESPULSE_WORKER_GROUP", default.worker_group),
            schema_prefix=_identifier(env, "SALESPULSE_SCHEMA_PREFIX", default.schema_prefix),
            batch_max=_positive_int(env, "SALESPULSE_BATCH_MAX", default.batch_max),
            batch_within_ms=_positive_int(
                env, "SALESPULSE_BATCH_WITHIN_MS", default.batch_within_ms
            ),
            live_cutoff_hours=_positive_int(
                env, "SALESPULSE_LIVE_CUTOFF_HOURS", default.live_cutoff_hours
            ),
            worker_engine=_choice(
                env, "SALESPULSE_WORKER_ENGINE", WORKER_ENGINES, default.worker_engine
            ),
            pg_connect_timeout_s=_positive_int(
                env, "SALESPULSE_PG_CONNECT_TIMEOUT_S", default.pg_connect_timeout_s
            ),
            api_statement_timeout_ms=_positive_int(
                env, "SALESPULSE_API_STATEMENT_TIMEOUT_MS", default.api_statement_timeout_ms
            ),
            future_horizon_hours=_positive_int(
                env, "SALESPULSE_FUTURE_HORIZON_HOURS", default.future_horizon_hours
            ),
            api_max_body_bytes=_positive_int(
                env, "SALESPULSE_API_MAX_BODY_BYTES", default.api_max_body_bytes
            ),
            api_pool_timeout_s=_positive_int(
                env, "SALESPULSE_API_POOL_TIMEOUT_S", default.api_pool_timeout_s
            ),
            notify_group=env.get("SALESPULSE_NOTIFY_GROUP", default.notify_group),
        )

    @property
    def zone(self) -> ZoneInfo:
        """The organisation's time zone, in which days, weeks and months are bucketed."""
        return ZoneInfo(self.tz)

    def accepts_currency(self, currency: str) -> bool:
        """True when amounts in `currency` can be converted to the base currency."""
        return currency == self.base_currency or currency in self.fx_rates

    def rate(self, currency: str | None) -> Decimal:
        """Base-currency units per unit of `currency` (None means the base currency)."""
        if currency is None or currency == self.base_currency:
            return Decimal(1)
        try:
            return self.fx_rates[currency]
        except KeyError:
            raise CurrencyError(self.currency_problem(currency)) from None

    def currency_problem(self, currency: str) -> str:
        """The reason an amount in `currency` is refused (shown to whoever sent it)."""
        return (
            f"no exchange rate from {currency} to the base currency {self.base_currency} "
            "(configure SALESPULSE_FX_RATES)"
        )


WORKER_ENGINES = ("batch", "faust")

# The local stack (`salespulse stack up`) listens here; its port variables move it, and every
# command follows them, so a second stack on other ports is never mistaken for the first.
LOCAL_HOST = "127.0.0.1"


def local_kafka_bootstrap(env: Mapping[str, str]) -> str:
    """The local stack's broker address (SALESPULSE_KAFKA_PORT, default 9092)."""
    return f"{LOCAL_HOST}:{port_from_env(env, 'SALESPULSE_KAFKA_PORT', 9092)}"


def local_database_url(env: Mapping[str, str]) -> str:
    """The local stack's database URL (SALESPULSE_PG_PORT, default 5433)."""
    port = port_from_env(env, "SALESPULSE_PG_PORT", 5433)
    return f"postgresql://salespulse@{LOCAL_HOST}:{port}/salespulse"


def port_from_env(env: Mapping[str, str], name: str, default: int) -> int:
    """A TCP port from the environment (the local stack's port variables)."""
    port = _positive_int(env, name, default)
    if port > 65535:
        raise SettingsError(f"{name}: {port} is not a TCP port")
    return port


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, default).strip().lower()
    if value not in choices:
        raise SettingsError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name}: {text!r} is not a whole number") from None
    if value < 1:
        raise SettingsError(f"{name}: must be at least 1, got {value}")
    return value


def _identifier(env: Mapping[str, str], name: str, default: str) -> str:
    """A lower-case SQL identifier fragment (it becomes part of schema names)."""
    text = env.get(name, default)
    if (
        not text
        or not all(c.isascii() and (c.isalnum() or c == "_") for c in text)
        or (text[0].isdigit())
    ):
        raise SettingsError(f"{name}: {text!r} must be letters, digits and _ (not first a digit)")
    return text.lower()


def parse_fx_rates(text: str, base_currency: str) -> Mapping[str, Decimal]:
    """Parse "EUR=1.08,CNY=0.14" (1 EUR = 1.08 base) into a read-only mapping."""
    rates: dict[str, Decimal] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        code, sep, value = item.partition("=")
        code = code.strip().upper()
        where = f"SALESPULSE_FX_RATES: {item.strip()!r}"
        if not sep:
            raise SettingsError(f"{where}: expected CODE=RATE, e.g. EUR=1.08")
        if code not in ISO_4217:
            raise SettingsError(f"{where}: {code!r} is not an ISO 4217 code")
        if code in rates:
            raise SettingsError(f"{where}: {code} is given twice")
        try:
            rate = to_decimal(value.strip())
        except ValueError as exc:
            raise SettingsError(f"{where}: {exc}") from None
        if rate <= 0:
            raise SettingsError(f"{where}: a rate must be positive")
        if code == base_currency and rate != 1:
            raise SettingsError(f"{where}: the base currency's rate can only be 1")
        rates[code] = rate
    return MappingProxyType(rates)
