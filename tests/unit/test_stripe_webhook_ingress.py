"""ingress's Stripe endpoint: the signature is checked on the raw body with Stripe's own
scheme; a wrong, missing or stale signature is a 400 and publishes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.memory import MemoryTransport
from libs.clock import SystemClock
from libs.contracts.events import StripeEventReceived
from libs.contracts.registry import parse_envelope, parse_payload
from libs.settings import Settings
from receptionist.bootstrap import full_topology
from services.ingress.app import create_app
from services.ingress.deps import HalfConfigured, IngressConfig, IngressDeps
from services.payments.adapters.offline import stripe_signature

SECRET = "whsec_test_secret"


class NoDatabase:
    """The Stripe endpoint needs no business lookup; any use of the database is a bug."""

    def __call__(self) -> Any:
        raise AssertionError("the Stripe webhook must not touch the database")


@pytest.fixture
def transport() -> Iterator[MemoryTransport]:
    yield MemoryTransport(full_topology("t", (10,)))


def event_body(event_id: str = "evt_1") -> bytes:
    return json.dumps({
        "id": event_id, "object": "event", "type": "checkout.session.completed",
        "created": 1, "livemode": False,
        "data": {"object": {"id": "cs_1", "object": "checkout.session",
                            "payment_status": "paid",
                            "metadata": {"business_id": "salon", "booking_id": "b"}}},
    }).encode()


async def post(transport: MemoryTransport, body: bytes, headers: dict[str, str]) -> int:
    await transport.connect()
    await transport.declare()
    no_database = cast(async_sessionmaker[AsyncSession], NoDatabase())
    app = create_app(IngressDeps(transport=transport, session_factory=no_database,
                                 clock=SystemClock(), config=IngressConfig(
                                     public_base_url="https://x", stripe_webhook_secret=SECRET)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://x") as client:
        response = await client.post("/webhooks/stripe", content=body, headers=headers)
    return response.status_code


def test_our_signature_matches_the_sdk_scheme() -> None:
    body = event_body()
    header = stripe_signature(SECRET, body)
    event = stripe.Webhook.construct_event(body, header, SECRET)
    assert event.id == "evt_1"
    t = header.split(",")[0].removeprefix("t=")
    expected = stripe.WebhookSignature._compute_signature(f"{t}.{body.decode()}", SECRET)
    assert header.endswith(f"v1={expected}")


async def test_a_signed_event_is_published_with_a_deterministic_id(
        transport: MemoryTransport) -> None:
    body = event_body()
    assert await post(transport, body, {"Stripe-Signature": stripe_signature(SECRET, body)}) \
        == 200
    assert await post(transport, body, {"Stripe-Signature": stripe_signature(SECRET, body)}) \
        == 200
    (first, second) = [parse_envelope(b) for _, b in transport.published]
    assert first.event_id == second.event_id  # a redelivery dedupes downstream
    assert first.business_id == "salon"
    payload = parse_payload(first)
    assert isinstance(payload, StripeEventReceived) and payload.stripe_event_id == "evt_1"


@pytest.mark.parametrize("headers", [
    {},
    {"Stripe-Signature": "t=1,v1=deadbeef"},
    {"Stripe-Signature": stripe_signature("whsec_someone_else", event_body())},
    {"Stripe-Signature": stripe_signature(SECRET, event_body(), int(time.time()) - 3600)},
], ids=["missing", "garbage", "wrong secret", "stale"])
async def test_bad_signatures_are_refused_and_nothing_is_published(
        transport: MemoryTransport, headers: dict[str, str]) -> None:
    assert await post(transport, event_body(), headers) == 400
    assert transport.published == []


async def test_a_tampered_body_is_refused(transport: MemoryTransport) -> None:
    signed_for = event_body("evt_1")
    assert await post(transport, event_body("evt_2"),
                      {"Stripe-Signature": stripe_signature(SECRET, signed_for)}) == 400
    assert transport.published == []


async def test_a_signed_non_event_is_a_400(transport: MemoryTransport) -> None:
    body = b'{"hello": "world"}'
    assert await post(transport, body, {"Stripe-Signature": stripe_signature(SECRET, body)}) \
        == 400
    assert transport.published == []


@pytest.mark.parametrize(("settings", "problem"), [
    ({"whatsapp_app_secret": "s3cret"}, "WHATSAPP_VERIFY_TOKEN"),
    ({"whatsapp_verify_token": "tok", "whatsapp_app_secret": "  "}, "WHATSAPP_APP_SECRET"),
    ({"twilio_auth_token": "t0ken"}, "PUBLIC_BASE_URL"),
])
def test_a_half_configured_provider_refuses_to_start(settings: dict[str, str],
                                                     problem: str) -> None:
    with pytest.raises(HalfConfigured, match=problem):
        IngressConfig.from_settings(Settings.model_validate(settings))


def test_blank_secrets_count_as_unset() -> None:
    config = IngressConfig.from_settings(Settings.model_validate({
        "twilio_auth_token": "", "whatsapp_app_secret": " ", "whatsapp_verify_token": "",
        "stripe_webhook_secret": "\t"}))
    assert (config.twilio_auth_token, config.whatsapp_app_secret,
            config.whatsapp_verify_token, config.stripe_webhook_secret) == (None,) * 4
    full = IngressConfig.from_settings(Settings.model_validate({
        "twilio_auth_token": "t", "public_base_url": "https://r.example",
        "whatsapp_app_secret": "s", "whatsapp_verify_token": "v"}))
    assert full.twilio_auth_token == "t" and full.whatsapp_verify_token == "v"
