"""The admin API's security and its reads and writes that need no other service running
(issue 24): every route answers 401 without a key and 404 for another business's things
(parametrized over the app's own route table, so a new route cannot be forgotten); failed
keys are rate-limited; keys are created, listed and revoked with the CLI; bookings are read
by day, status and risk, one with its conversation, messages and payments; a booking is
marked; the profile is edited with `business import`'s validation; every action is
audited."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.models import OutboxMessage
from libs.clock import SimulatedClock
from receptionist.cli import main
from services.admin.app import PUBLIC, create_app, route_table
from services.admin.models import AdminAudit, AdminKey
from services.admin.security import AdminDeps, FailureLimiter, SessionSigner
from services.fsm.models import Customer, TakeoverMessage
from services.notifier.models import MessageLog
from tests.admin_kit import AdminKit, admin_kit, booking, customer, deposit
from tests.helpers import FIXTURE_BUSINESSES

pytestmark = pytest.mark.integration

NY = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 12, 1, 11, 0, tzinfo=NY)  # a Tuesday: the salon and the barber are open
SALON_CUSTOMER, BARBER_CUSTOMER = "+12125550301", "+17735550301"


def _route_table() -> list[tuple[str, str]]:
    """Every (method, path) the admin app serves, read from the app itself."""
    deps = AdminDeps(FailureLimiter(1, 1, lambda: 0.0), SessionSigner("x"))
    return route_table(create_app(cast(Any, None), SimulatedClock(NOW), deps))


ROUTES = _route_table()
GUARDED = [r for r in ROUTES if r not in PUBLIC]


@dataclass
class World:
    kit: AdminKit
    salon_ref: str
    salon_later_ref: str
    barber_ref: str
    barber_customer: uuid.UUID
    salon_customer: uuid.UUID
    refs: dict[str, str] = field(default_factory=dict)


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[World]:
    kit = await admin_kit(session_factory, NOW)
    async with session_factory() as session, session.begin():
        alice = await customer(session, "salon", SALON_CUSTOMER, kept=2, no_shows=1)
        early = await booking(session, alice, datetime(2026, 12, 1, 9, 0, tzinfo=NY))
        later = await booking(session, alice, datetime(2026, 12, 1, 14, 0, tzinfo=NY),
                              risk="high", resource=2, service="Color", minutes=120,
                              deposit_status="paid", deposit="40.00")
        await deposit(session, later, "40.00", paid_at=NOW - timedelta(days=2))
        await booking(session, alice, datetime(2026, 12, 1, 16, 0, tzinfo=NY),
                      status="cancelled", risk=None)
        await booking(session, alice, datetime(2026, 12, 2, 10, 0, tzinfo=NY), risk="high")
        session.add(MessageLog(event_id=uuid.uuid4(), business_id="salon", channel="sms",
                               audience="customer", to=SALON_CUSTOMER, body="See you at 2!",
                               status="sent", purpose="reply"))
        session.add(TakeoverMessage(business_id="salon", customer_id=alice.id, channel="sms",
                                    text="can I bring my dog?", received_at=NOW))
        bob = await customer(session, "barber", BARBER_CUSTOMER)
        theirs = await booking(session, bob, datetime(2026, 12, 1, 9, 0, tzinfo=CHICAGO),
                               service="Haircut")
        await booking(session, bob, datetime(2026, 12, 2, 9, 0, tzinfo=CHICAGO), risk="high")
    yield World(kit, early.reference, later.reference, theirs.reference, bob.id, alice.id)


def _case(w: World, method: str, path: str) -> dict[str, Any]:
    """How to ask each route about the *barber's* things (the salon's key asks). Routes
    without an id are asked plainly: their answer must show nothing of the barber's."""
    ref, cust = {"ref": w.barber_ref}, {"customer_id": str(w.barber_customer)}
    barber_yaml = (FIXTURE_BUSINESSES / "barber.yaml").read_text()
    cases: dict[tuple[str, str], dict[str, Any]] = {
        ("GET", "/admin/api/bookings"): {},
        ("GET", "/admin/api/bookings/{ref}"): {"path": ref},
        ("POST", "/admin/api/bookings/{ref}/mark"): {"path": ref,
                                                      "json": {"outcome": "no_show"}},
        ("POST", "/admin/api/bookings/{ref}/cancel"): {"path": ref, "json": {}},
        ("POST", "/admin/api/bookings/{ref}/move"): {"path": ref,
                                                      "json": {"start": "2026-12-03T10:00"}},
        ("POST", "/admin/api/bookings/{ref}/remind"): {"path": ref},
        ("PUT", "/admin/api/customers/{customer_id}/takeover"): {"path": cust,
                                                                 "json": {"on": True}},
        ("GET", "/admin/api/customers"): {},
        ("GET", "/admin/api/high-risk"): {},
        ("GET", "/admin/api/waitlist"): {},
        ("GET", "/admin/api/analytics"): {},
        ("GET", "/admin/api/profile"): {},
        ("PUT", "/admin/api/profile"): {"content": barber_yaml, "by_body": True},
        ("GET", "/admin/api/audit"): {},
        ("GET", "/admin/openapi.json"): {},
        ("GET", "/admin"): {},
        ("GET", "/admin/bookings/{ref}"): {"path": ref},
        ("POST", "/admin/bookings/{ref}/mark"): {"path": ref, "data": {"outcome": "no_show"}},
        ("POST", "/admin/bookings/{ref}/cancel"): {"path": ref, "data": {}},
        ("POST", "/admin/bookings/{ref}/remind"): {"path": ref, "data": {}},
        ("POST", "/admin/customers/{customer_id}/takeover"): {"path": cust,
                                                               "data": {"on": "true"}},
        ("POST", "/admin/logout"): {"data": {}},
    }
    return cases[(method, path)]  # a KeyError: a new route this test does not cover yet


async def _ask(w: World, method: str, path: str, key: str | None,
               case: dict[str, Any] | None = None) -> Any:
    case = _case(w, method, path) if case is None else case
    url = path.format(**case.get("path", {})) if case.get("path") else path
    if "{" in url:  # asked without a case: any id will do, the key is checked first
        url = url.replace("{ref}", "NOSUCH").replace("{customer_id}", str(uuid.uuid4()))
    kwargs = {k: case[k] for k in ("json", "data", "content") if k in case}
    async with w.kit.client(key) as client:
        return await client.request(method, url, **kwargs)


async def _changes(w: World) -> tuple[int, int, int]:
    async with w.kit.sessions() as session:
        audit = await session.scalar(select(func.count()).select_from(AdminAudit))
        outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
        marked = await session.scalar(select(func.count()).select_from(Customer).where(
            Customer.no_shows > 0, Customer.business_id == "barber"))
    return int(audit or 0), int(outbox or 0), int(marked or 0)


def test_the_route_table_is_read_from_the_app() -> None:
    assert len(GUARDED) >= 20
    assert set(PUBLIC) <= set(ROUTES)
    public = {("GET", "/admin/login"), ("POST", "/admin/login"),
              ("GET", "/admin/assets/admin.css")}
    assert public == PUBLIC


@pytest.mark.parametrize(("method", "path"), GUARDED, ids=lambda v: str(v))
async def test_every_route_answers_401_without_a_valid_key(world: World, method: str,
                                                           path: str) -> None:
    _case(world, method, path)  # every route has a case below
    for key in (None, "rk_salon_not-a-real-key-not-a-real-key-00"):
        answer = await _ask(world, method, path, key, case={})
        assert answer.status_code == 401, (method, path, key, answer.text)
        assert "Bearer" in answer.headers["www-authenticate"]
    async with world.kit.sessions() as session, session.begin():
        row = await session.get(AdminKey, world.kit.key_ids["salon"])
        assert row is not None
        row.revoked_at = NOW
    answer = await _ask(world, method, path, world.kit.keys["salon"], case={})
    assert answer.status_code == 401, "a revoked key is refused"


@pytest.mark.parametrize(("method", "path"), GUARDED, ids=lambda v: str(v))
async def test_another_business_s_things_are_not_found(world: World, method: str,
                                                       path: str) -> None:
    case = _case(world, method, path)
    before = await _changes(world)
    answer = await _ask(world, method, path, world.kit.keys["salon"], case)
    if case.get("path") or case.get("by_body"):
        assert answer.status_code == 404, (method, path, answer.status_code, answer.text)
        assert await _changes(world) == before, "nothing was done or audited"
    else:
        assert answer.status_code < 400, (method, path, answer.status_code, answer.text)
        for theirs in (world.barber_ref, BARBER_CUSTOMER, "Southside Barbers"):
            assert theirs not in answer.text, (method, path, theirs)
    # The barber's own key does reach them (so the 404 was about the business).
    if case.get("path") and method == "GET":
        mine = await _ask(world, method, path, world.kit.keys["barber"], case)
        assert mine.status_code == 200, mine.text


async def test_failed_keys_are_rate_limited_per_address(world: World) -> None:
    kit, good = world.kit, world.kit.keys["salon"]
    async with kit.client("rk_salon_wrong") as wrong, kit.client(good) as right:
        for _ in range(5):  # the burst
            assert (await wrong.get("/admin/api/bookings")).status_code == 401
        refused = await wrong.get("/admin/api/bookings")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "10"  # 6 a minute: one every 10 s
        # Even the right key, from that address, waits (else guessing would go on).
        assert (await right.get("/admin/api/bookings")).status_code == 429
        login = await right.post("/admin/login", data={"key": good})
        assert login.status_code == 429 and login.headers["retry-after"] == "10"
        kit.seconds.now += 10
        assert (await right.get("/admin/api/bookings")).status_code == 200
        assert (await wrong.get("/admin/api/bookings")).status_code == 401
        assert (await right.get("/admin/api/bookings")).status_code == 429
        # A good key never uses up the bucket.
        kit.seconds.now += 60
        for _ in range(20):
            assert (await right.get("/admin/api/bookings")).status_code == 200


async def test_bookings_are_read_by_day_status_and_risk(world: World) -> None:
    async with world.kit.client(world.kit.keys["salon"]) as client:
        today = (await client.get("/admin/api/bookings")).json()
        assert [b["reference"] for b in today] == [world.salon_ref, world.salon_later_ref,
                                                   today[2]["reference"]]
        assert today[0]["starts_at"] == "2026-12-01T09:00:00-05:00"  # local, with offset
        assert today[0]["customer"] == {"id": str(world.salon_customer),
                                        "address": SALON_CUSTOMER, "kept": 2, "no_shows": 1,
                                        "late_cancels": 0, "opted_out": False}
        cancelled = (await client.get("/admin/api/bookings",
                                      params={"status": "cancelled"})).json()
        assert [b["status"] for b in cancelled] == ["cancelled"]
        risky = (await client.get("/admin/api/bookings", params={"risk": "high"})).json()
        assert [b["reference"] for b in risky] == [world.salon_later_ref]
        tomorrow = (await client.get("/admin/api/bookings",
                                     params={"day": "2026-12-02"})).json()
        assert len(tomorrow) == 1 and tomorrow[0]["no_show_risk"] == "high"
        high = (await client.get("/admin/api/high-risk")).json()  # tomorrow's by default
        assert [b["reference"] for b in high] == [tomorrow[0]["reference"]]
        bad = await client.get("/admin/api/bookings", params={"status": "sleeping"})
        assert bad.status_code == 422


async def test_one_booking_with_its_conversation_messages_and_payments(world: World) -> None:
    async with world.kit.client(world.kit.keys["salon"]) as client:
        detail = (await client.get(f"/admin/api/bookings/{world.salon_later_ref}")).json()
        lower = (await client.get(f"/admin/api/bookings/{world.salon_later_ref.lower()}"))
    assert lower.json() == detail  # a reference in any case
    assert detail["booking"]["service"] == "Color"
    assert detail["booking"]["deposit_amount"] == "40.00"
    assert detail["conversation"]["state"] == "IDLE"
    assert detail["conversation"]["received_while_taken_over"][0]["text"] == \
        "can I bring my dog?"
    assert [m["text"] for m in detail["messages"]] == ["See you at 2!"]
    assert [(p["amount"], p["status"]) for p in detail["payments"]] == [("40.00", "paid")]


async def test_a_started_booking_is_marked_and_audited(world: World) -> None:
    kit = world.kit
    async with kit.client(kit.keys["salon"]) as client:
        early = await client.post(f"/admin/api/bookings/{world.salon_later_ref}/mark",
                                  json={"outcome": "no_show"})
        assert early.status_code == 409 and "not started" in early.json()["detail"]
        marked = await client.post(f"/admin/api/bookings/{world.salon_ref}/mark",
                                   json={"outcome": "no_show"})
        assert marked.status_code == 200, marked.text
        assert marked.json()["status"] == "no_show"
        assert marked.json()["customer"]["no_shows"] == 2
        again = await client.post(f"/admin/api/bookings/{world.salon_ref}/mark",
                                  json={"outcome": "completed"})  # a correction
        assert again.json()["customer"] == {**marked.json()["customer"], "no_shows": 1,
                                            "kept": 3}
        assert (await client.post(f"/admin/api/bookings/{world.salon_ref}/mark",
                                  json={"outcome": "maybe"})).status_code == 422
        log = (await client.get("/admin/api/audit")).json()
    async with kit.sessions() as session:
        events = (await session.scalars(select(OutboxMessage.type)
                                        .order_by(OutboxMessage.id))).all()
    assert events == ["booking.no_show.v1", "booking.completed.v1"]  # fsm's relay sends them
    assert [(a["action"], a["target"], a["payload"], a["key_id"]) for a in log] == [
        ("booking.mark", world.salon_ref, {"outcome": "completed"}, kit.key_ids["salon"]),
        ("booking.mark", world.salon_ref, {"outcome": "no_show"}, kit.key_ids["salon"])]
    assert kit.nudged  # the relay was woken


async def test_requests_to_fsm_are_checked_first_and_audited(world: World) -> None:
    """Cancel, move, remind and takeover go to fsm as commands (their effect is tested with
    fsm running: test_admin_actions.py); here, what admin refuses itself, and the audit."""
    kit = world.kit
    async with kit.client(kit.keys["salon"]) as client:
        done = await client.post(f"/admin/api/bookings/{world.salon_ref}/cancel", json={})
        assert done.status_code == 409 and "already started" in done.json()["detail"]
        moved = await client.post(f"/admin/api/bookings/{world.salon_later_ref}/move",
                                  json={"start": "2026-12-06T10:00"})  # a Sunday
        assert moved.status_code == 409 and "closed_day" in moved.json()["detail"]
        accepted = await client.post(f"/admin/api/bookings/{world.salon_later_ref}/cancel",
                                     json={"refund": True, "note": "Sorry!"})
        assert accepted.status_code == 202
        assert accepted.json()["command"] == "staff.cancel.requested.v1"
        taken = await client.put(f"/admin/api/customers/{world.salon_customer}/takeover",
                                 json={"on": True})
        assert taken.status_code == 202
    async with kit.sessions() as session:
        sent = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        audit = (await session.scalars(select(AdminAudit).order_by(AdminAudit.id))).all()
    assert [(m.type, m.business_id) for m in sent] == [
        ("staff.cancel.requested.v1", "salon"), ("staff.takeover.requested.v1", "salon")]
    assert sent[0].envelope["payload"]["refund"] is True
    assert sent[1].envelope["payload"] == {"customer": SALON_CUSTOMER, "on": True}
    assert [(a.action, a.target) for a in audit] == [
        ("booking.cancel", world.salon_later_ref),
        ("conversation.takeover", str(world.salon_customer))]
    assert audit[0].payload == {"refund": True, "note": "Sorry!"}


async def test_the_profile_is_edited_with_the_import_s_validation(world: World) -> None:
    kit = world.kit
    salon = (FIXTURE_BUSINESSES / "salon.yaml").read_text()
    async with kit.client(kit.keys["salon"]) as client:
        broken = salon.replace("capacity: 2 ", "capacity: 0 ").replace(
            "duration_minutes: 45", "duration_minutes: -5") + "colour: red\n"
        refused = await client.put("/admin/api/profile", content=broken,
                                   headers={"Content-Type": "application/yaml"})
        assert refused.status_code == 422
        assert refused.json()["problems"] == [
            "booking.capacity: input should be greater than or equal to 1",
            "services[0].duration_minutes: input should be greater than or equal to 1",
            "colour: unknown key"]
        assert (await client.get("/admin/api/profile")).json()["name"] == "Bella Hair Studio"
        renamed = await client.put("/admin/api/profile",
                                   content=salon.replace("Bella Hair Studio", "Bella & Co"))
        assert renamed.status_code == 200
        assert renamed.json() == {"business_id": "salon", "outcome": "updated"}
        profile = (await client.get("/admin/api/profile")).json()
        assert profile["name"] == "Bella & Co"
        as_json = await client.put("/admin/api/profile", json={**profile, "phone": "nope"})
        assert as_json.status_code == 422
        assert as_json.json()["problems"][0].startswith("phone:")
        log = (await client.get("/admin/api/audit")).json()
    assert [(a["action"], a["payload"]) for a in log] == [("profile.edit",
                                                           {"outcome": "updated"})]


async def test_the_dashboard_signs_in_with_a_key_and_posts_with_its_csrf_token(
        world: World) -> None:
    kit = world.kit
    async with kit.client() as browser:
        first = await browser.get("/admin")
        assert first.status_code == 401  # the sign-in form, no complaint yet
        assert "name=key" in first.text and "class=error" not in first.text
        wrong = await browser.post("/admin/login", data={"key": "rk_salon_nope"})
        assert wrong.status_code == 401 and "not valid" in wrong.text
        signed = await browser.post("/admin/login", data={"key": kit.keys["salon"]})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
        assert kit.keys["salon"] not in cookie and kit.key_ids["salon"] in cookie
        page = await browser.get("/admin")
        assert page.status_code == 200 and "Bella Hair Studio" in page.text
        assert world.salon_ref in page.text and "⚑ high risk" in page.text
        csrf = page.text.split("name=csrf value='")[1].split("'")[0]
        url = f"/admin/bookings/{world.salon_ref}/mark"
        forged = await browser.post(url, data={"outcome": "no_show"})
        assert forged.status_code == 403  # no token: another site's form
        made = await browser.post(url, data={"outcome": "no_show", "csrf": csrf,
                                             "day": "2026-12-01"})
        assert made.status_code == 303
        assert made.headers["location"] == "/admin?done=mark&day=2026-12-01"
        after = await browser.get("/admin", params={"done": "mark"})
        assert "Marked." in after.text
        detail = await browser.get(f"/admin/bookings/{world.salon_ref}")
        assert "can I bring my dog?" in detail.text and "Take over" in detail.text
        taken = await browser.post(f"/admin/customers/{world.salon_customer}/takeover",
                                   data={"on": "true", "ref": world.salon_ref, "csrf": csrf})
        assert taken.status_code == 303
        assert taken.headers["location"] == f"/admin/bookings/{world.salon_ref}?done=takeover"
        kit.clock.advance(timedelta(hours=2))  # the session lasts an hour here
        assert (await browser.get("/admin")).status_code == 401
    async with kit.sessions() as session:
        actions = (await session.scalars(select(AdminAudit.action)
                                         .order_by(AdminAudit.id))).all()
    assert actions == ["login", "booking.mark", "conversation.takeover"]


def test_keys_are_created_listed_and_revoked_with_the_cli(
        database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE businesses, admin_keys, admin_audit CASCADE")
    assert main(["business", "import", str(FIXTURE_BUSINESSES / "salon.yaml"),
                 "--database-url", database_url]) == 0
    assert main(["business", "key", "create", "salon", "--label", "front desk",
                 "--database-url", database_url]) == 0
    out = capsys.readouterr().out
    key_id = out.split("key ")[1].split(" ")[0]
    key = out.strip().splitlines()[-1]
    assert key.startswith("rk_salon_") and len(key) == len("rk_salon_") + 32
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT key_hash, prefix FROM admin_keys WHERE id = %s",
                              (key_id,)).fetchone()
    assert stored is not None and key not in stored  # only its hash and first characters
    assert main(["business", "key", "list", "salon", "--database-url", database_url]) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and "active" in listed and key not in listed
    assert "front desk" in listed
    assert main(["business", "key", "revoke", key_id, "--database-url", database_url]) == 0
    assert main(["business", "key", "list", "salon", "--database-url", database_url]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["business", "key", "create", "nosuch", "--database-url", database_url]) == 1
    assert main(["business", "key", "revoke", "key_nosuch", "--database-url",
                 database_url]) == 1
    with psycopg.connect(database_url) as conn:
        audited = [r[0] for r in conn.execute(
            "SELECT action FROM admin_audit ORDER BY id").fetchall()]
    assert audited == ["key.create", "key.revoke"]


async def test_a_revoked_key_ends_its_dashboard_sessions(world: World) -> None:
    kit = world.kit
    async with kit.client() as browser:
        await browser.post("/admin/login", data={"key": kit.keys["salon"]})
        assert (await browser.get("/admin")).status_code == 200
        async with kit.sessions() as session, session.begin():
            row = await session.get(AdminKey, kit.key_ids["salon"])
            assert row is not None
            row.revoked_at = datetime.now(UTC)
        assert (await browser.get("/admin")).status_code == 401
