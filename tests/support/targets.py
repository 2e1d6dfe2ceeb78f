"""Helpers for the target integration tests: an org, the CLI as a process, goals and history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from infra.offsets import end_offsets
from schemas.events import AnyEvent
from tests.support.api import auth
from tests.support.builders import Events

# co -> d1 -> (t1: r1, r2; t2: r3), co -> d2 -> t3: (r4, r5)
TEAMS = {"t1": ("r1", "r2"), "t2": ("r3",), "t3": ("r4", "r5")}
SCOPES = [
    "company",
    "unit:d1",
    "unit:d2",
    *(f"unit:{t}" for t in TEAMS),
    *(f"rep:{r}" for reps in TEAMS.values() for r in reps),
]


def org(e: Events) -> list[AnyEvent]:
    """The org of TEAMS under departments d1 (t1, t2) and d2 (t3), all since 2020."""
    parents = {"t1": "d1", "t2": "d1", "t3": "d2"}
    return [
        e.unit("co", "company", None),
        e.unit("d1", "department", "co"),
        e.unit("d2", "department", "co"),
        *(e.unit(t, "team", parents[t]) for t in TEAMS),
        *(e.join(r, t) for t, reps in TEAMS.items() for r in reps),
    ]


def cli(
    env: Mapping[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`salespulse ARGS...` as its own process, in the deployment's environment."""
    return subprocess.run(
        [sys.executable, "-m", "salespulse.cli", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def jsonl(events: Iterable[AnyEvent], path: Path) -> Path:
    """The events as a JSON-lines file for `salespulse produce`."""
    path.write_text("".join(e.model_dump_json(exclude_none=True) + "\n" for e in events))
    return path


def log_size(bootstrap: str, topic: str) -> int:
    """Records ever written to the topic (the sum of its partitions' end offsets)."""
    return sum(end_offsets(bootstrap, topic).values())


def revenue_goal(client: TestClient, scope: str, period: str = "2026-11") -> dict[str, Any]:
    body = client.get(f"/api/goals?scope={scope}&period={period}", headers=auth("admin"))
    assert body.status_code == 200, body.text
    return next(m for m in body.json()["metrics"] if m["metric"] == "revenue")


def amount(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def history(client: TestClient, scope: str, period: str = "2026-11") -> dict[str, Any]:
    url = f"/api/targets/history?scope={scope}&metric=revenue&period={period}"
    response = client.get(url, headers=auth("admin"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def event_json(event: AnyEvent) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(event.model_dump_json(exclude_none=True))
    return out
