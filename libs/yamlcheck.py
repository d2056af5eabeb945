"""Strict YAML reading, and pydantic errors worded as "key.path: message" problems.

Business profiles (libs/business/profile.py) and scenario files (receptionist/scenarios)
refuse a bad file with *every* problem named by key path, so its author fixes it in one pass;
this module is the machinery both share. Each format keeps its own wording (`Wording`): how a
key path is written and what "missing" and "unknown key" say.

Pure: parses text it is given, reads no files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

__all__ = [
    "SKIP_KEY",
    "Loc",
    "StrictLoader",
    "Wording",
    "dotted",
    "fail",
    "load_yaml",
    "syntax_error",
]

Loc = tuple[int | str, ...]
"""Where pydantic found an error: keys and list indexes from the top of the document."""

SKIP_KEY: Final = object()
"""Returned by `StrictLoader.comparable_key` for a key that is not checked for repeats."""

_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def fail(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose message is shown to the author as is: no templating, so a
    brace in the author's value (or in a regular expression) cannot break it."""
    return PydanticCustomError(kind, message, None)


# --------------------------------------------------------------------------- YAML


class StrictLoader(yaml.SafeLoader):
    """safe_load that remembers duplicate keys (plain YAML silently keeps the last one).

    Subclasses choose how keys are compared (`comparable_key`) and may retag a value node
    before it is built (`prepare_value`)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def comparable_key(self, key_node: yaml.Node) -> object:
        """The key as compared with its siblings: the built value by default."""
        return self.construct_object(key_node, deep=True)

    def prepare_value(self, key_node: yaml.Node, value_node: yaml.Node) -> None:
        """Adjust a value node before it is built; nothing by default."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, value_node in node.value:
            self.prepare_value(key_node, value_node)
            key = self.comparable_key(key_node)
            if key is SKIP_KEY:
                continue
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key (a list, a mapping) cannot repeat one
                continue
            if repeated:
                self.duplicates.append(f"line {key_node.start_mark.line + 1}: duplicate key "
                                       f"{key!r} (the earlier value would be ignored)")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, loader: type[StrictLoader] = StrictLoader,
              ) -> tuple[object, list[str]]:
    """One YAML document and its duplicate keys ("line N: duplicate key ...").

    Raises yaml.YAMLError when the text is not YAML (see `syntax_error`)."""
    reader = loader(text)
    try:
        return reader.get_single_data(), list(reader.duplicates)
    finally:
        reader.dispose()


def syntax_error(exc: yaml.YAMLError) -> str:
    """'syntax error at line L, column C: reason', where the parser gave up (1-based)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = exc.problem or exc.context or "invalid YAML"
        return f"syntax error{at}: {reason}"
    return f"syntax error: {exc}"


# --------------------------------------------------------------------------- problems


def dotted(parts: Iterable[int | str]) -> str:
    """('services', 2, 'name') -> 'services[2].name': indexes in brackets, keys dotted."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _as_is(message: str, error: ErrorDetails) -> str:
    return message


def _lower_first(message: str) -> str:
    """Problems read as one sentence after the key path; an acronym ("URL") stays as is."""
    if message[:1].isupper() and not message[:2].isupper():
        return message[:1].lower() + message[1:]
    return message


@dataclass(frozen=True)
class Wording:
    """How one file format words pydantic's errors.

    `key_path` writes a location ("" for none: the message stands alone), `missing` is said
    of a required key left out, `unknown_key` of a key the model forbids, and `amend` may add
    a hint to any other message (before its first letter is lowered)."""

    key_path: Callable[[Loc], str]
    missing: str
    unknown_key: Callable[[Loc], str]
    amend: Callable[[str, ErrorDetails], str] = _as_is

    def message(self, error: ErrorDetails) -> str:
        """One error's message, without pydantic's "Value error, " style prefixes."""
        kind = error["type"]
        if kind == "missing":
            return self.missing
        if kind == "extra_forbidden":
            return self.unknown_key(tuple(error["loc"]))
        msg = error["msg"]
        for prefix in _PYDANTIC_PREFIXES:
            if msg.startswith(prefix):
                msg = msg[len(prefix):]
        return _lower_first(self.amend(msg, error))

    def problems(self, exc: ValidationError) -> list[str]:
        """Every error as "key.path: message", in pydantic's order, each said once."""
        problems: list[str] = []
        for error in exc.errors(include_url=False):
            where = self.key_path(tuple(error["loc"]))
            message = self.message(error)
            problem = f"{where}: {message}" if where else message
            if problem not in problems:
                problems.append(problem)
        return problems
