"""Checking one step's expectations against what the driver observed. Pure: no I/O.

Kept apart from the runner so every expectation kind, and the wording of its failure,
can be tested without a system; the runner only gathers an `Observation` per step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum

from receptionist.scenarios.driver import SentMessage
from receptionist.scenarios.model import Expectations, Scenario, format_local

__all__ = ["Failure", "Observation", "Subject", "check_step", "observe", "render_failures",
           "subject_of"]


@dataclass(frozen=True)
class Subject:
    """"This customer" of a step: whose replies, state and bookings are checked."""

    customer: str
    business_id: str


def subject_of(scenario: Scenario, index: int) -> Subject:
    """The spec's rule for the step at 0-based `index`.

    - say: its sender (`from:` or the default) at its business (`to:` or the scenario's);
    - resend: the sender and business of the say it delivers again;
    - wait / wait_until / pay: the default customer (even when someone else pays, as the
      spec says), at the step's business (`to:` or the scenario's).
    """
    step = scenario.steps[index]
    if step.action in ("say", "resend"):
        target = scenario.say_target(index)
        return Subject(target.customer, target.business_id)
    return Subject(scenario.customer, step.to or scenario.business)


@dataclass(frozen=True)
class Observation:
    """What happened during one step, as seen from its subject."""

    step: int
    """1-based, as in the report."""
    action: str
    """`Step.describe()`, for the report."""
    subject: Subject
    replies: tuple[str, ...]
    """Texts sent to the subject at the subject's business during the step, in order."""
    alerts: tuple[str, ...]
    """Staff alerts sent to the business's owner_phone during the step."""
    others: tuple[SentMessage, ...] = ()
    """Everything else sent during the step (shown in the report to explain a failure)."""
    state: str | None = None
    """Queried only when the step expects a state."""
    bookings: tuple[Mapping[str, object], ...] | None = None
    """Queried only when the step expects bookings."""


def observe(*, step: int, action: str, subject: Subject, owner_phone: str,
            messages: Iterable[SentMessage], state: str | None = None,
            bookings: Sequence[Mapping[str, object]] | None = None) -> Observation:
    """Split a step's outbound messages into replies to the subject, alerts and the rest."""
    replies: list[str] = []
    alerts: list[str] = []
    others: list[SentMessage] = []
    for message in messages:
        if (message.audience == "customer" and message.to == subject.customer
                and message.business_id == subject.business_id):
            replies.append(message.text)
        elif (message.audience == "staff" and message.to == owner_phone
              and message.business_id == subject.business_id):
            alerts.append(message.text)
        else:
            others.append(message)
    return Observation(step=step, action=action, subject=subject, replies=tuple(replies),
                       alerts=tuple(alerts), others=tuple(others), state=state,
                       bookings=None if bookings is None else tuple(bookings))


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold."""

    step: int
    action: str
    key: str
    """The expectation's key path, e.g. `reply`, `bookings[0].status`."""
    expected: str
    seen: str
    replies: tuple[str, ...]
    """The replies to the subject during that step (context for the reader)."""
    subject: Subject
    others: tuple[SentMessage, ...] = ()

    def line(self) -> str:
        return f"{self.key}: expected {self.expected}, saw {self.seen}"


def check_step(expect: Expectations, seen: Observation) -> list[Failure]:
    """Every failed expectation of one step, in the order the spec lists the keys."""
    failures: list[Failure] = []

    def fail(key: str, expected: str, saw: str) -> None:
        failures.append(Failure(step=seen.step, action=seen.action, key=key, expected=expected,
                                seen=saw, replies=seen.replies, subject=seen.subject,
                                others=seen.others))

    if expect.state is not None and seen.state != expect.state:
        fail("state", expect.state, _show(seen.state))
    for pattern in expect.reply or ():
        if not any(re.search(pattern, text) for text in seen.replies):
            fail("reply", f"a message matching {_regex(pattern)}",
                 "none matching" if seen.replies else "no message")
    for pattern in expect.not_reply or ():
        matching = [text for text in seen.replies if re.search(pattern, text)]
        if matching:
            fail("not_reply", f"no message matching {_regex(pattern)}", _quote(matching[0]))
    if expect.replies is not None and len(seen.replies) != expect.replies:
        fail("replies", f"{expect.replies} {_plural(expect.replies, 'message')}",
             str(len(seen.replies)))
    if expect.bookings is not None:
        stored = list(seen.bookings or ())
        wanted = expect.bookings
        if len(stored) != len(wanted):
            listing = "; ".join(_show_booking(b) for b in stored)
            fail("bookings", f"{len(wanted)} {_plural(len(wanted), 'booking')}",
                 f"{len(stored)}" + (f": {listing}" if listing else ""))
        else:
            for i, (want, have) in enumerate(zip(wanted, stored, strict=True)):
                for field, value in want.expected_fields().items():
                    actual = _normalize(field, have[field]) if field in have else _MISSING
                    if not _equal(value, actual):
                        fail(f"bookings[{i}].{field}", _show(value), _show(actual))
    if expect.alerts is not None and len(seen.alerts) != expect.alerts:
        listing = "; ".join(_quote(a) for a in seen.alerts)
        fail("alerts", f"{expect.alerts} {_plural(expect.alerts, 'staff alert')}",
             f"{len(seen.alerts)}" + (f": {listing}" if listing else ""))
    return failures


def render_failures(failures: Sequence[Failure], indent: str = "  ") -> list[str]:
    """Report lines: per failing step, its failures, then the replies of that step."""
    lines: list[str] = []
    by_step: dict[int, list[Failure]] = {}
    for failure in failures:
        by_step.setdefault(failure.step, []).append(failure)
    for step, group in by_step.items():
        first = group[0]
        lines.append(f"{indent}step {step} ({first.action}):")
        lines.extend(f"{indent}  {f.line()}" for f in group)
        who = f"{first.subject.customer} at {first.subject.business_id}"
        if first.replies:
            lines.append(f"{indent}  replies to {who} ({len(first.replies)}):")
            lines.extend(f"{indent}    {_quote(text)}" for text in first.replies)
        else:
            lines.append(f"{indent}  replies to {who}: none")
        if first.others:
            lines.append(f"{indent}  other messages this step ({len(first.others)}):")
            lines.extend(f"{indent}    to {m.to} ({m.audience}, {m.business_id}): "
                         f"{_quote(m.text)}" for m in first.others)
    return lines


# --------------------------------------------------------------------------- values


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _normalize(field: str, value: object) -> object:
    """Read a stored value the way the file writes it (enum values, "YYYY-MM-DDTHH:MM",
    "15.00"), so a driver returning richer types still compares equal."""
    if isinstance(value, Enum):
        value = value.value
    if field == "start" and isinstance(value, datetime):
        return format_local(value)
    if (field == "deposit_amount" and value is not None and not isinstance(value, bool)
            and isinstance(value, str | int | float | Decimal)):
        try:
            return f"{Decimal(str(value).strip()):.2f}"
        except InvalidOperation:
            return value
    return value


def _equal(expected: object, actual: object) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual  # `1 == True` must not pass for attendance_confirmed
    return expected == actual


def _show(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value and value.strip() == value else json.dumps(value)
    return str(value)


def _show_booking(booking: Mapping[str, object]) -> str:
    parts = [f"{k}: {_show(_normalize(k, v))}" for k, v in booking.items()]
    return "{" + ", ".join(parts) + "}"


def _quote(text: str) -> str:
    """One line per message, whatever it contains."""
    return json.dumps(text, ensure_ascii=False)


def _regex(pattern: str) -> str:
    return "'" + pattern + "'"


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"
