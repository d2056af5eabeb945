"""What a handler gets: the message's envelope fields, the clock, `emit`, and two doors to
the database.

- `read()`: a short session for looking things up; it holds no lock and writes nothing
  (no transaction: each statement reads what is committed when it runs).
- `write()`: the handler's one transaction, guarded so that handling is exactly-once: a
  timer's `fired_at` mark opens it; a message's inbox row closes it, written in the same
  statement as the outbox rows of the events the handler emitted (`claim`). They are
  published if and only if it commits.

Each has a form without the ORM session, for work made only of `libs.db.direct.Direct`
statements, on a pooled connection through psycopg (about 300 us of CPU less a
transaction): `write_direct()`, the same guarded transaction, and `statement()`, one
statement that commits by itself (`record()`'s small kind).

A service that keeps no state (nlu) has neither: what its handler emits is published by the
consumer before the ack, each with an id derived from the message handled and its place
among the emitted, so a redelivery publishes the same ids and the next inbox absorbs them.

A handler reads, calls any outside system (made idempotent by key), and only then writes:
no transaction, and so no lock, is held across a network call (docs/architecture.md,
"Handlers"). A handler that never opens `write()` has it opened for it when it returns.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import UpdateBase

from libs.bus.outbox import add_to_outbox
from libs.clock import Clock
from libs.contracts.envelope import Envelope
from libs.contracts.message import Message
from libs.contracts.registry import make_envelope
from libs.db.direct import (
    Db,
    Direct,
    DirectConnection,
    compiled_once,
    direct_autocommit,
    direct_transaction,
    engine_of,
)

Guard = Callable[[Db], Awaitable[bool]]
"""Claims the right to apply an effect, inside the write transaction; False: already done."""
Claim = Callable[[Db, Sequence[Envelope], "LastWrite | None"], Awaitable[bool]]
"""A guard made last: claims the message and stages what the handler emitted in the outbox,
with the handler's `LastWrite` if it left one, in one statement at the end of the write
transaction; False: already handled (the whole transaction rolls back)."""


@dataclass(frozen=True)
class LastWrite:
    """A handler's last write, sent in the claim's own statement (a data-modifying CTE):
    one round trip fewer. `statement` is an INSERT, UPDATE or DELETE built once at module
    level (the statement it makes with the claim is compiled once, then kept); its
    parameters' names must not be the claim's. It runs whether or not the claim is taken (a
    claim not taken rolls the transaction back), and nothing reads what it wrote before the
    transaction ends."""

    statement: UpdateBase
    params: Mapping[str, Any]

    async def run(self, db: Db) -> None:
        """On its own (a write with no claim: a timer's, or an idempotent one)."""
        await compiled_once(self.statement, Direct.of).rowcount(db, self.params)


DepsT = TypeVar("DepsT")


class AlreadyHandled(Exception):
    """The guard found the message handled (or the timer fired) by someone else: the
    transaction is rolled back and the delivery acked."""


class PermanentError(Exception):
    """A failure that retrying cannot fix: the message goes straight to `<queue>.dead`."""


class Conflict(Exception):
    """The handler's transaction lost a race to another writer's commit (a constraint said
    so, as fsm's exclusion constraint does for a booked time): it was rolled back whole, and
    `run_handler` runs the handler again at once, on the data as it is now. Only for a
    handler that calls no outside system before it writes (fsm calls none)."""


CONFLICT_RETRIES = 5
"""How many times a handler that keeps losing races runs again in place; past that, the
message is retried later (a transient failure)."""


def derived_event_id(cause: uuid.UUID, consumer: str, place: int) -> uuid.UUID:
    """The id of the `place`-th message a stateless `consumer` emits for message `cause`:
    the same every time it handles that message."""
    return uuid.uuid5(cause, f"{consumer}/{place}")


@dataclass
class HandlerContext:
    """`envelope` is the message being handled; a timer firing has none and starts a
    correlation of its own."""

    envelope: Envelope | None
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    business_id: str
    guard: Guard | None = None
    """Made first in `write()`: a timer's `fired_at` mark (`libs.timers.ticker`)."""
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    autocommit: async_sessionmaker[AsyncSession] | None = None
    """`sessions` outside a transaction (`libs.db.session.autocommit_sessions`), for
    `read()` and one-statement `record()`s; None: `sessions` (tests' fakes)."""
    stateless_as: str | None = None
    """The consumer's name when its service keeps no state: no `write()`, and emitted ids
    derive from the message handled."""
    claim: Claim | None = None
    """Set for a message (the inbox claim, `libs.bus.consumer.inbox_claim`): `guard` is not
    run first; the claim is made with the outbox rows when the write ends, one statement
    fewer. A repeat then does its work before it finds out, and rolls it all back."""
    emitted: list[Envelope] = field(default_factory=list)
    wrote: bool = False
    inbox_skipped: bool = False
    last_write: LastWrite | None = None
    """Left by `write_last()`, sent with the claim."""

    @property
    def occurred_at(self) -> datetime:
        """When the message was published (the clock's now for a timer)."""
        return self.envelope.occurred_at if self.envelope else self.clock.now()

    def emit(self, message: Message, *, business_id: str | None = None,
             event_id: uuid.UUID | None = None) -> Envelope:
        """Queue a message caused by the one being handled, for the outbox of `write()` (or,
        for a stateless service, for the consumer to publish)."""
        if event_id is None and self.stateless_as is not None and self.envelope is not None:
            event_id = derived_event_id(self.envelope.event_id, self.stateless_as,
                                        len(self.emitted))
        out = make_envelope(
            message,
            business_id=business_id or self.business_id,
            occurred_at=self.clock.now(),
            correlation_id=self.correlation_id,
            causation_id=self.envelope.event_id if self.envelope else None,
            event_id=event_id,
        )
        self.emitted.append(out)
        return out

    def write_last(self, statement: UpdateBase, params: Mapping[str, Any]) -> None:
        """Leave the handler's last write to the end of its write transaction, where it is
        sent in the claim's own statement (`LastWrite`, one round trip fewer): the handler
        sends no statement after it, and leaves one at most."""
        if not self.wrote:
            raise RuntimeError("write_last() is for inside write() or write_direct()")
        if self.last_write is not None:
            raise RuntimeError("a handler leaves one last write at most")
        self.last_write = LastWrite(statement, params)

    def skip_inbox(self) -> None:
        """No inbox row for this message: the handler changed nothing, or keeps its own
        record of it, keyed by its event id, that a redelivery reads (notifier's message
        log). It saves a transaction; a handler that emits must `write()`."""
        self.inbox_skipped = True

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short session for reads only, outside a transaction (no `BEGIN` and `ROLLBACK`
        round trips); it must write nothing."""
        async with (self.autocommit or self.sessions)() as session:
            yield session

    @contextlib.asynccontextmanager
    async def record(self) -> AsyncIterator[AsyncSession]:
        """A small transaction of its own, committed before the handler calls out: the
        record that an attempt was made (it survives a crash in the call, so a redelivery
        can see it). It emits nothing and is not the guarded write."""
        async with self.sessions() as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def statement(self) -> AsyncIterator[DirectConnection]:
        """`record()` for one `Direct` statement, which commits by itself (two round trips
        fewer), on a pooled connection without a session (docs/scaling.md, "Transactions
        without the session")."""
        async with direct_autocommit(engine_of(self.sessions)) as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def write(self, *, idempotent: bool = False) -> AsyncIterator[AsyncSession]:
        """The handler's one transaction: guard, the handler's writes, the outbox.

        `idempotent`: the writes leave the same rows however often the message is applied
        (reminders' plans are upserted by booking, offset and start, behind the booking's
        newest event), so no inbox row is taken: one statement fewer. Such a write may
        emit nothing, since a repeat would emit it again. (A timer's `fired_at` guard is
        made all the same.)"""
        claim = self._writing(idempotent)
        async with self.sessions() as session, session.begin():
            await self._guarded(session, claim)
            yield session
            await self._claimed(session, claim, idempotent)

    @contextlib.asynccontextmanager
    async def write_direct(self, *, idempotent: bool = False
                           ) -> AsyncIterator[DirectConnection]:
        """`write()` for a handler whose writes are all `Direct` statements (or none): the
        same guarded transaction, on a pooled connection without a session, which costs
        about 300 us of CPU less (docs/scaling.md, "Transactions without the session")."""
        claim = self._writing(idempotent)
        async with direct_transaction(engine_of(self.sessions)) as connection:
            await self._guarded(connection, claim)
            yield connection
            await self._claimed(connection, claim, idempotent)

    def _writing(self, idempotent: bool) -> Claim | None:
        """Checks that this is the handler's one write, and says how it is made exactly-once:
        the claim made last, or (None) the guard made first, or neither for an idempotent
        write."""
        if self.wrote:
            raise RuntimeError("a handler writes in one transaction only")
        if self.stateless_as is not None:
            raise RuntimeError(f"{self.stateless_as} keeps no state: it has no transaction")
        self.wrote = True
        self.inbox_skipped = idempotent
        claim = None if idempotent else self.claim
        if claim is None and self.guard is None and not idempotent:
            raise RuntimeError("a write needs a guard or a claim: nothing would make it "
                               "exactly-once")
        return claim

    async def _guarded(self, db: Db, claim: Claim | None) -> None:
        """A timer's mark, first (never skipped; a message's claim is made last instead)."""
        if claim is None and self.guard is not None and not await self.guard(db):
            raise AlreadyHandled

    async def _claimed(self, db: Db, claim: Claim | None, idempotent: bool) -> None:
        """What the handler emitted, staged in the outbox with the claim if there is one."""
        if idempotent and self.emitted:
            raise RuntimeError("an idempotent write emitted messages: a repeat would "
                               "emit them again (write() with the inbox instead)")
        last, self.last_write = self.last_write, None
        if claim is None:
            if last is not None:
                await last.run(db)
            await add_to_outbox(db, self.emitted)
        elif not await claim(db, self.emitted, last):
            raise AlreadyHandled


Handler = Callable[[HandlerContext, Any, DepsT], Awaitable[None]]
"""`on_<message>(ctx, message, deps)`: one per message type a service consumes."""

HandlerMap = Mapping[type[Message], Handler[DepsT]]
"""A service's handlers by the message class they consume (its queue bindings)."""


async def run_handler(handler: Handler[DepsT], ctx: HandlerContext, message: Any,
                      deps: DepsT) -> bool:
    """Run a handler to its commit; False when the guard found it already done. A handler
    that lost a race (`Conflict`) runs again from the start with nothing emitted."""
    for _ in range(CONFLICT_RETRIES):
        try:
            await _run_once(handler, ctx, message, deps)
        except AlreadyHandled:
            return False
        except Conflict:
            ctx.emitted.clear()
            ctx.last_write = None
            ctx.wrote = ctx.inbox_skipped = False
            continue
        return True
    raise RuntimeError(f"lost a race {CONFLICT_RETRIES} times in a row; the message is "
                       "retried later")


async def _run_once(handler: Handler[DepsT], ctx: HandlerContext, message: Any,
                    deps: DepsT) -> None:
    await handler(ctx, message, deps)
    if ctx.last_write is not None:
        raise RuntimeError("write_last() after the write ended: it would never be written")
    if ctx.inbox_skipped and ctx.emitted and not ctx.wrote:
        raise RuntimeError("a handler that skips the inbox emitted messages: they "
                           "would be lost (emit inside write())")
    if not (ctx.wrote or ctx.inbox_skipped or ctx.stateless_as is not None):
        async with ctx.write_direct():
            pass
