"""Event contracts shared by every service: envelope, v1 events, registry, routing."""

from libs.contracts.envelope import Envelope, deterministic_event_id
from libs.contracts.registry import (
    EVENT_TYPES,
    ContractError,
    InvalidEvent,
    UnknownEventType,
    make_envelope,
    parse_envelope,
    parse_payload,
)

__all__ = [
    "EVENT_TYPES",
    "ContractError",
    "Envelope",
    "InvalidEvent",
    "UnknownEventType",
    "deterministic_event_id",
    "make_envelope",
    "parse_envelope",
    "parse_payload",
]
