"""calendar's pure rules: a booking as a Google event, the request that brings the calendar
to it, and the busy times worth publishing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from libs.contracts import events as ev
from services.calendar import rules

NY = ZoneInfo("America/New_York")
BOOKING = uuid.UUID("6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f")
START = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)  # 3:00 PM in New York
END = START + timedelta(minutes=45)


def wanted(*, shown: bool = True, stage: int = 1, start: datetime = START,
           end: datetime = END, customer: str = "+12125550123") -> rules.Wanted:
    return rules.Wanted(booking_id=BOOKING, reference="ABC123", service="Haircut",
                        customer=customer, starts_at=start, ends_at=end, shown=shown,
                        stage=stage)


def test_the_event_id_is_the_booking_ids_hex_which_google_accepts() -> None:
    event_id = rules.event_id(BOOKING)
    assert event_id == "6f1c2d3e4a5b4c6d8e9f0a1b2c3d4e5f"
    assert 5 <= len(event_id) <= 1024 and set(event_id) <= set("abcdefghijklmnopqrstuv0123456789")
    assert rules.event_id(BOOKING) == event_id  # the same booking, the same event, always


def test_the_event_names_the_service_and_the_masked_number_in_the_business_zone() -> None:
    body = rules.event_body(wanted(), "America/New_York")
    assert body == {
        "id": "6f1c2d3e4a5b4c6d8e9f0a1b2c3d4e5f",
        "summary": "Haircut — +1******0123",
        "description": "Booking ABC123 (Haircut), made by the receptionist. Change it "
                       "through the receptionist: edits here are overwritten when the booking "
                       "changes.",
        "start": {"dateTime": "2026-12-02T15:00:00-05:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2026-12-02T15:45:00-05:00", "timeZone": "America/New_York"},
        "status": "confirmed",
        "transparency": "transparent",
        "extendedProperties": {"private": {"receptionist_booking": str(BOOKING),
                                           "receptionist_reference": "ABC123"}},
    }
    assert "12125550123" not in str(body)


def test_a_web_chat_customer_is_named_by_the_channel_not_the_session() -> None:
    assert rules.summary("Haircut", "web:s3cr3t-session") == "Haircut — web chat"


def test_a_summer_booking_carries_the_summer_offset() -> None:
    june = datetime(2026, 6, 3, 13, 0, tzinfo=UTC)
    assert rules.when(june, "America/New_York") == {
        "dateTime": "2026-06-03T09:00:00-04:00", "timeZone": "America/New_York"}


def test_a_booking_to_show_is_inserted_unless_the_event_is_known_there() -> None:
    zone = "America/New_York"
    body = rules.event_body(wanted(), zone)
    assert rules.plan(wanted(), None, (None, None), zone) == rules.Insert(body)
    assert rules.plan(wanted(), "absent", (None, None), zone) == rules.Insert(body)
    assert rules.plan(wanted(), "unknown", (None, None), zone) == rules.Insert(body)
    # there already, same times: nothing (a redelivery, or the booking completed)
    assert rules.plan(wanted(stage=3), "present", (START, END), zone) is None


def test_a_moved_booking_patches_only_its_start_and_end() -> None:
    later = START + timedelta(hours=2)
    call = rules.plan(wanted(stage=2, start=later, end=later + timedelta(minutes=45)),
                      "present", (START, END), "America/New_York")
    assert call == rules.Patch({
        "start": {"dateTime": "2026-12-02T17:00:00-05:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2026-12-02T17:45:00-05:00", "timeZone": "America/New_York"}})


@pytest.mark.parametrize(("known", "stage", "call"), [
    ("present", 3, rules.Delete()),   # cancelled or a no-show
    ("unknown", 3, rules.Delete()),
    (None, 3, rules.Delete()),        # heard before anything was written: delete anyway
    ("absent", 3, None),              # deleted already
    (None, 0, None),                  # a lapsed hold was never in the calendar
    ("present", 0, rules.Delete()),
])
def test_a_booking_not_to_show_is_deleted_when_it_is_or_may_be_there(
        known: rules.Known | None, stage: int, call: rules.Call | None) -> None:
    assert rules.plan(wanted(shown=False, stage=stage), known, (START, END),
                      "America/New_York") == call


def test_a_revived_event_is_the_whole_event_without_its_id() -> None:
    body = rules.revived_body(wanted(), "America/New_York")
    assert "id" not in body and body["status"] == "confirmed"
    assert body["start"]["timeZone"] == "America/New_York"


def test_stages_order_the_booking_events_as_reminders_does() -> None:
    assert ev.BOOKING_STAGES[ev.BookingExpired] < ev.BOOKING_STAGES[ev.BookingConfirmed] < (
        ev.BOOKING_STAGES[ev.BookingRescheduled]) < ev.BOOKING_STAGES[ev.BookingCancelled]
    shown = {ev.BookingConfirmed, ev.BookingRescheduled, ev.BookingCompleted}
    assert shown == rules.SHOWN


# --- busy times --------------------------------------------------------------------------


def test_the_busy_window_is_whole_local_days_up_to_the_last_bookable_one() -> None:
    now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # Dec 1, 10 PM in New York
    start, end = rules.busy_window(now, "America/New_York", 60)
    assert start == datetime(2026, 12, 1, 0, 0, tzinfo=NY)
    assert end == datetime(2027, 1, 31, 0, 0, tzinfo=NY)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 2, hour, minute, tzinfo=NY)


def test_ranges_are_clipped_sorted_and_merged() -> None:
    found = [(at(15), at(16)), (at(9), at(10)), (at(15, 30), at(17)), (at(17), at(18)),
             (at(6), at(8)), (at(20), at(20))]
    assert rules.normalise(found, at(7), at(19)) == [
        (at(7), at(8)), (at(9), at(10)), (at(15), at(18))]


def test_the_digest_changes_with_the_busy_times_and_only_with_them() -> None:
    one = rules.normalise([(at(9), at(10)), (at(15), at(16))], at(0), at(23))
    same = rules.normalise([(at(15), at(15, 30)), (at(9), at(10)), (at(15, 30), at(16))],
                           at(0), at(23))
    moved = rules.normalise([(at(9), at(10)), (at(15), at(16, 15))], at(0), at(23))
    assert rules.digest(one) == rules.digest(same)  # however Google splits the same time
    assert rules.digest(one) != rules.digest(moved)
    assert rules.digest([]) != rules.digest(one)
    utc = [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in one]
    assert rules.digest(utc) == rules.digest(one)  # instants, not how they are written
