"""The loop every long-running process runs on (`libs/runtime/event_loop.py`)."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from libs.runtime import event_loop


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
