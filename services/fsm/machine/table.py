"""The transition table: every (state, input) pair and the rule that answers it.

`step(conversation, input, world) -> Outcome(conversation', effects)` looks the pair up and
applies its rule; `diagram()` prints the table as a Mermaid state diagram.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from libs.contracts.vocabulary import INTENTS
from services.fsm.i18n import speaking
from services.fsm.machine import model as m
from services.fsm.machine.attendance import (
    affirm_when_idle,
    appointment_over,
    cancel_when_idle,
    check_risk,
    reschedule_when_idle,
    send_reminder,
)
from services.fsm.machine.booking import (
    collect,
    drop_request,
    start_booking,
)
from services.fsm.machine.cancel import (
    cancel_held,
    cancel_while_collecting,
    choose_cancel_or_not_understood,
    choose_or_confirm_cancel,
    keep_booking,
    start_cancel,
)
from services.fsm.machine.payment import deposit_paid, hold_lapsed, send_checkout
from services.fsm.machine.reschedule import (
    accept_move,
    choose_move_or_not_understood,
    collect_move,
    decline_move,
    reschedule_while_collecting,
    start_reschedule,
)
from services.fsm.machine.staff import staff_cancel, staff_move, staff_remind
from services.fsm.machine.talk import (
    answer_faq,
    answer_status,
    greet,
    hand_to_person,
    not_understood,
    opt_in,
    opt_out,
    reprompt,
    stray_yes_no,
    welcome,
)
from services.fsm.machine.waitlist import (
    accept as accept_offer_or_proposal,
    decline as decline_offer_or_proposal,
    join as join_waitlist,
    offer_lapsed,
    offer_opening,
)


def time_out(conv: m.Conversation, event: m.SessionTimedOut, world: m.World) -> m.Outcome:
    """Silence past the session timeout drops an unfinished conversation, silently."""
    return m.fresh()


def ignore(conv: m.Conversation, event: Any, world: m.World) -> m.Outcome:
    return m.Outcome(conv)


# --- the table, spelled out ------------------------------------------------------------------

S = m.State
ALL = tuple(m.State)
_EVERYWHERE: dict[str, m.Transition] = {
    "status": m.Transition(answer_status, (), "answer, stay"),
    "faq_hours": m.Transition(answer_faq, (), "answer, stay"),
    "faq_location": m.Transition(answer_faq, (), "answer, stay"),
    "faq_services": m.Transition(answer_faq, (), "answer, stay"),
    "faq_prices": m.Transition(answer_faq, (), "answer, stay"),
    "greeting": m.Transition(greet, (), "greet, stay"),
    "thanks": m.Transition(welcome, (), "you're welcome, stay"),
    "human": m.Transition(hand_to_person, (S.IDLE,), "phone + staff alert"),
    "opt_out": m.Transition(opt_out, (S.IDLE,), "unsubscribe"),
    "opt_in": m.Transition(opt_in, (), "resubscribe, stay"),
    "unknown": m.Transition(not_understood, (S.IDLE,), "help; 3rd miss: handoff"),
    "waitlist": m.Transition(not_understood, (S.IDLE,), "help; 3rd miss: handoff"),
    "waitlist_offer": m.Transition(offer_opening, (S.CONFIRMING,), "offer the opened time"),
    "offer_lapsed": m.Transition(offer_lapsed, (S.IDLE,), "pass it on, silently"),
    "checkout_ready": m.Transition(send_checkout, (), "send checkout link"),
    "deposit_paid": m.Transition(deposit_paid, (), "confirm (or refund a late one)"),
    "hold_lapsed": m.Transition(hold_lapsed, (), "expire the hold"),
    "session_timeout": m.Transition(time_out, (S.IDLE,), "silence: drop"),
    "reminder_due": m.Transition(send_reminder, (), "remind, stay"),
    "risk_check": m.Transition(check_risk, (), "unconfirmed: high risk"),
    "appointment_over": m.Transition(appointment_over, (), "kept: completed"),
    "staff_cancel": m.Transition(staff_cancel, (S.IDLE,), "staff cancelled it: tell"),
    "staff_move": m.Transition(staff_move, (S.IDLE,), "staff moved it: tell"),
    "staff_remind": m.Transition(staff_remind, (), "remind again, stay"),
}

_PER_STATE: dict[m.State, dict[str, m.Transition]] = {
    S.IDLE: {
        "book": m.Transition(start_booking, (S.COLLECTING, S.CONFIRMING), "start a booking"),
        "inform": m.Transition(start_booking, (S.COLLECTING, S.CONFIRMING), "start a booking"),
        "affirm": m.Transition(affirm_when_idle, (), "after a reminder: attending"),
        "deny": m.Transition(stray_yes_no, (), "stray no"),
        "cancel": m.Transition(cancel_when_idle, (S.CANCEL_CONFIRM,),
                               "which/confirm cancel (the reminded one)"),
        "reschedule": m.Transition(reschedule_when_idle, (
            S.RESCHEDULE_COLLECTING, S.RESCHEDULE_CONFIRM), "move a booking (the reminded one)"),
        "waitlist": m.Transition(join_waitlist, (S.COLLECTING, S.CONFIRMING),
                                 "join the waitlist"),
        "session_timeout": m.Transition(ignore, (), "nothing to drop"),
        "checkout_ready": m.Transition(send_checkout, (S.PAYMENT_PENDING,), "send checkout link"),
    },
    S.COLLECTING: {
        "book": m.Transition(collect, (S.CONFIRMING,), "slots given"),
        "inform": m.Transition(collect, (S.CONFIRMING,), "slots given"),
        "affirm": m.Transition(reprompt, (), "ask again"),
        "deny": m.Transition(drop_request, (S.IDLE,), "drop the request"),
        "cancel": m.Transition(cancel_while_collecting, (S.IDLE, S.CANCEL_CONFIRM), "drop/cancel"),
        "reschedule": m.Transition(reschedule_while_collecting, (
            S.CONFIRMING, S.RESCHEDULE_COLLECTING, S.RESCHEDULE_CONFIRM), "correct or move"),
        "waitlist": m.Transition(join_waitlist, (S.IDLE, S.CONFIRMING), "join the waitlist"),
    },
    S.CONFIRMING: {
        "book": m.Transition(collect, (S.COLLECTING,), "correction: re-check"),
        "inform": m.Transition(collect, (S.COLLECTING,), "correction: re-check"),
        "affirm": m.Transition(accept_offer_or_proposal, (S.IDLE, S.PAYMENT_PENDING,
                                                          S.COLLECTING),
                             "book it (held if a deposit is due)"),
        "deny": m.Transition(decline_offer_or_proposal, (S.COLLECTING, S.IDLE),
                           "another time; an offer passes on"),
        "waitlist": m.Transition(join_waitlist, (S.IDLE, S.COLLECTING), "join the waitlist"),
        "cancel": m.Transition(cancel_while_collecting, (S.IDLE, S.CANCEL_CONFIRM), "drop/cancel"),
        "reschedule": m.Transition(reschedule_while_collecting, (
            S.COLLECTING, S.RESCHEDULE_COLLECTING, S.RESCHEDULE_CONFIRM), "correct or move"),
    },
    S.PAYMENT_PENDING: {
        "book": m.Transition(reprompt, (), "finish paying first"),
        "inform": m.Transition(reprompt, (), "finish paying first"),
        "affirm": m.Transition(reprompt, (), "point at the link"),
        "deny": m.Transition(cancel_held, (S.CANCEL_CONFIRM, S.IDLE), "cancel the hold?"),
        "cancel": m.Transition(cancel_held, (S.CANCEL_CONFIRM, S.IDLE), "cancel the hold?"),
        "reschedule": m.Transition(reprompt, (), "finish paying first"),
        "session_timeout": m.Transition(ignore, (), "a hold has its own timer"),
        "unknown": m.Transition(not_understood, (), "help; 3rd miss: handoff"),
        "deposit_paid": m.Transition(deposit_paid, (S.IDLE,), "confirmed"),
        "hold_lapsed": m.Transition(hold_lapsed, (S.IDLE,), "expired, slot released"),
    },
    S.RESCHEDULE_COLLECTING: {
        "book": m.Transition(collect_move, (S.RESCHEDULE_CONFIRM,), "which one / new time"),
        "inform": m.Transition(collect_move, (S.RESCHEDULE_CONFIRM,), "which one / new time"),
        "reschedule": m.Transition(collect_move, (S.RESCHEDULE_CONFIRM,),
                                   "which one / new time"),
        "affirm": m.Transition(reprompt, (), "ask again"),
        "deny": m.Transition(keep_booking, (S.IDLE, S.PAYMENT_PENDING), "keep as it is"),
        "cancel": m.Transition(start_cancel, (S.CANCEL_CONFIRM, S.IDLE), "cancel instead"),
        "unknown": m.Transition(choose_move_or_not_understood, (S.RESCHEDULE_CONFIRM, S.IDLE),
                                "which one, or help"),
    },
    S.RESCHEDULE_CONFIRM: {
        "book": m.Transition(collect, (S.RESCHEDULE_COLLECTING,), "correction: re-check"),
        "inform": m.Transition(collect, (S.RESCHEDULE_COLLECTING,), "correction: re-check"),
        "reschedule": m.Transition(collect, (S.RESCHEDULE_COLLECTING,), "correction: re-check"),
        "affirm": m.Transition(accept_move, (S.IDLE, S.RESCHEDULE_COLLECTING), "move it"),
        "deny": m.Transition(decline_move, (S.IDLE, S.PAYMENT_PENDING, S.RESCHEDULE_COLLECTING),
                           "keep as it is, or another time"),
        "cancel": m.Transition(start_cancel, (S.CANCEL_CONFIRM, S.IDLE), "cancel instead"),
    },
    S.CANCEL_CONFIRM: {
        "book": m.Transition(choose_or_confirm_cancel, (), "pick one"),
        "inform": m.Transition(choose_or_confirm_cancel, (), "pick one"),
        "affirm": m.Transition(choose_or_confirm_cancel, (S.IDLE,), "cancel it"),
        "cancel": m.Transition(choose_or_confirm_cancel, (S.IDLE,), "cancel it"),
        "deny": m.Transition(keep_booking, (S.IDLE, S.PAYMENT_PENDING), "keep it"),
        "reschedule": m.Transition(start_reschedule, (S.RESCHEDULE_COLLECTING,
                                                    S.RESCHEDULE_CONFIRM, S.IDLE),
                                 "move instead"),
        "unknown": m.Transition(choose_cancel_or_not_understood, (S.IDLE,),
                                "which one, or help"),
    },
}

TRANSITIONS: dict[tuple[m.State, str], m.Transition] = {
    (state, kind): _PER_STATE[state].get(kind) or _EVERYWHERE[kind]
    for state in ALL for kind in (*INTENTS, *m.SYSTEM_INPUTS)
    if kind in _PER_STATE[state] or kind in _EVERYWHERE
}


def step(conv: m.Conversation, event: m.Input, world: m.World) -> m.Outcome:
    """One turn, its replies written in the customer's language (`world.language`: the
    active voice is set for this call only, so the step stays a pure function of its
    arguments; services/fsm/i18n.py)."""
    with speaking(world.language, world.profile):
        return _step(conv, event, world)


def _step(conv: m.Conversation, event: m.Input, world: m.World) -> m.Outcome:
    """One turn: look the (state, input) pair up in the table and apply its rule."""
    if world.opted_out and isinstance(event, m.CustomerSaid) and event.intent != "opt_in":
        return m.Outcome(conv)  # opted out: nothing more to this customer until START
    if world.taken_over and _held_for_staff(event):
        return m.Outcome(conv)  # a person has the conversation: only recorded, not answered
    transition = TRANSITIONS.get((conv.state, event.kind))
    if transition is None:  # an intent the table does not know (e.g. a newer NLU)
        transition = TRANSITIONS[(conv.state, "unknown")]
    outcome = transition.rule(conv, event, world)
    if world.opted_out and m.SetOptedOut(False) not in outcome.effects:
        # Payments and timers still change an opted-out customer's bookings, silently.
        outcome = replace(outcome, effects=tuple(
            e for e in outcome.effects if not isinstance(e, m.Reply)))
    if world.taken_over and event.kind not in m.STAFF_INPUTS and not any(
            isinstance(e, m.SetOptedOut) for e in outcome.effects):
        # Payments and timers still change the bookings, silently: the person talks.
        outcome = replace(outcome, effects=tuple(
            e for e in outcome.effects if not isinstance(e, m.Reply)))
    return outcome


def _held_for_staff(event: m.Input) -> bool:
    """While a person has the conversation (admin's takeover), the customer's messages are
    not played (STOP and START still are: an opt-out is always honoured), and a waitlist
    opening passes them by."""
    if isinstance(event, m.CustomerSaid):
        return event.intent not in ("opt_out", "opt_in")
    return isinstance(event, m.WaitlistOpening)


def diagram() -> str:
    """The transition table as a Mermaid state diagram (stay-put transitions omitted)."""
    lines = ["stateDiagram-v2", "    [*] --> IDLE"]
    edges: dict[tuple[m.State, m.State], list[str]] = {}
    for (state, kind), transition in TRANSITIONS.items():
        for target in transition.targets:
            if target != state:
                edges.setdefault((state, target), []).append(kind)
    for (source, target), kinds in sorted(edges.items()):
        lines.append(f"    {source} --> {target}: {', '.join(sorted(set(kinds)))}")
    return "\n".join(lines)

