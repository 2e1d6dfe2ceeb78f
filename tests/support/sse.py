"""An SSE subscriber like a browser's EventSource: it reconnects with Last-Event-ID."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class SseFrame:
    event: str
    data: str
    id: str | None


def parse_frames(lines: Iterator[str]) -> Iterator[SseFrame]:
    """Frames from the lines of an SSE body (comments and `retry:` are skipped)."""
    event, data = "message", list[str]()
    frame_id: str | None = None
    for line in lines:
        if line == "":
            if data:
                yield SseFrame(event, "\n".join(data), frame_id)
            event, data, frame_id = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                frame_id = value


@dataclass
class Connection:
    """One connection the subscriber made: the Last-Event-ID it sent and how it ended."""

    sent_last_event_id: str | None
    status: int | None = None
    ended_by: str = "open"


@dataclass
class Subscriber:
    """Follows `url` in a thread, keeping the last id it saw and resuming from it.

    `drop_after_deals`: after that many deal_won frames it drops the connection itself (a
    phone leaving Wi-Fi), to prove its own reconnect misses nothing and repeats nothing.
    """

    url: str
    drop_after_deals: int | None = None
    retry_s: float = 0.2
    frames: list[SseFrame] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    last_id: str | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, name="sse-subscriber", daemon=True)

    def start(self) -> Subscriber:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._response is not None:
                # Unblocks the reader thread, which is waiting for the next line.
                self._response.close()
        self._thread.join(10)

    def deal_ids(self) -> list[str]:
        """broadcast_id of every deal_won frame received, in arrival order (repeats kept)."""
        return [json.loads(f.data)["broadcast_id"] for f in self.frames if f.event == "deal_won"]

    def deal_seqs(self) -> list[int]:
        return [int(f.id) for f in self.frames if f.event == "deal_won" and f.id is not None]

    def wait_for_deals(self, count: int, timeout: float) -> bool:
        """Until at least `count` deal_won frames arrived, or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.deal_ids()) >= count:
                return True
            time.sleep(0.1)
        return False

    def connected(self) -> bool:
        return any(c.status == 200 for c in self.connections) and bool(self.frames)

    def _run(self) -> None:
        deals = 0
        # Read timeout above the server's 15 s keepalive: silence longer than that is a dead peer.
        timeout = httpx.Timeout(5.0, read=30.0)
        with httpx.Client(timeout=timeout) as client:
            while not self._stop.is_set():
                headers = {"Accept": "text/event-stream"}
                if self.last_id is not None:
                    headers["Last-Event-ID"] = self.last_id
                conn = Connection(self.last_id)
                self.connections.append(conn)
                try:
                    with client.stream("GET", self.url, headers=headers) as response:
                        conn.status = response.status_code
                        if response.status_code != 200:
                            conn.ended_by = f"status {response.status_code}"
                        else:
                            with self._lock:
                                self._response = response
                            for frame in parse_frames(response.iter_lines()):
                                self.frames.append(frame)
                                if frame.id is not None:
                                    self.last_id = frame.id
                                if frame.event == "deal_won":
                                    deals += 1
                                    if deals == self.drop_after_deals:
                                        conn.ended_by = "dropped by the subscriber"
                                        break
                            else:
                                conn.ended_by = "closed by the server"
                except (httpx.TransportError, httpx.StreamError) as exc:
                    conn.ended_by = type(exc).__name__
                finally:
                    with self._lock:
                        self._response = None
                self._stop.wait(self.retry_s)
