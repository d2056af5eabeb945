"""One customer message the whole way: a signed Twilio webhook -> ingress -> nlu -> fsm ->
notifier's recording channel, every service its own consumer, over RabbitMQ and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator

from libs.bus.amqp import AmqpTransport
from libs.bus.models import InboxMessage
from libs.bus.outbox import OutboxRelay
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SystemClock
from libs.runtime.definition import Wiring
from libs.settings import get_settings
from receptionist.bootstrap import compose
from services.ingress.deps import IngressConfig, IngressDeps
from services.notifier.adapters.recording import RecordingChannel
from services.notifier.handlers import NotifierDeps
from services.notifier.models import MessageLog
from services.payments.adapters.offline import OfflineGateway
from services.payments.handlers import PaymentsDeps
from tests.helpers import FIXTURE_BUSINESSES, eventually

pytestmark = pytest.mark.integration

PUBLIC_URL = "https://receptionist.example.com"
TOKEN = "twilio-test-auth-token"
SALON_SMS = "+12125550100"
CUSTOMER = "+15555550101"


@pytest.fixture
async def system(amqp_transport: AmqpTransport,
                 session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[
                     tuple[FastAPI, RecordingChannel]]:
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    channel = RecordingChannel()
    clock = SystemClock()
    wiring = Wiring(settings=get_settings(), clock=clock, sessions=session_factory,
                    transport=amqp_transport,
                    relay=OutboxRelay(session_factory, amqp_transport, clock,
                                      poll_interval_s=0.05))
    host = compose(wiring, overrides={
        "ingress": IngressDeps(amqp_transport, session_factory, clock,
                               IngressConfig(public_base_url=PUBLIC_URL,
                                              twilio_auth_token=TOKEN)),
        "notifier": NotifierDeps(channel),
        "payments": PaymentsDeps(OfflineGateway(PUBLIC_URL)),
    })
    await host.start(prefetch=1)  # one at a time per queue: FIFO, so order is observable
    yield host.apps["ingress"], channel
    await host.stop()


def signed(form: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    url = PUBLIC_URL + "/webhooks/twilio/sms"
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


def sms(sid: str, body: str, to: str = SALON_SMS) -> dict[str, str]:
    return {"MessageSid": sid, "AccountSid": "AC123", "From": CUSTOMER, "To": to, "Body": body,
            "NumMedia": "0"}


async def post(app: FastAPI, form: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://ingress.internal") as client:
        return await client.post("/webhooks/twilio/sms", data=form, headers=headers)


async def test_signed_sms_gets_one_reply_even_when_delivered_twice(
        system: tuple[FastAPI, RecordingChannel],
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    ingress, channel = system
    first = sms("SM0001", "hi can i get a haircut tomorrow at 3pm")
    for _ in range(2):  # Twilio retries the same webhook
        response = await post(ingress, first, signed(first))
        assert response.status_code == 200
        assert "<Response>" in response.text

    async def replied() -> bool:
        return len(channel.to(CUSTOMER)) >= 1

    await eventually(replied, what="the reply to reach the recording channel")
    later = sms("SM0002", "thanks!")
    assert (await post(ingress, later, signed(later))).status_code == 200

    async def second_reply_logged() -> bool:  # the send comes first, then its log row
        async with session_factory() as s:
            logged = await s.scalar(select(func.count()).select_from(MessageLog))
        return len(channel.to(CUSTOMER)) >= 2 and logged == 2

    await eventually(second_reply_logged, what="the second reply, sent and logged")
    replies = channel.to(CUSTOMER)
    assert len(replies) == 2  # the duplicate, handled before SM0002 (FIFO), changed nothing
    assert replies[0].channel == "sms" and replies[0].business_id == "salon"
    assert "book" in replies[0].text
    handled: dict[str, int] = {}

    async def all_handled() -> bool:
        nonlocal handled
        async with session_factory() as s:
            handled = {c: n for c, n in (await s.execute(
                select(InboxMessage.consumer, func.count())
                .group_by(InboxMessage.consumer))).all()}
        return handled.get("fsm", 0) >= 2

    await eventually(all_handled, what="fsm to handle both messages")
    async with session_factory() as s:
        logged = await s.scalar(select(func.count()).select_from(MessageLog))
    assert logged == 2
    # Only fsm keeps inbox rows here: nlu is stateless (the duplicate's understanding has
    # the same id, absorbed by fsm's inbox), notifier's message log is its replies' record,
    # and an SMS changes nothing in notifier.
    assert handled == {"fsm": 2}


async def test_forged_signature_is_refused_and_nothing_published(
        system: tuple[FastAPI, RecordingChannel],
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    ingress, channel = system
    form = sms("SM0100", "book me in")
    forged = await post(ingress, form, signed(form, token="not-the-real-token"))
    assert forged.status_code == 403
    tampered = dict(form, Body="cancel everything")
    assert (await post(ingress, tampered, signed(form))).status_code == 403
    assert (await post(ingress, form, {})).status_code == 403
    unknown = sms("SM0101", "hello", to="+19995550000")
    assert (await post(ingress, unknown, signed(unknown))).status_code == 404
    # A good message afterwards is the only one that arrives anywhere.
    good = sms("SM0102", "hello")
    assert (await post(ingress, good, signed(good))).status_code == 200

    async def replied() -> bool:
        return len(channel.sent) >= 1

    await eventually(replied, what="the good message's reply")
    async with session_factory() as s:
        fsm_seen = await s.scalar(select(func.count()).select_from(InboxMessage)
                                  .where(InboxMessage.consumer == "fsm"))
    assert fsm_seen == 1
    assert len(channel.sent) == 1


async def test_broker_unavailable_answers_503_so_twilio_retries(
        system: tuple[FastAPI, RecordingChannel], amqp_transport: AmqpTransport) -> None:
    ingress, _ = system
    await amqp_transport.connection.close()
    form = sms("SM0200", "hello")
    response = await post(ingress, form, signed(form))
    assert response.status_code == 503
