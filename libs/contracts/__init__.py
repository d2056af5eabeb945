"""Contracts shared by every service: the envelope, events and commands, the registry."""

from libs.contracts.envelope import Envelope, deterministic_event_id
from libs.contracts.registry import (
    MESSAGE_TYPES,
    ContractError,
    InvalidEvent,
    UnknownEventType,
    make_envelope,
    parse_envelope,
    parse_payload,
)

__all__ = [
    "MESSAGE_TYPES",
    "ContractError",
    "Envelope",
    "InvalidEvent",
    "UnknownEventType",
    "deterministic_event_id",
    "make_envelope",
    "parse_envelope",
    "parse_payload",
]
