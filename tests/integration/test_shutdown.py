"""Graceful shutdown over real RabbitMQ (and the in-memory twin): once stopping, nothing new
is taken; a message being handled finishes and is acked on its still-open channel; one that
does not finish within the grace is abandoned unacked and redelivered to the next consumer.
Timers being fired get the same grace from the service host."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.consumer import Consumer
from libs.bus.context import HandlerContext
from libs.bus.memory import MemoryTransport
from libs.bus.outbox import OutboxRelay
from libs.bus.transport import Delivery, Topology, Transport
from libs.clock import SimulatedClock, SystemClock
from libs.contracts.commands import ReplyRequested
from libs.contracts.events import CalendarSynced
from libs.runtime.definition import ServiceDefinition, Wiring
from libs.runtime.host import ServiceHost
from libs.settings import Settings
from libs.timers import service as timers
from libs.timers.models import Timer
from tests.helpers import eventually, queue_drained
from tests.integration.test_bus import CONSUMER, connected, consuming, effects, publish

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
BOUND_S = 15.0  # a bound on waiting, never a measure of speed


class Gate:
    """A handler that stops mid-way until released (or forever), then commits an effect."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = False
        self.finished: list[str] = []

    async def __call__(self, ctx: HandlerContext, event: Any, deps: None) -> None:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        label = event.text if isinstance(event, ReplyRequested) else event.key
        ctx.emit(CalendarSynced(booking_id=ctx.correlation_id, calendar_event_id=label,
                                action="inserted", synced_at=ctx.clock.now()))
        self.finished.append(label)


@pytest.fixture(params=["amqp", "memory"])
async def transport(request: pytest.FixtureRequest, topology: Topology,
                    amqp_url: str) -> AsyncIterator[Transport]:
    t: Transport
    t = await connected(amqp_url, topology) if request.param == "amqp" else MemoryTransport(
        topology)
    if isinstance(t, MemoryTransport):
        await t.connect()
        await t.declare()
    yield t
    await t.close()


async def start_gated(transport: Transport, sessions: Sessions) -> Gate:
    gate = Gate()
    await Consumer(CONSUMER, {ReplyRequested.TYPE: gate}, None, session_factory=sessions,
                   transport=transport, clock=SystemClock()).start(prefetch=10)
    return gate


async def next_consumer_receives(transport: Transport, amqp_url: str,
                                 topology: Topology) -> list[str]:
    """Everything left in the queue, as a consumer started after the stop receives it."""
    received: list[str] = []

    async def take(delivery: Delivery) -> None:
        received.append(json.loads(delivery.body)["payload"]["text"])
        await delivery.ack()

    if isinstance(transport, MemoryTransport):
        await transport.consume(CONSUMER, take, prefetch=10)
        await transport.wait_idle()
        return received
    fresh = await connected(amqp_url, topology)
    try:
        await fresh.consume(CONSUMER, take, prefetch=10)
        await eventually(lambda: queue_drained(amqp_url, topology.queue(CONSUMER)),
                         within_s=BOUND_S, what="the queue to be drained")
    finally:
        await fresh.close()
    return received


async def test_a_message_being_handled_finishes_and_is_acked_while_new_ones_wait(
        transport: Transport, session_factory: Sessions, amqp_url: str,
        topology: Topology) -> None:
    gate = await start_gated(transport, session_factory)
    await publish(transport, "in-flight")
    await asyncio.wait_for(gate.started.wait(), BOUND_S)

    stopping = asyncio.create_task(transport.stop_consuming(grace_s=60))
    await publish(transport, "too-late")  # published after the stop began: not taken
    await asyncio.sleep(0.2)
    assert not stopping.done(), "the stop did not wait for the message in flight"
    gate.release.set()
    await asyncio.wait_for(stopping, BOUND_S)

    assert gate.finished == ["in-flight"] and not gate.cancelled
    assert await effects(session_factory, "in-flight") == 1
    assert await effects(session_factory, "too-late") == 0
    # The handled message was acked: the next consumer gets only the one never taken.
    assert await next_consumer_receives(transport, amqp_url, topology) == ["too-late"]


async def test_a_message_unfinished_within_the_grace_is_left_unacked_and_redelivered(
        transport: Transport, session_factory: Sessions, amqp_url: str,
        topology: Topology) -> None:
    gate = await start_gated(transport, session_factory)
    await publish(transport, "stuck")
    await asyncio.wait_for(gate.started.wait(), BOUND_S)

    await asyncio.wait_for(transport.stop_consuming(grace_s=0.2), BOUND_S)
    assert gate.cancelled and gate.finished == []
    assert await effects(session_factory, "stuck") == 0

    if isinstance(transport, MemoryTransport):  # the same broker, a new consumer
        handler = await consuming(transport, session_factory)
        again: Transport = transport
    else:  # a new process: its own connection
        again = await connected(amqp_url, topology)
        handler = await consuming(again, session_factory)

    async def redelivered() -> bool:
        return await effects(session_factory, "stuck") == 1

    await eventually(redelivered, within_s=BOUND_S, what="the abandoned message redelivered")
    assert handler.calls == ["stuck"]  # it was never committed, so handled for real now
    if again is not transport:
        await again.close()


# --- timers through the service host ------------------------------------------------------


async def host_with_timer(sessions: Sessions, gate: Gate) -> ServiceHost:
    async with sessions() as s, s.begin():
        await timers.schedule(s, owner="slowpoke", kind="slow", key="slow:1",
                              business_id="salon", due_at=datetime(2026, 12, 1, tzinfo=UTC))
    clock = SimulatedClock(datetime(2026, 12, 2, tzinfo=UTC))
    transport = MemoryTransport(Topology(prefix="shutdown", retry_delays_ms=(100,)))
    await transport.connect()
    definition: ServiceDefinition[None] = ServiceDefinition(
        name="slowpoke", deps=lambda wiring: None, timers={"slow": gate})
    return ServiceHost(Wiring(settings=Settings(), clock=clock, sessions=sessions,
                              transport=transport,
                              relay=OutboxRelay(sessions, transport, clock)), [definition])


async def fired_at(sessions: Sessions) -> datetime | None:
    async with sessions() as s:
        return await s.scalar(select(Timer.fired_at).where(Timer.key == "slow:1"))


async def test_the_host_lets_a_timer_being_fired_finish_before_it_stops(
        session_factory: Sessions) -> None:
    gate = Gate()
    host = await host_with_timer(session_factory, gate)
    await host.start(prefetch=1)
    ticking = asyncio.create_task(host.tick())
    await asyncio.wait_for(gate.started.wait(), BOUND_S)
    stopping = asyncio.create_task(host.stop(grace_s=60))
    await asyncio.sleep(0.2)
    assert not stopping.done(), "the stop did not wait for the timer being fired"
    gate.release.set()
    await asyncio.wait_for(stopping, BOUND_S)
    assert await ticking == 1
    assert await fired_at(session_factory) is not None
    assert await effects(session_factory, "slow:1") == 1
    await host.wiring.transport.close()


async def test_the_host_abandons_a_timer_unfinished_within_the_grace(
        session_factory: Sessions) -> None:
    gate = Gate()
    host = await host_with_timer(session_factory, gate)
    await host.start(prefetch=1)
    ticking = asyncio.create_task(host.tick())
    await asyncio.wait_for(gate.started.wait(), BOUND_S)
    await asyncio.wait_for(host.stop(grace_s=0.2), BOUND_S)
    assert gate.cancelled
    with pytest.raises(asyncio.CancelledError):
        await ticking
    assert await fired_at(session_factory) is None  # it fires when its lease ends
    assert await host.tick() == 0  # a stopped host fires nothing more
    await host.wiring.transport.close()
