"""The outbox: events are written with the state change, then published by a relay."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.models import OutboxMessage
from libs.bus.transport import PublishError, Transport
from libs.clock import Clock
from libs.contracts.envelope import Envelope

log = logging.getLogger(__name__)
OUTBOX = cast(Table, OutboxMessage.__table__)  # the mapped class's table, for Core statements


async def add_to_outbox(session: AsyncSession, envelopes: Iterable[Envelope]) -> None:
    """Stage events in the caller's transaction: they exist only if it commits. One
    multi-row INSERT on the table, not ORM objects: every handler that emits pays this, and
    the unit of work cost a third more CPU for rows nothing reads back."""
    rows = [{"event_id": e.event_id, "type": e.type, "business_id": e.business_id,
             "envelope": e.model_dump(mode="json")} for e in envelopes]
    if rows:
        await session.execute(insert(OUTBOX), rows)


class OutboxRelay:
    """Publishes committed outbox rows in order, each with a publisher confirm (a batch's
    confirms awaited together), and marks the batch in one statement.

    Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several relays (one per process)
    share the work without publishing a row twice; a crash after the publish and before the
    commit republishes it, which the consumers' inbox absorbs.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], transport: Transport,
                 clock: Clock, *, batch_size: int = 100, poll_interval_s: float = 0.25,
                 types: frozenset[str] | None = None) -> None:
        """`types`: publish only rows of these types (the ones this process's broker user
        may write, `libs.contracts.registry.types_published_by`); None: every row."""
        self._sessions = session_factory
        self._types = types
        self._transport = transport
        self._clock = clock
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._stopping = False

    def nudge(self) -> None:
        """Called after a commit that wrote outbox rows, so they leave without waiting a poll."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were published."""
        async with self._sessions() as session, session.begin():
            # Core statements on the table: rows are read once and never changed as objects
            pending = (select(OUTBOX.c.id, OUTBOX.c.event_id, OUTBOX.c.type, OUTBOX.c.envelope)
                       .where(OUTBOX.c.published_at.is_(None)))
            if self._types is not None:
                pending = pending.where(OUTBOX.c.type.in_(sorted(self._types)))
            rows = (await session.execute(
                pending
                .order_by(OUTBOX.c.id)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            )).all()
            # Pipelined: every publish of the batch is sent before any confirm is awaited
            # (in order, on one channel); the rows up to the first refusal are marked. Any
            # after it that the broker took anyway go again later: the inbox absorbs them.
            results = await asyncio.gather(*(
                self._transport.publish(json.dumps(row.envelope, separators=(",", ":")).encode(),
                                        row.type, message_id=str(row.event_id))
                for row in rows), return_exceptions=True)
            published: list[int] = []
            for row, result in zip(rows, results, strict=True):
                if isinstance(result, BaseException):
                    if not isinstance(result, PublishError):
                        raise result
                    log.warning("outbox row %s not published: %s", row.id, result)
                    await session.execute(
                        update(OUTBOX).where(OUTBOX.c.id == row.id)
                        .values(attempts=OUTBOX.c.attempts + 1,
                                last_error=str(result)[:2000]))
                    break  # keep order: later rows wait for this one
                published.append(row.id)
            if published:
                await session.execute(
                    update(OUTBOX).where(OUTBOX.c.id.in_(published))
                    .values(published_at=self._clock.now()))
            return len(published)

    async def drain(self) -> int:
        """Publish until nothing committed is left (used by the scenario runner and tests)."""
        total = 0
        while (n := await self.publish_pending()) > 0:
            total += n
        return total

    async def run(self) -> None:
        while not self._stopping:
            try:
                n = await self.publish_pending()
            except Exception:
                log.exception("outbox relay failed; retrying")
                n = 0
            if n >= self._batch_size:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval_s)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
