"""Every process's operations endpoints, on a port of their own (`OPS_PORT`), so probes
and scrapes never queue behind webhooks and exist in services without an HTTP app:

- `GET /healthz`: the process is up. It checks nothing else, so a database outage does
  not get every process restarted (liveness).
- `GET /readyz`: 200 only while the database answers `SELECT 1`, the broker connection is
  open and the process is not shutting down; 503 naming what failed otherwise (readiness).
- `GET /metrics`: Prometheus text; the backlog gauges are read from the database first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.transport import Transport
from libs.clock import Clock
from libs.metrics import refresh_backlog_gauges
from libs.runtime.web import NO_OPENTELEMETRY

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0
"""A probe answers within this even when the database hangs (probes time out at ~1-5 s)."""

OK = "ok"


@dataclass
class OpsState:
    """What the process tells its ops endpoints: once stopping, it is no longer ready, so
    traffic and new work go elsewhere while what is in flight finishes."""

    stopping: bool = False


async def database_check(sessions: async_sessionmaker[AsyncSession]) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), sessions() as session:
            await session.execute(text("SELECT 1"))
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness: the database did not answer: %s", exc)
        return f"unavailable ({type(exc).__name__})"
    return OK


async def readiness(sessions: async_sessionmaker[AsyncSession],
                    transport: Transport) -> dict[str, str]:
    """Each dependency's state: "ok" or why not."""
    return {"database": await database_check(sessions),
            "broker": OK if transport.is_ready() else "connection closed"}


def readiness_response(checks: Mapping[str, str], *, stopping: bool = False) -> JSONResponse:
    ready = not stopping and all(state == OK for state in checks.values())
    body: dict[str, object] = {"status": "ok" if ready else "unavailable", "checks": dict(checks)}
    if stopping:
        body["stopping"] = True
    return JSONResponse(body, status_code=200 if ready else 503)


def create_ops_app(*, sessions: async_sessionmaker[AsyncSession], transport: Transport,
                   clock: Clock, timer_owners: Iterable[str] = (),
                   state: OpsState | None = None,
                   registry: CollectorRegistry = REGISTRY) -> FastAPI:
    """`timer_owners`: the hosted services that own timers (their lag is exported)."""
    state = state or OpsState()
    owners = tuple(timer_owners)
    app = FastAPI(title="Receptionist ops", docs_url=None, redoc_url=None, openapi_url=None,
                  telemetry=NO_OPENTELEMETRY)
    app.state.ops = state

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        return readiness_response(await readiness(sessions, transport),
                                  stopping=state.stopping)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                await refresh_backlog_gauges(sessions, clock, owners)
        except Exception as exc:  # the counters are still worth a scrape
            log.warning("backlog gauges not refreshed: %r", exc)
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(registry), headers={"Content-Type": content_type})

    return app
