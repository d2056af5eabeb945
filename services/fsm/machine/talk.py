"""What is answered wherever the conversation is: questions, greetings, thanks, a person,
opting out and in, and messages the machine cannot use. Each answer re-asks whatever the
conversation was waiting for (`prompt`), so a digression never loses a booking in progress.
"""

from __future__ import annotations

from dataclasses import replace

from services.fsm import replies, replies_more as more
from services.fsm.machine import model as m

UNSCORED = ("rude", "unanswerable", "help")  # answered kindly, not counted as misses


def prompt(conv: m.Conversation, world: m.World) -> str | None:
    ctx, profile = conv.context, world.profile
    if conv.state in (m.State.CONFIRMING, m.State.RESCHEDULE_CONFIRM) and ctx.proposal is not None:
        return replies.prompt_go_ahead()
    if conv.state == m.State.RESCHEDULE_COLLECTING and ctx.booking_id is None:
        return replies.prompt_which_to_move()
    if conv.state in (m.State.COLLECTING, m.State.RESCHEDULE_COLLECTING):
        if ctx.draft.service is None:
            return replies.ask_service(profile)
        if ctx.draft.date is None:
            return replies.ask_day(ctx.draft.service)
        return replies.prompt_time()
    if conv.state == m.State.CANCEL_CONFIRM:
        return replies.prompt_cancel() if ctx.booking_id else replies.prompt_which_to_cancel()
    if conv.state == m.State.PAYMENT_PENDING:
        booking = world.booking(ctx.booking_id)
        if booking is not None and booking.move is not None:
            return more.move_waiting(profile, booking.service, world.local(booking.move.start),
                                     booking.move.top_up)
        if booking is not None:
            return replies.waiting_for_payment(profile, booking.service,
                                               world.local(booking.start), booking.deposit_amount)
    return None


def with_prompt(text: str, conv: m.Conversation, world: m.World) -> str:
    follow = prompt(conv, world)
    return f"{text} {follow}" if follow else text


def answer_faq(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    profile = world.profile
    service = profile.service_by_name(said.service) if said.service else None
    topic = replies.faq_topic(profile, said.text)
    if said.topic == "deposit_policy":
        text = more.deposit_policy(profile)
    elif said.topic == "cancellation_policy":
        text = more.cancellation_policy(profile)
    elif said.topic == "unanswerable" and topic is None:
        text = more.cannot_answer(profile)  # never unrelated facts instead
    elif said.intent == "faq_hours":
        text = replies.hours(profile, said.date)
    elif said.intent == "faq_location":
        text = replies.location(profile, said.text)
    elif said.intent == "faq_prices":
        text = replies.prices(profile, service)
    else:
        text = topic or replies.services(profile, service)
    if conv.state == m.State.IDLE:
        return m.stay(conv, m.Reply(text))
    return m.stay(conv, m.Reply(with_prompt(text, conv, world)))


def answer_status(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    lines = [(b.service, world.local(b.start), _standing(b, world))
             for b in sorted(world.upcoming(), key=lambda b: b.start)]
    idle = conv.state == m.State.IDLE
    text = replies.status(lines, offer_booking=idle)
    if idle or conv.state == m.State.PAYMENT_PENDING:  # the status already says what's held
        return m.stay(conv, m.Reply(text))
    return m.stay(conv, m.Reply(with_prompt(text, conv, world)))


def _standing(booking: m.BookingView, world: m.World) -> str:
    if booking.status == "held":
        return replies.standing_held()
    if booking.move is not None and booking.move.status == "held":
        return replies.standing_moving(world.local(booking.move.start))
    return replies.standing_confirmed()


def greet(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    text = replies.greeting(world.profile)
    if conv.state != m.State.IDLE:
        text = with_prompt(replies.hello(world.profile), conv, world)
    return m.stay(conv, m.Reply(text))


def welcome(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    text = replies.thanks()
    return m.stay(conv, m.Reply(text if conv.state in (m.State.IDLE, m.State.PAYMENT_PENDING)
                             else with_prompt(text, conv, world)))


def hand_to_person(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    alert = m.AlertStaff(replies.staff_alert_person(world.profile, world.customer,
                                                  "asked to talk to a person"))
    keep = conv.state == m.State.PAYMENT_PENDING
    return (m.stay(conv, m.Reply(replies.person(world.profile)), alert) if keep
            else m.fresh(m.Reply(replies.person(world.profile)), alert))


def opt_out(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    # A notice: the one message that still goes to a customer who just opted out.
    return m.fresh(m.SetOptedOut(True), m.Reply(replies.opted_out(world.profile),
                                                purpose="notice"))


def opt_in(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    return m.stay(conv, m.SetOptedOut(False), m.Reply(replies.opted_in(world.profile),
                                                      purpose="notice"))


def not_understood(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    if said.topic in UNSCORED:  # not a miss: answered kindly, with the phone
        text = {"rude": more.after_rudeness, "help": more.keyword_help}.get(
            said.topic, more.cannot_answer)(world.profile)
        follow = prompt(conv, world)
        return m.goto(conv.state, conv.context, m.Reply(f"{text} {follow}" if follow else text))
    misses = conv.context.misses + 1
    if misses >= m.LOOP_LIMIT:
        alert = m.AlertStaff(replies.staff_alert_person(
            world.profile, world.customer, "could not be understood after 3 messages"))
        if conv.state == m.State.PAYMENT_PENDING:
            return m.goto(conv.state, replace(conv.context, misses=0),
                         m.Reply(replies.handoff(world.profile)), alert)
        return m.fresh(m.Reply(replies.handoff(world.profile)), alert)
    return m.goto(conv.state, replace(conv.context, misses=misses),
                 m.Reply(replies.not_understood(prompt(conv, world))))


def stray_yes_no(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    return m.stay(conv, m.Reply(replies.stray_yes_no()))


def reprompt(conv: m.Conversation, said: m.CustomerSaid, world: m.World) -> m.Outcome:
    return m.stay(conv, m.Reply(prompt(conv, world) or replies.stray_yes_no()))
