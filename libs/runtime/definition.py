"""One definition per service: what it consumes, the timers it owns, the adapters it needs.

Both compositions are built from it: the production process (`python -m services.<name>`,
`libs.runtime.process`) and the one-process system (`receptionist.bootstrap`). Queue
bindings are derived from the handler maps, so a message can never be routed to a service
that does not handle it, and a service not built yet has no queue. A service the settings
switch off (`enabled`: calendar without Google credentials) is not hosted and has no queue
either, so nothing piles up for it.
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
class ScheduledJob(Generic[DepsT]):
    """Work a service does on every tick besides firing its timers, for due work it keeps in
    its own table (reminders dispatches thousands of due rows per transaction). `run`
    returns how much it did; `next_due` says when it next has work, so a simulated clock
    can stop there (the scenario runner)."""

    name: str
    run: Callable[[Wiring, DepsT], Awaitable[int]]
    next_due: Callable[[AsyncSession], Awaitable[datetime | None]]


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
    jobs: tuple[ScheduledJob[DepsT], ...] = ()
    http: Callable[[Wiring, DepsT], FastAPI | None] | None = None
    """The service's HTTP app, if it serves one (the adapters may decide: None)."""
    prune: Pruner | None = None
    enabled: Callable[[Settings], bool] | None = None
    """Whether the settings switch the service on (None: always). One switched off is not
    hosted (no consumer, jobs or HTTP app) and has no queue (`bindings_of`)."""
    off_note: str = ""
    """What a process logs, once, when it starts with the service switched off."""
    stateless: bool = False
    """The service changes no state (nlu, ingress): it has no inbox and no outbox, and
    publishes what it emits directly, under ids derived from what caused it."""
    retired: frozenset[str] = frozenset()
    """Message types it consumed in an earlier release and no longer handles: its queue is
    unbound from them when declared (a binding outlives the code that asked for it), and
    one still queued from before is acked with a log line, not dead-lettered."""

    def is_enabled(self, settings: Settings) -> bool:
        return self.enabled is None or self.enabled(settings)

    def routes(self) -> dict[str, Handler[DepsT]]:
        """Handlers by routing key (the message type)."""
        return {message.TYPE: handler for message, handler in self.handlers.items()}

    @property
    def consumes(self) -> frozenset[str]:
        return frozenset(message.TYPE for message in self.handlers)


def bindings_of(definitions: Iterable[ServiceDefinition[Any]],
                settings: Settings | None = None) -> dict[str, frozenset[str]]:
    """Consumer queue -> the message types bound to it: exactly what each one handles. With
    `settings`, a service they switch off has no queue."""
    return {d.name: d.consumes for d in definitions
            if d.consumes and (settings is None or d.is_enabled(settings))}


def retired_of(definitions: Iterable[ServiceDefinition[Any]]) -> dict[str, frozenset[str]]:
    """Consumer queue -> the message types to unbind from it (`ServiceDefinition.retired`)."""
    return {d.name: d.retired - d.consumes for d in definitions if d.retired}
