"""The demo as a person uses it, in headless Chromium: on the salon's web chat page, book a
time that needs a deposit, pay it on the checkout page, and see the booking confirmed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from libs.business.profile import load_profile
from tests.helpers import FIXTURE_BUSINESSES, REPO

pytestmark = pytest.mark.browser

START_BOUND_S = 120  # the embedded PostgreSQL's first start creates its cluster
REPLY_BOUND_MS = 30_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`receptionist demo` as the README runs it: embedded PostgreSQL, the in-memory bus."""
    home = tmp_path_factory.mktemp("demo")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "AMQP_URL", "PUBLIC_BASE_URL")}
    env |= {"RECEPTIONIST_DEMO_DIR": str(home / "data"), "PYTHONPATH": str(REPO)}
    log_path = home / "demo.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "receptionist.cli", "demo", "--port", str(port), "--fresh"],
            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + START_BOUND_S
        while not _answers(url):
            assert process.poll() is None, f"the demo exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"the demo did not start:\n{log_path.read_text()}"
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert code == 0, f"Ctrl-C/SIGTERM should stop the demo cleanly:\n{log_path.read_text()}"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def a_weekday_the_salon_is_open(today: date) -> date:
    """Tuesday to Friday, two days ahead or more, not a closed date: no weekend deposit, so
    the deposit asked for is the Facial's own."""
    salon = load_profile(FIXTURE_BUSINESSES / "salon.yaml")
    day = today + timedelta(days=2)
    while day.weekday() not in (1, 2, 3, 4) or salon.is_closed(day):
        day += timedelta(days=1)
    return day


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.click("#send")


def test_book_pay_and_see_it_confirmed(browser: Browser, demo: str, artifacts: Path) -> None:
    day = a_weekday_the_salon_is_open(date.today())
    page = browser.new_page(viewport={"width": 900, "height": 900})
    page.goto(f"{demo}/webchat/salon")
    expect(page.locator("header h1")).to_have_text("Bella Hair Studio")

    say(page, f"hi, can I get a facial on {day:%B} {day.day} at 11am?")
    bot = page.locator(".msg.bot")
    expect(bot.last).to_contain_text("$20.00", timeout=REPLY_BOUND_MS)
    expect(bot.last).to_contain_text("11:00 AM")

    say(page, "yes please")
    link = bot.locator("a[href*='/checkout/']")
    expect(link).to_have_count(1, timeout=REPLY_BOUND_MS)
    with page.context.expect_page() as opened:
        link.click()
    checkout = opened.value
    expect(checkout.locator("body")).to_contain_text("$20.00")
    checkout.click("#pay")
    expect(checkout.locator("#status")).to_have_text("Paid")
    checkout.close()

    expect(bot.last).to_contain_text("confirmed", timeout=REPLY_BOUND_MS)
    expect(bot.last).to_contain_text(f"{day:%b} {day.day}")
    page.screenshot(path=str(artifacts / "demo_booking_paid.png"), full_page=True)


def test_a_session_the_server_no_longer_takes_is_replaced(browser: Browser, demo: str) -> None:
    """A token the page kept (from an earlier run, signed with another secret) is refused;
    the page asks for a new session and the visitor's message still goes through."""
    page = browser.new_page()
    page.goto(f"{demo}/webchat/salon")
    stale = "abcdefghijklmnopqrstuv.4102444800." + "A" * 43
    page.evaluate("""stale => localStorage.setItem("receptionist-webchat-salon",
        JSON.stringify({session: stale, expires_at: "2100-01-01T00:00:00Z"}))""", stale)
    page.reload()
    say(page, "how much is a beard trim?")
    expect(page.locator(".msg.bot").last).to_contain_text("$20.00", timeout=REPLY_BOUND_MS)
    kept = page.evaluate(
        """() => JSON.parse(localStorage.getItem("receptionist-webchat-salon")).session""")
    assert kept != stale and kept.count(".") == 2
