"""One outbound port over several channels: each message goes to its channel's adapter."""

from __future__ import annotations

from collections.abc import Mapping

from services.notifier.adapters.base import OutboundChannel, OutboundMessage, Rejected, Sent


class ChannelUnavailable(Rejected):
    """No adapter is configured for the message's channel."""


class ByChannel:
    def __init__(self, channels: Mapping[str, OutboundChannel]) -> None:
        self.channels = dict(channels)

    async def send(self, message: OutboundMessage) -> str | Sent:
        adapter = self.channels.get(message.channel)
        if adapter is None:
            raise ChannelUnavailable(f"no adapter for the {message.channel} channel")
        return await adapter.send(message)
