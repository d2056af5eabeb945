"""The runner: driving the protocol, the report format, exit status, and that one broken file
(bad YAML, missing business, an exception or a hang in the system) never stops the run."""

from __future__ import annotations

import argparse
import inspect
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from libs.business import fixtures as shared_fixtures
from receptionist.scenarios.driver import DriverFactory, ScenarioDriver
from receptionist.scenarios.runner import (
    add_arguments,
    default_businesses_dir,
    expand_paths,
    main,
    run_file,
    run_files,
)
from tests.unit.scenarios.fakes import (
    CUSTOMER,
    OTHER,
    FakeDriver,
    FakeFactory,
    Outcome,
    booking,
    to_customer,
    to_staff,
)
from tests.unit.scenarios.test_model import PUBLIC

BOOK = f"""\
name: book a haircut
business: salon
start: "2026-12-01T09:00"
customer: "{CUSTOMER}"
steps:
  - say: "haircut tomorrow at 3pm"
    expect: {{state: CONFIRMING, reply: ['3:00 PM'], replies: 1, bookings: []}}
  - say: "yes"
    expect:
      state: IDLE
      reply: ['(?i)confirmed']
      bookings: [{{service: Haircut, start: "2026-12-02T15:00", status: confirmed}}]
"""

BOOKED = {(CUSTOMER, "salon"): [booking()]}
BOOK_SCRIPT = [
    Outcome(messages=[to_customer("Haircut on Wed, Dec 2 at 3:00 PM?")],
            states={(CUSTOMER, "salon"): "CONFIRMING"}),
    Outcome(messages=[to_customer("You're confirmed.")], states={(CUSTOMER, "salon"): "IDLE"},
            bookings=BOOKED),
]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


async def run(paths: list[Path], factory: FakeFactory, businesses: Path,
              step_timeout: float | None = 60.0) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_files(paths, factory, businesses, out, step_timeout=step_timeout)
    return code, out.getvalue()


def test_fake_driver_has_every_method_of_the_protocol_with_its_signature() -> None:
    """The runner's tests speak to FakeDriver; this keeps it the protocol's true twin."""
    members = [name for name, value in vars(ScenarioDriver).items()
               if callable(value) and not name.startswith("_")]
    assert "dead_letters" in members and "say" in members
    for name in members:
        theirs = inspect.signature(getattr(ScenarioDriver, name))
        ours = inspect.signature(getattr(FakeDriver, name))
        assert ours == theirs, f"{name}: FakeDriver{ours} != ScenarioDriver{theirs}"
        assert (inspect.iscoroutinefunction(getattr(FakeDriver, name))
                == inspect.iscoroutinefunction(getattr(ScenarioDriver, name))), name


async def test_a_dead_lettered_message_fails_the_scenario(tmp_path: Path,
                                                          businesses: Path) -> None:
    path = write(tmp_path, "book.yaml", BOOK)
    factory = FakeFactory({"book a haircut": BOOK_SCRIPT})
    factory.dead = ["fsm: permanent: boom (b'{}')"]
    code, out = await run([path], factory, businesses)
    assert code == 1
    assert "dead-lettered: fsm: permanent: boom" in out


async def test_a_passing_scenario(tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "book.yaml", BOOK)
    factory = FakeFactory({"book a haircut": BOOK_SCRIPT})
    code, out = await run([path], factory, businesses)
    assert out == "PASS book a haircut\n1 passed, 0 failed\n"
    assert code == 0
    assert factory.businesses_dirs == [businesses]
    assert factory.exited == ["book a haircut"]
    calls = factory.drivers["book a haircut"].calls
    me = {"customer": CUSTOMER, "business_id": "salon"}
    assert calls == [
        ("say", {"text": "haircut tomorrow at 3pm", "customer": CUSTOMER, "channel": "sms",
                 "business_id": "salon"}),
        ("idle", {}), ("state", me), ("bookings", me),
        ("say", {"text": "yes", "customer": CUSTOMER, "channel": "sms", "business_id": "salon"}),
        ("idle", {}), ("state", me), ("bookings", me),
        ("dead_letters", {}),
    ]


async def test_a_failing_scenario_reports_every_failed_expectation(
        tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "book.yaml", BOOK)
    script = [
        Outcome(messages=[to_customer("Which day?"), to_customer("Sorry?")],
                states={(CUSTOMER, "salon"): "COLLECTING"}),
        Outcome(messages=[to_customer("Pay here")], bookings={
            (CUSTOMER, "salon"): [booking(status="held", start="2026-12-02T16:00")]}),
    ]
    code, out = await run([path], FakeFactory({"book a haircut": script}), businesses)
    assert code == 1
    assert out == """\
FAIL book a haircut
  step 1 (say "haircut tomorrow at 3pm"):
    state: expected CONFIRMING, saw COLLECTING
    reply: expected a message matching '3:00 PM', saw none matching
    replies: expected 1 message, saw 2
    replies to +15555550101 at salon (2):
      "Which day?"
      "Sorry?"
  step 2 (say "yes"):
    state: expected IDLE, saw COLLECTING
    reply: expected a message matching '(?i)confirmed', saw none matching
    bookings[0].start: expected 2026-12-02T15:00, saw 2026-12-02T16:00
    bookings[0].status: expected confirmed, saw held
    replies to +15555550101 at salon (1):
      "Pay here"
0 passed, 1 failed
"""


async def test_every_action_reaches_the_driver(tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "all.yaml", f"""\
name: all actions
business: salon
start: "2026-12-01T09:00"
customer: "{CUSTOMER}"
channel: whatsapp
steps:
  - {{say: "hi", from: "{OTHER}", to: barber, channel: web}}
  - resend: true
  - wait: 1h30m
  - wait_until: "2026-12-02T10:01"
  - pay: {{times: 2, from: "{OTHER}"}}
  - say: "hello"
""")
    factory = FakeFactory()
    code, out = await run([path], factory, businesses)
    assert (code, out) == (0, "PASS all actions\n1 passed, 0 failed\n")
    actions = [c for c in factory.drivers["all actions"].calls if c[0] != "idle"]
    assert actions == [
        ("say", {"text": "hi", "customer": OTHER, "channel": "web", "business_id": "barber"}),
        ("resend", {}),
        ("wait", {"delta": timedelta(hours=1, minutes=30)}),
        ("wait_until", {"local": datetime(2026, 12, 2, 10, 1)}),
        ("pay", {"customer": OTHER, "business_id": "salon", "times": 2}),
        ("say", {"text": "hello", "customer": CUSTOMER, "channel": "whatsapp",
                 "business_id": "salon"}),
        ("dead_letters", {}),
    ]
    assert [c[0] for c in factory.drivers["all actions"].calls].count("idle") == 6


async def test_checks_after_pay_are_about_the_default_customer(
        tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "pay.yaml", f"""\
name: someone else pays
business: salon
start: "2026-12-01T09:00"
customer: "{CUSTOMER}"
steps:
  - pay: {{from: "{OTHER}"}}
    expect: {{state: IDLE, replies: 0, bookings: []}}
""")
    factory = FakeFactory({"someone else pays": [
        Outcome(messages=[to_customer("confirmed", to=OTHER)])]})
    code, out = await run([path], factory, businesses)
    assert (code, out) == (0, "PASS someone else pays\n1 passed, 0 failed\n")
    queries = [c for c in factory.drivers["someone else pays"].calls
               if c[0] in ("state", "bookings")]
    assert queries == [("state", {"customer": CUSTOMER, "business_id": "salon"}),
                       ("bookings", {"customer": CUSTOMER, "business_id": "salon"})]


async def test_alerts_count_staff_messages_to_the_owner_phone_of_the_step_business(
        tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "person.yaml", f"""\
name: ask for a person
business: salon
start: "2026-12-01T09:00"
customer: "{CUSTOMER}"
steps:
  - say: "can i talk to a real person"
    expect: {{alerts: 1, replies: 1}}
  - {{say: "real person please", to: barber, expect: {{alerts: 1}}}}
  - say: "again"
    expect: {{alerts: 0}}
""")
    factory = FakeFactory({"ask for a person": [
        Outcome(messages=[to_customer("Call +12125550100"), to_staff("wants a person")]),
        Outcome(messages=[to_customer("Call us", business="barber"),
                          to_staff("salon alert", business="salon"),
                          to_staff("barber alert", business="barber", to="+13125550199")]),
        Outcome(messages=[to_staff("not the owner", to="+19995550000")]),
    ]})
    code, out = await run([path], factory, businesses)
    assert (code, out) == (0, "PASS ask for a person\n1 passed, 0 failed\n")


async def test_a_malformed_file_fails_alone_and_the_run_goes_on(
        tmp_path: Path, businesses: Path) -> None:
    bad = write(tmp_path, "a_bad.yaml", f"""\
name: broken
business: salon
start: "2026-12-01T09:00"
customer: "{CUSTOMER}"
steps:
  - {{say: hi, wait: 2x, bogus: 1}}
  - {{wait: 90}}
  - {{say: hi, expect: {{colour: red}}}}
""")
    good = write(tmp_path, "b_good.yaml", BOOK)
    factory = FakeFactory({"book a haircut": BOOK_SCRIPT})
    code, out = await run([tmp_path], factory, businesses)
    assert code == 1
    assert out == f"""\
FAIL {bad}
  invalid scenario file {bad}:
    step 1: 2 actions (say, wait): a step has exactly one of say, resend, wait, wait_until, pay
    step 2: wait: expected a duration such as "30m", "2h", "1d" or "1h30m", got '90'
    step 3: expect.colour: unknown key; expected one of state, reply, not_reply, replies, \
bookings, alerts
PASS book a haircut
1 passed, 1 failed
"""
    assert factory.entered == ["book a haircut"]
    assert good.exists()


async def test_an_exception_in_the_driver_fails_that_scenario_only(
        tmp_path: Path, businesses: Path) -> None:
    first = write(tmp_path, "1.yaml", BOOK.replace("book a haircut", "explodes"))
    second = write(tmp_path, "2.yaml", BOOK)
    factory = FakeFactory({"explodes": [BOOK_SCRIPT[0], Outcome(error=RuntimeError("boom"))],
                           "book a haircut": BOOK_SCRIPT})
    code, out = await run([first, second], factory, businesses)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "FAIL explodes"
    assert lines[1] == '  step 2 (say "yes"): error: RuntimeError: boom'
    assert lines[2].startswith("    at ") and "fakes.py" in lines[2]
    assert lines[3:] == ["PASS book a haircut", "1 passed, 1 failed"]
    assert factory.exited == ["explodes", "book a haircut"]  # the system was shut down
    # the steps after the error were not played
    assert [c[0] for c in factory.drivers["explodes"].calls].count("say") == 2


async def test_failed_expectations_before_an_error_are_still_reported(
        tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "book.yaml", BOOK)
    factory = FakeFactory({"book a haircut": [Outcome(), Outcome(error=ValueError())]})
    code, out = await run([path], factory, businesses, step_timeout=None)
    assert code == 1
    assert out.splitlines()[:6] == [
        "FAIL book a haircut",
        '  step 1 (say "haircut tomorrow at 3pm"):',
        "    state: expected CONFIRMING, saw IDLE",
        "    reply: expected a message matching '3:00 PM', saw no message",
        "    replies: expected 1 message, saw 0",
        "    replies to +15555550101 at salon: none",
    ]
    assert out.splitlines()[6] == '  step 2 (say "yes"): error: ValueError'


async def test_full_traceback_on_request(tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "book.yaml", BOOK)
    factory = FakeFactory({"book a haircut": [Outcome(error=KeyError("x"))]})
    out = io.StringIO()
    await run_files([path], factory, businesses, out, show_traceback=True)
    assert "    Traceback (most recent call last):" in out.getvalue()
    assert "    KeyError: 'x'" in out.getvalue()


async def test_errors_starting_or_stopping_the_system(tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "book.yaml", BOOK)
    code, out = await run([path], FakeFactory(fail_on_enter=OSError("no database")), businesses)
    assert code == 1
    assert out.splitlines()[:2] == [
        "FAIL book a haircut", "  starting the system: error: OSError: no database"]
    code, out = await run([path], FakeFactory({"book a haircut": BOOK_SCRIPT},
                                              fail_on_exit=RuntimeError("leak")), businesses)
    assert code == 1
    assert out.splitlines()[:2] == [
        "FAIL book a haircut", "  stopping the system: error: RuntimeError: leak"]


async def test_a_system_that_never_becomes_idle_times_out(
        tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "book.yaml", BOOK)
    code, out = await run([path], FakeFactory({"book a haircut": [Outcome(hang=True)]}),
                          businesses, step_timeout=0.05)
    assert code == 1
    assert out == ("FAIL book a haircut\n"
                   '  step 1 (say "haircut tomorrow at 3pm"): timed out after 0.05s (the '
                   "system did not become idle)\n0 passed, 1 failed\n")


async def test_unknown_businesses_are_reported_before_starting(
        tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "spa.yaml", BOOK.replace("business: salon", "business: spa"))
    other = write(tmp_path, "to.yaml", BOOK.replace('- say: "yes"', '- say: "yes"\n    to: gym')
                  .replace("book a haircut", "elsewhere"))
    factory = FakeFactory()
    code, out = await run([path, other], factory, businesses)
    assert code == 1
    assert out == (f"FAIL book a haircut\n  business: business 'spa': no fixture "
                   f"{businesses / 'spa.yaml'}\n"
                   f"FAIL elsewhere\n  step 2: to: business 'gym': no fixture "
                   f"{businesses / 'gym.yaml'}\n0 passed, 2 failed\n")
    assert factory.entered == []


async def test_an_invalid_business_fixture(tmp_path: Path, businesses: Path) -> None:
    (businesses / "salon.yaml").write_text("id: salon\nname: x\n")
    result = await run_file(write(tmp_path, "b.yaml", BOOK), FakeFactory(), businesses)
    assert not result.passed
    assert result.errors[0].startswith(f"business: business 'salon': invalid fixture "
                                       f"{businesses / 'salon.yaml'}: ")
    (businesses / "salon.yaml").write_text((businesses / "barber.yaml").read_text())
    result = await run_file(write(tmp_path, "b.yaml", BOOK), FakeFactory(), businesses)
    assert result.errors == [f"business: business 'salon': the fixture "
                             f"{businesses / 'salon.yaml'} has id 'barber'"]


def test_directories_expand_to_their_yaml_files_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    for name in ("b.yaml", "a.yaml", "10.yaml", "notes.md", "c.yml"):
        (folder / name).write_text("")
    (folder / "sub.yaml").mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    single = write(tmp_path, "z.yaml", "")
    assert expand_paths([single, folder, empty, tmp_path / "nope.yaml"]) == [
        single, folder / "10.yaml", folder / "a.yaml", folder / "b.yaml",
        (str(empty), f"no *.yaml scenario files in {empty}"),
        (str(tmp_path / "nope.yaml"), f"no such file or directory: {tmp_path / 'nope.yaml'}"),
    ]


async def test_missing_paths_fail_and_are_counted(tmp_path: Path, businesses: Path) -> None:
    code, out = await run([tmp_path / "nope.yaml"], FakeFactory(), businesses)
    assert code == 1
    assert out == (f"FAIL {tmp_path / 'nope.yaml'}\n  no such file or directory: "
                   f"{tmp_path / 'nope.yaml'}\n0 passed, 1 failed\n")


@pytest.mark.skipif(not PUBLIC, reason="no shared scenarios folder")
async def test_every_public_scenario_runs_against_a_silent_system() -> None:
    """No crash, no error: a system that says and stores nothing just fails expectations."""
    businesses = PUBLIC[0].parent.parent / "fixtures" / "businesses"
    for path in PUBLIC:
        result = await run_file(path, FakeFactory(), businesses)
        assert result.errors == [], (path.name, result.errors)
        assert result.lines()[0] in (f"PASS {result.name}", f"FAIL {result.name}")


# --- the command line ---------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="receptionist scenario run")
    add_arguments(p)
    return p


def test_arguments() -> None:
    args = parser().parse_args(["a.yaml", "dir", "--businesses", "b", "--amqp", "amqp://x"])
    assert (args.paths, args.businesses, args.amqp) == (["a.yaml", "dir"], "b", "amqp://x")
    assert args.step_timeout == 60.0 and args.traceback is False
    args = parser().parse_args(["a.yaml"])
    assert (args.businesses, args.amqp) == (None, None)
    with pytest.raises(SystemExit):
        parser().parse_args([])


def test_main_builds_the_factory_from_the_arguments(tmp_path: Path, businesses: Path) -> None:
    path = write(tmp_path, "book.yaml", BOOK)
    seen: list[argparse.Namespace] = []
    factory = FakeFactory({"book a haircut": BOOK_SCRIPT})

    def build(args: argparse.Namespace) -> DriverFactory:
        seen.append(args)
        return factory

    args = parser().parse_args([str(path), "--businesses", str(businesses), "--amqp", "amqp://x"])
    out = io.StringIO()
    assert main(args, build, out) == 0
    assert out.getvalue() == "PASS book a haircut\n1 passed, 0 failed\n"
    assert seen[0].amqp == "amqp://x"
    assert factory.businesses_dirs == [businesses]

    failing = FakeFactory()
    assert main(args, lambda _: failing, io.StringIO()) == 1


def test_main_refuses_a_missing_businesses_folder(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["x.yaml", "--businesses", str(tmp_path / "none")])
    assert main(args, lambda _: FakeFactory(), io.StringIO()) == 2
    assert "businesses folder not found" in capsys.readouterr().err


def test_default_businesses_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository's own examples; in an image without the checkout, ./examples."""
    assert default_businesses_dir(tmp_path) == shared_fixtures.REPO / "examples" / "businesses"
    monkeypatch.setattr(shared_fixtures, "REPO", tmp_path / "elsewhere")
    assert default_businesses_dir(tmp_path) == tmp_path / "elsewhere" / "examples" / "businesses"
    (tmp_path / "examples" / "businesses").mkdir(parents=True)
    assert default_businesses_dir(tmp_path) == tmp_path / "examples" / "businesses"
