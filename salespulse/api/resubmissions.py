"""One event_id, one content at the HTTP edge: a resubmission must repeat what was accepted.

An event_id already accepted (applied by the projections, or accepted by this process and
maybe not applied yet) may come again, unchanged: that is a client retrying, and it is
harmless. With other content (another rep, another amount) it is refused here, naming the
event id; copies that still get in (two edges racing) are settled by the fold's rule
(projections.model.batch.settle_copies: the first copy applied counts).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from uuid import UUID

from producers.ingest import FieldError, Rejection
from salespulse.api.readside import ReadModelFactory
from schemas.events import AnyEvent
from schemas.fingerprint import fingerprint

log = logging.getLogger(__name__)

RECENT = 200_000  # ids remembered by this process (16-byte fingerprints: a few MB)


class Resubmissions:
    """What this process accepted lately, and the projections' record of what was applied."""

    def __init__(self) -> None:
        self._recent: OrderedDict[UUID, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def conflicts(self, events: Sequence[AnyEvent], read_side: ReadModelFactory) -> dict[UUID, str]:
        """event_id -> why, for the events whose id was accepted with other content."""
        prints = {e.event_id: fingerprint(e) for e in events}
        known: dict[UUID, bytes | None] = {}
        with self._lock:
            for event_id in prints:
                if event_id in self._recent:
                    known[event_id] = self._recent[event_id]
        unknown = [i for i in prints if i not in known]
        if unknown:
            try:
                with read_side() as view:
                    known.update(view.model.applied_fingerprints(unknown))
            except Exception as exc:  # nothing projected yet, or the database away
                log.info("resubmission check against the projections skipped: %s", exc)
        return {
            event_id: (
                f"event_id {event_id} was accepted before with other content: resubmit it "
                "unchanged, or give the new event its own event_id"
            )
            for event_id, print_ in prints.items()
            if known.get(event_id) not in (None, print_)
        }

    def remember(self, events: Sequence[AnyEvent]) -> None:
        with self._lock:
            for event in events:
                self._recent[event.event_id] = fingerprint(event)
                self._recent.move_to_end(event.event_id)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)


def refuse(index: int, event: AnyEvent, reason: str) -> Rejection:
    return Rejection(index, None, str(event.event_id), (FieldError("event_id", reason),))
