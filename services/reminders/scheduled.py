"""The dispatcher: due reminders become `reminder.due` messages, each exactly once
(docs/architecture.md, "Reminders").

One transaction per batch: claim up to `batch_size` due pending rows, oldest first,
`FOR UPDATE SKIP LOCKED`, and mark them sent (one `UPDATE ... RETURNING`); write one outbox
row per reminder (one multi-row `INSERT`); commit. The relay publishes them afterwards.

- **Two dispatchers** never claim the same row: a row locked by one is skipped by the other,
  and once committed it is no longer pending (PostgreSQL re-checks the condition of a row
  it locks after waiting for it).
- **A crash** before the commit leaves the rows pending and writes no outbox row; after it,
  the rows are sent and their outbox rows committed with them, and the relay publishes them
  whenever it next runs (its own crash between publish and commit republishes, which the
  consumer's inbox absorbs: docs/architecture.md, "The outbox relay").
- The event id is derived from the reminder id, and the outbox refuses a second row with
  the same one, so no path can make a second, distinct message for one reminder.

A reminder whose appointment has already started when it is claimed (the service was down
meanwhile) is marked `skipped` instead of sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import Integer, Text

from libs.clock import Clock
from libs.contracts.envelope import deterministic_event_id
from libs.contracts.events import ReminderDue
from libs.contracts.registry import make_envelope
from libs.logs import log_context
from libs.metrics import REMINDERS_DISPATCHED
from libs.runtime.definition import ScheduledJob, Wiring
from services.reminders.handlers import OWNER, RemindersDeps
from services.reminders.models import Reminder

CLAIM = text("""
    UPDATE reminders AS r
       SET status = CASE WHEN r.starts_at > :now THEN 'sent' ELSE 'skipped' END,
           sent_at = CASE WHEN r.starts_at > :now THEN :now END,
           reason = CASE WHEN r.starts_at > :now THEN NULL ELSE 'started' END
      FROM (SELECT id FROM reminders
             WHERE status = 'pending' AND due_at <= :now
             ORDER BY due_at
             LIMIT :limit
               FOR UPDATE SKIP LOCKED) AS due
     WHERE r.id = due.id
    RETURNING r.id, r.business_id, r.booking_id, r.customer, r.channel, r.service,
              r.starts_at, r."offset", r.status
""").bindparams(bindparam("now", type_=DateTime(timezone=True)),
                bindparam("limit", type_=Integer))

TO_OUTBOX = text("""
    INSERT INTO outbox (event_id, type, business_id, envelope)
    SELECT * FROM unnest(:event_ids, :types, :business_ids, :envelopes)
    ON CONFLICT (event_id) DO NOTHING
""").bindparams(bindparam("event_ids", type_=ARRAY(UUID(as_uuid=True))),
                bindparam("types", type_=ARRAY(Text)),
                bindparam("business_ids", type_=ARRAY(Text)),
                bindparam("envelopes", type_=ARRAY(JSONB)))


def reminder_event_id(reminder_id: uuid.UUID) -> uuid.UUID:
    """The one event id a reminder's `reminder.due` can ever have."""
    return deterministic_event_id(ReminderDue.TYPE, str(reminder_id))


async def dispatch_due(sessions: async_sessionmaker[AsyncSession], clock: Clock, *,
                       batch_size: int) -> int:
    """Send everything due now, a batch per transaction; returns how many were sent."""
    sent = 0
    with log_context(service=OWNER):
        while True:
            claimed, batch_sent = await _dispatch_batch(sessions, clock, batch_size)
            sent += batch_sent
            if claimed < batch_size:
                return sent


async def _dispatch_batch(sessions: async_sessionmaker[AsyncSession], clock: Clock,
                          batch_size: int) -> tuple[int, int]:
    now = clock.now()
    async with sessions() as session, session.begin():
        rows = (await session.execute(CLAIM, {"now": now, "limit": batch_size})).all()
        due = [row for row in rows if row.status == "sent"]
        if due:
            outbox = _outbox_rows(due, now)
            await session.execute(TO_OUTBOX, outbox)
    if due:
        REMINDERS_DISPATCHED.labels("sent").inc(len(due))
    if len(rows) > len(due):
        REMINDERS_DISPATCHED.labels("skipped").inc(len(rows) - len(due))
    return len(rows), len(due)


def _outbox_rows(due: list[Any], now: datetime) -> dict[str, list[Any]]:
    """The outbox columns, one list per column (what `unnest` reads)."""
    columns: dict[str, list[Any]] = {"event_ids": [], "types": [], "business_ids": [],
                                     "envelopes": []}
    for row in due:
        envelope = make_envelope(
            ReminderDue(booking_id=row.booking_id, reminder_id=row.id, offset=row.offset,
                        customer=row.customer, channel=row.channel, service=row.service,
                        starts_at=row.starts_at),
            business_id=row.business_id, occurred_at=now, event_id=reminder_event_id(row.id))
        columns["event_ids"].append(envelope.event_id)
        columns["types"].append(envelope.type)
        columns["business_ids"].append(envelope.business_id)
        columns["envelopes"].append(envelope.model_dump(mode="json"))
    return columns


async def next_due(session: AsyncSession) -> datetime | None:
    """The earliest pending reminder's due time (the scenario clock stops there)."""
    due: datetime | None = await session.scalar(
        select(func.min(Reminder.due_at)).where(Reminder.status == "pending"))
    return due


async def _run(wiring: Wiring, deps: RemindersDeps) -> int:
    return await dispatch_due(wiring.sessions, wiring.clock, batch_size=deps.batch_size)


DISPATCH_DUE: ScheduledJob[RemindersDeps] = ScheduledJob(name="dispatch_due", run=_run,
                                                         next_due=next_due)
