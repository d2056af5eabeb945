"""Replies for the conversations beyond one booking at a time: two services at once, the
earliest time, another time zone, a move waiting for its top-up, policy questions, and the
answers a good front desk gives when it cannot help (docs/conversations.md, "Replies").

Same formats as `replies`: `3:00 PM`, `Wed, Dec 2`, `$15.00`, "confirmed" in confirmations;
the same catalog translates them (`services.fsm.i18n`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from decimal import Decimal

from libs.business.profile import BusinessProfile
from services.fsm.formatting import fmt_money, fmt_time
from services.fsm.i18n import N_, _, a, day, listing, ngettext, service, when
from services.fsm.replies import Names, at_time, phone_for_people

ZONE_NAMES = {
    "America/New_York": N_("Eastern"), "America/Chicago": N_("Central"),
    "America/Denver": N_("Mountain"), "America/Phoenix": N_("Arizona"),
    "America/Los_Angeles": N_("Pacific"), "America/Anchorage": N_("Alaska"),
    "Pacific/Honolulu": N_("Hawaii"),
}
THE_PART = {"morning": N_("the morning"), "afternoon": N_("the afternoon"),
            "evening": N_("the evening")}


def _money(profile: BusinessProfile, amount: Decimal) -> str:
    return fmt_money(amount, profile.currency)


def _sentences(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def zone_note(their_time: datetime | None, zone: str | None) -> str:
    """` (1:00 PM Eastern)`: the time in the zone the customer named, after ours."""
    if their_time is None or zone is None:
        return ""
    name = _(ZONE_NAMES[zone]) if zone in ZONE_NAMES else zone
    return f" ({fmt_time(their_time)} {name})"


def when_list(starts: Sequence[datetime]) -> str:
    """`Tue, Dec 1 at 11:00 AM, 11:30 AM or 1:00 PM`; each day named once."""
    parts: list[str] = []
    for i, start in enumerate(starts):
        same_day = i > 0 and starts[i - 1].date() == start.date()
        parts.append(fmt_time(start) if same_day else when(start))
    return listing(parts)


# --- booking two services, the earliest time ----------------------------------------------

def pair_proposal(profile: BusinessProfile, first: str, start: datetime, second: str,
                  then: datetime, deposit: Decimal, note: str = "") -> str:
    text = _("{first} on {when}{note}, then {second} {at_time}.").format(
        first=service(first), when=when(start), note=note, second=service(second),
        at_time=at_time(then))
    if deposit:
        text = _sentences(text, _("Together they need a {deposit} deposit; I'll hold them for "
                                  "{minutes} minutes while you pay.").format(
            deposit=_money(profile, deposit), minutes=profile.deposits.hold_minutes))
    return _sentences(text, _("Shall I book both? Reply yes or no."))


def pair_booked(first: str, start: datetime, second: str, then: datetime,
                references: Sequence[str]) -> str:
    return _("You're all set: your {first} on {when} and {second} {at_time} are confirmed "
             "(refs {references}).").format(first=service(first), when=when(start),
                                            second=service(second), at_time=at_time(then),
                                            references=", ".join(references))


def pair_refusal(first: str, second: str, start: datetime,
                 alternatives: Sequence[datetime]) -> str:
    text = _("Sorry, I can't fit {a_first} and then {a_second} back to back {at_time} on "
             "{day}.").format(a_first=a(first), a_second=a(second), at_time=at_time(start),
                              day=day(start))
    if not alternatives:
        return _sentences(text, _("Which other day would work?"))
    return _sentences(text, _("They fit together starting at {times}. Which works?").format(
        times=when_list(alternatives)))


def earliest(name: Names, starts: Sequence[datetime]) -> str:
    if not starts:
        return _("Sorry, I can't find a free time for {a_service} in the days I can book. "
                 "Please call us.").format(a_service=a(name))
    return _("The earliest I can fit {a_service}: {times}. Which would you like?").format(
        a_service=a(name), times=when_list(starts))


def no_day_for(name: Names, at: time | None, part_of_day: str | None) -> str:
    """No day within reach has that time (or part of the day) free."""
    if at is not None:
        return _("I couldn't find a day with {time} free for {a_service}. Which day would you "
                 "like?").format(time=fmt_time(at), a_service=a(name))
    part = _(THE_PART[part_of_day]) if part_of_day in THE_PART else f"the {part_of_day}"
    return _("I couldn't find a day with {part_of_day} free for {a_service}. Which day would "
             "you like?").format(part_of_day=part, a_service=a(name))


# --- a move that needs a larger deposit ----------------------------------------------------

def move_checkout(profile: BusinessProfile, name: Names, new_start: datetime,
                  old_start: datetime, amount: Decimal, url: str, hold_until: datetime) -> str:
    return _("{new_when} is held for your {service} until {until}. Pay the {amount} "
             "difference here to move it: {url} Until then it stays on {old_when}.").format(
        new_when=when(new_start), service=service(name), until=fmt_time(hold_until),
        amount=_money(profile, amount), url=url, old_when=when(old_start))


def move_waiting(profile: BusinessProfile, name: Names, new_start: datetime,
                 amount: Decimal) -> str:
    return _("Your {service} moves to {when} once the {amount} difference is paid at the link "
             "I sent.").format(service=service(name), when=when(new_start),
                               amount=_money(profile, amount))


def move_released(name: Names, old_start: datetime, new_start: datetime) -> str:
    return _("The difference for moving to {new_when} wasn't paid in time, so that time was "
             "released. Your {service} stays on {old_when}, confirmed.").format(
        new_when=when(new_start), service=service(name), old_when=when(old_start))


def move_paid(name: Names, start: datetime, reference: str) -> str:
    return _("Payment received, thank you! Your {service} is now on {when} and confirmed (ref "
             "{reference}).").format(service=service(name), when=when(start),
                                     reference=reference)


def move_late_refunded(profile: BusinessProfile, name: Names, old_start: datetime,
                       new_start: datetime, amount: Decimal) -> str:
    return _("Sorry, your payment came after the hold on {new_when} lapsed and that time has "
             "been taken since. Your {amount} will be refunded, and your {service} stays on "
             "{old_when}.").format(new_when=when(new_start), amount=_money(profile, amount),
                                   service=service(name), old_when=when(old_start))


# --- questions a profile answers, and those it cannot ---------------------------------------

def deposit_policy(profile: BusinessProfile) -> str:
    rules = []
    with_deposit = [s for s in profile.services if s.deposit]
    if with_deposit:
        rules.append(listing([_("{a_service} ({amount})").format(
            a_service=a(s.name), amount=_money(profile, s.deposit)) for s in with_deposit],
            "and"))
    prime = profile.deposits.prime_time
    if prime is not None:
        rules.append(_("our busiest times ({amount})").format(
            amount=_money(profile, prime.amount)))
    weekend = profile.deposits.weekend
    if weekend is not None:
        rules.append(_("weekends ({amount})").format(amount=_money(profile, weekend.amount)))
    if not rules:
        return _sentences(_("We don't take deposits: booking is free."),
                          cancellation_policy(profile))
    return _sentences(_("We take a deposit to hold {what}, so a held time isn't lost to a "
                        "no-show; it counts toward your visit.").format(
        what=listing(rules, "and")), cancellation_policy(profile))


def cancellation_policy(profile: BusinessProfile) -> str:
    return _("Cancel at least {hours} hours ahead and a deposit is refunded in full; later "
             "than that it's kept. Holds for a deposit last {minutes} minutes.").format(
        hours=profile.cancellation.free_until_hours, minutes=profile.deposits.hold_minutes)


def cannot_answer(profile: BusinessProfile) -> str:
    return _("I'm sorry, I don't have that information. Please call {business} at {phone} "
             "and the team will help.").format(business=profile.name,
                                               phone=phone_for_people(profile.phone))


def keyword_help(profile: BusinessProfile) -> str:
    """The answer to the HELP keyword carriers expect: who we are, how to reach a person,
    how to stop messages."""
    return _("{business} booking assistant: I can book, move or cancel an appointment. For "
             "help call {phone}. Reply STOP to stop messages, START to get them "
             "again.").format(business=profile.name, phone=phone_for_people(profile.phone))


def after_rudeness(profile: BusinessProfile) -> str:
    return _("I'm sorry this has been frustrating. I'm {business}'s booking assistant: I can "
             "book, move or cancel an appointment. If you'd rather talk to someone, call "
             "{phone}.").format(business=profile.name, phone=phone_for_people(profile.phone))


def staff_note(profile: BusinessProfile, name: str) -> str:
    return _("I can't book a particular person here: appointments go to whoever is free. To "
             "ask for {name}, call {phone}.").format(name=name,
                                                    phone=phone_for_people(profile.phone))


def no_link_to_renew() -> str:
    return _("There's no payment waiting for you right now.")


def web_session_cap(profile: BusinessProfile, most: int) -> str:
    if most > 0:
        sorry = ngettext("I'm sorry, I can only hold one appointment at a time through this "
                         "chat.",
                         "I'm sorry, I can only hold {count} appointments at a time through "
                         "this chat.", most).format(count=most)
    else:
        sorry = _("I'm sorry, I can't take bookings through this chat.")
    return _sentences(sorry, _("To book, please call {business} at {phone} and the team will "
                               "be glad to help.").format(
        business=profile.name, phone=phone_for_people(profile.phone)))


def web_address_cap(profile: BusinessProfile) -> str:
    return _("I'm sorry, I can't take any more bookings online from this connection today. "
             "Please call {business} at {phone} and the team will be glad to help.").format(
        business=profile.name, phone=phone_for_people(profile.phone))


# --- reminders and attendance ----------------------------------------------------------------

def reminder(profile: BusinessProfile, name: Names, start: datetime) -> str:
    return _("Reminder from {business}: your {service} is on {when}. Reply C to confirm, R to "
             "reschedule or X to cancel.").format(business=profile.name, service=service(name),
                                                  when=when(start))


def attendance_confirmed(name: Names, start: datetime) -> str:
    return _("Thanks, you're confirmed for your {service} on {when}. See you then!").format(
        service=service(name), when=when(start))


# --- the waitlist -----------------------------------------------------------------------------

def waitlist_offered() -> str:
    return _("That time is fully booked, but I can put you on the waitlist and text you if it "
             "opens up: reply W to join.")


def waitlist_joined(name: Names, start: datetime) -> str:
    return _("You're on the waitlist for {service} on {when}. I'll text you if it opens "
             "up.").format(service=service(name), when=when(start))


def waitlist_offer(profile: BusinessProfile, name: Names, start: datetime, deposit: Decimal,
                   minutes: int) -> str:
    text = _("Good news: {service} on {when} just opened up, and I'm holding it for you for "
             "{minutes} minutes.").format(service=service(name), when=when(start),
                                          minutes=minutes)
    if deposit:
        text = _sentences(text, _("It needs a {deposit} deposit to book.").format(
            deposit=_money(profile, deposit)))
    return _sentences(text, _("Would you like it? Reply yes or no."))


def waitlist_declined() -> str:
    return _("No problem, I'll offer it to the next person on the list.")


def waitlist_which_time() -> str:
    return _("Which service, day and time should I put you on the waitlist for?")
