"""Hosting service definitions in a process: their consumers, timers, HTTP apps and upkeep.

The production process hosts one definition; the demo and the scenario runner host them
all. Either way each service is its own consumer on the bus, built the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.consumer import Consumer
from libs.bus.models import InboxMessage, OutboxMessage
from libs.runtime.definition import ServiceDefinition, Wiring
from libs.timers.models import Timer
from libs.timers.service import next_due_at
from libs.timers.ticker import tick

log = logging.getLogger(__name__)

CANCEL_WAIT_S = 5.0  # for a cancelled timer handler to unwind (roll back)
FINAL_PUBLISH_S = 5.0


class ServiceHost:
    """`overrides` replaces a service's adapters by name (deps built elsewhere). A service
    the settings switch off (`ServiceDefinition.enabled`) is not hosted; its note is logged."""

    def __init__(self, wiring: Wiring, definitions: Sequence[ServiceDefinition[Any]],
                 overrides: Mapping[str, Any] | None = None) -> None:
        self.wiring = wiring
        self.definitions: list[ServiceDefinition[Any]] = []
        for d in definitions:
            if d.is_enabled(wiring.settings):
                self.definitions.append(d)
            else:
                log.warning("%s", d.off_note or f"{d.name} is switched off by its settings")
        given = dict(overrides or {})
        self.deps: dict[str, Any] = {
            d.name: given[d.name] if d.name in given else d.deps(wiring)
            for d in self.definitions}
        self.consumers = [
            Consumer(d.name, d.routes(), self.deps[d.name], session_factory=wiring.sessions,
                     transport=wiring.transport, clock=wiring.clock,
                     on_commit=wiring.relay.submit, stateless=d.stateless,
                     retired=d.retired)
            for d in self.definitions if d.handlers]
        self.apps: dict[str, FastAPI] = {}
        for d in self.definitions:
            app = d.http(wiring, self.deps[d.name]) if d.http is not None else None
            if app is not None:
                self.apps[d.name] = app
        self._relay_task: asyncio.Task[None] | None = None
        self._ticks: set[asyncio.Task[int]] = set()
        self._stopping = False

    @property
    def writes_outbox(self) -> bool:
        """Whether a hosted service keeps state (a stateless one publishes directly, and a
        process of those alone runs no relay)."""
        return any(not d.stateless for d in self.definitions)

    @property
    def has_timers(self) -> bool:
        return any(d.timers or d.jobs for d in self.definitions)

    async def next_due(self, session: AsyncSession) -> datetime | None:
        """When the hosted services next have timed work: a timer or a job's row."""
        dues = [await next_due_at(session)]
        for d in self.definitions:
            for job in d.jobs:
                dues.append(await job.next_due(session))
        return min((due for due in dues if due is not None), default=None)

    async def start(self, *, prefetch: int) -> None:
        for consumer in self.consumers:
            await consumer.start(prefetch=prefetch)
        if self.writes_outbox:
            self._relay_task = asyncio.get_running_loop().create_task(self.wiring.relay.run())

    async def tick(self) -> int:
        """Fire every timer due now, for every hosted service that owns timers. The firing
        runs in a task of its own, which `stop` waits for (and cancels past the grace)."""
        task = asyncio.get_running_loop().create_task(self._tick())
        self._ticks.add(task)
        task.add_done_callback(self._ticks.discard)
        return await task

    async def _tick(self) -> int:
        fired = 0
        for d in self.definitions:
            if d.timers:
                fired += await tick(self.wiring.sessions, self.wiring.clock, owner=d.name,
                                    handlers=d.timers, deps=self.deps[d.name],
                                    on_commit=self.wiring.relay.nudge,
                                    stopping=lambda: self._stopping)
            for job in d.jobs:
                if self._stopping:
                    break
                done = await job.run(self.wiring, self.deps[d.name])
                if done:
                    fired += done
                    self.wiring.relay.nudge()
        return fired

    async def prune(self) -> int:
        cutoff = self.wiring.clock.now() - timedelta(days=self.wiring.settings.retention_days)
        return await prune(self.wiring.sessions, self.definitions, cutoff)

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop taking messages and firing timers; those in flight get `grace_s`
        (`SHUTDOWN_GRACE_S` by default) to finish and are then abandoned unacked, so they
        are redelivered. Then the relay publishes what they committed, and stops."""
        grace_s = self.wiring.settings.shutdown_grace_s if grace_s is None else grace_s
        self._stopping = True
        await asyncio.gather(self.wiring.transport.stop_consuming(grace_s),
                             self._settle_ticks(grace_s))
        self.wiring.relay.stop()
        if self._relay_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
            self._relay_task = None
        if self.writes_outbox:
            await self._final_publish()

    async def _settle_ticks(self, grace_s: float) -> None:
        running = set(self._ticks)
        if not running:
            return
        _, unfinished = await asyncio.wait(running, timeout=grace_s)
        if unfinished:
            log.warning("timers still firing after %.1fs; abandoned (they fire again when "
                        "their lease ends)", grace_s)
            for task in unfinished:
                task.cancel()
            await asyncio.wait(unfinished, timeout=CANCEL_WAIT_S)

    async def _final_publish(self) -> None:
        """Publish what the last handlers committed (any process's relay would, later)."""
        try:
            async with asyncio.timeout(FINAL_PUBLISH_S):
                await self.wiring.relay.drain()
        except Exception as exc:
            log.warning("outbox rows left for another relay at shutdown: %r", exc)


async def prune(sessions: async_sessionmaker[AsyncSession],
                definitions: Sequence[ServiceDefinition[Any]], cutoff: datetime) -> int:
    """Delete bookkeeping older than `cutoff`: inbox and fired timer rows of the services,
    published outbox rows, and what each service prunes of its own."""
    removed = 0
    async with sessions() as session, session.begin():
        for d in definitions:
            removed += _count(await session.execute(delete(InboxMessage).where(
                InboxMessage.consumer == d.name, InboxMessage.handled_at < cutoff)))
            removed += _count(await session.execute(delete(Timer).where(
                Timer.owner == d.name, Timer.fired_at < cutoff)))
            if d.prune is not None:
                removed += await d.prune(session, cutoff)
        removed += _count(await session.execute(delete(OutboxMessage).where(
            OutboxMessage.published_at < cutoff)))
    if removed:
        log.info("pruned %d rows older than %s", removed, cutoff.isoformat())
    return removed


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
