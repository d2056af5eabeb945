"""notifier: deliver what fsm asked for through the customer's channel, and log it.

The attempt is recorded first (a `sending` row keyed by the command's event id, in its own
transaction, and the command's only record: it takes no inbox row), then sent in its
recipient's order through the last gates (`services/notifier/delivery.py`), and the row
says `sent` with the provider's id. A redelivery that finds the row `sent` (or failed,
suppressed) never sends again; one that finds it `sending` sends it (the provider may have
taken it just before a crash: delivery is at least once, in that narrow window only). A
row marked `dead` is sent again only by a replay (`receptionist dead replay notifier`).

It also keeps what the gates read: who opted out, and every delivery status a provider
reported. WhatsApp's 24-hour window comes with each reply (`customer_wrote_at`: fsm keeps
when the customer last wrote there) and is recorded with it, so notifier does not consume
the customers' messages.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import bindparam, case, delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.bus.context import HandlerContext, HandlerMap
from libs.contracts.commands import ReplyRequested
from libs.contracts.events import CustomerOptedIn, CustomerOptedOut, DeliveryStatus
from libs.db.direct import Direct, direct_transaction, engine_of
from services.notifier.delivery import Place, alert_staff_once, send_in_order
from services.notifier.deps import NotifierDeps
from services.notifier.models import MESSAGE_LOG, MessageStatus, Suppression
from services.notifier.statuses import record_report

log = logging.getLogger(__name__)

__all__ = ["HANDLERS", "NotifierDeps", "prune_notifier"]


_LOG = MESSAGE_LOG.c
_WAS_DEAD = _LOG.status == "dead"
_RECORD = Direct.of(insert(MESSAGE_LOG).values(
    id=bindparam("id"), event_id=bindparam("event_id"), business_id=bindparam("business_id"),
    channel=bindparam("channel"), audience=bindparam("audience"), to=bindparam("to"),
    body=bindparam("body"), status="sending", purpose=bindparam("purpose"),
    choices=bindparam("choices"), requested_at=bindparam("requested_at"),
    language=bindparam("language"), customer_wrote_at=bindparam("customer_wrote_at"),
).on_conflict_do_update(
    index_elements=[_LOG.event_id],
    set_={"status": case((_WAS_DEAD, "sending"), else_=_LOG.status),
          "error": case((_WAS_DEAD, None), else_=_LOG.error)},
).returning(_LOG.status, _LOG.id, _LOG.business_id, _LOG.to, _LOG.requested_at,
            _LOG.created_at, _LOG.seq))
"""Built once, on the table, run through psycopg (docs/scaling.md, "Statements built once",
"What a statement costs in Python", "Statements through psycopg"): it returns the message's
status and its place in its recipient's line."""


async def on_reply_requested(ctx: HandlerContext, command: ReplyRequested,
                             deps: NotifierDeps) -> None:
    assert ctx.envelope is not None
    event_id = ctx.envelope.event_id
    ctx.skip_inbox()  # the message log, keyed by the event id, is this command's record
    async with ctx.statement() as db:
        # Recorded, or found (and locked) if a delivery before this one recorded it: one
        # statement. A row marked dead before is being replayed: it is tried again.
        attempt = await _RECORD.first(db, {
            "id": uuid.uuid4(), "event_id": event_id, "business_id": ctx.business_id,
            "channel": command.channel, "audience": command.audience, "to": command.to,
            "body": command.text, "purpose": command.purpose,
            "choices": list(command.choices), "requested_at": ctx.occurred_at,
            "language": command.language, "customer_wrote_at": command.customer_wrote_at})
    assert attempt is not None  # an upsert returns its row, inserted or updated
    if attempt.status != "sending":
        log.info("%s message %s is %s already; not sending it again", command.channel,
                 event_id, attempt.status)
        return
    await send_in_order(ctx.sessions, deps, ctx.clock, Place.of(attempt))


async def on_delivery_status(ctx: HandlerContext, event: DeliveryStatus,
                             deps: NotifierDeps) -> None:
    """Keep the report and move its message forward (never back); a report that the
    customer cannot be reached tells staff, once."""
    async with direct_transaction(engine_of(ctx.sessions)) as db:
        unreachable = await record_report(
            db, channel=event.channel, provider_message_id=event.provider_message_id,
            status=event.status, error_code=event.error_code, reported_at=event.reported_at,
            now=ctx.clock.now())
    for problem in unreachable:
        await alert_staff_once(ctx.sessions, deps, ctx.clock, problem)


async def _suppress(ctx: HandlerContext, customer: str, opted_out: bool,
                    at: datetime) -> None:
    async with ctx.write() as session:
        added = insert(Suppression).values(business_id=ctx.business_id, customer=customer,
                                           opted_out=opted_out, changed_at=at)
        applied = await session.scalar(added.on_conflict_do_update(
            index_elements=[Suppression.business_id, Suppression.customer],
            set_={"opted_out": added.excluded.opted_out,
                  "changed_at": added.excluded.changed_at},
            where=Suppression.changed_at <= added.excluded.changed_at)
            .returning(Suppression.customer))
    if applied is None:
        log.info("an opt-%s older than the customer's last choice; ignored",
                 "out" if opted_out else "in")


async def on_customer_opted_out(ctx: HandlerContext, event: CustomerOptedOut,
                                deps: NotifierDeps) -> None:
    """The last gate closes: nothing more goes to this customer at this business but the
    confirmation fsm sends (purpose `notice`)."""
    await _suppress(ctx, event.customer, True, event.at)


async def on_customer_opted_in(ctx: HandlerContext, event: CustomerOptedIn,
                               deps: NotifierDeps) -> None:
    await _suppress(ctx, event.customer, False, event.at)


async def prune_notifier(session: AsyncSession, cutoff: datetime) -> int:
    """Provider reports older than the cutoff (opt-outs are kept for good)."""
    reports = await session.execute(delete(MessageStatus).where(
        MessageStatus.recorded_at < cutoff))
    return int(getattr(reports, "rowcount", 0) or 0)


HANDLERS: HandlerMap[NotifierDeps] = {
    ReplyRequested: on_reply_requested,
    DeliveryStatus: on_delivery_status,
    CustomerOptedOut: on_customer_opted_out,
    CustomerOptedIn: on_customer_opted_in,
}
