"""Replies for the conversations beyond one booking at a time: two services at once, the
earliest time, another time zone, a move waiting for its top-up, policy questions, and the
answers a good front desk gives when it cannot help (docs/conversations.md, "Replies").

Same formats as `replies`: `3:00 PM`, `Wed, Dec 2`, `$15.00`, "confirmed" in confirmations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from libs.business.profile import BusinessProfile
from services.fsm.formatting import fmt_date, fmt_list, fmt_money, fmt_time, fmt_when
from services.fsm.replies import a, phone_for_people

ZONE_NAMES = {
    "America/New_York": "Eastern", "America/Chicago": "Central", "America/Denver": "Mountain",
    "America/Phoenix": "Arizona", "America/Los_Angeles": "Pacific",
    "America/Anchorage": "Alaska", "Pacific/Honolulu": "Hawaii",
}


def _money(profile: BusinessProfile, amount: Decimal) -> str:
    return fmt_money(amount, profile.currency)


def zone_note(their_time: datetime | None, zone: str | None) -> str:
    """` (1:00 PM Eastern)`: the time in the zone the customer named, after ours."""
    if their_time is None or zone is None:
        return ""
    return f" ({fmt_time(their_time)} {ZONE_NAMES.get(zone, zone)})"


def when_list(starts: Sequence[datetime]) -> str:
    """`Tue, Dec 1 at 11:00 AM, 11:30 AM or 1:00 PM`; each day named once."""
    parts: list[str] = []
    for i, start in enumerate(starts):
        same_day = i > 0 and starts[i - 1].date() == start.date()
        parts.append(fmt_time(start) if same_day else fmt_when(start))
    return fmt_list(parts)


# --- booking two services, the earliest time ----------------------------------------------

def pair_proposal(profile: BusinessProfile, first: str, start: datetime, second: str,
                  then: datetime, deposit: Decimal, note: str = "") -> str:
    text = f"{first} on {fmt_when(start)}{note}, then {second} at {fmt_time(then)}."
    if deposit:
        text += (f" Together they need a {_money(profile, deposit)} deposit; I'll hold them "
                 f"for {profile.deposits.hold_minutes} minutes while you pay.")
    return f"{text} Shall I book both? Reply yes or no."


def pair_booked(first: str, start: datetime, second: str, then: datetime,
                references: Sequence[str]) -> str:
    return (f"You're all set: your {first} on {fmt_when(start)} and {second} at "
            f"{fmt_time(then)} are confirmed (refs {', '.join(references)}).")


def pair_refusal(first: str, second: str, start: datetime,
                 alternatives: Sequence[datetime]) -> str:
    text = (f"Sorry, I can't fit {a(first)} and then {a(second)} back to back at "
            f"{fmt_time(start)} on {fmt_date(start)}.")
    if not alternatives:
        return f"{text} Which other day would work?"
    return f"{text} They fit together starting at {when_list(alternatives)}. Which works?"


def earliest(service: str, starts: Sequence[datetime]) -> str:
    if not starts:
        return (f"Sorry, I can't find a free time for {a(service)} in the days I can book. "
                "Please call us.")
    return (f"The earliest I can fit {a(service)}: {when_list(starts)}. "
            "Which would you like?")


def no_day_for(service: str, what: str) -> str:
    return (f"I couldn't find a day with {what} free for {a(service)}. "
            "Which day would you like?")


# --- a move that needs a larger deposit ----------------------------------------------------

def move_checkout(profile: BusinessProfile, service: str, new_start: datetime,
                  old_start: datetime, amount: Decimal, url: str, hold_until: datetime) -> str:
    return (f"{fmt_when(new_start)} is held for your {service} until {fmt_time(hold_until)}. "
            f"Pay the {_money(profile, amount)} difference here to move it: {url} Until "
            f"then it stays on {fmt_when(old_start)}.")


def move_waiting(profile: BusinessProfile, service: str, new_start: datetime,
                 amount: Decimal) -> str:
    return (f"Your {service} moves to {fmt_when(new_start)} once the "
            f"{_money(profile, amount)} difference is paid at the link I sent.")


def move_released(service: str, old_start: datetime, new_start: datetime) -> str:
    return (f"The difference for moving to {fmt_when(new_start)} wasn't paid in time, so that "
            f"time was released. Your {service} stays on {fmt_when(old_start)}, confirmed.")


def move_paid(service: str, start: datetime, reference: str) -> str:
    return (f"Payment received, thank you! Your {service} is now on {fmt_when(start)} and "
            f"confirmed (ref {reference}).")


def move_late_refunded(profile: BusinessProfile, service: str, old_start: datetime,
                       new_start: datetime, amount: Decimal) -> str:
    return (f"Sorry, your payment came after the hold on {fmt_when(new_start)} lapsed and "
            f"that time has been taken since. Your {_money(profile, amount)} will be "
            f"refunded, and your {service} stays on {fmt_when(old_start)}.")


# --- questions a profile answers, and those it cannot ---------------------------------------

def deposit_policy(profile: BusinessProfile) -> str:
    rules = []
    with_deposit = [s for s in profile.services if s.deposit]
    if with_deposit:
        rules.append(fmt_list([f"{a(s.name)} ({_money(profile, s.deposit)})"
                               for s in with_deposit], "and"))
    prime = profile.deposits.prime_time
    if prime is not None:
        rules.append(f"our busiest times ({_money(profile, prime.amount)})")
    weekend = profile.deposits.weekend
    if weekend is not None:
        rules.append(f"weekends ({_money(profile, weekend.amount)})")
    if not rules:
        return "We don't take deposits: booking is free. " + cancellation_policy(profile)
    return (f"We take a deposit to hold {fmt_list(rules, 'and')}, so a held time isn't lost "
            f"to a no-show; it counts toward your visit. "
            + cancellation_policy(profile))


def cancellation_policy(profile: BusinessProfile) -> str:
    hours = profile.cancellation.free_until_hours
    return (f"Cancel at least {hours} hours ahead and a deposit is refunded in full; later "
            "than that it's kept. Holds for a deposit last "
            f"{profile.deposits.hold_minutes} minutes.")


def cannot_answer(profile: BusinessProfile) -> str:
    return (f"I'm sorry, I don't have that information. Please call {profile.name} at "
            f"{phone_for_people(profile.phone)} and the team will help.")


def keyword_help(profile: BusinessProfile) -> str:
    """The answer to the HELP keyword carriers expect: who we are, how to reach a person,
    how to stop messages."""
    return (f"{profile.name} booking assistant: I can book, move or cancel an appointment. "
            f"For help call {phone_for_people(profile.phone)}. Reply STOP to stop messages, "
            "START to get them again.")


def after_rudeness(profile: BusinessProfile) -> str:
    return (f"I'm sorry this has been frustrating. I'm {profile.name}'s booking assistant: I "
            "can book, move or cancel an appointment. If you'd rather talk to someone, call "
            f"{phone_for_people(profile.phone)}.")


def staff_note(profile: BusinessProfile, name: str) -> str:
    return (f"I can't book a particular person here: appointments go to whoever is free. To "
            f"ask for {name}, call {phone_for_people(profile.phone)}.")


def no_link_to_renew() -> str:
    return "There's no payment waiting for you right now."


def web_session_cap(profile: BusinessProfile, most: int) -> str:
    many = "one appointment" if most == 1 else f"{most} appointments"
    what = (f"I can only hold {many} at a time through this chat" if most > 0
            else "I can't take bookings through this chat")
    return (f"I'm sorry, {what}. To book, please call {profile.name} at "
            f"{phone_for_people(profile.phone)} and the team will be glad to help.")


def web_address_cap(profile: BusinessProfile) -> str:
    return ("I'm sorry, I can't take any more bookings online from this connection today. "
            f"Please call {profile.name} at {phone_for_people(profile.phone)} and the team "
            "will be glad to help.")


# --- reminders and attendance ----------------------------------------------------------------

def reminder(profile: BusinessProfile, service: str, start: datetime) -> str:
    return (f"Reminder from {profile.name}: your {service} is on {fmt_when(start)}. "
            "Reply C to confirm, R to reschedule or X to cancel.")


def attendance_confirmed(service: str, start: datetime) -> str:
    return f"Thanks, you're confirmed for your {service} on {fmt_when(start)}. See you then!"


# --- the waitlist -----------------------------------------------------------------------------

def waitlist_offered() -> str:
    return ("That time is fully booked, but I can put you on the waitlist and text you if it "
            "opens up: reply W to join.")


def waitlist_joined(service: str, start: datetime) -> str:
    return (f"You're on the waitlist for {service} on {fmt_when(start)}. I'll text you if it "
            "opens up.")


def waitlist_offer(profile: BusinessProfile, service: str, start: datetime, deposit: Decimal,
                   minutes: int) -> str:
    text = (f"Good news: {service} on {fmt_when(start)} just opened up, and I'm holding it for "
            f"you for {minutes} minutes.")
    if deposit:
        text += f" It needs a {_money(profile, deposit)} deposit to book."
    return f"{text} Would you like it? Reply yes or no."


def waitlist_declined() -> str:
    return "No problem, I'll offer it to the next person on the list."


def waitlist_which_time() -> str:
    return "Which service, day and time should I put you on the waitlist for?"
