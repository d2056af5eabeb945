"""payments, defined once: which gateway the settings choose, and the offline checkout page
it serves itself when it runs without Stripe."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.memory import MemoryTransport
from libs.bus.outbox import OutboxRelay
from libs.clock import SystemClock
from libs.runtime.definition import Wiring
from libs.settings import Settings
from receptionist.bootstrap import full_topology
from services.payments.adapters.base import CheckoutRequest
from services.payments.adapters.offline import OfflineGateway
from services.payments.definition import (
    GatewayNotConfigured,
    gateway_for,
    payments_app,
    payments_deps,
)
from services.payments.handlers import PaymentsDeps


def wiring(**settings: str) -> Wiring:
    transport = MemoryTransport(full_topology("t", (10,)))
    sessions = cast(async_sessionmaker[AsyncSession], None)
    return Wiring(settings=Settings.model_validate(settings),
                  clock=SystemClock(), sessions=sessions, transport=transport,
                  relay=OutboxRelay(sessions, transport, SystemClock()))


def test_stripe_without_a_key_refuses_to_start() -> None:
    with pytest.raises(GatewayNotConfigured, match="STRIPE_API_KEY"):
        gateway_for(wiring(payments_gateway="stripe"))
    assert payments_app(wiring(), PaymentsDeps(gateway=cast(OfflineGateway, object()))) is None


def test_offline_checkout_page_needs_the_webhook_secret() -> None:
    w = wiring(payments_gateway="offline", stripe_webhook_secret=" ")
    with pytest.raises(GatewayNotConfigured, match="STRIPE_WEBHOOK_SECRET"):
        payments_deps(w)
    # a composition that serves the page itself hands in a gateway without a secret
    assert payments_app(w, PaymentsDeps(OfflineGateway("https://demo.example"))) is None


async def test_offline_gateway_serves_its_checkout_page() -> None:
    w = wiring(payments_gateway="offline", stripe_webhook_secret="whsec_x",
               public_base_url="https://demo.example")
    deps = payments_deps(w)
    app = payments_app(w, deps)
    assert app is not None and isinstance(deps.gateway, OfflineGateway)
    session = await deps.gateway.create_checkout(CheckoutRequest(
        business_id="salon", booking_id="b-1", reference="R1", attempt=1,
        amount=Decimal("15.00"), currency="usd", description="Deposit for Haircut",
        expires_at=datetime(2026, 12, 1, 15, tzinfo=UTC), customer="+15555550101"))
    assert session.url.startswith("https://demo.example/checkout/")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://demo.example") as client:
        page = await client.get(f"/checkout/{session.id}")
    assert page.status_code == 200 and "$15.00" in page.text
