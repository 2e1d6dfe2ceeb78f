"""Publish `salespulse simulate` output from stdin without its corrections (the peers' topic).

The workload is the plain sum of OrderSigned amounts, while SalesPulse applies amendments,
cancellations, reversals, reopenings and credit assignments to an order's numbers, so the
topic holds none of them. Everything else goes on as `simulate --publish` sends it, through the
same admission and publisher, resubmitted event ids included (the workload de-duplicates).
Usage: salespulse simulate ... | .venv/bin/python bench/peers/publish_plain.py
"""

from __future__ import annotations

import json
import sys
from itertools import islice

from infra.publisher import EventPublisher
from infra.settings import Settings
from producers.admission import Admission

CORRECTIONS = frozenset(
    {"OrderAmended", "OrderCancelled", "PaymentReversed", "OpportunityReopened", "CreditAssigned"}
)


def main() -> None:
    settings = Settings.from_env()
    admission = Admission(settings, dedupe_within_input=False)
    lines = (line for line in sys.stdin if json.loads(line)["type"] not in CORRECTIONS)
    published = 0
    with EventPublisher(settings, source="simulator") as publisher:
        while batch := list(islice(lines, 5000)):
            events = [admission.generated(line, published + i) for i, line in enumerate(batch)]
            published += publisher.publish_many(events)
    print(f"published {published} events without corrections", file=sys.stderr)


if __name__ == "__main__":
    main()
