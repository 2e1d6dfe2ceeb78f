"""Differential: generated histories through real Kafka and a real worker equal the batch oracle."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections.memory.oracle import build_oracle
from salespulse.runtime import fold_context
from tests.integration.conftest import Deployment
from tests.support.compare import counted, differences, empty_reports, explain, query_suite
from tests.support.sample import random_history

pytestmark = pytest.mark.integration

START = date(2026, 10, 1)


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,  # CI reruns the same examples; a failure prints its seed either way
    # No shrinking: each example is a real deployment; the failing example is printed as is.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**16),
    reps=st.integers(8, 14),
    days=st.integers(20, 50),
    resubmit_share=st.sampled_from([0.0, 0.02, 0.1]),
    partitions=st.sampled_from([1, 3, 4]),
    corrections=st.sampled_from([0.0, 2.0, 5.0]),
)
def test_generated_histories_through_kafka_equal_the_oracle(
    new_deployment: Callable[..., Deployment],
    seed: int,
    reps: int,
    days: int,
    resubmit_share: float,
    partitions: int,
    corrections: float,
) -> None:
    # given a generated history with late events, transfers, leavers and target revisions,
    # where some events are published twice (a client resubmitting the same event_id), and
    # orders, payments and deals are corrected by other reps (other partitions), some
    # corrections published before what they correct
    deployment = new_deployment(partitions=partitions)
    ctx = fold_context(deployment.settings)
    events = random_history(
        seed=seed, reps=reps, days=days, start=START, tz=ctx.tz, corrections=corrections
    )
    rnd = random.Random(seed)
    log = [*events]
    for event in events:
        if rnd.random() < resubmit_share:
            log.insert(rnd.randrange(len(log) + 1), event)
    # when it flows through the topic's partitions into a real worker process
    deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many(log)
    deployment.wait_idle()
    # then every query answers exactly what the fold over the plain list answers
    oracle = build_oracle(events, ctx)
    as_of = datetime.combine(START + timedelta(days=days // 2), datetime.min.time(), UTC)
    suite = query_suite(oracle, ctx, as_of, START, START + timedelta(days=days))
    with deployment.store() as store, store.snapshot() as snapshot:
        differ = differences(suite, snapshot, oracle)
        assert differ == [], explain(suite, differ[0], snapshot, oracle)
    assert len(suite) > 100  # the comparison really covers the query surface
    # and what it compares is not empty: every goals and plan report has targets to show
    assert counted(suite, "goals") >= 40 and counted(suite, "plan") >= 40
    assert empty_reports(suite, oracle) == []
    deployment.stop()
