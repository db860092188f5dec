"""The live feed every session reads: job events from the SDK and dashboard notes, numbered in arrival order.

SDK listeners call ``publish`` from the client's event-loop thread; sessions poll ``since(cursor)`` from the
Bokeh server's loop and receive only what is new, so a job log sends each line once.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from proximity.models import JobEvent

KEEP_EVENTS = 5000


@dataclass(frozen=True)
class FeedItem:
    seq: int
    time: datetime
    text: str
    job_id: str | None = None
    kind: str = "note"
    progress: float | None = None


def describe(event: JobEvent) -> str:
    step = f" {event.step}" if event.step else ""
    message = f": {event.message}" if event.message else ""
    return f"{event.kind}{step}{message}"


class EventHub:
    def __init__(self, keep: int = KEEP_EVENTS):
        self._items: deque[FeedItem] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._seq = 0

    def _append(self, text: str, job_id: str | None, kind: str, progress: float | None) -> FeedItem:
        with self._lock:
            self._seq += 1
            item = FeedItem(self._seq, datetime.now(UTC), text, job_id, kind, progress)
            self._items.append(item)
            return item

    def publish(self, event: JobEvent) -> None:
        self._append(describe(event), event.job_id, event.kind, event.progress)

    def note(self, text: str) -> FeedItem:
        return self._append(text, None, "note", None)

    @property
    def cursor(self) -> int:
        with self._lock:
            return self._seq

    def since(self, cursor: int) -> list[FeedItem]:
        with self._lock:
            return [item for item in self._items if item.seq > cursor]

    def last(self) -> FeedItem | None:
        with self._lock:
            return self._items[-1] if self._items else None
