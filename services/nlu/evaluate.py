"""`receptionist nlu eval`: score an extractor on a JSON Lines set (docs/nlu.md, "The
evaluation command"). Misses first, so a person reads what went wrong; the one-line JSON
last, so a script reads the numbers with `tail -1`."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from libs.business.fixtures import default_businesses_dir
from libs.business.profile import ProfileError
from services.nlu.catalog import Catalog
from services.nlu.extractor import Extractor, Understanding
from services.nlu.extractors import ExtractorUnavailable, make_extractor

EXIT_OK = 0
EXIT_BAD_INPUT = 2


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    business: str
    now: datetime
    intent: str
    slots: dict[str, str]


class BadInput(Exception):
    """The set or a business profile cannot be read: no score is printed."""


def read_rows(path: Path) -> list[Row]:
    rows: list[Row] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            slots = data.get("slots") or {}
            if not isinstance(slots, dict):
                raise TypeError("slots must be an object")
            rows.append(Row(
                text=str(data["text"]), business=str(data["business"]),
                now=datetime.fromisoformat(str(data["now"])), intent=str(data["intent"]),
                slots={str(k): str(v) for k, v in slots.items() if v is not None},
            ))
        except (ValueError, KeyError, TypeError) as exc:
            raise BadInput(f"{path}:{number}: not an evaluation row: {exc}") from exc
    return rows


class Catalogs:
    """Business id → Catalog, read from `<dir>/<id>.yaml` on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: dict[str, Catalog] = {}

    def get(self, business: str) -> Catalog:
        hit = self._loaded.get(business)
        if hit is None:
            path = self.directory / f"{business}.yaml"
            if not path.is_file():
                path = self.directory / f"{business}.yml"
            try:
                hit = self._loaded[business] = Catalog.from_file(path)
            except ProfileError as exc:
                raise BadInput(f"business {business!r}: {exc}") from exc
        return hit


def _triples(slots: dict[str, str]) -> set[tuple[str, str]]:
    return set(slots.items())


def _percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return 0.0
    rank = max(1, math.ceil(p * len(sorted_ms)))
    return sorted_ms[rank - 1]


def score(rows: Iterable[Row], got: list[Understanding], latencies_ms: list[float],
          extractor: str) -> dict[str, Any]:
    """The spec's metrics, in the spec's key order."""
    n = 0
    intent_ok = frame_ok = tp = n_pred = n_gold = 0
    for row, u in zip(rows, got, strict=True):
        n += 1
        pred = _triples(u.slots_json())
        gold = _triples(row.slots)
        tp += len(pred & gold)
        n_pred += len(pred)
        n_gold += len(gold)
        if u.intent == row.intent:
            intent_ok += 1
            if pred == gold:
                frame_ok += 1
    precision = tp / n_pred if n_pred else (1.0 if n_gold == 0 else 0.0)
    recall = tp / n_gold if n_gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ms = sorted(latencies_ms)
    return {
        "n": n,
        "intent_accuracy": round(intent_ok / n, 4) if n else 0.0,
        "slot_precision": round(precision, 4),
        "slot_recall": round(recall, 4),
        "slot_f1": round(f1, 4),
        "frame_exact": round(frame_ok / n, 4) if n else 0.0,
        "p50_ms": round(_percentile(ms, 0.50), 3),
        "p99_ms": round(_percentile(ms, 0.99), 3),
        "extractor": extractor,
    }


def predict(rows: list[Row], extractor: Extractor,
            catalogs: Catalogs) -> tuple[list[Understanding], list[float]]:
    got: list[Understanding] = []
    latencies: list[float] = []
    for row in rows:
        catalog = catalogs.get(row.business)
        now = row.now if row.now.tzinfo else row.now.replace(tzinfo=catalog.timezone)
        started = time.perf_counter()
        u = extractor.extract(row.text, catalog, now)
        latencies.append((time.perf_counter() - started) * 1000)
        got.append(u)
    return got, latencies


def _frame(intent: str, slots: dict[str, str]) -> str:
    return f"{intent} {json.dumps(slots, ensure_ascii=False, sort_keys=True)}"


def run_eval(file: str | Path, extractor_name: str | None = "rules",
             businesses_dir: str | Path | None = None,
             predictions_out: str | Path | None = None, out: TextIO = sys.stdout) -> int:
    """Score `extractor_name` on `file`; returns the process exit code (0, or 2 when the
    set, a business or the extractor cannot be used, with the reason on stderr)."""
    directory = Path(businesses_dir) if businesses_dir else default_businesses_dir()
    try:
        rows = read_rows(Path(file))
        extractor = make_extractor(extractor_name or "rules")
        catalogs = Catalogs(directory)
        for row in rows:
            catalogs.get(row.business)
    except (BadInput, ExtractorUnavailable) as exc:
        print(f"nlu eval: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    got, latencies = predict(rows, extractor, catalogs)
    for row, u in zip(rows, got, strict=True):
        predicted = u.slots_json()
        if u.intent != row.intent or predicted != row.slots:
            print(f"MISS {json.dumps(row.text, ensure_ascii=False)}\n"
                  f"  expected: {_frame(row.intent, row.slots)}\n"
                  f"  got:      {_frame(u.intent, predicted)}", file=out)
    if predictions_out is not None:
        with Path(predictions_out).open("w", encoding="utf-8") as fh:
            for row, u in zip(rows, got, strict=True):
                fh.write(json.dumps({"text": row.text, "intent": u.intent,
                                     "slots": u.slots_json()}, ensure_ascii=False) + "\n")
    stats = getattr(extractor, "stats", None)
    if callable(stats):
        print(f"stats {json.dumps(stats(), sort_keys=True)}", file=out)
    print(json.dumps(score(rows, got, latencies, extractor.name)), file=out)
    return EXIT_OK
