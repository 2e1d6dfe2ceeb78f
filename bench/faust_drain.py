"""A faust worker that drains the log like `project_events` but applies nothing (bench only).

The same app (streams.app.create_app) and the same take_events(batch_max, within) loop as the
real agent; BENCH_DRAIN_DECODE=1 also runs streams.batching.decode_batch on each batch, and
BENCH_DRAIN_UVLOOP=1 runs it on uvloop. It prints `FIRST <unix time>` at its first batch and
`DONE <unix time> <events>` once it has seen BENCH_DRAIN_TOTAL events, then stops itself.
bench_pipeline.py runs it to measure what faust alone (and faust + decode) sustains, without
PostgreSQL and without a profiler's distortion.
"""

from __future__ import annotations

import os
import signal
import time

import faust

from infra.settings import Settings
from streams.app import create_app
from streams.batching import RawRecord, decode_batch


def main() -> None:
    if os.environ.get("BENCH_DRAIN_UVLOOP") == "1":
        # What-if: the same worker on uvloop's event loop instead of asyncio's.
        import asyncio

        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    settings = Settings.from_env()
    total = int(os.environ["BENCH_DRAIN_TOTAL"])
    decode = os.environ.get("BENCH_DRAIN_DECODE") == "1"
    app = create_app(settings)
    topic = app.topic(settings.events_topic, key_type=bytes, value_type=bytes)

    @app.agent(topic, name="drain_events")
    async def drain_events(stream: faust.StreamT[bytes]) -> None:
        seen = 0
        within = settings.batch_within_ms / 1000
        async for events in stream.take_events(settings.batch_max, within=within):
            if not seen:
                print(f"FIRST {time.time():.6f}", flush=True)
            if decode:
                decode_batch(
                    RawRecord(
                        e.message.topic,
                        e.message.partition,
                        e.message.offset,
                        e.message.key,
                        e.message.value,
                    )
                    for e in events
                )
            seen += len(events)
            if seen >= total:
                print(f"DONE {time.time():.6f} {seen}", flush=True)
                os.kill(os.getpid(), signal.SIGTERM)

    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
