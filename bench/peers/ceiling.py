"""The Python ceilings of the peers benchmark: aiokafka reading the topic, raw or decoded.

  python bench/peers/ceiling.py raw|decode   (topic and servers from the SalesPulse env)
Every partition from offset 0 to the end, in one process, the collector paused as the workers
pause it; `decode` runs schemas.trusted.decode_trusted on every record.
"""

from __future__ import annotations

import gc
import sys
import time

from bench_pipeline import consume_aiokafka
from benchlib import end_offsets, settings

from schemas.trusted import decode_trusted


def main() -> None:
    s = settings()
    end = end_offsets(s)
    gc.collect()
    gc.freeze()
    gc.disable()
    handle = decode_trusted if sys.argv[1] == "decode" else (lambda value: None)
    started = time.perf_counter()
    seconds = consume_aiokafka(s, end, handle)
    total = sum(end.values())
    print(f"aiokafka {sys.argv[1]}: {total} records in {seconds:.2f} s "
          f"({time.perf_counter() - started:.2f} s with start-up)")  # fmt: skip


if __name__ == "__main__":
    main()
