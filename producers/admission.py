"""The one admission path into the log: validate, convert, apply the target rules, per edge.

`salespulse produce`, `POST /api/events`, the simulator (and the demo's feed), `targets split`
and the CSV import all hand their input to an `Admission`, so an event is accepted or refused
the same way wherever it comes from: parsed and validated into its typed form (field paths
in every error, money as Decimal, the currency checked against the configured rates), then
passed through the edge's guard — the target lock rule (projections/targets/locks.py), which
also stamps `set_by` and overrides. The guard is handed in by the entry point that reads the
projections, so this layer needs nothing above it. What is admitted is published by the edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from infra.settings import Settings
from producers.ingest import FieldError, IngestResult, IngestWarning, Rejection, Validator
from schemas.events import AnyEvent


class Refused(Protocol):
    """Why a guard refused an event: the field to blame and the reason (e.g. a lock)."""

    @property
    def field(self) -> str: ...

    @property
    def reason(self) -> str: ...


class Guard(Protocol):
    """A rule over the projections that an event must pass (projections' TargetGuard)."""

    def check(self, event: AnyEvent) -> AnyEvent | Refused: ...


class Advisor(Protocol):
    """Checks of an event against the projections beyond the target rules (corrections, 撞单):
    `refuse` rejects (a share for an unknown rep), `warn` only warns (the event is accepted)."""

    def refuse(self, event: AnyEvent) -> Refused | None: ...

    def warn(self, event: AnyEvent) -> Sequence[Refused]: ...


class AdmissionError(ValueError):
    """An event our own code generated was refused: a defect to fix, not input to report."""


class Admission:
    """Admits one input's events in order (a lock earlier in the input applies to later ones).

    `dedupe_within_input`: an event_id seen twice in one input is refused the second time
    (a file or request should not repeat itself); off for the simulator, whose duplicates
    stand for clients resubmitting.
    """

    def __init__(
        self,
        settings: Settings,
        guard: Guard | None = None,
        *,
        dedupe_within_input: bool = True,
        advisor: Advisor | None = None,
    ) -> None:
        self._validator = Validator(settings, dedupe=dedupe_within_input)
        self._guard = guard
        self._advisor = advisor
        self.warnings: list[IngestWarning] = []  # of every admitted event so far, in input order

    def line(self, text: str | bytes, index: int) -> AnyEvent | Rejection:
        """One JSON line (`index` 0-based; the line number reported is index + 1)."""
        return self._guarded(self._validator.check_line(text, index), index, index + 1)

    def generated(self, text: str, index: int) -> AnyEvent:
        """One JSON line our own code made (the simulator): admitted, or AdmissionError."""
        outcome = self.line(text, index)
        if isinstance(outcome, Rejection):
            raise AdmissionError("; ".join(outcome.messages()))
        return outcome

    def object(self, obj: Any, index: int) -> AnyEvent | Rejection:
        """One parsed JSON object (numbers as Decimal or int), e.g. of an HTTP body."""
        return self._guarded(self._validator.check_object(obj, index), index, None)

    def objects(self, objs: Iterable[Any]) -> IngestResult:
        """Every object of an input: the accepted ones and the rejections, in input order."""
        result = IngestResult(warnings=self.warnings)
        for index, obj in enumerate(objs):
            outcome = self.object(obj, index)
            if isinstance(outcome, Rejection):
                result.rejected.append(outcome)
            else:
                result.accepted.append(outcome)
        return result

    def as_one(self, events: Sequence[AnyEvent]) -> IngestResult:
        """Events that stand or fall together (a target split): all admitted, or none.

        The events are already typed (built by our own code), so they are checked as the
        objects they serialise to: the same validation as any other input.
        """
        result = self.objects(e.model_dump(mode="json", exclude_none=True) for e in events)
        if result.rejected:
            result.accepted = []
        return result

    def _guarded(
        self, outcome: AnyEvent | Rejection, index: int, line: int | None
    ) -> AnyEvent | Rejection:
        if isinstance(outcome, Rejection):
            return outcome
        if self._guard is not None:
            checked = self._guard.check(outcome)
            if not isinstance(checked, AnyEvent):
                error = FieldError(checked.field, checked.reason)
                return Rejection(index, line, str(outcome.event_id), (error,), refusal=checked)
            outcome = checked
        if self._advisor is not None:
            refused = self._advisor.refuse(outcome)
            if refused is not None:
                error = FieldError(refused.field, refused.reason)
                return Rejection(index, line, str(outcome.event_id), (error,))
            for w in self._advisor.warn(outcome):
                warning = FieldError(w.field, w.reason)
                self.warnings.append(IngestWarning(index, line, str(outcome.event_id), warning))
        return outcome
