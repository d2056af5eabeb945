"""Delivery statuses: they only move forward, arrive in any order, and may beat our own
record of the message (docs/architecture.md, "Delivery statuses").

Rank: sending < queued < sent < failed = undelivered < delivered < read. A status applies
only when it ranks above the row's, so a late `sent` never overwrites `delivered`; a
failure overrides `sent` but not `delivered` or `read` (the message arrived: a failure
reported after that is stale), and a `delivered` or `read` after a failure is still
recorded (the provider saw it arrive after all). `suppressed`, `dead` and our own `failed`
(never accepted, so no provider id) are final.

Every report is kept in `notifier_message_statuses` by provider id. When a row gets its
provider id, the reports already kept for it are applied; both sides take a transaction
lock on the provider id first, so a report committed while the row is being marked is
never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import String, Table, Text, any_, bindparam, column, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.sql.elements import ColumnClause

from libs.db.direct import Db, Direct
from libs.db.locks import lock_until_commit, xact_lock
from services.notifier.adapters import twilio_sms, whatsapp
from services.notifier.models import MESSAGE_LOG, OUTGOING_COLUMNS, MessageStatus, Outgoing

RANK: dict[str, int] = {"sending": 0, "queued": 1, "sent": 2, "failed": 3, "undelivered": 3,
                        "delivered": 4, "read": 5}
REPORTING_CHANNELS = frozenset({"sms", "whatsapp"})
"""Channels whose providers report on what was sent (Twilio's and Meta's callbacks); web
chat has no provider, so nothing can be reported for its messages."""
FINAL = frozenset({"suppressed", "dead"})
FAILURES = frozenset({"failed", "undelivered"})

_UNREACHABLE: dict[str, frozenset[str]] = {
    "whatsapp": whatsapp.UNREACHABLE_CODES,
    "sms": twilio_sms.UNREACHABLE_STATUS_CODES,
}


def unreachable(channel: str, status: str, error_code: str | None) -> bool:
    """A failure report saying this recipient cannot get messages on this channel (not on
    WhatsApp, a landline, a number that does not exist): staff are told, once."""
    return (status in FAILURES and error_code is not None
            and error_code in _UNREACHABLE.get(channel, frozenset()))


def advances(current: str, reported: str) -> bool:
    """Whether a report of `reported` moves a row that says `current`."""
    if current in FINAL:
        return False
    return RANK.get(reported, -1) > RANK.get(current, len(RANK))


def _describe(channel: str, status: str, error_code: str | None) -> str:
    return f"{channel} reported {status}" + (f", error {error_code}" if error_code else "")


def apply(row: Outgoing, status: str, error_code: str | None, now: datetime) -> bool:
    """Move the row to `status` if that is forward; True when it moved."""
    if row.provider_message_id is None or not advances(row.status, status):
        return False
    row.status = status
    if status in FAILURES:
        row.error = _describe(row.channel, status, error_code)
    row.updated_at = now
    return True


_STATUSES = cast(Table, MessageStatus.__table__).c
_KEPT = Direct.of(select(_STATUSES.status, _STATUSES.error_code).where(
    _STATUSES.provider_message_id == any_(bindparam("ids", type_=ARRAY(String)))))
"""The reports kept for a message's provider ids: their columns, one statement for any
number of ids (an `IN` list is rendered again on every call), through psycopg."""


def _lock_key(provider_message_id: str) -> str:
    return f"notifier-status\x1f{provider_message_id}"


async def lock_provider_id(db: Db, provider_message_id: str) -> None:
    """Held to the end of the transaction: a report and the row getting that id wait for
    each other."""
    await lock_until_commit(db, _lock_key(provider_message_id))


_KEY: ColumnClause[str] = column("key", String)
_LOG = MESSAGE_LOG.c
_STAMP_SENT = Direct.of(
    update(MESSAGE_LOG).where(_LOG.id == bindparam("row_id"))
    .values(status="sent", error=None, updated_at=bindparam("now"),
            provider_message_id=bindparam("first_id"), provider_message_ids=bindparam("ids"),
            sent_as=bindparam("as_"), attempts=_LOG.attempts + bindparam("calls"))
    .returning(_LOG.attempts,
               select(func.count(xact_lock(_KEY)))
               .select_from(func.unnest(bindparam("lock_keys",
                                                  type_=ARRAY(String))).alias("key"))
               .scalar_subquery()))
"""Built once, on the table (docs/scaling.md, "What a statement costs in Python"). Its RETURNING
takes the provider ids' locks, so the `_KEPT` read after it sees every report committed
before them (a statement reads what was committed when it began: the read cannot be in the
same statement)."""


_SETTLE = Direct.of(update(MESSAGE_LOG).where(_LOG.id == bindparam("row_id")).values(
    status=bindparam("new_status"), error=bindparam("new_error"),
    updated_at=bindparam("new_updated_at"), attempts=bindparam("new_attempts")))


async def settle(db: Db, row: Outgoing) -> None:
    """Write the message's status, error and attempts as this transaction left them."""
    await _SETTLE.rowcount(db, {
        "row_id": row.id, "new_status": row.status, "new_error": row.error,
        "new_updated_at": row.updated_at, "new_attempts": row.attempts})


async def stamp_sent(db: Db, row: Outgoing, ids: list[str], sent_as: str,
                     calls: int, now: datetime) -> list[Unreachable]:
    """Mark `row` sent with its provider ids in one statement that also takes the ids'
    locks when its channel reports (`lock_provider_id`), then apply the reports kept for
    them. Two round trips, where a lock per id and the ORM's own update took three."""
    reports = row.channel in REPORTING_CHANNELS
    stamped = await _STAMP_SENT.first(db, {
        "row_id": row.id, "now": now, "first_id": ids[0], "ids": ids, "as_": sent_as,
        "calls": calls, "lock_keys": [_lock_key(i) for i in ids] if reports else []})
    assert stamped is not None  # the row is locked by this transaction: it is there
    attempts = stamped[0]
    row.status, row.error, row.updated_at = "sent", None, now
    row.provider_message_id, row.attempts = ids[0], attempts
    if not reports:
        return []
    found = await apply_kept_reports(db, row, ids, now)
    if row.status != "sent":  # a report came first: the row moves on from sent at once
        await settle(db, row)
    return found


@dataclass(frozen=True)
class Unreachable:
    """A customer a provider said cannot be reached: staff are alerted once about it."""

    business_id: str
    channel: str
    address: str
    reason: str


_STATUS_TABLE = cast(Table, MessageStatus.__table__)
_KEEP_REPORT = Direct.of(insert(_STATUS_TABLE).values(
    provider_message_id=bindparam("provider_message_id"), status=bindparam("status"),
    channel=bindparam("channel"), error_code=bindparam("error_code"),
    reported_at=bindparam("reported_at")).on_conflict_do_nothing())
_REPORTED_FOR = Direct.of(
    select(*OUTGOING_COLUMNS)
    .where(or_(_LOG.provider_message_id == bindparam("provider_message_id"),
               _LOG.provider_message_ids.contains(bindparam("as_array", type_=ARRAY(Text)))))
    .with_for_update())
"""A report is kept, and the messages it is about are read (locked) as columns
(`Outgoing`), each written back in one statement if the report moved it (`settle`): every
message sent over SMS or WhatsApp gets two or three reports."""


async def record_report(db: Db, *, channel: str, provider_message_id: str,
                        status: str, error_code: str | None, reported_at: datetime,
                        now: datetime) -> list[Unreachable]:
    """Keep one provider report and apply it to its message, if we have it yet."""
    await lock_provider_id(db, provider_message_id)
    await _KEEP_REPORT.rowcount(db, {
        "provider_message_id": provider_message_id, "status": status, "channel": channel,
        "error_code": error_code, "reported_at": reported_at})
    found = []
    for row in await _REPORTED_FOR.all(db, {"provider_message_id": provider_message_id,
                                            "as_array": [provider_message_id]}):
        message = Outgoing(*row)
        if apply(message, status, error_code, now):
            await settle(db, message)
        found += _unreachable(message, status, error_code)
    return found


async def apply_kept_reports(db: Db, row: Outgoing, ids: Iterable[str],
                             now: datetime) -> list[Unreachable]:
    """The row was just given these provider ids: apply what was reported for them before.
    Call it after taking each id's lock (`stamp_sent`), in the transaction that sets them."""
    kept = await _KEPT.all(db, {"ids": list(ids)})
    found = []
    for report in sorted(kept, key=lambda r: RANK.get(r.status, -1)):
        apply(row, report.status, report.error_code, now)
        found += _unreachable(row, report.status, report.error_code)
    return found


def _unreachable(row: Outgoing, status: str, error_code: str | None) -> list[Unreachable]:
    """The customer a report says cannot be reached, for staff to hear of (none for a
    message to staff, or a report that says nothing of the kind)."""
    if row.audience != "customer" or not unreachable(row.channel, status, error_code):
        return []
    return [Unreachable(row.business_id, row.channel, row.to,
                        _describe(row.channel, status, error_code))]
