"""Overlapping a file's parsing, hashing and writing on the machine's cores.

Ingesting a landing file is three kinds of work that each release the GIL for most of their
time: Arrow parsing the CSV, hashing the month fingerprints, and Parquet encoding plus writing
the fragments. Done one after another they take their sum; `read_ahead` parses the next batch
while the current one is hashed, and `BackgroundWrites` encodes and writes fragments while the
next batch is processed. Both keep a fixed number of batches in flight, so memory stays bounded
by the batch size, not the file's.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
# How often a blocked producer looks whether the consumer went away.
_POLL_SECONDS = 0.1


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def read_ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """`items` in order, produced by a background thread that runs up to `depth` items ahead.

    An exception the producer raises is raised here, at the item where it happened. When the
    consumer stops early (an error, or leaving the loop), the producer stops at its next item
    and the source is closed in its own thread.
    """
    if depth < 1:
        raise ValueError("depth must be at least 1")
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(_Failure(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    producer = threading.Thread(target=produce, name="read-ahead", daemon=True)
    producer.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        producer.join()


class SkippedAfterFailureError(RuntimeError):
    """A write not made because an earlier one failed."""


class BackgroundWrites:
    """Runs write calls in one background thread, in submission order, with at most
    `max_pending` not yet finished (submitting more waits for the oldest). Once a write fails,
    none submitted after it is made, as when writing one after the other.

    `wait()` returns once every write finished and raises the first one's error; leaving the
    `with` block waits too, so nothing is still being written when the caller commits (or, on
    an error, when it reports the failure).
    """

    def __init__(self, max_pending: int = 4):
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._max_pending = max_pending
        self._pending: deque[Future] = deque()
        self._failed = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="background-write")

    def submit(self, write: Callable[..., object], *args) -> None:
        while len(self._pending) >= self._max_pending:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._run, write, args))

    def _run(self, write: Callable[..., object], args: tuple) -> None:
        if self._failed.is_set():
            raise SkippedAfterFailureError("not written: an earlier write failed")
        try:
            write(*args)
        except BaseException:
            self._failed.set()
            raise

    def wait(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            for future in self._pending:
                future.cancel()
            self._pending.clear()

    def __enter__(self) -> BackgroundWrites:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.wait()
        finally:
            # On an error, queued writes are dropped; one already running finishes first.
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pending.clear()
