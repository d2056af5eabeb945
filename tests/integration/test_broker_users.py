"""Each service's own broker user (issue 19): fsm may not publish `payment.*`, only payments
may; a service reaches only its own queues. Applied with `receptionist bus users` against
the real broker's management API."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import httpx
import pytest
from aiormq.exceptions import ChannelAccessRefused

from libs.bus.amqp import AmqpTransport, queue_state
from libs.bus.transport import PublishError, Topology
from libs.bus.users import management_url_for, user_name
from libs.contracts import events as ev
from libs.contracts.message import Message
from libs.contracts.registry import make_envelope
from libs.runtime.definition import bindings_of
from libs.settings import get_settings
from receptionist.bootstrap import DEFINITIONS, definition, full_topology
from receptionist.cli import main

pytestmark = pytest.mark.integration

SERVICES = [d.name for d in DEFINITIONS]


def _as(amqp_url: str, user: str, password: str) -> str:
    parts = urlsplit(amqp_url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _management(amqp_url: str) -> tuple[str, tuple[str, str]]:
    base, _, admin, password = management_url_for(
        amqp_url, os.environ.get("BUS_MANAGEMENT_URL", ""))
    try:
        httpx.get(f"{base}/api/overview", auth=(admin, password), timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        raise RuntimeError(
            f"the RabbitMQ management API does not answer at {base} ({exc!r}): enable it with "
            "`rabbitmq-plugins enable rabbitmq_management` (scripts/ensure-services does for "
            "a local broker) or set BUS_MANAGEMENT_URL") from exc
    return base, (admin, password)


@pytest.fixture
def users(amqp_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, str]]]:
    """`receptionist bus users` run for a prefix of this test's own; the users removed after."""
    base, admin = _management(amqp_url)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    passwords = {s: secrets.token_hex(16) for s in SERVICES}
    monkeypatch.setenv("BUS_PREFIX", prefix)
    monkeypatch.setenv("AMQP_URL", amqp_url)
    monkeypatch.setenv("BUS_USER_PASSWORDS", json.dumps(passwords))
    get_settings.cache_clear()
    try:
        assert main(["bus", "users"]) == 0
        yield prefix, passwords
    finally:
        get_settings.cache_clear()
        for service in SERVICES:
            httpx.delete(f"{base}/api/users/{quote(user_name(prefix, service), safe='')}",
                         auth=admin, timeout=5)
        asyncio.run(_delete_topology(amqp_url, prefix))


async def _delete_topology(amqp_url: str, prefix: str) -> None:
    admin = AmqpTransport(amqp_url, full_topology(prefix, (200,)))
    await admin.connect()
    await admin.delete_topology()
    await admin.close()


def _paid(booking_id: uuid.UUID) -> Message:
    return ev.PaymentSucceeded(booking_id=booking_id, checkout_session_id="cs_test_forged",
                               amount=Decimal("40.00"), currency="usd",
                               paid_at=datetime(2026, 12, 1, tzinfo=UTC))


async def _publish_as(url: str, topology: Topology, message: Message) -> None:
    transport = AmqpTransport(url, topology)
    await transport.connect()
    try:
        envelope = make_envelope(message, business_id="salon",
                                 occurred_at=datetime(2026, 12, 1, tzinfo=UTC))
        await transport.publish(envelope.to_json(), envelope.type,
                                message_id=str(envelope.event_id))
    finally:
        await transport.close()


def _service_topology(prefix: str, service: str) -> Topology:
    """What the service's own process declares: only its queues."""
    return Topology(prefix=prefix, retry_delays_ms=(200,),
                    bindings=bindings_of([definition(service)]))


async def _count(amqp_url: str, queue: str) -> int:
    async with await aio_pika.connect(amqp_url) as connection:
        return (await queue_state(connection, queue))[0]


def test_only_payments_may_publish_a_payment_and_each_service_keeps_to_its_queues(
        amqp_url: str, users: tuple[str, dict[str, str]]) -> None:
    prefix, passwords = users

    async def check() -> None:
        as_fsm = _as(amqp_url, user_name(prefix, "fsm"), passwords["fsm"])
        as_payments = _as(amqp_url, user_name(prefix, "payments"), passwords["payments"])
        # Each service declares its own queues at start, as its process does.
        for service in ("fsm", "payments"):
            url = as_fsm if service == "fsm" else as_payments
            transport = AmqpTransport(url, _service_topology(prefix, service))
            await transport.connect()
            await transport.declare()
            await transport.close()
        fsm_queue = f"{prefix}.fsm"

        with pytest.raises(PublishError, match="ACCESS_REFUSED"):
            await _publish_as(as_fsm, _service_topology(prefix, "fsm"), _paid(uuid.uuid4()))
        assert await _count(amqp_url, fsm_queue) == 0

        await _publish_as(as_payments, _service_topology(prefix, "payments"),
                          _paid(uuid.uuid4()))
        assert await _count(amqp_url, fsm_queue) == 1

        # fsm may publish its own namespaces (here a booking fact), and not read payments'.
        await _publish_as(as_fsm, _service_topology(prefix, "fsm"), ev.BookingExpired(
            booking_id=uuid.uuid4(), reference="R-1", customer="+15555550100",
            service="Haircut", starts_at=datetime(2026, 12, 2, 15, tzinfo=UTC),
            ends_at=datetime(2026, 12, 2, 15, 45, tzinfo=UTC), status="expired", channel="sms",
            resource=1, deposit_status="none"))
        # ...and move its own messages to its retry tiers and dead queue.
        own = AmqpTransport(as_fsm, _service_topology(prefix, "fsm"))
        await own.connect()
        await own.publish_direct(f"{prefix}.fsm.dead", b"{}", {}, "m-1")
        await own.close()
        assert await _count(amqp_url, f"{prefix}.fsm.dead") == 1
        connection = await aio_pika.connect(as_fsm)
        async with connection:
            channel = await connection.channel()
            payments = await channel.get_queue(f"{prefix}.payments", ensure=False)
            with pytest.raises(ChannelAccessRefused):
                await payments.get(no_ack=False, fail=False)

    asyncio.run(check())


def test_bus_users_refuses_missing_or_short_passwords(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BUS_USER_PASSWORDS", json.dumps({"fsm": "short", "nlu": " "}))
    get_settings.cache_clear()
    try:
        assert main(["bus", "users"]) == 1
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "no user was changed" in err
    assert "fsm: password shorter than 16" in err
    for service in ("ingress", "nlu", "payments", "notifier"):
        assert f"{service}: no password" in err


@pytest.mark.parametrize("value", ["{not json", '["fsm"]', '{"fsm": 7}'])
def test_bus_users_refuses_passwords_that_are_not_a_json_object(
        value: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BUS_USER_PASSWORDS", value)
    get_settings.cache_clear()
    try:
        assert main(["bus", "users"]) == 1
    finally:
        get_settings.cache_clear()
    assert "refused, no user was changed: BUS_USER_PASSWORDS" in capsys.readouterr().err


def test_bus_users_says_so_when_the_management_api_does_not_answer(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BUS_USER_PASSWORDS",
                       json.dumps({s: secrets.token_hex(16) for s in SERVICES}))
    monkeypatch.setenv("BUS_MANAGEMENT_URL", "http://127.0.0.1:9")  # nothing listens
    get_settings.cache_clear()
    try:
        assert main(["bus", "users"]) == 1
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "broker users not applied" in err and "rabbitmq_management" in err
