"""payments: deposits through a gateway (Stripe or offline), webhooks applied exactly once.

- `deposit.requested` -> a Checkout Session (idempotency key per booking and attempt) and a
  hold timer; `checkout.created` carries the link back to fsm.
- The hold timer lapsing expires the session through the API, so it can no longer be paid,
  and tells fsm (`payment.expired`).
- Stripe events are recorded by `evt_` id in the same transaction as their effect, so a
  redelivered webhook changes nothing; they may arrive in any order.
- Refunds: a cancellation judged refundable, or a late payment for a slot taken meanwhile.

Every gateway call happens before the handler's transaction (it reads, calls, then
writes): no row lock is held while Stripe answers, and the idempotency keys make a call
repeated after a crash or a lost race harmless.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.bus.context import HandlerContext, HandlerMap, PermanentError
from libs.contracts import events as ev
from libs.contracts.commands import DepositRequested, RefundRequested
from libs.contracts.vocabulary import RefundReason
from libs.db.direct import Direct
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


@dataclass(frozen=True)
class PaymentsDeps:
    gateway: PaymentGateway


def _hold_key(booking_id: uuid.UUID, attempt: int) -> str:
    return f"{HOLD_EXPIRY}:{booking_id}:{attempt}"


# Every statement a message sends is built once (docs/scaling.md, "Statements built once").
_ATTEMPT = select(Deposit).where(Deposit.booking_id == bindparam("booking_id"),
                                 Deposit.attempt == bindparam("attempt"))
_ATTEMPT_LOCKED = _ATTEMPT.with_for_update()


@dataclass(frozen=True)
class _OpenCheckout:
    """A deposit's checkout still open when its booking ended (`_OPEN_CHECKOUTS`' columns)."""

    id: uuid.UUID
    booking_id: uuid.UUID
    attempt: int
    checkout_session_id: str | None


_DEPOSITS = cast(Table, Deposit.__table__)
_OPEN_CHECKOUTS = Direct.of(select(*(_DEPOSITS.c[f.name] for f in fields(_OpenCheckout)))
                            .where(_DEPOSITS.c.booking_id == bindparam("booking_id"),
                                   _DEPOSITS.c.status == "open"))
"""Read on every cancellation (most find none): one statement through psycopg, outside a
transaction and without a session (docs/scaling.md, "Transactions without the session"),
its columns those of `_OpenCheckout`, in its order."""
_PAID_NEWEST_FIRST = (select(Deposit).where(Deposit.booking_id == bindparam("booking_id"),
                                            Deposit.status == "paid")
                      .order_by(Deposit.attempt.desc()))
_OF_CHECKOUT = (select(Deposit).where(Deposit.checkout_session_id == bindparam("session_id"))
                .with_for_update())
_STRIPE_EVENTS = cast(Table, StripeWebhookEvent.__table__)
_FIRST_TIME = (insert(_STRIPE_EVENTS)
               .values(id=bindparam("id"), type=bindparam("type"), payload=bindparam("payload"))
               .on_conflict_do_nothing().returning(_STRIPE_EVENTS.c.id))
"""On the table: an INSERT on the mapped class takes the ORM's bulk path, which builds the
statement again on every call."""


async def _gateway_call(call: Awaitable[T]) -> T:
    """A refusal that retrying cannot fix goes to the dead-letter queue at once."""
    try:
        return await call
    except GatewayError as exc:
        if exc.retryable:
            raise  # the consumer retries with growing delays
        raise PermanentError(str(exc)) from exc


# --- checkout and the hold -------------------------------------------------------------


async def on_deposit_requested(ctx: HandlerContext, command: DepositRequested,
                               deps: PaymentsDeps) -> None:
    async with ctx.read() as session:
        asked = await _deposit(session, command.booking_id, command.attempt)
    if asked is not None:
        return  # already asked (a redelivery that slipped past the inbox)
    # Stripe refuses an expiry sooner than 30 minutes; our own, shorter hold is a timer.
    # The expiry is derived from the command, not from the clock, so a retried request is
    # byte-identical and Stripe replays it under the same idempotency key; the margin
    # keeps it valid for every retry tier.
    expires_at = max(command.hold_expires_at,
                     ctx.occurred_at + CHECKOUT_LIFETIME).replace(microsecond=0)
    checkout = await _gateway_call(deps.gateway.create_checkout(CheckoutRequest(
        business_id=ctx.business_id, booking_id=str(command.booking_id),
        reference=command.reference, attempt=command.attempt, amount=command.amount,
        currency=command.currency, description=command.description, expires_at=expires_at,
        customer=command.customer)))
    async with ctx.write() as session:
        session.add(Deposit(
            business_id=ctx.business_id, booking_id=command.booking_id,
            attempt=command.attempt, amount=command.amount, currency=command.currency,
            status="open", checkout_session_id=checkout.id, checkout_url=checkout.url,
            hold_expires_at=command.hold_expires_at))
        await timers.schedule(session, owner=OWNER, kind=HOLD_EXPIRY,
                              key=_hold_key(command.booking_id, command.attempt),
                              business_id=ctx.business_id, due_at=command.hold_expires_at,
                              payload={"booking_id": str(command.booking_id),
                                       "attempt": command.attempt})
        ctx.emit(ev.CheckoutCreated(
            booking_id=command.booking_id, checkout_session_id=checkout.id, url=checkout.url,
            amount=command.amount, currency=command.currency, expires_at=checkout.expires_at))


async def on_hold_expiry(ctx: HandlerContext, timer: Timer, deps: PaymentsDeps) -> None:
    """Our hold lapsed unpaid: make the session unpayable, then tell fsm."""
    booking_id = uuid.UUID(timer.payload["booking_id"])
    attempt = int(timer.payload["attempt"])
    async with ctx.read() as session:
        deposit = await _deposit(session, booking_id, attempt)
    if deposit is None or deposit.status != "open":
        return
    if deposit.checkout_session_id:
        await _gateway_call(deps.gateway.expire_checkout(deposit.checkout_session_id))
    async with ctx.write() as session:
        deposit = await _deposit(session, booking_id, attempt, lock=True)
        if deposit is None or deposit.status != "open":
            return  # paid while we expired the session: the payment stands
        deposit.status = "expired"
        ctx.emit(ev.PaymentExpired(booking_id=booking_id,
                                   checkout_session_id=deposit.checkout_session_id or ""))


async def _deposit(session: AsyncSession, booking_id: uuid.UUID, attempt: int, *,
                   lock: bool = False) -> Deposit | None:
    query = _ATTEMPT_LOCKED if lock else _ATTEMPT
    return await session.scalar(query, {"booking_id": booking_id, "attempt": attempt})


# --- Stripe's webhooks -----------------------------------------------------------------


async def on_stripe_event_received(ctx: HandlerContext, event: ev.StripeEventReceived,
                                   deps: PaymentsDeps) -> None:
    async with ctx.write() as session:
        first = await session.scalar(_FIRST_TIME, {
            "id": event.stripe_event_id, "type": event.stripe_type,
            "payload": event.data_object})
        if first is None:
            log.info("Stripe event %s already applied", event.stripe_event_id)
            return
        obj = event.data_object
        match event.stripe_type:
            case "checkout.session.completed":
                if obj.get("payment_status") in ("paid", "no_payment_required"):
                    await _paid(ctx, session, obj)
                # else: an async method (ACH...) is still settling; its own event follows
            case "checkout.session.async_payment_succeeded":
                await _paid(ctx, session, obj)
            case "checkout.session.expired" | "checkout.session.async_payment_failed":
                await _lapsed(ctx, session, obj)
            case "charge.refunded":
                await _refund_settled(session, obj)
            case other:
                log.info("Stripe event type %s ignored", other)


async def _deposit_for_session(session: AsyncSession, obj: dict[str, Any]) -> Deposit | None:
    deposit = await session.scalar(_OF_CHECKOUT, {"session_id": str(obj.get("id"))})
    if deposit is None:
        log.warning("Stripe event for unknown checkout session %s ignored", obj.get("id"))
    return deposit


async def _paid(ctx: HandlerContext, session: AsyncSession, obj: dict[str, Any]) -> None:
    deposit = await _deposit_for_session(session, obj)
    if deposit is None or deposit.status in ("paid", "refunded"):
        return
    deposit.status = "paid"
    deposit.paid_at = ctx.clock.now()
    deposit.payment_intent = str(obj.get("payment_intent") or "") or None
    await timers.cancel(session, owner=OWNER,
                        key=_hold_key(deposit.booking_id, deposit.attempt))
    # A payment after the hold lapsed is still reported: fsm confirms the booking if the
    # slot is free, else asks for a refund.
    ctx.emit(ev.PaymentSucceeded(booking_id=deposit.booking_id,
                                 checkout_session_id=deposit.checkout_session_id or "",
                                 amount=deposit.amount, currency=deposit.currency,
                                 paid_at=deposit.paid_at))


async def _lapsed(ctx: HandlerContext, session: AsyncSession, obj: dict[str, Any]) -> None:
    deposit = await _deposit_for_session(session, obj)
    if deposit is None or deposit.status != "open":
        return  # paid (an expiry after a payment changes nothing) or already expired
    deposit.status = "expired"
    await timers.cancel(session, owner=OWNER, key=_hold_key(deposit.booking_id, deposit.attempt))
    ctx.emit(ev.PaymentExpired(booking_id=deposit.booking_id,
                               checkout_session_id=deposit.checkout_session_id or ""))


async def _refund_settled(session: AsyncSession, obj: dict[str, Any]) -> None:
    intent = obj.get("payment_intent")
    deposit = await session.scalar(select(Deposit).where(
        Deposit.payment_intent == str(intent)).with_for_update()) if intent else None
    if deposit is not None and deposit.status == "paid":
        deposit.status = "refunded"


# --- the end of a booking: give money back, close open checkouts ------------------------


async def on_booking_cancelled(ctx: HandlerContext, event: ev.BookingCancelled,
                               deps: PaymentsDeps) -> None:
    """fsm judged the cancellation: refunded means give this booking's deposit back now
    (its share, when it was paid together with another booking's)."""
    closed = await _expire_open(ctx, deps, event.booking_id)
    refunds: list[_Refund] = []
    if event.deposit_status == "refunded":
        refunds = await _refund(ctx, deps, event.booking_id,
                                "staff" if event.cancelled_by == "staff" else "cancelled",
                                amount=event.deposit_amount,
                                paid_for=event.deposit_booking_id or event.booking_id)
    await _write_back(ctx, closed, refunds)


async def on_booking_expired(ctx: HandlerContext, event: ev.BookingExpired,
                             deps: PaymentsDeps) -> None:
    """An expired booking keeps no money: whatever was paid for it goes back."""
    closed = await _expire_open(ctx, deps, event.booking_id)
    await _write_back(ctx, closed, await _refund(ctx, deps, event.booking_id, "cancelled"))


async def on_refund_requested(ctx: HandlerContext, command: RefundRequested,
                              deps: PaymentsDeps) -> None:
    await _write_back(ctx, [], await _refund(ctx, deps, command.booking_id, command.reason,
                                             amount=command.amount))


@dataclass(frozen=True)
class _Refund:
    """A refund the gateway made, to be written back with the booking it was for."""

    deposit: Deposit
    booking_id: uuid.UUID
    amount: Decimal
    refund_id: str
    reason: RefundReason


async def _expire_open(ctx: HandlerContext, deps: PaymentsDeps,
                       booking_id: uuid.UUID) -> list[_OpenCheckout]:
    """Open checkouts of a finished booking can no longer be paid: expired at the gateway,
    and returned for `_write_back` to mark (their hold timers go)."""
    async with ctx.statement() as db:
        open_ = [_OpenCheckout(*row)
                 for row in await _OPEN_CHECKOUTS.all(db, {"booking_id": booking_id})]
    for deposit in open_:
        if deposit.checkout_session_id:
            await _gateway_call(deps.gateway.expire_checkout(deposit.checkout_session_id))
    return open_


async def _refund(ctx: HandlerContext, deps: PaymentsDeps, booking_id: uuid.UUID,
                  reason: RefundReason, *, amount: Decimal | None = None,
                  paid_for: uuid.UUID | None = None) -> list[_Refund]:
    """Give back `amount` (everything not yet refunded when None) for `booking_id`, from the
    payments made at `paid_for`'s checkouts (the booking's own, by default), newest first.
    Each refund has its own idempotency key, so a retry never refunds twice."""
    async with ctx.read() as session:
        paid = (await session.scalars(_PAID_NEWEST_FIRST,
                                      {"booking_id": paid_for or booking_id})).all()
    remaining = amount if amount is not None else sum(
        (d.amount - d.refunded_amount for d in paid), Decimal(0))
    refunds: list[_Refund] = []
    for deposit in paid:
        part = min(remaining, deposit.amount - deposit.refunded_amount)
        if part <= 0:
            continue
        if not deposit.payment_intent:
            raise PermanentError(f"paid deposit {deposit.id} has no payment intent")
        refund_id = await _gateway_call(deps.gateway.refund(RefundRequest(
            business_id=ctx.business_id, booking_id=str(booking_id),
            payment_intent=deposit.payment_intent, amount=part, currency=deposit.currency,
            reason=reason)))
        refunds.append(_Refund(deposit, booking_id, part, refund_id, reason))
        remaining -= part
    if remaining > 0:
        log.warning("refund for booking %s: %s more than was paid", booking_id, remaining)
    return refunds


async def _write_back(ctx: HandlerContext, closed: list[_OpenCheckout],
                      refunds: list[_Refund]) -> None:
    """What the gateway did, in the handler's one transaction. When it did nothing (no open
    checkout, nothing paid: most cancellations), nothing changed here, and the message
    takes no transaction and no inbox row."""
    if not closed and not refunds:
        ctx.skip_inbox()
        return
    async with ctx.write() as session:
        for deposit in closed:
            await session.execute(update(Deposit)
                                  .where(Deposit.id == deposit.id, Deposit.status == "open")
                                  .values(status="expired"))
            await timers.cancel(session, owner=OWNER,
                                key=_hold_key(deposit.booking_id, deposit.attempt))
        for refund in refunds:
            given_back = refund.deposit.refunded_amount + refund.amount
            await session.execute(update(Deposit).where(Deposit.id == refund.deposit.id).values(
                refunded_amount=given_back, refund_id=refund.refund_id,
                status="refunded" if given_back >= refund.deposit.amount else "paid"))
            ctx.emit(ev.PaymentRefunded(booking_id=refund.booking_id, amount=refund.amount,
                                        currency=refund.deposit.currency,
                                        refund_id=refund.refund_id, reason=refund.reason))


HANDLERS: HandlerMap[PaymentsDeps] = {
    DepositRequested: on_deposit_requested,
    ev.StripeEventReceived: on_stripe_event_received,
    RefundRequested: on_refund_requested,
    ev.BookingCancelled: on_booking_cancelled,
    ev.BookingExpired: on_booking_expired,
}
TIMERS = {HOLD_EXPIRY: on_hold_expiry}


async def prune_webhook_events(session: AsyncSession, cutoff: datetime) -> int:
    """Stripe events older than the retention (Stripe stops retrying after 3 days)."""
    result = await session.execute(delete(StripeWebhookEvent).where(
        StripeWebhookEvent.processed_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
