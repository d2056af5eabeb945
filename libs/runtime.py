"""Running one service as its own process: connect, declare, consume, relay, stop cleanly.

Every `services/<name>/__main__.py` is a few lines over `run_consumer_service`, so all
services start, retry and shut down the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.bus.amqp import AmqpTransport
from libs.bus.consumer import Consumer
from libs.bus.context import Handler
from libs.bus.outbox import OutboxRelay
from libs.bus.transport import Topology
from libs.clock import Clock, SystemClock
from libs.db.session import make_engine, make_session_factory
from libs.logs import configure_logging
from libs.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a service process is wired with; handlers are built from it."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    transport: AmqpTransport
    relay: OutboxRelay
    clock: Clock


def topology_from(settings: Settings) -> Topology:
    return Topology(prefix=settings.bus_prefix, retry_delays_ms=settings.bus_retry_delays_ms,
                    delivery_limit=settings.bus_delivery_limit)


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings | None = None) -> AsyncIterator[Runtime]:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    transport = AmqpTransport(settings.amqp_url, topology_from(settings))
    await transport.connect()
    await transport.declare()
    clock = SystemClock()
    relay = OutboxRelay(sessions, transport, clock, poll_interval_s=settings.outbox_poll_ms / 1000)
    try:
        yield Runtime(settings, engine, sessions, transport, relay, clock)
    finally:
        await transport.close()
        await engine.dispose()


async def serve_consumer(name: str, build: Callable[[Runtime], Mapping[str, Handler]]) -> None:
    """Consume until SIGINT/SIGTERM; then stop taking messages and let in-flight ones finish."""
    async with open_runtime() as rt:
        consumer = Consumer(name, build(rt), session_factory=rt.session_factory,
                            transport=rt.transport, clock=rt.clock, on_commit=rt.relay.nudge)
        await consumer.start(prefetch=rt.settings.bus_prefetch)
        relay_task = asyncio.create_task(rt.relay.run())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("%s consuming from %s", name, rt.transport.topology.queue(name))
        await stop.wait()
        log.info("%s stopping", name)
        await rt.transport.stop_consuming()
        rt.relay.stop()
        await relay_task


def run_consumer_service(name: str, build: Callable[[Runtime], Mapping[str, Handler]]) -> None:
    configure_logging(get_settings().log_level)
    asyncio.run(serve_consumer(name, build))
