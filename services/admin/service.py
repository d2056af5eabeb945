"""What staff do, each in one transaction with its audit row (docs/admin.md, "Actions").

admin owns no booking: writes go through the owning service.

- **Marking** a booking `completed` or `no_show` runs fsm's own code
  (`services.fsm.staff.mark_booking`, as `receptionist booking mark` does) in admin's
  transaction: fsm's rows change and the booking event goes to the outbox, for fsm's relay.
- **Cancelling, moving, reminding, taking over** are commands to fsm (`staff.*`, which only
  admin publishes), written to the outbox with the audit row; fsm plays them through the
  state machine and tells the customer. They are checked here first against the rows as
  they are (a booking no longer live, a time not free: 409), and fsm checks again when it
  applies them: a time taken in between is not moved to, and staff are alerted instead.
- **Editing the profile** validates it exactly as `receptionist business import` does and
  imports it (`libs.business.service.import_profile`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.bus.outbox import add_to_outbox
from libs.business.profile import BusinessProfile, ProfileError, parse_profile_text
from libs.business.service import ImportOutcome, get_profile, import_profile
from libs.contracts.commands import (
    StaffCancelRequested,
    StaffMoveRequested,
    StaffRemindRequested,
    StaffTakeoverRequested,
)
from libs.contracts.message import Command
from libs.contracts.registry import make_envelope
from services.admin.models import AdminAudit
from services.admin.readmodel import busy_for_move, find_booking, find_customer
from services.admin.security import Staff
from services.fsm import availability as av
from services.fsm.machine.staff import move_verdict
from services.fsm.models import Booking, Customer
from services.fsm.staff import MarkRefused, mark_booking


@dataclass
class Refused(Exception):
    """The request cannot be done: 404 (not this business's), 409 (not now), 422."""

    status: int
    detail: str
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.detail


NOT_FOUND = "no such booking at this business"


def audit(session: AsyncSession, staff: Staff, action: str, target: str,
          payload: dict[str, Any], now: datetime) -> None:
    session.add(AdminAudit(business_id=staff.business_id, key_id=staff.key_id, action=action,
                           target=target, payload=payload, at=now))


async def profile_of(session: AsyncSession, business_id: str) -> BusinessProfile:
    profile = await get_profile(session, business_id)
    if profile is None:  # the key outlived its business's profile: nothing of it to show
        raise Refused(404, "no such business")
    return profile


async def booking_of(session: AsyncSession, staff: Staff, ref: str) -> tuple[Booking, Customer]:
    found = await find_booking(session, staff.business_id, ref)
    if found is None:
        raise Refused(404, NOT_FOUND)
    return found


async def mark(session: AsyncSession, staff: Staff, ref: str, outcome: str,
               now: datetime) -> Booking:
    booking, _ = await booking_of(session, staff, ref)
    try:
        marked = await mark_booking(session, booking.reference,
                                    "no_show" if outcome == "no_show" else "completed", now)
    except MarkRefused as exc:
        raise Refused(409, str(exc)) from None
    audit(session, staff, "booking.mark", marked.reference, {"outcome": outcome}, now)
    return marked


async def _send(session: AsyncSession, staff: Staff, command: Command,
                now: datetime) -> uuid.UUID:
    envelope = make_envelope(command, business_id=staff.business_id, occurred_at=now)
    await add_to_outbox(session, [envelope])
    return envelope.event_id


def _live_ahead(booking: Booking, now: datetime, what: str, statuses: tuple[str, ...]) -> None:
    if booking.status not in statuses:
        raise Refused(409, f"booking {booking.reference} is {booking.status}: only a "
                           f"{' or '.join(statuses)} booking can be {what}")
    if booking.starts_at <= now:
        raise Refused(409, f"booking {booking.reference} has already started")


async def cancel(session: AsyncSession, staff: Staff, ref: str, refund: bool | None,
                 note: str, now: datetime) -> tuple[str, uuid.UUID]:
    booking, _ = await booking_of(session, staff, ref)
    _live_ahead(booking, now, "cancelled", ("held", "confirmed"))
    command = StaffCancelRequested(booking_id=booking.id, refund=refund, note=note)
    sent = await _send(session, staff, command, now)
    audit(session, staff, "booking.cancel", booking.reference,
          {"refund": refund, "note": note}, now)
    return command.TYPE, sent


async def move(session: AsyncSession, staff: Staff, ref: str, start: datetime, note: str,
               now: datetime) -> tuple[str, uuid.UUID]:
    booking, _ = await booking_of(session, staff, ref)
    _live_ahead(booking, now, "moved", ("confirmed",))
    profile = await profile_of(session, staff.business_id)
    service = profile.service_by_name(booking.service)
    if service is None:
        raise Refused(409, f"{booking.service} is no longer in the catalog")
    paid = (booking.deposit_amount or Decimal(0)) if booking.deposit_status == "paid" \
        else Decimal(0)
    verdict = move_verdict(profile, service, start, now,
                           await busy_for_move(session, profile, now, booking.id), paid)
    if not isinstance(verdict, av.Bookable):
        raise Refused(409, f"cannot move booking {booking.reference} there: {verdict}")
    command = StaffMoveRequested(booking_id=booking.id, starts_at=verdict.start_utc, note=note)
    sent = await _send(session, staff, command, now)
    audit(session, staff, "booking.move", booking.reference,
          {"start": verdict.start.isoformat(), "note": note}, now)
    return command.TYPE, sent


async def remind(session: AsyncSession, staff: Staff, ref: str,
                 now: datetime) -> tuple[str, uuid.UUID]:
    booking, _ = await booking_of(session, staff, ref)
    _live_ahead(booking, now, "reminded of", ("confirmed",))
    command = StaffRemindRequested(booking_id=booking.id)
    sent = await _send(session, staff, command, now)
    audit(session, staff, "booking.remind", booking.reference, {}, now)
    return command.TYPE, sent


async def takeover(session: AsyncSession, staff: Staff, customer_id: uuid.UUID, on: bool,
                   now: datetime) -> tuple[str, uuid.UUID]:
    customer = await find_customer(session, staff.business_id, customer_id)
    if customer is None:
        raise Refused(404, "no such customer at this business")
    command = StaffTakeoverRequested(customer=customer.address, on=on)
    sent = await _send(session, staff, command, now)
    audit(session, staff, "conversation.takeover" if on else "conversation.release",
          str(customer.id), {"customer": customer.address}, now)
    return command.TYPE, sent


def _declared_id(text: str) -> str | None:
    """The `id` a profile names at its top level, if it can be read at all."""
    from libs import yamlcheck

    try:
        data, _ = yamlcheck.load_yaml(text)
    except Exception:  # the full validation below says what is wrong
        return None
    return str(data["id"]) if isinstance(data, dict) and "id" in data else None


async def edit_profile(session: AsyncSession, staff: Staff, text: str,
                       now: datetime) -> ImportOutcome:
    """Validate as `business import` does (every problem by key path: 422), then import.
    A profile of another business (its `id`) is answered as not found."""
    declared = _declared_id(text)
    if declared is not None and declared != staff.business_id:
        raise Refused(404, "no such business for this key: the profile's id must be "
                           f"{staff.business_id!r}")
    try:
        profile = parse_profile_text(text)
        if profile.id != staff.business_id:
            raise Refused(404, "no such business for this key")
        outcome = await import_profile(session, profile)
    except ProfileError as exc:
        raise Refused(422, "the profile was refused; nothing was changed",
                      exc.problems) from None
    audit(session, staff, "profile.edit", profile.id, {"outcome": outcome}, now)
    return outcome
