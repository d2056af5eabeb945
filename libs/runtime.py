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

from apscheduler.schedulers.asyncio import AsyncIOScheduler
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
from libs.timers.ticker import TimerHandler, tick

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


TIMER_INTERVAL_S = 1.0


def start_timer_ticker(name: str, rt: Runtime, handler: TimerHandler) -> AsyncIOScheduler:
    """APScheduler fires this service's due timers every second; rows are claimed with
    SKIP LOCKED, so every replica may tick and each timer still fires once."""

    async def fire() -> None:
        try:
            await tick(rt.session_factory, rt.clock, owner=name, handler=handler,
                       on_commit=rt.relay.nudge)
        except Exception:
            log.exception("%s: timer tick failed; the next tick retries", name)

    scheduler = AsyncIOScheduler()
    scheduler.add_job(fire, "interval", seconds=TIMER_INTERVAL_S, max_instances=1,
                      coalesce=True)
    scheduler.start()
    return scheduler


@dataclass(frozen=True)
class ServiceParts:
    """What a service contributes to its process: event handlers, and timers if it owns any."""

    handlers: Mapping[str, Handler]
    timers: TimerHandler | None = None


async def serve_consumer(name: str, build: Callable[[Runtime], ServiceParts]) -> None:
    """Consume until SIGINT/SIGTERM; then stop taking messages and let in-flight ones finish."""
    async with open_runtime() as rt:
        parts = build(rt)
        consumer = Consumer(name, parts.handlers, session_factory=rt.session_factory,
                            transport=rt.transport, clock=rt.clock, on_commit=rt.relay.nudge)
        await consumer.start(prefetch=rt.settings.bus_prefetch)
        relay_task = asyncio.create_task(rt.relay.run())
        scheduler = start_timer_ticker(name, rt, parts.timers) if parts.timers else None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("%s consuming from %s", name, rt.transport.topology.queue(name))
        await stop.wait()
        log.info("%s stopping", name)
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        await rt.transport.stop_consuming()
        rt.relay.stop()
        await relay_task


def run_consumer_service(name: str, build: Callable[[Runtime], ServiceParts]) -> None:
    configure_logging(get_settings().log_level)
    asyncio.run(serve_consumer(name, build))
