"""Read the next PagerDuty page while the current one is mapped and queued for Port.

One background thread per resource keeps PagerDuty requests serial (as PagerDuty asks) and a
small queue keeps memory bounded: at most `depth` pages wait to be mapped.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


class _Done:
    """Queued after the source's last item."""


_DONE = _Done()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield what `source` yields, produced one step ahead on a worker thread."""
    slots: queue.Queue[T | _Failure | _Done] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: T | _Failure | _Done) -> bool:
        """Queue `item` unless the consumer has gone away; False when it has."""
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            offer(_Failure(exc))

    worker = threading.Thread(target=produce, name="pagerduty-read", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
