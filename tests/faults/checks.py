"""What every fault must end with, checked against the database and the broker:

1. every webhook ingress accepted is answered exactly once: each customer reply notifier
   logged (`message_log`) is traced back through the outbox's causation ids to the webhook
   that began it (the event id ingress published it under), and each accepted webhook has
   exactly one;
2. no booking doubled or lost: the bookings stored for each customer against what the
   customer accepted and was told (confirmed with a reference, taken, cancelled), and no
   two live bookings overlapping on one resource;
3. nothing in any dead-letter queue (`<prefix>.<service>.dead`);
4. ingress answered only 200 or 503 (never 500, never no answer), 503 and never 200 while
   it could not publish (the broker cut), and the fault met the load (answers inside it);
5. no service process exited by itself.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select, text

from libs.bus.context import derived_event_id
from libs.bus.models import OutboxMessage
from libs.contracts.vocabulary import LIVE_BOOKING_STATUSES
from services.fsm.models import Booking, Customer
from services.notifier.models import MessageLog
from tests.faults.load import Answer, Customer as Caller, Load
from tests.faults.system import DeadLetter, System
from tests.faults.watch import SENDING

Cut = Literal["none", "broker", "database"]
SHOWN = 12  # problems of one kind listed in full; the rest are counted


@dataclass
class Verdict:
    name: str
    cut: Cut
    webhooks: int = 0
    deliveries: int = 0
    replies: int = 0
    bookings: int = 0
    dead: int = 0
    answers_503: int = 0
    answers_503_cut: int = 0
    answers_500: int = 0
    copies: int = 1
    problems: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, kind: str, detail: str) -> None:
        self.problems.setdefault(kind, []).append(detail)

    def line(self) -> str:
        hooks = f"{self.webhooks} webhooks"
        if self.copies > 1:
            hooks += f" ({self.deliveries} deliveries)"
        statuses = (f"503s while cut: {self.answers_503_cut}" if self.cut != "none"
                    else f"503s: {self.answers_503}")
        return (f"fault {self.name}: {hooks}, {self.replies} replies, {self.bookings} "
                f"bookings, {self.dead} dead, {statuses}, 500s: {self.answers_500}")

    def report(self) -> str:
        lines = [self.line()]
        for kind, details in self.problems.items():
            lines.append(f"  {kind}: {len(details)}")
            lines.extend(f"    - {d}" for d in details[:SHOWN])
            if len(details) > SHOWN:
                lines.append(f"    ... and {len(details) - SHOWN} more")
        return "\n".join(lines)


async def verify(system: System, load: Load, cut: Cut, copies: int = 1) -> Verdict:
    verdict = Verdict(load.name, cut, copies=copies)
    for note in load.notes:
        verdict.problem("the fault did not go as planned", note)
    _check_answers(load, verdict)
    await _check_replies(system, load, verdict)
    await _check_bookings(system, load, verdict)
    _check_dead(await system.drain_dead_letters(), verdict)
    for exit_ in system.unexpected_exits():
        verdict.problem("service processes that exited by themselves", exit_)
    return verdict


# --- 4. what ingress answered -------------------------------------------------------------


def _in(answer: Answer, window: tuple[float, float]) -> bool:
    return window[0] <= answer.started <= window[1]


def _check_answers(load: Load, verdict: Verdict) -> None:
    verdict.webhooks = sum(1 for w in load.webhooks if w.accepted)
    verdict.deliveries = len(load.answers)
    for c in load.customers:
        for w in c.webhooks:
            if not w.accepted:
                last = w.answers[-1] if w.answers else None
                verdict.problem("webhooks never accepted",
                                f"{w.kind} {w.text!r} from {c.phone}: {len(w.answers)} "
                                f"deliveries, last {last}")
    statuses = Counter(a.status for a in load.answers)
    verdict.answers_503 = statuses[503]
    verdict.answers_500 = sum(n for s, n in statuses.items()
                              if s is not None and s >= 500 and s != 503)
    for status, n in sorted(statuses.items(), key=lambda kv: kv[0] or 0):
        if status is None:
            errors = Counter(a.error for a in load.answers if a.status is None)
            verdict.problem("webhooks ingress did not answer",
                            f"{n}: " + "; ".join(f"{e} x{k}" for e, k in errors.items()))
        elif status not in (200, 503):
            verdict.problem(f"ingress answered {status}",
                            f"{n} answers (of {len(load.answers)})")
    cut = verdict.cut
    if cut == "none":
        return
    during = [a for a in load.answers if any(_in(a, w) for w in load.cuts)]
    verdict.answers_503_cut = sum(1 for a in during if a.status == 503)
    if not during:
        verdict.problem("the fault did not meet the load",
                        "no webhook was delivered while the link was cut")
    if cut == "database" and not load.retrying_max:
        verdict.problem("the fault did not meet the load",
                        "no message waited in a retry tier while the database was cut: "
                        "no handler met the outage")
    if cut == "broker":
        lies = [a for a in load.answers
                if a.status == 200 and any(w[0] <= a.started and a.answered <= w[1]
                                           for w in load.cuts)]
        if lies:
            verdict.problem("ingress said 200 while it could not publish",
                            f"{len(lies)} answers asked and answered while the broker "
                            f"was cut")
        if not verdict.answers_503_cut:
            verdict.problem("ingress never answered 503 while it could not publish",
                            f"answers during the cut: {Counter(a.status for a in during)}")


# --- 1. one reply per accepted webhook ----------------------------------------------------


async def _causes(system: System) -> dict[uuid.UUID, uuid.UUID | None]:
    """Every outbox message's causation id (the message whose handler emitted it)."""
    async with system.sessions() as s:
        rows = (await s.execute(select(OutboxMessage.event_id, OutboxMessage.envelope))).all()
    causes: dict[uuid.UUID, uuid.UUID | None] = {}
    for event_id, envelope in rows:
        cause: Any = envelope.get("causation_id")
        causes[event_id] = uuid.UUID(str(cause)) if cause else None
    return causes


def root_of(event_id: uuid.UUID, causes: dict[uuid.UUID, uuid.UUID | None]) -> uuid.UUID:
    """The first message of the chain that led to `event_id`: for a customer's turn, the
    event ingress published for the webhook (not in the outbox: ingress has none, and nlu's
    link is added from its derived id)."""
    current, seen = event_id, set()
    while current in causes and current not in seen:
        seen.add(current)
        cause = causes[current]
        if cause is None:  # a timer began it
            return current
        current = cause
    return current


async def _check_replies(system: System, load: Load, verdict: Verdict) -> None:
    by_phone = {c.phone: c for c in load.customers}
    causes = await _causes(system)
    accepted = {w.root: (c, w) for c in load.customers for w in c.webhooks if w.accepted}
    for root in accepted:  # nlu keeps no outbox: its message's id derives from the webhook's
        causes.setdefault(derived_event_id(root, "nlu", 0), root)
    async with system.sessions() as s:
        rows = (await s.execute(
            select(MessageLog.event_id, MessageLog.body, MessageLog.status)
            .where(MessageLog.audience == "customer", MessageLog.to.in_(list(by_phone)))
            .order_by(MessageLog.seq))).all()
    replies: dict[uuid.UUID, list[str]] = defaultdict(list)
    for event_id, body, status in rows:
        if status == SENDING:
            verdict.problem("replies recorded but never sent (left 'sending')", body)
            continue
        replies[root_of(event_id, causes)].append(body)
    verdict.replies = sum(len(replies.get(root, [])) for root in accepted)
    for root, (c, w) in accepted.items():
        got = replies.get(root, [])
        if not got:
            verdict.problem("accepted webhooks never answered",
                            f"{w.kind} {w.text!r}; {c.story()}")
        elif len(got) > 1:
            verdict.problem("accepted webhooks answered more than once",
                            f"{w.kind} {w.text!r} answered {len(got)} times: {got}")
    for root, bodies in replies.items():
        # A chain that began outside the outbox began at ingress: a webhook. One that
        # began inside it began at a timer (a reminder, a lapsed hold): not an answer.
        if root not in accepted and root not in causes:
            verdict.problem("replies to no accepted webhook",
                            f"{len(bodies)} caused by {root}: {bodies[:2]}")


# --- 2. bookings against what customers accepted ------------------------------------------


async def _check_bookings(system: System, load: Load, verdict: Verdict) -> None:
    phones = [c.phone for c in load.customers]
    async with system.sessions() as s:
        rows = (await s.execute(
            select(Booking.business_id, Customer.address, Booking.reference, Booking.status,
                   Booking.deposit_status)
            .join(Customer, Customer.id == Booking.customer_id)
            .where(Customer.address.in_(phones), Booking.holds_for.is_(None)))).all()
        overlaps = await s.scalar(text(
            "SELECT count(*) FROM bookings a JOIN bookings b ON a.id < b.id "
            "AND a.business_id = b.business_id AND a.resource = b.resource "
            "AND a.status = ANY(:live) AND b.status = ANY(:live) "
            "AND tstzrange(a.starts_at, a.ends_at, '[)') && "
            "tstzrange(b.starts_at, b.ends_at, '[)')"),
            {"live": list(LIVE_BOOKING_STATUSES)})
    verdict.bookings = len(rows)
    stored: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for business_id, address, reference, status, deposit in rows:
        stored[(business_id, address)].append((reference, status, deposit))
    for c in load.customers:
        if not c.finished():
            verdict.problem("customers who could not finish their conversation",
                            c.story())
        for problem in _booking_problems(c, stored.get((c.slot.business_id, c.phone), [])):
            verdict.problem("bookings not as customers accepted them",
                            f"{problem}; {c.story()}")
    if overlaps:
        verdict.problem("overlapping live bookings on one resource", f"{overlaps} pairs")


def _booking_problems(c: Caller, rows: list[tuple[str, str, str]]) -> list[str]:
    live = [r for r in rows if r[1] in LIVE_BOOKING_STATUSES]
    if len(rows) > 1:
        return [f"{len(rows)} bookings stored for one request: {rows}"]
    if not c.said_yes:
        return [f"a booking stored that was never accepted: {rows}"] if rows else []
    if c.taken:
        return [f"told the time was taken, yet booked: {live}"] if live else []
    if c.reference is None:
        if c.paid and live and live[0][1] == "held":
            return [f"paid its deposit, yet booking {live[0][0]} is still held (deposit "
                    f"{live[0][2]})"]
        return []  # the conversation stopped before an answer: reported with the replies
    if not rows:
        return [f"told it is confirmed (ref {c.reference}), but no booking is stored"]
    reference, status, deposit = rows[0]
    if reference != c.reference:
        return [f"told ref {c.reference}, stored {reference}"]
    expected = ({"cancelled"} if c.cancelled
                else {"confirmed", "cancelled"} if c.cancel_sent else {"confirmed"})
    if status not in expected:
        return [f"booking {reference} is {status}, expected {' or '.join(sorted(expected))}"]
    if c.paid and deposit not in ("paid", "refunded", "forfeited"):
        return [f"booking {reference} was paid for, yet its deposit is {deposit}"]
    return []


# --- 3. dead letters ----------------------------------------------------------------------


def _check_dead(dead: list[DeadLetter], verdict: Verdict) -> None:
    verdict.dead = len(dead)
    groups: dict[tuple[str, str, str], list[DeadLetter]] = defaultdict(list)
    for d in dead:
        groups[(d.queue, d.routing_key, d.reason)].append(d)
    for (queue, key, reason), letters in sorted(groups.items()):
        errors = Counter(d.error for d in letters).most_common(2)
        verdict.problem("dead letters",
                        f"{len(letters)} x {key} in {queue} ({reason}): "
                        + "; ".join(f"{e} x{n}" for e, n in errors))
