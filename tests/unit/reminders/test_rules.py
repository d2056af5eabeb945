"""When reminders are due (services/reminders/rules.py): real elapsed time before the start,
skipped when already past, moved out of quiet hours (or skipped within 30 minutes of the
start), one per instant."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from libs.business.profile import load_profile
from libs.business.profile_scalars import Duration, parse_duration
from services.reminders.rules import (
    Planned,
    first_instant_at,
    in_quiet_hours,
    plan,
    plan_for,
)
from tests.helpers import FIXTURE_BUSINESSES

NY = ZoneInfo("America/New_York")
NIGHT = (time(21, 0), time(8, 0))  # wraps midnight
LUNCH = (time(12, 0), time(13, 0))
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def offsets(*texts: str) -> list[Duration]:
    return [parse_duration(t) for t in texts]


def one(starts_at: datetime, offset: str, *, quiet: tuple[time, time] = NIGHT,
        now: datetime = LONG_AGO) -> Planned:
    [planned] = plan(starts_at, offsets(offset), quiet, NY, now)
    return planned


# --- real elapsed time ---------------------------------------------------------------------


def test_due_times_are_the_offsets_before_the_start() -> None:
    start = local(2026, 12, 3, 10, 0)
    planned = plan(start, offsets("24h", "2h"), NIGHT, NY, now=local(2026, 12, 1, 9, 5))
    assert [(p.offset, p.due_at, p.skipped) for p in planned] == [
        ("24h", local(2026, 12, 2, 10, 0).astimezone(UTC), None),
        ("2h", local(2026, 12, 3, 8, 0).astimezone(UTC), None),  # quiet hours end at 8:00
    ]
    assert all(p.due_at.tzinfo is UTC for p in planned)


def test_spring_forward_a_24h_reminder_is_25_wall_clock_hours_earlier() -> None:
    """2026-03-08 02:00 EST becomes 03:00 EDT: the day before at 10:00 is 23 hours away."""
    start = local(2026, 3, 8, 10, 0)
    p = one(start, "24h")
    assert start - p.due_at == timedelta(hours=24)  # elapsed
    assert p.due_at.astimezone(NY).replace(tzinfo=None) == datetime(2026, 3, 7, 9, 0)
    assert p.skipped is None


def test_fall_back_a_24h_reminder_is_23_wall_clock_hours_earlier() -> None:
    """2026-11-01 02:00 EDT becomes 01:00 EST: the day before at 10:00 is 25 hours away."""
    start = local(2026, 11, 1, 10, 0)
    p = one(start, "24h")
    assert start - p.due_at == timedelta(hours=24)
    assert p.due_at.astimezone(NY).replace(tzinfo=None) == datetime(2026, 10, 31, 11, 0)


def test_a_two_day_reminder_across_the_change_is_48_elapsed_hours() -> None:
    start = local(2026, 3, 9, 10, 0)
    p = one(start, "2d")
    assert start - p.due_at == timedelta(hours=48)
    assert p.due_at.astimezone(NY).replace(tzinfo=None) == datetime(2026, 3, 7, 9, 0)


# --- already past --------------------------------------------------------------------------


def test_a_booking_made_inside_the_reminder_window_skips_what_is_past() -> None:
    start = local(2026, 12, 3, 15, 0)
    planned = plan(start, offsets("24h", "2h"), NIGHT, NY, now=local(2026, 12, 3, 11, 0))
    assert [(p.offset, p.skipped) for p in planned] == [("24h", "past_due"), ("2h", None)]
    assert planned[0].due_at == (start - timedelta(hours=24)).astimezone(UTC)
    assert planned[1].due_at == local(2026, 12, 3, 13, 0).astimezone(UTC)


def test_a_reminder_due_exactly_now_is_past() -> None:
    start = local(2026, 12, 3, 15, 0)
    assert one(start, "2h", now=local(2026, 12, 3, 13, 0)).skipped == "past_due"
    assert one(start, "2h", now=local(2026, 12, 3, 12, 59)).skipped is None


# --- quiet hours -----------------------------------------------------------------------------


def test_the_morning_part_of_a_night_window_moves_to_its_end_the_same_day() -> None:
    p = one(local(2026, 12, 3, 9, 30), "2h")  # 7:30 is quiet
    assert p.due_at == local(2026, 12, 3, 8, 0).astimezone(UTC) and p.skipped is None


def test_the_evening_part_of_a_night_window_moves_to_the_next_morning() -> None:
    p = one(local(2026, 12, 3, 10, 0), "12h")  # 22:00 the evening before
    assert p.due_at == local(2026, 12, 3, 8, 0).astimezone(UTC) and p.skipped is None


def test_quiet_hours_include_their_start_and_exclude_their_end() -> None:
    at_end = one(local(2026, 12, 3, 10, 0), "2h")  # 8:00: no longer quiet
    assert at_end.due_at == local(2026, 12, 3, 8, 0).astimezone(UTC)
    before_start = one(local(2026, 12, 3, 22, 59), "2h")  # 20:59: not yet quiet
    assert before_start.due_at == local(2026, 12, 3, 20, 59).astimezone(UTC)
    at_start = one(local(2026, 12, 3, 23, 0), "2h")  # 21:00: quiet, and 8:00 is too late
    assert at_start.skipped == "quiet_hours"
    assert in_quiet_hours(time(21, 0), NIGHT) and not in_quiet_hours(time(8, 0), NIGHT)
    assert in_quiet_hours(time(0, 0), NIGHT) and in_quiet_hours(time(7, 59), NIGHT)
    assert not in_quiet_hours(time(20, 59), NIGHT)


def test_a_window_that_does_not_wrap_moves_to_its_end_the_same_day() -> None:
    p = one(local(2026, 12, 3, 14, 30), "2h", quiet=LUNCH)  # 12:30
    assert p.due_at == local(2026, 12, 3, 13, 0).astimezone(UTC) and p.skipped is None
    p = one(local(2026, 12, 3, 14, 30), "3h", quiet=LUNCH)  # 11:30: not quiet
    assert p.due_at == local(2026, 12, 3, 11, 30).astimezone(UTC)
    assert not in_quiet_hours(time(13, 0), LUNCH) and in_quiet_hours(time(12, 0), LUNCH)
    assert not in_quiet_hours(time(23, 0), LUNCH)


def test_moved_reminders_must_still_come_30_minutes_before_the_start() -> None:
    kept = one(local(2026, 12, 3, 8, 30), "2h")  # 6:30 -> 8:00, exactly 30 minutes before
    assert kept.skipped is None and kept.due_at == local(2026, 12, 3, 8, 0).astimezone(UTC)
    late = one(local(2026, 12, 3, 8, 29), "2h")  # 8:00 would be 29 minutes before
    assert late.skipped == "quiet_hours"
    past = one(local(2026, 12, 3, 7, 0), "2h")  # the appointment is inside quiet hours
    assert past.skipped == "quiet_hours"


def test_a_reminder_not_moved_is_kept_however_close_to_the_start() -> None:
    p = one(local(2026, 12, 3, 15, 0), "15m")
    assert p.skipped is None and p.due_at == local(2026, 12, 3, 14, 45).astimezone(UTC)


# --- quiet hours across a clock change ------------------------------------------------------


def test_quiet_hours_ending_in_the_skipped_hour_end_at_the_jump() -> None:
    """2026-03-08: 2:30 never happens in New York; the quiet period ends at 3:00 EDT."""
    start = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)  # 6:00 EDT
    p = one(start, "5h", quiet=(time(22, 0), time(2, 30)))  # 0:00 EST
    assert p.skipped is None
    assert p.due_at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert p.due_at.astimezone(NY).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 0)


def test_quiet_hours_ending_in_the_repeated_hour_end_at_its_next_occurrence() -> None:
    """2026-11-01: 1:00-2:00 happens twice in New York."""
    quiet = (time(22, 0), time(1, 30))
    start = datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # 9:00 EST
    first = one(start, "10h", quiet=quiet)  # 0:00 EDT -> the first 1:30 (EDT)
    assert first.due_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    second = one(start, "7h45m", quiet=quiet)  # 1:15 EST, the second 1:15 -> 1:30 EST
    assert second.due_at == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert second.due_at > start - timedelta(hours=7, minutes=45)


def test_the_first_instant_at_a_wall_time_that_exists() -> None:
    after = datetime(2026, 12, 1, tzinfo=UTC)
    assert first_instant_at(datetime(2026, 12, 3).date(), time(8, 0), NY, after=after) == \
        datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


# --- one message per instant ----------------------------------------------------------------


def test_two_reminders_moved_to_the_same_instant_keep_the_shorter_offset() -> None:
    start = local(2026, 12, 3, 9, 0)
    planned = plan(start, offsets("24h", "12h", "10h"), NIGHT, NY, now=LONG_AGO)
    morning = local(2026, 12, 3, 8, 0).astimezone(UTC)
    assert [(p.offset, p.due_at, p.skipped) for p in planned] == [
        ("24h", local(2026, 12, 2, 9, 0).astimezone(UTC), None),
        ("12h", morning, "same_time"),  # 21:00 -> 8:00
        ("10h", morning, None),  # 23:00 -> 8:00: the one kept
    ]


def test_a_skipped_reminder_does_not_hide_one_at_the_same_instant() -> None:
    start = local(2026, 12, 3, 9, 0)
    # The 10h one lands at 8:00; the 1h one is 8:00 too, and already past at 8:00.
    planned = plan(start, offsets("10h", "1h"), NIGHT, NY, now=local(2026, 12, 3, 8, 0))
    assert [(p.offset, p.skipped) for p in planned] == [("10h", "past_due"),
                                                        ("1h", "past_due")]
    planned = plan(start, offsets("10h", "1h"), NIGHT, NY, now=local(2026, 12, 2, 20, 0))
    assert [(p.offset, p.skipped) for p in planned] == [("10h", "same_time"), ("1h", None)]


# --- inputs ---------------------------------------------------------------------------------


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        plan(datetime(2026, 12, 3, 10, 0), offsets("2h"), NIGHT, NY, now=LONG_AGO)


def test_plan_for_reads_the_profile() -> None:
    salon = load_profile(FIXTURE_BUSINESSES / "salon.yaml")
    start = datetime(2026, 12, 3, 10, 0, tzinfo=salon.tz)
    planned = plan_for(salon, start, now=LONG_AGO)
    assert [p.offset for p in planned] == ["24h", "2h"]
    assert [start - p.due_at for p in planned] == [timedelta(hours=24), timedelta(hours=2)]
