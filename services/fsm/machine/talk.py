"""What is answered wherever the conversation is: questions, greetings, thanks, a person,
opting out and in, and messages the machine cannot use. Each answer re-asks whatever the
conversation was waiting for (`prompt`), so a digression never loses a booking in progress.
"""

from __future__ import annotations

from dataclasses import replace

from services.fsm import replies
from services.fsm.machine.model import (
    LOOP_LIMIT,
    AlertStaff,
    Conversation,
    CustomerSaid,
    Outcome,
    Reply,
    SetOptedOut,
    State,
    World,
    fresh,
    goto,
    stay,
)


def prompt(conv: Conversation, world: World) -> str | None:
    ctx, profile = conv.context, world.profile
    if conv.state in (State.CONFIRMING, State.RESCHEDULE_CONFIRM) and ctx.proposal is not None:
        return "Shall I go ahead? Reply yes or no."
    if conv.state in (State.COLLECTING, State.RESCHEDULE_COLLECTING):
        if ctx.draft.service is None:
            return replies.ask_service(profile)
        if ctx.draft.date is None:
            return replies.ask_day(ctx.draft.service)
        return "What time would you like?"
    if conv.state == State.CANCEL_CONFIRM:
        return "Reply yes to cancel or no to keep it." if ctx.booking_id else \
            "Which appointment should I cancel?"
    if conv.state == State.PAYMENT_PENDING:
        booking = world.booking(ctx.booking_id)
        if booking is not None:
            return replies.waiting_for_payment(profile, booking.service,
                                               world.local(booking.start), booking.deposit_amount)
    return None


def with_prompt(text: str, conv: Conversation, world: World) -> str:
    follow = prompt(conv, world)
    return f"{text} {follow}" if follow else text


def answer_faq(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    profile = world.profile
    service = profile.service_by_name(said.service) if said.service else None
    topic = replies.faq_topic(profile, said.text)
    if said.intent == "faq_hours":
        text = replies.hours(profile, said.date)
    elif said.intent == "faq_location":
        text = replies.location(profile, said.text)
    elif said.intent == "faq_prices":
        text = replies.prices(profile, service)
    else:
        text = topic or replies.services(profile, service)
    if conv.state == State.IDLE:
        return stay(conv, Reply(text))
    return stay(conv, Reply(with_prompt(text, conv, world)))


def answer_status(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    lines = [(b.service, world.local(b.start),
              "confirmed" if b.status == "confirmed" else "on hold until the deposit is paid")
             for b in world.upcoming()]
    text = replies.status(lines)
    return stay(conv, Reply(text if conv.state == State.IDLE
                             else with_prompt(text, conv, world)))


def greet(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    text = replies.greeting(world.profile)
    if conv.state != State.IDLE:
        text = with_prompt(f"Hi! This is {world.profile.name}.", conv, world)
    return stay(conv, Reply(text))


def welcome(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    text = replies.thanks()
    return stay(conv, Reply(text if conv.state in (State.IDLE, State.PAYMENT_PENDING)
                             else with_prompt(text, conv, world)))


def hand_to_person(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    alert = AlertStaff(replies.staff_alert_person(world.profile, world.customer,
                                                  "asked to talk to a person"))
    keep = conv.state == State.PAYMENT_PENDING
    return (stay(conv, Reply(replies.person(world.profile)), alert) if keep
            else fresh(Reply(replies.person(world.profile)), alert))


def opt_out(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    return fresh(SetOptedOut(True), Reply(replies.opted_out(world.profile)))


def opt_in(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    return stay(conv, SetOptedOut(False), Reply(replies.opted_in(world.profile)))


def not_understood(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    misses = conv.context.misses + 1
    if misses >= LOOP_LIMIT:
        alert = AlertStaff(replies.staff_alert_person(
            world.profile, world.customer, "could not be understood after 3 messages"))
        if conv.state == State.PAYMENT_PENDING:
            return goto(conv.state, replace(conv.context, misses=0),
                         Reply(replies.handoff(world.profile)), alert)
        return fresh(Reply(replies.handoff(world.profile)), alert)
    return goto(conv.state, replace(conv.context, misses=misses),
                 Reply(replies.not_understood(prompt(conv, world))))


def stray_yes_no(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    return stay(conv, Reply(replies.stray_yes_no()))


def reprompt(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    return stay(conv, Reply(prompt(conv, world) or replies.stray_yes_no()))
