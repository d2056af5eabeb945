"""The scenario file format (docs/conversations.md), parsed strictly.

A typo in a scenario must not turn into a check that silently passes, so unknown keys,
misspelled enum values and malformed times are refused, every problem named by key path
(`step 3: expect.bookings[0].colour: unknown key`). Steps are numbered from 1 in messages,
as in the runner's report.

YAML 1.1 reads some plain scalars as something other than text (`say: yes` is a bool,
`say: 11:30` the number 690, `deposit_amount: 15.00` a float, `customer: +1555...` an int);
the loader keeps the written text for the keys that hold text, so scenarios say what they
mean without quoting everything.

The value types and the format's vocabulary live in `scalars` (re-exported here); the strict
YAML loading and error wording are shared with business profiles (`libs.yamlcheck`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, NamedTuple

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from libs import yamlcheck
from receptionist.scenarios.scalars import (
    ACTIONS,
    BOOKING_FIELDS,
    BOOKING_STATUSES,
    CHANNELS,
    DEPOSIT_STATES,
    NO_SHOW_RISKS,
    STATES,
    Amount,
    BusinessId,
    Channel,
    Count,
    DurationValue,
    LocalMinute,
    Name,
    Phone,
    Regexes,
    Resend,
    State,
    Text,
    choice,
    fail,
    format_duration,
    format_local,
    parse_duration,
    parse_local_minute,
)

__all__ = [
    "ACTIONS",
    "BOOKING_FIELDS",
    "BOOKING_STATUSES",
    "CHANNELS",
    "DEPOSIT_STATES",
    "NO_SHOW_RISKS",
    "STATES",
    "BookingExpectation",
    "Channel",
    "Expectations",
    "Pay",
    "Scenario",
    "ScenarioError",
    "Step",
    "Target",
    "format_duration",
    "format_local",
    "load_scenario",
    "parse_duration",
    "parse_local_minute",
    "parse_scenario",
    "parse_scenario_text",
]


class ScenarioError(Exception):
    """A scenario file was refused; `problems` lists every reason, each naming its key path."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems: list[str] = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"invalid scenario file {source}:\n{lines}")


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    """Frozen, unknown keys refused: a misspelled key must never be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BookingExpectation(_Model):
    """One expected booking; only the fields written in the file are compared."""

    service: Text | None = None
    start: LocalMinute | None = None
    status: Annotated[str, choice("booking status", BOOKING_STATUSES)] | None = None
    deposit: Annotated[str, choice("deposit state", DEPOSIT_STATES)] | None = None
    deposit_amount: Amount = None
    attendance_confirmed: StrictBool | None = None
    no_show_risk: Annotated[str | None, choice("no-show risk", NO_SHOW_RISKS,
                                               nullable=True)] = None

    def expected_fields(self) -> dict[str, object]:
        """The written fields in spec order, values as the driver reports them."""
        values: dict[str, object] = {}
        for name in BOOKING_FIELDS:
            if name in self.model_fields_set:
                value = getattr(self, name)
                values[name] = format_local(value) if isinstance(value, datetime) else value
        return values

    @field_validator("service", "start", "status", "deposit", "attendance_confirmed",
                     mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        """Only deposit_amount and no_show_risk may be stored as null."""
        if value is None:
            raise fail("needs a value (only deposit_amount and no_show_risk may be null)")
        return value


class Expectations(_Model):
    """What must hold after a step (all optional; every one given must hold)."""

    state: State | None = None
    reply: Regexes | None = None
    not_reply: Regexes | None = None
    replies: Count | None = None
    bookings: tuple[BookingExpectation, ...] | None = None
    alerts: Count | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_empty_keys(cls, value: object, info: ValidationInfo) -> object:
        """`bookings:` with nothing after it is a typo for `bookings: []`, never 'unchecked'."""
        if value is None:
            hint = " (write bookings: [] for no bookings)" if info.field_name == "bookings" else ""
            raise fail(f"needs a value{hint}")
        return value

    def is_empty(self) -> bool:
        return not self.model_fields_set


class Pay(_Model):
    """`pay: {}` / `pay: {times: 2, from: "+1..."}`."""

    times: Annotated[StrictInt, Field(ge=1, le=100)] = 1
    from_: Phone | None = Field(default=None, alias="from")


class Target(NamedTuple):
    """Who sends a step's input, to which business, over which channel."""

    customer: str
    business_id: str
    channel: Channel


class Step(_Model):
    """Exactly one action, optional overrides, optional expectations."""

    say: Text | None = None
    resend: Resend | None = None
    wait: DurationValue | None = None
    wait_until: LocalMinute | None = None
    pay: Pay | None = None
    from_: Phone | None = Field(default=None, alias="from")
    channel: Channel | None = None
    to: BusinessId | None = None
    expect: Expectations = Field(default_factory=Expectations)

    @model_validator(mode="before")
    @classmethod
    def _exactly_one_action(cls, data: object) -> object:
        if not isinstance(data, Mapping):
            raise fail(f"expected a mapping with one action ({', '.join(ACTIONS)}), got "
                       f"{_yaml_kind(data)} {data!r}")
        present = [a for a in ACTIONS if a in data]
        if not present:
            known = {*ACTIONS, "from", "channel", "to", "expect"}
            unknown = [str(k) for k in data if k not in known]
            extra = f" (unknown key {', '.join(map(repr, unknown))})" if unknown else ""
            raise fail(f"no action{extra}: a step needs exactly one of "
                       f"{', '.join(ACTIONS)}")
        if len(present) > 1:
            raise fail(f"{len(present)} actions ({', '.join(present)}): a step has exactly "
                       f"one of {', '.join(ACTIONS)}")
        if data[present[0]] is None and present[0] != "pay":
            hint = ' (write say: "" for an empty message)' if present[0] == "say" else ""
            raise fail(f"{present[0]}: needs a value{hint}")
        fixed = dict(data)
        if "pay" in fixed and fixed["pay"] is None:
            fixed["pay"] = {}
        if "expect" in fixed and fixed["expect"] is None:
            fixed["expect"] = {}
        return fixed

    @model_validator(mode="after")
    def _overrides_fit_the_action(self) -> Step:
        action = self.action
        if self.channel is not None and action != "say":
            raise fail(f"channel: only a say step has a channel (this is a {action} step)")
        if self.from_ is not None and action not in ("say", "pay"):
            raise fail(f"from: a {action} step has no sender (only say and pay steps do)")
        if (action == "pay" and self.from_ is not None and self.pay is not None
                and self.pay.from_ is not None and self.pay.from_ != self.from_):
            raise fail("from: given both beside and inside pay, with different numbers")
        if self.to is not None and action == "resend":
            raise fail("to: a resend delivers the previous say again, to the same business")
        return self

    @property
    def action(self) -> str:
        """The one action of this step (validated)."""
        for name in ACTIONS:
            if name in self.model_fields_set:
                return name
        raise AssertionError("a validated step has an action")

    def describe(self) -> str:
        """A short label for the report: `say "yes"`, `wait 16m`, `pay x2`."""
        action = self.action
        if action == "say":
            text = self.say or ""
            shown = text if len(text) <= 60 else text[:57] + "..."
            extra = "".join(f" {k} {v}" for k, v in (("from", self.from_), ("to", self.to),
                                                      ("via", self.channel)) if v)
            return f"say {_quote(shown)}{extra}"
        if action == "wait" and self.wait is not None:
            return f"wait {format_duration(self.wait)}"
        if action == "wait_until" and self.wait_until is not None:
            return f"wait_until {format_local(self.wait_until)}"
        if action == "pay" and self.pay is not None:
            payer = self.pay.from_ or self.from_
            return "pay" + (f" x{self.pay.times}" if self.pay.times != 1 else "") + (
                f" from {payer}" if payer else "") + (f" to {self.to}" if self.to else "")
        return action


class Scenario(_Model):
    """One scenario file."""

    name: Name
    business: BusinessId
    start: LocalMinute
    customer: Phone
    channel: Channel = "sms"
    steps: tuple[Step, ...]

    @field_validator("steps", mode="before")
    @classmethod
    def _some_steps(cls, value: object) -> object:
        if value is None or (isinstance(value, list | tuple) and not value):
            raise fail("a scenario needs at least one step")
        return value

    @property
    def business_ids(self) -> tuple[str, ...]:
        """Every business the scenario talks to, its own first (fixtures to load)."""
        ids = [self.business]
        ids.extend(s.to for s in self.steps if s.to is not None and s.to not in ids)
        return tuple(ids)

    def say_target(self, index: int) -> Target:
        """Sender, business and channel of the say (or resent say) at 0-based `index`."""
        step = self.steps[index]
        if step.action == "resend":
            for earlier in range(index - 1, -1, -1):
                if self.steps[earlier].action == "say":
                    return self.say_target(earlier)
            raise ValueError(f"step {index + 1}: resend without an earlier say")
        return Target(step.from_ or self.customer, step.to or self.business,
                      step.channel or self.channel)

    def payer(self, index: int) -> Target:
        """Who pays at a pay step: `from:` inside pay (or beside it), else the default."""
        step = self.steps[index]
        inner = step.pay.from_ if step.pay is not None else None
        return Target(inner or step.from_ or self.customer, step.to or self.business,
                      self.channel)


def _quote(text: str) -> str:
    """A step's text for the report, on one line, as a YAML double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# --------------------------------------------------------------------------- errors


_ALLOWED: dict[str, tuple[str, ...]] = {
    "scenario": ("name", "business", "start", "customer", "channel", "steps"),
    "step": (*ACTIONS, "from", "channel", "to", "expect"),
    "expect": ("state", "reply", "not_reply", "replies", "bookings", "alerts"),
    "booking": BOOKING_FIELDS,
    "pay": ("times", "from"),
}


def _section(loc: tuple[int | str, ...]) -> str:
    """Which model a key path points into (for the list of allowed keys)."""
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return "scenario"
    if len(names) >= 2 and names[-2] == "bookings":
        return "booking"
    if len(names) >= 2 and names[-2] in ("expect", "pay"):
        return names[-2]
    if names[0] == "steps" and len(names) == 2:
        return "step"
    return "scenario"


def _key_path(loc: yamlcheck.Loc) -> str:
    """('steps', 2, 'expect', 'bookings', 0, 'x') -> 'step 3: expect.bookings[0].x'."""
    prefix = ""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "steps" and isinstance(parts[1], int):
        prefix = f"step {parts[1] + 1}"
        parts = parts[2:]
    path = yamlcheck.dotted(parts)
    if prefix and path:
        return f"{prefix}: {path}"
    return prefix or path


def _unknown_key(loc: yamlcheck.Loc) -> str:
    """Name the keys allowed there, and the likely one meant, so a typo is fixed at once."""
    allowed = _ALLOWED[_section(loc)]
    guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
    return f"unknown key{hint}; expected one of {', '.join(allowed)}"


def _with_input(message: str, error: ErrorDetails) -> str:
    """pydantic's "Input should be 'sms', ..." does not say what was written; add it."""
    if error["type"] == "literal_error":
        return f"{message}, got {error.get('input')!r}"
    return message


_WORDING = yamlcheck.Wording(key_path=_key_path, missing="required key missing",
                             unknown_key=_unknown_key, amend=_with_input)


# --------------------------------------------------------------------------- YAML


_TEXT_KEYS = frozenset({"name", "business", "start", "customer", "channel", "say", "from", "to",
                        "wait", "wait_until", "state", "service", "status", "deposit",
                        "deposit_amount", "no_show_risk"})
_REGEX_KEYS = frozenset({"reply", "not_reply"})
_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"


def _as_written(node: yaml.Node) -> None:
    """Make a plain (unquoted) scalar load as the text written, unless it is null."""
    if isinstance(node, yaml.ScalarNode) and node.style is None and node.tag != _NULL_TAG:
        node.tag = _STR_TAG


class _Loader(yamlcheck.StrictLoader):
    """Keeps the written text for text keys; keys are compared as written."""

    def comparable_key(self, key_node: yaml.Node) -> object:
        """The key's text: every key of the format is a plain word."""
        if isinstance(key_node, yaml.ScalarNode):
            return key_node.value
        return yamlcheck.SKIP_KEY

    def prepare_value(self, key_node: yaml.Node, value_node: yaml.Node) -> None:
        """`say: yes` is the text "yes", `reply: 11:30` the pattern "11:30" (not 690)."""
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key in _TEXT_KEYS:
            _as_written(value_node)
        elif key in _REGEX_KEYS:
            if isinstance(value_node, yaml.SequenceNode):
                for item in value_node.value:
                    _as_written(item)
            else:
                _as_written(value_node)


def _yaml_kind(value: object) -> str:
    """What a value was instead of a mapping, in the words of a scenario author."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def parse_scenario(data: object, *, source: str = "<scenario>") -> Scenario:
    """Validate already-loaded data; raise ScenarioError listing every problem."""
    if not isinstance(data, Mapping):
        raise ScenarioError(source, [f"expected a mapping with name, business, start, customer "
                                     f"and steps at the top level, got {_yaml_kind(data)}"])
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as exc:
        raise ScenarioError(source, _WORDING.problems(exc)) from None
    problems = _sequence_problems(scenario)
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def _sequence_problems(scenario: Scenario) -> list[str]:
    """Rules across steps: a resend needs an earlier say; time only moves forward."""
    problems: list[str] = []
    said = False
    latest = scenario.start
    for number, step in enumerate(scenario.steps, start=1):
        if step.action == "say":
            said = True
        elif step.action == "resend" and not said:
            problems.append(f"step {number}: resend: there is no earlier say to deliver again")
        elif step.action == "wait_until" and step.wait_until is not None:
            if step.wait_until < latest:
                problems.append(f"step {number}: wait_until: {format_local(step.wait_until)} is "
                                f"before {format_local(latest)} (time only moves forward)")
            latest = max(latest, step.wait_until)
    return problems


def parse_scenario_text(text: str, *, source: str = "<scenario>") -> Scenario:
    """Parse YAML text (see the module docstring for how plain scalars are read)."""
    try:
        data, duplicates = yamlcheck.load_yaml(text, _Loader)
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [f"YAML {yamlcheck.syntax_error(exc)}"]) from None
    if data is None:
        raise ScenarioError(source, ["the file is empty"])
    try:
        scenario = parse_scenario(data, source=source)
    except ScenarioError as exc:
        raise ScenarioError(source, duplicates + exc.problems) from None
    if duplicates:
        raise ScenarioError(source, duplicates)
    return scenario


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), [f"cannot read the file: {exc}"]) from None
    return parse_scenario_text(text, source=str(path))
