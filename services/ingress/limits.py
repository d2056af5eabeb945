"""Token buckets: how much web chat traffic one client IP, one session and one business may
send (docs/architecture.md, "Web chat").

A bucket holds up to `burst` tokens and refills at `per_minute` / 60 tokens a second; each
request takes one. An empty bucket answers how long until the next token, which ingress
returns as `Retry-After`. Buckets live in the process: each ingress replica limits on its
own, so N replicas let through up to N times the rate (put a shared limiter at the proxy when
that matters). Time comes from an injected clock (seconds), so tests move it by hand.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

Seconds = Callable[[], float]
MAX_KEYS = 100_000


@dataclass(frozen=True)
class Rate:
    """`per_minute` sustained, `burst` at once."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a rate needs a positive refill and a burst of at least 1")

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


@dataclass
class _Bucket:
    tokens: float
    at: float


class Buckets:
    """One bucket per key (an IP, a session, a business), all at one rate.

    Keys are kept in use order and the least recently used are forgotten beyond `max_keys`,
    so a flood of new keys cannot grow memory without bound; a forgotten key starts full
    again, which forgives only a client idle while `max_keys` others were busy.
    """

    def __init__(self, rate: Rate, clock: Seconds, max_keys: int = MAX_KEYS) -> None:
        self.rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is free."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.rate.burst), now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.at)  # a clock stepping back refills nothing
            bucket.tokens = min(float(self.rate.burst),
                                bucket.tokens + elapsed * self.rate.per_second)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate.per_second

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(wait_s: float) -> str:
    """`Retry-After` in whole seconds, rounded up and never 0 (0 would invite a retry now)."""
    return str(max(1, math.ceil(wait_s)))
