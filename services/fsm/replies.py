"""Every message the receptionist sends, in one place (docs/conversations.md, "Replies").

Pure functions of the business profile and plain values: times read `3:00 PM`, dates
`Wed, Dec 2`, money `$15.00`, and a message that confirms a booking says "confirmed".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import phonenumbers

from libs.business.profile import WEEKDAYS, BusinessProfile, Service, Weekday
from services.fsm.formatting import fmt_date, fmt_list, fmt_money, fmt_time, fmt_when

DAY_NAMES = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri",
             "sat": "Sat", "sun": "Sun"}
DASH = "\u2013"  # an en dash between the ends of a range, as in the spec
HELP = "I can book, move or cancel an appointment, or tell you our hours, prices and address."


def phone_for_people(number: str) -> str:
    """`+12125550100` -> `(212) 555-0100` for US numbers; international format otherwise."""
    parsed = phonenumbers.parse(number, None)
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, fmt)


def a(noun: str) -> str:
    """`a Haircut`, `an Initial Evaluation`."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _money(profile: BusinessProfile, amount: Decimal) -> str:
    return fmt_money(amount, profile.currency)


# --- greeting, help, small talk ------------------------------------------------------------

def greeting(profile: BusinessProfile) -> str:
    return f"Hi! This is {profile.name}. {HELP} What can I do for you?"


def thanks() -> str:
    return "You're welcome! Text us any time."


def not_understood(prompt: str | None) -> str:
    return f"Sorry, I didn't catch that. {prompt or HELP}"


def stray_yes_no() -> str:
    return f"Is there anything I can help you with? {HELP}"


def handoff(profile: BusinessProfile) -> str:
    return (f"Let me get a person to help: call {profile.name} at "
            f"{phone_for_people(profile.phone)}. I've let the team know too.")


def person(profile: BusinessProfile) -> str:
    return (f"Sure: you can reach our team at {phone_for_people(profile.phone)}. "
            "I've also let them know you'd like to talk.")


def staff_alert_person(profile: BusinessProfile, customer: str, why: str) -> str:
    return f"{profile.name}: customer {customer} {why}. Please get in touch."


def opted_out(profile: BusinessProfile) -> str:
    return (f"You're unsubscribed and won't get more messages from {profile.name}. "
            "Reply START to resubscribe.")


def opted_in(profile: BusinessProfile) -> str:
    return f"Welcome back! You'll get messages from {profile.name} again. {HELP}"


# --- FAQ -----------------------------------------------------------------------------------

def hours(profile: BusinessProfile, day: date | None = None) -> str:
    if day is not None:
        if profile.is_closed(day):
            return f"We're closed on {fmt_date(day)}. {_week(profile)}"
        spans = ", ".join(f"{fmt_time(a)}{DASH}{fmt_time(b)}"
                          for a, b in profile.intervals_on(day.weekday()))
        return f"On {fmt_date(day)} we're open {spans}."
    return _week(profile)


def _week(profile: BusinessProfile) -> str:
    groups: list[tuple[list[Weekday], str]] = []
    closed: list[str] = []
    for day in WEEKDAYS:
        spans = profile.hours.get(day, [])
        if not spans:
            closed.append(DAY_NAMES[day])
            continue
        text = " and ".join(f"{fmt_time(a)}{DASH}{fmt_time(b)}" for a, b in spans)
        if groups and groups[-1][1] == text and _next(groups[-1][0][-1]) == day:
            groups[-1][0].append(day)
        else:
            groups.append(([day], text))
    parts = [(DAY_NAMES[d[0]] if len(d) == 1 else f"{DAY_NAMES[d[0]]}{DASH}{DAY_NAMES[d[-1]]}")
             + f" {text}" for d, text in groups]
    out = f"Our hours: {'; '.join(parts)}."
    if closed:
        out += f" Closed {fmt_list(closed, 'and')}."
    return out


def _next(day: Weekday) -> Weekday:
    return WEEKDAYS[(WEEKDAYS.index(day) + 1) % 7]


def location(profile: BusinessProfile, text: str) -> str:
    extra = [answer for topic, answer in profile.faq.items() if topic.lower() in text.lower()]
    return " ".join([f"We're at {profile.address}.", *extra])


def prices(profile: BusinessProfile, service: Service | None) -> str:
    if service is not None:
        out = (f"{a(service.name).capitalize()} is {_money(profile, service.price)} "
               f"({service.duration_minutes} min).")
        if service.deposit:
            out += f" Booking it takes a {_money(profile, service.deposit)} deposit."
        return out
    listed = ", ".join(f"{s.name} {_money(profile, s.price)}" for s in profile.services)
    return f"Our prices: {listed}."


def services(profile: BusinessProfile, service: Service | None) -> str:
    if service is not None:
        return (f"Yes, we do {service.name} ({_money(profile, service.price)}, "
                f"{service.duration_minutes} min). Would you like to book it?")
    return f"We offer {fmt_list([s.name for s in profile.services], 'and')}. What would you like?"


def faq_topic(profile: BusinessProfile, text: str) -> str | None:
    """An answer from the profile's own `faq` when the message names one of its topics."""
    for topic, answer in profile.faq.items():
        if topic.lower() in text.lower():
            return answer
    return None


# --- collecting and proposing --------------------------------------------------------------

def ask_service(profile: BusinessProfile) -> str:
    names = fmt_list([s.name for s in profile.services])
    return f"Sure! Which service would you like: {names}?"


def ask_day(service: str) -> str:
    return f"What day would you like your {service}?"


def ask_time(service: str, day: date, free: Sequence[datetime]) -> str:
    if not free:
        return f"Sorry, there's nothing free for {a(service)} on {fmt_date(day)}. Another day?"
    return (f"What time on {fmt_date(day)} works for your {service}? "
            f"Free times include {fmt_list([fmt_time(t) for t in free])}.")


def window_times(service: str, day: date, window: str, free: Sequence[datetime]) -> str:
    if not free:
        return (f"Sorry, there's nothing free for {a(service)} on {fmt_date(day)} in the "
                f"{window}. Another time?")
    return (f"For {a(service)} on {fmt_date(day)} in the {window} I have "
            f"{fmt_list([fmt_time(t) for t in free])}. Which time works?")


def proposal(profile: BusinessProfile, service: str, start: datetime, deposit: Decimal,
             note: str = "") -> str:
    """`note`: the time in the zone the customer named, when they named one."""
    text = f"{service} on {fmt_when(start)}{note}."
    if deposit:
        minutes = profile.deposits.hold_minutes
        text += (f" This time needs a {_money(profile, deposit)} deposit; I'll hold it for "
                 f"{minutes} minutes while you pay.")
    return f"{text} Shall I book it? Reply yes or no."


def booked(service: str, start: datetime, reference: str) -> str:
    return f"You're all set: your {service} on {fmt_when(start)} is confirmed (ref {reference})."


def proposal_declined() -> str:
    return "No problem. What day or time would suit you better?"


def request_dropped() -> str:
    return "OK, I won't book that. Text me any time you'd like an appointment."


REFUSALS = {
    "closed_day": "Sorry, we're closed on {day}.",
    "outside_hours": "Sorry, {a_service} at {time} on {day} doesn't fit in our opening hours.",
    "past_cutoff": "Sorry, we can't take more same-day bookings for today after {cutoff}.",
    "too_soon": "Sorry, that's too soon: we need at least {notice} notice.",
    "too_far": "Sorry, we only take bookings up to {max_days} days ahead.",
    "in_the_past": "Sorry, {time} on {day} has already passed.",
    "fully_booked": "Sorry, {time} on {day} is fully booked.",
    "off_grid": "Sorry, appointments start every {slot} minutes.",
    "no_such_time": "Sorry, {time} doesn't exist on {day}: the clocks change that night.",
    "taken": "Sorry, {time} on {day} was just taken.",
}


def refusal(profile: BusinessProfile, reason: str, service: str, start: datetime,
            alternatives: Sequence[datetime]) -> str:
    notice = profile.booking.min_notice_minutes
    cutoff = profile.booking.same_day_cutoff
    text = REFUSALS[reason].format(
        service=service, a_service=a(service), time=fmt_time(start), day=fmt_date(start),
        cutoff=fmt_time(cutoff) if cutoff else "", max_days=profile.booking.max_days_ahead,
        notice=f"{notice // 60} hour{'s' if notice >= 120 else ''}" if notice % 60 == 0
        else f"{notice} minutes", slot=profile.booking.slot_minutes)
    return f"{text} {offer(start.date(), alternatives)}"


def offer(day: date, alternatives: Sequence[datetime]) -> str:
    if not alternatives:
        return "I couldn't find a free time nearby. Which other day would work?"
    if all(a.date() == day for a in alternatives):
        return (f"Free times that day: {fmt_list([fmt_time(a) for a in alternatives])}. "
                "Which would you like?")
    return f"The nearest free times: {fmt_list([fmt_when(a) for a in alternatives])}. Which works?"


# --- payments ------------------------------------------------------------------------------

def checkout(profile: BusinessProfile, service: str, start: datetime, amount: Decimal,
             url: str, hold_until: datetime) -> str:
    return (f"Your {service} on {fmt_when(start)} is held until {fmt_time(hold_until)}. "
            f"Pay the {_money(profile, amount)} deposit here to confirm it: {url}")


def waiting_for_payment(profile: BusinessProfile, service: str, start: datetime,
                        amount: Decimal | None) -> str:
    due = f"the {_money(profile, amount)} deposit" if amount else "the deposit"
    return (f"Your {service} on {fmt_when(start)} is on hold. Pay {due} at the link I sent "
            "to confirm it.")


def deposit_received(service: str, start: datetime, reference: str) -> str:
    return (f"Deposit received, thank you! Your {service} on {fmt_when(start)} is confirmed "
            f"(ref {reference}).")


def hold_expired(profile: BusinessProfile, service: str, start: datetime,
                 already_paid: Decimal | None = None) -> str:
    text = (f"The hold on your {service} on {fmt_when(start)} has expired because the deposit "
            "wasn't paid, so the time was released.")
    if already_paid:
        text += f" The {_money(profile, already_paid)} you paid earlier will be refunded."
    return f"{text} Text me if you'd like to book again."


def late_payment_refunded(profile: BusinessProfile, service: str, start: datetime,
                          amount: Decimal) -> str:
    return (f"Sorry, your payment came after the hold expired and {fmt_when(start)} has been "
            f"taken since, so your {service} couldn't be confirmed. Your "
            f"{_money(profile, amount)} will be refunded. Text me to pick another time.")


def staff_late_refund(customer: str, service: str, start: datetime) -> str:
    return (f"Late deposit from {customer} for {service} on {fmt_when(start)} was refunded: "
            "the slot had been taken after the hold expired.")


# --- existing bookings ---------------------------------------------------------------------

def status(lines: Sequence[tuple[str, datetime, str]], *, offer_booking: bool = True) -> str:
    """`offer_booking=False` while a booking is being made: the reply then goes on with it,
    and must not ask a question of its own."""
    if not lines:
        return ("You have no upcoming appointments."
                + (" Would you like to book one?" if offer_booking else ""))
    if len(lines) == 1:
        service, start, state = lines[0]
        return f"Your next appointment: {service} on {fmt_when(start)} ({state})."
    listed = "; ".join(f"{s} on {fmt_when(t)} ({st})" for s, t, st in lines)
    return f"Your upcoming appointments: {listed}."


def nothing_to_change(action: str) -> str:
    return f"You have no upcoming appointment to {action}. Would you like to book one?"


def which_booking(action: str, options: Sequence[tuple[str, datetime]]) -> str:
    listed = "; ".join(f"{i}) {s} on {fmt_when(t)}" for i, (s, t) in enumerate(options, 1))
    return (f"You have {len(options)} upcoming appointments: {listed}. Which one should I "
            f"{action}? Reply with its number.")


def confirm_cancel(profile: BusinessProfile, service: str, start: datetime,
                   deposit: Decimal | None, refund: bool) -> str:
    text = f"Cancel your {service} on {fmt_when(start)}?"
    if deposit:
        text += (f" Your {_money(profile, deposit)} deposit will be refunded." if refund else
                 f" It's less than {profile.cancellation.free_until_hours} hours away, so the "
                 f"{_money(profile, deposit)} deposit can't be refunded.")
    return f"{text} Reply yes to cancel or no to keep it."


def cancelled(profile: BusinessProfile, service: str, start: datetime,
              deposit: Decimal | None, refund: bool) -> str:
    text = f"Done: your {service} on {fmt_when(start)} is cancelled."
    if deposit:
        text += (f" Your {_money(profile, deposit)} deposit will be refunded." if refund
                 else " The deposit is kept under our cancellation policy.")
    return text


def kept(service: str, start: datetime) -> str:
    return f"OK, your {service} on {fmt_when(start)} stays as it is."


def ask_new_time(service: str, start: datetime) -> str:
    return f"Sure. When would you like to move your {service} on {fmt_when(start)} to?"


def confirm_move(profile: BusinessProfile, service: str, start: datetime,
                 top_up: Decimal, note: str = "") -> str:
    text = f"Move your {service} to {fmt_when(start)}{note}?"
    if top_up:
        text += (f" The new time needs {_money(profile, top_up)} more deposit; your booking "
                 "stays where it is until that's paid.")
    return f"{text} Reply yes or no."


def moved(service: str, start: datetime, reference: str) -> str:
    return f"Done: your {service} is now on {fmt_when(start)} and confirmed (ref {reference})."
