"""What the suite sees of the system while it runs, read directly (never through a proxy):

- `reply_feed`: every reply notifier logged (`message_log`), handed to the customer it was
  for once it is sent (the bench's `ReplyFeed`).
- `Progress`: whether anything is still moving (messages queued or waiting for a retry,
  outbox rows unpublished, handlers committing). A customer waiting for a reply gives up
  only once nothing has moved for `IDLE_S` while no fault is active: the reply is lost,
  not late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from benchmarks.customers import ReplyFeed
from libs.bus.models import InboxMessage, OutboxMessage
from services.notifier.models import MessageLog
from tests.faults.system import System

log = logging.getLogger(__name__)

POLL_S = 0.25
SAMPLE_S = 1.0
SENDING = "sending"  # notifier's row for an attempt not (yet) acknowledged by the provider
IDLE_S = 20.0
"""Nothing moving for this long (no fault active, nothing queued or in a retry tier, no
outbox row waiting): what has not arrived will not."""


async def _every(seconds: float, job: Callable[[], Awaitable[None]], stop: asyncio.Event,
                 what: str) -> None:
    """Run `job` every `seconds` until `stop` is set. A stop flag, not cancellation: the
    broker client may swallow a cancellation that arrives while it opens a channel."""
    while not stop.is_set():
        try:
            await job()
        except Exception:  # the suite's own connections: keep watching
            log.exception("%s failed", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)


def reply_feed(system: System) -> ReplyFeed:
    """The bench's feed (`benchmarks/customers.py`), read directly: it hands each reply out
    once it is past `sending`, whatever order the rows commit in."""
    return ReplyFeed(system.database_url, poll_s=POLL_S)


@dataclass(eq=False)
class Progress:
    system: System
    faults_active: int = 0
    _signature: tuple[object, ...] = ()
    _changed_at: float = 0.0
    backlog: dict[str, tuple[int, int]] = field(default_factory=dict)
    unpublished: int = 0

    @contextlib.asynccontextmanager
    async def fault(self) -> AsyncIterator[None]:
        """While a fault is on (and until it is undone), nothing counts as idle."""
        self.faults_active += 1
        try:
            yield
        finally:
            self.faults_active -= 1
            self._changed_at = asyncio.get_running_loop().time()

    def idle_for(self) -> float:
        if self.faults_active or self._changed_at == 0.0:
            return 0.0
        return asyncio.get_running_loop().time() - self._changed_at

    def settled(self) -> bool:
        return self.idle_for() >= IDLE_S

    async def run(self, stop: asyncio.Event) -> None:
        await _every(SAMPLE_S, self.sample, stop, "progress sample")

    async def sample(self) -> None:
        async with self.system.sessions() as s:
            inbox = await s.scalar(select(func.count()).select_from(InboxMessage))
            outbox = await s.scalar(select(func.count()).select_from(OutboxMessage))
            unpublished = await s.scalar(select(func.count()).select_from(OutboxMessage)
                                         .where(OutboxMessage.published_at.is_(None)))
            sent = await s.scalar(select(func.max(MessageLog.seq)))
        backlog = await self.system.queued()
        self.backlog, self.unpublished = backlog, int(unpublished or 0)
        waiting = sum(ready for ready, _ in backlog.values()) + self.unpublished
        signature = (inbox, outbox, unpublished, sent, tuple(sorted(backlog.items())))
        now = asyncio.get_running_loop().time()
        if signature != self._signature or waiting or self.faults_active:
            self._signature = signature
            self._changed_at = now

    async def until_quiet(self, quiet_s: float, bound_s: float) -> bool:
        """Until nothing has moved for `quiet_s` (True), or `bound_s` passed (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + bound_s
        while self.idle_for() < quiet_s:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.5)
        return True
