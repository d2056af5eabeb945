"""Sending what was recorded, one recipient at a time, in the order it was asked for, through
the last gates (docs/architecture.md, "notifier").

**Order.** Sends to one recipient (business, address) are serialized by a PostgreSQL
advisory lock taken in a transaction that lasts across the provider call, so it holds
across replicas. Whoever holds it sends, earliest first (`requested_at`, then `seq`), every
message to that recipient that is recorded and unsent (`sending`) and was asked for no later
than its own, one per transaction; a message's own handler then finds it sent and stops.
A message not recorded yet cannot be waited for: order is kept among what notifier has
recorded (the outbox publishes a conversation's messages in order, and each is recorded as
soon as it is taken off the queue). An earlier message that cannot be sent now holds the
later one back (`WaitForEarlier`, retried like an outage) until its own handler has sent it
or given up on it; one recorded more than `ORDER_WAIT` before now no longer holds others.

**Gates**, checked under the lock, just before the call: a customer who opted out of the
business gets nothing (`suppressed`) but the opt-out/opt-in confirmation itself (purpose
`notice`); staff alerts are never held. On WhatsApp, free text only while the customer's
last message is less than 24 hours old, else the business's template (the adapter refuses
free text outside the window): when they last wrote is what the reply carried
(`customer_wrote_at`, recorded with the message).

**Outcomes** of a message's own send: sent (the row gets the provider's ids and any status
already reported for them); `Undeliverable` (failed with the reason, staff alerted once per
customer address; the handler returns); `Rejected`, or `Retryable` past the retry bounds
(`dead` with the reason, and `PermanentError` so the message is dead-lettered with it).

The `sent` mark commits with the lock's transaction: a crash after the provider took a
message and before that commit leaves it `sending`, and its redelivery sends it again (the
one window for a duplicate; no provider here takes an idempotency key). A row that says
`sent` is never sent again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.context import PermanentError
from libs.bus.faults import Transient
from libs.business.models import Business
from libs.business.profile import BusinessProfile
from libs.business.service import get_profile
from libs.clock import Clock
from libs.db.direct import Db, Direct, direct_transaction, engine_of
from libs.db.locks import lock_until_commit
from libs.logs import error_without_message, mask_phone
from libs.metrics import OUTBOUND_MESSAGES
from services.notifier.adapters.base import (
    OutboundMessage,
    ProviderError,
    Rejected,
    Retryable,
    Template,
    Undeliverable,
)
from services.notifier.deps import NotifierDeps
from services.notifier.models import (
    MESSAGE_LOG,
    OUTGOING_COLUMNS,
    MessageLog,
    Outgoing,
    Suppression,
)
from services.notifier.sending import GaveUp, as_sent, send_with_retries
from services.notifier.statuses import Unreachable, settle, stamp_sent

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
"""WhatsApp's customer-service window: free text for 24 hours after the customer's last
message (strictly less than 24 hours)."""
ORDER_WAIT = timedelta(minutes=10)
"""How long an unsent earlier message may hold later ones to the same recipient back."""
ALERTS = uuid.UUID("6f0b8a52-4c1e-4d7a-9a43-2f7d1f5e0c11")
"""Namespace of the staff alerts' event ids: one alert per (business, channel, address)."""


class WaitForEarlier(Transient):
    """An earlier message to this recipient could not be sent yet: this one waits (retried
    like an outage) so it does not overtake it."""


@dataclass(frozen=True)
class Place:
    """A recorded message's place in its recipient's line."""

    id: uuid.UUID
    business_id: str
    to: str
    requested_at: datetime
    seq: int

    @classmethod
    def of(cls, row: MessageLog | Outgoing | Row[Any]) -> Place:
        """From the message's row: loaded, or as a statement returned its columns."""
        return cls(row.id, row.business_id, row.to, row.requested_at or row.created_at,
                   row.seq)


@dataclass
class _Attempt:
    unreachable: list[Unreachable] = field(default_factory=list)
    error: PermanentError | None = None


def recipient_key(business_id: str, to: str) -> str:
    return f"notifier-recipient\x1f{business_id}\x1f{to}"


async def lock_recipient(db: Db, business_id: str, to: str) -> None:
    """Held to the end of the transaction (two recipients whose keys hash alike merely wait
    for each other)."""
    await lock_until_commit(db, recipient_key(business_id, to))


async def send_in_order(sessions: async_sessionmaker[AsyncSession], deps: NotifierDeps,
                        clock: Clock, mine: Place) -> None:
    """Send every recorded, unsent message to `mine`'s recipient asked for before it, then
    it. Raises `PermanentError` when its own send was given up on, `WaitForEarlier` when an
    earlier one could not be sent yet."""
    unreachable: list[Unreachable] = []
    error: PermanentError | None = None
    try:
        while True:
            async with direct_transaction(engine_of(sessions)) as db:
                await lock_recipient(db, mine.business_id, mine.to)
                found = await _next_unsent(db, mine, clock.now())
                if found is None:
                    break
                own = found.row.id == mine.id
                outcome = await _attempt(db, found, deps, clock, own=own)
            unreachable += outcome.unreachable
            error = outcome.error
            if own:
                break
    except Exception:
        await _alert_all(sessions, deps, clock, unreachable)
        raise
    await _alert_all(sessions, deps, clock, unreachable)
    if error is not None:
        raise error


@dataclass(frozen=True)
class _Unsent:
    """The next message to send, and whether its recipient opted out."""

    row: Outgoing
    opted_out: bool


async def _next_unsent(db: Db, mine: Place, now: datetime) -> _Unsent | None:
    """The earliest unsent message to `mine`'s recipient (locked), with whether that
    recipient opted out of the business (read in the same statement, after the recipient's
    lock)."""
    found = await _NEXT_UNSENT.first(db, {
        "business_id": mine.business_id, "to": mine.to, "requested_at": mine.requested_at,
        "seq": mine.seq, "id": mine.id, "oldest": now - ORDER_WAIT})
    if found is None:
        return None
    *columns, opted_out = found
    return _Unsent(Outgoing(*columns), bool(opted_out))


_M = MESSAGE_LOG.c
_ORDER_AT = func.coalesce(_M.requested_at, _M.created_at)
_NEXT_UNSENT = Direct.of(
    select(*OUTGOING_COLUMNS, func.coalesce(
        select(Suppression.opted_out)
        .where(Suppression.business_id == _M.business_id, Suppression.customer == _M.to)
        .scalar_subquery(), False))
    .where(_M.business_id == bindparam("business_id"),
           _M.to == bindparam("to"),
           _M.status == "sending",
           tuple_(_ORDER_AT, _M.seq) <= tuple_(
               bindparam("requested_at", type_=_M.requested_at.type),
               bindparam("seq", type_=_M.seq.type)),
           or_(_M.id == bindparam("id"),
               _ORDER_AT >= bindparam("oldest")))  # noqa: SIM300 (a column, not a constant)
    .order_by(_ORDER_AT, _M.seq).limit(1)
    .with_for_update(of=MESSAGE_LOG))
"""Built once, as every statement a reply pays for (docs/scaling.md, "Statements built
once"); the message's columns (`Outgoing`), not a loaded object, through psycopg."""


async def _attempt(db: Db, unsent: _Unsent, deps: NotifierDeps, clock: Clock,
                   *, own: bool) -> _Attempt:
    """Gate, send and record one message, inside the recipient's lock. Not `own` (an
    earlier message of another handler): one call, and anything but a definite outcome
    leaves it to its own handler (`WaitForEarlier`)."""
    now = clock.now()
    row = unsent.row
    if _held_back(row, unsent.opted_out):
        row.status, row.updated_at = "suppressed", now
        await settle(db, row)
        OUTBOUND_MESSAGES.labels(row.channel, "suppressed").inc()
        log.info("%s message to %s not sent: the customer opted out", row.channel,
                 mask_phone(row.to))
        return _Attempt()
    try:
        message = await _outbound(db, unsent, deps, now)
        if own:
            sent, calls = await send_with_retries(deps.channel, message, deps.retry, deps.sleep)
        else:
            sent, calls = as_sent(await deps.channel.send(message), message), 1
    except Undeliverable as exc:
        OUTBOUND_MESSAGES.labels(row.channel, type(exc).__name__).inc()
        log.warning("%s message to %s cannot be delivered: %s", row.channel,
                    mask_phone(row.to), exc.reason)
        row.status, row.error, row.updated_at = "failed", exc.reason, now
        row.attempts += 1
        await settle(db, row)
        found = [Unreachable(row.business_id, row.channel, row.to, exc.reason)]
        return _Attempt(unreachable=found if row.audience == "customer" else [])
    except (Rejected, GaveUp, Retryable) as exc:
        OUTBOUND_MESSAGES.labels(row.channel, type(exc).__name__).inc()
        if not own:
            raise WaitForEarlier(f"an earlier {row.channel} message to this recipient is "
                                 f"not sent yet: {exc.reason}") from exc
        row.status, row.error, row.updated_at = "dead", exc.reason, now
        row.attempts += exc.attempts if isinstance(exc, GaveUp) else 1
        await settle(db, row)
        return _Attempt(error=PermanentError(exc.reason))
    except Exception as exc:  # not a provider's answer (a bug, a lost connection): retried
        OUTBOUND_MESSAGES.labels(row.channel, type(exc).__name__).inc()
        raise
    OUTBOUND_MESSAGES.labels(row.channel, "sent").inc()
    # A report may have come before this commit: kept, and applied here.
    reported = await stamp_sent(db, row, list(sent.ids), sent.sent_as, calls, now)
    log.info("sent %s message to %s (%s)", row.channel, mask_phone(row.to), sent.sent_as)
    return _Attempt(unreachable=reported)


def _held_back(row: Outgoing, opted_out: bool) -> bool:
    """The last gate: nothing to a customer who opted out, but the confirmation itself."""
    return opted_out and row.audience == "customer" and row.purpose != "notice"


def window_open(customer_wrote_at: datetime | None, now: datetime) -> bool:
    """The customer wrote on WhatsApp less than 24 hours before `now`."""
    return customer_wrote_at is not None and now - customer_wrote_at < WINDOW


async def _outbound(db: Db, unsent: _Unsent, deps: NotifierDeps,
                    now: datetime) -> OutboundMessage:
    """The row as the adapter takes it. A business that is not imported has no sender (the
    real adapters refuse it; web chat and the recording channel need none). The sender and
    templates come from the profile this process holds (`get_profile`), not a query."""
    row = unsent.row
    profile = await get_profile(db, row.business_id)
    sender, window, template = None, True, None
    if row.channel == "sms" and profile is not None:
        sender = profile.channels.sms
    elif row.channel == "whatsapp":
        sender = profile.channels.whatsapp_phone_number_id if profile is not None else None
        window = window_open(row.customer_wrote_at, now)
        template = (template_for(profile, row.language) if profile is not None
                    else None) or deps.template
    return OutboundMessage(business_id=row.business_id, channel=row.channel, to=row.to,
                           text=row.body, audience=row.audience, purpose=row.purpose,
                           choices=tuple(row.choices or ()), sender=sender,
                           window_open=window, template=template,
                           requested_at=row.requested_at)


def template_for(profile: BusinessProfile, language: str | None = None) -> Template | None:
    """The business's WhatsApp template for a message written in `language`: the Spanish
    one (`channels.whatsapp_template_es`) for Spanish when it has one, else its template."""
    channels = profile.channels
    chosen = (channels.whatsapp_template_es if language == "es" else None) \
        or channels.whatsapp_template
    return None if chosen is None else Template(name=chosen.name, language=chosen.language)


# --- staff alerts ------------------------------------------------------------------------

_WHY = {
    "outside_window_no_template": "they last wrote more than 24 hours ago and no WhatsApp "
                                  "template is set up for messages after that",
}
_CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "web": "web chat"}


def alert_text(business_name: str, problem: Unreachable) -> str:
    why = _WHY.get(problem.reason) or (
        "the number cannot receive WhatsApp messages" if problem.channel == "whatsapp"
        else "the number cannot receive text messages (a landline, or not a valid mobile "
             "number)")
    return (f"{business_name}: a {_CHANNEL_NAMES.get(problem.channel, problem.channel)} "
            f"message to {problem.address} could not be delivered: {why} "
            f"({problem.reason}). Please reach them another way.")


def alert_event_id(problem: Unreachable) -> uuid.UUID:
    return uuid.uuid5(ALERTS, f"{problem.business_id}\x1f{problem.channel}\x1f"
                              f"{problem.address}")


async def alert_staff_once(sessions: async_sessionmaker[AsyncSession], deps: NotifierDeps,
                           clock: Clock, problem: Unreachable) -> None:
    """Tell the business's owner (SMS to `owner_phone`), once per customer address and
    channel, that a customer cannot be reached. Recorded in the message log like any
    message (audience staff). A failure to send it is logged and left in the log: it never
    fails the message that caused it."""
    async with sessions() as session, session.begin():
        business = await session.get(Business, problem.business_id)
        if business is None:
            return
        event_id = alert_event_id(problem)
        await session.execute(insert(MessageLog).values(
            id=uuid.uuid4(), event_id=event_id, business_id=problem.business_id,
            channel="sms", audience="staff", purpose="alert", to=business.owner_phone,
            body=alert_text(business.name, problem), status="sending",
            requested_at=clock.now()).on_conflict_do_nothing(
                index_elements=[MessageLog.event_id]))
        row = (await session.scalars(select(MessageLog).where(
            MessageLog.event_id == event_id))).one()
    if row.status != "sending":
        return  # alerted before
    try:
        await send_in_order(sessions, deps, clock, Place.of(row))
    except (PermanentError, ProviderError, Transient) as exc:
        log.error("the staff alert about an unreachable customer was not sent: %s",
                  error_without_message(exc))


async def _alert_all(sessions: async_sessionmaker[AsyncSession], deps: NotifierDeps,
                     clock: Clock, problems: list[Unreachable]) -> None:
    for problem in problems:
        await alert_staff_once(sessions, deps, clock, problem)
