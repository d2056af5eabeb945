"""The owner's dashboard in headless Chromium, served by `receptionist demo` (issue 24): the
demo prints a key per example business and serves `/admin` for each; every admin route
answers 401 without a key; on a phone-sized screen the owner signs in, sees today's
schedule with its risk flags, the high-risk list and the no-show charts, and marks a
no-show with one tap. Nothing the page loads comes from anywhere but the demo itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Request, ViewportSize, expect

from libs.clock import SimulatedClock
from libs.db.databases import database_of_its_own
from services.admin.app import PUBLIC, create_app, route_table
from services.admin.security import AdminDeps, FailureLimiter, SessionSigner
from tests.e2e.test_demo_browser import START_BOUND_S, free_port
from tests.helpers import REPO
from tests.servers import postgres_url

pytestmark = pytest.mark.browser

NY = ZoneInfo("America/New_York")
PHONE: ViewportSize = {"width": 390, "height": 844}
KEY_LINE = re.compile(r"admin key, (?P<name>.+?):\s+(?P<key>rk_\S+)")


@dataclass
class Demo:
    url: str
    database: str
    keys: dict[str, str]  # business name -> key


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A database of its own on the test server; the demo migrates it."""
    with postgres_url() as server, database_of_its_own(server, "receptionist_admin_e2e") as url:
        yield url


@pytest.fixture(scope="module")
def demo(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`receptionist demo` on that database (the in-memory bus), as an operator runs it."""
    home = tmp_path_factory.mktemp("admin-demo")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("AMQP_URL", "PUBLIC_BASE_URL")}
    env |= {"DATABASE_URL": database, "PYTHONPATH": str(REPO),
            "RECEPTIONIST_DEMO_DIR": str(home / "data")}
    log_path = home / "demo.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "receptionist.cli", "demo", "--port", str(port), "--fresh"],
            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + START_BOUND_S
        while "Ctrl-C stops" not in log_path.read_text():
            assert process.poll() is None, f"the demo exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"the demo did not start:\n{log_path.read_text()}"
            time.sleep(0.5)
        keys = {m["name"]: m["key"] for m in KEY_LINE.finditer(log_path.read_text())}
        yield Demo(url, database, keys)
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert code == 0, f"SIGTERM should stop the demo cleanly:\n{log_path.read_text()}"


def _seed(database: str) -> dict[str, str]:
    """A salon day: a booking that started (to mark), one later today at high risk when the
    day has room, tomorrow's high-risk booking, and past weeks' kept and missed ones."""
    now = datetime.now(NY)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    started = max(midnight, (now - timedelta(hours=1)).replace(second=0, microsecond=0))
    refs: dict[str, str] = {}

    def ref() -> str:
        return "E" + uuid.uuid4().hex[:5].upper()

    with psycopg.connect(database, autocommit=True) as conn:
        def customer(address: str, no_shows: int = 0, kept: int = 0) -> uuid.UUID:
            cid = uuid.uuid4()
            conn.execute("INSERT INTO customers (id, business_id, address, kept, no_shows) "
                         "VALUES (%s, 'salon', %s, %s, %s)", (cid, address, kept, no_shows))
            conn.execute("INSERT INTO conversations (id, customer_id, business_id, channel) "
                         "VALUES (%s, %s, 'salon', 'sms')", (uuid.uuid4(), cid))
            return cid

        def booking(cid: uuid.UUID, start: datetime, status: str, risk: str | None,
                    resource: int = 1, service: str = "Haircut") -> str:
            reference = ref()
            conn.execute(
                "INSERT INTO bookings (id, reference, business_id, customer_id, service, "
                "resource, starts_at, ends_at, status, no_show_risk) VALUES "
                "(%s, %s, 'salon', %s, %s, %s, %s, %s, %s, %s)",
                (uuid.uuid4(), reference, cid, service, resource, start,
                 start + timedelta(minutes=45), status, risk))
            return reference

        ann = customer("+12125550601", kept=4)
        ben = customer("+12125550602", no_shows=2, kept=1)
        refs["started"] = booking(ann, started, "confirmed", "medium")
        later = now + timedelta(hours=2)
        if later.date() == now.date():
            refs["later"] = booking(ben, later.replace(minute=0, second=0, microsecond=0),
                                    "confirmed", "high", resource=2)
        refs["tomorrow"] = booking(ben, (midnight + timedelta(days=1, hours=10)),
                                   "confirmed", "high")
        for weeks, hour, status in ((1, 10, "completed"), (1, 15, "no_show"),
                                    (2, 10, "completed"), (2, 11, "no_show"),
                                    (3, 16, "completed"), (4, 10, "no_show")):
            booking(ann if status == "completed" else ben,
                    midnight - timedelta(weeks=weeks) + timedelta(hours=hour), status, None)
    return refs


def test_the_demo_prints_a_key_per_business_and_every_admin_route_needs_one(
        demo: Demo) -> None:
    assert set(demo.keys) == {"Bella Hair Studio", "Southside Barbers",
                              "Sunrise Physical Therapy"}
    deps = AdminDeps(FailureLimiter(1, 1, lambda: 0.0), SessionSigner("x"))
    routes = route_table(create_app(cast(Any, None), SimulatedClock(datetime.now(NY)), deps))
    with httpx.Client(base_url=demo.url, follow_redirects=False) as client:
        for method, path in routes:
            if (method, path) in PUBLIC:
                continue
            url = path.replace("{ref}", "NOSUCH").replace("{customer_id}", str(uuid.uuid4()))
            assert client.request(method, url).status_code == 401, (method, path)
        for name, key in demo.keys.items():
            page = client.get("/admin", headers={"Authorization": f"Bearer {key}"})
            assert page.status_code == 200 and name in page.text


def test_the_owner_marks_a_no_show_on_a_phone(browser: Browser, demo: Demo,
                                              artifacts: Path) -> None:
    refs = _seed(demo.database)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    requested: list[str] = []

    def seen(request: Request) -> None:
        requested.append(request.url)

    page.on("request", seen)
    page.goto(f"{demo.url}/admin")
    expect(page.locator("h1")).to_have_text("Receptionist admin")  # the sign-in form (401)
    page.fill("#key", demo.keys["Bella Hair Studio"])
    page.click("button[type=submit]")
    expect(page.locator("header h1")).to_have_text("Bella Hair Studio")
    expect(page.locator(".flash")).to_have_text("Signed in.")

    schedule = page.locator("#schedule")
    started = schedule.locator(f"li[data-ref='{refs['started']}']")
    expect(started).to_contain_text("Haircut")
    expect(started.locator(".badge.status-confirmed")).to_be_visible()
    if "later" in refs:
        expect(schedule.locator(f"li[data-ref='{refs['later']}'] .risk-high")).to_be_visible()
    risky = page.locator(f"#high-risk li[data-ref='{refs['tomorrow']}']")
    expect(risky).to_be_visible()
    expect(risky.locator("a.button[href^='tel:']")).to_have_text("Call")
    expect(risky.locator("button", has_text="Remind again")).to_be_visible()
    expect(page.locator("#no-shows svg")).to_have_count(4)
    expect(page.locator("#no-shows")).to_contain_text("50% of 6 appointments were no-shows")
    page.screenshot(path=str(artifacts / "admin_dashboard_phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a 390px screen"

    started.locator("button", has_text="No-show").click()  # one tap
    expect(page.locator(".flash")).to_have_text("Marked.")
    marked = page.locator(f"#schedule li[data-ref='{refs['started']}']")
    expect(marked.locator(".badge.status-no_show")).to_be_visible()
    expect(marked.locator("button", has_text="Completed")).to_be_visible()  # to correct it
    page.screenshot(path=str(artifacts / "admin_dashboard_phone_marked.png"), full_page=True)
    with psycopg.connect(demo.database) as conn:
        row = conn.execute("SELECT status FROM bookings WHERE reference = %s",
                           (refs["started"],)).fetchone()
        audited = conn.execute("SELECT action, target FROM admin_audit WHERE "
                               "action = 'booking.mark'").fetchall()
    assert row is not None and row[0] == "no_show"
    assert audited == [("booking.mark", refs["started"])]

    assert requested, "the page made requests"
    strangers = [u for u in requested if not u.startswith(demo.url + "/")]
    assert strangers == [], f"requests left the demo's origin: {strangers}"
    context.close()
