"""The loop and collector settings every long-running process runs with
(`libs/runtime/event_loop.py`)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
import uvloop

from libs.runtime import event_loop


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    """`event_loop.run` settles the heap of the process it runs in: the test process's is
    given back as it was."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


async def _loop_type_and(value: int) -> tuple[type[asyncio.AbstractEventLoop], str, int]:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()), event_loop.running_loop_name(), value


def test_run_runs_the_coroutine_on_uvloop_and_returns_its_value() -> None:
    loop_type, name, value = event_loop.run(_loop_type_and(42))
    assert issubclass(loop_type, uvloop.Loop)
    assert (name, value) == ("uvloop", 42)


def test_the_loop_is_named_asyncio_on_asyncio_own() -> None:
    assert asyncio.run(_loop_type_and(1))[1] == "asyncio"


def test_run_raises_what_the_coroutine_raised() -> None:
    async def fails() -> None:
        raise LookupError("nothing here")

    with pytest.raises(LookupError, match="nothing here"):
        event_loop.run(fails())


def test_settling_freezes_what_exists_and_collects_the_young_less_often() -> None:
    made_before = ["made before"]  # a list: always tracked
    assert any(o is made_before for o in gc.get_objects())
    event_loop.settle_heap()
    made_after = ["made after"]
    tracked = gc.get_objects()
    assert gc.get_freeze_count() > 0
    assert not any(o is made_before for o in tracked)  # frozen: no collection walks it
    assert any(o is made_after for o in tracked)
    assert gc.get_threshold()[0] == event_loop.YOUNG_COLLECTION_THRESHOLD


def test_run_settles_the_heap_before_the_loop_starts() -> None:
    async def frozen() -> int:
        return gc.get_freeze_count()

    gc.unfreeze()
    assert event_loop.run(frozen()) > 0
    assert gc.get_threshold()[0] == event_loop.YOUNG_COLLECTION_THRESHOLD
