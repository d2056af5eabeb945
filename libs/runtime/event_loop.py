"""The event loop, HTTP parser and garbage collector settings every long-running process
uses.

A service spends a large share of its CPU in the event loop itself: every message is a few
socket reads and writes to RabbitMQ, every statement a write to PostgreSQL and a wait for
its answer, every webhook an HTTP request. uvloop (libuv underneath) does that work in C
where asyncio's own loop does it in Python, and httptools parses HTTP in C where h11 parses
it in Python (docs/scaling.md, "The event loop"). Both are drop-in: nothing in a service
depends on which loop runs it, and tests run on asyncio's.

The cyclic garbage collector is set for a server (`settle_heap`): Python's defaults suit a
short script, and under a burst of webhooks ingress spent 13% of its CPU in it
(docs/scaling.md, "The garbage collector").

The benchmarks' ceilings run on the same loop, parser and collector settings, so a ratio to
a ceiling compares like with like.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

import uvloop

T = TypeVar("T")

HTTP_PARSER: Final = "httptools"
"""uvicorn's `http` setting for every server a process runs."""

YOUNG_COLLECTION_THRESHOLD: Final = 10_000
"""Allocations between two collections of the youngest generation (Python's default: 700).
A webhook or a turn holds a few hundred objects until it ends, and tens run at once: at 700
the collector scanned them again and again, and promoted them to older generations that it
then scanned too."""


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on uvloop, with the heap settled: the entry point of a service, the
    demo and a ceiling."""
    settle_heap()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def settle_heap() -> None:
    """Set the cyclic garbage collector for a process that runs for long.

    What is there before the loop starts (modules, classes, functions, compiled
    statements: about 130,000 objects in ingress) lives as long as the process. Frozen
    (`gc.freeze`), a full collection no longer walks it: it walks only what was made since,
    where each had taken about 130 ms in ingress. The youngest generation is collected less often
    (`YOUNG_COLLECTION_THRESHOLD`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


def running_loop_name() -> str:
    """Which loop runs this code ("uvloop" or "asyncio"), for the start-up log line."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]
