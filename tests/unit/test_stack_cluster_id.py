"""The local broker's KRaft cluster id: random, and never read as an option by the storage tool."""

from __future__ import annotations

from salespulse.stack.kafka import new_cluster_id


def test_a_kraft_cluster_id_never_starts_like_an_option() -> None:
    # Given many fresh ids (1 in 64 base64url ids starts with "-", which the storage tool's
    # argument parser takes for an option), then none of ours does, and they stay unique
    ids = [new_cluster_id() for _ in range(5000)]
    assert not any(i.startswith("-") for i in ids) and len(set(ids)) == 5000
    assert all(len(i) == 22 for i in ids)
