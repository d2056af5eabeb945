"""The offline gateway's checkout page: Pay posts a correctly signed webhook to ingress, and
an expired checkout can no longer be paid."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.memory import MemoryTransport
from libs.clock import SystemClock
from libs.contracts.registry import parse_envelope, parse_payload
from receptionist.bootstrap import full_topology
from services.ingress.app import create_app
from services.ingress.deps import IngressConfig, IngressDeps
from services.payments.adapters.base import CheckoutRequest
from services.payments.adapters.offline import OfflineGateway, checkout_page_router

SECRET = "whsec_offline_test"


def request(booking: str = "b-1") -> CheckoutRequest:
    return CheckoutRequest(business_id="salon", booking_id=booking, reference="ABC123",
                           attempt=1, amount=Decimal("20.00"), currency="usd",
                           description="Deposit for Facial at Bella Hair Studio",
                           expires_at=datetime(2026, 12, 1, 15, tzinfo=UTC),
                           customer="+15555550101")


async def test_pay_button_posts_a_signed_event_that_ingress_accepts() -> None:
    bus = MemoryTransport(full_topology("t", (10,)))
    await bus.connect()
    await bus.declare()
    no_database = cast(async_sessionmaker[AsyncSession], None)
    ingress = create_app(IngressDeps(transport=bus, session_factory=no_database,
                                     clock=SystemClock(), config=IngressConfig(
                                         public_base_url="https://x",
                                         stripe_webhook_secret=SECRET)))
    gateway = OfflineGateway("https://demo.test")
    session = await gateway.create_checkout(request())
    assert await gateway.create_checkout(request()) == session  # idempotent per key
    page = FastAPI()
    page.include_router(checkout_page_router(gateway, SECRET, "https://x",
                                             transport=httpx.ASGITransport(app=ingress)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=page),
                                 base_url="https://demo.test") as browser:
        shown = await browser.get(f"/checkout/{session.id}")
        assert shown.status_code == 200
        assert "$20.00" in shown.text and "id=pay" in shown.text
        paid = await browser.post(f"/checkout/{session.id}/pay")
        assert paid.status_code == 200 and "Paid" in paid.text
        assert "id=pay" not in (await browser.get(f"/checkout/{session.id}")).text
        assert (await browser.get("/checkout/cs_nope")).status_code == 404

    ((kind, body),) = bus.published
    assert kind == "stripe.event.received.v1"
    event = parse_payload(parse_envelope(body))
    assert event.stripe_type == "checkout.session.completed"  # type: ignore[attr-defined]
    assert event.data_object["id"] == session.id  # type: ignore[attr-defined]


async def test_an_expired_checkout_cannot_be_paid() -> None:
    gateway = OfflineGateway("https://demo.test")
    session = await gateway.create_checkout(request("b-2"))
    await gateway.expire_checkout(session.id)
    page = FastAPI()
    page.include_router(checkout_page_router(gateway, SECRET, "https://unused"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=page),
                                 base_url="https://demo.test") as browser:
        assert "expired" in (await browser.get(f"/checkout/{session.id}")).text
        assert (await browser.post(f"/checkout/{session.id}/pay")).status_code == 410
