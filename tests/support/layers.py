"""The layer rules of the tree (README "Layout") and a checker that finds imports breaking them.

A module may import its own layer and the layers below it, never one above or beside it.
Rules are checked on the source with `ast` (every `import` and `from … import`, also inside
functions and under TYPE_CHECKING), so a lazy import cannot hide an upward dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# Layer -> the layers it may import (itself included). Layers are packages or subpackages;
# a module belongs to the longest layer name that prefixes it.
ALLOWED: Mapping[str, frozenset[str]] = {
    "schemas": frozenset({"schemas"}),
    "infra": frozenset({"infra", "schemas"}),
    "producers": frozenset({"producers", "infra", "schemas"}),
    "projections.model": frozenset({"projections.model", "infra", "schemas"}),
    "projections.memory": frozenset(
        {"projections.memory", "projections.model", "infra", "schemas"}
    ),
    "projections.queries": frozenset(
        {"projections.queries", "projections.model", "infra", "schemas"}
    ),
    "projections.postgres": frozenset(
        {"projections.postgres", "projections.model", "infra", "schemas"}
    ),
    "projections.broadcasts": frozenset(
        {
            "projections.broadcasts",
            "projections.postgres",
            "projections.queries",
            "projections.model",
            "infra",
            "schemas",
        }
    ),
    "projections.targets": frozenset(
        {"projections.targets", "projections.queries", "projections.model", "infra", "schemas"}
    ),
    # The package itself (its __init__) holds nothing: every projections module is in a layer.
    "projections": frozenset({"infra", "schemas"}),
    "streams": frozenset({"streams", "projections", "producers", "infra", "schemas"}),
    "salespulse": frozenset(
        {"salespulse", "streams", "projections", "producers", "infra", "schemas"}
    ),
}
PACKAGES = ("schemas", "infra", "producers", "projections", "streams", "salespulse")


@dataclass(frozen=True)
class Violation:
    """An import from `module` (file:line) of `imported`, which its layer may not use."""

    path: str
    line: int
    module: str
    imported: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.imported}"


def layer_of(module: str) -> str | None:
    """The most specific layer a dotted module name belongs to (None: not ours)."""
    found = [name for name in ALLOWED if module == name or module.startswith(name + ".")]
    return max(found, key=len) if found else None


def _allowed(importer: str, imported: str) -> bool:
    own, target = layer_of(importer), layer_of(imported)
    if own is None or target is None:
        return True
    # An allowed name stands for that package and everything in it ("projections": all of it).
    return any(target == ok or target.startswith(ok + ".") for ok in ALLOWED[own])


def _imports(tree: ast.AST, module: str) -> Iterator[tuple[int, str]]:
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                # `from projections.postgres import statements` imports a module of that layer.
                yield node.lineno, f"{base}.{alias.name}" if base else alias.name


def violations(root: Path) -> list[Violation]:
    """Every import under `root`'s packages that breaks ALLOWED."""
    found: list[Violation] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            module = ".".join(rel.parts).removesuffix(".__init__")
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, imported in _imports(tree, module):
                if not _allowed(module, imported):
                    found.append(Violation(str(path.relative_to(root)), line, module, imported))
    return found
