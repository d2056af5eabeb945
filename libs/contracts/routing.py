"""Who consumes what: the bindings every service declares on the topic exchange.

This is part of the contract, not of any one service: any process may declare the whole
topology, so an event published before its consumer first starts waits in a durable queue
instead of being unroutable.
"""

from __future__ import annotations

from libs.contracts import events as ev

_BOOKING_LIFECYCLE = (
    ev.BookingConfirmed.TYPE,
    ev.BookingRescheduled.TYPE,
    ev.BookingCancelled.TYPE,
    ev.BookingExpired.TYPE,
    ev.BookingCompleted.TYPE,
    ev.BookingNoShow.TYPE,
)

SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "nlu": (ev.InboundMessageReceived.TYPE,),
    "fsm": (
        ev.MessageUnderstood.TYPE,
        ev.CheckoutCreated.TYPE,
        ev.PaymentSucceeded.TYPE,
        ev.PaymentExpired.TYPE,
        ev.PaymentRefunded.TYPE,
        ev.ReminderDue.TYPE,
    ),
    "payments": (
        ev.DepositRequested.TYPE,
        ev.StripeEventReceived.TYPE,
        ev.RefundRequested.TYPE,
        ev.BookingCancelled.TYPE,
        ev.BookingExpired.TYPE,
    ),
    "reminders": _BOOKING_LIFECYCLE,
    "notifier": (ev.ReplyRequested.TYPE, ev.DeliveryStatus.TYPE),
    "calendar": (ev.BookingHeld.TYPE, *_BOOKING_LIFECYCLE),
    # Events no service acts on yet are kept in a capped audit queue for operators, so a
    # publish is always routable and `mandatory` only fires on a real topology mistake.
    "audit": (ev.CalendarSynced.TYPE,),
}


def consumers_of(event_type: str) -> list[str]:
    return [name for name, types in SUBSCRIPTIONS.items() if event_type in types]
