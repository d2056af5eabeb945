"""`receptionist nlu eval` (spec/nlu.md, "The evaluation command"): the targets on the public
dev set and on our own held-out set, the output format and the metrics' definitions."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from libs.business.fixtures import default_businesses_dir
from libs.contracts.events import Slots
from services.nlu.evaluate import Row, run_eval, score
from services.nlu.extractor import Understanding
from tests.helpers import REPO, SHARED

from .conftest import DEV

KEYS = ["n", "intent_accuracy", "slot_precision", "slot_recall", "slot_f1", "frame_exact",
        "p50_ms", "p99_ms", "extractor"]


def evaluate(path: Path, businesses_dir: Path, **kw: Any) -> tuple[int, list[str], dict[str, Any]]:
    out = io.StringIO()
    code = run_eval(path, "rules", businesses_dir, out=out, **kw)
    lines = out.getvalue().splitlines()
    return code, lines, json.loads(lines[-1]) if lines else {}


@pytest.mark.parametrize("path", [
    DEV, pytest.param(SHARED / "nlu" / "dev.jsonl", marks=pytest.mark.skipif(
        not (SHARED / "nlu" / "dev.jsonl").is_file(),
        reason="the outside acceptance set (../shared) is not beside this clone"))],
    ids=["own dev", "shared dev"])
def test_targets(businesses_dir: Path, path: Path) -> None:
    result = evaluate(path, businesses_dir)[2]
    assert result["intent_accuracy"] >= 0.95
    assert result["slot_f1"] >= 0.93
    assert result["frame_exact"] >= 0.88
    assert result["n"] >= 95  # latency is measured by `make bench`, never asserted


def test_dev_set_is_large_and_varied() -> None:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 60
    assert {r["business"] for r in rows} == {"salon", "barber", "clinic"}
    assert len({r["now"] for r in rows}) >= 10
    assert {k for r in rows for k in r["slots"]} == {"service", "date", "time", "part_of_day"}


def test_output_is_misses_then_one_json_line(tmp_path: Path, businesses_dir: Path) -> None:
    rows = [
        {"text": "3pm", "business": "salon", "now": "2026-12-01T09:00", "intent": "inform",
         "slots": {"time": "15:00"}, "note": "extra keys are ignored"},
        {"text": "tomorrow", "business": "barber", "now": "2026-12-03T16:00",
         "intent": "book", "slots": {"date": "2026-12-05"}},
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    predictions = tmp_path / "pred.jsonl"
    code, lines, result = evaluate(path, businesses_dir, predictions_out=predictions)
    assert code == 0
    assert list(result) == KEYS
    assert lines[0] == 'MISS "tomorrow"'
    assert "expected: book" in lines[1] and "2026-12-05" in lines[1]
    assert "got:      inform" in lines[2] and "2026-12-04" in lines[2]
    assert result["n"] == 2
    assert result["intent_accuracy"] == 0.5
    assert result["frame_exact"] == 0.5
    assert result["extractor"] == "rules"
    written = [json.loads(x) for x in predictions.read_text(encoding="utf-8").splitlines()]
    assert written == [
        {"text": "3pm", "intent": "inform", "slots": {"time": "15:00"}},
        {"text": "tomorrow", "intent": "inform", "slots": {"date": "2026-12-04"}},
    ]


def test_metrics_over_triples() -> None:
    now = datetime(2026, 12, 1, 9, 0)
    rows = [Row("a", "salon", now, "book", {"service": "Haircut", "time": "15:00"}),
            Row("b", "salon", now, "inform", {"date": "2026-12-02"}),
            Row("c", "salon", now, "affirm", {})]
    got = [Understanding("book", Slots(service="Haircut"), 1.0, "x"),
           Understanding("inform", Slots(date=datetime(2026, 12, 3).date()), 1.0, "x"),
           Understanding("deny", Slots(), 1.0, "x")]
    result = score(rows, got, [1.0, 2.0, 3.0], "x")
    assert result["slot_precision"] == 0.5  # 1 of 2 predicted triples right
    assert result["slot_recall"] == pytest.approx(0.3333, abs=1e-4)  # 1 of 3 expected
    assert result["slot_f1"] == pytest.approx(0.4, abs=1e-4)
    assert result["intent_accuracy"] == pytest.approx(0.6667, abs=1e-4)
    assert result["frame_exact"] == 0.0
    assert result["p50_ms"] == 2.0
    assert result["p99_ms"] == 3.0


@pytest.mark.parametrize("content", ["not json\n", '{"text": "x"}\n'])
def test_bad_set_exits_2(tmp_path: Path, businesses_dir: Path, content: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    assert run_eval(path, "rules", businesses_dir, out=io.StringIO()) == 2
    assert "not an evaluation row" in capsys.readouterr().err


def test_unknown_business_or_extractor_exits_2(tmp_path: Path, businesses_dir: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"text": "hi", "business": "nope", "now": "2026-12-01T09:00",
                                "intent": "greeting", "slots": {}}) + "\n", encoding="utf-8")
    assert run_eval(path, "rules", businesses_dir, out=io.StringIO()) == 2
    assert run_eval(DEV, "gpt-17", businesses_dir, out=io.StringIO()) == 2
    assert run_eval(tmp_path / "missing.jsonl", "rules", businesses_dir,
                    out=io.StringIO()) == 2


def test_default_businesses_are_the_repository_examples(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # wherever the command runs from
    assert default_businesses_dir() == REPO / "examples" / "businesses"
