"""Availability rules: each booking rule, the reason precedence, nearest free times, vague
windows, capacity, and DST days in the business zone (spec/business.md, spec/scenarios.md)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from libs.business.profile import BusinessProfile, Service, parse_profile
from services.fsm.availability import (
    DATE_REASONS,
    REASON_PRECEDENCE,
    Bookable,
    Busy,
    BusyIndex,
    Refusal,
    Verdict,
    Window,
    check,
    free_resource,
    free_starts,
    free_starts_in_window,
    free_starts_on_day,
    nearest_free_starts,
)

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")


def make_profile(hours: dict[str, list[list[str]]], *, tz: str = "America/New_York",
                 duration: int = 60, **booking: Any) -> BusinessProfile:
    """A small profile through the real parser (so defaults and validation are the real ones)."""
    return parse_profile({
        "id": "test", "name": "Test", "address": "1 Main St", "phone": "+12125550100",
        "owner_phone": "+12125550199", "timezone": tz, "currency": "usd", "hours": hours,
        "booking": booking,
        "services": [{"name": "Visit", "duration_minutes": duration, "price": "10.00"}],
    })


EVERY_DAY = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def svc(profile: BusinessProfile, name: str = "Visit") -> Service:
    service = profile.service_by_name(name)
    assert service is not None
    return service


YMDHM = tuple[int, int, int, int, int]


def at(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A local wall time as an aware UTC instant (what `now` and busy bookings are)."""
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def busy(tz: ZoneInfo, resource: int, start: YMDHM, minutes: int) -> Busy:
    s = at(tz, *start)
    return (resource, s, s + timedelta(minutes=minutes))


def reason(verdict: Verdict) -> str:
    return verdict.reason if isinstance(verdict, Refusal) else "ok"


def hm(values: list[datetime]) -> list[str]:
    return [v.strftime("%m-%d %H:%M") for v in values]


# Tue 2026-12-01 09:00 in New York: the scenarios' usual start.
SALON_NOW = at(NY, 2026, 12, 1, 9, 0)


# --------------------------------------------------------------------------- each rule


def test_bookable_gives_local_times_and_the_lowest_resource(salon: BusinessProfile) -> None:
    verdict = check(salon, svc(salon, "Haircut"), datetime(2026, 12, 2, 15, 0), SALON_NOW, [])
    assert isinstance(verdict, Bookable) and verdict.ok
    assert verdict.resource == 1
    assert verdict.start == datetime(2026, 12, 2, 15, 0, tzinfo=NY)
    assert verdict.end == datetime(2026, 12, 2, 15, 45, tzinfo=NY)
    assert verdict.start_utc == datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
    assert verdict.end_utc.tzinfo is UTC


def test_aware_request_is_read_in_the_business_zone(salon: BusinessProfile) -> None:
    verdict = check(salon, svc(salon, "Haircut"), datetime(2026, 12, 2, 20, 0, tzinfo=UTC),
                    SALON_NOW, [])
    assert isinstance(verdict, Bookable)
    assert verdict.start.tzinfo == NY and verdict.start.hour == 15


def test_closed_weekday(salon: BusinessProfile) -> None:
    verdict = check(salon, svc(salon, "Haircut"), datetime(2026, 12, 6, 11, 0), SALON_NOW, [])
    assert isinstance(verdict, Refusal) and not verdict.ok
    assert verdict.reason == "closed_day" and verdict.about_date
    assert reason(check(salon, svc(salon, "Haircut"), datetime(2026, 12, 7, 11, 0),
                        SALON_NOW, [])) == "closed_day"  # Monday


def test_closed_date(salon: BusinessProfile) -> None:
    # Friday 2026-12-25 is a normal Friday by weekday, but a closed date.
    assert reason(check(salon, svc(salon, "Haircut"), datetime(2026, 12, 25, 11, 0),
                        SALON_NOW, [])) == "closed_day"
    assert reason(check(salon, svc(salon, "Haircut"), datetime(2026, 12, 18, 11, 0),
                        SALON_NOW, [])) == "ok"


def test_before_open_and_end_past_close(salon: BusinessProfile) -> None:
    haircut = svc(salon, "Haircut")  # 45 min; Fri 09:00-19:00
    assert reason(check(salon, haircut, datetime(2026, 12, 4, 8, 45), SALON_NOW, [])) \
        == "outside_hours"
    assert reason(check(salon, haircut, datetime(2026, 12, 4, 9, 0), SALON_NOW, [])) == "ok"
    assert reason(check(salon, haircut, datetime(2026, 12, 4, 18, 15), SALON_NOW, [])) == "ok"
    assert reason(check(salon, haircut, datetime(2026, 12, 4, 18, 30), SALON_NOW, [])) \
        == "outside_hours"
    assert reason(check(salon, haircut, datetime(2026, 12, 4, 19, 0), SALON_NOW, [])) \
        == "outside_hours"  # scenario 05


def test_clinic_lunch_break(clinic: BusinessProfile) -> None:
    now = at(LA, 2027, 3, 5, 10, 0)
    evaluation = svc(clinic, "Initial Evaluation")  # 60 min; Mon 08-12, 13-17
    assert reason(check(clinic, evaluation, datetime(2027, 3, 8, 11, 30), now, [])) \
        == "outside_hours"
    assert reason(check(clinic, evaluation, datetime(2027, 3, 8, 12, 30), now, [])) \
        == "outside_hours"
    assert reason(check(clinic, evaluation, datetime(2027, 3, 8, 11, 0), now, [])) == "ok"
    assert reason(check(clinic, evaluation, datetime(2027, 3, 8, 13, 0), now, [])) == "ok"
    assert reason(check(clinic, svc(clinic, "Follow-up Visit"), datetime(2027, 3, 8, 11, 30),
                        now, [])) == "ok"  # 30 min fits before lunch


def test_slot_grid_is_refused_not_snapped(salon: BusinessProfile) -> None:
    haircut = svc(salon, "Haircut")
    assert reason(check(salon, haircut, datetime(2026, 12, 2, 14, 10), SALON_NOW, [])) \
        == "off_grid"
    assert reason(check(salon, haircut, datetime(2026, 12, 2, 14, 15, 30), SALON_NOW, [])) \
        == "off_grid"
    assert hm(nearest_free_starts(salon, haircut, datetime(2026, 12, 2, 14, 10), SALON_NOW,
                                  [])) == ["12-02 14:00", "12-02 14:15", "12-02 14:30"]


def test_grid_counts_from_local_midnight_not_from_opening() -> None:
    profile = make_profile({"mon": [["09:10", "12:00"]]}, slot_minutes=20, duration=20)
    now = at(NY, 2026, 12, 1, 9, 0)
    assert reason(check(profile, svc(profile), datetime(2026, 12, 7, 9, 10), now, [])) \
        == "off_grid"
    starts = free_starts_on_day(profile, svc(profile), date(2026, 12, 7), now, [])
    assert hm(starts)[:2] == ["12-07 09:20", "12-07 09:40"]


def test_min_notice(salon: BusinessProfile) -> None:
    haircut = svc(salon, "Haircut")
    now = at(NY, 2026, 12, 1, 13, 10)  # scenario 07
    assert reason(check(salon, haircut, datetime(2026, 12, 1, 14, 0), now, [])) == "too_soon"
    assert reason(check(salon, haircut, datetime(2026, 12, 1, 14, 15), now, [])) == "ok"
    assert hm(nearest_free_starts(salon, haircut, datetime(2026, 12, 1, 14, 0), now, [])) \
        == ["12-01 14:15", "12-01 14:30", "12-01 14:45"]
    exactly = at(NY, 2026, 12, 1, 13, 15)
    assert reason(check(salon, haircut, datetime(2026, 12, 1, 14, 15), exactly, [])) == "ok"
    assert reason(check(salon, haircut, datetime(2026, 12, 1, 14, 15),
                        exactly + timedelta(seconds=1), [])) == "too_soon"


def test_same_day_cutoff_at_and_after(salon: BusinessProfile) -> None:
    beard = svc(salon, "Beard Trim")
    today_5pm = datetime(2026, 12, 1, 17, 0)
    assert reason(check(salon, beard, today_5pm, at(NY, 2026, 12, 1, 14, 59), [])) == "ok"
    at_cutoff = check(salon, beard, today_5pm, at(NY, 2026, 12, 1, 15, 0), [])
    assert isinstance(at_cutoff, Refusal) and at_cutoff.reason == "past_cutoff"
    assert at_cutoff.about_date
    assert reason(check(salon, beard, today_5pm, at(NY, 2026, 12, 1, 15, 30), [])) \
        == "past_cutoff"  # scenario 06
    assert reason(check(salon, beard, datetime(2026, 12, 2, 17, 0),
                        at(NY, 2026, 12, 1, 15, 30), [])) == "ok"
    # Past the cutoff, the nearest free times are tomorrow's.
    assert hm(nearest_free_starts(salon, beard, today_5pm, at(NY, 2026, 12, 1, 15, 30), [],
                                  limit=1)) == ["12-02 09:00"]


def test_today_is_the_local_date_not_utc(salon: BusinessProfile) -> None:
    late = at(NY, 2026, 12, 1, 23, 30)  # already Dec 2 in UTC
    beard = svc(salon, "Beard Trim")
    assert reason(check(salon, beard, datetime(2026, 12, 2, 10, 0), late, [])) == "ok"
    assert reason(check(salon, beard, datetime(2026, 12, 1, 23, 45), late, [])) \
        == "past_cutoff"


def test_max_days_ahead_boundary() -> None:
    profile = make_profile(EVERY_DAY, max_days_ahead=7)
    now = at(NY, 2026, 12, 1, 20, 0)
    assert reason(check(profile, svc(profile), datetime(2026, 12, 8, 16, 0), now, [])) == "ok"
    too_far = check(profile, svc(profile), datetime(2026, 12, 9, 9, 0), now, [])
    assert isinstance(too_far, Refusal) and too_far.reason == "too_far" and too_far.about_date
    assert free_starts(profile, svc(profile), date(2026, 12, 8), date(2026, 12, 20), now,
                       [])[-1] == datetime(2026, 12, 8, 16, 0, tzinfo=NY)
    # Beyond the horizon the nearest bookable times are the last ones before it.
    assert hm(nearest_free_starts(profile, svc(profile), datetime(2026, 12, 20, 10, 0), now,
                                  [], limit=2)) == ["12-08 15:45", "12-08 16:00"]


def test_in_the_past(salon: BusinessProfile) -> None:
    now = at(NY, 2026, 12, 2, 12, 0)
    earlier_today = check(salon, svc(salon, "Haircut"), datetime(2026, 12, 2, 10, 0), now, [])
    assert isinstance(earlier_today, Refusal) and earlier_today.reason == "in_the_past"
    assert not earlier_today.about_date
    yesterday = check(salon, svc(salon, "Haircut"), datetime(2026, 12, 1, 15, 0), now, [])
    assert isinstance(yesterday, Refusal) and yesterday.reason == "in_the_past"
    assert yesterday.about_date


# --------------------------------------------------------------------------- capacity


def test_capacity_third_overlapping_refused(salon: BusinessProfile) -> None:
    haircut = svc(salon, "Haircut")
    one = [busy(NY, 1, (2026, 12, 2, 15, 0), 45)]
    verdict = check(salon, haircut, datetime(2026, 12, 2, 15, 0), SALON_NOW, one)
    assert isinstance(verdict, Bookable) and verdict.resource == 2
    two = [*one, busy(NY, 2, (2026, 12, 2, 15, 0), 45)]
    assert reason(check(salon, haircut, datetime(2026, 12, 2, 15, 0), SALON_NOW, two)) \
        == "fully_booked"
    # Partial overlap on both chairs is still full.
    assert reason(check(salon, haircut, datetime(2026, 12, 2, 14, 30), SALON_NOW, two)) \
        == "fully_booked"
    # scenario 15: the nearest free times on both sides.
    assert hm(nearest_free_starts(salon, haircut, datetime(2026, 12, 2, 15, 0), SALON_NOW,
                                  two)) == ["12-02 14:15", "12-02 15:45", "12-02 16:00"]


def test_back_to_back_is_not_an_overlap(salon: BusinessProfile) -> None:
    haircut = svc(salon, "Haircut")
    both = [busy(NY, r, (2026, 12, 2, 14, 15), 45) for r in (1, 2)] + \
           [busy(NY, r, (2026, 12, 2, 15, 45), 45) for r in (1, 2)]
    verdict = check(salon, haircut, datetime(2026, 12, 2, 15, 0), SALON_NOW, both)
    assert isinstance(verdict, Bookable) and verdict.resource == 1


def test_lowest_free_resource(salon: BusinessProfile) -> None:
    on_chair_1 = [busy(NY, 1, (2026, 12, 2, 15, 0), 45)]
    on_chair_2 = [busy(NY, 2, (2026, 12, 2, 15, 0), 45)]
    start, end = at(NY, 2026, 12, 2, 15, 0), at(NY, 2026, 12, 2, 15, 45)
    assert free_resource(salon, start, end, []) == 1
    assert free_resource(salon, start, end, on_chair_1) == 2
    assert free_resource(salon, start, end, on_chair_2) == 1
    assert free_resource(salon, start, end, on_chair_1 + on_chair_2) is None
    assert free_resource(salon, end, end + timedelta(minutes=30), on_chair_1 + on_chair_2) == 1


def test_bookings_beyond_capacity_still_take_a_place(salon: BusinessProfile) -> None:
    """Capacity lowered after booking: a booking on resource 3 of a 2-chair salon still counts."""
    start, end = at(NY, 2026, 12, 2, 15, 0), at(NY, 2026, 12, 2, 15, 45)
    orphan = [busy(NY, 3, (2026, 12, 2, 15, 0), 45)]
    assert free_resource(salon, start, end, orphan) == 1
    assert free_resource(salon, start, end, [*orphan, busy(NY, 1, (2026, 12, 2, 15, 0), 45)]) \
        is None
    assert free_resource(salon, end, end + timedelta(minutes=15), orphan) == 1


def test_busy_index_is_reusable_and_checked(salon: BusinessProfile) -> None:
    bookings = [busy(NY, r, (2026, 12, 2, 15, 0), 45) for r in (1, 2)]
    index = BusyIndex(bookings, salon.booking.capacity)
    assert reason(check(salon, svc(salon, "Haircut"), datetime(2026, 12, 2, 15, 0),
                        SALON_NOW, index)) == "fully_booked"
    with pytest.raises(ValueError, match="capacity"):
        check(salon, svc(salon, "Haircut"), datetime(2026, 12, 2, 15, 0), SALON_NOW,
              BusyIndex(bookings, 5))


def test_naive_now_or_busy_is_rejected(salon: BusinessProfile) -> None:
    with pytest.raises(ValueError, match="aware"):
        check(salon, svc(salon, "Haircut"), datetime(2026, 12, 2, 15, 0),
              datetime(2026, 12, 1, 14, 0), [])
    with pytest.raises(ValueError, match="aware"):
        check(salon, svc(salon, "Haircut"), datetime(2026, 12, 2, 15, 0), SALON_NOW,
              [(1, datetime(2026, 12, 2, 15, 0), datetime(2026, 12, 2, 16, 0))])


# --------------------------------------------------------------------------- precedence


def test_precedence_is_documented_order() -> None:
    assert REASON_PRECEDENCE == ("in_the_past", "too_far", "closed_day", "past_cutoff",
                                 "no_such_time", "outside_hours", "too_soon", "off_grid",
                                 "fully_booked")
    assert {"too_far", "closed_day", "past_cutoff"} == DATE_REASONS


@pytest.mark.parametrize(("now", "requested", "expected"), [
    # past beats a closed day (last Sunday)
    ((2026, 12, 2, 9, 0), (2026, 11, 29, 11, 0), "in_the_past"),
    # too far beats closed (a Sunday beyond 60 days)
    ((2026, 12, 1, 9, 0), (2027, 2, 7, 11, 0), "too_far"),
    # closed beats past cutoff (today is Monday, closed, after 15:00)
    ((2026, 12, 7, 16, 0), (2026, 12, 7, 18, 0), "closed_day"),
    # past cutoff beats too soon, off grid and outside hours
    ((2026, 12, 1, 15, 10), (2026, 12, 1, 15, 20), "past_cutoff"),
    ((2026, 12, 1, 15, 10), (2026, 12, 1, 20, 5), "past_cutoff"),
    # outside hours beats too soon and off grid
    ((2026, 12, 1, 8, 0), (2026, 12, 1, 8, 50), "outside_hours"),
    # too soon beats off grid
    ((2026, 12, 1, 13, 10), (2026, 12, 1, 13, 40), "too_soon"),
    # off grid beats fully booked
    ((2026, 12, 1, 9, 0), (2026, 12, 2, 15, 5), "off_grid"),
])
def test_precedence(salon: BusinessProfile, now: YMDHM, requested: YMDHM,
                    expected: str) -> None:
    full = [busy(NY, r, (2026, 12, 2, 14, 0), 180) for r in (1, 2)]
    verdict = check(salon, svc(salon, "Haircut"), datetime(*requested), at(NY, *now), full)
    assert reason(verdict) == expected


# --------------------------------------------------------------------------- nearest free


def test_nearest_tie_goes_to_the_later_start(clinic: BusinessProfile) -> None:
    now = at(LA, 2027, 3, 5, 10, 0)
    evaluation = svc(clinic, "Initial Evaluation")
    # 12:30: 13:00 (30), 13:30 (60), then 11:00 and 14:00 tie at 90 -> 14:00. (scenario 14)
    assert hm(nearest_free_starts(clinic, evaluation, datetime(2027, 3, 8, 12, 30), now, [])) \
        == ["03-08 13:00", "03-08 13:30", "03-08 14:00"]


def test_nearest_looks_earlier_too(salon: BusinessProfile) -> None:
    late = [busy(NY, r, (2026, 12, 2, 16, 0), 180) for r in (1, 2)]
    assert hm(nearest_free_starts(salon, svc(salon, "Haircut"), datetime(2026, 12, 2, 17, 0),
                                  SALON_NOW, late)) \
        == ["12-02 14:45", "12-02 15:00", "12-02 15:15"]


def test_nearest_tie_with_limit_one(salon: BusinessProfile) -> None:
    two = [busy(NY, r, (2026, 12, 2, 15, 0), 45) for r in (1, 2)]
    # 14:15 and 15:45 are both 45 min away: the later one wins.
    assert hm(nearest_free_starts(salon, svc(salon, "Haircut"), datetime(2026, 12, 2, 15, 0),
                                  SALON_NOW, two, limit=1)) == ["12-02 15:45"]


def test_nearest_on_a_closed_day_looks_both_ways(salon: BusinessProfile) -> None:
    # Sunday closed: Saturday's last starts are 19 hours away, Tuesday's first 46.
    assert hm(nearest_free_starts(salon, svc(salon, "Haircut"), datetime(2026, 12, 6, 11, 0),
                                  SALON_NOW, [])) \
        == ["12-05 15:45", "12-05 16:00", "12-05 16:15"]
    # Monday closed, 5 PM: Tuesday 9 AM (16 h) beats Saturday 4:15 PM (49 h).
    assert hm(nearest_free_starts(salon, svc(salon, "Haircut"), datetime(2026, 12, 7, 17, 0),
                                  SALON_NOW, [])) \
        == ["12-08 09:00", "12-08 09:15", "12-08 09:30"]


def test_nearest_on_a_full_day_weighs_the_days_around_it(salon: BusinessProfile) -> None:
    haircut = svc(salon, "Haircut")
    full_wed = [busy(NY, r, (2026, 12, 2, 9, 0), 600) for r in (1, 2)]
    # Thursday: all but the last slot taken (18:15 free on chair 1).
    nearly_full_thu = [busy(NY, 1, (2026, 12, 3, 9, 0), 555), busy(NY, 2, (2026, 12, 3, 9, 0),
                                                                    600)]
    # Tuesday evening (today, before the cutoff) is nearer Wednesday noon than Thursday's.
    assert hm(nearest_free_starts(salon, haircut, datetime(2026, 12, 2, 12, 0), SALON_NOW,
                                  full_wed + nearly_full_thu)) \
        == ["12-01 17:45", "12-01 18:00", "12-01 18:15"]
    # From Thursday evening, the nearest are Thursday's last and Friday's first.
    assert hm(nearest_free_starts(salon, haircut, datetime(2026, 12, 2, 12, 0),
                                  SALON_NOW.replace(hour=23), full_wed + nearly_full_thu)) \
        == ["12-03 18:15", "12-04 09:00", "12-04 09:15"]


def test_nearest_limit(salon: BusinessProfile) -> None:
    haircut = svc(salon, "Haircut")
    five = nearest_free_starts(salon, haircut, datetime(2026, 12, 2, 12, 0), SALON_NOW, [],
                               limit=5)
    assert hm(five) == ["12-02 11:30", "12-02 11:45", "12-02 12:00", "12-02 12:15",
                        "12-02 12:30"]
    assert nearest_free_starts(salon, haircut, datetime(2026, 12, 2, 12, 0), SALON_NOW, [],
                               limit=0) == []


def test_nearest_when_the_same_day_has_only_one(salon: BusinessProfile) -> None:
    """Same day first: when it has any free time, only that day's are offered."""
    nearly_full = [busy(NY, 1, (2026, 12, 2, 9, 0), 555), busy(NY, 2, (2026, 12, 2, 9, 0), 600)]
    assert hm(nearest_free_starts(salon, svc(salon, "Haircut"), datetime(2026, 12, 2, 12, 0),
                                  SALON_NOW, nearly_full)) == ["12-02 18:15"]


# --------------------------------------------------------------------------- windows


def test_parts_of_day(salon: BusinessProfile) -> None:
    haircut = svc(salon, "Haircut")
    wed = date(2026, 12, 2)
    morning = free_starts_in_window(salon, haircut, wed, "morning", SALON_NOW, [])
    afternoon = free_starts_in_window(salon, haircut, wed, "afternoon", SALON_NOW, [])
    evening = free_starts_in_window(salon, haircut, wed, "evening", SALON_NOW, [])
    assert (hm(morning)[0], hm(morning)[-1], len(morning)) == ("12-02 09:00", "12-02 11:45", 12)
    assert (hm(afternoon)[0], hm(afternoon)[-1], len(afternoon)) \
        == ("12-02 12:00", "12-02 16:45", 20)
    assert hm(evening) == ["12-02 17:00", "12-02 17:15", "12-02 17:30", "12-02 17:45",
                           "12-02 18:00", "12-02 18:15"]
    whole = free_starts_on_day(salon, haircut, wed, SALON_NOW, [])
    assert whole == morning + afternoon + evening


def test_window_skips_busy_times_and_respects_limit(salon: BusinessProfile) -> None:
    haircut = svc(salon, "Haircut")
    two = [busy(NY, r, (2026, 12, 2, 15, 0), 45) for r in (1, 2)]
    afternoon = free_starts_in_window(salon, haircut, date(2026, 12, 2), "afternoon",
                                      SALON_NOW, two)
    assert "12-02 14:30" not in hm(afternoon) and "12-02 15:00" not in hm(afternoon)
    assert "12-02 14:15" in hm(afternoon) and "12-02 15:45" in hm(afternoon)
    custom = free_starts_in_window(salon, haircut, date(2026, 12, 2), (time(10), time(11)),
                                   SALON_NOW, [], limit=3)
    assert hm(custom) == ["12-02 10:00", "12-02 10:15", "12-02 10:30"]


def test_window_on_a_closed_or_unbookable_day_is_empty(salon: BusinessProfile) -> None:
    haircut = svc(salon, "Haircut")
    assert free_starts_in_window(salon, haircut, date(2026, 12, 6), "afternoon", SALON_NOW,
                                 []) == []
    after_cutoff = at(NY, 2026, 12, 1, 15, 30)
    assert free_starts_in_window(salon, haircut, date(2026, 12, 1), "evening", after_cutoff,
                                 []) == []
    # Today before the cutoff: only starts past the notice.
    now = at(NY, 2026, 12, 1, 13, 10)
    assert hm(free_starts_in_window(salon, haircut, date(2026, 12, 1), "afternoon", now, [],
                                    limit=1)) == ["12-01 14:15"]


def test_free_starts_span_days_and_stop_at_the_horizon() -> None:
    profile = make_profile(EVERY_DAY, max_days_ahead=2, slot_minutes=60)
    now = at(NY, 2026, 12, 1, 20, 0)
    starts = free_starts(profile, svc(profile), date(2026, 11, 25), date(2026, 12, 31), now, [])
    assert {s.date() for s in starts} == {date(2026, 12, 2), date(2026, 12, 3)}
    assert len(starts) == 16  # 09:00..16:00 each day


# --------------------------------------------------------------------------- DST


NIGHT = {"sun": [["00:00", "06:00"]]}


@pytest.fixture(scope="module")
def night() -> BusinessProfile:
    """Sunday nights 00:00-06:00 in New York: both DST changes fall inside the hours."""
    return make_profile(NIGHT, slot_minutes=30, duration=60, min_notice_minutes=60)


def test_spring_forward_gap_is_not_bookable(night: BusinessProfile) -> None:
    now = at(NY, 2027, 3, 10, 12, 0)
    for hour, minute in ((2, 0), (2, 30)):
        verdict = check(night, svc(night), datetime(2027, 3, 14, hour, minute), now, [])
        assert isinstance(verdict, Refusal) and verdict.reason == "no_such_time"
        assert not verdict.about_date
    starts = free_starts_on_day(night, svc(night), date(2027, 3, 14), now, [])
    assert [s.strftime("%H:%M") for s in starts] == [
        "00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30", "05:00"]
    # The gap request's nearest times are measured from where the clock is after the jump.
    assert [s.strftime("%H:%M") for s in nearest_free_starts(
        night, svc(night), datetime(2027, 3, 14, 2, 30), now, [])] == ["03:00", "03:30", "04:00"]


def test_spring_forward_duration_is_real_time(night: BusinessProfile) -> None:
    now = at(NY, 2027, 3, 10, 12, 0)
    verdict = check(night, svc(night), datetime(2027, 3, 14, 1, 30), now, [])
    assert isinstance(verdict, Bookable)
    assert verdict.end == datetime(2027, 3, 14, 3, 30, tzinfo=NY)  # 60 real minutes
    assert verdict.end_utc - verdict.start_utc == timedelta(hours=1)


def test_min_notice_is_real_elapsed_time_across_spring_forward() -> None:
    profile = make_profile(NIGHT, slot_minutes=30, duration=30, min_notice_minutes=90)
    now = at(NY, 2027, 3, 14, 0, 45)  # EST; 90 real minutes later is 03:15 EDT
    # 03:00 EDT is 2h15m later on the wall clock but only 75 real minutes away.
    assert reason(check(profile, svc(profile), datetime(2027, 3, 14, 3, 0), now, [])) \
        == "too_soon"
    assert reason(check(profile, svc(profile), datetime(2027, 3, 14, 3, 30), now, [])) == "ok"
    assert free_starts_on_day(profile, svc(profile), date(2027, 3, 14), now, [])[0] \
        == datetime(2027, 3, 14, 3, 30, tzinfo=NY)


def test_opening_inside_the_gap_opens_when_the_clock_jumps() -> None:
    profile = make_profile({"sun": [["02:30", "06:00"]]}, slot_minutes=30, duration=60)
    now = at(NY, 2027, 3, 10, 12, 0)
    starts = free_starts_on_day(profile, svc(profile), date(2027, 3, 14), now, [])
    assert starts[0] == datetime(2027, 3, 14, 3, 0, tzinfo=NY)
    assert reason(check(profile, svc(profile), datetime(2027, 3, 14, 3, 0), now, [])) == "ok"


def test_fall_back_ambiguous_time_is_the_first_occurrence(night: BusinessProfile) -> None:
    now = at(NY, 2026, 10, 28, 12, 0)
    verdict = check(night, svc(night), datetime(2026, 11, 1, 1, 30), now, [])
    assert isinstance(verdict, Bookable)
    assert verdict.start_utc == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    # 60 real minutes later the wall clock reads 01:30 again (EST, fold=1).
    assert verdict.end.replace(tzinfo=None) == datetime(2026, 11, 1, 1, 30)
    assert verdict.end.fold == 1
    assert verdict.end_utc == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    # An explicit fold=1 means the second occurrence.
    second = check(night, svc(night), datetime(2026, 11, 1, 1, 30, fold=1), now, [])
    assert isinstance(second, Bookable)
    assert second.start_utc == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_fall_back_offers_both_occurrences(night: BusinessProfile) -> None:
    now = at(NY, 2026, 10, 28, 12, 0)
    starts = free_starts_on_day(night, svc(night), date(2026, 11, 1), now, [])
    utc_hours = [s.astimezone(UTC).strftime("%H:%M") for s in starts]
    # 7 real hours open (00:00 EDT to 06:00 EST): 13 starts of 60 min on a 30 min grid.
    assert len(starts) == 13 and utc_hours[0] == "04:00" and utc_hours[-1] == "10:00"
    assert [s.strftime("%H:%M") for s in starts][:6] == [
        "00:00", "00:30", "01:00", "01:30", "01:00", "01:30"]
    assert [s.fold for s in starts][:6] == [0, 0, 0, 0, 1, 1]
    assert starts == sorted(starts, key=lambda s: s.astimezone(UTC))
    # A booking over the first 01:00-02:00 (EDT) leaves the second 01:00 (EST) free.
    first_hour = [(1, datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
                   datetime(2026, 11, 1, 6, 0, tzinfo=UTC))]
    busy_starts = free_starts_on_day(night, svc(night), date(2026, 11, 1), now, first_hour)
    assert [s.astimezone(UTC).strftime("%H:%M") for s in busy_starts][:3] == [
        "04:00", "06:00", "06:30"]


def test_fall_back_closing_time_is_the_real_instant() -> None:
    profile = make_profile({"sun": [["00:00", "01:30"]]}, slot_minutes=30, duration=60)
    now = at(NY, 2026, 10, 28, 12, 0)
    # Closes at the first 01:30 (EDT): 00:30 fits exactly, the second 01:00 is after close.
    assert reason(check(profile, svc(profile), datetime(2026, 11, 1, 0, 30), now, [])) == "ok"
    assert reason(check(profile, svc(profile), datetime(2026, 11, 1, 1, 0, fold=1), now, [])) \
        == "outside_hours"
    assert len(free_starts_on_day(profile, svc(profile), date(2026, 11, 1), now, [])) == 2


# --------------------------------------------------------------------------- consistency


@pytest.mark.parametrize(("tz", "day"), [
    ("America/New_York", date(2027, 3, 14)),
    ("America/New_York", date(2026, 11, 1)),
    ("America/New_York", date(2026, 12, 6)),
    ("Europe/London", date(2027, 3, 28)),
    ("Australia/Lord_Howe", date(2027, 4, 4)),  # a 30-minute DST change
])
def test_check_agrees_with_free_starts(tz: str, day: date) -> None:
    """Every grid wall time of a DST day: `check` accepts exactly the listed free starts."""
    zone = ZoneInfo(tz)
    profile = make_profile({"sun": [["00:00", "03:00"], ["04:00", "07:30"]]}, tz=tz,
                           slot_minutes=15, duration=45, capacity=2, min_notice_minutes=0)
    now = datetime.combine(day - timedelta(days=3), time(12), tzinfo=zone).astimezone(UTC)
    rng = random.Random(day.toordinal())
    first = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    bookings: list[Busy] = []
    for _ in range(12):
        start = first + timedelta(minutes=15 * rng.randrange(0, 36))
        bookings.append((rng.randint(1, 2), start, start + timedelta(minutes=45)))
    listed = {s.astimezone(UTC) for s in free_starts_on_day(profile, svc(profile), day, now,
                                                            bookings)}
    accepted: set[datetime] = set()
    for minute in range(0, 24 * 60, 15):
        for fold in (0, 1):
            wall = datetime.combine(day, time(minute // 60, minute % 60, fold=fold))
            verdict = check(profile, svc(profile), wall, now, bookings)
            if isinstance(verdict, Bookable):
                accepted.add(verdict.start_utc)
                assert free_resource(profile, verdict.start_utc, verdict.end_utc,
                                     bookings) == verdict.resource
    assert listed == accepted
    assert listed  # the case is not vacuous


@pytest.mark.parametrize("seed", range(12))
def test_a_days_free_starts_are_exactly_the_starts_check_accepts(seed: int) -> None:
    """Ordinary days (one UTC offset), where a day's free starts come from each resource's
    gaps at once: random calendars (bookings overlapping on a resource, beyond capacity,
    touching, straddling the opening), durations, grids, lunch breaks and windows, checked
    start by start against `check`."""
    rng = random.Random(seed)
    duration, slot = rng.choice([(30, 10), (45, 15), (60, 15), (50, 10), (20, 5)])
    capacity = rng.randint(1, 3)
    profile = make_profile({"wed": [["08:00", "12:30"], ["13:15", "18:00"]]}, tz="America/Chicago",
                           slot_minutes=slot, duration=duration, capacity=capacity,
                           min_notice_minutes=0)
    zone = ZoneInfo("America/Chicago")
    day = date(2027, 1, 13)  # a Wednesday
    now = at(zone, 2027, 1, 13, rng.choice([6, 9, 10]), rng.choice([0, 7, 40]))
    bookings: list[Busy] = []
    for _ in range(rng.randint(0, 25)):
        start = at(zone, 2027, 1, 13, 7, 0) + timedelta(minutes=5 * rng.randrange(0, 140))
        resource = rng.randint(1, capacity + (1 if seed % 4 == 0 else 0))  # some beyond it
        bookings.append((resource, start, start + timedelta(minutes=5 * rng.randint(0, 30))))
    windows: list[Window | None] = [None, "morning", "afternoon", (time(11, 0), time(14, 0))]
    window = rng.choice(windows)
    listed = (free_starts_on_day(profile, svc(profile), day, now, bookings) if window is None
              else free_starts_in_window(profile, svc(profile), day, window, now, bookings))
    bounds: dict[Window | None, tuple[int, int]] = {
        None: (0, 24 * 60), "morning": (0, 12 * 60), "afternoon": (12 * 60, 17 * 60),
        (time(11, 0), time(14, 0)): (11 * 60, 14 * 60)}
    lo, hi = bounds[window]
    accepted = []
    for minute in range(lo, hi, slot):
        verdict = check(profile, svc(profile), datetime.combine(day, time(minute // 60,
                                                                          minute % 60)),
                        now, bookings)
        if isinstance(verdict, Bookable):
            accepted.append(verdict.start_utc)
    assert [s.astimezone(UTC) for s in listed] == accepted
