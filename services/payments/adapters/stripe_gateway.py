"""The real payment gateway: Stripe Checkout and Refunds through the official `stripe` SDK.

Why it looks the way it does:

- One `stripe.StripeClient` with an explicit `stripe.HTTPXClient`, and only the SDK's
  `*_async` methods: calls run on the event loop (httpx), no thread pool, and `timeout_s`
  bounds every single HTTP attempt.
- Retries: the SDK retries a call itself up to `max_retries` times (`max_network_retries`)
  with exponential backoff and jitter (0.5 s doubling, at most 5 s), reusing the same
  `Idempotency-Key`, so a retry never creates a second session or refund. It retries
  connection errors and timeouts, 409 conflicts, 5xx, and any answer carrying
  `Stripe-Should-Retry: true` (e.g. a 429 lock timeout). A plain 429 rate limit is not
  retried by the SDK; like every other transient failure it surfaces as
  `GatewayError(retryable=True)` and the consumer's retry queue tries again later, with
  growing delays. Worst case for one call: `(max_retries + 1) * timeout_s` plus the backoff.
- Idempotency keys come from the port's requests (one Checkout Session per booking and
  attempt, one refund per booking and payment intent). Stripe replays the first answer for
  a key only when the parameters are identical, so everything sent is derived from the
  request, except `expires_at`, which must be clamped into Stripe's window at call time.
- Amounts are converted exactly from `Decimal` major units to Stripe's minor units; an
  amount the currency cannot express is refused, never rounded.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NoReturn

import stripe
from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams

from services.payments.adapters.base import (
    CheckoutRequest,
    CheckoutSession,
    GatewayError,
    RefundRequest,
)

log = logging.getLogger(__name__)

# Stripe accepts a Checkout Session `expires_at` between 30 minutes and 24 hours after creation.
CHECKOUT_MIN_LIFETIME = timedelta(minutes=30)
CHECKOUT_MAX_LIFETIME = timedelta(hours=24)

# https://docs.stripe.com/currencies#zero-decimal: the amount is already in the minor unit.
ZERO_DECIMAL_CURRENCIES = frozenset({
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
    "vuv", "xaf", "xof", "xpf",
})
# https://docs.stripe.com/currencies#three-decimal: three decimals, last digit must be 0.
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
# Special cases: two decimals in the API, but only whole units may be charged (ISK).
WHOLE_UNIT_TWO_DECIMAL_CURRENCIES = frozenset({"isk"})

# The Checkout Session states in which expiring it has nothing left to do.
_NOT_OPEN = frozenset({"expired", "complete"})


def _system_now() -> datetime:
    return datetime.now(UTC)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`Decimal("20.00")`, "usd" -> 2000; "jpy" 500 -> 500. Refuses what Stripe cannot charge
    exactly (fractions of the minor unit, or of the unit where Stripe demands whole units)."""
    code = currency.lower()
    if not amount.is_finite() or amount <= 0:
        raise GatewayError(f"invalid amount {amount} {code}", retryable=False)
    if code in ZERO_DECIMAL_CURRENCIES:
        exponent, step = 0, 1
    elif code in THREE_DECIMAL_CURRENCIES:
        exponent, step = 3, 10
    elif code in WHOLE_UNIT_TWO_DECIMAL_CURRENCIES:
        exponent, step = 2, 100
    else:
        exponent, step = 2, 1
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value() or int(minor) % step:
        raise GatewayError(f"{amount} {code} cannot be charged exactly in Stripe's minor "
                           f"units", retryable=False)
    return int(minor)


def clamp_expiry(wanted: datetime, now: datetime) -> int:
    """The unix `expires_at` nearest to `wanted` that Stripe accepts (30 min to 24 h ahead).

    Rounded inwards to whole seconds so the bounds hold exactly."""
    if wanted.tzinfo is None or now.tzinfo is None:
        raise GatewayError("expires_at and the clock must be timezone-aware", retryable=False)
    earliest = math.ceil((now + CHECKOUT_MIN_LIFETIME).timestamp())
    latest = math.floor((now + CHECKOUT_MAX_LIFETIME).timestamp())
    return min(max(math.ceil(wanted.timestamp()), earliest), latest)


def _retryable(exc: stripe.StripeError) -> bool:
    """Whether trying the same request again later may succeed."""
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError):
        return True
    if isinstance(exc, stripe.CardError | stripe.InvalidRequestError | stripe.IdempotencyError
                  | stripe.AuthenticationError | stripe.PermissionError):
        return False
    status = exc.http_status
    return status is None or status in (409, 429) or status >= 500


def _raise_gateway_error(exc: stripe.StripeError, what: str) -> NoReturn:
    retryable = _retryable(exc)
    log.warning("stripe %s failed (%s, status %s, request %s, retryable=%s): %s", what,
                type(exc).__name__, exc.http_status, exc.request_id, retryable,
                exc.user_message)
    raise GatewayError(f"stripe {what}: {type(exc).__name__}: {exc}",
                       retryable=retryable) from exc


class StripeGateway:
    """`PaymentGateway` backed by Stripe Checkout (hosted page, one-off payment)."""

    def __init__(self, api_key: str, *, api_base: str | None = None, success_url: str,
                 cancel_url: str, timeout_s: float = 10, max_retries: int = 2,
                 clock: Callable[[], datetime] = _system_now) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._success_url = success_url
        self._cancel_url = cancel_url
        self._clock = clock
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_retries,
            http_client=self._http,
        )

    async def aclose(self) -> None:
        """Close the pooled HTTP connections (call once, at shutdown)."""
        await self._http.close_async()  # type: ignore[no-untyped-call]  # untyped in the SDK

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        metadata = {"business_id": request.business_id, "booking_id": request.booking_id,
                    "reference": request.reference, "attempt": str(request.attempt)}
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [{
                "quantity": 1,
                "price_data": {
                    "currency": request.currency.lower(),
                    "unit_amount": to_minor_units(request.amount, request.currency),
                    "product_data": {"name": request.description},
                },
            }],
            "client_reference_id": request.booking_id,
            "metadata": metadata,
            # Copied onto the PaymentIntent, so charge and refund events can be routed too.
            "payment_intent_data": {"metadata": {"business_id": request.business_id,
                                                 "booking_id": request.booking_id}},
            "expires_at": clamp_expiry(request.expires_at, self._clock()),
            "success_url": self._success_url,
            "cancel_url": self._cancel_url,
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": request.idempotency_key})
        except stripe.StripeError as exc:
            _raise_gateway_error(exc, "create checkout session")
        if not session.url:
            raise GatewayError(f"stripe checkout session {session.id} has no url",
                               retryable=False)
        return CheckoutSession(id=session.id, url=session.url,
                               expires_at=datetime.fromtimestamp(session.expires_at, UTC))

    async def expire_checkout(self, session_id: str) -> None:
        """Make the session unpayable; one already expired or completed is left as it is.

        Stripe answers 400 when the session is not open; rather than trusting the wording of
        that message, the session is read back and only a real `open` one is an error."""
        try:
            await self._client.v1.checkout.sessions.expire_async(session_id)
            return
        except stripe.InvalidRequestError as exc:
            if exc.http_status != 400:
                _raise_gateway_error(exc, "expire checkout session")
            refused = exc
        except stripe.StripeError as exc:
            _raise_gateway_error(exc, "expire checkout session")
        try:
            session = await self._client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            _raise_gateway_error(exc, "retrieve checkout session")
        if session.status in _NOT_OPEN:
            log.info("checkout session %s is already %s", session_id, session.status)
            return
        _raise_gateway_error(refused, "expire checkout session")

    async def refund(self, request: RefundRequest) -> str:
        params: RefundCreateParams = {
            "payment_intent": request.payment_intent,
            "amount": to_minor_units(request.amount, request.currency),
            "reason": "requested_by_customer",
            "metadata": {"business_id": request.business_id, "booking_id": request.booking_id,
                         "reason": request.reason},
        }
        try:
            refund = await self._client.v1.refunds.create_async(
                params, {"idempotency_key": request.idempotency_key})
        except stripe.StripeError as exc:
            _raise_gateway_error(exc, "refund")
        return refund.id
