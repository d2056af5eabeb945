"""One definition per service: what it consumes, the timers it owns, the adapters it needs.

Both compositions are built from it: the production process (`python -m services.<name>`,
`libs.runtime.process`) and the one-process system (`receptionist.bootstrap`). Queue
bindings are derived from the handler maps, so a message can never be routed to a service
that does not handle it, and a service not built yet has no queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.context import DepsT, Handler, HandlerMap
from libs.bus.outbox import OutboxRelay
from libs.bus.transport import Transport
from libs.clock import Clock
from libs.settings import Settings
from libs.timers.ticker import TimerHandler

Pruner = Callable[[AsyncSession, datetime], Awaitable[int]]
"""Deletes a service's own bookkeeping rows older than the cutoff; returns how many."""


@dataclass(frozen=True)
class Wiring:
    """What a process is wired with, whichever services it hosts."""

    settings: Settings
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    transport: Transport
    relay: OutboxRelay


@dataclass(frozen=True)
class ServiceDefinition(Generic[DepsT]):
    """`deps` builds the service's adapters from the wiring (real ones from settings); a
    composition may hand it others instead (the scenario runner's recording channel)."""

    name: str
    deps: Callable[[Wiring], DepsT]
    handlers: HandlerMap[DepsT] = field(default_factory=dict)
    timers: Mapping[str, TimerHandler[DepsT]] = field(default_factory=dict)
    http: Callable[[Wiring, DepsT], FastAPI | None] | None = None
    """The service's HTTP app, if it serves one (the adapters may decide: None)."""
    prune: Pruner | None = None

    def routes(self) -> dict[str, Handler[DepsT]]:
        """Handlers by routing key (the message type)."""
        return {message.TYPE: handler for message, handler in self.handlers.items()}

    @property
    def consumes(self) -> frozenset[str]:
        return frozenset(message.TYPE for message in self.handlers)


def bindings_of(definitions: Iterable[ServiceDefinition[Any]]) -> dict[str, frozenset[str]]:
    """Consumer queue -> the message types bound to it: exactly what each one handles."""
    return {d.name: d.consumes for d in definitions if d.consumes}
