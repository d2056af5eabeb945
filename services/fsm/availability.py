"""Availability: may this service start at this time, and if not, why and what else is free.

Pure: no I/O and no clock reads (`now` is a parameter), so the state machine, the scenario
runner and the benchmark all get the same answer for the same inputs.

Time (docs/architecture.md, "Time"): instants are compared as UTC; the business zone is used
only to read wall-clock rules (hours, grid, cutoff, dates) and what the customer meant.
Durations and the minimum notice are real elapsed time, so DST days behave like every other day:

- a local wall time that does not exist (spring-forward gap) is not bookable (`no_such_time`);
- a naive ambiguous wall time (fall-back) means what its `fold` says, and `fold=0` (the
  default: the first occurrence) unless the caller chose otherwise. Opening hours and the
  cutoff read an ambiguous boundary as its first occurrence too, and a boundary that falls in
  a gap as the moment the clocks jump (the wall clock passes it there);
- an appointment ends `duration` of real time after it starts (60 min from 1:30 AM EDT on
  fall-back day ends at 1:30 AM EST) and must end by the real instant of closing;
- the slot grid is wall-clock minutes from local midnight; on fall-back day both occurrences
  of a grid time are real, distinct starts and both are offered.

Reason precedence (`check` reports the first that applies): the instant, then the date, then
the time of day, then the calendar of bookings:

    in_the_past > too_far > closed_day > past_cutoff
    > no_such_time > outside_hours > too_soon > off_grid > fully_booked

so a customer hears the most fundamental problem first ("we are closed that day" beats "that
time is off our 15-minute grid"), and a date-level reason tells the caller to drop the date
(`Refusal.about_date`). An off-grid start is refused, never snapped: the system does not
silently change what the customer asked for; `nearest_free_starts` offers the grid times
around it instead.

Capacity N is resources 1..N (docs/architecture.md, "No double booking"); a booking holds one
resource. Busy bookings are indexed once per call (`BusyIndex`: per resource, sorted starts and
running maximum of ends, and the busy time as disjoint ranges) so one candidate costs
O(capacity * log n) instead of a scan of every booking, and a day's free starts come from each
resource's gaps at once (`free_start_ranges`) rather than candidate by candidate.

The index lives in `busy_index`, the instant and wall-clock arithmetic in `wallclock`; this
module holds the rules and the public API (`Busy` and `BusyIndex` are re-exported).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar, Literal, TypeAlias
from zoneinfo import ZoneInfo

from libs.business.profile import BusinessProfile, Service
from services.fsm.busy_index import Busy, BusyIndex, as_index
from services.fsm.wallclock import (
    DAY_MINUTES,
    DAY_US,
    EPOCH_ORDINAL,
    MINUTE_US,
    boundary_us,
    from_us,
    offset_us,
    resolve,
    to_us,
)

__all__ = [
    "DATE_REASONS",
    "PARTS_OF_DAY",
    "REASON_PRECEDENCE",
    "Bookable",
    "Busy",
    "BusyIndex",
    "PartOfDay",
    "Reason",
    "Refusal",
    "Verdict",
    "Window",
    "blocked",
    "check",
    "free_resource",
    "free_starts",
    "free_starts_in_window",
    "free_starts_on_day",
    "nearest_free_starts",
]

Reason = Literal["in_the_past", "too_far", "closed_day", "past_cutoff", "no_such_time",
                 "outside_hours", "too_soon", "off_grid", "fully_booked"]

REASON_PRECEDENCE: tuple[Reason, ...] = (
    "in_the_past", "too_far", "closed_day", "past_cutoff",
    "no_such_time", "outside_hours", "too_soon", "off_grid", "fully_booked",
)
"""The order in which `check` looks for a reason; the first that applies is reported."""

DATE_REASONS: frozenset[Reason] = frozenset({"too_far", "closed_day", "past_cutoff"})
"""Refusals about the date itself: the caller drops the date, not only the time."""

PartOfDay = Literal["morning", "afternoon", "evening"]

PARTS_OF_DAY: dict[PartOfDay, tuple[time, time | None]] = {
    "morning": (time(0, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), None),
}
"""Local start-time windows `[start, end)` for vague requests; `None` is the end of the day."""

Window: TypeAlias = PartOfDay | tuple[time, time | None]
"""A part of the day or a local `[start, end)` window on the *start* time (end None: midnight)."""


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True, slots=True)
class Bookable:
    """The start is bookable: hold `resource` over `[start, end)` (local aware datetimes)."""

    start: datetime
    end: datetime
    resource: int
    ok: ClassVar[Literal[True]] = True

    @property
    def start_utc(self) -> datetime:
        """What to store (`timestamptz`)."""
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Refusal:
    """The start is refused for `reason`.

    `start` is the request read in the business zone (aware). For a wall time that does not
    exist it is the instant the clock shows after the jump (02:30 -> 03:30), which is what the
    request's distance to other times is measured from. `today` is the business-local date
    of `now`, kept so `about_date` needs no clock.
    """

    reason: Reason
    start: datetime
    today: date
    ok: ClassVar[Literal[False]] = False

    @property
    def about_date(self) -> bool:
        """True when the date itself cannot be booked (the caller forgets the date too)."""
        return self.reason in DATE_REASONS or (
            self.reason == "in_the_past" and self.start.date() < self.today)


Verdict: TypeAlias = Bookable | Refusal

# --------------------------------------------------------------------------- wall clock


def _wall_minute(local: datetime) -> int:
    """Minutes since local midnight as the clock shows them: the slot grid is wall-clock."""
    return local.hour * 60 + local.minute


def _window_minutes(window: Window | None) -> tuple[int, int]:
    """A window as wall minutes `[lo, hi)` of the start time."""
    if window is None:
        return 0, DAY_MINUTES
    if isinstance(window, str):
        if window not in PARTS_OF_DAY:
            raise ValueError(f"unknown part of day {window!r}")
        start, end = PARTS_OF_DAY[window]
    else:
        start, end = window

    def ceil_minutes(t: time) -> int:
        seconds = t.hour * 3600 + t.minute * 60 + t.second + (1 if t.microsecond else 0)
        return -(-seconds // 60)

    hi = DAY_MINUTES if end is None else ceil_minutes(end)
    return ceil_minutes(start), hi


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class _Rules:
    """Everything a decision needs, computed once per call."""

    profile: BusinessProfile
    tz: ZoneInfo
    slot: int
    duration_us: int
    now_us: int
    earliest_us: int
    today: date
    last_day: date
    cutoff_passed: bool
    busy: BusyIndex

    def date_reason(self, day: date) -> Reason | None:
        """Why no start on `day` can be booked, whatever the time (None: the day is open)."""
        if day > self.last_day:
            return "too_far"
        if self.profile.is_closed(day):
            return "closed_day"
        if day == self.today and self.cutoff_passed:
            return "past_cutoff"
        return None

    def intervals_us(self, day: date) -> list[tuple[int, int]]:
        return [(boundary_us(day, open_, self.tz), boundary_us(day, close, self.tz))
                for open_, close in self.profile.intervals_on(day.weekday())]

    def free_on(self, day: date, lo_min: int = 0, hi_min: int = DAY_MINUTES) -> list[int]:
        """Bookable free starts (UTC us, chronological) on `day` whose wall start minute is in
        `[lo_min, hi_min)`."""
        if day < self.today or self.date_reason(day) is not None:
            return []
        out: list[int] = []
        slow: list[tuple[int, int]] = []
        dur, slot, earliest, free = (self.duration_us, self.slot, self.earliest_us,
                                     self.busy.free_resource_us)
        for open_us, close_us in self.intervals_us(day):
            offset = offset_us(open_us, self.tz)
            if offset != offset_us(close_us, self.tz):
                slow.append((open_us, close_us))  # a DST transition inside: see below
                continue
            # One offset all along: wall minute m is the instant base + m minutes.
            base = (day.toordinal() - EPOCH_ORDINAL) * DAY_US - offset
            first, last = max(open_us, earliest), close_us - dur
            ranges = self.busy.free_start_ranges(first, last, dur) if first <= last else []
            if ranges is None:  # bookings beyond capacity: each start asked on its own
                ranges = [(first, last)]
                checked = False
            else:
                checked = True
            for a, b in ranges:  # the grid starts inside each free range
                m = max(lo_min, -(-(a - base) // MINUTE_US))
                m = -(-m // slot) * slot
                stop = min(hi_min - 1, (b - base) // MINUTE_US)
                while m <= stop:
                    s = base + m * MINUTE_US
                    if checked or free(s, s + dur) is not None:
                        out.append(s)
                    m += slot
        if slow:
            for s in self._grid_instants(day, lo_min, hi_min):
                if s < earliest:
                    continue
                for open_us, close_us in slow:
                    if open_us <= s and s + dur <= close_us and free(s, s + dur) is not None:
                        out.append(s)
                        break
            out.sort()
        return out

    def _grid_instants(self, day: date, lo_min: int, hi_min: int) -> list[int]:
        """Every real instant whose wall time on `day` is a grid time in the window: none for
        a time in a gap, two for a repeated one (slow; only on a DST transition day)."""
        midnight = datetime.combine(day, time(0))
        instants: list[int] = []
        m = -(-lo_min // self.slot) * self.slot
        while m < min(hi_min, DAY_MINUTES):
            wall = midnight + timedelta(minutes=m)
            first, exists = resolve(wall, self.tz)
            if exists:
                instants.append(first)
                second, _ = resolve(wall.replace(fold=1), self.tz)
                if second != first:
                    instants.append(second)
            m += self.slot
        return instants


def _rules(profile: BusinessProfile, service: Service, now: datetime,
           busy: Iterable[Busy] | BusyIndex) -> _Rules:
    tz = profile.tz
    now_us = to_us(now)
    local_now = from_us(now_us, tz)
    rules = profile.booking
    cutoff = rules.same_day_cutoff
    return _Rules(
        profile=profile, tz=tz, slot=rules.slot_minutes,
        duration_us=service.duration_minutes * MINUTE_US,
        now_us=now_us, earliest_us=now_us + rules.min_notice_minutes * MINUTE_US,
        today=local_now.date(), last_day=local_now.date() + timedelta(days=rules.max_days_ahead),
        cutoff_passed=cutoff is not None and local_now.time() >= cutoff,
        busy=as_index(busy, rules.capacity),
    )


def _read_request(requested: datetime, tz: ZoneInfo) -> tuple[int, date, datetime, bool]:
    """-> (instant us, local date asked for, local aware reading, whether the wall time exists).

    A naive value is a business-local wall time; an aware one is an exact instant."""
    if requested.tzinfo is None:
        us, exists = resolve(requested, tz)
        return us, requested.date(), from_us(us, tz), exists
    us = to_us(requested)
    local = from_us(us, tz)
    return us, local.date(), local, True


# --------------------------------------------------------------------------- public API


def check(profile: BusinessProfile, service: Service, requested_local_start: datetime,
          now: datetime, busy: Iterable[Busy] | BusyIndex, *, on_grid: bool = True) -> Verdict:
    """Can `service` start at `requested_local_start`? Bookable with the lowest free resource,
    or the first reason in `REASON_PRECEDENCE` that applies.

    `requested_local_start`: naive = wall time in the business zone (fold respected, default
    the first occurrence), aware = that instant. `now`: aware. `busy`: live bookings only
    (leave out the booking being rescheduled). `on_grid=False` for a second service that
    starts when the first ends, wherever that falls.
    """
    r = _rules(profile, service, now, busy)
    start_us, day, local, exists = _read_request(requested_local_start, r.tz)

    def refuse(reason: Reason) -> Refusal:
        return Refusal(reason=reason, start=local, today=r.today)

    if start_us < r.now_us:
        return refuse("in_the_past")
    date_reason = r.date_reason(day)
    if date_reason is not None:
        return refuse(date_reason)
    if not exists:
        return refuse("no_such_time")
    end_us = start_us + r.duration_us
    if not any(open_us <= start_us and end_us <= close_us
               for open_us, close_us in r.intervals_us(day)):
        return refuse("outside_hours")
    if start_us < r.earliest_us:
        return refuse("too_soon")
    if on_grid and (local.second or local.microsecond or _wall_minute(local) % r.slot):
        return refuse("off_grid")
    resource = r.busy.free_resource_us(start_us, end_us)
    if resource is None:
        return refuse("fully_booked")
    return Bookable(start=local, end=from_us(end_us, r.tz), resource=resource)


def nearest_free_starts(profile: BusinessProfile, service: Service,
                        requested_local_start: datetime, now: datetime,
                        busy: Iterable[Busy] | BusyIndex, limit: int = 3) -> list[datetime]:
    """Up to `limit` bookable free starts nearest to the request, chronological (local aware).

    Nearest by real elapsed distance, looking earlier and later, a tie going to the later
    start (docs/conversations.md, "Refusals"): the requested day's own free starts when it
    has any, else those of the days around it, from today to `max_days_ahead` (so a closed
    Saturday is answered with Friday evening as readily as with Tuesday morning).
    """
    if limit <= 0:
        return []
    r = _rules(profile, service, now, busy)
    req_us, day, _, _ = _read_request(requested_local_start, r.tz)

    def nearest(starts: list[int]) -> list[datetime]:
        picked = sorted(starts, key=lambda s: (abs(s - req_us), req_us - s))[:limit]
        return [from_us(s, r.tz) for s in sorted(picked)]

    same_day = r.free_on(day)
    if same_day:
        return nearest(same_day)
    found: list[int] = []
    span = max((day - r.today).days, (r.last_day - day).days)
    for offset in range(1, span + 1):
        for other in (day - timedelta(days=offset), day + timedelta(days=offset)):
            if r.today <= other <= r.last_day:
                found += r.free_on(other)
        # A start `offset + 1` days away is more than `offset` days from the request: once
        # `limit` starts are at least that close, farther days cannot win.
        if len(found) >= limit and sorted(abs(s - req_us) for s in found)[limit - 1] <= (
                offset * DAY_US):
            break
    return nearest(found)


def free_starts(profile: BusinessProfile, service: Service, first_day: date, last_day: date,
                now: datetime, busy: Iterable[Busy] | BusyIndex, *,
                window: Window | None = None, limit: int | None = None) -> list[datetime]:
    """Every bookable free start from `first_day` to `last_day` (local dates, inclusive),
    chronological, optionally only those starting in `window` each day; at most `limit`."""
    r = _rules(profile, service, now, busy)
    lo, hi = _window_minutes(window)
    found: list[int] = []
    cursor = max(first_day, r.today)
    end = min(last_day, r.last_day)
    while cursor <= end and (limit is None or len(found) < limit):
        found += r.free_on(cursor, lo, hi)
        cursor += timedelta(days=1)
    if limit is not None:
        found = found[:max(limit, 0)]
    return [from_us(s, r.tz) for s in found]


def free_starts_in_window(profile: BusinessProfile, service: Service, local_date: date,
                          window: Window, now: datetime, busy: Iterable[Busy] | BusyIndex,
                          limit: int | None = None) -> list[datetime]:
    """Free starts on one day within a part of the day or a `(start, end)` local window, for
    vague requests ("tomorrow afternoon"): the customer is offered times, never a fixed hour
    picked for them. The window bounds the start time; the appointment may run past it."""
    return free_starts(profile, service, local_date, local_date, now, busy,
                       window=window, limit=limit)


def free_starts_on_day(profile: BusinessProfile, service: Service, local_date: date,
                       now: datetime, busy: Iterable[Busy] | BusyIndex,
                       limit: int | None = None) -> list[datetime]:
    """Free starts on a day named without a time ("sometime Saturday")."""
    return free_starts(profile, service, local_date, local_date, now, busy, limit=limit)


def blocked(ranges: Iterable[tuple[datetime, datetime]], capacity: int) -> list[Busy]:
    """Times the business has blocked (its own calendar's busy times, a staff member's
    personal appointment: docs/architecture.md, "Calendar") as busy entries: every resource
    1..capacity taken over each `[start, end)`, so no start overlapping one is free."""
    return [(resource, start, end) for start, end in ranges
            for resource in range(1, capacity + 1)]


def free_resource(profile: BusinessProfile, start: datetime, end: datetime,
                  busy: Iterable[Busy] | BusyIndex) -> int | None:
    """Lowest resource 1..capacity free over `[start, end)` (aware), or None when all are
    taken. Only capacity: the booking rules are `check`'s job."""
    return as_index(busy, profile.booking.capacity).free_resource_us(to_us(start), to_us(end))
