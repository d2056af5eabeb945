"""The Groq extractor against a local stub of Groq's OpenAI-compatible API: the exact
request, the cascade, and the fallback to the offline reading on every kind of failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.nlu.adapters.groq import DEFAULT_MODEL, CircuitBreaker, GroqExtractor, GroqSettings
from services.nlu.catalog import Catalog
from services.nlu.extractors import ExtractorUnavailable, make_extractor
from services.nlu.rules import RulesExtractor

from .groq_stub import KEY, PATH, GroqStub, groq_error, reply, server_error

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # a Tuesday
UNSURE = "my hair is a total disaster, help me out"  # the rules answer unknown, unsure


@pytest.fixture
def stub() -> Iterator[GroqStub]:
    with GroqStub() as s:
        yield s


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state(breaker: CircuitBreaker) -> str:
    return breaker.state


def extractor(stub: GroqStub, rules: RulesExtractor, *, key: str = KEY,
              breaker: CircuitBreaker | None = None, **settings: Any) -> GroqExtractor:
    base: dict[str, Any] = {"timeout_s": 2.0, "max_attempts": 2}
    base.update(settings)
    return GroqExtractor(GroqSettings(api_key=key, base_url=stub.base_url, **base),
                         fallback=rules, breaker=breaker, sleep=lambda _: None)


def test_request_is_what_groq_expects(stub: GroqStub, rules: RulesExtractor,
                                      catalogs: dict[str, Catalog]) -> None:
    stub.script(reply({"intent": "book", "service": "Haircut", "date_phrase": "next friday",
                       "time_phrase": "at 5", "part_of_day": None}))
    ex = extractor(stub, rules, cascade=False)
    u = ex.extract("can i get a cut next friday at 5", catalogs["salon"], NOW)

    (req,) = stub.requests
    assert req.method == "POST"
    assert req.path == PATH == "/openai/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["content-type"].startswith("application/json")
    assert req.body["model"] == DEFAULT_MODEL == "llama-3.1-8b-instant"
    assert req.body["temperature"] == 0
    assert req.body["response_format"] == {"type": "json_object"}
    system, user = req.body["messages"]
    assert system["role"] == "system" and "Haircut" in system["content"]
    assert '"opt_out"' in system["content"]  # the allowlist is in the prompt
    assert user == {"role": "user", "content": "can i get a cut next friday at 5"}

    # the model copied phrases; our parser resolved them with the spec's rules
    assert u.extractor == "groq"
    assert (u.intent, u.slots_json()) == (
        "book", {"service": "Haircut", "date": "2026-12-11", "time": "17:00"})
    assert ex.stats()["model_answers"] == 1


def test_cascade_skips_the_model_when_the_rules_are_sure(
        stub: GroqStub, rules: RulesExtractor, catalogs: dict[str, Catalog]) -> None:
    ex = extractor(stub, rules)
    for text in ("yes", "can i get a haircut tomorrow at 3pm", "cancel my appointment"):
        assert ex.extract(text, catalogs["salon"], NOW).extractor == "rules"
    assert stub.requests == []
    stats = ex.stats()
    assert stats["messages"] == 3 and stats["offline_confident"] == 3
    assert stats["cascade_rate"] == 0.0


def test_cascade_asks_the_model_when_the_rules_are_unsure(
        stub: GroqStub, rules: RulesExtractor, catalogs: dict[str, Catalog]) -> None:
    assert rules.extract(UNSURE, catalogs["salon"], NOW).intent == "unknown"
    stub.script(reply({"intent": "book"}))
    ex = extractor(stub, rules)
    u = ex.extract(UNSURE, catalogs["salon"], NOW)
    ex.extract("yes", catalogs["salon"], NOW)
    assert (u.intent, u.extractor) == ("book", "groq")
    assert len(stub.requests) == 1
    stats = ex.stats()
    assert stats["model_calls"] == 1 and stats["messages"] == 2
    assert stats["cascade_rate"] == 0.5


def test_server_errors_are_retried_a_bounded_number_of_times(
        stub: GroqStub, rules: RulesExtractor, catalogs: dict[str, Catalog]) -> None:
    stub.script(*[server_error()] * 5)
    ex = extractor(stub, rules, max_attempts=2)
    u = ex.extract(UNSURE, catalogs["salon"], NOW)
    assert (u.intent, u.extractor) == ("unknown", "rules")  # the offline reading
    assert len(stub.requests) == 2
    assert ex.stats()["retries"] == 1
    assert ex.stats()["fallback_error"] == 1


def test_a_retry_can_succeed(stub: GroqStub, rules: RulesExtractor,
                             catalogs: dict[str, Catalog]) -> None:
    stub.script(groq_error(429, "Rate limit reached", "tokens", "rate_limit_exceeded"),
                reply({"intent": "human"}))
    u = extractor(stub, rules).extract(UNSURE, catalogs["salon"], NOW)
    assert (u.intent, u.extractor) == ("human", "groq")
    assert len(stub.requests) == 2


def test_timeout_falls_back(stub: GroqStub, rules: RulesExtractor,
                            catalogs: dict[str, Catalog]) -> None:
    stub.script(reply({"intent": "book"}, delay_s=1.0), reply({"intent": "book"}, delay_s=1.0))
    ex = extractor(stub, rules, timeout_s=0.2, max_attempts=2)
    u = ex.extract(UNSURE, catalogs["salon"], NOW)
    assert u.extractor == "rules"
    assert len(stub.requests) == 2
    assert ex.stats()["fallback_error"] == 1


def test_auth_errors_are_not_retried(stub: GroqStub, rules: RulesExtractor,
                                     catalogs: dict[str, Catalog]) -> None:
    ex = extractor(stub, rules, key="gsk_wrong")
    assert ex.extract(UNSURE, catalogs["salon"], NOW).extractor == "rules"
    assert len(stub.requests) == 1


@pytest.mark.parametrize("content", [
    "Sure! The intent is book.",  # not JSON
    json.dumps({"intent": "order_pizza"}),  # outside the allowlist
    json.dumps({"service": "Haircut"}),  # no intent
    json.dumps(["book"]),  # not an object
    "",  # empty
])
def test_invalid_output_falls_back_without_retrying(
        stub: GroqStub, rules: RulesExtractor, catalogs: dict[str, Catalog],
        content: str) -> None:
    stub.script(reply(content))
    ex = extractor(stub, rules)
    u = ex.extract(UNSURE, catalogs["salon"], NOW)
    assert (u.intent, u.extractor) == ("unknown", "rules")
    assert len(stub.requests) == 1
    assert ex.stats()["fallback_invalid_output"] == 1


def test_invented_phrases_and_services_are_dropped(
        stub: GroqStub, rules: RulesExtractor, catalogs: dict[str, Catalog]) -> None:
    stub.script(reply({"intent": "book", "service": "Hot Stone Massage",
                       "date_phrase": "next tuesday", "time_phrase": "at 5"}))
    ex = extractor(stub, rules, cascade=False)
    u = ex.extract("something for my hair at 5 please", catalogs["salon"], NOW)
    assert (u.intent, u.slots_json()) == ("book", {"time": "17:00"})
    assert ex.stats()["dropped_phrase"] == 1
    assert ex.stats()["dropped_service"] == 1


def test_breaker_opens_then_lets_one_trial_through(
        stub: GroqStub, rules: RulesExtractor, catalogs: dict[str, Catalog]) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown_s=30, clock=clock)
    ex = extractor(stub, rules, breaker=breaker, max_attempts=1)
    stub.script(*[server_error()] * 3)
    for _ in range(3):
        assert ex.extract(UNSURE, catalogs["salon"], NOW).extractor == "rules"
    assert state(breaker) == "open"
    assert len(stub.requests) == 3

    ex.extract(UNSURE, catalogs["salon"], NOW)  # open: no request at all
    assert len(stub.requests) == 3
    assert ex.stats()["fallback_breaker_open"] == 1

    clock.now += 31  # cooldown over: one trial, which fails and re-opens
    stub.script(server_error())
    ex.extract(UNSURE, catalogs["salon"], NOW)
    assert len(stub.requests) == 4
    assert state(breaker) == "open"

    clock.now += 31  # the next trial succeeds and closes it
    stub.script(reply({"intent": "greeting"}))
    assert ex.extract(UNSURE, catalogs["salon"], NOW).extractor == "groq"
    assert state(breaker) == "closed"


def test_unreachable_api_never_costs_a_reply(rules: RulesExtractor,
                                             catalogs: dict[str, Catalog]) -> None:
    settings = GroqSettings(api_key=KEY, base_url="http://127.0.0.1:9", timeout_s=0.5,
                            max_attempts=2)
    ex = GroqExtractor(settings, fallback=rules, sleep=lambda _: None)
    u = ex.extract(UNSURE, catalogs["salon"], NOW)
    assert (u.intent, u.extractor) == ("unknown", "rules")
    assert ex.stats()["fallback_error"] == 1


def test_settings_from_env() -> None:
    s = GroqSettings.from_env({"GROQ_API_KEY": "k"})
    assert (s.model, s.cascade, s.base_url) == ("llama-3.1-8b-instant", True, None)
    s = GroqSettings.from_env({"GROQ_API_KEY": "k", "GROQ_MODEL": "llama-3.3-70b-versatile",
                               "GROQ_CASCADE": "0", "GROQ_TIMEOUT_S": "1.5"})
    assert (s.model, s.cascade, s.timeout_s) == ("llama-3.3-70b-versatile", False, 1.5)


def test_make_extractor_picks_groq_only_with_a_key() -> None:
    assert make_extractor(env={}).name == "rules"
    assert make_extractor(env={"GROQ_API_KEY": "k"}).name == "groq"
    assert make_extractor("rules", env={"GROQ_API_KEY": "k"}).name == "rules"
    with pytest.raises(ExtractorUnavailable):
        make_extractor("groq", env={})
    with pytest.raises(ExtractorUnavailable):
        make_extractor("bert", env={})
