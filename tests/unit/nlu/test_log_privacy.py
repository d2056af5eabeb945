"""A customer's words never reach nlu's error logs, even when an exception quotes them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from services.nlu.adapters.groq import GroqExtractor, GroqSettings
from services.nlu.catalog import Catalog
from services.nlu.rules import RulesExtractor

PRIVATE = " ".join(["please", "book", "me,", "I", "am", "pregnant"])  # in no source line


def quoting_failure(self: Any, text: str, *args: Any) -> Any:
    raise ValueError(f"cannot read {text!r}")


def test_rules_extractor_failure_is_logged_without_the_text(
        catalogs: dict[str, Catalog], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rules = RulesExtractor(use_duckling=False, warm=False)
    monkeypatch.setattr(RulesExtractor, "_extract", quoting_failure)
    with caplog.at_level(logging.INFO):
        understood = rules.extract(PRIVATE, catalogs["salon"], datetime.now(UTC))
    assert understood.intent == "unknown"
    assert "rules extractor failed" in caplog.text and "ValueError" in caplog.text
    assert "pregnant" not in caplog.text


def test_groq_extractor_unexpected_failure_is_logged_without_the_text(
        catalogs: dict[str, Catalog], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rules = RulesExtractor(use_duckling=False, warm=False)
    groq = GroqExtractor(GroqSettings(api_key="gsk_test", base_url="http://127.0.0.1:9",
                                      cascade=False), fallback=rules, sleep=lambda _: None)
    monkeypatch.setattr(GroqExtractor, "_call", quoting_failure)
    with caplog.at_level(logging.INFO):
        groq.extract(PRIVATE, catalogs["salon"], datetime.now(UTC))
    assert "groq extractor failed unexpectedly" in caplog.text
    assert "pregnant" not in caplog.text
