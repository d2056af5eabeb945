"""The ops endpoints without any server behind them: liveness holds, readiness names what
failed, metrics are served even when the backlog gauges cannot be read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from libs.bus.memory import MemoryTransport
from libs.bus.transport import Topology
from libs.clock import SimulatedClock
from libs.db.session import make_engine, make_session_factory
from libs.runtime.ops import OpsState, create_ops_app

NOBODY_LISTENS = "postgresql://postgres@127.0.0.1:1/receptionist"


@pytest.fixture
async def transport() -> AsyncIterator[MemoryTransport]:
    t = MemoryTransport(Topology(prefix="ops", retry_delays_ms=(100,)))
    await t.connect()
    yield t
    await t.close()


async def client_for(transport: MemoryTransport, state: OpsState) -> httpx.AsyncClient:
    engine = make_engine(NOBODY_LISTENS, pool_size=1)
    app = create_ops_app(sessions=make_session_factory(engine), transport=transport,
                         clock=SimulatedClock(datetime(2026, 12, 1, tzinfo=UTC)),
                         timer_owners=["fsm"], state=state)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


async def test_live_but_not_ready_without_a_database(transport: MemoryTransport) -> None:
    async with await client_for(transport, OpsState()) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["broker"] == "ok"
    assert checks["database"] != "ok"


async def test_not_ready_once_the_broker_connection_is_closed_or_stopping(
        transport: MemoryTransport) -> None:
    state = OpsState()
    async with await client_for(transport, state) as client:
        await transport.close()
        closed = await client.get("/readyz")
        state.stopping = True
        stopping = await client.get("/readyz")
    assert closed.status_code == 503
    assert closed.json()["checks"]["broker"] == "connection closed"
    assert stopping.status_code == 503 and stopping.json()["stopping"] is True


async def test_metrics_are_served_in_prometheus_text_even_when_the_gauges_are_stale(
        transport: MemoryTransport) -> None:
    async with await client_for(transport, OpsState()) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(response.text)}
    assert {"receptionist_messages_handled", "receptionist_messages_failed",
            "receptionist_messages_retried", "receptionist_messages_dead_lettered",
            "receptionist_messages_duplicate", "receptionist_handler_duration_seconds",
            "receptionist_timers_fired", "receptionist_outbox_backlog",
            "receptionist_timer_lag_seconds", "receptionist_outbound_messages"} <= names
