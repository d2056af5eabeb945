"""The transition table: every (state, input) pair and the rule that answers it.

`step(conversation, input, world) -> Outcome(conversation', effects)` looks the pair up and
applies its rule; `diagram()` prints the table as a Mermaid state diagram.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from libs.contracts.vocabulary import INTENTS
from services.fsm.machine.booking import (
    accept_proposal,
    collect,
    decline_proposal,
    drop_request,
    start_booking,
)
from services.fsm.machine.cancel import (
    cancel_held,
    cancel_while_collecting,
    choose_or_confirm_cancel,
    keep_booking,
    start_cancel,
)
from services.fsm.machine.model import (
    SYSTEM_INPUTS,
    Conversation,
    CustomerSaid,
    Input,
    Outcome,
    Reply,
    SessionTimedOut,
    SetOptedOut,
    State,
    Transition,
    World,
    fresh,
)
from services.fsm.machine.payment import deposit_paid, hold_lapsed, send_checkout
from services.fsm.machine.reschedule import (
    accept_move,
    decline_move,
    reschedule_while_collecting,
    start_reschedule,
)
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


def time_out(conv: Conversation, event: SessionTimedOut, world: World) -> Outcome:
    """Silence past the session timeout drops an unfinished conversation, silently."""
    return fresh()


def ignore(conv: Conversation, event: Any, world: World) -> Outcome:
    return Outcome(conv)


# --- the table, spelled out ------------------------------------------------------------------

S = State
ALL = tuple(State)
_EVERYWHERE: dict[str, Transition] = {
    "status": Transition(answer_status, (), "answer, stay"),
    "faq_hours": Transition(answer_faq, (), "answer, stay"),
    "faq_location": Transition(answer_faq, (), "answer, stay"),
    "faq_services": Transition(answer_faq, (), "answer, stay"),
    "faq_prices": Transition(answer_faq, (), "answer, stay"),
    "greeting": Transition(greet, (), "greet, stay"),
    "thanks": Transition(welcome, (), "you're welcome, stay"),
    "human": Transition(hand_to_person, (S.IDLE,), "phone + staff alert"),
    "opt_out": Transition(opt_out, (S.IDLE,), "unsubscribe"),
    "opt_in": Transition(opt_in, (), "resubscribe, stay"),
    "unknown": Transition(not_understood, (S.IDLE,), "help; 3rd miss: handoff"),
    "checkout_ready": Transition(send_checkout, (), "send checkout link"),
    "deposit_paid": Transition(deposit_paid, (), "confirm (or refund a late one)"),
    "hold_lapsed": Transition(hold_lapsed, (), "expire the hold"),
    "session_timeout": Transition(time_out, (S.IDLE,), "silence: drop"),
}

_PER_STATE: dict[State, dict[str, Transition]] = {
    S.IDLE: {
        "book": Transition(start_booking, (S.COLLECTING, S.CONFIRMING), "start a booking"),
        "inform": Transition(start_booking, (S.COLLECTING, S.CONFIRMING), "start a booking"),
        "affirm": Transition(stray_yes_no, (), "stray yes"),
        "deny": Transition(stray_yes_no, (), "stray no"),
        "cancel": Transition(start_cancel, (S.CANCEL_CONFIRM,), "which/confirm cancel"),
        "reschedule": Transition(start_reschedule, (S.RESCHEDULE_COLLECTING,
                                                    S.RESCHEDULE_CONFIRM), "move a booking"),
        "session_timeout": Transition(ignore, (), "nothing to drop"),
        "checkout_ready": Transition(send_checkout, (S.PAYMENT_PENDING,), "send checkout link"),
    },
    S.COLLECTING: {
        "book": Transition(collect, (S.CONFIRMING,), "slots given"),
        "inform": Transition(collect, (S.CONFIRMING,), "slots given"),
        "affirm": Transition(reprompt, (), "ask again"),
        "deny": Transition(drop_request, (S.IDLE,), "drop the request"),
        "cancel": Transition(cancel_while_collecting, (S.IDLE, S.CANCEL_CONFIRM), "drop/cancel"),
        "reschedule": Transition(reschedule_while_collecting, (
            S.CONFIRMING, S.RESCHEDULE_COLLECTING, S.RESCHEDULE_CONFIRM), "correct or move"),
    },
    S.CONFIRMING: {
        "book": Transition(collect, (S.COLLECTING,), "correction: re-check"),
        "inform": Transition(collect, (S.COLLECTING,), "correction: re-check"),
        "affirm": Transition(accept_proposal, (S.IDLE, S.PAYMENT_PENDING, S.COLLECTING),
                             "book it (held if a deposit is due)"),
        "deny": Transition(decline_proposal, (S.COLLECTING,), "ask for another time"),
        "cancel": Transition(cancel_while_collecting, (S.IDLE, S.CANCEL_CONFIRM), "drop/cancel"),
        "reschedule": Transition(reschedule_while_collecting, (
            S.COLLECTING, S.RESCHEDULE_COLLECTING, S.RESCHEDULE_CONFIRM), "correct or move"),
    },
    S.PAYMENT_PENDING: {
        "book": Transition(reprompt, (), "finish paying first"),
        "inform": Transition(reprompt, (), "finish paying first"),
        "affirm": Transition(reprompt, (), "point at the link"),
        "deny": Transition(cancel_held, (S.CANCEL_CONFIRM, S.IDLE), "cancel the hold?"),
        "cancel": Transition(cancel_held, (S.CANCEL_CONFIRM, S.IDLE), "cancel the hold?"),
        "reschedule": Transition(reprompt, (), "finish paying first"),
        "session_timeout": Transition(ignore, (), "a hold has its own timer"),
        "unknown": Transition(not_understood, (), "help; 3rd miss: handoff"),
        "deposit_paid": Transition(deposit_paid, (S.IDLE,), "confirmed"),
        "hold_lapsed": Transition(hold_lapsed, (S.IDLE,), "expired, slot released"),
    },
    S.RESCHEDULE_COLLECTING: {
        "book": Transition(collect, (S.RESCHEDULE_CONFIRM,), "new time given"),
        "inform": Transition(collect, (S.RESCHEDULE_CONFIRM,), "new time given"),
        "reschedule": Transition(collect, (S.RESCHEDULE_CONFIRM,), "new time given"),
        "affirm": Transition(reprompt, (), "ask again"),
        "deny": Transition(keep_booking, (S.IDLE, S.PAYMENT_PENDING), "keep as it is"),
        "cancel": Transition(start_cancel, (S.CANCEL_CONFIRM, S.IDLE), "cancel instead"),
    },
    S.RESCHEDULE_CONFIRM: {
        "book": Transition(collect, (S.RESCHEDULE_COLLECTING,), "correction: re-check"),
        "inform": Transition(collect, (S.RESCHEDULE_COLLECTING,), "correction: re-check"),
        "reschedule": Transition(collect, (S.RESCHEDULE_COLLECTING,), "correction: re-check"),
        "affirm": Transition(accept_move, (S.IDLE, S.RESCHEDULE_COLLECTING), "move it"),
        "deny": Transition(decline_move, (S.IDLE, S.PAYMENT_PENDING, S.RESCHEDULE_COLLECTING),
                           "keep as it is, or another time"),
        "cancel": Transition(start_cancel, (S.CANCEL_CONFIRM, S.IDLE), "cancel instead"),
    },
    S.CANCEL_CONFIRM: {
        "book": Transition(choose_or_confirm_cancel, (), "pick one"),
        "inform": Transition(choose_or_confirm_cancel, (), "pick one"),
        "affirm": Transition(choose_or_confirm_cancel, (S.IDLE,), "cancel it"),
        "cancel": Transition(choose_or_confirm_cancel, (S.IDLE,), "cancel it"),
        "deny": Transition(keep_booking, (S.IDLE, S.PAYMENT_PENDING), "keep it"),
        "reschedule": Transition(start_reschedule, (S.RESCHEDULE_COLLECTING,
                                                    S.RESCHEDULE_CONFIRM, S.IDLE),
                                 "move instead"),
    },
}

TRANSITIONS: dict[tuple[State, str], Transition] = {
    (state, kind): _PER_STATE[state].get(kind) or _EVERYWHERE[kind]
    for state in ALL for kind in (*INTENTS, *SYSTEM_INPUTS)
    if kind in _PER_STATE[state] or kind in _EVERYWHERE
}


def step(conv: Conversation, event: Input, world: World) -> Outcome:
    """One turn: look the (state, input) pair up in the table and apply its rule."""
    if world.opted_out and isinstance(event, CustomerSaid) and event.intent != "opt_in":
        return Outcome(conv)  # opted out: nothing more to this customer until START
    transition = TRANSITIONS.get((conv.state, event.kind))
    if transition is None:  # an intent the table does not know (e.g. a newer NLU)
        transition = TRANSITIONS[(conv.state, "unknown")]
    outcome = transition.rule(conv, event, world)
    if world.opted_out and SetOptedOut(False) not in outcome.effects:
        # Payments and timers still change an opted-out customer's bookings, silently.
        outcome = replace(outcome, effects=tuple(
            e for e in outcome.effects if not isinstance(e, Reply)))
    return outcome


def diagram() -> str:
    """The transition table as a Mermaid state diagram (stay-put transitions omitted)."""
    lines = ["stateDiagram-v2", "    [*] --> IDLE"]
    edges: dict[tuple[State, State], list[str]] = {}
    for (state, kind), transition in TRANSITIONS.items():
        for target in transition.targets:
            if target != state:
                edges.setdefault((state, target), []).append(kind)
    for (source, target), kinds in sorted(edges.items()):
        lines.append(f"    {source} --> {target}: {', '.join(sorted(set(kinds)))}")
    return "\n".join(lines)

