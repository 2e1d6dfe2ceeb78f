"""What a query reads through: a consistent read model and the KPI definitions that built it."""

from __future__ import annotations

from dataclasses import dataclass

from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel


@dataclass(frozen=True)
class ReadView:
    """One consistent view: the active projection version's rows and its KPI definitions."""

    model: ReadModel
    kpis: KpiDefinitions
