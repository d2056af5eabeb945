"""What the conversation needs beyond the four scored slots: a second service, a time zone,
a wish for the earliest time, a topic; and the requests around existing bookings."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from libs.contracts.events import Slots
from services.nlu.catalog import Catalog
from services.nlu.rules import RulesExtractor

NY_NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # a Tuesday


def slots(rules: RulesExtractor, catalogs: dict[str, Catalog], text: str,
          business: str = "salon") -> tuple[str, Slots]:
    u = rules.extract(text, catalogs[business], NY_NOW)
    return u.intent, u.slots


@pytest.mark.parametrize(("text", "business", "first", "second"), [
    ("can I get a haircut and a beard trim tomorrow at 11", "salon", "Haircut", "Beard Trim"),
    ("beard trim + facial friday", "salon", "Beard Trim", "Facial"),
    ("a kids cut then a fade for me", "barber", "Kids Cut", "Haircut"),
    ("cut and beard sat at 10", "barber", "Haircut and Beard", None),  # one service's alias
    ("a haircut or a color?", "salon", "Haircut", None),
    ("not a haircut, a color", "salon", "Color", None),
])
def test_two_services_in_the_order_named(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                         text: str, business: str, first: str,
                                         second: str | None) -> None:
    _, s = slots(rules, catalogs, text, business)
    assert (s.service, s.service2) == (first, second)


@pytest.mark.parametrize(("text", "zone"), [
    ("1pm eastern for a cut friday", "America/New_York"),
    ("haircut friday 2pm ET", "America/New_York"),
    ("can i come in at 10am pacific time", "America/Los_Angeles"),
    ("3pm central", "America/Chicago"),
    ("a pt session at 10", None),  # "pt" is no zone unless it follows a time
    ("at 4 for a cut", None),
])
def test_a_time_zone_named_after_a_time(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                        text: str, zone: str | None) -> None:
    business = "clinic" if "pt session" in text else "salon"
    _, s = slots(rules, catalogs, text, business)
    assert s.timezone == zone


@pytest.mark.parametrize("text", ["asap please, a haircut", "what's your first opening?",
                                  "earliest you can fit me in", "soonest possible for a facial",
                                  "next available appointment"])
def test_asking_for_the_earliest(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                 text: str) -> None:
    intent, s = slots(rules, catalogs, text)
    assert intent == "book" and s.earliest


@pytest.mark.parametrize(("text", "intent", "topic"), [
    ("what is your cancellation policy?", "faq_prices", "cancellation_policy"),
    ("what happens if i cancel?", "faq_prices", "cancellation_policy"),
    ("why do I need a deposit", "faq_prices", "deposit_policy"),
    ("will I get my deposit back?", "faq_prices", "deposit_policy"),
    ("do you take insurance?", "faq_prices", "unanswerable"),
    ("is there wifi", None, "unanswerable"),
    ("you are useless", "unknown", "rude"),
    ("can i get a new link?", "book", "new_link"),
    ("can I book with Maria on friday at 3", "book", "staff:Maria"),
    ("can I book with Friday at 3", "book", None),
    ("cancel my appointment", "cancel", None),
])
def test_topics(rules: RulesExtractor, catalogs: dict[str, Catalog], text: str,
                intent: str | None, topic: str | None) -> None:
    got, s = slots(rules, catalogs, text)
    assert s.topic == topic
    if intent is not None:
        assert got == intent


@pytest.mark.parametrize("text", ["what are my appointments?", "did I book anything?",
                                  "do i have anything this week", "have I booked anything",
                                  "show me my bookings", "what appointments do I have"])
def test_asking_about_ones_bookings_is_status(rules: RulesExtractor,
                                              catalogs: dict[str, Catalog], text: str) -> None:
    assert slots(rules, catalogs, text)[0] == "status"


def test_asking_what_a_day_has_is_a_booking_request_for_that_day(
        rules: RulesExtractor, catalogs: dict[str, Catalog]) -> None:
    intent, s = slots(rules, catalogs, "what do you have monday?")
    assert (intent, s.date) == ("book", date(2026, 12, 7))
    intent, s = slots(rules, catalogs, "what's open thursday afternoon")
    assert (intent, s.date, s.part_of_day) == ("book", date(2026, 12, 3), "afternoon")


@pytest.mark.parametrize("text", ["the second one", "the first one please", "last one",
                                  "2nd"])
def test_a_pick_from_a_list_is_inform(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                      text: str) -> None:
    assert slots(rules, catalogs, text)[0] == "inform"


def test_the_extras_leave_the_scored_slots_alone(rules: RulesExtractor,
                                                 catalogs: dict[str, Catalog]) -> None:
    _, s = slots(rules, catalogs, "1pm eastern for a haircut and a beard trim friday")
    assert (s.service, s.date, s.time) == ("Haircut", date(2026, 12, 4), time(13))


@pytest.mark.parametrize("text", ["HELP", "help", "Help!", "help?", "INFO", "info.", " Info "])
def test_the_help_keyword_is_unknown_with_topic_help(rules: RulesExtractor,
                                                     catalogs: dict[str, Catalog],
                                                     text: str) -> None:
    """HELP and INFO are carrier keywords: the fsm answers with the business's contact and
    opt-out instructions, whatever the conversation was doing."""
    intent, s = slots(rules, catalogs, text)
    assert (intent, s.topic) == ("unknown", "help")
    assert s.service is None and s.date is None


@pytest.mark.parametrize(("text", "intent"), [("help me book a cut", "book"),
                                              ("info about prices?", "faq_prices")])
def test_help_in_a_sentence_is_read_as_the_sentence(rules: RulesExtractor,
                                                    catalogs: dict[str, Catalog], text: str,
                                                    intent: str) -> None:
    got, s = slots(rules, catalogs, text)
    assert got == intent and s.topic != "help"
