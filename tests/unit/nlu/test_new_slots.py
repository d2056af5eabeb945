"""The spec's slot rules for ranges and "in N weeks", the date a request is about when a
message names two, and the extras (second service, time zone, earliest) on SMS text."""

from __future__ import annotations

from datetime import date

import pytest

from services.nlu.catalog import Catalog
from services.nlu.focus import request_date
from services.nlu.rules import RulesExtractor
from tests.unit.nlu.test_rules import SALON_NOW, read


@pytest.mark.parametrize(("text", "slots"), [
    ("between 2 and 4", {"part_of_day": "afternoon"}),
    ("before noon", {"part_of_day": "morning"}), ("before 11", {"part_of_day": "morning"}),
    ("after 5", {"part_of_day": "evening"}), ("after 2", {"part_of_day": "afternoon"}),
    ("after noon", {"part_of_day": "afternoon"}),
    ("after 10", {"part_of_day": "morning"}),  # "after N" takes the part N falls in
    ("between 9 and 11", {"part_of_day": "morning"}),
    ("2-4pm tmrw", {"date": "2026-12-02", "part_of_day": "afternoon"}),
    ("from 10a to 12p", {"part_of_day": "morning"}),
    ("between 2:30 and 4", {"part_of_day": "afternoon"}),
    ("between 11 and 1", {}), ("between 3 and 6", {}), ("before 3", {}),  # spans two parts
    ("move it from 2 to 4", {"time": "16:00"}),  # a move, not a range
])
def test_a_range_gives_the_part_of_day_it_lies_in(rules: RulesExtractor,
                                                  catalogs: dict[str, Catalog], text: str,
                                                  slots: dict[str, str]) -> None:
    assert read(rules, catalogs, text)[1] == slots


def test_a_range_alone_is_still_a_detail(rules: RulesExtractor,
                                         catalogs: dict[str, Catalog]) -> None:
    assert read(rules, catalogs, "between 11 and 1") == ("inform", {})


@pytest.mark.parametrize(("text", "day"), [
    ("in 2 weeks", "2026-12-15"), ("in two weeks", "2026-12-15"), ("in 2 wks", "2026-12-15"),
    ("in a week", "2026-12-08"), ("2 weeks from now", "2026-12-15"),
    ("in 3 days", "2026-12-04"), ("2 weeks from friday", "2026-12-18"),
])
def test_in_n_weeks_counts_from_today(rules: RulesExtractor, catalogs: dict[str, Catalog],
                                      text: str, day: str) -> None:
    assert read(rules, catalogs, text)[1] == {"date": day}


@pytest.mark.parametrize(("text", "day"), [
    ("i'm off monday, can i come in wed for a cut", "2026-12-02"),
    ("can i get friday at 2? tomorrow i'm at work", "2026-12-04"),
    ("tmrw im busy but fri works", "2026-12-04"),
    ("im on a trip till monday, can i book for tuesday", "2026-12-08"),
    ("fri instead of sat", "2026-12-04"),
    ("can't do tuesday, how about thursday?", "2026-12-03"),  # the last one, as before
])
def test_with_two_dates_the_requests_date_wins(rules: RulesExtractor,
                                               catalogs: dict[str, Catalog], text: str,
                                               day: str) -> None:
    assert read(rules, catalogs, text)[1]["date"] == day


def test_request_date_ties_an_excuse_to_the_nearest_date() -> None:
    mon, wed = date(2026, 12, 7), date(2026, 12, 2)
    assert request_date("i am off DATE can i come in DATE", [mon, wed]) == wed
    assert request_date("can i come in DATE i am off DATE", [wed, mon]) == wed
    assert request_date("DATE or DATE", [mon, wed]) == wed  # no excuse: the last
    assert request_date("busy DATE and busy DATE", [mon, wed]) == wed  # all excused: the last


def test_the_extras_survive_sms_text(rules: RulesExtractor,
                                     catalogs: dict[str, Catalog]) -> None:
    two = rules.extract("haircut + beard trim tmrw @ 3 pls", catalogs["salon"], SALON_NOW)
    assert (two.intent, two.slots.service, two.slots.service2) == (
        "book", "Haircut", "Beard Trim")
    zone = rules.extract("3p est for a trim fri", catalogs["salon"], SALON_NOW)
    assert zone.slots.timezone == "America/New_York"
    asap = rules.extract("earliest u got 4 a fade", catalogs["barber"], SALON_NOW)
    assert (asap.intent, asap.slots.earliest, asap.slots.service) == ("book", True, "Haircut")
