"""Instants as integer microseconds, and business-local wall times read on DST days.

Split from services/fsm/availability.py, which compares thousands of candidate starts per
call: integers are exact and cheap to compare, where aware datetimes are neither (their
equality ignores `fold`, their arithmetic is wall-clock arithmetic). The rules for a wall
time in a spring-forward gap or a fall-back repeat are the ones availability's docstring states.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "DAY_MINUTES",
    "DAY_US",
    "EPOCH_ORDINAL",
    "MINUTE_US",
    "SECOND_US",
    "boundary_us",
    "from_us",
    "offset_us",
    "resolve",
    "to_us",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
DAY_US = 24 * 60 * MINUTE_US
DAY_MINUTES = 24 * 60
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def to_us(value: datetime) -> int:
    """Microseconds since the epoch, exact (no float rounding) for an aware datetime."""
    if value.tzinfo is None:  # (a tzinfo answering None fails the subtraction: TypeError)
        raise ValueError(f"expected an aware datetime, got naive {value.isoformat()}")
    since = value - _EPOCH  # spelled out: twice as fast as `// _US`, called per booking
    return (since.days * 86_400 + since.seconds) * SECOND_US + since.microseconds


def from_us(us: int, tz: ZoneInfo) -> datetime:
    """The instant as a local aware datetime (fold set right on fall-back day)."""
    return (_EPOCH + timedelta(microseconds=us)).astimezone(tz)


def resolve(wall: datetime, tz: ZoneInfo) -> tuple[int, bool]:
    """A naive local wall time (its `fold` respected) -> (instant in us, whether it exists).

    A wall time in a spring-forward gap does not exist; zoneinfo then reads it with the
    offset before the jump (fold=0), i.e. as the time the clock shows after the jump.
    """
    us = to_us(wall.replace(tzinfo=tz))
    back = from_us(us, tz).replace(tzinfo=None)
    return us, back == wall  # naive equality ignores fold


def offset_us(us: int, tz: ZoneInfo) -> int:
    """The zone's UTC offset at an instant: equal at both ends means no DST change between."""
    offset = from_us(us, tz).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset // _US


def boundary_us(day: date, at: time, tz: ZoneInfo) -> int:
    """The instant of a local opening/closing time: first occurrence if ambiguous; the moment
    of the jump if it falls in a gap (the wall clock passes it there)."""
    wall = datetime.combine(day, at)
    us, exists = resolve(wall, tz)
    if exists:
        return us
    # fold=1 reads the gap time with the offset after the jump: an instant before the jump.
    lo = to_us(wall.replace(tzinfo=tz, fold=1))
    hi = us
    after = offset_us(hi, tz)
    while hi - lo > SECOND_US:
        mid = (lo + hi) // 2
        if offset_us(mid, tz) == after:
            hi = mid
        else:
            lo = mid
    return hi
