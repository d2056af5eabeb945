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
from libs.timers.ticker import tick

log = logging.getLogger(__name__)


class ServiceHost:
    """`overrides` replaces a service's adapters by name (deps built elsewhere)."""

    def __init__(self, wiring: Wiring, definitions: Sequence[ServiceDefinition[Any]],
                 overrides: Mapping[str, Any] | None = None) -> None:
        self.wiring = wiring
        self.definitions = list(definitions)
        given = dict(overrides or {})
        self.deps: dict[str, Any] = {
            d.name: given[d.name] if d.name in given else d.deps(wiring)
            for d in self.definitions}
        self.consumers = [
            Consumer(d.name, d.routes(), self.deps[d.name], session_factory=wiring.sessions,
                     transport=wiring.transport, clock=wiring.clock,
                     on_commit=wiring.relay.nudge)
            for d in self.definitions if d.handlers]
        self.apps: dict[str, FastAPI] = {
            d.name: d.http(wiring, self.deps[d.name])
            for d in self.definitions if d.http is not None}
        self._relay_task: asyncio.Task[None] | None = None

    @property
    def has_timers(self) -> bool:
        return any(d.timers for d in self.definitions)

    async def start(self, *, prefetch: int) -> None:
        for consumer in self.consumers:
            await consumer.start(prefetch=prefetch)
        self._relay_task = asyncio.get_running_loop().create_task(self.wiring.relay.run())

    async def tick(self) -> int:
        """Fire every timer due now, for every hosted service that owns timers."""
        fired = 0
        for d in self.definitions:
            if d.timers:
                fired += await tick(self.wiring.sessions, self.wiring.clock, owner=d.name,
                                    handlers=d.timers, deps=self.deps[d.name],
                                    on_commit=self.wiring.relay.nudge)
        return fired

    async def prune(self) -> int:
        cutoff = self.wiring.clock.now() - timedelta(days=self.wiring.settings.retention_days)
        return await prune(self.wiring.sessions, self.definitions, cutoff)

    async def stop(self) -> None:
        """Stop taking messages; those in flight finish (an unsettled one is redelivered)."""
        await self.wiring.transport.stop_consuming()
        self.wiring.relay.stop()
        if self._relay_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
            self._relay_task = None


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
