"""schemathesis against /openapi.json of a real `salespulse api` over a real worker's data.

Every operation gets generated requests in three passes: valid by the schema, invalid by the
schema, and "realistic" (known scopes, reps, units, metrics and broadcasts, any period or day
from year 1 to 9999), since random text never names a known scope and so never reaches the
queries. Bounded to about a minute; no answer may be a 5xx or disagree with the schema the
API publishes.

The operations are driven with hypothesis directly, not with schemathesis' pytest
`from_fixture` integration: that one renames pytest's nodes through `Node._nodeid`, which
pytest 9.2 no longer has.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Floor, wait_for_version
from tests.integration.conftest import Deployment

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(600)]

# Per operation and pass: ~20 operations × 3 passes stay near a minute. A deeper hunt:
# SALESPULSE_FUZZ_EXAMPLES=300.
EXAMPLES = int(os.environ.get("SALESPULSE_FUZZ_EXAMPLES", "40"))
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
Strategies = dict[str, st.SearchStrategy[Any]]


ADMIN_TOKEN = "fuzz-admin-token"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass(frozen=True)
class Target:
    """The API under test and the names its data knows."""

    schema: BaseSchema
    query: Strategies
    path: Strategies
    bodies: Strategies  # by operation label


@pytest.fixture
def deployment(new_deployment: Callable[..., Deployment], tmp_path: Path) -> Deployment:
    """The floor's deployment, with an auth file: every request carries an admin token."""
    made = new_deployment()
    auth = tmp_path / "auth.toml"
    auth.write_text(f'[[tokens]]\ntoken = "{ADMIN_TOKEN}"\nrole = "admin"\nname = "fuzz"\n')
    made.env["SALESPULSE_AUTH_FILE"] = str(auth)
    return made


@pytest.fixture
def target(floor: Floor) -> Target:
    """The schema the running API publishes, pointed at that API, and realistic values."""
    wait_for_version(floor.api, headers=AUTH)
    loaded = schemathesis.openapi.from_url(f"{floor.url}/openapi.json")
    loaded.config.update(request_timeout=10, headers=AUTH)
    # GET /api/stream never ends: a valid one is judged on its first two frames (the
    # leaderboard and the cheer counts, sent at once).
    loaded.config.max_stream_events = 2
    org = httpx.get(f"{floor.url}/api/org", headers=AUTH).json()
    recent = httpx.get(f"{floor.url}/api/broadcasts?limit=50", headers=AUTH).json()
    recent = recent["broadcasts"]
    reps, units = floor.rep_ids(), [u["unit_id"] for u in org["units"]]
    scope = st.sampled_from(["company", *(f"unit:{u}" for u in units), *(f"rep:{r}" for r in reps)])
    metric = st.sampled_from(org["metrics"])
    query: Strategies = {
        "scope": scope,
        "metric": metric,
        "period": period(),
        "units": st.lists(st.sampled_from(units), min_size=1, max_size=3).map(",".join),
        "date": st.dates().map(date.isoformat),
    }
    path: Strategies = {
        "rep_id": st.sampled_from(reps),
        "broadcast_id": st.sampled_from([b["broadcast_id"] for b in recent]),
        "fmt": st.sampled_from(["csv", "xlsx"]),
        "version": st.integers(1, 3),  # the active one, and versions nobody built
    }
    split = st.fixed_dictionaries(
        {
            "scope": scope,
            "metric": metric,
            "period": period(),
            "value": st.decimals(0, 10**9, places=2).map(str),
            "into": st.sampled_from(["quarters", "months", "weeks", "days", "children", "reps"]),
            "by": st.sampled_from(["even", "days", "working-days", "share"]),
        }
    )
    bodies: Strategies = {
        "POST /api/targets/split": split,
        "POST /api/broadcasts/{broadcast_id}/cheers": st.fixed_dictionaries(
            {"rep_id": st.sampled_from(reps)}
        ),
    }
    return Target(loaded, query, path, bodies)


def period() -> st.SearchStrategy[str]:
    """Every period form, mostly near today but from year 1 to 9999 (ISO week 53 included)."""
    year = st.one_of(st.integers(2024, 2028), st.integers(1, 9999))
    return st.one_of(
        year.map(str),
        st.tuples(year, st.integers(1, 12)).map(lambda t: f"{t[0]:04d}-{t[1]:02d}"),
        st.tuples(year, st.integers(1, 4)).map(lambda t: f"{t[0]:04d}-Q{t[1]}"),
        st.tuples(year, st.integers(1, 53)).map(lambda t: f"{t[0]:04d}-W{t[1]:02d}"),
        st.dates().map(date.isoformat),
    )


def fuzz(target: Target, operation: APIOperation, mode: GenerationMode | None) -> None:
    """EXAMPLES requests to one operation (mode None: realistic); raises on a failed check."""
    settings_ = settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    if mode is not None:
        cases = operation.as_strategy(generation_mode=mode)
    else:
        cases = _realistic(target, operation)

    @settings_
    @given(case=cases)
    def run(case: Case) -> None:
        case.call_and_validate(checks=CHECKS, headers=AUTH)

    run()


def _realistic(target: Target, operation: APIOperation) -> st.SearchStrategy[Case]:
    """Valid cases whose names exist: the known ones fixed, the rest generated."""
    names = [p.name for p in operation.query]
    fixed_query = st.fixed_dictionaries({n: target.query[n] for n in names if n in target.query})
    path_names = [p.name for p in operation.path_parameters]
    fixed_path = st.fixed_dictionaries({n: target.path[n] for n in path_names})
    body = target.bodies.get(operation.label)

    @st.composite
    def cases(draw: st.DrawFn) -> Case:
        extra: dict[str, Any] = {} if body is None else {"body": draw(body)}
        strategy = operation.as_strategy(
            query=draw(fixed_query) or None, path_parameters=draw(fixed_path) or None, **extra
        )
        return draw(strategy)

    return cases()


def test_no_operation_answers_5xx_or_off_its_schema(target: Target) -> None:
    # given the API of a running sales floor, every request with an admin token
    results = list(target.schema.get_all_operations())
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    # (every operation in the published document loads)
    assert len(operations) == len(results) >= 15
    failures: dict[str, str] = {}
    started = time.monotonic()
    # when every operation is sent valid, invalid and realistic generated requests
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE, None):
            label = f"{operation.label} ({mode.value if mode else 'realistic'})"
            try:
                fuzz(target, operation, mode)
            except Unsatisfiable:
                # Nothing in the request can be invalid (GET /health has no parameters).
                assert mode == GenerationMode.NEGATIVE, label
            # (schemathesis raises a BaseExceptionGroup of its failures; and every operation's
            # failures are worth reading at once, so none stops the others)
            except (Exception, BaseExceptionGroup) as exc:
                failures[label] = str(exc)
    print(f"{len(operations)} operations × 3 passes in {time.monotonic() - started:.1f}s")
    # then none answered with a server error or outside its published schema
    assert failures == {}, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
