"""The event loop and HTTP parser every long-running process uses.

A service spends a large share of its CPU in the event loop itself: every message is a few
socket reads and writes to RabbitMQ, every statement a write to PostgreSQL and a wait for
its answer, every webhook an HTTP request. uvloop (libuv underneath) does that work in C
where asyncio's own loop does it in Python, and httptools parses HTTP in C where h11 parses
it in Python (docs/scaling.md, "The event loop"). Both are drop-in: nothing in a service
depends on which loop runs it, and tests run on asyncio's.

The benchmarks' ceilings run on the same loop and parser, so a ratio to a ceiling compares
like with like.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

import uvloop

T = TypeVar("T")

HTTP_PARSER: Final = "httptools"
"""uvicorn's `http` setting for every server a process runs."""


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on uvloop: the entry point of a service, the demo and a ceiling."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def running_loop_name() -> str:
    """Which loop runs this code ("uvloop" or "asyncio"), for the start-up log line."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]
