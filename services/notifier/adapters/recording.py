"""A channel that records instead of sending: the demo's, the scenario runner's and tests'."""

from __future__ import annotations

import itertools

from services.notifier.adapters.base import OutboundMessage


class RecordingChannel:
    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self._ids = itertools.count(1)

    async def send(self, message: OutboundMessage) -> str:
        self.sent.append(message)
        return f"rec-{next(self._ids)}"

    def to(self, address: str) -> list[OutboundMessage]:
        return [m for m in self.sent if m.to == address]
