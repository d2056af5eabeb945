"""The outbox: events are written with the state change, then published by a relay."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import cast

from sqlalchemy import (
    Interval,
    Table,
    Text,
    all_,
    any_,
    bindparam,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.models import OutboxMessage
from libs.bus.transport import PublishError, Transport, publish_envelopes
from libs.clock import Clock
from libs.contracts.envelope import Envelope
from libs.db.direct import Db, Direct, direct_autocommit, engine_of
from libs.db.session import autocommit_sessions

log = logging.getLogger(__name__)
OUTBOX = cast(Table, OutboxMessage.__table__)  # the mapped class's table, for Core statements
_ADD = Direct.of(insert(OUTBOX).values(
    event_id=bindparam("event_id"), type=bindparam("type"),
    business_id=bindparam("business_id"), envelope=bindparam("envelope")))
_FINDABLE = (OUTBOX.c.published_at.is_(None),
             OUTBOX.c.event_id != all_(bindparam("in_memory", type_=ARRAY(UUID))),
             OUTBOX.c.created_at <= func.now() - bindparam("older_than", type_=Interval))
"""What the relay's poll finds: unpublished, not in this relay's memory, old enough."""
_OF_TYPES = OUTBOX.c.type == any_(bindparam("types", type_=ARRAY(Text)))
_ANY = Direct.of(select(exists().where(*_FINDABLE)))
_ANY_OF_TYPES = Direct.of(select(exists().where(*_FINDABLE, _OF_TYPES)))
"""Whether the poll would find a row: one statement outside a transaction, so that a poll
that finds nothing (nearly every one: every process polls every second) costs no locking
transaction."""
_FIND = (select(OUTBOX.c.id, OUTBOX.c.event_id, OUTBOX.c.type, OUTBOX.c.envelope)
         .where(*_FINDABLE).order_by(OUTBOX.c.id).limit(bindparam("limit"))
         .with_for_update(skip_locked=True))
_FIND_OF_TYPES = _FIND.where(_OF_TYPES)
"""The rows the poll claims, in `id` order; built once, with the check's own conditions."""
_STAMP = (update(OUTBOX).where(OUTBOX.c.event_id.in_(bindparam("event_ids", expanding=True)))
          .values(published_at=bindparam("now")))


async def add_to_outbox(db: Db, envelopes: Iterable[Envelope]) -> None:
    """Stage events in the caller's transaction: they exist only if it commits. One
    multi-row INSERT on the table, not ORM objects: every handler that emits pays this, and
    the unit of work cost a third more CPU for rows nothing reads back."""
    rows = [{"event_id": e.event_id, "type": e.type, "business_id": e.business_id,
             "envelope": e.model_dump(mode="json")} for e in envelopes]
    await _ADD.many(db, rows)


class OutboxRelay:
    """Publishes committed outbox rows with publisher confirms (a batch's confirms awaited
    together), and marks them sent.

    Two ways in:
    - **Handed over** (`submit`): a consumer that just committed hands the relay the
      envelopes it wrote. They are published from memory at once, in the order handed, and
      marked sent together a moment later (`mark_interval_s`, or a full batch), one
      `UPDATE` for many rows: no query to find them.
    - **Found** (`publish_pending`): rows nobody handed over (written by admin, a timer or
      a job, which `nudge`, or left by a process that crashed, or a refused publish) are
      claimed with `FOR UPDATE SKIP LOCKED`, so several relays share them without
      publishing a row twice. The periodic poll takes only rows older than
      `leftover_after_s`: younger ones are their own process's to publish.

    A crash after a publish and before its mark republishes the row later, which the
    consumers' inbox absorbs.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], transport: Transport,
                 clock: Clock, *, batch_size: int = 100, poll_interval_s: float = 1.0,
                 mark_interval_s: float = 0.2, leftover_after_s: float = 5.0,
                 types: frozenset[str] | None = None) -> None:
        """`types`: publish only rows of these types (the ones this process's broker user
        may write, `libs.contracts.registry.types_published_by`); None: every row."""
        self._sessions = session_factory
        self._types = sorted(types) if types is not None else None
        self._transport = transport
        self._clock = clock
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._mark_interval_s = mark_interval_s
        self._leftover_after = timedelta(seconds=leftover_after_s)
        self._handed: list[Envelope] = []       # committed, to publish
        self._unmarked: list[uuid.UUID] = []    # published, to mark sent
        self._unmarked_since = 0.0
        self._look_now = False
        self._wake = asyncio.Event()
        self._stopping = False

    @functools.cached_property
    def _one_statement(self) -> async_sessionmaker[AsyncSession]:
        return autocommit_sessions(self._sessions)

    def submit(self, envelopes: Sequence[Envelope]) -> None:
        """Called right after a commit that wrote these outbox rows."""
        if envelopes:
            self._handed.extend(envelopes)
            self._wake.set()

    def nudge(self) -> None:
        """Rows were committed that were not handed over: look for them now."""
        self._look_now = True
        self._wake.set()

    async def publish_handed(self) -> int:
        """Publish one batch of what was handed over; returns how many were confirmed. A
        refusal leaves that row and the rest of the batch to the poll (the broker may have
        taken some of them anyway: the inbox absorbs the repeat)."""
        batch = self._handed[:self._batch_size]
        del self._handed[:len(batch)]
        if not batch:
            return 0
        confirmed = 0
        for envelope, error in zip(batch, await publish_envelopes(self._transport, batch),
                                   strict=True):
            if error is not None:
                log.warning("outbox row %s not published (the poll takes it later): %r",
                            envelope.event_id, error)
                break
            confirmed += 1
        if confirmed and not self._unmarked:
            self._unmarked_since = time.monotonic()
        self._unmarked.extend(e.event_id for e in batch[:confirmed])
        return confirmed

    async def mark_published(self) -> int:
        """Stamp what was published from memory, in one statement; kept for the next try
        if the database cannot be reached (a crash then republishes them: absorbed)."""
        marking, self._unmarked = self._unmarked, []
        if not marking:
            return 0
        try:
            async with self._one_statement() as session:  # no transaction
                await session.execute(_STAMP, {"event_ids": marking,
                                               "now": self._clock.now()})
        except BaseException:
            self._unmarked = marking + self._unmarked
            raise
        return len(marking)

    async def publish_pending(self, *, leftovers_only: bool = False) -> int:
        """Find, publish and mark one batch of committed rows nobody handed over; returns how
        many were published. `leftovers_only`: only rows older than `leftover_after_s`."""
        params: dict[str, object] = {
            "in_memory": [e.event_id for e in self._handed] + self._unmarked,
            "older_than": self._leftover_after if leftovers_only else timedelta(0)}
        if self._types is not None:
            params["types"] = self._types
        async with direct_autocommit(engine_of(self._sessions)) as db:
            if not await (_ANY if self._types is None else _ANY_OF_TYPES).scalar(db, params):
                return 0
        async with self._sessions() as session, session.begin():
            # Core statements on the table: rows are read once and never changed as objects
            rows = (await session.execute(
                _FIND if self._types is None else _FIND_OF_TYPES,
                {**params, "limit": self._batch_size})).all()
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
        """Publish and mark everything committed, handed over or not (the scenario runner,
        tests, and a process's last act before it stops)."""
        total = 0
        while self._handed:
            n = await self.publish_handed()
            total += n
            if n == 0:
                break  # refused: the rest are found below, or later
        await self.mark_published()
        while (n := await self.publish_pending()) > 0:
            total += n
        return total

    async def run(self) -> None:
        next_poll = time.monotonic()
        while not self._stopping:
            busy = False
            try:
                busy = await self.publish_handed() >= self._batch_size
                now = time.monotonic()
                if self._unmarked and (len(self._unmarked) >= self._batch_size
                                       or now - self._unmarked_since >= self._mark_interval_s):
                    await self.mark_published()
                if self._look_now or now >= next_poll:
                    leftovers_only = not self._look_now
                    self._look_now = False
                    next_poll = now + self._poll_interval_s
                    busy |= await self.publish_pending(
                        leftovers_only=leftovers_only) >= self._batch_size
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(min(1.0, self._poll_interval_s))  # an outage: no spin
                continue
            if busy or self._handed:
                continue
            self._wake.clear()
            waits = [next_poll - time.monotonic()]
            if self._unmarked:
                waits.append(self._unmarked_since + self._mark_interval_s - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, min(waits)))

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
