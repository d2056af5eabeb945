"""payments: deposits through a gateway (Stripe or offline), webhooks applied exactly once.

- `deposit.requested` -> a Checkout Session (idempotency key per booking and attempt) and a
  hold timer; `checkout.created` carries the link back to fsm.
- The hold timer lapsing expires the session through the API, so it can no longer be paid,
  and tells fsm (`payment.expired`).
- Stripe events are recorded by `evt_` id in the same transaction as their effect, so a
  redelivered webhook changes nothing; they may arrive in any order.
- Refunds: a cancellation judged refundable, or a late payment for a slot taken meanwhile.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from libs.bus.context import Handler, HandlerContext, PermanentError
from libs.contracts import events as ev
from libs.timers import service as timers
from libs.timers.models import Timer
from services.payments.adapters.base import (
    CheckoutRequest,
    GatewayError,
    PaymentGateway,
    RefundRequest,
)
from services.payments.models import Deposit, StripeWebhookEvent

log = logging.getLogger(__name__)

OWNER = "payments"
HOLD_EXPIRY = "hold_expiry"
CHECKOUT_LIFETIME = timedelta(minutes=60)  # Stripe: at least 30 minutes, at most 24 hours
T = TypeVar("T")


def _hold_key(booking_id: uuid.UUID, attempt: int) -> str:
    return f"{HOLD_EXPIRY}:{booking_id}:{attempt}"


class Payments:
    """The handlers, sharing one gateway; `on_hold_expired` is the hold timers' handler."""

    def __init__(self, gateway: PaymentGateway) -> None:
        self.gateway = gateway

    def handlers(self) -> dict[str, Handler]:
        return {
            ev.DepositRequested.TYPE: self.on_deposit_requested,
            ev.StripeEventReceived.TYPE: self.on_stripe_event,
            ev.RefundRequested.TYPE: self.on_refund_requested,
            ev.BookingCancelled.TYPE: self.on_booking_cancelled,
            ev.BookingExpired.TYPE: self.on_booking_expired,
        }

    async def on_deposit_requested(self, ctx: HandlerContext, event: ev.DepositRequested) -> None:
        deposit = await ctx.session.scalar(select(Deposit).where(
            Deposit.booking_id == event.booking_id, Deposit.attempt == event.attempt))
        if deposit is not None:
            return  # already asked (a redelivery that slipped past the inbox)
        # Stripe refuses an expiry sooner than 30 minutes; our own, shorter hold is a timer.
        # The expiry is derived from the event, not from the clock, so a retried request is
        # byte-identical and Stripe replays it under the same idempotency key; the margin
        # keeps it valid for every retry tier.
        requested_at = ctx.envelope.occurred_at if ctx.envelope else ctx.clock.now()
        expires_at = max(event.hold_expires_at, requested_at + CHECKOUT_LIFETIME).replace(
            microsecond=0)
        request = CheckoutRequest(
            business_id=ctx.business_id, booking_id=str(event.booking_id),
            reference=event.reference, attempt=event.attempt, amount=event.amount,
            currency=event.currency, description=event.description, expires_at=expires_at,
            customer=event.customer)
        session = await self._gateway_call(self.gateway.create_checkout(request))
        ctx.session.add(Deposit(
            business_id=ctx.business_id, booking_id=event.booking_id, attempt=event.attempt,
            amount=event.amount, currency=event.currency, status="open",
            checkout_session_id=session.id, checkout_url=session.url,
            hold_expires_at=event.hold_expires_at))
        await timers.schedule(ctx.session, owner=OWNER, kind=HOLD_EXPIRY,
                              key=_hold_key(event.booking_id, event.attempt),
                              business_id=ctx.business_id, due_at=event.hold_expires_at,
                              payload={"booking_id": str(event.booking_id),
                                       "attempt": event.attempt})
        ctx.emit(ev.CheckoutCreated(booking_id=event.booking_id, checkout_session_id=session.id,
                                    url=session.url, amount=event.amount,
                                    currency=event.currency, expires_at=session.expires_at))

    async def on_hold_expired(self, ctx: HandlerContext, timer: Timer) -> None:
        """Our hold lapsed unpaid: make the session unpayable, then tell fsm."""
        booking_id = uuid.UUID(timer.payload["booking_id"])
        deposit = await ctx.session.scalar(select(Deposit).where(
            Deposit.booking_id == booking_id, Deposit.attempt == timer.payload["attempt"])
            .with_for_update())
        if deposit is None or deposit.status != "open":
            return
        if deposit.checkout_session_id:
            await self._gateway_call(self.gateway.expire_checkout(deposit.checkout_session_id))
        deposit.status = "expired"
        ctx.emit(ev.PaymentExpired(booking_id=booking_id,
                                   checkout_session_id=deposit.checkout_session_id or ""))

    async def on_stripe_event(self, ctx: HandlerContext, event: ev.StripeEventReceived) -> None:
        first = await ctx.session.scalar(
            insert(StripeWebhookEvent)
            .values(id=event.stripe_event_id, type=event.stripe_type,
                    payload=event.data_object)
            .on_conflict_do_nothing().returning(StripeWebhookEvent.id))
        if first is None:
            log.info("Stripe event %s already applied", event.stripe_event_id)
            return
        obj = event.data_object
        match event.stripe_type:
            case "checkout.session.completed":
                if obj.get("payment_status") in ("paid", "no_payment_required"):
                    await self._paid(ctx, obj)
                # else: an async method (ACH...) is still settling; its own event follows
            case "checkout.session.async_payment_succeeded":
                await self._paid(ctx, obj)
            case "checkout.session.expired" | "checkout.session.async_payment_failed":
                await self._lapsed(ctx, obj)
            case "charge.refunded":
                await self._refund_settled(ctx, obj)
            case other:
                log.info("Stripe event type %s ignored", other)

    async def _deposit_for_session(self, ctx: HandlerContext,
                                   obj: dict[str, Any]) -> Deposit | None:
        deposit = await ctx.session.scalar(select(Deposit).where(
            Deposit.checkout_session_id == str(obj.get("id"))).with_for_update())
        if deposit is None:
            log.warning("Stripe event for unknown checkout session %s ignored", obj.get("id"))
        return deposit

    async def _paid(self, ctx: HandlerContext, obj: dict[str, Any]) -> None:
        deposit = await self._deposit_for_session(ctx, obj)
        if deposit is None or deposit.status in ("paid", "refunded"):
            return
        deposit.status = "paid"
        deposit.paid_at = ctx.clock.now()
        deposit.payment_intent = str(obj.get("payment_intent") or "") or None
        await timers.cancel(ctx.session, owner=OWNER,
                            key=_hold_key(deposit.booking_id, deposit.attempt))
        # A payment after the hold lapsed is still reported: fsm confirms the booking if the
        # slot is free, else asks for a refund.
        ctx.emit(ev.PaymentSucceeded(booking_id=deposit.booking_id,
                                     checkout_session_id=deposit.checkout_session_id or "",
                                     amount=deposit.amount, currency=deposit.currency,
                                     paid_at=deposit.paid_at))

    async def _lapsed(self, ctx: HandlerContext, obj: dict[str, Any]) -> None:
        deposit = await self._deposit_for_session(ctx, obj)
        if deposit is None or deposit.status != "open":
            return  # paid (an expiry after a payment changes nothing) or already expired
        deposit.status = "expired"
        await timers.cancel(ctx.session, owner=OWNER,
                            key=_hold_key(deposit.booking_id, deposit.attempt))
        ctx.emit(ev.PaymentExpired(booking_id=deposit.booking_id,
                                   checkout_session_id=deposit.checkout_session_id or ""))

    async def _refund_settled(self, ctx: HandlerContext, obj: dict[str, Any]) -> None:
        intent = obj.get("payment_intent")
        deposit = await ctx.session.scalar(select(Deposit).where(
            Deposit.payment_intent == str(intent)).with_for_update()) if intent else None
        if deposit is not None and deposit.status == "paid":
            deposit.status = "refunded"

    async def on_booking_cancelled(self, ctx: HandlerContext, event: ev.BookingCancelled) -> None:
        """fsm judged the cancellation: refunded means give the money back now."""
        if event.deposit_status == "refunded":
            await self._refund(ctx, event.booking_id, "cancelled")
        else:
            await self._expire_open(ctx, event.booking_id)

    async def on_booking_expired(self, ctx: HandlerContext, event: ev.BookingExpired) -> None:
        """An expired booking keeps no money: an unpaid top-up for a move lapsed, so what was
        paid before the move is given back (the booking is given up, as if cancelled)."""
        await self._expire_open(ctx, event.booking_id)
        if await ctx.session.scalar(select(Deposit.id).where(
                Deposit.booking_id == event.booking_id, Deposit.status == "paid").limit(1)):
            await self._refund(ctx, event.booking_id, "cancelled")

    async def on_refund_requested(self, ctx: HandlerContext, event: ev.RefundRequested) -> None:
        await self._refund(ctx, event.booking_id, event.reason)

    async def _expire_open(self, ctx: HandlerContext, booking_id: uuid.UUID) -> None:
        open_ = (await ctx.session.scalars(select(Deposit).where(
            Deposit.booking_id == booking_id, Deposit.status == "open").with_for_update())).all()
        for deposit in open_:
            if deposit.checkout_session_id:
                await self._gateway_call(self.gateway.expire_checkout(deposit.checkout_session_id))
            deposit.status = "expired"
            await timers.cancel(ctx.session, owner=OWNER,
                                key=_hold_key(deposit.booking_id, deposit.attempt))

    async def _refund(self, ctx: HandlerContext, booking_id: uuid.UUID, reason: str) -> None:
        paid = (await ctx.session.scalars(select(Deposit).where(
            Deposit.booking_id == booking_id, Deposit.status == "paid").with_for_update())).all()
        if not paid:
            log.warning("refund for booking %s: no paid deposit", booking_id)
            return
        for deposit in paid:
            if not deposit.payment_intent:
                raise PermanentError(f"paid deposit {deposit.id} has no payment intent")
            refund_id = await self._gateway_call(self.gateway.refund(RefundRequest(
                business_id=ctx.business_id, booking_id=str(booking_id),
                payment_intent=deposit.payment_intent, amount=deposit.amount,
                currency=deposit.currency, reason=reason)))
            deposit.status, deposit.refund_id = "refunded", refund_id
            ctx.emit(ev.PaymentRefunded(booking_id=booking_id, amount=deposit.amount,
                                        currency=deposit.currency, refund_id=refund_id,
                                        reason=reason))  # type: ignore[arg-type]

    @staticmethod
    async def _gateway_call(call: Awaitable[T]) -> T:
        """A refusal that retrying cannot fix goes to the dead-letter queue at once."""
        try:
            return await call
        except GatewayError as exc:
            if exc.retryable:
                raise  # the consumer retries with growing delays
            raise PermanentError(str(exc)) from exc
