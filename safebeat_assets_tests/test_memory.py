"""Releasing a finished run's memory: cycles are collected and glibc's free heap is trimmed."""

import gc
import platform
import weakref

import numpy as np
import pytest

from safebeat_assets.memory import _malloc_trim, release_freed_memory


class _Node:
    def __init__(self, payload):
        self.payload = payload
        self.partner = None


def test_frames_caught_in_a_cycle_are_freed():
    gc.disable()  # only the release may collect the cycle
    try:
        first, second = _Node(np.ones(1_000_000)), _Node(None)
        first.partner, second.partner = second, first
        alive = weakref.ref(first)
        del first, second
        assert alive() is not None, "a cycle outlives its last outside reference"
        assert release_freed_memory() >= 2
        assert alive() is None
    finally:
        gc.enable()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_trims_the_heap_on_glibc():
    assert _malloc_trim() is not None


def test_the_survivors_are_frozen_and_later_cycles_still_collected():
    survivor = [_Node(None)]
    release_freed_memory()
    assert gc.get_freeze_count() > 0
    assert not any(obj is survivor for obj in gc.get_objects()), "the survivor is frozen"
    gc.disable()
    try:
        first, second = _Node(None), _Node(None)
        first.partner, second.partner = second, first
        alive = weakref.ref(first)
        del first, second
        assert release_freed_memory() >= 2
        assert alive() is None
    finally:
        gc.enable()
