"""The two kinds of message on the bus (docs/architecture.md, "Events and commands").

An `Event` is a fact that happened (`booking.confirmed`): any number of services may follow
it, and one that nobody follows yet is simply not delivered. A `Command` asks one service
to act (`reply.requested`): it has exactly one consumer, and publishing one that nobody
would receive is an error, never a silent drop.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    """Base of every payload. `TYPE` is the routing key and the envelope's `type`."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")
    TYPE: ClassVar[str]


class Event(Message):
    """A fact: published for whoever follows it."""


class Command(Message):
    """A request to one service: exactly one consumer must receive it."""
