"""Every message the receptionist sends, in one place (docs/conversations.md, "Replies").

Pure functions of the business profile and plain values: times read `3:00 PM`, dates
`Wed, Dec 2`, money `$15.00`, and a message that confirms a booking says "confirmed".

Each customer-facing text is an English msgid with named placeholders, translated through
the gettext catalog (`services.fsm.i18n`; in Spanish dates read `miércoles 2 de diciembre`
and a confirmation says "confirmada"). Texts for staff (`staff_*`) are never translated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal

import phonenumbers

from libs.business.profile import WEEKDAYS, BusinessProfile, Service, Weekday
from services.fsm import formatting
from services.fsm.formatting import fmt_money, fmt_time
from services.fsm.i18n import N_, _, a, day, language, listing, ngettext, service, weekday, when

DASH = "\u2013"  # an en dash between the ends of a range, as in the spec
HELP = N_("I can book, move or cancel an appointment, or tell you our hours, prices and "
          "address.")

Names = str | Sequence[str]
"""One service's catalog name, or several booked together."""


def phone_for_people(number: str) -> str:
    """`+12125550100` -> `(212) 555-0100` for US numbers; international format otherwise."""
    parsed = phonenumbers.parse(number, None)
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, fmt)


def help_text() -> str:
    return _(HELP)


def at_time(value: time | datetime) -> str:
    """`at 3:00 PM`; `a las 3:00 PM`, `a la 1:00 PM`."""
    if language() == "es":
        return f"a {'la' if value.hour % 12 == 1 else 'las'} {fmt_time(value)}"
    return f"at {fmt_time(value)}"


def _money(profile: BusinessProfile, amount: Decimal) -> str:
    return fmt_money(amount, profile.currency)


def _sentences(*parts: str) -> str:
    return " ".join(p for p in parts if p)


# --- greeting, help, small talk ------------------------------------------------------------

def greeting(profile: BusinessProfile) -> str:
    return _("Hi! This is {business}. {help} What can I do for you?").format(
        business=profile.name, help=help_text())


def hello(profile: BusinessProfile) -> str:
    """The greeting in the middle of a conversation, before what it was waiting for."""
    return _("Hi! This is {business}.").format(business=profile.name)


def thanks() -> str:
    return _("You're welcome! Text us any time.")


def not_understood(prompt: str | None) -> str:
    return _("Sorry, I didn't catch that. {prompt}").format(prompt=prompt or help_text())


def stray_yes_no() -> str:
    return _("Is there anything I can help you with? {help}").format(help=help_text())


def handoff(profile: BusinessProfile) -> str:
    return _("Let me get a person to help: call {business} at {phone}. I've let the team "
             "know too.").format(business=profile.name, phone=phone_for_people(profile.phone))


def person(profile: BusinessProfile) -> str:
    return _("Sure: you can reach our team at {phone}. I've also let them know you'd like "
             "to talk.").format(phone=phone_for_people(profile.phone))


def staff_alert_person(profile: BusinessProfile, customer: str, why: str) -> str:
    return f"{profile.name}: customer {customer} {why}. Please get in touch."


def opted_out(profile: BusinessProfile) -> str:
    return _("You're unsubscribed and won't get more messages from {business}. Reply START "
             "to resubscribe.").format(business=profile.name)


def opted_in(profile: BusinessProfile) -> str:
    return _("Welcome back! You'll get messages from {business} again. {help}").format(
        business=profile.name, help=help_text())


# --- what the conversation is waiting for --------------------------------------------------

def yes_no() -> tuple[str, ...]:
    """The quick replies offered with a yes-or-no question (a button comes back as its
    text, which nlu reads in either language)."""
    return (_("Yes"), _("No"))


def prompt_go_ahead() -> str:
    return _("Shall I go ahead? Reply yes or no.")


def prompt_which_to_move() -> str:
    return _("Which appointment should I move? Reply with its number.")


def prompt_time() -> str:
    return _("What time would you like?")


def prompt_cancel() -> str:
    return _("Reply yes to cancel or no to keep it.")


def prompt_which_to_cancel() -> str:
    return _("Which appointment should I cancel?")


# --- FAQ -----------------------------------------------------------------------------------

def hours(profile: BusinessProfile, on: date | None = None) -> str:
    if on is not None:
        if profile.is_closed(on):
            return _("We're closed on {day}. {hours}").format(day=day(on), hours=_week(profile))
        spans = ", ".join(f"{fmt_time(open_)}{DASH}{fmt_time(close)}"
                          for open_, close in profile.intervals_on(on.weekday()))
        return _("On {day} we're open {hours}.").format(day=day(on), hours=spans)
    return _week(profile)


def _week(profile: BusinessProfile) -> str:
    groups: list[tuple[list[Weekday], str]] = []
    closed: list[str] = []
    both = f" {_('and')} "
    for name in WEEKDAYS:
        spans = profile.hours.get(name, [])
        if not spans:
            closed.append(_day_name(name))
            continue
        text = both.join(f"{fmt_time(open_)}{DASH}{fmt_time(close)}" for open_, close in spans)
        if groups and groups[-1][1] == text and _next(groups[-1][0][-1]) == name:
            groups[-1][0].append(name)
        else:
            groups.append(([name], text))
    parts = [(_day_name(d[0]) if len(d) == 1
              else f"{_day_name(d[0])}{DASH}{_day_name(d[-1])}") + f" {text}"
             for d, text in groups]
    out = _("Our hours: {hours}.").format(hours="; ".join(parts))
    if closed:
        out = _sentences(out, _("Closed {days}.").format(days=listing(closed, "and")))
    return out


def _day_name(name: Weekday) -> str:
    return weekday(WEEKDAYS.index(name))


def _next(name: Weekday) -> Weekday:
    return WEEKDAYS[(WEEKDAYS.index(name) + 1) % 7]


def location(profile: BusinessProfile, text: str) -> str:
    extra = [answer for topic, answer in profile.faq.items() if topic.lower() in text.lower()]
    return " ".join([_("We're at {address}.").format(address=profile.address), *extra])


def prices(profile: BusinessProfile, offered: Service | None) -> str:
    if offered is not None:
        one = a(offered.name)
        one = one.capitalize() if language() == "en" else one[:1].upper() + one[1:]
        out = _("{A_service} is {price} ({minutes} min).").format(
            A_service=one, price=_money(profile, offered.price),
            minutes=offered.duration_minutes)
        if offered.deposit:
            out = _sentences(out, _("Booking it takes a {deposit} deposit.").format(
                deposit=_money(profile, offered.deposit)))
        return out
    listed = ", ".join(f"{service(s.name)} {_money(profile, s.price)}" for s in profile.services)
    return _("Our prices: {prices}.").format(prices=listed)


def services(profile: BusinessProfile, offered: Service | None) -> str:
    if offered is not None:
        return _("Yes, we do {service} ({price}, {minutes} min). Would you like to book "
                 "it?").format(service=service(offered.name),
                               price=_money(profile, offered.price),
                               minutes=offered.duration_minutes)
    return _("We offer {services}. What would you like?").format(
        services=listing([service(s.name) for s in profile.services], "and"))


def faq_topic(profile: BusinessProfile, text: str) -> str | None:
    """An answer from the profile's own `faq` when the message names one of its topics."""
    for topic, answer in profile.faq.items():
        if topic.lower() in text.lower():
            return answer
    return None


# --- collecting and proposing --------------------------------------------------------------

IN_THE = {"morning": N_("in the morning"), "afternoon": N_("in the afternoon"),
          "evening": N_("in the evening")}


def ask_service(profile: BusinessProfile) -> str:
    names = listing([service(s.name) for s in profile.services])
    return _("Sure! Which service would you like: {services}?").format(services=names)


def ask_day(name: Names) -> str:
    return _("What day would you like your {service}?").format(service=service(name))


def ask_time(name: Names, on: date, free: Sequence[datetime]) -> str:
    if not free:
        return _("Sorry, there's nothing free for {a_service} on {day}. Another day?").format(
            a_service=a(name), day=day(on))
    return _("What time on {day} works for your {service}? Free times include "
             "{times}.").format(day=day(on), service=service(name),
                                times=listing([fmt_time(t) for t in free]))


def window_times(name: Names, on: date, window: str, free: Sequence[datetime]) -> str:
    when_in = _(IN_THE[window]) if window in IN_THE else f"in the {window}"
    if not free:
        return _("Sorry, there's nothing free for {a_service} on {day} {in_window}. Another "
                 "time?").format(a_service=a(name), day=day(on), in_window=when_in)
    return _("For {a_service} on {day} {in_window} I have {times}. Which time "
             "works?").format(a_service=a(name), day=day(on), in_window=when_in,
                              times=listing([fmt_time(t) for t in free]))


def proposal(profile: BusinessProfile, name: Names, start: datetime, deposit: Decimal,
             note: str = "") -> str:
    """`note`: the time in the zone the customer named, when they named one."""
    text = _("{service} on {when}{note}.").format(service=service(name), when=when(start),
                                                  note=note)
    if deposit:
        text = _sentences(text, _("This time needs a {deposit} deposit; I'll hold it for "
                                  "{minutes} minutes while you pay.").format(
            deposit=_money(profile, deposit), minutes=profile.deposits.hold_minutes))
    return _sentences(text, _("Shall I book it? Reply yes or no."))


def booked(name: Names, start: datetime, reference: str) -> str:
    return _("You're all set: your {service} on {when} is confirmed (ref "
             "{reference}).").format(service=service(name), when=when(start),
                                     reference=reference)


def proposal_declined() -> str:
    return _("No problem. What day or time would suit you better?")


def request_dropped() -> str:
    return _("OK, I won't book that. Text me any time you'd like an appointment.")


REFUSALS = {
    "closed_day": N_("Sorry, we're closed on {day}."),
    "outside_hours": N_("Sorry, {a_service} {at_time} on {day} doesn't fit in our opening "
                        "hours."),
    "past_cutoff": N_("Sorry, we can't take more same-day bookings for today after {cutoff}."),
    "too_soon": N_("Sorry, that's too soon: we need at least {notice} notice."),
    "too_far": N_("Sorry, we only take bookings up to {max_days} days ahead."),
    "in_the_past": N_("Sorry, {time} on {day} has already passed."),
    "fully_booked": N_("Sorry, {time} on {day} is fully booked."),
    "off_grid": N_("Sorry, appointments start every {slot} minutes."),
    "no_such_time": N_("Sorry, {time} doesn't exist on {day}: the clocks change that night."),
    "taken": N_("Sorry, {time} on {day} was just taken."),
}


def _notice(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("{count} hour", "{count} hours", hours).format(count=hours)
    return _("{count} minutes").format(count=minutes)


def refusal(profile: BusinessProfile, reason: str, name: Names, start: datetime,
            alternatives: Sequence[datetime]) -> str:
    cutoff = profile.booking.same_day_cutoff
    text = _(REFUSALS[reason]).format(
        service=service(name), a_service=a(name), time=fmt_time(start), at_time=at_time(start),
        day=day(start), cutoff=fmt_time(cutoff) if cutoff else "",
        max_days=profile.booking.max_days_ahead,
        notice=_notice(profile.booking.min_notice_minutes), slot=profile.booking.slot_minutes)
    return _sentences(text, offer(start.date(), alternatives))


def offer(on: date, alternatives: Sequence[datetime]) -> str:
    if not alternatives:
        return _("I couldn't find a free time nearby. Which other day would work?")
    if all(t.date() == on for t in alternatives):
        return _("Free times that day: {times}. Which would you like?").format(
            times=listing([fmt_time(t) for t in alternatives]))
    return _("The nearest free times: {times}. Which works?").format(
        times=listing([when(t) for t in alternatives]))


# --- payments ------------------------------------------------------------------------------

def checkout(profile: BusinessProfile, name: Names, start: datetime, amount: Decimal,
             url: str, hold_until: datetime) -> str:
    return _("Your {service} on {when} is held until {until}. Pay the {amount} deposit here "
             "to confirm it: {url}").format(service=service(name), when=when(start),
                                            until=fmt_time(hold_until),
                                            amount=_money(profile, amount), url=url)


def waiting_for_payment(profile: BusinessProfile, name: Names, start: datetime,
                        amount: Decimal | None) -> str:
    if amount:
        return _("Your {service} on {when} is on hold. Pay the {amount} deposit at the link "
                 "I sent to confirm it.").format(service=service(name), when=when(start),
                                                 amount=_money(profile, amount))
    return _("Your {service} on {when} is on hold. Pay the deposit at the link I sent to "
             "confirm it.").format(service=service(name), when=when(start))


def deposit_received(name: Names, start: datetime, reference: str) -> str:
    return _("Deposit received, thank you! Your {service} on {when} is confirmed (ref "
             "{reference}).").format(service=service(name), when=when(start),
                                     reference=reference)


def hold_expired(profile: BusinessProfile, name: Names, start: datetime,
                 already_paid: Decimal | None = None) -> str:
    text = _("The hold on your {service} on {when} has expired because the deposit wasn't "
             "paid, so the time was released.").format(service=service(name), when=when(start))
    if already_paid:
        text = _sentences(text, _("The {amount} you paid earlier will be refunded.").format(
            amount=_money(profile, already_paid)))
    return _sentences(text, _("Text me if you'd like to book again."))


def late_payment_refunded(profile: BusinessProfile, name: Names, start: datetime,
                          amount: Decimal) -> str:
    return _("Sorry, your payment came after the hold expired and {when} has been taken "
             "since, so your {service} couldn't be confirmed. Your {amount} will be refunded. "
             "Text me to pick another time.").format(when=when(start), service=service(name),
                                                     amount=_money(profile, amount))


def staff_late_refund(customer: str, service: str, start: datetime) -> str:
    return (f"Late deposit from {customer} for {service} on {formatting.fmt_when(start)} was "
            "refunded: the slot had been taken after the hold expired.")


# --- existing bookings ---------------------------------------------------------------------

def standing_held() -> str:
    """How a booking stands, in the status answer's parentheses."""
    return _("on hold until the deposit is paid")


def standing_moving(to: datetime) -> str:
    return _("confirmed; moving to {when} once the difference is paid").format(when=when(to))


def standing_confirmed() -> str:
    return _("confirmed")


def status(lines: Sequence[tuple[str, datetime, str]], *, offer_booking: bool = True) -> str:
    """`offer_booking=False` while a booking is being made: the reply then goes on with it,
    and must not ask a question of its own."""
    if not lines:
        none = _("You have no upcoming appointments.")
        return _sentences(none, _("Would you like to book one?")) if offer_booking else none
    listed = [_("{service} on {when} ({state})").format(service=service(s), when=when(t),
                                                        state=st) for s, t, st in lines]
    if len(listed) == 1:
        return _("Your next appointment: {appointment}.").format(appointment=listed[0])
    return _("Your upcoming appointments: {appointments}.").format(
        appointments="; ".join(listed))


NOTHING_TO = {
    "cancel": N_("You have no upcoming appointment to cancel. Would you like to book one?"),
    "move": N_("You have no upcoming appointment to move. Would you like to book one?"),
}
WHICH_ONE = {
    "cancel": N_("You have {count} upcoming appointments: {appointments}. Which one should I "
                 "cancel? Reply with its number."),
    "move": N_("You have {count} upcoming appointments: {appointments}. Which one should I "
               "move? Reply with its number."),
}


def nothing_to_change(action: str) -> str:
    """`action`: "cancel" or "move"."""
    return _(NOTHING_TO[action])


def which_booking(action: str, options: Sequence[tuple[str, datetime]]) -> str:
    listed = "; ".join(_("{number}) {service} on {when}").format(
        number=i, service=service(s), when=when(t)) for i, (s, t) in enumerate(options, 1))
    return _(WHICH_ONE[action]).format(count=len(options), appointments=listed)


def confirm_cancel(profile: BusinessProfile, name: Names, start: datetime,
                   deposit: Decimal | None, refund: bool) -> str:
    text = _("Cancel your {service} on {when}?").format(service=service(name), when=when(start))
    if deposit:
        money = _money(profile, deposit)
        text = _sentences(text, _("Your {amount} deposit will be refunded.").format(
            amount=money) if refund else _("It's less than {hours} hours away, so the {amount} "
                                           "deposit can't be refunded.").format(
            hours=profile.cancellation.free_until_hours, amount=money))
    return _sentences(text, prompt_cancel())


def cancelled(profile: BusinessProfile, name: Names, start: datetime,
              deposit: Decimal | None, refund: bool) -> str:
    text = _("Done: your {service} on {when} is cancelled.").format(service=service(name),
                                                                    when=when(start))
    if deposit:
        text = _sentences(text, _("Your {amount} deposit will be refunded.").format(
            amount=_money(profile, deposit)) if refund
            else _("The deposit is kept under our cancellation policy."))
    return text


def kept(name: Names, start: datetime) -> str:
    return _("OK, your {service} on {when} stays as it is.").format(service=service(name),
                                                                    when=when(start))


def ask_new_time(name: Names, start: datetime) -> str:
    return _("Sure. When would you like to move your {service} on {when} to?").format(
        service=service(name), when=when(start))


def confirm_move(profile: BusinessProfile, name: Names, start: datetime,
                 top_up: Decimal, note: str = "") -> str:
    text = _("Move your {service} to {when}{note}?").format(service=service(name),
                                                           when=when(start), note=note)
    if top_up:
        text = _sentences(text, _("The new time needs {amount} more deposit; your booking "
                                  "stays where it is until that's paid.").format(
            amount=_money(profile, top_up)))
    return _sentences(text, _("Reply yes or no."))


def moved(name: Names, start: datetime, reference: str) -> str:
    return _("Done: your {service} is now on {when} and confirmed (ref {reference}).").format(
        service=service(name), when=when(start), reference=reference)
