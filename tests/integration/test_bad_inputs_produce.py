"""The bad-input corpus against `salespulse produce`: each line reported, the rest published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salespulse.cli import main
from tests.support.bad_inputs import GOOD_ID, corpus, good_line, visit

pytestmark = pytest.mark.integration

CASES = corpus()


@pytest.mark.parametrize(("name", "line", "field"), CASES, ids=[c[0] for c in CASES])
def test_produce_reports_the_bad_line_by_number_and_field_and_publishes_the_rest(
    name: str,
    line: bytes,
    field: str,
    kafka_bootstrap: str,
    unique_topic: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a file of a good line, the bad one, and the good one again under another id
    path = tmp_path / "events.jsonl"
    second = json.dumps(visit(GOOD_ID[:-2] + "99")).encode()
    path.write_bytes(good_line() + b"\n" + line + b"\n" + second + b"\n")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("SALESPULSE_EVENTS_TOPIC", unique_topic)
    # when produced (before the fix: a traceback, or the line accepted and lost downstream)
    code = main(["produce", str(path)])
    out, err = capsys.readouterr()
    # then exactly the bad line is reported, by number and field, and both good ones published
    assert code == 1, err
    assert err.startswith(f"line 2: {field}: " if field else "line 2: "), err
    assert len(err.strip().splitlines()) == 1, err
    assert out.strip() == "published 2, rejected 1"
