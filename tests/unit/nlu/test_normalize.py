"""The normaliser (services/nlu/text.py): stretched words, SMS shorthand and typos all
reach the rules in one spelling; a common word is never taken for a typo of another."""

from __future__ import annotations

import pytest

from services.nlu.catalog import Catalog
from services.nlu.rules import RulesExtractor
from services.nlu.text import expand, is_common, normalize, unstretch
from tests.unit.nlu.test_rules import SALON_NOW, read


@pytest.mark.parametrize(("word", "plain"), [
    ("yeahhh", "yeah"), ("nopeee", "nope"), ("sureee", "sure"), ("heyyy", "hey"),
    ("pleasee", "please"), ("thankss", "thanks"), ("soooo", "so"), ("okayyy", "okay"),
    ("cool", "cool"), ("book", "book"), ("good", "good"),  # real double letters stay
])
def test_stretched_words_shrink_to_a_word_we_know(word: str, plain: str) -> None:
    assert unstretch(word) == plain


@pytest.mark.parametrize(("text", "intent"), [
    ("yeahhh", "affirm"), ("nopeee", "deny"), ("noooo", "deny"), ("yesss perfect", "affirm"),
    ("thank youuu", "thanks"), ("hiii", "greeting"),
])
def test_stretched_messages_read_as_their_word(rules: RulesExtractor,
                                               catalogs: dict[str, Catalog], text: str,
                                               intent: str) -> None:
    assert read(rules, catalogs, text)[0] == intent


@pytest.mark.parametrize(("text", "words"), [
    ("can i get a cut tmrw @3", "can i get a cut tomorrow @ 3"),
    ("pls book me 4 a trim", "please book me for a trim"),
    ("need 2 cancel my appt", "need to cancel my appointment"),
    ("at 4 tmrw", "at 4 tomorrow"),  # a time stays a time
    ("2-4pm", "between 2 and 4pm"),
    ("lookin 4 a barber 2moro", "looking for a barber tomorrow"),
    ("lmk if sumthin opens", "let me know if something opens"),
    ("in 2wks", "in 2 weeks"),
])
def test_shorthand_is_expanded(text: str, words: str) -> None:
    assert " ".join(expand(normalize(text).split())) == words


@pytest.mark.parametrize(("text", "slots"), [
    ("10a tmrw", {"date": "2026-12-02", "time": "10:00"}),
    ("3p works", {"time": "15:00"}), ("4ish?", {"time": "16:00"}),
    ("noonish", {"time": "12:00"}), ("at 230", {"time": "14:30"}),
    ("wendsday at 2", {"date": "2026-12-02", "time": "14:00"}),
    ("thrusday morning", {"date": "2026-12-03", "part_of_day": "morning"}),
])
def test_sms_times_and_weekday_typos(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                     text: str, slots: dict[str, str]) -> None:
    assert read(rules, catalogs, text)[1] == slots


def test_common_words_are_guarded() -> None:
    for word in ("trip", "paper", "bears", "date", "kiss", "fellow", "evan", "shane"):
        assert is_common(word), word
    for typo in ("beerd", "hiarcut", "facal", "wendsday", "tommorow", "hilights"):
        assert not is_common(typo), typo


@pytest.mark.parametrize(("text", "business", "service"), [
    ("beerd trim fri", "salon", "Beard Trim"), ("facal on thrusday?", "salon", "Facial"),
    ("kidz cut sat", "barber", "Kids Cut"), ("folow up visit tues", "clinic", "Follow-up Visit"),
    ("im on a trip till monday", "salon", None),  # not "trim"
    ("the bears game is on", "salon", None),  # not "beard"
    ("can you send the paper work", "barber", None),  # not "taper"
    ("this is evan", "clinic", None),  # a name is no typo of "eval"
    ("what date works", "barber", None),  # not "fade"
])
def test_typos_of_services_match_but_common_words_do_not(
        rules: RulesExtractor, catalogs: dict[str, Catalog], text: str, business: str,
        service: str | None) -> None:
    assert rules.extract(text, catalogs[business], SALON_NOW).slots.service == service
