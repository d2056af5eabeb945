"""Metrics and logs over real RabbitMQ and PostgreSQL: each delivery outcome moves its own
counter, timers and sends are counted, the backlog gauges read the database, the ops and
ingress probes say what is down, and every line logged while handling names the message."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.amqp import AmqpTransport
from libs.bus.context import HandlerContext, PermanentError
from libs.bus.memory import MemoryTransport
from libs.bus.models import OutboxMessage
from libs.bus.outbox import OutboxRelay
from libs.bus.transport import Topology, Transport
from libs.clock import SimulatedClock, SystemClock
from libs.contracts.commands import ReplyRequested
from libs.db.session import make_engine, make_session_factory
from libs.logs import JsonFormatter, MaskingFilter
from libs.metrics import refresh_backlog_gauges
from libs.runtime.definition import Wiring
from libs.runtime.ops import create_ops_app
from libs.settings import Settings
from libs.timers import service as timers
from libs.timers.models import Timer
from libs.timers.ticker import tick
from services.ingress.definition import DEFINITION as INGRESS
from services.notifier.adapters.base import OutboundMessage
from services.notifier.handlers import NotifierDeps, on_reply_requested
from tests.helpers import eventually, handle, reply_envelope
from tests.integration.test_bus import CONSUMER, Recorder, consumer_for, effects, publish

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
TYPE = ReplyRequested.TYPE
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


class Counts:
    """Prometheus samples as differences from when it was made: the registry is shared by
    every test in the session."""

    def __init__(self, *samples: tuple[str, dict[str, str]]) -> None:
        self.start = {self._key(n, labels): self._read(n, labels) for n, labels in samples}

    @staticmethod
    def _key(name: str, labels: dict[str, str]) -> str:
        return name + json.dumps(labels, sort_keys=True)

    @staticmethod
    def _read(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    def delta(self, name: str, **labels: str) -> float:
        return self._read(name, labels) - self.start.get(self._key(name, labels), 0.0)


def message_counts(*, reasons: tuple[str, ...] = ()) -> Counts:
    labels = {"service": CONSUMER, "type": TYPE}
    names = ["receptionist_messages_handled_total", "receptionist_messages_failed_total",
             "receptionist_messages_retried_total", "receptionist_messages_duplicate_total",
             "receptionist_handler_duration_seconds_count"]
    return Counts(*((n, labels) for n in names),
                  *(("receptionist_messages_dead_lettered_total", {**labels, "reason": r})
                    for r in reasons))


@pytest.fixture(params=["amqp", "memory"])
async def transport(request: pytest.FixtureRequest, topology: Topology,
                    amqp_url: str) -> AsyncIterator[Transport]:
    t: Transport
    t = AmqpTransport(amqp_url, topology) if request.param == "amqp" else MemoryTransport(topology)
    await t.connect()
    await t.declare()
    yield t
    await t.close()


async def test_handled_and_duplicate_messages_are_counted_with_their_latency(
        transport: Transport, session_factory: Sessions) -> None:
    counts = message_counts()
    await consumer_for(Recorder(), transport, session_factory).start(prefetch=10)
    env = reply_envelope("counted")
    await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))
    await eventually(lambda: _has(session_factory, "counted"), what="the first delivery")
    await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))  # again
    await publish(transport, "next")
    await eventually(lambda: _has(session_factory, "next"), what="the next message")

    async def duplicate_counted() -> bool:
        return counts.delta("receptionist_messages_duplicate_total", service=CONSUMER,
                            type=TYPE) == 1

    await eventually(duplicate_counted, what="the duplicate to be counted")
    assert counts.delta("receptionist_messages_handled_total", service=CONSUMER,
                        type=TYPE) == 2
    # a fresh delivery of a seen message is not looked up first (first deliveries are the
    # common case): its handler ran and was timed, and its work rolled back on the inbox row
    assert counts.delta("receptionist_handler_duration_seconds_count", service=CONSUMER,
                        type=TYPE) == 3
    assert counts.delta("receptionist_messages_failed_total", service=CONSUMER,
                        type=TYPE) == 0


async def test_a_transient_failure_is_counted_failed_and_retried_then_handled(
        transport: Transport, session_factory: Sessions) -> None:
    counts = message_counts(reasons=("retries_exhausted",))
    await consumer_for(Recorder(fail_times=2), transport, session_factory).start(prefetch=10)
    await publish(transport, "flaky")
    await eventually(lambda: _has(session_factory, "flaky"), what="the retried message")
    labels = {"service": CONSUMER, "type": TYPE}
    assert counts.delta("receptionist_messages_failed_total", **labels) == 2
    assert counts.delta("receptionist_messages_retried_total", **labels) == 2
    assert counts.delta("receptionist_messages_handled_total", **labels) == 1
    assert counts.delta("receptionist_messages_dead_lettered_total", reason="retries_exhausted",
                        **labels) == 0


async def test_exhausted_and_unreadable_messages_are_counted_dead_with_their_reason(
        transport: Transport, session_factory: Sessions) -> None:
    counts = message_counts(reasons=("retries_exhausted", "invalid", "permanent"))
    tiers = len(transport.topology.retry_delays_ms)
    await consumer_for(Recorder(), transport, session_factory).start(prefetch=10)
    await publish(transport, "always-fail")  # fails on every tier, then dead
    await transport.publish(b"not json", TYPE, message_id="garbage")  # dead at once
    await publish(transport, "healthy")

    def dead(reason: str) -> float:
        return counts.delta("receptionist_messages_dead_lettered_total", service=CONSUMER,
                            type=TYPE, reason=reason)

    async def settled() -> bool:
        return (dead("retries_exhausted") == 1 and dead("invalid") == 1
                and await _has(session_factory, "healthy"))

    await eventually(settled, what="two messages dead-lettered and one handled")
    labels = {"service": CONSUMER, "type": TYPE}
    assert counts.delta("receptionist_messages_failed_total", **labels) == tiers + 1
    assert counts.delta("receptionist_messages_retried_total", **labels) == tiers
    assert counts.delta("receptionist_messages_handled_total", **labels) == 1
    assert dead("permanent") == 0


async def test_a_permanent_failure_is_counted_failed_and_dead_not_retried(
        transport: Transport, session_factory: Sessions) -> None:
    counts = message_counts(reasons=("permanent",))
    await consumer_for(Recorder(fail_times=1, permanent=True), transport,
                       session_factory).start(prefetch=10)
    await publish(transport, "doomed")

    async def dead() -> bool:
        return counts.delta("receptionist_messages_dead_lettered_total", service=CONSUMER,
                            type=TYPE, reason="permanent") == 1

    await eventually(dead, what="the permanent failure dead-lettered")
    assert counts.delta("receptionist_messages_failed_total", service=CONSUMER,
                        type=TYPE) == 1
    assert counts.delta("receptionist_messages_retried_total", service=CONSUMER,
                        type=TYPE) == 0


# --- logs while handling -------------------------------------------------------------------


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the process's handler would write, from the loggers a handling touches."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(JsonFormatter(service="process"))
    loggers = [logging.getLogger(n) for n in ("test.handling", "libs.bus.consumer",
                                              "libs.timers.ticker")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    yield stream
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def lines_of(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def logging_handler(ctx: HandlerContext, event: ReplyRequested, deps: None) -> None:
    logging.getLogger("test.handling").info("replying %r to %s", event.text, event.to)


async def test_every_line_logged_while_handling_names_the_message(
        topology: Topology, session_factory: Sessions, json_lines: io.StringIO) -> None:
    transport = MemoryTransport(topology)
    await transport.connect()
    await transport.declare()
    consumer = consumer_for(Recorder(), transport, session_factory)
    consumer.handlers[TYPE] = logging_handler
    await consumer.start(prefetch=1)
    env = reply_envelope("where is my line")
    for _ in range(2):  # the second is a duplicate, logged by the consumer itself
        await transport.publish(env.to_json(), env.type, message_id=str(env.event_id))
        await transport.wait_idle()
    await transport.close()
    lines = [line for line in lines_of(json_lines) if line.get("event_id") == str(env.event_id)]
    # the copy ran its handler too (rolled back on the inbox row), then was named a duplicate
    handling, rolled_back, duplicate = lines
    for line in (handling, rolled_back, duplicate):
        assert line["correlation_id"] == str(env.correlation_id)
        assert line["business_id"] == env.business_id
        assert line["service"] == CONSUMER
        assert line["message_type"] == TYPE
    assert handling["logger"] == rolled_back["logger"] == "test.handling"
    assert "+1******0100" in handling["message"] and "5555550100" not in handling["message"]
    assert duplicate["logger"] == "libs.bus.consumer" and "duplicate" in duplicate["message"]


# --- timers ----------------------------------------------------------------------------------


async def fine(ctx: HandlerContext, timer: Timer, deps: None) -> None:
    logging.getLogger("test.handling").info("firing %s", timer.kind)


async def flaky(ctx: HandlerContext, timer: Timer, deps: None) -> None:
    raise ConnectionError("calendar unreachable")


async def doomed(ctx: HandlerContext, timer: Timer, deps: None) -> None:
    raise PermanentError("the booking is gone")


async def test_timer_outcomes_are_counted_and_logged_with_the_timer(
        session_factory: Sessions, json_lines: io.StringIO) -> None:
    owner = f"obs{uuid.uuid4().hex[:6]}"
    async with session_factory() as s, s.begin():
        for kind in ("fine", "flaky", "doomed"):
            await timers.schedule(s, owner=owner, kind=kind, key=f"{kind}:1",
                                  business_id="salon", due_at=NOW)
    counts = Counts(*((f"receptionist_timers_{what}_total", {"service": owner, "kind": k})
                      for what in ("fired", "failed", "dropped") for k in ("fine", "flaky",
                                                                           "doomed")))
    fired = await tick(session_factory, SimulatedClock(NOW), owner=owner,
                       handlers={"fine": fine, "flaky": flaky, "doomed": doomed}, deps=None)
    assert fired == 1
    assert counts.delta("receptionist_timers_fired_total", service=owner, kind="fine") == 1
    assert counts.delta("receptionist_timers_failed_total", service=owner, kind="flaky") == 1
    assert counts.delta("receptionist_timers_dropped_total", service=owner, kind="doomed") == 1
    assert counts.delta("receptionist_timers_fired_total", service=owner, kind="flaky") == 0
    [firing] = [line for line in lines_of(json_lines) if line["message"] == "firing fine"]
    assert (firing["service"], firing["timer"], firing["business_id"]) == (
        owner, "fine:1", "salon")
    assert uuid.UUID(firing["correlation_id"])


# --- gauges and the ops endpoints -----------------------------------------------------------


async def backlog_rows(sessions: Sessions, unpublished: int, published: int) -> None:
    async with sessions() as s, s.begin():
        for i in range(unpublished + published):
            env = reply_envelope(f"row {i}")
            s.add(OutboxMessage(event_id=env.event_id, type=env.type,
                                business_id=env.business_id,
                                envelope=env.model_dump(mode="json"),
                                published_at=NOW if i >= unpublished else None))


async def test_backlog_gauges_read_the_outbox_and_the_oldest_due_timer(
        session_factory: Sessions) -> None:
    await backlog_rows(session_factory, unpublished=3, published=2)
    async with session_factory() as s, s.begin():
        for key, due in (("old", NOW - timedelta(seconds=90)), ("older", NOW - timedelta(
                seconds=30)), ("future", NOW + timedelta(hours=1))):
            await timers.schedule(s, owner="lagging", kind="ping", key=key,
                                  business_id="salon", due_at=due)
        await timers.schedule(s, owner="idle", kind="ping", key="later",
                              business_id="salon", due_at=NOW + timedelta(minutes=5))
    await refresh_backlog_gauges(session_factory, SimulatedClock(NOW), ["lagging", "idle"])
    assert REGISTRY.get_sample_value("receptionist_outbox_backlog") == 3
    assert REGISTRY.get_sample_value("receptionist_timer_lag_seconds",
                                     {"service": "lagging"}) == 90
    assert REGISTRY.get_sample_value("receptionist_timer_lag_seconds",
                                     {"service": "idle"}) == 0


def ops_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


async def test_ops_endpoints_answer_and_readiness_names_what_is_down(
        amqp_url: str, topology: Topology, session_factory: Sessions) -> None:
    await backlog_rows(session_factory, unpublished=2, published=0)
    transport = AmqpTransport(amqp_url, topology)
    await transport.connect()
    app = create_ops_app(sessions=session_factory, transport=transport,
                         clock=SimulatedClock(NOW), timer_owners=["fsm"])
    async with ops_client(app) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        metrics = await client.get("/metrics")
        await transport.connection.close()  # the broker went away
        broker_down = await client.get("/readyz")
        alive = await client.get("/healthz")
    await transport.close()
    assert metrics.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    [backlog] = families["receptionist_outbox_backlog"].samples
    assert backlog.value == 2
    assert broker_down.status_code == 503
    assert broker_down.json()["checks"] == {"database": "ok", "broker": "connection closed"}
    assert alive.status_code == 200  # liveness does not depend on the broker


async def test_readiness_fails_on_a_wrong_database_url(
        amqp_transport: AmqpTransport, database_url: str) -> None:
    wrong = database_url.rsplit("/", 1)[0] + "/no_such_database_here"
    engine = make_engine(wrong, pool_size=1)
    app = create_ops_app(sessions=make_session_factory(engine), transport=amqp_transport,
                         clock=SystemClock())
    try:
        async with ops_client(app) as client:
            ready = await client.get("/readyz")
    finally:
        await engine.dispose()
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["broker"] == "ok" and checks["database"].startswith("unavailable")


async def test_ingress_answers_its_own_readiness_probe(
        amqp_url: str, topology: Topology, session_factory: Sessions) -> None:
    transport = AmqpTransport(amqp_url, topology)
    await transport.connect()
    clock = SystemClock()
    wiring = Wiring(settings=Settings(), clock=clock, sessions=session_factory,
                    transport=transport, relay=OutboxRelay(session_factory, transport, clock))
    assert INGRESS.http is not None
    app = INGRESS.http(wiring, INGRESS.deps(wiring))
    assert app is not None
    async with ops_client(app) as client:
        ready = await client.get("/readyz")
        await transport.close()
        closed = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert closed.status_code == 503 and closed.json()["checks"]["broker"] != "ok"


# --- outbound sends --------------------------------------------------------------------------


class ProviderDown(Exception):
    pass


class Channel:
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    async def send(self, message: OutboundMessage) -> str:
        if self.fail:
            raise ProviderDown("twilio answered 503")
        return "SM0001"


async def test_sends_are_counted_by_channel_and_outcome(session_factory: Sessions) -> None:
    counts = Counts(("receptionist_outbound_messages_total",
                     {"channel": "sms", "status": "sent"}),
                    ("receptionist_outbound_messages_total",
                     {"channel": "sms", "status": "ProviderDown"}))
    reply = ReplyRequested(channel="sms", to="+15555550100", text="see you")
    clock = SystemClock()
    await handle(on_reply_requested, reply, NotifierDeps(channel=Channel(fail=False)),
                 sessions=session_factory, clock=clock, consumer="notifier")
    with pytest.raises(ProviderDown):
        await handle(on_reply_requested, reply, NotifierDeps(channel=Channel(fail=True)),
                     sessions=session_factory, clock=clock, consumer="notifier")
    assert counts.delta("receptionist_outbound_messages_total", channel="sms",
                        status="sent") == 1
    assert counts.delta("receptionist_outbound_messages_total", channel="sms",
                        status="ProviderDown") == 1


async def _has(sessions: Sessions, text: str) -> bool:
    return await effects(sessions, text) > 0
