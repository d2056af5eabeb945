"""Bad input gets a clear 4xx and loses nothing; a body is refused before it is buffered;
an outage of the database is a 503 (the provider retries), never a 500."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import cast

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.memory import MemoryTransport
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SystemClock
from libs.contracts.events import InboundMessageReceived
from libs.contracts.registry import parse_envelope, parse_payload
from libs.runtime.web import MAX_BODY_BYTES
from services.ingress import whatsapp
from services.ingress.app import create_app
from services.ingress.deps import IngressConfig, IngressDeps, clean, cleaned
from services.payments.adapters.offline import stripe_signature
from tests.helpers import FIXTURE_BUSINESSES

pytestmark = pytest.mark.integration

SECRET = "meta-app-secret"
STRIPE = "whsec_hardening"
SALON_WA = "109876543210001"


def app_with(bus: MemoryTransport,
             sessions: async_sessionmaker[AsyncSession]) -> httpx.AsyncClient:
    app = create_app(IngressDeps(transport=bus, session_factory=sessions, clock=SystemClock(),
                                 config=IngressConfig(public_base_url="https://x",
                                                      whatsapp_app_secret=SECRET,
                                                      stripe_webhook_secret=STRIPE)))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://x")


@pytest.fixture
async def client(bus: MemoryTransport, session_factory: async_sessionmaker[AsyncSession]
                 ) -> AsyncIterator[httpx.AsyncClient]:
    async with session_factory() as s, s.begin():
        await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))
    async with app_with(bus, session_factory) as c:
        yield c


async def post_wa(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post("/webhooks/whatsapp", content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": whatsapp.sign(SECRET, body)})


def wa_text(text: str) -> str:
    return json.dumps(whatsapp.message_payload(
        phone_number_id=SALON_WA, message_id="wamid.h1", sender="+15555550101", text=text,
        timestamp=1_796_000_000))


def test_clean_keeps_words_and_drops_what_cannot_be_stored() -> None:
    assert clean("hi\u0000 there\tyou\n") == "hi there\tyou\n"
    assert clean("a\ud800b") == "a\ufffdb"
    assert clean("café 🙂") == "café 🙂"


def test_every_field_a_sender_wrote_is_cleaned_and_a_clean_message_left_as_it_is() -> None:
    said = InboundMessageReceived(channel="whatsapp", provider_message_id="wamid.\u0000x",
                                  customer="+1555\x07", to="123\ud800", text="hi\u0000",
                                  received_at=datetime(2026, 12, 1, tzinfo=UTC))
    got = cleaned(said)
    assert (got.provider_message_id, got.customer, got.to, got.text) == (
        "wamid.x", "+1555", "123\ufffd", "hi")
    assert got.received_at == said.received_at
    clean_already = said.model_copy(update={"provider_message_id": "wamid.x",
                                            "customer": "+1555", "to": "123", "text": "hi"})
    assert cleaned(clean_already) is clean_already


async def test_json_nested_thirty_thousand_deep_is_a_400(client: httpx.AsyncClient,
                                                         bus: MemoryTransport) -> None:
    body = ("[" * 30_000 + "]" * 30_000).encode()
    assert (await post_wa(client, body)).status_code == 400
    assert bus.published == []


async def test_a_lone_surrogate_and_a_nul_are_cleaned_and_the_message_kept(
        client: httpx.AsyncClient, bus: MemoryTransport) -> None:
    body = wa_text("hi").replace('"hi"', '"haircut \\ud800 tomorrow\\u0000"').encode()
    assert (await post_wa(client, body)).status_code == 200
    (_, published), = bus.published
    message = parse_payload(parse_envelope(published))
    assert isinstance(message, InboundMessageReceived)
    assert message.text == "haircut \ufffd tomorrow"


async def test_a_stripe_body_that_is_a_json_list_is_a_400(client: httpx.AsyncClient,
                                                          bus: MemoryTransport) -> None:
    body = b'[{"id": "evt_1"}]'
    response = await client.post("/webhooks/stripe", content=body, headers={
        "Stripe-Signature": stripe_signature(STRIPE, body)})
    assert response.status_code == 400
    assert bus.published == []


async def test_a_stripe_signature_from_the_future_is_refused(client: httpx.AsyncClient,
                                                             bus: MemoryTransport) -> None:
    body = json.dumps({"id": "evt_f", "object": "event", "type": "x", "created": 1,
                       "livemode": False, "data": {"object": {"id": "cs_1"}}}).encode()
    future = stripe_signature(STRIPE, body, int(time.time()) + 3600)
    assert (await client.post("/webhooks/stripe", content=body,
                              headers={"Stripe-Signature": future})).status_code == 400
    assert bus.published == []


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
        client: httpx.AsyncClient, bus: MemoryTransport) -> None:
    declared = await client.post("/webhooks/whatsapp", content=b"x" * (MAX_BODY_BYTES + 1))
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(100):
            yield b"x" * 4096

    streamed = await client.post("/webhooks/whatsapp", content=chunks())
    assert streamed.status_code == 413
    for path in ("/webchat/salon/messages", "/webhooks/stripe", "/webhooks/twilio/sms"):
        assert (await client.post(path, content=b"x" * (MAX_BODY_BYTES + 1))).status_code \
            == 413, path
    assert bus.published == []


async def test_the_database_down_is_a_503_with_retry_after(bus: MemoryTransport) -> None:
    class Down:
        kw: dict[str, object] = {}  # a sessionmaker's settings: no database bound

        def __call__(self) -> AsyncSession:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("db down"))

    async with app_with(bus, cast(async_sessionmaker[AsyncSession], Down())) as client:
        response = await post_wa(client, wa_text("hi").encode())
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert bus.published == []
