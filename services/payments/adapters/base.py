"""The payment gateway port: what payments needs from Stripe (or the offline stand-in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class CheckoutRequest:
    business_id: str         # sent as metadata, so webhooks can be routed to the business
    booking_id: str
    reference: str
    attempt: int
    amount: Decimal          # in the currency's major unit ("20.00")
    currency: str            # lower-case ISO code
    description: str
    expires_at: datetime     # aware; never earlier than the gateway's minimum
    customer: str            # for the offline page only; never sent to Stripe

    @property
    def idempotency_key(self) -> str:
        """One Checkout Session per booking and attempt, however often we retry."""
        return f"checkout-{self.booking_id}-{self.attempt}"


@dataclass(frozen=True)
class CheckoutSession:
    id: str                  # cs_...
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class RefundRequest:
    business_id: str
    booking_id: str
    payment_intent: str      # pi_...
    amount: Decimal
    currency: str
    reason: str

    @property
    def idempotency_key(self) -> str:
        return f"refund-{self.booking_id}-{self.payment_intent}"


class GatewayError(Exception):
    """The gateway refused or failed; `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class PaymentGateway(Protocol):
    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    async def expire_checkout(self, session_id: str) -> None:
        """Make the session unpayable (already expired or completed: no error)."""
        ...

    async def refund(self, request: RefundRequest) -> str:
        """Refund the payment; returns the refund id (re_...)."""
        ...
