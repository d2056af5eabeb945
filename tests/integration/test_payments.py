"""payments over real PostgreSQL: checkout per deposit request, hold expiry through the
gateway, Stripe events applied once and in any order, refunds with idempotency keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.context import PermanentError
from libs.bus.models import InboxMessage
from libs.clock import SimulatedClock
from libs.contracts import events as ev
from libs.contracts.commands import DepositRequested, RefundRequested
from libs.contracts.message import Message
from libs.contracts.vocabulary import BookingStatus, DepositStatus
from libs.timers.models import Timer
from services.payments.adapters.base import CheckoutRequest, GatewayError, RefundRequest
from services.payments.adapters.offline import OfflineGateway, completed_event
from services.payments.handlers import (
    TIMERS,
    PaymentsDeps,
    on_booking_cancelled,
    on_booking_expired,
    on_deposit_requested,
    on_refund_requested,
    on_stripe_event_received,
)
from services.payments.models import Deposit, StripeWebhookEvent
from tests.helpers import fire, handle, orm_writes, uncached_statements

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
BOOKING = uuid.UUID("00000000-0000-0000-0000-00000000b001")
B = TypeVar("B", bound=ev.BookingEvent)


class Harness:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.clock = SimulatedClock(NOW)
        self.gateway = OfflineGateway("https://pay.test")
        self.deps = PaymentsDeps(self.gateway)

    async def run(self, handler: Any, message: Message) -> list[Message]:
        """Handle one message as the consumer would; returns what it emitted."""
        return await handle(handler, message, self.deps, sessions=self.sessions,
                            clock=self.clock, consumer="payments")

    async def fire_hold(self) -> list[Message]:
        async with self.sessions() as session:
            timer = (await session.scalars(select(Timer))).one()
        return await fire(TIMERS[timer.kind], timer, self.deps, sessions=self.sessions,
                          clock=self.clock)

    def stripe(self, kind: str, session_id: str, *, event_id: str | None = None,
               payment_intent: str = "pi_1") -> ev.StripeEventReceived:
        return ev.StripeEventReceived(
            stripe_event_id=event_id or f"evt_{uuid.uuid4().hex}", stripe_type=kind,
            created=int(NOW.timestamp()), livemode=False,
            data_object={"id": session_id, "object": "checkout.session",
                         "payment_status": "paid", "payment_intent": payment_intent,
                         "metadata": {"business_id": "salon", "booking_id": str(BOOKING)}})


@pytest.fixture
async def harness(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[Harness]:
    yield Harness(session_factory)


def deposit_requested(amount: str = "20.00") -> DepositRequested:
    return DepositRequested(
        booking_id=BOOKING, reference="ABC123", customer="+15555550101", channel="sms",
        amount=Decimal(amount), currency="usd", attempt=1,
        hold_expires_at=NOW + timedelta(minutes=15), description="Deposit for Facial")


def facial(kind: type[B], starts_in: timedelta, status: BookingStatus,
           deposit_status: DepositStatus, **fields: Any) -> B:
    """A booking event for the test's Facial, paid $20.00, starting `starts_in` from now."""
    return kind(booking_id=BOOKING, reference="ABC123", customer="+15555550101",
                channel="sms", service="Facial", starts_at=NOW + starts_in,
                ends_at=NOW + starts_in + timedelta(hours=1), resource=1, status=status,
                deposit_status=deposit_status, deposit_amount=Decimal("20.00"), **fields)


async def checkout(h: Harness) -> str:
    (created,) = await h.run(on_deposit_requested, deposit_requested())
    assert isinstance(created, ev.CheckoutCreated)
    return created.checkout_session_id


async def test_deposit_request_creates_one_checkout_and_a_hold_timer(h: Harness) -> None:
    (created,) = await h.run(on_deposit_requested, deposit_requested())
    assert isinstance(created, ev.CheckoutCreated)
    assert created.url.startswith("https://pay.test/checkout/cs_offline_")
    assert created.amount == Decimal("20.00")
    # Stripe's minimum is 30 minutes; our 15-minute hold is a timer of our own, and the
    # session's expiry derives from the request, so a retry sends the same body.
    assert created.expires_at == NOW + timedelta(minutes=60)
    session = h.gateway.sessions[created.checkout_session_id]
    assert session.request.idempotency_key == f"checkout-{BOOKING}-1"
    assert await h.run(on_deposit_requested, deposit_requested()) == []
    async with h.sessions() as s:
        timer = (await s.scalars(select(Timer))).one()
    assert timer.due_at == NOW + timedelta(minutes=15) and timer.owner == "payments"


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def test_payment_is_applied_once_however_often_delivered(h: Harness) -> None:
    session_id = await checkout(h)
    paid = h.stripe("checkout.session.completed", session_id, event_id="evt_paid")
    (succeeded,) = await h.run(on_stripe_event_received, paid)
    assert isinstance(succeeded, ev.PaymentSucceeded) and succeeded.booking_id == BOOKING
    assert await h.run(on_stripe_event_received, paid) == []  # same evt_ id
    other_copy = h.stripe("checkout.session.async_payment_succeeded", session_id)
    assert await h.run(on_stripe_event_received, other_copy) == []  # already paid
    async with h.sessions() as s:
        deposit = (await s.scalars(select(Deposit))).one()
        timers_left = await s.scalar(select(func.count()).select_from(Timer))
    assert deposit.status == "paid" and deposit.payment_intent == "pi_1"
    assert timers_left == 0  # the hold timer is gone once paid


async def test_events_in_any_order(h: Harness) -> None:
    session_id = await checkout(h)
    await h.run(on_stripe_event_received, h.stripe("checkout.session.completed", session_id))
    late_expiry = h.stripe("checkout.session.expired", session_id)
    assert await h.run(on_stripe_event_received, late_expiry) == []
    async with h.sessions() as s:
        assert (await s.scalars(select(Deposit))).one().status == "paid"


async def test_hold_lapse_expires_the_session_then_a_late_payment_is_reported(
        h: Harness) -> None:
    session_id = await checkout(h)
    h.clock.advance(timedelta(minutes=16))
    (expired,) = await h.fire_hold()
    assert isinstance(expired, ev.PaymentExpired)
    assert h.gateway.sessions[session_id].status == "expired"  # can no longer be paid
    late = await h.run(on_stripe_event_received,
                       h.stripe("checkout.session.completed", session_id))
    assert [type(e) for e in late] == [ev.PaymentSucceeded]  # fsm decides: confirm or refund


async def test_unknown_session_and_other_types_are_recorded_and_ignored(h: Harness) -> None:
    assert await h.run(on_stripe_event_received,
                       h.stripe("checkout.session.completed", "cs_nobody")) == []
    other = ev.StripeEventReceived(stripe_event_id="evt_other", stripe_type="customer.created",
                                   created=0, livemode=False, data_object={"id": "cus_1"})
    assert await h.run(on_stripe_event_received, other) == []
    async with h.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(StripeWebhookEvent)) == 2


async def test_refund_on_cancellation_uses_an_idempotency_key(h: Harness) -> None:
    session_id = await checkout(h)
    await h.run(on_stripe_event_received, h.stripe("checkout.session.completed", session_id))
    cancelled = facial(ev.BookingCancelled, timedelta(days=2), status="cancelled",
                       deposit_status="refunded", cancelled_by="customer")
    (refunded,) = await h.run(on_booking_cancelled, cancelled)
    assert isinstance(refunded, ev.PaymentRefunded) and refunded.amount == Decimal("20.00")
    assert list(h.gateway.refunds) == [f"refund-{BOOKING}-pi_1"]
    assert await h.run(on_booking_cancelled, cancelled) == []  # nothing left to refund


async def test_forfeited_cancellation_refunds_nothing(h: Harness) -> None:
    session_id = await checkout(h)
    await h.run(on_stripe_event_received, h.stripe("checkout.session.completed", session_id))
    forfeited = facial(ev.BookingCancelled, timedelta(hours=3), status="cancelled",
                       deposit_status="forfeited", cancelled_by="customer")
    assert await h.run(on_booking_cancelled, forfeited) == []
    assert h.gateway.refunds == {}


async def test_a_gateway_refusal_is_permanent_and_an_outage_is_retried(h: Harness) -> None:
    class Refusing(OfflineGateway):
        def __init__(self, retryable: bool) -> None:
            super().__init__("https://pay.test")
            self.retryable = retryable

        async def refund(self, request: RefundRequest) -> str:
            raise GatewayError("no", retryable=self.retryable)

    session_id = await checkout(h)
    await h.run(on_stripe_event_received, h.stripe("checkout.session.completed", session_id))
    request = RefundRequested(booking_id=BOOKING, amount=Decimal("20.00"),
                                 reason="late_payment_slot_taken")
    h.deps = PaymentsDeps(Refusing(retryable=False))
    with pytest.raises(PermanentError):
        await h.run(on_refund_requested, request)
    h.deps = PaymentsDeps(Refusing(retryable=True))
    with pytest.raises(GatewayError):
        await h.run(on_refund_requested, request)
    async with h.sessions() as s:
        assert (await s.scalars(select(Deposit))).one().status == "paid"  # nothing half-done


def test_offline_completed_event_names_the_booking() -> None:
    gateway = OfflineGateway("https://pay.test")
    request = CheckoutRequest(business_id="salon", booking_id=str(BOOKING), reference="R",
                              attempt=1, amount=Decimal("40.00"), currency="usd",
                              description="d", expires_at=NOW, customer="+1")
    event = completed_event("cs_x", request, "pi_x", created=1)
    assert event["data"]["object"]["amount_total"] == 4000
    assert event["data"]["object"]["metadata"]["business_id"] == "salon"
    assert gateway.sessions == {}


async def test_an_expired_booking_keeps_no_money(h: Harness) -> None:
    """A move's unpaid top-up lapsed: what was paid before is given back."""
    session_id = await checkout(h)
    await h.run(on_stripe_event_received, h.stripe("checkout.session.completed", session_id))
    expired = facial(ev.BookingExpired, timedelta(days=2), status="expired",
                     deposit_status="expired")
    (refunded,) = await h.run(on_booking_expired, expired)
    assert isinstance(refunded, ev.PaymentRefunded) and refunded.amount == Decimal("20.00")


async def test_a_deposit_paid_for_two_bookings_is_refunded_in_parts(h: Harness) -> None:
    """Two services booked together paid one $60.00 checkout; each cancellation gives back
    that booking's share from it, under its own idempotency key."""
    leader, follower = BOOKING, uuid.UUID("00000000-0000-0000-0000-00000000b002")
    (created,) = await h.run(on_deposit_requested, deposit_requested("60.00"))
    assert isinstance(created, ev.CheckoutCreated)
    await h.run(on_stripe_event_received,
                h.stripe("checkout.session.completed", created.checkout_session_id))
    second = facial(ev.BookingCancelled, timedelta(days=3), status="cancelled",
                    deposit_status="refunded", cancelled_by="customer",
                    deposit_booking_id=leader)
    second = second.model_copy(update={"booking_id": follower})
    (refunded,) = await h.run(on_booking_cancelled, second)
    assert isinstance(refunded, ev.PaymentRefunded) and refunded.amount == Decimal("20.00")
    first = facial(ev.BookingCancelled, timedelta(days=3), status="cancelled",
                   deposit_status="refunded", cancelled_by="customer").model_copy(
        update={"deposit_amount": Decimal("40.00")})
    (rest,) = await h.run(on_booking_cancelled, first)
    assert isinstance(rest, ev.PaymentRefunded) and rest.amount == Decimal("40.00")
    assert sorted(h.gateway.refunds) == sorted([f"refund-{follower}-pi_1",
                                                f"refund-{leader}-pi_1"])
    async with h.sessions() as s:
        deposit = (await s.scalars(select(Deposit))).one()
    assert (deposit.status, deposit.refunded_amount) == ("refunded", Decimal("60.00"))
    assert await h.run(on_booking_cancelled, first) == []  # nothing more to give back


async def test_a_late_top_up_is_refunded_alone(h: Harness) -> None:
    """A move's difference paid after its hold lapsed, with the new time taken: only that
    difference goes back; the deposit paid for the booking itself stays."""
    (created,) = await h.run(on_deposit_requested, deposit_requested("20.00"))
    assert isinstance(created, ev.CheckoutCreated)
    await h.run(on_stripe_event_received,
                h.stripe("checkout.session.completed", created.checkout_session_id))
    top_up = deposit_requested("15.00").model_copy(update={"attempt": 2})
    (second,) = await h.run(on_deposit_requested, top_up)
    assert isinstance(second, ev.CheckoutCreated)
    await h.run(on_stripe_event_received, h.stripe(
        "checkout.session.completed", second.checkout_session_id, payment_intent="pi_2"))
    (refunded,) = await h.run(on_refund_requested, RefundRequested(
        booking_id=BOOKING, amount=Decimal("15.00"), reason="late_payment_slot_taken"))
    assert isinstance(refunded, ev.PaymentRefunded) and refunded.amount == Decimal("15.00")
    assert list(h.gateway.refunds) == [f"refund-{BOOKING}-pi_2"]
    async with h.sessions() as s:
        statuses = sorted((d.attempt, d.status) for d in (await s.scalars(select(Deposit))))
    assert statuses == [(1, "paid"), (2, "refunded")]


async def _inbox_rows(h: Harness) -> int:
    async with h.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(InboxMessage)
                                  .where(InboxMessage.consumer == "payments")) or 0)


async def test_a_cancellation_with_nothing_to_close_or_give_back_takes_no_transaction(
        h: Harness) -> None:
    """Most cancellations had no deposit: payments reads, finds nothing, and writes
    nothing, not even an inbox row (a repeat reads the same nothing)."""
    for deposit_status in ("none", "forfeited"):
        cancelled = facial(ev.BookingCancelled, timedelta(days=2), status="cancelled",
                           deposit_status=deposit_status, cancelled_by="customer")
        assert await h.run(on_booking_cancelled, cancelled) == []
    assert await _inbox_rows(h) == 0
    assert h.gateway.refunds == {}


async def test_a_cancellation_closes_an_open_top_up_and_refunds_the_deposit_at_once(
        h: Harness) -> None:
    """A move's top-up was asked for (its checkout open) when the customer cancelled with
    a refund: the open checkout is expired and the paid deposit refunded, in one
    transaction with one inbox row."""
    first = await checkout(h)
    await h.run(on_stripe_event_received, h.stripe("checkout.session.completed", first))
    (top_up,) = await h.run(on_deposit_requested,
                            deposit_requested("15.00").model_copy(update={"attempt": 2}))
    assert isinstance(top_up, ev.CheckoutCreated)
    cancelled = facial(ev.BookingCancelled, timedelta(days=2), status="cancelled",
                       deposit_status="refunded", cancelled_by="customer")
    inbox_before = await _inbox_rows(h)
    (refunded,) = await h.run(on_booking_cancelled, cancelled)
    assert isinstance(refunded, ev.PaymentRefunded) and refunded.amount == Decimal("20.00")
    assert h.gateway.sessions[top_up.checkout_session_id].status == "expired"
    async with h.sessions() as s:
        statuses = sorted((d.attempt, d.status) for d in (await s.scalars(select(Deposit))))
        holds = await s.scalar(select(func.count()).select_from(Timer))
    assert statuses == [(1, "refunded"), (2, "expired")]
    assert holds == 0
    assert await _inbox_rows(h) == inbox_before + 1


async def test_a_deposits_messages_send_only_statements_built_once_on_tables(h: Harness) -> None:
    """Asked for, paid, the booking cancelled (docs/scaling.md): every statement has a
    cache key, and none writes through the ORM's bulk path (which builds it again)."""
    with uncached_statements() as uncached, orm_writes() as written:
        session_id = await checkout(h)
        await h.run(on_stripe_event_received, h.stripe("checkout.session.completed",
                                                       session_id))
        await h.run(on_booking_cancelled, facial(ev.BookingCancelled, timedelta(hours=2),
                                                 status="cancelled",
                                                 deposit_status="forfeited",
                                                 cancelled_by="customer"))
    async with h.sessions() as s:
        assert (await s.scalars(select(Deposit.status))).all() == ["paid"]
    assert (uncached, written) == ([], [])
