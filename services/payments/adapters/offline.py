"""The offline gateway for the demo and the scenario runner: same port, no network.

Sessions live in memory; the checkout page it serves has a "Pay" button that posts a
`checkout.session.completed` event, signed with Stripe's scheme, to ingress, so a payment
travels the same path as a real one.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, Response

from services.payments.adapters.base import (
    CheckoutRequest,
    CheckoutSession,
    GatewayError,
    RefundRequest,
)

MINOR_UNITS = 100


@dataclass
class OfflineSession:
    request: CheckoutRequest
    session: CheckoutSession
    payment_intent: str
    status: str = "open"  # open | complete | expired


@dataclass
class OfflineGateway:
    """`webhook_secret`, when given, is what its checkout page signs payments with (the
    page is then served by the process that owns the gateway)."""

    public_base_url: str
    webhook_secret: str | None = None
    sessions: dict[str, OfflineSession] = field(default_factory=dict)
    refunds: dict[str, str] = field(default_factory=dict)

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        key = uuid.uuid5(uuid.NAMESPACE_URL, request.idempotency_key).hex
        existing = self.sessions.get(f"cs_offline_{key}")
        if existing is not None:  # the same idempotency key gives the same session
            return existing.session
        session = CheckoutSession(id=f"cs_offline_{key}",
                                  url=f"{self.public_base_url.rstrip('/')}/checkout/cs_offline_{key}",
                                  expires_at=request.expires_at)
        self.sessions[session.id] = OfflineSession(request, session, f"pi_offline_{key}")
        return session

    async def expire_checkout(self, session_id: str) -> None:
        found = self.sessions.get(session_id)
        if found is not None and found.status == "open":
            found.status = "expired"

    async def refund(self, request: RefundRequest) -> str:
        if request.amount <= 0:
            raise GatewayError("refund amount must be positive", retryable=False)
        return self.refunds.setdefault(request.idempotency_key, f"re_offline_{uuid.uuid4().hex}")


def completed_event(session_id: str, request: CheckoutRequest, payment_intent: str, *,
                    created: int | None = None) -> dict[str, Any]:
    """A `checkout.session.completed` event as Stripe would send it for a paid session."""
    stamp = created or int(time.time())
    return {
        "id": f"evt_{uuid.uuid5(uuid.NAMESPACE_URL, 'paid:' + session_id).hex}",
        "object": "event", "api_version": "2024-06-20", "created": stamp, "livemode": False,
        "type": "checkout.session.completed", "pending_webhooks": 1,
        "data": {"object": {
            "id": session_id, "object": "checkout.session", "mode": "payment",
            "status": "complete", "payment_status": "paid",
            "amount_total": int(request.amount * MINOR_UNITS), "currency": request.currency,
            "client_reference_id": request.booking_id, "payment_intent": payment_intent,
            "metadata": {"business_id": request.business_id, "booking_id": request.booking_id,
                         "reference": request.reference, "attempt": str(request.attempt)},
        }},
    }


def stripe_signature(secret: str, payload: bytes, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header: `t=<unix>,v1=<HMAC-SHA256 of "t.payload">`."""
    t = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def checkout_page_router(gateway: OfflineGateway, webhook_secret: str, ingress_url: str,
                         transport: httpx.AsyncBaseTransport | None = None) -> APIRouter:
    """GET /checkout/{id} shows the amount and a Pay button; POST pays through ingress.

    `transport` lets a one-process demo (or a test) reach ingress without a socket."""
    router = APIRouter()

    @router.get("/checkout/{session_id}")
    async def page(session_id: str) -> Response:
        found = gateway.sessions.get(session_id)
        if found is None:
            return Response("no such checkout", status_code=404)
        amount = f"${found.request.amount:.2f}"
        body = (f"<!doctype html><meta name=viewport content='width=device-width'>"
                f"<title>Pay deposit</title><h1>{html.escape(found.request.description)}</h1>"
                f"<p>Deposit: <b>{amount}</b> (test mode, offline)</p>")
        if found.status == "open":
            body += (f"<form method=post action='/checkout/{html.escape(session_id)}/pay'>"
                     "<button id=pay type=submit>Pay</button></form>")
        else:
            body += f"<p id=status>This checkout is {found.status}.</p>"
        return Response(body, media_type="text/html")

    @router.post("/checkout/{session_id}/pay")
    async def pay(session_id: str) -> Response:
        found = gateway.sessions.get(session_id)
        if found is None or found.status == "expired":
            return Response("this checkout can no longer be paid", status_code=410)
        found.status = "complete"
        payload = json.dumps(completed_event(session_id, found.request,
                                             found.payment_intent)).encode()
        async with httpx.AsyncClient(base_url=ingress_url, timeout=10,
                                     transport=transport) as client:
            answer = await client.post("/webhooks/stripe", content=payload, headers={
                "Content-Type": "application/json",
                "Stripe-Signature": stripe_signature(webhook_secret, payload)})
        ok = answer.status_code < 300
        return Response(f"<!doctype html><p id=status>{'Paid' if ok else 'Payment failed'}"
                        "</p>", media_type="text/html", status_code=200 if ok else 502)

    return router

