"""The outbound channel port: one method, implemented by each provider's adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutboundMessage:
    business_id: str
    channel: str
    to: str
    text: str
    audience: str


class OutboundChannel(Protocol):
    async def send(self, message: OutboundMessage) -> str:
        """Deliver one message; returns the provider's message id."""
        ...
