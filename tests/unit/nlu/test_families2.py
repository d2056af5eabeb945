"""The mechanisms added for the second round of issue 18's families (tests/nlu/dev_families2
.jsonl): closings with what they were for, soft and dated refusals, keeping a booking as it
is, the pick left to us, a wish rather than a question, a provider search, a time or a date
set aside, a day named by the day before it, two-word service names misspelt into a common
word, and what else may be called off. Each test names the rule, with a case on each side.

`read` reads at 2026-12-01 09:00 New York, a Tuesday."""

from __future__ import annotations

from datetime import time

import pytest

from services.nlu.catalog import Catalog
from services.nlu.focus import request_time
from services.nlu.rules import RulesExtractor
from services.nlu.text import expand, normalize
from tests.unit.nlu.test_rules import SALON_NOW, read

Catalogs = dict[str, Catalog]


def clean(text: str) -> str:
    return " ".join(expand(normalize(text).split()))


# -- closings ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "that'll do it, thank you", "That's all I wanted to book, thank you",
    "That's everything I want to schedule today. Thanks!",
    "fantastic, that's all I needed to hear", "no more for me today thanks",
    "Alright, that's all I need from you. Thank you!", "Nothing else needed today, bye",
    "thanks so much for your help today!", "thanks for today!",
    "That's all I need for my appointment today, thank you", "cya",
])
def test_a_closing_says_what_it_was_for_and_asks_nothing(rules: RulesExtractor,
                                                          catalogs: Catalogs, text: str) -> None:
    assert read(rules, catalogs, text) == ("thanks", {})


def test_today_after_thanks_closes_only_at_the_end(rules: RulesExtractor,
                                                   catalogs: Catalogs) -> None:
    assert read(rules, catalogs, "thanks, today works") == ("inform", {"date": "2026-12-01"})
    assert read(rules, catalogs, "no more texts") == ("opt_out", {})  # "no more" needs a qualifier


def test_see_ya_with_a_day_is_a_goodbye_that_keeps_the_day(rules: RulesExtractor,
                                                           catalogs: Catalogs) -> None:
    assert read(rules, catalogs, "see ya tmrw") == ("thanks", {"date": "2026-12-02"})
    assert read(rules, catalogs, "ok see ya") == ("thanks", {})


@pytest.mark.parametrize("text", ["mhm", "mhmmm", "uh huh", "uh-huh"])
def test_murmured_yes(rules: RulesExtractor, catalogs: Catalogs, text: str) -> None:
    assert read(rules, catalogs, text) == ("affirm", {})


# -- refusals ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "let's wait on that", "I'm gonna hold off til I get paid", "nah, I'll wait till next month",
    "no, I'm not ready to commit yet", "not this week, thanks", "I'd like to wait before booking",
    "let me talk to my husband and i'll get back to you",
    "I'll call back when I know my schedule",  # "my schedule" is a noun, no booking
])
def test_a_decision_put_off_is_a_soft_no(rules: RulesExtractor, catalogs: Catalogs,
                                         text: str) -> None:
    assert read(rules, catalogs, text) == ("deny", {})


def test_waiting_until_a_day_is_a_detail_not_a_no(rules: RulesExtractor,
                                                  catalogs: Catalogs) -> None:
    assert read(rules, catalogs, "I'll wait till friday")[1] == {"date": "2026-12-04"}


@pytest.mark.parametrize("text", ["Not today, thank you", "i'll pass for today",
                                  "no, not tonight"])
def test_a_no_that_names_when_refuses_that_day(rules: RulesExtractor, catalogs: Catalogs,
                                               text: str) -> None:
    assert read(rules, catalogs, text) == ("deny", {})  # the day is refused, not given


def test_a_correction_after_no_still_gives_its_day(rules: RulesExtractor,
                                                   catalogs: Catalogs) -> None:
    assert read(rules, catalogs, "no, friday") == ("inform", {"date": "2026-12-04"})


@pytest.mark.parametrize(("text", "intent"), [
    ("no, leave my appointment as is", "deny"), ("no, keep it", "deny"),
    ("No, don't cancel my appointment.", "deny"), ("no, I changed my mind about booking", "deny"),
    ("keep my appointment but move it to 3", "reschedule"),
    ("I changed my mind, can I book friday instead?", "inform"),
])
def test_keeping_a_booking_or_a_changed_mind(rules: RulesExtractor, catalogs: Catalogs,
                                             text: str, intent: str) -> None:
    assert read(rules, catalogs, text)[0] == intent


# -- picks, wishes, searches -----------------------------------------------------------------

def test_the_pick_left_to_us_or_a_named_person_is_a_detail(rules: RulesExtractor,
                                                          catalogs: Catalogs) -> None:
    assert read(rules, catalogs, "whoever's free") == ("inform", {})
    assert read(rules, catalogs, "whatever's soonest") == ("inform", {})
    assert read(rules, catalogs, "earliest u got 4 a fade", "barber")[0] == "book"
    maria = rules.extract("with Maria please", catalogs["salon"], SALON_NOW)
    assert (maria.intent, maria.slots.topic) == ("inform", "staff:Maria")
    patel = rules.extract("Dr. Patel if she's available", catalogs["clinic"], SALON_NOW)
    assert (patel.intent, patel.slots.topic) == ("inform", "staff:Patel")  # a condition


def test_something_said_as_a_wish_is_a_detail(rules: RulesExtractor,
                                              catalogs: Catalogs) -> None:
    assert read(rules, catalogs, "something in the afternoon please") == (
        "inform", {"part_of_day": "afternoon"})
    assert read(rules, catalogs, "is there something in the afternoon?")[0] == "book"


@pytest.mark.parametrize(("text", "intent"), [
    ("I'm looking for a good dentist near me", "book"),
    ("Could you find me a different dentist?", "inform"),  # a retry
    ("how do I find the clinic", "faq_location"),
    ("any chance u can take me at 6:30 tonight", "book"),
    ("do you have a 3:15 on wednesday", "book"),
    ("Do you have other suggestions?", "inform"),
    ("No, I'd like the appointment on the 20th instead.", "inform"),
])
def test_searches_asks_and_retries(rules: RulesExtractor, catalogs: Catalogs, text: str,
                                   intent: str) -> None:
    assert read(rules, catalogs, text, "clinic")[0] == intent


# -- other intents ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "intent"), [
    ("is my 3pm still on?", "status"), ("did u get my booking", "status"),
    ("can we do my appt later in the day", "reschedule"),
    ("do you close for lunch?", "faq_hours"),
    ("How do I get to your office?", "faq_location"),
    ("is the clinic near a metro stop?", "faq_location"),
    ("what suite are you in", "faq_location"), ("is there a garage nearby", "faq_location"),
    ("Where is Sunrise Physical Therapy?", "faq_location"),
    ("that's all i need, but is parking available?", "faq_location"),
    ("do you treat back pain?", "faq_services"), ("can you do hot towel shaves?", "faq_services"),
    ("can you do 4 instead", "inform"), ("could you do a different day", "inform"),
    ("don't text this number again", "opt_out"), ("remove me", "opt_out"),
    ("can i talk 2 a person", "human"),
    ("my trip to denver got cancelled", "unknown"),
    ("my flight got cancelled, can I move my appointment to friday", "reschedule"),
    ("can u send me the pics from saturday", "unknown"),
])
def test_more_ways_to_ask(rules: RulesExtractor, catalogs: Catalogs, text: str,
                          intent: str) -> None:
    assert read(rules, catalogs, text, "clinic")[0] == intent


def test_sms_spellings() -> None:
    assert clean("need 2 c the doc 2day") == "need to see the doc today"
    assert clean("can i talk 2 a person") == "can i talk to a person"
    assert clean("move it 2 fri") == "move it to friday"
    assert clean("the sun was out") == "the sun was out"  # not Sunday after "the"
    assert clean("i sat down") == "i sat down"
    assert clean("sun at 2") == "sunday at 2"
    assert clean("waitlist me 4 sat") == "waitlist me for saturday"  # "4" before a day: for
    assert clean("sat 4") == "saturday 4"


# -- times and dates -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "slots"), [
    ("oops, 3:30 not 2:30", {"time": "15:30"}),
    ("could you check 3 instead of 4", {"time": "15:00"}),
    ("fri 1030", {"date": "2026-12-04", "time": "10:30"}),
    ("nope, wrong time, I said 3", {"time": "15:00"}),
    ("let's go with 4", {"time": "16:00"}),
    ("not tomorrow, the day after", {"date": "2026-12-03"}),
    ("tmrw is no good, sat?", {"date": "2026-12-05"}),
    ("i'm at work till 5 tmrw, can i come after 6?",
     {"date": "2026-12-02", "part_of_day": "evening"}),
])
def test_the_time_and_day_asked_for(rules: RulesExtractor, catalogs: Catalogs, text: str,
                                    slots: dict[str, str]) -> None:
    assert read(rules, catalogs, text)[1] == slots


def test_two_dates_tied_to_their_excuse(rules: RulesExtractor, catalogs: Catalogs) -> None:
    assert read(rules, catalogs, "could i get in on the 10th, i'm traveling on the 8th")[1] == {
        "date": "2026-12-10"}
    assert read(rules, catalogs, "saturday is no good, sunday?", "barber")[1] == {
        "date": "2026-12-06"}  # the excuse is said of the day before it
    assert read(rules, catalogs, "saturday i'm busy, can i come sunday", "barber")[1] == {
        "date": "2026-12-06"}


def test_request_time_sets_aside_a_time_refused_or_busy() -> None:
    two, three, half = time(14, 30), time(15, 30), time(17, 0)
    assert request_time("TIME not TIME", [three, two]) == three
    assert request_time("TIME or TIME", [two, three]) == three  # nothing set aside: the last
    assert request_time("busy till TIME can i come at TIME", [time(16, 0), half]) == half
    assert request_time("i am at work till TIME", [half]) is None  # only an excuse
    assert request_time("can i come after work at TIME", [half]) == half


# -- services --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "business", "service"), [
    ("bread trim tmrw", "salon", "Beard Trim"),  # two-word name: its first word misspelt
    ("the bread was stale", "salon", None),  # alone, a common word is meant as written
    ("heard trim", "salon", "Haircut"),  # a different first letter is not a misspelling
    ("can i get a kids cut and a fade for me on sunday", "barber", "Kids Cut"),
])
def test_a_misspelt_two_word_name(rules: RulesExtractor, catalogs: Catalogs, text: str,
                                  business: str, service: str | None) -> None:
    assert read(rules, catalogs, text, business)[1].get("service") == service


def test_two_services_a_few_words_apart(rules: RulesExtractor, catalogs: Catalogs) -> None:
    u = rules.extract("Can I book a cut at 5pm and a beard trim right after?", catalogs["salon"],
                      SALON_NOW)
    assert (u.slots.service, u.slots.service2) == ("Haircut", "Beard Trim")


def test_a_count_of_services_is_no_time(rules: RulesExtractor, catalogs: Catalogs) -> None:
    assert read(rules, catalogs, "i'd like to come in with my husband for 2 haircuts saturday"
                ) == ("book", {"service": "Haircut", "date": "2026-12-05"})


# -- later additions: more closings, more ways to ask, ranges said other ways ---------------

@pytest.mark.parametrize(("text", "intent"), [
    ("i got everything i need, thanks", "thanks"), ("you've answered all my questions", "thanks"),
    ("good to know, thanks", "thanks"), ("yesssir", "affirm"), ("alrighty then", "affirm"),
    ("hey girl are we still on for lunch tmrw", "unknown"),  # someone else's plans
    ("are we still on for my appointment tmrw", "status"),
    ("How long is the appointment?", "faq_services"),
    ("do u charge for cancelling", "faq_prices"), ("any deals on facials", "faq_prices"),
    ("it's a deal", "affirm"), ("hilites sat", "book"),
])
def test_more_closings_and_questions(rules: RulesExtractor, catalogs: Catalogs, text: str,
                                     intent: str) -> None:
    assert read(rules, catalogs, text)[0] == intent


@pytest.mark.parametrize(("text", "slots"), [
    ("later than 5", {"part_of_day": "evening"}),
    ("no later than 11", {"part_of_day": "morning"}),
    ("earlier than 11", {"part_of_day": "morning"}),
    ("anytime between 9 and noon", {"part_of_day": "morning"}),
    ("between noon and 3", {"part_of_day": "afternoon"}),
    ("2 to 4 works", {"part_of_day": "afternoon"}),
    ("10 to 2", {}),  # spans two parts
    ("can you change my 3 to 4", {"time": "16:00"}),  # a move, not a range
])
def test_ranges_said_other_ways(rules: RulesExtractor, catalogs: Catalogs, text: str,
                                slots: dict[str, str]) -> None:
    assert read(rules, catalogs, text)[1] == slots


def test_range_words_in_the_cleaned_text() -> None:
    assert clean("2 to 4 works") == "between 2 and 4 works"
    assert clean("i have 2 to 4 kids") == "i have 2 to 4 kids"  # a count, not hours
    assert clean("later than 5") == "after 5"
    assert clean("no later than 5") == "before 5"
    assert clean("sooner than 5") == "before 5"
    assert clean("i need 2 to 3 cuts") == "i need 2 to 3 cuts"


@pytest.mark.parametrize(("text", "intent", "slots"), [
    ("Hello, I'm calling to set up a cleaning", "book", {}),
    ("Sounds great, please book it", "affirm", {}),
    ("No, that's not what I wanted", "deny", {}),
    ("Not today, maybe next week", "deny", {}),
    ("No thanks, I'll figure it out myself", "deny", {}),  # the thanks is a courtesy
    ("Great, see you Thursday!", "thanks", {"date": "2026-12-03"}),
    ("aight bet see u sat", "affirm", {"date": "2026-12-05"}),
])
def test_yes_no_and_goodbyes_in_longer_messages(rules: RulesExtractor, catalogs: Catalogs,
                                                text: str, intent: str,
                                                slots: dict[str, str]) -> None:
    assert read(rules, catalogs, text) == (intent, slots)


@pytest.mark.parametrize("text", [
    "Can I get it on a different day?", "Are there any other times available?",
    "What other times do you have?", "Do you have anything later?", "I'm flexible",
    "whenever works for you", "Any day except Monday",  # the day named is ruled out
])
def test_retries_and_waived_picks_are_details(rules: RulesExtractor, catalogs: Catalogs,
                                              text: str) -> None:
    assert read(rules, catalogs, text) == ("inform", {})


def test_later_today_is_still_a_booking(rules: RulesExtractor, catalogs: Catalogs) -> None:
    assert read(rules, catalogs, "any openings later today?") == ("book", {"date": "2026-12-01"})


@pytest.mark.parametrize(("text", "intent"), [
    ("thanks for the help today, bye", "thanks"), ("whats the closest train stop", "faq_location"),
    ("quit texting me", "opt_out"),
])
def test_last_round(rules: RulesExtractor, catalogs: Catalogs, text: str, intent: str) -> None:
    assert read(rules, catalogs, text) == (intent, {})
