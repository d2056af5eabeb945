"""ingress's error paths: every rejected request publishes nothing and says why."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.memory import MemoryTransport
from libs.bus.transport import Topology
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SystemClock
from libs.contracts.registry import parse_envelope, parse_payload
from libs.runtime.web import MAX_BODY_BYTES
from services.ingress import whatsapp
from services.ingress.app import create_app
from services.ingress.deps import IngressConfig, IngressDeps
from services.ingress.webchat_guard import WebChatConfig
from tests.helpers import FIXTURE_BUSINESSES

pytestmark = pytest.mark.integration

SECRET = "meta-app-secret"
VERIFY = "verify-me"
WEBCHAT_SECRET = "webchat-secret"
SALON_WA = "109876543210001"


@pytest.fixture
async def client(bus: MemoryTransport, session_factory: async_sessionmaker[AsyncSession]
                 ) -> AsyncIterator[httpx.AsyncClient]:
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    app = create_app(IngressDeps(transport=bus, session_factory=session_factory,
                                 clock=SystemClock(), config=IngressConfig(
                                     public_base_url="https://x", whatsapp_app_secret=SECRET,
                                     whatsapp_verify_token=VERIFY,
                                     webchat=WebChatConfig(secret=WEBCHAT_SECRET))))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://x") as c:
        yield c


def wa_body(number_id: str = SALON_WA, message_id: str = "wamid.1") -> bytes:
    return json.dumps(whatsapp.message_payload(
        phone_number_id=number_id, message_id=message_id, sender="+15555550101",
        text="hi", timestamp=1_796_000_000)).encode()


async def post_wa(client: httpx.AsyncClient, body: bytes, signature: str | None = None
                  ) -> httpx.Response:
    return await client.post("/webhooks/whatsapp", content=body, headers={
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature if signature is not None
        else whatsapp.sign(SECRET, body)})


async def test_whatsapp_message_and_status_are_published(
        client: httpx.AsyncClient, bus: MemoryTransport) -> None:
    assert (await post_wa(client, wa_body())).status_code == 200
    status = json.loads(wa_body())
    value = status["entry"][0]["changes"][0]["value"]
    del value["messages"]
    value["statuses"] = [{"id": "wamid.out", "status": "delivered", "timestamp": "1796000000",
                          "recipient_id": "15555550101"}]
    assert (await post_wa(client, json.dumps(status).encode())).status_code == 200
    kinds = [kind for kind, _ in bus.published]
    assert kinds == ["inbound.message.received.v1", "delivery.status.v1"]
    inbound = parse_payload(parse_envelope(bus.published[0][1]))
    assert inbound.customer == "+15555550101" and inbound.channel == "whatsapp"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("body", "signature", "status"), [
    (wa_body(), "sha256=" + "0" * 64, 401),
    (wa_body(), "", 401),
    (b"{not json", None, 400),
    (b'{"object": "page"}', None, 400),
    (b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {}}]}]}',
     None, 400),
    (wa_body(number_id="999"), None, 404),
    (b"x" * (MAX_BODY_BYTES + 1), None, 413),
], ids=["forged", "unsigned", "not json", "not whatsapp", "malformed", "unknown number",
        "too large"])
async def test_whatsapp_rejections_publish_nothing(
        client: httpx.AsyncClient, bus: MemoryTransport, body: bytes, signature: str | None,
        status: int) -> None:
    assert (await post_wa(client, body, signature)).status_code == status
    assert bus.published == []


async def test_whatsapp_verify_handshake(client: httpx.AsyncClient) -> None:
    ok = await client.get("/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "12345"})
    assert ok.status_code == 200 and ok.text == "12345"
    bad = await client.get("/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "12345"})
    assert bad.status_code == 403


async def test_unconfigured_provider_is_503(client: httpx.AsyncClient,
                                            bus: MemoryTransport) -> None:
    response = await client.post("/webhooks/twilio/sms", data={"MessageSid": "SM1"})
    assert response.status_code == 503 and "not configured" in response.text
    assert bus.published == []


async def test_web_chat(client: httpx.AsyncClient, bus: MemoryTransport) -> None:
    session = (await client.post("/webchat/salon/sessions")).json()["session"]
    ok = await client.post("/webchat/salon/messages", json={"session": session, "text": "hi"})
    assert ok.status_code == 202
    assert (await client.post("/webchat/nowhere/messages",
                              json={"session": session, "text": "hi"})).status_code == 401
    assert (await client.post("/webchat/nowhere/sessions")).status_code == 404
    assert (await client.post("/webchat/salon/messages",
                              json={"session": session, "text": ""})).status_code == 422
    assert len(bus.published) == 1
    inbound = parse_payload(parse_envelope(bus.published[0][1]))
    assert inbound.customer == f"web:{session.split('.')[0]}"  # type: ignore[attr-defined]


async def test_a_message_no_queue_would_receive_is_503_not_lost(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Before any queue is declared (a fresh deployment), the broker would drop the event:
    ingress publishes it as mandatory and tells the provider to retry."""
    bare = MemoryTransport(Topology(prefix="t", retry_delays_ms=(10,)))
    await bare.connect()
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    app = create_app(IngressDeps(transport=bare, session_factory=session_factory,
                                 clock=SystemClock(), config=IngressConfig(
                                     webchat=WebChatConfig(secret=WEBCHAT_SECRET))))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://x") as client:
        session = (await client.post("/webchat/salon/sessions")).json()["session"]
        response = await client.post("/webchat/salon/messages",
                                     json={"session": session, "text": "hi"})
    assert response.status_code == 503
    assert bare.published == []
