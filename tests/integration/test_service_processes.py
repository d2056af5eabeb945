"""Each service's production entry point (`python -m services.<name>`) as a real OS process
against RabbitMQ and PostgreSQL: it starts, handles one message, and on SIGTERM exits 0.

The processes read their configuration from an explicit environment only, run in a
temporary directory (no stray `.env`), and use the test's own bus prefix, so their queues
are isolated and deleted afterwards by the `topology` fixture.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.context import derived_event_id
from libs.bus.models import InboxMessage, OutboxMessage
from libs.business.profile import BusinessProfile
from libs.contracts.commands import DepositRequested
from libs.contracts.envelope import Envelope
from libs.contracts.events import InboundMessageReceived, MessageUnderstood, Slots
from libs.contracts.message import Message
from libs.contracts.registry import make_envelope
from libs.contracts.vocabulary import ConversationState
from services.fsm.models import Conversation
from services.notifier.models import MessageLog
from services.payments.models import Deposit
from tests.helpers import reply_envelope
from tests.process_kit import START_BOUND_S, Harness, ServiceProcess, free_port, read_log

pytestmark = pytest.mark.integration

PUBLIC_URL = "https://receptionist.example.com"
TWILIO_TOKEN = "twilio-test-auth-token"
SALON_ID = "salon"
SALON_SMS = "+12125550100"
CUSTOMER = "+15555550101"


async def serve_one(harness: Harness, name: str, envelope: Envelope,
                    effect: Callable[[], Awaitable[bool]], what: str,
                    **extra_env: str) -> ServiceProcess:
    """Start `name`, wait until it consumes, publish `envelope`, wait for `effect`; stop it
    with SIGTERM and require a clean exit. Returns the stopped process (for its output)."""
    async with harness.service(name, **extra_env) as proc:

        async def consuming() -> bool:
            return await harness.consumers_on(name) >= 1

        # The process declares its own queue: a consumer on it means it is up.
        await proc.until(consuming, f"services.{name} to consume from its queue",
                         within_s=START_BOUND_S)
        async with harness.bus() as transport:  # idempotent: same arguments as the process
            await transport.publish(envelope.to_json(), envelope.type,
                                    message_id=str(envelope.event_id))
        await proc.until(effect, what)
        await proc.stop()
        return proc


def envelope_of(message: Message) -> Envelope:
    return make_envelope(message, business_id=SALON_ID, occurred_at=datetime.now(UTC))


async def outbox_rows(sessions: async_sessionmaker[AsyncSession],
                      message_type: str) -> list[OutboxMessage]:
    async with sessions() as s:
        return list((await s.scalars(
            select(OutboxMessage).where(OutboxMessage.type == message_type))).all())


def bookable_day(profile: BusinessProfile) -> date:
    """A Tuesday or Wednesday a few days ahead: open, no deposit rule, well past the notice."""
    today = datetime.now(ZoneInfo(profile.timezone)).date()
    day = today + timedelta(days=2)
    while day.weekday() not in (1, 2) or day in profile.closed_dates:
        day += timedelta(days=1)
    return day


# --- one test per service ----------------------------------------------------------------


async def test_nlu_process_reads_a_message_and_emits_what_it_understood(
        harness: Harness) -> None:
    envelope = envelope_of(InboundMessageReceived(
        channel="sms", provider_message_id="SMproc0001", customer=CUSTOMER, to=SALON_SMS,
        text="can i get a haircut tomorrow at 3pm", received_at=datetime.now(UTC)))

    async with harness.service("nlu") as proc:

        async def consuming() -> bool:
            return await harness.consumers_on("nlu") >= 1

        await proc.until(consuming, "services.nlu to consume from its queue",
                         within_s=START_BOUND_S)
        async with harness.bus() as transport:  # every queue, fsm's among them
            await transport.publish(envelope.to_json(), envelope.type,
                                    message_id=str(envelope.event_id))
        body = await harness.first_message_for(proc, "fsm", "the understanding in fsm's queue")
        await proc.stop()
    understood = Envelope.from_json(body)
    assert understood.type == MessageUnderstood.TYPE
    assert understood.payload["intent"] == "book", (understood, proc.output())
    assert understood.payload["slots"]["service"] == "Haircut", (understood, proc.output())
    assert understood.causation_id == envelope.event_id
    # Stateless: the id derives from the message read (a redelivery repeats it, and fsm's
    # inbox absorbs it), and nothing is kept: no inbox row, no outbox row.
    assert understood.event_id == derived_event_id(envelope.event_id, "nlu", 0)
    async with harness.sessions() as s:
        assert (await s.scalars(select(InboxMessage.consumer))).all() == []
    assert await outbox_rows(harness.sessions, MessageUnderstood.TYPE) == []


async def test_fsm_process_plays_a_booking_request_to_confirming(harness: Harness) -> None:
    day = bookable_day(harness.profile)
    envelope = envelope_of(MessageUnderstood(
        channel="sms", provider_message_id="SMproc0002", customer=CUSTOMER,
        text=f"haircut on {day.isoformat()} at 10am", received_at=datetime.now(UTC),
        intent="book", slots=Slots(service="Haircut", date=day, time=time(10, 0)),
        confidence=0.95, extractor="rules"))

    async def confirming() -> bool:
        async with harness.sessions() as s:
            state = await s.scalar(select(Conversation.state))
        replies = await outbox_rows(harness.sessions, "reply.requested.v1")
        return state == ConversationState.CONFIRMING and any(
            r.published_at is not None for r in replies)

    proc = await serve_one(harness, "fsm", envelope, confirming,
                           "a CONFIRMING conversation and a published reply.requested.v1")
    [reply] = await outbox_rows(harness.sessions, "reply.requested.v1")
    assert reply.envelope["payload"]["to"] == CUSTOMER, (reply.envelope, proc.output())
    assert "Haircut" in reply.envelope["payload"]["text"], (reply.envelope, proc.output())


async def test_payments_process_opens_a_checkout_for_a_deposit(harness: Harness) -> None:
    booking_id = uuid.uuid4()
    envelope = envelope_of(DepositRequested(
        booking_id=booking_id, reference="PROC01", customer=CUSTOMER, channel="sms",
        amount=Decimal("15.00"), currency="usd", attempt=1,
        hold_expires_at=datetime.now(UTC) + timedelta(minutes=15),
        description="Deposit for Haircut"))

    async def checkout() -> bool:
        rows = await outbox_rows(harness.sessions, "checkout.created.v1")
        return any(r.published_at is not None for r in rows)

    proc = await serve_one(harness, "payments", envelope, checkout,
                           "a published checkout.created.v1 outbox row",
                           PAYMENTS_GATEWAY="offline", PUBLIC_BASE_URL=PUBLIC_URL,
                           STRIPE_WEBHOOK_SECRET="whsec_process_test")
    async with harness.sessions() as s:
        [deposit] = (await s.scalars(select(Deposit))).all()
    assert deposit.booking_id == booking_id, proc.output()
    assert deposit.status == "open" and deposit.amount == Decimal("15.00"), proc.output()
    assert (deposit.checkout_url or "").startswith(PUBLIC_URL + "/checkout/"), proc.output()
    [created] = await outbox_rows(harness.sessions, "checkout.created.v1")
    assert created.envelope["payload"]["url"] == deposit.checkout_url, proc.output()


async def test_notifier_process_logs_the_reply_it_delivers(harness: Harness) -> None:
    envelope = reply_envelope("see you on Tuesday")

    async def logged() -> bool:
        async with harness.sessions() as s:
            return await s.scalar(select(MessageLog.id).where(
                MessageLog.event_id == envelope.event_id)) is not None

    proc = await serve_one(harness, "notifier", envelope, logged, "a message_log row")
    async with harness.sessions() as s:
        [entry] = (await s.scalars(select(MessageLog))).all()
    assert (entry.body, entry.channel, entry.status) == ("see you on Tuesday", "sms", "sent"), (
        proc.output())


async def test_a_process_serves_probes_and_metrics_and_logs_json_lines(
        harness: Harness) -> None:
    """The ops port of a real process: ready once connected, its counters moved by the
    message it handled; its log lines JSON, naming the message, with the number masked."""
    ops = f"http://127.0.0.1:{free_port()}"
    envelope = reply_envelope("ops check")
    async with harness.service("notifier", OPS_PORT=ops.rsplit(":", 1)[1]) as proc, \
            httpx.AsyncClient(base_url=ops, timeout=5.0) as client:

        async def ready() -> bool:
            try:
                return (await client.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await proc.until(ready, f"GET {ops}/readyz to answer 200", within_s=START_BOUND_S)
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        async with harness.bus() as transport:
            await transport.publish(envelope.to_json(), envelope.type,
                                    message_id=str(envelope.event_id))

        async def counted() -> bool:
            text = (await client.get("/metrics")).text
            return ('receptionist_messages_handled_total{service="notifier",'
                    'type="reply.requested.v1"} 1.0') in text

        await proc.until(counted, "the handled message in /metrics")
        metrics = (await client.get("/metrics")).text
        await proc.stop()
    assert 'receptionist_outbound_messages_total{channel="sms",status="sent"} 1.0' in metrics
    assert "receptionist_outbox_backlog " in metrics
    lines = [json.loads(line) for line in read_log(proc.log_path).splitlines()
             if line.startswith("{")]
    assert lines and all(line["service"] == "notifier" for line in lines), proc.output()
    [sent] = [line for line in lines if line["message"].startswith("sent sms")]
    assert sent["event_id"] == str(envelope.event_id), proc.output()
    assert sent["correlation_id"] == str(envelope.correlation_id), proc.output()
    assert "+1******0100" in sent["message"], proc.output()
    assert "5555550100" not in read_log(proc.log_path), proc.output()


def _libraries_loaded_by(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


async def test_ingress_process_serves_webhooks_and_publishes_to_nlu(harness: Harness) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with harness.bus(), harness.service(
            "ingress", HTTP_HOST="127.0.0.1", HTTP_PORT=str(port), PUBLIC_BASE_URL=PUBLIC_URL,
            TWILIO_AUTH_TOKEN=TWILIO_TOKEN, WEBCHAT_SECRET="process-webchat-secret"
    ) as proc, httpx.AsyncClient(base_url=base, timeout=5.0) as client:

        async def healthy() -> bool:
            try:
                return (await client.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await proc.until(healthy, f"GET {base}/healthz to answer 200", within_s=START_BOUND_S)
        # On uvloop, parsing HTTP with httptools, its heap settled (libs/runtime/event_loop.py)
        started = re.search(r"ingress started on uvloop, (\d+) objects frozen",
                            read_log(proc.log_path))
        assert started is not None and int(started[1]) > 10_000, proc.output()
        assert "/httptools/" in _libraries_loaded_by(proc.process.pid), proc.output()
        issued = await client.post("/webchat/salon/sessions")
        assert issued.status_code == 201, (issued.text, proc.output())
        session = issued.json()["session"]
        response = await client.post("/webchat/salon/messages",
                                     json={"session": session, "text": "hi"})
        assert response.status_code == 202, (response.text, proc.output())

        body = await harness.first_message_for(proc, "nlu",
                                               "the web chat message in the nlu queue")
        await proc.stop()
    received = Envelope.from_json(body)
    assert received.type == InboundMessageReceived.TYPE
    assert received.business_id == SALON_ID
    assert received.payload["channel"] == "web"
    assert received.payload["customer"] == f"web:{session.split('.')[0]}"
    assert received.payload["origin"]  # a keyed hash of 127.0.0.1, never the address
    assert "127.0.0.1" not in body.decode()
    assert received.payload["text"] == "hi"
