"""Scheduling and claiming durable timers (docs/architecture.md, "Timers")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Table,
    Text,
    any_,
    bindparam,
    column,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.clock import Clock
from libs.db.direct import Db, Direct, direct_autocommit, engine_of
from libs.timers.models import Timer

LEASE = timedelta(minutes=2)
"""How long a claimed timer is left to its ticker before another may claim it."""


@dataclass(frozen=True)
class NewTimer:
    """One timer to create or move (`schedule_all`)."""

    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


_TABLE = cast(Table, Timer.__table__)  # Core statements: no ORM bookkeeping


_NEW = (func.jsonb_to_recordset(bindparam("timers", type_=JSONB))
        .table_valued(column("kind", Text), column("key", Text),
                      column("due_at", DateTime(timezone=True)), column("payload", JSONB))
        .render_derived(with_types=True).alias("new"))
_ADD = insert(_TABLE).from_select(
    ["id", "owner", "kind", "key", "business_id", "due_at", "payload"],
    select(func.gen_random_uuid(), bindparam("owner", type_=_TABLE.c.owner.type), _NEW.c.kind,
           _NEW.c.key, bindparam("business_id", type_=_TABLE.c.business_id.type),
           _NEW.c.due_at, _NEW.c.payload))
_SCHEDULE = _ADD.on_conflict_do_update(
    index_elements=[_TABLE.c.owner, _TABLE.c.key],
    set_={"due_at": _ADD.excluded.due_at, "payload": _ADD.excluded.payload,
          "kind": _ADD.excluded.kind, "fired_at": None, "claimed_until": None})
"""Any number of timers of one owner and business, upserted by key: one statement, built
once. The timers go as one JSON parameter: a multi-row VALUES cannot be cached, so it was
compiled again on every call, which cost more CPU than the rest of a turn's writes
(docs/scaling.md, "What a statement costs in Python")."""


_CANCEL = delete(_TABLE).where(_TABLE.c.owner == bindparam("owner"),
                               _TABLE.c.key == any_(bindparam("keys", type_=ARRAY(Text))))
"""Built once, for any number of keys, on the table: on the mapped class a DELETE takes the
ORM's bulk path, which looks for the rows in the session and builds the statement again on
every call (docs/scaling.md, "What a statement costs in Python")."""
_SCHEDULE_ALL, _CANCEL_ALL = Direct.of(_SCHEDULE), Direct.of(_CANCEL)


async def schedule_all(db: Db, *, owner: str, business_id: str,
                       timers: Sequence[NewTimer]) -> None:
    """Create or move each timer by its key, in one statement (idempotent: a second
    schedule replaces the first)."""
    if not timers:
        return
    await _SCHEDULE_ALL.rowcount(db, _schedule_params(owner, business_id, timers))


def _schedule_params(owner: str, business_id: str,
                     timers: Sequence[NewTimer]) -> dict[str, Any]:
    return {"owner": owner, "business_id": business_id, "timers": [
        {"kind": t.kind, "key": t.key, "due_at": _aware(t.due_at).isoformat(),
         "payload": t.payload} for t in timers]}


def _aware(at: datetime) -> datetime:
    """A due time must say its offset: in JSON it is text, read back as `timestamptz`."""
    if at.tzinfo is None:
        raise ValueError("a timer's due time needs a time zone")
    return at


async def schedule(db: Db, *, owner: str, kind: str, key: str, business_id: str,
                   due_at: datetime, payload: dict[str, Any] | None = None) -> None:
    """Create or move the timer `key` (idempotent: a second schedule replaces the first)."""
    await schedule_all(db, owner=owner, business_id=business_id,
                       timers=[NewTimer(kind, key, due_at, payload or {})])


async def cancel_all(db: Db, *, owner: str, keys: Sequence[str]) -> None:
    """Remove these timers, in one statement (a key with no timer is no error)."""
    await _CANCEL_ALL.rowcount(db, {"owner": owner, "keys": list(keys)})


async def cancel(db: Db, *, owner: str, key: str) -> None:
    await cancel_all(db, owner=owner, keys=[key])


DROP_AND_SCHEDULE = _SCHEDULE.add_cte(_CANCEL.cte("dropped"))
"""Timers dropped by key and others upserted, in one statement (a data-modifying CTE; the
keys of the two never overlap: `TimerChanges` keeps one change per key). Its parameters
(`TimerChanges.taken`) are `owner`, `business_id`, `timers` and `keys`: a statement that
carries it as a CTE of its own (fsm's conversation write) names none of its own so."""
_DROP_AND_SCHEDULE = Direct.of(DROP_AND_SCHEDULE)


@dataclass
class TimerChanges:
    """The timers one transaction sets and drops, written together when it is done
    (`write`): one statement however many, where one each cost a round trip. The last
    change of a key wins."""

    _changes: dict[str, NewTimer | None] = field(default_factory=dict)

    def set(self, timer: NewTimer) -> None:
        self._changes[timer.key] = timer

    def drop(self, key: str) -> None:
        self._changes[key] = None

    def taken(self, *, owner: str, business_id: str) -> dict[str, Any] | None:
        """The changes as `DROP_AND_SCHEDULE`'s parameters (either list may be empty), and
        forgotten here; None when nothing changed. For a caller that sends them in a
        statement of its own."""
        if not self._changes:
            return None
        setting = [t for t in self._changes.values() if t is not None]
        dropping = [key for key, t in self._changes.items() if t is None]
        self._changes.clear()
        return {**_schedule_params(owner, business_id, setting), "keys": dropping}

    async def write(self, db: Db, *, owner: str, business_id: str) -> None:
        """One statement for any mix, none when nothing changed."""
        params = self.taken(owner=owner, business_id=business_id)
        if params is not None:
            await _DROP_AND_SCHEDULE.rowcount(db, params)


_CLAIMABLE = (
    select(_TABLE.c.id)
    .where(_TABLE.c.owner == bindparam("owner"), _TABLE.c.fired_at.is_(None),
           _TABLE.c.due_at <= bindparam("now", type_=_TABLE.c.due_at.type),
           or_(_TABLE.c.claimed_until.is_(None), _TABLE.c.claimed_until <= bindparam("now")))
    .order_by(_TABLE.c.due_at, _TABLE.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True))
_CLAIM = Direct.of(
    update(_TABLE).where(_TABLE.c.id.in_(_CLAIMABLE.scalar_subquery()))
    .values(claimed_until=bindparam("until", type_=_TABLE.c.claimed_until.type))
    .returning(*_TABLE.c))
"""The claim in one statement on its own (no `BEGIN` and `COMMIT` round trips, no session):
every process that owns timers sends it every second, idle or not."""


async def claim_due(session_factory: async_sessionmaker[AsyncSession], clock: Clock, *,
                    owner: str, limit: int = 100, lease: timedelta = LEASE) -> Sequence[Timer]:
    """Claim up to `limit` of `owner`'s due timers for `lease`, oldest first.

    FOR UPDATE SKIP LOCKED keeps two tickers off the same rows while they claim; the lease
    keeps them off while the first one fires them. The timers come back as objects no
    session holds: their handlers read them, and `mark_fired` writes by id.
    """
    now = clock.now()
    async with direct_autocommit(engine_of(session_factory)) as db:
        rows = await _CLAIM.all(db, {"owner": owner, "now": now, "limit": limit,
                                     "until": now + lease})
    return [Timer(**row._asdict()) for row in sorted(rows, key=lambda r: (r.due_at, r.id))]


_MARK_FIRED = Direct.of(
    update(Timer).where(Timer.id == bindparam("timer_id"), Timer.fired_at.is_(None),
                        Timer.due_at == bindparam("due_at", type_=Timer.due_at.type))
    .values(fired_at=bindparam("now", type_=Timer.fired_at.type)).returning(Timer.id))


async def mark_fired(db: Db, timer: Timer, now: datetime) -> bool:
    """In the firing transaction: True for the one transaction that fires this timer."""
    fired = await _MARK_FIRED.scalar(db, {"timer_id": timer.id, "due_at": timer.due_at,
                                          "now": now})
    return fired is not None


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest unfired timer of any owner can next be claimed (the scenario clock
    jumps to it)."""
    due: datetime | None = await session.scalar(
        select(func.min(func.greatest(Timer.due_at, func.coalesce(Timer.claimed_until,
                                                                  Timer.due_at))))
        .where(Timer.fired_at.is_(None)))
    return due
