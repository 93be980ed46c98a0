"""Reading ahead and writing behind: same order, errors raised where they belong, nothing left
running."""

from __future__ import annotations

import threading
import time

import pytest

from safebeat_assets.storage.background import BackgroundWrites, read_ahead


def test_read_ahead_keeps_the_order():
    assert list(read_ahead(iter(range(100)), depth=3)) == list(range(100))
    assert list(read_ahead([])) == []


def test_read_ahead_produces_in_another_thread_while_the_consumer_works():
    threads = []

    def source():
        for i in range(3):
            threads.append(threading.current_thread())
            yield i

    assert list(read_ahead(source())) == [0, 1, 2]
    assert all(t is not threading.current_thread() for t in threads)


def test_read_ahead_stays_within_its_depth():
    produced = []

    def source():
        for i in range(50):
            produced.append(i)
            yield i

    items = read_ahead(source(), depth=2)
    assert next(items) == 0
    time.sleep(0.3)
    # One item handed out, two queued, one made and waiting to be queued: no more.
    assert len(produced) <= 4
    items.close()


def test_read_ahead_raises_the_producers_error_at_its_item():
    def source():
        yield 1
        yield 2
        raise ValueError("bad batch 3")

    got = []
    with pytest.raises(ValueError, match="bad batch 3"):
        for item in read_ahead(source()):
            got.append(item)
    assert got == [1, 2]


def test_a_consumer_leaving_early_stops_and_closes_the_source():
    closed = threading.Event()

    def source():
        try:
            yield from range(10_000)
        finally:
            closed.set()

    before = threading.active_count()
    for item in read_ahead(source()):
        if item == 5:
            break
    assert closed.wait(5)
    assert threading.active_count() == before

    closed.clear()
    with pytest.raises(RuntimeError, match="consumer failed"):
        for item in read_ahead(source()):
            if item == 5:
                raise RuntimeError("consumer failed")
    assert closed.wait(5)


def test_read_ahead_refuses_a_depth_below_one():
    with pytest.raises(ValueError):
        list(read_ahead([1], depth=0))


def test_background_writes_run_in_order_off_the_callers_thread():
    done, threads = [], set()

    def write(i):
        time.sleep(0.001)
        threads.add(threading.current_thread())
        done.append(i)

    with BackgroundWrites(max_pending=3) as writes:
        for i in range(30):
            writes.submit(write, i)
    assert done == list(range(30))
    assert threading.current_thread() not in threads


def test_background_writes_bound_what_is_pending():
    release = threading.Event()
    started = []

    def write(i):
        started.append(i)
        release.wait(5)

    writes = BackgroundWrites(max_pending=2)
    writes.submit(write, 0)
    writes.submit(write, 1)
    blocked = threading.Thread(target=writes.submit, args=(write, 2))
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive()  # the third waits for the first to finish
    release.set()
    blocked.join(5)
    writes.wait()
    assert started == [0, 1, 2]


def test_a_failed_write_is_raised_and_later_writes_are_not_made():
    done = []

    def write(i):
        if i == 3:
            raise OSError("disk full")
        time.sleep(0.01)
        done.append(i)

    with pytest.raises(OSError, match="disk full"), BackgroundWrites(max_pending=2) as writes:
        for i in range(20):
            writes.submit(write, i)
    assert done == [0, 1, 2]  # nothing after the failed write is written


def test_leaving_on_an_error_waits_for_the_running_write():
    finished = threading.Event()

    def write():
        time.sleep(0.2)
        finished.set()

    with pytest.raises(KeyError), BackgroundWrites() as writes:
        writes.submit(write)
        raise KeyError("caller failed")
    assert finished.is_set()
