"""A rep's working day of behaviour: calls, visits, and leads moving to MQL and SQL."""

from __future__ import annotations

from producers.simulator.context import Sim
from producers.simulator.org import Rep

CALLS_PER_DAY = 30.0
VISITS_PER_DAY = 4.5
LEADS_PER_DAY = 3.0
MQL_SHARE = 0.45  # of leads
SQL_SHARE = 0.45  # of MQLs

# visit type -> (share, shortest and longest typical minutes, chance it is face to face).
# Proof-of-work and activity checks are often a photo or a check-in, not a meeting.
VISIT_TYPES: dict[str, tuple[float, int, int, float]] = {
    "planned": (0.30, 25, 70, 0.96),
    "route": (0.18, 10, 30, 0.90),
    "distribution": (0.10, 15, 45, 0.85),
    "assisted": (0.08, 30, 90, 0.95),
    "proof_of_work": (0.09, 5, 20, 0.45),
    "activity_check": (0.09, 10, 30, 0.60),
    "inspection": (0.08, 20, 60, 0.90),
    "ad_hoc": (0.08, 5, 45, 0.70),
}
_VISIT_NAMES = tuple(VISIT_TYPES)
_VISIT_CUM: list[float] = []
for _share, *_ in VISIT_TYPES.values():
    _VISIT_CUM.append((_VISIT_CUM[-1] if _VISIT_CUM else 0.0) + _share)
KEY_ACCOUNT_VISIT_SHARE = 0.3  # key accounts are few but visited by plan
LEAD_SOURCES = ("web", "referral", "event", "cold_call", "partner", "inbound_call")


def _count(sim: Sim, mean: float) -> int:
    # Stochastic rounding keeps the long-run mean exact without a Poisson draw per count.
    return int(mean + sim.rng.random())


def rep_day(sim: Sim, rep: Rep, day: int, factor: float) -> None:
    """Everything behavioural one rep does on one weekday; `factor` scales the volume."""
    _calls(sim, rep, day, _count(sim, CALLS_PER_DAY * factor))
    _visits(sim, rep, day, _count(sim, VISITS_PER_DAY * factor))
    _leads(sim, rep, day, _count(sim, LEADS_PER_DAY * factor))


def _calls(sim: Sim, rep: Rep, day: int, n: int) -> None:
    rand = sim.rng.random
    emit = sim.out.rep
    accounts = rep.accounts
    n_accounts = len(accounts)
    counters = sim.counters
    for ts in sim.clock.work_times(sim.rng, day, n):
        r = rand()
        if r < 0.55:
            outcome, duration = "connected", 45 + int(rand() * rand() * 1500)
        elif r < 0.85:
            outcome, duration = "no_answer", 10 + int(rand() * 30)
        else:
            outcome, duration = "voicemail", 20 + int(rand() * 70)
        counters["c"] = call = counters.get("c", 0) + 1
        data = {
            "call_id": f"c-{call}",
            "account_id": accounts[int(rand() * n_accounts)],
            "duration_s": duration,
            "outcome": outcome,
        }
        emit(ts, "CallLogged", rep, data)


def _visits(sim: Sim, rep: Rep, day: int, n: int) -> None:
    rand = sim.rng.random
    accounts = rep.accounts
    for ts in sim.clock.work_times(sim.rng, day, n):
        x = rand()
        kind = next((k for k, c in zip(_VISIT_NAMES, _VISIT_CUM, strict=True) if x < c), "ad_hoc")
        _, lo, hi, f2f_p = VISIT_TYPES[kind]
        key = rand() < KEY_ACCOUNT_VISIT_SHARE
        index = int(rand() * (rep.key_accounts if key else len(accounts)))
        key = index < rep.key_accounts
        duration = lo + int(rand() * (hi - lo + 1))
        if key:
            duration += duration // 2  # key-account meetings run longer
        data = {
            "visit_id": sim.next_id("v"),
            "account_id": accounts[index],
            "visit_type": kind,
            "duration_min": duration,
            "face_to_face": rand() < f2f_p,
            "key_account": key,
        }
        sim.out.rep(ts, "VisitCompleted", rep, data)


def _leads(sim: Sim, rep: Rep, day: int, n: int) -> None:
    rng = sim.rng
    for ts in sim.clock.work_times(rng, day, n):
        lead_id = sim.next_id("l")
        source = LEAD_SOURCES[int(rng.random() * len(LEAD_SOURCES))]
        sim.out.rep(ts, "LeadCreated", rep, {"lead_id": lead_id, "source": source})
        if rng.random() >= MQL_SHARE:
            continue
        # Marketing qualifies within days, sales accepts (SQL) within a week or so.
        day2, ts2 = sim.clock.follow_up(rng, ts, day, 0, 3)
        sim.out.rep(ts2, "LeadQualified", rep, {"lead_id": lead_id, "level": "MQL"})
        if rng.random() < SQL_SHARE:
            _, ts3 = sim.clock.follow_up(rng, ts2, day2, 1, 7)
            sim.out.rep(ts3, "LeadQualified", rep, {"lead_id": lead_id, "level": "SQL"})
