"""One provider call with bounded retries: 429, 5xx and network failures (`Retryable`) are
tried again after a backoff, or after the provider's `Retry-After` when it gave one, up to
`attempts` calls and `budget_s` seconds of waiting in all; then `GaveUp` with the last
reason (the handler dead-letters the message with it). Other errors are not retried here.

The waits go through an injected `sleep`, so tests see each computed wait without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.notifier.adapters.base import (
    OutboundChannel,
    OutboundMessage,
    ProviderError,
    Retryable,
    Sent,
)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Provider calls per message, at most (NOTIFIER_SEND_ATTEMPTS)."""
    budget_s: float = 30.0
    """Seconds of waiting between them, in all (NOTIFIER_RETRY_BUDGET_S)."""
    base_s: float = 0.5
    """The first backoff; each next one doubles, up to `max_wait_s`."""
    max_wait_s: float = 8.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """The wait after failed call number `attempt` (1-based)."""
        if retry_after is not None:
            return retry_after
        return float(min(self.max_wait_s, self.base_s * 2 ** (attempt - 1)))


class GaveUp(ProviderError):
    """Still failing after the bounded retries: the message is dead-lettered with `reason`."""

    def __init__(self, reason: str, *, attempts: int, code: str | None = None) -> None:
        super().__init__(reason, code=code)
        self.attempts = attempts


def as_sent(answer: str | Sent, message: OutboundMessage) -> Sent:
    """Adapters that send one message (web chat, recording) return its id alone."""
    return answer if isinstance(answer, Sent) else Sent(ids=(answer,), sent_as=message.channel)


async def send_with_retries(channel: OutboundChannel, message: OutboundMessage,
                            policy: RetryPolicy, sleep: Sleep = asyncio.sleep
                            ) -> tuple[Sent, int]:
    """Send once, retrying `Retryable` failures within the policy's bounds; returns what was
    sent and how many calls it took."""
    waited = 0.0
    for attempt in range(1, policy.attempts + 1):
        try:
            return as_sent(await channel.send(message), message), attempt
        except Retryable as exc:
            if attempt == policy.attempts:
                raise GaveUp(f"{exc.reason}; gave up after {attempt} attempts",
                             attempts=attempt, code=exc.code) from exc
            wait = policy.wait(attempt, exc.retry_after)
            if waited + wait > policy.budget_s:
                raise GaveUp(f"{exc.reason}; gave up after {attempt} attempts (waiting "
                             f"{wait:g} s more would pass the {policy.budget_s:g} s budget)",
                             attempts=attempt, code=exc.code) from exc
            waited += wait
            await sleep(wait)
    raise AssertionError("unreachable: attempts >= 1")  # pragma: no cover
