"""The layers stay one way: no module imports a layer above or beside its own (README "Layout")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.layers import PACKAGES, layer_of, violations

ROOT = Path(__file__).resolve().parents[2]


def test_given_the_tree_when_its_imports_are_read_then_none_points_upward() -> None:
    found = violations(ROOT)
    assert not found, "imports against the layers:\n" + "\n".join(map(str, found))


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("path", "source", "imported"),
    [
        ("schemas/codec.py", "from infra.settings import Settings\n", "infra.settings.Settings"),
        ("infra/publisher.py", "import salespulse.cli\n", "salespulse.cli"),
        ("producers/ingest.py", "from projections.model import fold\n", "projections.model.fold"),
        (
            "projections/model/fold.py",
            "from projections.queries import goals\n",
            "projections.queries.goals",
        ),
        (
            "projections/postgres/reads.py",
            "from projections.memory.projection import x\n",
            "projections.memory.projection.x",
        ),
        (
            "projections/queries/goals.py",
            "def f():\n    from projections.targets.decomposition import plan\n",
            "projections.targets.decomposition.plan",
        ),
        (
            "projections/targets/locks.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from streams import replay\n",
            "streams.replay",
        ),
        (
            "streams/replay.py",
            "from salespulse.runtime import open_store\n",
            "salespulse.runtime.open_store",
        ),
        (
            "projections/queries/plan.py",
            "from ..postgres import statements\n",
            "projections.postgres.statements",
        ),
    ],
)
def test_given_a_deliberate_upward_import_when_checked_then_it_is_reported(
    tmp_path: Path, path: str, source: str, imported: str
) -> None:
    root = _tree(tmp_path, {path: source})
    found = violations(root)
    assert [(v.path, v.imported) for v in found] == [(path, imported)]


def test_given_imports_downward_or_within_a_layer_when_checked_then_none_is_reported(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path,
        {
            "projections/queries/goals.py": "from projections.model import kpi\nimport schemas\n",
            "projections/broadcasts/log.py": "from projections.postgres.migrate import migrate\n",
            "streams/replay.py": "from projections.postgres.store import Store\nimport infra\n",
            "salespulse/cli.py": "import streams.replay\nimport os\n",
        },
    )
    assert violations(root) == []


def test_a_module_belongs_to_its_most_specific_layer() -> None:
    assert layer_of("projections.postgres.store") == "projections.postgres"
    assert layer_of("projections") == "projections"
    assert layer_of("salespulse.api.app") == "salespulse"
    assert layer_of("os.path") is None
