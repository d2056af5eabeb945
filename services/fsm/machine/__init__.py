"""The conversation state machine: a pure function over an explicit transition table.

    step(conversation, input, world) -> Outcome(conversation', effects)

`world` is everything the machine may read (the business, now, who is busy when, this
customer's bookings), loaded by the handler before the turn; `effects` are what the handler
does after it (store a booking, send a reply, alert staff). No I/O happens in here.

The modules split it by concern: `model` (the values), `talk` (answers given anywhere),
`booking`, `cancel`, `reschedule`, `payment` (the rules) and `table` (which rule answers
which input in which state).
"""

from services.fsm.machine.model import (
    LOOP_LIMIT,
    AlertStaff,
    BookingView,
    CancelBooking,
    CheckoutReady,
    ConfirmBooking,
    Context,
    Conversation,
    CreateBooking,
    CustomerSaid,
    DepositPaid,
    Draft,
    Effect,
    ExpireBooking,
    Held,
    HoldLapsed,
    HoldMove,
    Input,
    MoveView,
    Outcome,
    RefundLatePayment,
    ReleaseMove,
    Reply,
    RescheduleBooking,
    SessionTimedOut,
    SetOptedOut,
    State,
    Transition,
    WebCaps,
    World,
)
from services.fsm.machine.table import TRANSITIONS, diagram, step

__all__ = [
    "LOOP_LIMIT",
    "TRANSITIONS",
    "AlertStaff",
    "BookingView",
    "CancelBooking",
    "CheckoutReady",
    "ConfirmBooking",
    "Context",
    "Conversation",
    "CreateBooking",
    "CustomerSaid",
    "DepositPaid",
    "Draft",
    "Effect",
    "ExpireBooking",
    "Held",
    "HoldLapsed",
    "HoldMove",
    "Input",
    "MoveView",
    "Outcome",
    "RefundLatePayment",
    "ReleaseMove",
    "Reply",
    "RescheduleBooking",
    "SessionTimedOut",
    "SetOptedOut",
    "State",
    "Transition",
    "WebCaps",
    "World",
    "diagram",
    "step",
]
