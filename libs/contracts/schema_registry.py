"""Frozen JSON Schemas of the event contracts, and the check that keeps them frozen.

The files in `libs/contracts/schemas/` are the released wire formats. Regenerate them with
`python -m libs.contracts.schema_registry`; `--check` fails when a current model cannot
replace its released schema (docs/architecture.md, "Contracts": a breaking change is a new
`.vN`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from libs.contracts.envelope import Envelope
from libs.contracts.registry import ALL_MESSAGES

MODULE = "libs.contracts.schema_registry"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
ENVELOPE = "envelope"

# Annotations only: changing them changes no message on the wire.
COSMETIC_KEYS = frozenset({"title", "description", "examples", "default", "$comment", "deprecated"})
# Handled by `_compare_object` / `_compare_ref` rather than compared as plain values.
_STRUCTURAL_KEYS = frozenset({"properties", "required", "$defs", "$ref"})
# Keywords whose value is itself a schema, or a list of schemas, compared recursively.
_SUBSCHEMA_KEYS = frozenset({"items", "additionalProperties", "not", "contains", "propertyNames"})
_SUBSCHEMA_LIST_KEYS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})

Schema = dict[str, Any]


def current_schemas() -> dict[str, Schema]:
    """Schema name (event TYPE, or "envelope") -> JSON Schema generated from the models now."""
    schemas: dict[str, Schema] = {cls.TYPE: cls.model_json_schema() for cls in ALL_MESSAGES}
    schemas[ENVELOPE] = Envelope.model_json_schema()
    return schemas


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every current schema as `<name>.json`, stable (sorted keys) so diffs stay small."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in sorted(current_schemas().items()):
        path = directory / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def released_schemas(directory: Path = SCHEMA_DIR) -> dict[str, Schema]:
    """The committed schemas, by name (file name without `.json`)."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


def compatibility_problems(
    released: Schema, current: Schema, *, root: str = "payload"
) -> list[str]:
    """Why `current` cannot replace `released`; an empty list means it can.

    Consumers are tolerant readers (unknown keys are ignored) and during a rolling deploy
    messages flow both ways between old and new code, so the schema must read the same in
    both directions. The only compatible change is therefore ADDING AN OPTIONAL property
    (one not in `required`). Everything else is a problem: removing a property, adding a
    required one, making an optional property required (old producers omit it) or a required
    one optional (old consumers need it), and any change to a property's type, format, enum
    (narrowed or widened), const, pattern, bounds, anyOf/oneOf/allOf or `$ref` target.
    Models under `$defs` are followed through `$ref` and checked by the same rules. The
    annotations in `COSMETIC_KEYS` (title, description, examples, default, ...) are ignored.
    Each problem starts with the JSON path of the property, e.g. `payload.slots.date`.
    """
    return _compare(released, current, root, _Docs(released, current), frozenset())


class _Docs(NamedTuple):
    """The two whole documents, so a `$ref` resolves into the `$defs` of its own side."""

    released: Schema
    current: Schema


def _compare(
    old: Schema, new: Schema, path: str, docs: _Docs, following: frozenset[str]
) -> list[str]:
    problems = _compare_ref(old, new, path, docs, following)
    if "properties" in old or "properties" in new or "required" in old or "required" in new:
        problems += _compare_object(old, new, path, docs, following)
    for key in sorted((old.keys() | new.keys()) - COSMETIC_KEYS - _STRUCTURAL_KEYS):
        problems += _compare_keyword(key, old, new, path, docs, following)
    return problems


def _compare_ref(
    old: Schema, new: Schema, path: str, docs: _Docs, following: frozenset[str]
) -> list[str]:
    ref, new_ref = old.get("$ref"), new.get("$ref")
    if ref != new_ref:
        return [f"{path}: $ref changed from {_show(ref)} to {_show(new_ref)}"]
    if not isinstance(ref, str) or ref in following:  # no ref, or a recursive model
        return []
    old_target, new_target = _resolve(docs.released, ref), _resolve(docs.current, ref)
    if old_target is None or new_target is None:
        return [] if old_target == new_target else [f"{path}: cannot resolve $ref {ref!r}"]
    return _compare(old_target, new_target, path, docs, following | {ref})


def _resolve(doc: Schema, ref: str) -> Schema | None:
    prefix = "#/$defs/"
    if not ref.startswith(prefix):
        return None
    target = doc.get("$defs", {}).get(ref.removeprefix(prefix))
    return target if isinstance(target, dict) else None


def _compare_object(
    old: Schema, new: Schema, path: str, docs: _Docs, following: frozenset[str]
) -> list[str]:
    old_props: Schema = old.get("properties", {})
    new_props: Schema = new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    problems = []
    for name, old_prop in old_props.items():
        where = f"{path}.{name}"
        if name not in new_props:
            problems.append(f"{where}: property removed")
            continue
        if name in old_required and name not in new_required:
            problems.append(f"{where}: no longer required (old consumers expect it)")
        elif name in new_required and name not in old_required:
            problems.append(f"{where}: became required (old producers may omit it)")
        problems += _compare(old_prop, new_props[name], where, docs, following)
    for name in new_props.keys() - old_props.keys():
        if name in new_required:
            problems.append(f"{path}.{name}: new required property (old producers omit it)")
    return problems


def _compare_keyword(
    key: str, old: Schema, new: Schema, path: str, docs: _Docs, following: frozenset[str]
) -> list[str]:
    if key not in new:
        return [f"{path}: {key} removed (was {_show(old[key])})"]
    if key not in old:
        return [f"{path}: {key} added ({_show(new[key])})"]
    before, after = old[key], new[key]
    if key == "enum" and isinstance(before, list) and isinstance(after, list):
        return _compare_enum(before, after, path)
    if key in _SUBSCHEMA_KEYS and isinstance(before, dict) and isinstance(after, dict):
        return _compare(before, after, f"{path}.{key}", docs, following)
    if (
        key in _SUBSCHEMA_LIST_KEYS
        and isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
        and all(isinstance(s, dict) for s in before + after)
    ):
        return [
            problem
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for problem in _compare(b, a, f"{path}.{key}[{i}]", docs, following)
        ]
    if _canonical(before) != _canonical(after):
        return [f"{path}: {key} changed from {_show(before)} to {_show(after)}"]
    return []


def _compare_enum(before: list[Any], after: list[Any], path: str) -> list[str]:
    """Either direction breaks someone: new values reach old readers, dropped ones old writers'."""
    old_values = {_canonical(v): v for v in before}
    new_values = {_canonical(v): v for v in after}
    problems = []
    if removed := [v for k, v in old_values.items() if k not in new_values]:
        problems.append(f"{path}: enum narrowed, values removed: {_show(removed)}")
    if added := [v for k, v in new_values.items() if k not in old_values]:
        problems.append(f"{path}: enum widened, values added: {_show(added)}")
    return problems


def _canonical(value: Any) -> str:
    """Exact JSON text, so `true` and `1`, or `1` and `1.0`, never compare equal."""
    return json.dumps(value, sort_keys=True)


def _show(value: Any, limit: int = 120) -> str:
    text = _canonical(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check(directory: Path = SCHEMA_DIR) -> list[str]:
    """Problems of every current schema against its committed one (missing counts as one)."""
    released = released_schemas(directory)
    current = current_schemas()
    problems = [f"{name}: released, but no model defines it any more (a released contract "
                "is never removed or renamed: keep it beside its successor)"
                for name in sorted(released.keys() - current.keys())]
    for name, schema in current.items():
        if name not in released:
            problems.append(f"{name}: no committed schema (run: python -m {MODULE})")
            continue
        root = ENVELOPE if name == ENVELOPE else "payload"
        problems += [
            f"{name}: {problem}"
            for problem in compatibility_problems(released[name], schema, root=root)
        ]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the schema files, or with `--check` verify them (exit 1 on any problem)."""
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR, help="schema directory")
    args = parser.parse_args(argv)
    problems = check(args.dir)
    if not args.check:
        # New types and additive changes are written; an incompatible change never
        # overwrites what was released (it must become a new .vN).
        incompatible = [p for p in problems if "no committed schema" not in p]
        if incompatible:
            for problem in incompatible:
                print(problem, file=sys.stderr)
            print("refusing to overwrite released schemas: publish a new .vN instead",
                  file=sys.stderr)
            return 1
        for path in write_schemas(args.dir):
            print(path)
        return 0
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} contract problem(s): publish a new .vN instead", file=sys.stderr)
        return 1
    print(f"{len(current_schemas())} schemas compatible with {args.dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
