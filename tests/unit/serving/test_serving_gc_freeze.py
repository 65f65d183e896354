"""``heap.settle``: collects the garbage first (a replaced model's cycles are not kept), then
freezes what is alive, so full collections no longer walk the loaded models."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from vitrina.serving.gc_freeze import settle

pytestmark = pytest.mark.unit


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_settle_collects_cycles_then_freezes_the_survivors() -> None:
    kept = Node()
    dropped = weakref.ref(Node())
    gc.freeze()  # frozen by an earlier settle: the old cycle must still be collected now
    settle()
    assert dropped() is None
    assert gc.get_freeze_count() > 0
    assert kept not in gc.get_objects()  # frozen: the collector does not walk it
    later = weakref.ref(Node())
    gc.collect()
    assert later() is None  # objects made afterwards are collected as usual
