"""Reminders and what follows an appointment (docs/conversations.md, "Reminders").

A reminder names the booking the customer's next reply is about: C or yes confirms
attendance, X or cancel asks to confirm cancelling it, R or reschedule starts moving it.
No-show risk follows the customer's record and their answers; an hour before the start an
unconfirmed booking is high risk; half an hour after its end a confirmed booking is
completed.
"""

from __future__ import annotations

from dataclasses import replace

from libs.contracts.vocabulary import NoShowRisk
from services.fsm import replies_more
from services.fsm.machine import model as m
from services.fsm.machine.cancel import confirm_cancel_of, start_cancel
from services.fsm.machine.reschedule import move_chosen, start_reschedule
from services.fsm.machine.talk import stray_yes_no


def initial_risk(no_shows: int) -> NoShowRisk:
    """A just-confirmed booking: high for a customer who has not come before, else medium."""
    return "high" if no_shows > 0 else "medium"


def reminded(conv: m.Conversation, world: m.World) -> m.BookingView | None:
    """The booking the last reminder was about, while it is still confirmed and ahead."""
    booking = world.booking(conv.context.reminded)
    if booking is None or booking.status != "confirmed" or booking.start <= world.now:
        return None
    return booking


def send_reminder(conv: m.Conversation, event: m.ReminderArrived, world: m.World) -> m.Outcome:
    """Remind of a booking that is still confirmed at that time; a cancelled, moved or past
    one gets nothing. The conversation goes on where it was."""
    booking = world.booking(event.booking_id)
    if (booking is None or booking.status != "confirmed" or booking.start != event.starts_at
            or booking.start <= world.now):
        return m.Outcome(conv)
    text = replies_more.reminder(world.profile, booking.service, world.local(booking.start))
    context = replace(conv.context, reminded=booking.id)
    return m.Outcome(replace(conv, context=context),
                     (m.Reply(text, purpose="reminder", booking_id=booking.id,
                              choices=m.C_R_X),))


def affirm_when_idle(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    """C / yes after a reminder: they will come. Without one, a stray yes."""
    booking = reminded(conv, world)
    if booking is None:
        return stray_yes_no(conv, said, world)
    text = replies_more.attendance_confirmed(booking.service, world.local(booking.start))
    if booking.attendance_confirmed:
        return m.stay(conv, m.Reply(text))
    return m.stay(conv, m.ConfirmAttendance(booking.id), m.Reply(text))


def cancel_when_idle(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    """X / cancel after a reminder is about that booking, unless the message names another."""
    booking = reminded(conv, world)
    if booking is None or said.has_slots():
        return start_cancel(conv, said, world)
    return confirm_cancel_of(booking, world)


def reschedule_when_idle(conv: m.Conversation, said: m.CustomerSaid,
                         world: m.World) -> m.Outcome:
    """R / reschedule after a reminder moves that booking (a date or time given is the new
    one), unless the message names another service."""
    booking = reminded(conv, world)
    if booking is None or said.service is not None:
        return start_reschedule(conv, said, world)
    wanted = m.Draft(date=said.date, time=said.time, part_of_day=said.part_of_day,
                     zone=said.zone)
    return move_chosen(booking, wanted, world)


def check_risk(conv: m.Conversation, event: m.RiskCheck, world: m.World) -> m.Outcome:
    """An hour before the start: still unconfirmed is high risk, reminder or not."""
    booking = world.booking(event.booking_id)
    if (booking is None or booking.status != "confirmed" or booking.start != event.starts_at
            or booking.attendance_confirmed or booking.no_show_risk == "high"):
        return m.Outcome(conv)
    return m.Outcome(conv, (m.SetRisk(booking.id, "high"),))


def appointment_over(conv: m.Conversation, event: m.AppointmentOver,
                     world: m.World) -> m.Outcome:
    """Half an hour after the end: kept, unless staff marked it a no-show (then it is no
    longer confirmed). The reminder about it is done with."""
    booking = world.booking(event.booking_id)
    if conv.context.reminded == event.booking_id:
        conv = replace(conv, context=replace(conv.context, reminded=None))
    if booking is None or booking.status != "confirmed" or booking.end != event.ends_at:
        return m.Outcome(conv)
    return m.Outcome(conv, (m.CompleteBooking(booking.id),))
