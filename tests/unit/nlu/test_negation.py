"""Negation scope for request verbs (services/nlu/negation.py): a refused request is a
`deny`, an existing appointment no longer wanted is a `cancel`, and a negation that does
not govern the request leaves it alone."""

from __future__ import annotations

import pytest

from services.nlu.catalog import Catalog
from services.nlu.negation import NEGREQ, scope_negation
from services.nlu.rules import RulesExtractor
from tests.unit.nlu.test_rules import read


@pytest.mark.parametrize("text", [
    "no, I don't want to book now", "not ready to set one up yet",
    "I don't want to make an appointment right now", "no i dont need an appointment",
    "please don't book that", "I'd rather not book anything yet", "no need to book anything",
    "no, I don't want to cancel", "don't cancel it", "no, I'm not trying to reschedule",
    "i don't think i want to book after all", "not tryna book rn", "pls dont move it",
    "no thank you, I'll book later",
])
def test_a_negated_request_is_deny(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                   text: str) -> None:
    assert read(rules, catalogs, text) == ("deny", {})


@pytest.mark.parametrize(("text", "slots"), [
    ("won't be needing my friday appointment anymore", {"date": "2026-12-04"}),
    ("don't need my 3pm anymore", {"time": "15:00"}),
    ("I won't need the appointment on monday", {"date": "2026-12-07"}),
])
def test_an_appointment_no_longer_needed_is_a_cancel(rules: RulesExtractor,
                                                     catalogs: dict[str, Catalog], text: str,
                                                     slots: dict[str, str]) -> None:
    assert read(rules, catalogs, text) == ("cancel", slots)


@pytest.mark.parametrize(("text", "intent"), [
    ("I don't know if I can book friday", "book"),  # "know" ends the scope
    ("I don't have an appointment yet, can I book one?", "book"),  # the request after it
    ("I don't want to cancel, I want to reschedule", "reschedule"),
    ("I can't make it friday", "cancel"),  # a cancellation said with a negation
])
def test_a_negation_outside_the_request_leaves_it(rules: RulesExtractor,
                                                  catalogs: dict[str, Catalog], text: str,
                                                  intent: str) -> None:
    assert read(rules, catalogs, text)[0] == intent


def test_a_refused_service_is_not_given(rules: RulesExtractor,
                                        catalogs: dict[str, Catalog]) -> None:
    assert read(rules, catalogs, "i dont want a facial") == ("deny", {})
    # a bare "not" in front of a service corrects it instead
    assert read(rules, catalogs, "not a haircut, a color")[1] == {"service": "Color"}


def test_scope_marks_only_the_governed_verb() -> None:
    assert scope_negation("i do not think i want to book") == (f"i {NEGREQ}", True)
    assert scope_negation("i do not know if i can book DATE") == (
        "i do not know if i can book DATE", False)
    assert scope_negation("not a SVC a SVC") == ("not a SVC a SVC", False)
