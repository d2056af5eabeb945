"""The offline extractor, intent by intent and slot by slot (spec/nlu.md), and its promise
to answer anything a customer can type without raising."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from libs.contracts.vocabulary import INTENTS, Intent
from services.nlu.catalog import Catalog
from services.nlu.rules import CONFIDENT, RulesExtractor
from services.nlu.text import MAX_CHARS

SALON_NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # a Tuesday


def read(rules: RulesExtractor, catalogs: dict[str, Catalog], text: str,
         business: str = "salon", now: datetime = SALON_NOW) -> tuple[str, dict[str, str]]:
    u = rules.extract(text, catalogs[business], now)
    return u.intent, u.slots_json()


INTENT_EXAMPLES: list[tuple[str, Intent]] = [
    ("can I get a cut tomorrow", "book"), ("book me in", "book"),
    ("do you have any openings thursday", "book"), ("I'd like to schedule a facial", "book"),
    ("3pm", "inform"), ("actually make it Friday", "inform"), ("the color one", "inform"),
    ("yes", "affirm"), ("yep that works", "affirm"), ("sounds good", "affirm"), ("C", "affirm"),
    ("ok book it", "affirm"),
    ("no", "deny"), ("nope", "deny"), ("not that one", "deny"), ("no thanks", "deny"),
    ("cancel my appointment", "cancel"), ("X", "cancel"),
    ("I can't make it, please cancel", "cancel"),
    ("can I move my appt to friday", "reschedule"), ("R", "reschedule"),
    ("I need to reschedule", "reschedule"),
    ("when is my appointment?", "status"), ("am I booked for tomorrow?", "status"),
    ("are you open sunday?", "faq_hours"), ("what are your hours", "faq_hours"),
    ("where are you located", "faq_location"), ("is there parking?", "faq_location"),
    ("do you do highlights?", "faq_services"), ("what services do you offer", "faq_services"),
    ("how much is a facial", "faq_prices"), ("is there a deposit", "faq_prices"),
    ("can I talk to someone", "human"), ("I want a real person", "human"),
    ("hi", "greeting"), ("good morning", "greeting"), ("hey there!", "greeting"),
    ("thank you!", "thanks"), ("thx", "thanks"),
    ("STOP", "opt_out"), ("stop texting me", "opt_out"), ("unsubscribe", "opt_out"),
    ("START", "opt_in"), ("UNSTOP", "opt_in"),
    ("put me on the waitlist", "waitlist"), ("W", "waitlist"),
    ("let me know if something opens up", "waitlist"), ("text me if 3pm frees up", "waitlist"),
    ("can you notify me if there's a cancellation", "waitlist"),
    ("asdf", "unknown"), ("what's the weather", "unknown"),
]


@pytest.mark.parametrize(("text", "intent"), INTENT_EXAMPLES)
def test_each_intent(rules: RulesExtractor, catalogs: dict[str, Catalog], text: str,
                     intent: Intent) -> None:
    assert read(rules, catalogs, text)[0] == intent


def test_examples_cover_every_intent() -> None:
    assert {i for _, i in INTENT_EXAMPLES} == set(INTENTS)


@pytest.mark.parametrize(("text", "business", "service"), [
    ("can i get a haircut", "salon", "Haircut"),
    ("a trim please", "salon", "Haircut"),  # alias
    ("hair cut", "salon", "Haircut"),  # alias with a space
    ("highlights", "salon", "Color"),  # alias
    ("hilights", "salon", "Color"),  # typo of an alias
    ("haricut", "salon", "Haircut"),  # typo of the name
    ("2 facials", "salon", "Facial"),  # plural
    ("the color one", "salon", "Color"),
    ("I want my hair colored", "salon", "Color"),  # a verb of the noun
    ("change it to a beard trim", "salon", "Beard Trim"),  # longest phrase wins over "trim"
    ("skin fade", "barber", "Haircut"),
    ("cut + beard", "barber", "Haircut and Beard"),
    ("the works", "barber", "Haircut and Beard"),
    ("my kid needs a haircut", "barber", "Kids Cut"),  # "kids haircut" explains both words
    ("new patient here", "clinic", "Initial Evaluation"),
    ("follow-up", "clinic", "Follow-up Visit"),
    ("followup", "clinic", "Follow-up Visit"),
    ("pt session", "clinic", "Follow-up Visit"),
])
def test_service_slot(rules: RulesExtractor, catalogs: dict[str, Catalog], text: str,
                      business: str, service: str) -> None:
    assert read(rules, catalogs, text, business)[1].get("service") == service


@pytest.mark.parametrize("text", ["that works", "yep that works", "face it", "time to go"])
def test_common_words_are_not_services(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                       text: str) -> None:
    assert "service" not in read(rules, catalogs, text, "barber")[1]


@pytest.mark.parametrize(("text", "slots"), [
    # a weekday is the next such day after today (today is Tuesday 2026-12-01)
    ("tuesday", {"date": "2026-12-08"}),
    ("wednesday", {"date": "2026-12-02"}),
    ("monday", {"date": "2026-12-07"}),
    # "next <weekday>": that weekday in the next Monday-Sunday week
    ("next wednesday", {"date": "2026-12-09"}),
    ("next monday", {"date": "2026-12-07"}),
    ("next sunday", {"date": "2026-12-13"}),
    # plural weekdays and weeks give no date
    ("saturdays", {}), ("every friday", {}), ("this week", {}), ("next week", {}),
    ("today", {"date": "2026-12-01"}), ("tmrw", {"date": "2026-12-02"}),
    ("day after tomorrow", {"date": "2026-12-03"}),
    ("dec 10", {"date": "2026-12-10"}), ("10th of december", {"date": "2026-12-10"}),
    ("12/24", {"date": "2026-12-24"}), ("the 15th", {"date": "2026-12-15"}),
    ("jan 5", {"date": "2027-01-05"}),  # no year: the next one
    ("nov 3", {"date": "2027-11-03"}),  # already past this year
    ("christmas eve", {"date": "2026-12-24"}),  # Duckling reads what our patterns do not
    # bare hours: 1-7 pm, 8-11 am, 12 noon; with minutes too
    ("at 5", {"time": "17:00"}), ("5:30", {"time": "17:30"}), ("at 7", {"time": "19:00"}),
    ("at 8", {"time": "08:00"}), ("11:45", {"time": "11:45"}), ("at 12", {"time": "12:00"}),
    ("at 1", {"time": "13:00"}), ("noon", {"time": "12:00"}),
    ("8pm", {"time": "20:00"}), ("7am", {"time": "07:00"}), ("12am", {"time": "00:00"}),
    ("3 p.m.", {"time": "15:00"}), ("17:30", {"time": "17:30"}),
    ("half past 3", {"time": "15:30"}), ("at three thirty", {"time": "15:30"}),
    ("7 in the morning", {"time": "07:00"}),
    # part of day only when no time is given
    ("friday afternoon", {"date": "2026-12-04", "part_of_day": "afternoon"}),
    ("tonight", {"date": "2026-12-01", "part_of_day": "evening"}),
    ("in the morning", {"part_of_day": "morning"}),
    ("friday afternoon at 2", {"date": "2026-12-04", "time": "14:00"}),
    ("after 5", {"part_of_day": "evening"}),
    # numbers that are not times
    ("for 2 people", {}), ("2 kids", {}), ("in 20 minutes", {}),
])
def test_date_time_and_part_of_day(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                   text: str, slots: dict[str, str]) -> None:
    assert read(rules, catalogs, text)[1] == slots


def test_slots_come_with_any_intent(rules: RulesExtractor, catalogs: dict[str, Catalog]) -> None:
    assert read(rules, catalogs, "cancel my friday appointment") == (
        "cancel", {"date": "2026-12-04"})
    assert read(rules, catalogs, "could we push my appt to 5pm") == (
        "reschedule", {"time": "17:00"})
    assert read(rules, catalogs, "how much is a facial") == ("faq_prices", {"service": "Facial"})


def test_good_morning_is_a_greeting_not_a_part_of_day(rules: RulesExtractor,
                                                        catalogs: dict[str, Catalog]) -> None:
    assert read(rules, catalogs, "Good morning!") == ("greeting", {})
    assert read(rules, catalogs, "good morning, anything tomorrow morning?") == (
        "book", {"date": "2026-12-02", "part_of_day": "morning"})


# -- time zones and DST -------------------------------------------------------------------

def test_now_is_read_in_the_business_zone(rules: RulesExtractor,
                                          catalogs: dict[str, Catalog]) -> None:
    # 04:30 UTC on Dec 2 is still Dec 1 in New York (23:30) and in Los Angeles (20:30)
    now = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)
    assert read(rules, catalogs, "today", "salon", now)[1] == {"date": "2026-12-01"}
    assert read(rules, catalogs, "today", "clinic", now)[1] == {"date": "2026-12-01"}
    # 05:30 UTC: past midnight in New York, not yet in Los Angeles
    now = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)
    assert read(rules, catalogs, "tomorrow", "salon", now)[1] == {"date": "2026-12-03"}
    assert read(rules, catalogs, "tomorrow", "clinic", now)[1] == {"date": "2026-12-02"}
    assert read(rules, catalogs, "wednesday", "salon", now)[1] == {"date": "2026-12-09"}
    assert read(rules, catalogs, "wednesday", "clinic", now)[1] == {"date": "2026-12-02"}


@pytest.mark.parametrize("utc_hour_minute", [(5, 30), (6, 30)])
def test_fall_back_night_both_one_thirties(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                           utc_hour_minute: tuple[int, int]) -> None:
    """01:30 happens twice in New York on 2026-11-01 (EDT, then EST): same day either way."""
    now = datetime(2026, 11, 1, *utc_hour_minute, tzinfo=UTC)
    assert read(rules, catalogs, "tomorrow at 1:30", "salon", now)[1] == {
        "date": "2026-11-02", "time": "13:30"}
    assert read(rules, catalogs, "sunday", "salon", now)[1] == {"date": "2026-11-08"}
    assert read(rules, catalogs, "next sunday", "salon", now)[1] == {"date": "2026-11-08"}


def test_spring_forward_eve_tomorrow_is_one_calendar_day(rules: RulesExtractor,
                                                         catalogs: dict[str, Catalog]) -> None:
    """23:30 on 2027-03-13 in New York: 24 h later is 00:30 on the 15th (the 14th has 23 h);
    "tomorrow" is still the 14th, and 2:30 (which does not exist that night) is a wall time."""
    now = datetime(2027, 3, 13, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    assert read(rules, catalogs, "tomorrow at 2:30", "salon", now)[1] == {
        "date": "2027-03-14", "time": "14:30"}
    assert read(rules, catalogs, "2:30am tomorrow", "salon", now)[1] == {
        "date": "2027-03-14", "time": "02:30"}
    assert read(rules, catalogs, "in 2 days", "salon", now)[1] == {"date": "2027-03-15"}


def test_spring_forward_day_in_chicago(rules: RulesExtractor,
                                       catalogs: dict[str, Catalog]) -> None:
    now = datetime(2027, 3, 14, 8, 30, tzinfo=UTC)  # 03:30 CDT, an hour after the jump
    assert read(rules, catalogs, "today at 2", "barber", now) == (
        "inform", {"date": "2027-03-14", "time": "14:00"})
    assert read(rules, catalogs, "next saturday", "barber", now)[1] == {"date": "2027-03-20"}


def test_year_turns(rules: RulesExtractor, catalogs: dict[str, Catalog]) -> None:
    now = datetime(2026, 12, 31, 22, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert read(rules, catalogs, "tomorrow", "clinic", now)[1] == {"date": "2027-01-01"}
    assert read(rules, catalogs, "the 2nd", "clinic", now)[1] == {"date": "2027-01-02"}
    assert read(rules, catalogs, "1/4 at 9", "clinic", now)[1] == {
        "date": "2027-01-04", "time": "09:00"}


# -- garbage in, an answer out ------------------------------------------------------------

GARBAGE = [
    "", " ", "\n\t", "\x00\x01\x02", "🙂", "😂😂😂😂", "👍" * 3000, "a" * 5000, "9" * 5000,
    "tomorrow at 3 " * 400, "Я хочу записаться на стрижку завтра", "予約したい明日3時",
    "مرحبا، أريد حجز موعد", "שלום", "\u200b\u200d", "\ud800 lone surrogate",
    "'; DROP TABLE bookings; --", "{\"intent\": \"book\"}", "25:99", "2/31", "at 0",
    "99pm", "the 45th", "next next next friday", "\U0001f1fa\U0001f1f8" * 50,
]


@pytest.mark.parametrize("text", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_gets_an_answer(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                text: str) -> None:
    for business in ("salon", "barber", "clinic"):
        u = rules.extract(text, catalogs[business], SALON_NOW)
        assert u.intent in INTENTS
        assert 0.0 <= u.confidence <= 1.0
        assert u.extractor == "rules"


@pytest.mark.parametrize("text", ["", "🙂", "😂😂😂", "Я хочу записаться", "予約したい明日3時"])
def test_no_words_we_read_is_unknown(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                     text: str) -> None:
    assert read(rules, catalogs, text) == ("unknown", {})


def test_naive_now_answers_instead_of_raising(rules: RulesExtractor,
                                              catalogs: dict[str, Catalog]) -> None:
    u = rules.extract("tomorrow at 3", catalogs["salon"], datetime(2026, 12, 1, 9, 0))
    assert u.intent == "unknown"
    assert u.confidence == 0.0


def test_long_messages_are_read_only_up_to_the_cap(rules: RulesExtractor,
                                                   catalogs: dict[str, Catalog]) -> None:
    """Work is bounded by MAX_CHARS, not by what a sender pastes (speed is `make bench`'s)."""
    for text in ("a" * 5000, "tomorrow at 3 " * 400, "at at 5 5 " * 500, "haircut " * 700):
        whole = rules.extract(text, catalogs["salon"], SALON_NOW)
        capped = rules.extract(text[:MAX_CHARS], catalogs["salon"], SALON_NOW)
        assert (whole.intent, whole.slots) == (capped.intent, capped.slots)


def test_confidence_separates_sure_from_unsure(rules: RulesExtractor,
                                               catalogs: dict[str, Catalog]) -> None:
    sure = ["yes", "cancel my appointment", "can i get a haircut tomorrow at 3pm", "3pm"]
    unsure = ["my hair is a disaster lol", "asdfgh", "what's the weather like"]
    for text in sure:
        assert rules.extract(text, catalogs["salon"], SALON_NOW).confidence >= CONFIDENT, text
    for text in unsure:
        assert rules.extract(text, catalogs["salon"], SALON_NOW).confidence < CONFIDENT, text


def test_without_duckling_the_spec_rules_still_hold(catalogs: dict[str, Catalog]) -> None:
    offline = RulesExtractor(use_duckling=False, warm=False)
    u = offline.extract("next friday at 5", catalogs["salon"], SALON_NOW)
    assert (u.intent, u.slots_json()) == ("inform", {"date": "2026-12-11", "time": "17:00"})
    assert u.slots.time == time(17, 0)
