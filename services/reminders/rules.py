"""When a booking's reminders are due: pure, no I/O (docs/architecture.md, "Reminders").

For each offset of the profile's `reminders.before`, in order:

1. **Due** at the start less the offset, in real elapsed time: a 24h reminder is exactly 24
   hours before, so in a week the clocks change it is 23 or 25 hours earlier on the wall.
2. **Already past** when the booking was confirmed or moved (`now`): skipped (`past_due`).
3. **In quiet hours** (a local `[start, end)` window that may wrap midnight): moved to the
   end of that quiet period, the first instant the wall clock reads `end` (the end of a
   gap, when the clocks jump over it). If that is less than 30 minutes before the start,
   it is skipped (`quiet_hours`).
4. **Two at the same instant** (both moved to the end of the same quiet period): only the
   one with the shorter offset is kept, since it describes the time left better; the other
   is skipped (`same_time`). The customer gets one message, not two at once.

Every instant given and returned is aware; those returned are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from libs.business.profile import BusinessProfile
from libs.business.profile_scalars import Duration

SkipReason = Literal["past_due", "quiet_hours", "same_time"]
MIN_LEAD_AFTER_QUIET = timedelta(minutes=30)
"""A reminder moved out of quiet hours must still come at least this long before the start."""


@dataclass(frozen=True)
class Planned:
    """One offset's reminder: `due_at` when it is sent, or, when `skipped`, when it would
    have been (kept so an operator can see why no reminder went out)."""

    offset: str
    delta: timedelta
    due_at: datetime
    skipped: SkipReason | None = None


def plan(starts_at: datetime, offsets: Sequence[Duration], quiet_hours: tuple[time, time],
         tz: ZoneInfo, now: datetime) -> list[Planned]:
    """The reminders of a booking starting at `starts_at`, confirmed or moved at `now`."""
    if starts_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("plan needs aware instants")
    start = starts_at.astimezone(UTC)
    planned = [_one(start, offset, quiet_hours, tz, now) for offset in offsets]
    return _one_per_instant(planned)


def plan_for(profile: BusinessProfile, starts_at: datetime, now: datetime) -> list[Planned]:
    rules = profile.reminders
    return plan(starts_at, rules.before, rules.quiet_hours, profile.tz, now)


def _one(start: datetime, offset: Duration, quiet_hours: tuple[time, time], tz: ZoneInfo,
         now: datetime) -> Planned:
    due = start - offset.delta  # aware UTC arithmetic: real elapsed time
    if due <= now:
        return Planned(offset.text, offset.delta, due, "past_due")
    if not in_quiet_hours(due.astimezone(tz).time(), quiet_hours):
        return Planned(offset.text, offset.delta, due)
    moved = quiet_period_end(due, quiet_hours, tz)
    if start - moved < MIN_LEAD_AFTER_QUIET:
        return Planned(offset.text, offset.delta, moved, "quiet_hours")
    return Planned(offset.text, offset.delta, moved)


def _one_per_instant(planned: list[Planned]) -> list[Planned]:
    kept: dict[datetime, Planned] = {}
    for p in planned:
        if p.skipped is None and (p.due_at not in kept or p.delta < kept[p.due_at].delta):
            kept[p.due_at] = p
    return [p if p.skipped is not None or kept[p.due_at] is p
            else Planned(p.offset, p.delta, p.due_at, "same_time") for p in planned]


def in_quiet_hours(at: time, window: tuple[time, time]) -> bool:
    """`at` (local wall time) lies in `[start, end)`, which wraps midnight if start > end."""
    start, end = window
    if start < end:
        return start <= at < end
    return at >= start or at < end


def quiet_period_end(due: datetime, window: tuple[time, time], tz: ZoneInfo) -> datetime:
    """The end of the quiet period `due` falls in: the first instant after `due` at which
    the local wall clock reads the window's end, on the day that period ends."""
    local = due.astimezone(tz)
    start, end = window
    day = local.date()
    if start > end and local.time() >= start:  # the evening part of a window past midnight
        day += timedelta(days=1)
    return first_instant_at(day, end, tz, after=due)


def first_instant_at(day: date, wall: time, tz: ZoneInfo, *, after: datetime) -> datetime:
    """The first instant after `after` whose local date and time in `tz` are `day` `wall`;
    when the clocks jump over `wall` that day (spring forward), the instant of the jump,
    the first one whose wall time is past it."""
    naive = datetime.combine(day, wall)
    for fold in (0, 1):  # an hour repeated (fall back): its first occurrence, then the second
        at = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if at.astimezone(tz).replace(tzinfo=None) == naive and at > after:
            return at
    # A wall time that does not exist: with fold=1 it is read with the offset after the jump
    # (an instant before it), with fold=0 with the one before (an instant after it). The
    # jump lies between; find it to the second.
    lo = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    hi = int(naive.replace(tzinfo=tz, fold=0).timestamp())
    if hi <= lo:
        raise ValueError(f"no instant reads {naive.isoformat()} in {tz.key} after {after}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)
