"""Blocked times: the business's own busy times from its Google Calendar (calendar's
`calendar.busy.changed`), kept by fsm so availability can read them as data
(docs/architecture.md, "Calendar").

Each report replaces the business's whole set, unless a newer one (by `checked_at`) was
applied already: the upsert of `blocked_time_imports` takes that row's lock, so two replicas
apply two reports of one business one after the other, and the older one changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from libs.contracts import events as ev
from services.fsm.models import BlockedTime, BlockedTimeImport

log = logging.getLogger(__name__)


async def replace_blocked(session: AsyncSession, business_id: str,
                          report: ev.CalendarBusyChanged) -> bool:
    """Apply the report unless a newer one was; True when applied."""
    stmt = pg_insert(BlockedTimeImport).values(business_id=business_id,
                                               checked_at=report.checked_at)
    applied = await session.scalar(stmt.on_conflict_do_update(
        index_elements=[BlockedTimeImport.business_id],
        set_={"checked_at": stmt.excluded.checked_at},
        where=BlockedTimeImport.checked_at < stmt.excluded.checked_at)
        .returning(BlockedTimeImport.business_id))
    if applied is None:
        log.info("busy times of business %s checked at %s are older than those applied; "
                 "ignored", business_id, report.checked_at.isoformat())
        return False
    await session.execute(delete(BlockedTime).where(BlockedTime.business_id == business_id))
    rows = [{"business_id": business_id, "starts_at": r.starts_at, "ends_at": r.ends_at}
            for r in report.busy if r.ends_at > r.starts_at]
    if rows:
        await session.execute(insert(BlockedTime), rows)
    return True


def _blocked_array(column: InstrumentedAttribute[datetime]) -> ScalarSelect[Any]:
    order = (BlockedTime.starts_at, BlockedTime.ends_at)
    return (select(func.array_agg(aggregate_order_by(column, *order)))
            .where(BlockedTime.business_id == bindparam("business_id"),
                   BlockedTime.starts_at < bindparam("horizon"),
                   BlockedTime.ends_at > bindparam("window_start"))
            .scalar_subquery())


BLOCKED_COLUMNS = (_blocked_array(BlockedTime.starts_at), _blocked_array(BlockedTime.ends_at))
"""The business's blocked times overlapping `[window_start, horizon)` as two array columns
(starts, ends, in the same order), so fsm's turn opening reads them in the statement it
sends anyway: a round trip fewer. Parameters: `business_id`, `window_start`, `horizon`."""
_BLOCKED = select(*BLOCKED_COLUMNS)


def as_ranges(starts: list[datetime] | None,
              ends: list[datetime] | None) -> list[tuple[datetime, datetime]]:
    """`BLOCKED_COLUMNS`' two arrays as `(start, end)` pairs, in order."""
    return list(zip(starts or [], ends or [], strict=True))


async def blocked_between(session: AsyncSession, business_id: str, start: datetime,
                          end: datetime) -> list[tuple[datetime, datetime]]:
    """The business's blocked times overlapping `[start, end)`, in order."""
    starts, ends = (await session.execute(_BLOCKED, {
        "business_id": business_id, "window_start": start, "horizon": end})).one()
    return as_ranges(starts, ends)
