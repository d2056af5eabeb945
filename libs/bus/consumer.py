"""One consumer loop for every service: validate, dedupe, handle, settle.

The order is what makes delivery safe: the inbox row, the handler's state change and the
outgoing messages commit together (`HandlerContext.write`), and only then is the message
acked. A crash anywhere before the ack redelivers the message; the inbox row turns the
redelivery into a no-op. A redelivery (or retry) already in the inbox is acked before the
handler runs, so it calls no outside system again; a first delivery that repeats a message
(a publisher retried) reaches the handler, whose write then finds the inbox row taken when it
claims it, together with the outbox rows, at its end (`inbox_claim`), and commits nothing.
Such a repeat that fails permanently (on the state its first handling changed) is acked as
the duplicate it is, not dead-lettered.

A stateless service (`ServiceDefinition.stateless`: nlu) has no inbox and no outbox: its
handler changes nothing, and what it emits is published, confirmed, before the ack, under
ids derived from the message handled. A crash between the publish and the ack publishes the
same ids again, and the next consumer's inbox absorbs them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, cast

from sqlalchemy import Table, bindparam, cast as sql_cast, column, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import Insert, UpdateBase

from libs.bus.context import (
    Claim,
    DepsT,
    Handler,
    HandlerContext,
    LastWrite,
    PermanentError,
    run_handler,
)
from libs.bus.faults import is_transient
from libs.bus.models import InboxMessage
from libs.bus.outbox import OUTBOX
from libs.bus.transport import Delivery, PublishError, Transport, publish_envelopes
from libs.clock import Clock
from libs.contracts.envelope import Envelope
from libs.contracts.registry import ContractError, parse_envelope, parse_payload
from libs.db.direct import Db, Direct, compiled_once
from libs.db.session import autocommit_sessions
from libs.logs import error_without_message, log_context
from libs.metrics import (
    HANDLER_SECONDS,
    MESSAGES_DEAD_LETTERED,
    MESSAGES_DUPLICATE,
    MESSAGES_FAILED,
    MESSAGES_HANDLED,
    MESSAGES_RETRIED,
)

log = logging.getLogger(__name__)


INBOX = cast(Table, InboxMessage.__table__)  # the mapped class's table, for Core statements
_CLAIM_ROW = (pg_insert(INBOX)
              .values(consumer=bindparam("consumer"), event_id=bindparam("event_id"),
                      type=bindparam("type"))
              .on_conflict_do_nothing()
              .returning(INBOX.c.event_id))
_CLAIM = Direct.of(_CLAIM_ROW)
"""On the table (no ORM bookkeeping for a guard row), built once and run through psycopg:
every message pays it (docs/scaling.md, "Statements built once", "Statements through
psycopg")."""
_SEEN = select(INBOX.c.event_id).where(INBOX.c.consumer == bindparam("consumer"),
                                       INBOX.c.event_id == bindparam("event_id"))


_CLAIMED = _CLAIM_ROW.cte("claimed")
_EMITTED = (func.jsonb_array_elements(bindparam("envelopes", type_=JSONB))
            .table_valued(column("value", JSONB), with_ordinality="n")
            .render_derived().alias("emitted"))
_CLAIM_WITH_OUTBOX_ROW = (
    pg_insert(OUTBOX)
    .from_select(["event_id", "type", "business_id", "envelope"],
                 select(sql_cast(_EMITTED.c.value["event_id"].astext, OUTBOX.c.event_id.type),
                        _EMITTED.c.value["type"].astext, _EMITTED.c.value["business_id"].astext,
                        _EMITTED.c.value)
                 .where(exists(select(_CLAIMED.c.event_id)))
                 .order_by(_EMITTED.c.n))
    .add_cte(_CLAIMED)
    .returning(OUTBOX.c.id))
_CLAIM_WITH_OUTBOX = Direct.of(_CLAIM_WITH_OUTBOX_ROW)
"""The inbox row, and the outbox rows in the order emitted only if that row was new: one
statement, built once."""


def inbox_claim(consumer: str, envelope: Envelope) -> Claim:
    """Record `(consumer, event_id)` together with what the handler emitted, and its last
    write; False (nothing written) when it was recorded already."""

    async def claim(db: Db, emitted: Sequence[Envelope], last: LastWrite | None) -> bool:
        params: dict[str, Any] = {"consumer": consumer, "event_id": envelope.event_id,
                                  "type": envelope.type}
        if emitted:
            params["envelopes"] = [e.model_dump(mode="json") for e in emitted]
        statement = _CLAIM_WITH_OUTBOX if emitted else _CLAIM
        if last is not None:
            statement = compiled_once(last.statement,
                                      _claim_with_outbox_and if emitted else _claim_and)
            params.update(last.params)
        return await statement.first(db, params) is not None

    return claim


def _with_last_write(claim: Insert, last: UpdateBase) -> Direct:
    """The claim's statement with a handler's last write as a data-modifying CTE, which
    PostgreSQL runs whether or not the statement reads it."""
    shared = Direct.of(claim).required & Direct.of(last).required
    if shared:
        raise ValueError(f"a last write's parameters may not be named as the claim's: "
                         f"{sorted(shared)}")
    return Direct.of(claim.add_cte(last.cte("last_write")))


def _claim_and(last: UpdateBase) -> Direct:
    return _with_last_write(_CLAIM_ROW, last)


def _claim_with_outbox_and(last: UpdateBase) -> Direct:
    return _with_last_write(_CLAIM_WITH_OUTBOX_ROW, last)


class Consumer(Generic[DepsT]):
    def __init__(
        self,
        name: str,
        handlers: Mapping[str, Handler[DepsT]],
        deps: DepsT,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        transport: Transport,
        clock: Clock,
        on_commit: Callable[[Sequence[Envelope]], None] | None = None,
        stateless: bool = False,
        retired: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.stateless = stateless
        self.retired = retired
        self.handlers = dict(handlers)
        self.deps = deps
        self._sessions = session_factory
        self._autocommit = autocommit_sessions(session_factory)
        self._transport = transport
        self._clock = clock
        self._on_commit = on_commit
        self.in_flight = 0  # messages being handled now (the scenario runner waits for 0)

    async def start(self, *, prefetch: int) -> None:
        await self._transport.consume(self.name, self.on_delivery, prefetch=prefetch)

    async def on_delivery(self, delivery: Delivery) -> None:
        self.in_flight += 1
        try:
            with log_context(service=self.name):
                await self._handle(delivery)
        finally:
            self.in_flight -= 1

    async def _handle(self, delivery: Delivery) -> None:
        try:
            envelope = parse_envelope(delivery.body)
            message = parse_payload(envelope)
        except ContractError as exc:
            log.error("%s: unreadable message on %s: %s", self.name, delivery.routing_key, exc)
            await self._dead(delivery, delivery.routing_key, "invalid", str(exc))
            return
        # Every line logged from here on, the handler's included, says which message it is.
        with log_context(correlation_id=envelope.correlation_id,
                         business_id=envelope.business_id, event_id=envelope.event_id,
                         message_type=envelope.type):
            await self._dispatch(delivery, envelope, message)

    async def _dispatch(self, delivery: Delivery, envelope: Envelope, message: Any) -> None:
        handler = self.handlers.get(envelope.type)
        if handler is None and envelope.type in self.retired:
            log.info("%s: %s %s is no longer consumed here (queued before its binding was "
                     "removed): acked", self.name, envelope.type, envelope.event_id)
            await delivery.ack()
            return
        if handler is None:
            await self._dead(delivery, envelope.type, "unhandled",
                             f"{self.name} has no handler for {envelope.type}")
            return
        try:
            handled = await self._run(handler, envelope, message,
                                      maybe_seen=delivery.redelivered or delivery.attempt > 0)
        except PermanentError as exc:
            if await self._seen(envelope.event_id):  # a repeat, failing on what it changed
                MESSAGES_DUPLICATE.labels(self.name, envelope.type).inc()
                await delivery.ack()
                return
            MESSAGES_FAILED.labels(self.name, envelope.type).inc()
            log.error("%s: %s %s failed permanently: %s", self.name, envelope.type,
                      envelope.event_id, error_without_message(exc))
            await self._dead(delivery, envelope.type, "permanent", repr(exc))
            return
        except Exception as exc:
            MESSAGES_FAILED.labels(self.name, envelope.type).inc()
            await self._retry_or_dead(delivery, envelope.type, exc)
            return
        if handled:
            MESSAGES_HANDLED.labels(self.name, envelope.type).inc()
        else:
            MESSAGES_DUPLICATE.labels(self.name, envelope.type).inc()
            log.info("%s: duplicate %s %s skipped", self.name, envelope.type, envelope.event_id)
        await delivery.ack()

    async def _run(self, handler: Handler[DepsT], envelope: Envelope, message: Any, *,
                   maybe_seen: bool) -> bool:
        """The handler to its commit, timed; False when the inbox shows it handled already.
        A redelivery (or a retry) is looked up first, so one recorded before never reaches
        the handler. A first delivery is not: it is almost never a repeat, and when it is
        (a publisher retried), the guarded write rolls it back."""
        if self.stateless:
            with HANDLER_SECONDS.labels(self.name, envelope.type).time():
                ctx = self._context(envelope)
                await run_handler(handler, ctx, message, self.deps)
                await self._publish(ctx.emitted)
            return True
        if maybe_seen and await self._seen(envelope.event_id):
            return False
        with HANDLER_SECONDS.labels(self.name, envelope.type).time():
            ctx = self._context(envelope)
            handled = await run_handler(handler, ctx, message, self.deps)
        if handled and ctx.emitted and self._on_commit is not None:
            self._on_commit(ctx.emitted)  # committed: the relay publishes them from memory
        return handled

    async def _publish(self, emitted: list[Envelope]) -> None:
        """A stateless handler's messages; a refusal raises (transient: the message is
        retried, and republished)."""
        for error in await publish_envelopes(self._transport, emitted):
            if error is not None:
                raise error

    async def _dead(self, delivery: Delivery, message_type: str, reason: str,
                    error: str) -> None:
        await delivery.dead(reason, error)
        MESSAGES_DEAD_LETTERED.labels(self.name, message_type, reason).inc()

    def _context(self, envelope: Envelope) -> HandlerContext:
        return HandlerContext(envelope=envelope, sessions=self._sessions, clock=self._clock,
                              business_id=envelope.business_id,
                              claim=inbox_claim(self.name, envelope),
                              correlation_id=envelope.correlation_id,
                              autocommit=self._autocommit,
                              stateless_as=self.name if self.stateless else None)

    async def _seen(self, event_id: uuid.UUID) -> bool:
        async with self._autocommit() as session:
            found: Any = await session.scalar(_SEEN, {"consumer": self.name,
                                                      "event_id": event_id})
        return found is not None

    async def _retry_or_dead(self, delivery: Delivery, message_type: str,
                             exc: Exception) -> None:
        """A transient failure is retried for as long as it lasts, the last tier's delay
        capping the backoff: an outage delays messages, it never loses them. Any other
        failure gets every tier once, then the dead-letter queue."""
        tiers = len(self._transport.topology.retry_delays_ms)
        transient = is_transient(exc)
        if transient or delivery.attempt < tiers:
            tier = min(delivery.attempt, tiers - 1)
            log.warning("%s: %s failed (attempt %d, %s), retrying: %s", self.name,
                        message_type, delivery.attempt + 1,
                        "transient" if transient else "unexpected", error_without_message(exc))
            try:
                await delivery.retry(tier, repr(exc))
            except PublishError:
                log.warning("%s: could not schedule a retry (broker unavailable); the "
                            "message goes back to the queue", self.name)
                try:
                    await delivery.requeue()
                except Exception:  # the channel is gone: unacked, RabbitMQ redelivers it
                    log.warning("%s: could not requeue either; the broker will redeliver "
                                "it when the connection is back", self.name)
                return
            MESSAGES_RETRIED.labels(self.name, message_type).inc()
            return
        log.error("%s: %s failed %d times, dead-lettered: %s", self.name, message_type,
                  delivery.attempt + 1, error_without_message(exc))
        await self._dead(delivery, message_type, "retries_exhausted", repr(exc))
