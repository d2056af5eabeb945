"""The politeness layer (services/nlu/closings.py): closings, thanks, praise and goodbyes are
read before any request rule, so what they contain ("need", "today", "that is it") asks
for nothing, while a real request after them still counts."""

from __future__ import annotations

import pytest

from services.nlu.catalog import Catalog
from services.nlu.closings import settle, strip_politeness
from services.nlu.rules import RulesExtractor
from tests.unit.nlu.test_rules import read


@pytest.mark.parametrize("text", [
    "thanks, that's all I needed", "ok that's everything I want, thank you", "that'll be all",
    "I'm all set, thanks", "we're done here, bye", "awesome, thank you!",
    "Thank you so much, that's all I need today.", "no that's all thank you",
    "that is it for now, thanks", "nope that's it, thanks!", "I don't need anything else, thanks",
    "thx thats all i need 4 today", "Thanks for booking it, that's all", "bye!",
    "you've been very helpful, thank you", "I'm good, thanks for the help", "k thx bye",
])
def test_a_closing_is_thanks_with_no_slots(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                           text: str) -> None:
    assert read(rules, catalogs, text) == ("thanks", {})


@pytest.mark.parametrize(("text", "intent"), [
    ("perfect, thanks", "affirm"),  # accepts the offer: the thanks is a courtesy
    ("sounds great, thank you!", "affirm"),
    ("no thanks", "deny"), ("no thanks, i'm good", "deny"),  # declines
    ("that's it! book it", "affirm"),  # "that is it" closes only with "for now", a "no" ...
    ("yes that's all correct", "affirm"),  # ... or at the end: here it is a yes
])
def test_thanks_beside_a_yes_or_a_no_keeps_it(rules: RulesExtractor,
                                              catalogs: dict[str, Catalog], text: str,
                                              intent: str) -> None:
    assert read(rules, catalogs, text)[0] == intent


def test_a_request_after_the_closing_is_still_read(rules: RulesExtractor,
                                                   catalogs: dict[str, Catalog]) -> None:
    assert read(rules, catalogs, "thanks! can i also get a beard trim tmrw at 4") == (
        "book", {"service": "Beard Trim", "date": "2026-12-02", "time": "16:00"})
    assert read(rules, catalogs, "that's all i need, but can you cancel my friday appt") == (
        "cancel", {"date": "2026-12-04"})


def test_the_layer_takes_out_only_politeness() -> None:
    polite = strip_politeness("thanks for your help can i book friday")
    assert polite.thanks and polite.closing  # thanks for the help ends a conversation
    assert polite.rest == "can i book friday"
    assert not polite.only_polite
    plain = strip_politeness("can i book friday")
    assert not plain.polite and plain.rest == "can i book friday"
    assert strip_politeness("awesome thank you !").only_polite  # praise goes with the thanks
    assert strip_politeness("awesome").rest == "awesome"  # alone, praise is a yes


def test_settle_keeps_a_request_and_turns_small_talk_into_thanks() -> None:
    closing = strip_politeness("no that is all i need")
    assert settle(closing, "deny") == "thanks"
    assert settle(closing, "cancel") == "cancel"
    thanked = strip_politeness("thanks")
    assert settle(thanked, "affirm") == "affirm"
    assert settle(thanked, "unknown") == "thanks"
    assert settle(strip_politeness("hello"), "greeting") == "greeting"


@pytest.mark.parametrize(("text", "intent"), [
    ("that's it", "thanks"), ("ok that's it", "thanks"),  # said at the end: nothing more
    ("yes that's it", "affirm"),  # after a yes it confirms
    ("ok thanks", "thanks"), ("got it, thank you", "thanks"),  # an acknowledgement accepts nothing
    ("No, thank you so much.", "thanks"),  # gratitude; "no thank you" declines
    ("no thank you", "deny"),
    ("Thanks, I'll see you Friday!", "thanks"),
])
def test_the_edges_of_a_closing(rules: RulesExtractor, catalogs: dict[str, Catalog], text: str,
                                intent: str) -> None:
    assert read(rules, catalogs, text)[0] == intent
