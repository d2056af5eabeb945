"""Requests the issue's families name: the waitlist, a visit asked for through a person, a
retry or a pick, where-questions about "they", and messages meant for someone else."""

from __future__ import annotations

import pytest

from services.nlu.catalog import Catalog
from services.nlu.rules import RulesExtractor
from tests.unit.nlu.test_rules import read


@pytest.mark.parametrize(("text", "slots"), [
    ("put me on the waitlist", {}), ("W", {}), ("w pls", {}),
    ("let me know if something opens up", {}), ("text me if 3pm frees up", {"time": "15:00"}),
    ("can you notify me if there's a cancellation", {}),
    ("if someone cancels on thursday let me know", {"date": "2026-12-03"}),
    ("waitlist me for a facial friday", {"service": "Facial", "date": "2026-12-04"}),
])
def test_waitlist(rules: RulesExtractor, catalogs: dict[str, Catalog], text: str,
                  slots: dict[str, str]) -> None:
    assert read(rules, catalogs, text) == ("waitlist", slots)


@pytest.mark.parametrize(("text", "business", "intent", "slots"), [
    ("I need to see a doctor", "clinic", "book", {}),
    ("find me a dentist at 5:15", "clinic", "book", {"time": "17:15"}),
    ("a visit with the therapist", "clinic", "book", {}),
    ("is the doctor free on monday at 10?", "clinic", "book",
     {"date": "2026-12-07", "time": "10:00"}),
    ("I'd like to speak with the therapist", "clinic", "human", {}),  # talking is not a visit
    ("can you try 11 instead", "salon", "inform", {"time": "11:00"}),
    ("let's go with that one", "salon", "inform", {}),
    ("option 2", "salon", "inform", {}),
    ("where are they located?", "clinic", "faq_location", {}),
    ("where is that office?", "clinic", "faq_location", {}),
    ("yes, go ahead and make it", "salon", "affirm", {}),
    ("yes that's fine", "salon", "affirm", {}),
])
def test_requests_around_a_person_or_a_retry(rules: RulesExtractor,
                                             catalogs: dict[str, Catalog], text: str,
                                             business: str, intent: str,
                                             slots: dict[str, str]) -> None:
    assert read(rules, catalogs, text, business) == (intent, slots)


@pytest.mark.parametrize("text", [
    "sorry wrong number", "babe can you grab milk on the way home", "mom pick me up at 5 pls",
    "tell dad i'll be late tonight", "can u grab the kids at 3",
])
def test_a_message_for_someone_else_is_unknown(rules: RulesExtractor,
                                               catalogs: dict[str, Catalog], text: str) -> None:
    assert read(rules, catalogs, text, "barber") == ("unknown", {})


def test_someone_else_named_in_a_request_is_still_ours(rules: RulesExtractor,
                                                       catalogs: dict[str, Catalog]) -> None:
    assert read(rules, catalogs, "can i book my mom in for a cut friday")[0] == "book"
    assert read(rules, catalogs, "stop texting me, wrong number") == ("opt_out", {})


@pytest.mark.parametrize(("text", "intent"), [
    ("can you try 11 am instead?", "inform"), ("any other options?", "inform"),
    ("earlier?", "inform"), ("could you find me a different stylist?", "inform"),
    ("I'll take the 3pm one", "inform"), ("no preference", "inform"),
    ("do you have anything friday?", "book"),  # asks anew: a booking, not a retry
    ("can you check for something at 1:30 instead?", "inform"),  # "instead" makes it a retry
])
def test_a_pick_or_a_retry_is_inform(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                     text: str, intent: str) -> None:
    assert read(rules, catalogs, text)[0] == intent


@pytest.mark.parametrize(("text", "intent"), [
    ("let me check my schedule and get back to you", "deny"),
    ("let me ask my husband", "deny"), ("I'll wait", "deny"), ("let's hold off", "deny"),
    ("not right now", "deny"), ("maybe some other time", "deny"),
    ("I need to see a doctor", "book"),  # "need to see" a person is no putting off
])
def test_putting_it_off_is_a_soft_no(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                     text: str, intent: str) -> None:
    assert read(rules, catalogs, text, "clinic")[0] == intent


@pytest.mark.parametrize("text", [
    "any cancellations lmk", "notify me of any cancellations",
    "i'd like to be notified if something opens", "if anyone cancels can i have their spot",
    "put me on the list", "i'll take anything that opens up",
])
def test_waitlist_phrasings(rules: RulesExtractor, catalogs: dict[str, Catalog],
                            text: str) -> None:
    assert read(rules, catalogs, text)[0] == "waitlist"
