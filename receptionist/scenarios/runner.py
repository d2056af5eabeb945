"""`receptionist scenario run FILE_OR_DIR...`: play scenario files and report
(docs/conversations.md).

Every file gets a fresh system from the driver factory. A file that cannot be parsed, a
business fixture that is missing, or an exception inside the system fails that file only:
the run goes on, so one broken scenario never hides the result of the others.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import yaml

from libs.business.fixtures import default_businesses_dir
from receptionist.scenarios.check import (
    Failure,
    check_step,
    observe,
    render_failures,
    subject_of,
)
from receptionist.scenarios.driver import DriverFactory, ScenarioDriver
from receptionist.scenarios.model import Scenario, ScenarioError, load_scenario

__all__ = ["DEFAULT_STEP_TIMEOUT", "BusinessFixtureError", "ScenarioResult", "add_arguments",
           "default_businesses_dir", "expand_paths", "load_owner_phone", "main", "run_file",
           "run_files"]

DEFAULT_STEP_TIMEOUT = 60.0
"""Seconds one step (action, idle, queries) may take: a hung system fails its file, not CI."""


_BusinessCache = dict[str, "str | BusinessFixtureError"]


# --------------------------------------------------------------------------- results


@dataclass
class ScenarioResult:
    """The outcome of one file: failed expectations and errors (none of either is a pass)."""

    name: str
    failures: list[Failure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and not self.errors

    def lines(self) -> list[str]:
        """`PASS name`, or `FAIL name` and an indented line for every problem."""
        if self.passed:
            return [f"PASS {self.name}"]
        return [f"FAIL {self.name}", *render_failures(self.failures),
                *(f"  {line}" for line in self.errors)]


# --------------------------------------------------------------------------- businesses


class BusinessFixtureError(Exception):
    """A business named by a scenario has no usable fixture file."""


def load_owner_phone(businesses_dir: Path, business_id: str) -> str:
    """The business's `owner_phone` (where staff alerts go), validating the fixture exists.

    Uses the project's profile loader so a fixture the system would refuse is reported here
    too; falls back to plain YAML when that library is not importable.
    """
    path = businesses_dir / f"{business_id}.yaml"
    if not path.is_file():
        raise BusinessFixtureError(f"business {business_id!r}: no fixture {path}")
    try:
        from libs.business.profile import ProfileError, load_profile
    except ImportError:  # pragma: no cover - the library ships with the repo
        return _owner_phone_from_yaml(path, business_id)
    try:
        profile = load_profile(path)
    except ProfileError as exc:
        problems = "; ".join(exc.problems)
        raise BusinessFixtureError(f"business {business_id!r}: invalid fixture {path}: "
                                   f"{problems}") from None
    if profile.id != business_id:
        raise BusinessFixtureError(f"business {business_id!r}: the fixture {path} has id "
                                   f"{profile.id!r}")
    return profile.owner_phone


def _owner_phone_from_yaml(path: Path, business_id: str) -> str:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BusinessFixtureError(f"business {business_id!r}: cannot read {path}: "
                                   f"{exc}") from None
    owner = data.get("owner_phone") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(owner, str):
        raise BusinessFixtureError(f"business {business_id!r}: {path} has no owner_phone")
    if data.get("id") != business_id:
        raise BusinessFixtureError(f"business {business_id!r}: the fixture {path} has id "
                                   f"{data.get('id')!r}")
    return owner


def _owner_phones(scenario: Scenario, businesses_dir: Path,
                  cache: _BusinessCache) -> tuple[dict[str, str], list[str]]:
    """owner_phone of every business the scenario names, and a problem per missing one."""
    phones: dict[str, str] = {}
    problems: list[str] = []
    for business_id in scenario.business_ids:
        if business_id not in cache:
            try:
                cache[business_id] = load_owner_phone(businesses_dir, business_id)
            except BusinessFixtureError as exc:
                cache[business_id] = exc
        found = cache[business_id]
        if isinstance(found, BusinessFixtureError):
            steps = [str(i) for i, s in enumerate(scenario.steps, 1) if s.to == business_id]
            where = "business" if business_id == scenario.business else (
                f"step {', '.join(steps)}: to")
            problems.append(f"{where}: {found}")
        else:
            phones[business_id] = found
    return phones, problems


# --------------------------------------------------------------------------- running


async def _act(driver: ScenarioDriver, scenario: Scenario, index: int) -> None:
    """Perform the step's one action."""
    step = scenario.steps[index]
    action = step.action
    if action == "say" and step.say is not None:
        target = scenario.say_target(index)
        await driver.say(text=step.say, customer=target.customer, channel=target.channel,
                         business_id=target.business_id)
    elif action == "resend":
        await driver.resend()
    elif action == "wait" and step.wait is not None:
        await driver.wait(step.wait)
    elif action == "wait_until" and step.wait_until is not None:
        await driver.wait_until(step.wait_until)
    elif action == "pay" and step.pay is not None:
        payer = scenario.payer(index)
        await driver.pay(customer=payer.customer, business_id=payer.business_id,
                         times=step.pay.times)
    else:  # pragma: no cover - the model guarantees one action
        raise AssertionError(f"step {index + 1}: no action")


async def _run_step(driver: ScenarioDriver, scenario: Scenario, index: int,
                    owner_phones: dict[str, str]) -> list[Failure]:
    """Act, wait for quiet, then check: expectations see everything the step caused."""
    step = scenario.steps[index]
    mark = driver.mark()
    await _act(driver, scenario, index)
    await driver.idle()
    messages = driver.messages_since(mark)
    subject = subject_of(scenario, index)
    expect = step.expect
    state = (await driver.state(customer=subject.customer, business_id=subject.business_id)
             if expect.state is not None else None)
    bookings = (await driver.bookings(customer=subject.customer,
                                      business_id=subject.business_id)
                if expect.bookings is not None else None)
    seen = observe(step=index + 1, action=step.describe(), subject=subject,
                   owner_phone=owner_phones[subject.business_id], messages=messages,
                   state=state, bookings=bookings)
    return check_step(expect, seen)


def _describe_error(exc: BaseException, show_traceback: bool) -> list[str]:
    """The error, and where it was raised (the full traceback on request)."""
    text = str(exc)
    lines = [f"{type(exc).__name__}: {text}" if text else type(exc).__name__]
    if show_traceback:
        formatted = "".join(traceback.format_exception(exc)).rstrip()
        lines.extend("  " + line for line in formatted.splitlines())
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            last = frames[-1]
            lines.append(f"  at {last.filename}:{last.lineno} in {last.name}")
    return lines


async def run_file(path: Path, driver_factory: DriverFactory, businesses_dir: Path, *,
                   step_timeout: float | None = DEFAULT_STEP_TIMEOUT,
                   show_traceback: bool = False,
                   business_cache: _BusinessCache | None = None) -> ScenarioResult:
    """Play one file in a fresh system; never raises for problems of the file or the system."""
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        return ScenarioResult(name=str(path), errors=[
            f"invalid scenario file {path}:", *(f"  {p}" for p in exc.problems)])
    result = ScenarioResult(name=scenario.name)
    cache: _BusinessCache = {} if business_cache is None else business_cache
    owner_phones, problems = _owner_phones(scenario, businesses_dir, cache)
    if problems:
        result.errors.extend(problems)
        return result
    current = "starting the system"
    try:
        async with driver_factory(scenario, businesses_dir) as driver:
            for index, step in enumerate(scenario.steps):
                current = f"step {index + 1} ({step.describe()})"
                try:
                    async with asyncio.timeout(step_timeout):
                        result.failures.extend(
                            await _run_step(driver, scenario, index, owner_phones))
                except TimeoutError:
                    result.errors.append(f"{current}: timed out after {step_timeout:g}s "
                                         "(the system did not become idle)")
                    break
                except Exception as exc:
                    first, *rest = _describe_error(exc, show_traceback)
                    result.errors.extend([f"{current}: error: {first}", *rest])
                    break
            if not result.errors:
                current = "checking the dead-letter queues"
                result.errors.extend(f"dead-lettered: {line}"
                                     for line in await driver.dead_letters())
            current = "stopping the system"
    except Exception as exc:
        first, *rest = _describe_error(exc, show_traceback)
        result.errors.extend([f"{current}: error: {first}", *rest])
    return result


def expand_paths(paths: list[Path]) -> list[Path | tuple[str, str]]:
    """Files as given; directories as their *.yaml files sorted by name. A path that is
    neither (or an empty directory) becomes (label, problem), reported as a failure."""
    items: list[Path | tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            files = sorted((p for p in path.glob("*.yaml") if p.is_file()), key=lambda p: p.name)
            if not files:
                items.append((str(path), f"no *.yaml scenario files in {path}"))
            items.extend(files)
        elif path.is_file():
            items.append(path)
        else:
            items.append((str(path), f"no such file or directory: {path}"))
    return items


async def run_files(paths: list[Path], driver_factory: DriverFactory, businesses_dir: Path,
                    out: TextIO, *, step_timeout: float | None = DEFAULT_STEP_TIMEOUT,
                    show_traceback: bool = False) -> int:
    """Run every scenario, print one result per file and the totals; 0 only if none failed."""
    passed = failed = 0
    cache: _BusinessCache = {}
    for item in expand_paths(paths):
        if isinstance(item, tuple):
            result = ScenarioResult(name=item[0], errors=[item[1]])
        else:
            result = await run_file(item, driver_factory, businesses_dir,
                                    step_timeout=step_timeout, show_traceback=show_traceback,
                                    business_cache=cache)
        if result.passed:
            passed += 1
        else:
            failed += 1
        out.write("\n".join(result.lines()) + "\n")
        out.flush()
    out.write(f"{passed} passed, {failed} failed\n")
    out.flush()
    return 0 if failed == 0 else 1


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `receptionist scenario run`."""
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR",
                        help="scenario files, or folders whose *.yaml files run in name order")
    parser.add_argument("--businesses", metavar="DIR", default=None,
                        help="folder of business profiles <id>.yaml (default: the "
                             "repository's examples/businesses)")
    parser.add_argument("--amqp", metavar="URL", default=None,
                        help="run over RabbitMQ at URL instead of the in-memory bus")
    parser.add_argument("--step-timeout", metavar="SECONDS", type=float,
                        default=DEFAULT_STEP_TIMEOUT,
                        help="fail a scenario whose step takes longer; 0 for no limit "
                             "(default: %(default)g)")
    parser.add_argument("--traceback", action="store_true",
                        help="print the full traceback of errors raised by the system")


def main(args: argparse.Namespace,
         driver_factory_builder: Callable[[argparse.Namespace], DriverFactory],
         out: TextIO | None = None) -> int:
    """Entry point for the CLI: resolve paths, build the factory from the arguments
    (`args.amqp` picks the transport), run, and return the exit status (2: bad usage)."""
    stream = sys.stdout if out is None else out
    businesses = Path(args.businesses) if args.businesses else default_businesses_dir()
    if not businesses.is_dir():
        print(f"receptionist scenario run: businesses folder not found: {businesses} "
              "(use --businesses DIR)", file=sys.stderr)
        return 2
    factory = driver_factory_builder(args)
    timeout: float | None = getattr(args, "step_timeout", DEFAULT_STEP_TIMEOUT)
    return asyncio.run(run_files([Path(p) for p in args.paths], factory, businesses, stream,
                                 step_timeout=timeout if timeout and timeout > 0 else None,
                                 show_traceback=bool(getattr(args, "traceback", False))))
