"""The owner's figures on a small data set written by hand, every number worked out below
(docs/admin.md, "Analytics"): no-show rates by week, service, weekday and hour; reminder
confirmations; deposits taken, refunded and forfeited; customers by reliability; tomorrow's
high-risk bookings; the waitlist and the openings it filled."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin_kit import AdminKit, admin_kit, booking, customer, deposit, reminder, waiting

pytestmark = pytest.mark.integration

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 11, 0, tzinfo=NY)  # Tuesday
RANGE = {"since": "2026-11-16", "until": "2026-11-30"}  # two weeks, Mondays


def at(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=NY)


@pytest.fixture
async def kit(session_factory: async_sessionmaker[AsyncSession]) -> AdminKit:
    kit = await admin_kit(session_factory, NOW)
    async with session_factory() as s, s.begin():
        alice = await customer(s, "salon", "+12125550401", kept=5)
        bob = await customer(s, "salon", "+12125550402", kept=1, no_shows=3)
        carol = await customer(s, "salon", "+12125550403", kept=3, no_shows=1)
        dave = await customer(s, "salon", "+12125550404")
        eve = await customer(s, "salon", "+12125550405", kept=1, late_cancels=1)
        # week of Nov 16
        b1 = await booking(s, alice, at(17, 10), status="completed")             # Tue
        b2 = await booking(s, bob, at(17, 10), status="no_show", resource=2)     # Tue
        b3 = await booking(s, carol, at(18, 15), service="Color", minutes=120,   # Wed
                           status="completed", deposit_status="paid", deposit="40.00")
        b4 = await booking(s, bob, at(21, 10), status="no_show",                 # Sat
                           deposit_status="paid", deposit="15.00")
        # week of Nov 23
        b5 = await booking(s, alice, at(24, 15), service="Facial", status="completed",
                           attended=True)                                        # Tue
        b6 = await booking(s, eve, at(25, 10), service="Facial", status="cancelled",
                           deposit_status="forfeited", deposit="20.00")          # Wed, late
        b7 = await booking(s, carol, at(26, 17), status="cancelled",             # Thu, early
                           deposit_status="refunded", deposit="15.00")
        b8 = await booking(s, alice, at(27, 10), status="completed", attended=True)  # Fri
        b9 = await booking(s, bob, at(27, 15), service="Beard Trim", minutes=20,
                           status="no_show")                                     # Fri
        await booking(s, carol, at(28, 10))  # still confirmed: in neither count
        # outside the range
        b10 = await booking(s, alice, at(1, 9, month=12), status="completed", attended=True)
        await booking(s, bob, at(10, 10), status="no_show")
        # reminders: sent for b1, b2, b5, b6, b8 (and b10, outside); only skipped for b9
        for b in (b1, b2, b5, b6, b8, b10):
            await reminder(s, b)
        await reminder(s, b8, status="cancelled", offset="2h")
        await reminder(s, b9, status="skipped")
        # deposits: paid in the range 40 + 15 + 20 + 15; one refunded; others out of it
        await deposit(s, b3, "40.00", paid_at=at(16, 12))
        await deposit(s, b4, "15.00", paid_at=at(19, 12))
        await deposit(s, b6, "20.00", paid_at=at(20, 12))
        await deposit(s, b7, "15.00", paid_at=at(22, 12), refunded="15.00", status="refunded")
        await deposit(s, b7, "15.00", paid_at=None, status="expired", attempt=2)
        await deposit(s, b10, "15.00", paid_at=at(30, 12))
        # tomorrow: one confirmed high-risk booking, and ones that are not
        await booking(s, bob, at(2, 10, month=12), risk="high")
        await booking(s, carol, at(2, 12, month=12), risk="medium")
        await booking(s, bob, at(2, 14, month=12), risk="high", status="cancelled")
        await booking(s, bob, at(3, 14, month=12), risk="high")
        # the waitlist: two openings filled, one declined, one lapsed; three still waiting
        await waiting(s, alice, at(24, 10), "booked")
        await waiting(s, carol, at(25, 10), "booked")
        await waiting(s, dave, at(24, 10), "declined")
        await waiting(s, eve, at(26, 10), "lapsed")
        await waiting(s, carol, at(3, 10, month=12), "waiting")
        await waiting(s, dave, at(3, 10, month=12), "waiting")
        await waiting(s, eve, at(4, 11, month=12), "offered")
        # another business's figures count nowhere here
        other = await customer(s, "barber", "+17735550499", no_shows=9)
        theirs = await booking(s, other, at(17, 10), status="no_show", deposit_status="paid",
                               deposit="10.00")
        await deposit(s, theirs, "10.00", paid_at=at(17, 9))
        await waiting(s, other, at(24, 10), "booked")
    return kit


def bucket(key: str, completed: int, no_show: int) -> dict[str, object]:
    seen = completed + no_show
    return {"key": key, "completed": completed, "no_show": no_show,
            "rate": no_show / seen if seen else None}


async def test_no_show_rates_reminders_deposits_and_the_waitlist(kit: AdminKit) -> None:
    async with kit.client(kit.keys["salon"]) as client:
        answer = await client.get("/admin/api/analytics", params=RANGE)
    assert answer.status_code == 200, answer.text
    a = answer.json()
    assert (a["since"], a["until"], a["timezone"]) == ("2026-11-16", "2026-11-30",
                                                       "America/New_York")
    ns = a["no_shows"]
    # completed: b1 b3 b5 b8; no-shows: b2 b4 b9
    assert ns["overall"] == bucket("all", 4, 3)
    assert ns["by_week"] == [bucket("2026-11-16", 2, 2), bucket("2026-11-23", 2, 1)]
    assert ns["by_service"] == [bucket("Haircut", 2, 2), bucket("Beard Trim", 0, 1),
                                bucket("Color", 1, 0), bucket("Facial", 1, 0)]
    assert ns["by_weekday"] == [bucket("Mon", 0, 0), bucket("Tue", 2, 1), bucket("Wed", 1, 0),
                                bucket("Thu", 0, 0), bucket("Fri", 1, 1), bucket("Sat", 0, 1),
                                bucket("Sun", 0, 0)]
    assert ns["by_hour"] == [bucket("10", 2, 2), bucket("15", 2, 1)]
    # reminded: b1 b2 b5 b6 b8 (b9's was skipped); confirmed: b5 b8
    assert a["reminders"] == {"reminded": 5, "confirmed": 2, "rate": 0.4}
    assert a["deposits"] == {
        "currency": "usd",
        "taken": {"count": 4, "amount": "90.00"},       # 40 + 15 + 20 + 15
        "refunded": {"count": 1, "amount": "15.00"},    # b7, cancelled in time
        "forfeited": {"count": 2, "amount": "35.00"},   # b6 cancelled late, b4 a no-show
        "kept_revenue": "35.00"}
    w = a["waitlist"]
    assert w["by_status"] == {"waiting": 0, "offered": 0, "booked": 2, "declined": 1,
                              "lapsed": 1, "expired": 0, "opted_out": 0}
    assert w["openings_filled"] == 2
    assert [(x["customer"]["address"][-3:], x["starts_at"], x["status"], x["position"])
            for x in w["waiting"]] == [
        ("403", "2026-12-03T10:00:00-05:00", "waiting", 1),
        ("404", "2026-12-03T10:00:00-05:00", "waiting", 2),
        ("405", "2026-12-04T11:00:00-05:00", "offered", 1)]


async def test_customers_by_reliability_and_tomorrow_s_high_risk(kit: AdminKit) -> None:
    async with kit.client(kit.keys["salon"]) as client:
        most = (await client.get("/admin/api/customers")).json()
        least = (await client.get("/admin/api/customers", params={"order": "least"})).json()
        risky = (await client.get("/admin/api/high-risk")).json()
        waitlist = (await client.get("/admin/api/waitlist", params=RANGE)).json()
    # kept / (kept + no-shows + late cancels): alice 5/5, carol 3/4, eve 1/2, bob 1/4;
    # dave has no record yet
    assert [(r["customer"]["address"][-3:], r["reliability"]) for r in most] == [
        ("401", 1.0), ("403", 0.75), ("405", 0.5), ("402", 0.25)]
    assert [r["customer"]["address"][-3:] for r in least] == ["402", "405", "403", "401"]
    assert [(b["starts_at"], b["customer"]["address"]) for b in risky] == [
        ("2026-12-02T10:00:00-05:00", "+12125550402")]
    assert waitlist["openings_filled"] == 2


async def test_the_dashboard_draws_the_rates(kit: AdminKit) -> None:
    async with kit.client(kit.keys["salon"]) as client:
        page = await client.get("/admin")
    assert page.status_code == 200
    html = page.text
    # the default range (twelve weeks to today) adds b10 (completed today) and the no-show
    # of Nov 10: 4 no-shows of 9
    assert "of 9 appointments were no-shows" in html and "<strong>44%</strong>" in html
    assert html.count("<svg ") == 4 and "No-show rate by weekday" in html
    assert "Sat: 100% no-shows (1 of 1)" in html
    assert "<strong>2</strong> openings filled from the waitlist" in html
    assert "+12125550402" in html  # the least reliable, and tomorrow's high risk
