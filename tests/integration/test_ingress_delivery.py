"""ingress takes Twilio's status callbacks (signed like every Twilio webhook) and WhatsApp's
statuses as delivery reports, and a tapped WhatsApp button as the text the customer could
have typed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator

from libs.bus.memory import MemoryTransport
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SystemClock
from libs.contracts.events import DeliveryStatus, InboundMessageReceived
from libs.contracts.registry import parse_envelope, parse_payload
from services.ingress import whatsapp
from services.ingress.app import create_app
from services.ingress.deps import IngressConfig, IngressDeps
from tests.helpers import FIXTURE_BUSINESSES

pytestmark = pytest.mark.integration

PUBLIC_URL = "https://receptionist.example.com"
TWILIO_TOKEN = "twilio-auth-token"
META_SECRET = "meta-app-secret"
SALON_SMS = "+12125550100"
SALON_WA = "109876543210001"
CUSTOMER = "+15555550101"
STATUS_URL = PUBLIC_URL + "/webhooks/twilio/status"


@pytest.fixture
async def client(bus: MemoryTransport, session_factory: async_sessionmaker[AsyncSession]
                 ) -> AsyncIterator[httpx.AsyncClient]:
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    app = create_app(IngressDeps(transport=bus, session_factory=session_factory,
                                 clock=SystemClock(), config=IngressConfig(
                                     public_base_url=PUBLIC_URL,
                                     twilio_auth_token=TWILIO_TOKEN,
                                     whatsapp_app_secret=META_SECRET,
                                     whatsapp_verify_token="verify")))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://ingress.internal") as c:
        yield c


def status_form(status: str = "undelivered", **extra: str) -> dict[str, str]:
    """A status callback as Twilio posts it."""
    return {"MessageSid": "SM" + "a" * 32, "SmsSid": "SM" + "a" * 32,
            "AccountSid": "AC" + "1" * 32, "From": SALON_SMS, "To": CUSTOMER,
            "MessageStatus": status, "SmsStatus": status, "ApiVersion": "2010-04-01",
            **extra}


async def post_status(client: httpx.AsyncClient, form: dict[str, str],
                      token: str = TWILIO_TOKEN) -> httpx.Response:
    signature = RequestValidator(token).compute_signature(STATUS_URL, form)
    return await client.post("/webhooks/twilio/status", data=form,
                             headers={"X-Twilio-Signature": signature})


def published(bus: MemoryTransport) -> list[Any]:
    return [parse_payload(parse_envelope(body)) for _, body in bus.published]


async def test_a_signed_status_callback_is_published_as_a_delivery_status(
        client: httpx.AsyncClient, bus: MemoryTransport) -> None:
    response = await post_status(client, status_form(ErrorCode="30006"))
    assert response.status_code == 204
    [status] = published(bus)
    assert isinstance(status, DeliveryStatus)
    assert (status.channel, status.provider_message_id, status.status, status.error_code) == (
        "sms", "SM" + "a" * 32, "undelivered", "30006")
    assert parse_envelope(bus.published[0][1]).business_id == "salon"


async def test_a_forged_status_callback_is_refused_and_publishes_nothing(
        client: httpx.AsyncClient, bus: MemoryTransport) -> None:
    assert (await post_status(client, status_form(), token="not-the-token")).status_code == 403
    unsigned = await client.post("/webhooks/twilio/status", data=status_form())
    assert unsigned.status_code == 403
    tampered = status_form()
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(STATUS_URL, tampered)
    tampered["MessageStatus"] = "delivered"  # changed after signing
    response = await client.post("/webhooks/twilio/status", data=tampered,
                                 headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert bus.published == []


async def test_the_same_callback_twice_is_one_event_and_each_status_its_own(
        client: httpx.AsyncClient, bus: MemoryTransport) -> None:
    for status in ("sent", "sent", "delivered"):
        assert (await post_status(client, status_form(status))).status_code == 204
    ids = [parse_envelope(body).event_id for _, body in bus.published]
    assert ids[0] == ids[1] != ids[2]
    assert [s.status for s in published(bus)] == ["sent", "sent", "delivered"]


@pytest.mark.parametrize(("form", "code"), [
    (status_form("receiving"), 204),
    (status_form(From="+19999999999"), 404),
    ({k: v for k, v in status_form().items() if k not in ("MessageStatus", "SmsStatus")}, 400),
], ids=["untracked status", "unknown number", "no status"])
async def test_status_callbacks_we_cannot_use(client: httpx.AsyncClient, bus: MemoryTransport,
                                             form: dict[str, str], code: int) -> None:
    assert (await post_status(client, form)).status_code == code
    assert bus.published == []


def wa_body(message: dict[str, Any] | None = None,
            statuses: list[dict[str, Any]] | None = None) -> bytes:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "12125550100", "phone_number_id": SALON_WA}}
    if message is not None:
        value["contacts"] = [{"profile": {"name": "Customer"}, "wa_id": "15555550101"}]
        value["messages"] = [{"from": "15555550101", "id": "wamid.in1",
                              "timestamp": "1796000000", **message}]
    if statuses is not None:
        value["statuses"] = statuses
    return json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": "WABA", "changes": [{"field": "messages", "value": value}]}]}).encode()


async def post_wa(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post("/webhooks/whatsapp", content=body, headers={
        "Content-Type": "application/json",
        "X-Hub-Signature-256": whatsapp.sign(META_SECRET, body)})


@pytest.mark.parametrize(("message", "text"), [
    ({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {
        "id": "Yes", "title": "Yes"}}}, "Yes"),
    ({"type": "button", "button": {"payload": "C", "text": "C"}}, "C"),
    ({"type": "button", "button": {"payload": "X"}}, "X"),
], ids=["reply button", "template quick reply", "payload only"])
async def test_a_tapped_button_comes_in_as_the_text_it_shows(
        client: httpx.AsyncClient, bus: MemoryTransport, message: dict[str, Any],
        text: str) -> None:
    assert (await post_wa(client, wa_body(message))).status_code == 200
    [inbound] = published(bus)
    assert isinstance(inbound, InboundMessageReceived)
    assert (inbound.channel, inbound.customer, inbound.text) == ("whatsapp", CUSTOMER, text)


async def test_whatsapp_statuses_with_their_error_codes(client: httpx.AsyncClient,
                                                        bus: MemoryTransport) -> None:
    body = wa_body(statuses=[
        {"id": "wamid.out1", "status": "sent", "timestamp": "1796000000",
         "recipient_id": "15555550101"},
        {"id": "wamid.out1", "status": "failed", "timestamp": "1796000005",
         "recipient_id": "15555550101", "errors": [
             {"code": 131026, "title": "Message undeliverable"}]},
        {"id": "wamid.out1", "status": "deleted", "timestamp": "1796000009",
         "recipient_id": "15555550101"}])
    assert (await post_wa(client, body)).status_code == 200
    assert [(s.provider_message_id, s.status, s.error_code) for s in published(bus)] == [
        ("wamid.out1", "sent", None), ("wamid.out1", "failed", "131026")]
