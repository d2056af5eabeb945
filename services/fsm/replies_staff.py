"""What the customer is told when staff act on their booking through the admin API
(docs/admin.md), and what staff are told when fsm cannot do what they asked."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from libs.business.profile import BusinessProfile
from services.fsm.formatting import fmt_money, fmt_when
from services.fsm.i18n import _, service, when


def _with_note(text: str, note: str) -> str:
    note = " ".join(note.split())
    return f"{text} {note}" if note else text


def staff_cancelled(profile: BusinessProfile, name: str, start: datetime,
                    deposit: Decimal | None, refund: bool, note: str = "") -> str:
    text = _("{business} has cancelled your {service} on {when}.").format(
        business=profile.name, service=service(name), when=when(start))
    if deposit:
        money = fmt_money(deposit, profile.currency)
        text += " " + (_("Your {amount} deposit will be refunded.") if refund
                       else _("The {amount} deposit is kept under our cancellation "
                              "policy.")).format(amount=money)
    return _with_note(text, note)


def staff_moved(profile: BusinessProfile, name: str, start: datetime, reference: str,
                note: str = "") -> str:
    """A message that says a booking is confirmed names its reference ("Confirmations")."""
    return _with_note(_("{business} has moved your {service} to {when}; it is confirmed (ref "
                        "{reference}).").format(business=profile.name, service=service(name),
                                                when=when(start), reference=reference), note)


MOVE_REFUSALS = {
    "not_movable": "it is no longer a confirmed booking ahead",
    "needs_deposit": "the new time needs a larger deposit",
    "fully_booked": "that time is taken now",
}


def staff_move_refused(reference: str, start: datetime, reason: str) -> str:
    why = MOVE_REFUSALS.get(reason, reason.replace("_", " "))
    return f"Could not move booking {reference} to {fmt_when(start)}: {why}. Nothing changed."
