"""`python -m services.<name>`: one service definition as its own process.

Connect, declare this service's queues, serve the ops endpoints (`/healthz`, `/readyz`,
`/metrics` on `OPS_PORT`), consume, fire its timers (APScheduler, every second), serve its
HTTP app if it has one, prune old bookkeeping hourly. On SIGINT or SIGTERM: report not
ready, stop taking requests, messages and timers, let those in flight finish within
`SHUTDOWN_GRACE_S` (the unfinished are left unacked, so redelivered), then exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import signal
import socket
from collections.abc import AsyncIterator, Callable, Generator, Sequence
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI

from libs import metrics
from libs.bus.amqp import AmqpTransport
from libs.bus.outbox import OutboxRelay
from libs.bus.transport import Topology
from libs.clock import SystemClock
from libs.contracts.registry import types_published_by
from libs.db.session import make_engine, make_session_factory
from libs.logs import configure_logging
from libs.runtime import event_loop
from libs.runtime.definition import ServiceDefinition, Wiring, bindings_of, retired_of
from libs.runtime.host import ServiceHost
from libs.runtime.ops import OpsState, create_ops_app
from libs.settings import Settings, get_settings

log = logging.getLogger(__name__)

TIMER_INTERVAL_S = 1.0
PRUNE_INTERVAL_S = 3600.0


def in_flight_bound(settings: Settings) -> int:
    """Messages a process takes at once: no more than its pool serves, keeping one
    connection for the outbox relay and one for timers and probes."""
    return max(1, min(settings.bus_prefetch, settings.db_pool_size - 2))


def topology_for(settings: Settings, definitions: Sequence[ServiceDefinition[Any]]) -> Topology:
    return Topology(prefix=settings.bus_prefix, retry_delays_ms=settings.bus_retry_delays_ms,
                    delivery_limit=settings.bus_delivery_limit,
                    bindings=bindings_of(definitions, settings),
                    retired=retired_of(definitions))


@contextlib.asynccontextmanager
async def open_wiring(settings: Settings,
                      definitions: Sequence[ServiceDefinition[Any]]) -> AsyncIterator[Wiring]:
    """Database, broker (with the hosted services' queues declared) and the outbox relay."""
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    transport = AmqpTransport(settings.amqp_url, topology_for(settings, definitions))
    try:
        await transport.connect()
        await transport.declare()
        sessions = make_session_factory(engine)
        clock = SystemClock()
        # Only what these services publish: another service's rows are its relay's to send
        # (its broker user may write them; ours may not).
        relay = OutboxRelay(sessions, transport, clock,
                            poll_interval_s=settings.outbox_poll_ms / 1000,
                            types=types_published_by(d.name for d in definitions
                                                     if not d.stateless))
        yield Wiring(settings=settings, clock=clock, sessions=sessions, transport=transport,
                     relay=relay)
    finally:
        await transport.close()
        await engine.dispose()


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside our own loop: the process, not uvicorn, owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _every(seconds: float, job: Callable[[], Any], what: str,
           scheduler: AsyncIOScheduler) -> None:
    async def run() -> None:
        try:
            await job()
        except asyncio.CancelledError:  # shutdown gave up on it; nothing for the scheduler
            log.info("%s interrupted by shutdown", what)
        except Exception:
            log.exception("%s failed; the next run retries", what)

    scheduler.add_job(run, "interval", seconds=seconds, max_instances=1, coalesce=True)


async def serve(definition: ServiceDefinition[Any], settings: Settings | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (by SIGINT/SIGTERM when not given)."""
    settings = settings or get_settings()
    stop = stop or _stop_on_signals()
    metrics.time_garbage_collection()
    async with open_wiring(settings, [definition]) as wiring:
        host = ServiceHost(wiring, [definition])
        ops_state = OpsState()
        ops = _ops_server(host, ops_state, settings)
        ops_task = None
        if ops is not None:
            ops_task = asyncio.create_task(ops[0].serve(sockets=[ops[1]]))
            log.info("ops endpoints (/healthz, /readyz, /metrics) on http://%s:%d",
                     settings.ops_host, settings.ops_port)
        try:
            await host.start(prefetch=in_flight_bound(settings))
            scheduler = AsyncIOScheduler()
            if host.has_timers:
                _every(TIMER_INTERVAL_S, host.tick, f"{definition.name}: timer tick",
                       scheduler)
            _every(PRUNE_INTERVAL_S, host.prune, f"{definition.name}: prune", scheduler)
            scheduler.start()
            servers = [_server(app, settings) for app in host.apps.values()]
            serving = [asyncio.create_task(s.serve()) for s in servers]
            log.info("%s started on %s, %d objects frozen out of the collector's sight",
                     definition.name, event_loop.running_loop_name(), gc.get_freeze_count())
            await stop.wait()
            deadline = asyncio.get_running_loop().time() + settings.shutdown_grace_s
            log.info("%s stopping; work in flight gets up to %.0fs", definition.name,
                     settings.shutdown_grace_s)
            ops_state.stopping = True  # /readyz answers 503 from now on
            scheduler.shutdown(wait=False)
            for server in servers:
                server.should_exit = True  # stop accepting; requests in flight finish
            await asyncio.gather(*serving, return_exceptions=True)
            await host.stop(max(0.0, deadline - asyncio.get_running_loop().time()))
            log.info("%s stopped", definition.name)
        finally:
            if ops is not None and ops_task is not None:
                ops[0].should_exit = True
                await asyncio.gather(ops_task, return_exceptions=True)
                ops[1].close()


def _server(app: FastAPI, settings: Settings) -> EmbeddedServer:
    return EmbeddedServer(uvicorn.Config(
        app, host=settings.http_host, port=settings.http_port, http=event_loop.HTTP_PARSER,
        log_config=None, access_log=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
        forwarded_allow_ips=settings.forwarded_allow_ips))  # whose X-Forwarded-For is trusted


def _ops_server(host: ServiceHost, state: OpsState,
                settings: Settings) -> tuple[EmbeddedServer, socket.socket] | None:
    """The ops endpoints' own server and its bound socket; none when `OPS_PORT` is 0. The
    socket is bound here so that a port in use stops the process with a clear message."""
    if settings.ops_port == 0:
        return None
    wiring = host.wiring
    app = create_ops_app(sessions=wiring.sessions, transport=wiring.transport,
                         clock=wiring.clock, state=state,
                         timer_owners=[d.name for d in host.definitions if d.timers])
    server = EmbeddedServer(uvicorn.Config(
        app, host=settings.ops_host, port=settings.ops_port, http=event_loop.HTTP_PARSER,
        log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1))
    family = socket.AF_INET6 if ":" in settings.ops_host else socket.AF_INET
    try:
        sock = socket.create_server((settings.ops_host, settings.ops_port), family=family)
    except OSError as exc:
        raise RuntimeError(
            f"the ops endpoints cannot listen on {settings.ops_host}:{settings.ops_port} "
            f"({exc.strerror}); set OPS_PORT to a free port, or to 0 to turn them off"
        ) from exc
    return server, sock


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def run_service(definition: ServiceDefinition[Any]) -> None:
    """The body of every `services/<name>/__main__.py`."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, service=definition.name)
    event_loop.run(serve(definition, settings))
