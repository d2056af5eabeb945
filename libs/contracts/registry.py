"""Type name -> model, and the one way to build or read an envelope's payload."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime

from pydantic import ValidationError

from libs.contracts.commands import ALL_COMMANDS
from libs.contracts.envelope import Envelope
from libs.contracts.events import ALL_EVENTS
from libs.contracts.message import Command, Message

ALL_MESSAGES: tuple[type[Message], ...] = (*ALL_EVENTS, *ALL_COMMANDS)
MESSAGE_TYPES: dict[str, type[Message]] = {cls.TYPE: cls for cls in ALL_MESSAGES}


# Who may publish each namespace (a type's first word): the one service that owns those
# facts or commands. The broker enforces it (`receptionist bus users` gives each service a
# user that may write only its own namespaces) and each relay publishes only its own rows.
PUBLISHERS: dict[str, str] = {
    "inbound": "ingress", "stripe": "ingress", "delivery": "ingress",
    "nlu": "nlu",
    "booking": "fsm", "reply": "fsm", "deposit": "fsm", "refund": "fsm", "customer": "fsm",
    "checkout": "payments", "payment": "payments",
    "reminder": "reminders", "calendar": "calendar",
    "staff": "admin",
}


def namespace_of(message_type: str) -> str:
    return message_type.split(".", 1)[0]


def namespaces_published_by(service: str) -> list[str]:
    return sorted(ns for ns, owner in PUBLISHERS.items() if owner == service)


def types_published_by(services: Iterable[str]) -> frozenset[str]:
    """Every message type these services may publish."""
    wanted = set(services)
    return frozenset(t for t in MESSAGE_TYPES if PUBLISHERS.get(namespace_of(t)) in wanted)


def is_command(message_type: str) -> bool:
    """Commands must reach their one consumer; events may have none yet."""
    model = MESSAGE_TYPES.get(message_type)
    return model is not None and issubclass(model, Command)


class ContractError(Exception):
    """A message no consumer can read: it goes to the dead-letter queue, never retried."""


class UnknownEventType(ContractError):
    pass


class InvalidEvent(ContractError):
    pass


def parse_envelope(body: bytes | str) -> Envelope:
    try:
        return Envelope.from_json(body)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid envelope: {_problems(exc)}") from exc


def parse_payload(envelope: Envelope) -> Message:
    model = MESSAGE_TYPES.get(envelope.type)
    if model is None:
        raise UnknownEventType(f"unknown event type {envelope.type!r}")
    try:
        return model.model_validate_json(_json(envelope.payload))
    except ValidationError as exc:
        raise InvalidEvent(f"invalid {envelope.type} payload: {_problems(exc)}") from exc
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"invalid {envelope.type} payload: {exc}") from exc


def _problems(exc: ValidationError) -> str:
    """Where and what, never the offending value: it may be a customer's words or number,
    and this text reaches logs and dead-letter headers."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}"
                     for e in exc.errors(include_input=False, include_url=False))


def make_envelope(
    event: Message,
    *,
    business_id: str,
    occurred_at: datetime,
    correlation_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    """Wrap a payload; a new turn starts a new correlation id unless one is carried on."""
    return Envelope(
        event_id=event_id or uuid.uuid4(),
        type=event.TYPE,
        occurred_at=occurred_at,
        business_id=business_id,
        correlation_id=correlation_id or uuid.uuid4(),
        causation_id=causation_id,
        payload=event.model_dump(mode="json"),
    )


def _json(payload: object) -> str:
    return json.dumps(payload)
