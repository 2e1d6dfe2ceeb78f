"""How a replay deals the partitions' remaining ranges to its processes (streams.replay)."""

from __future__ import annotations

import pytest

from projections.model.context import default_context
from streams.replay import ReplayError, _in_processes, _Part, _split


def _part(start: dict[int, int], end: dict[int, int]) -> _Part:
    return _Part("dsn", default_context(), "s_v2", "s", "k:9092", "t", start, end, 100)


def test_one_process_keeps_every_partition_together() -> None:
    (only,) = _split(_part({0: 5}, {0: 10, 1: 20}), processes=1)
    assert only.end == {0: 10, 1: 20} and only.start == {0: 5, 1: 0}


def test_partitions_are_balanced_by_what_is_left_to_read() -> None:
    # given 0..3 with 100, 90, 40, 30 records left (partition 1 resumed at offset 10)
    part = _part({1: 10}, {0: 100, 1: 100, 2: 40, 3: 30})
    # when split two ways (largest first, each to the lighter group)
    groups = _split(part, processes=2)
    # then each group has 130 records, and every partition is in exactly one group
    left = [sum(e - g.start[p] for p, e in g.end.items()) for g in groups]
    assert left == [130, 130]
    assert sorted(p for g in groups for p in g.end) == [0, 1, 2, 3]
    assert groups[1].start[1] == 10  # a resumed partition keeps its own start


@pytest.mark.parametrize("processes", [3, 8])
def test_never_more_processes_than_partitions(processes: int) -> None:
    groups = _split(_part({}, {0: 10, 1: 10}), processes)
    assert len(groups) == 2


def test_a_failing_replay_process_is_reported_with_its_cause() -> None:
    # given two parts whose database cannot be reached (port 1 refuses connections)
    part = _Part(
        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", default_context(),
        "s_v2", "s", "127.0.0.1:1", "t", {}, {0: 10, 1: 10}, 100,
    )  # fmt: skip
    # when they are replayed in two processes
    with pytest.raises(
        ReplayError, match=r"a replay process failed: OperationalError: .*127\.0\.0\.1"
    ):
        list(_in_processes(_split(part, processes=2)))
