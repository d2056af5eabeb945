"""Spanish and Spanglish messages (docs/nlu.md, "Spanish"): the rewrite into the English the
rules read, Spanish dates and times by the same rules as English, and the language reading."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from libs.business.fixtures import default_businesses_dir
from services.nlu.catalog import Catalog, phrase_tokens
from services.nlu.language import read_language
from services.nlu.rules import RulesExtractor
from services.nlu.spanish import fold, translate

from .test_handlers import (
    asked as _asked,  # noqa: F401 (registers the `asked` fixture)
    context,
    inbound,
    understand,
)

SETS = Path(__file__).resolve().parents[2] / "nlu"
EXTRACTOR = RulesExtractor(use_duckling=False, warm=False)


def _catalog(business: str) -> Catalog:
    return Catalog.from_file(default_businesses_dir() / f"{business}.yaml")


def _read(text: str, business: str = "salon", now: str = "2026-12-01T09:00"
          ) -> tuple[str, dict[str, str], str | None]:
    catalog = _catalog(business)
    when = datetime.fromisoformat(now).replace(tzinfo=catalog.timezone)
    u = EXTRACTOR.extract(text, catalog, when)
    return u.intent, u.slots_json(), u.language


# -- the rewrite -----------------------------------------------------------------------------

def test_fold_drops_accents_and_keeps_the_accented_yes() -> None:
    assert fold("¿Mañana?") == " manana?"
    assert fold("sí, claro").startswith(" yes ")


@pytest.mark.parametrize(("text", "english"), [
    ("pasado mañana", "the day after tomorrow"),
    ("mañana en la mañana", "tomorrow in the morning"),
    ("a las 3 de la tarde", "at 3 in the afternoon"),
    ("el próximo lunes", "next monday"),
    ("los sábados", "saturdays"),
    ("el 3 de diciembre", "december 3"),
    ("en dos semanas", "in 2 weeks"),
    ("a las 4 menos cuarto", "at 3:45"),
    ("a las 2 y media", "at 2:30"),
])
def test_dates_and_times_are_said_in_english(text: str, english: str) -> None:
    assert translate(text) == english


@pytest.mark.parametrize(("text", "english"), [
    ("q tal", "how are you"),
    ("xfa", "please"),
    ("tmb", "also"),
    ("kiero una sita", "i want a appointment"),
    ("holaaa", "hi"),
    ("el biernes", "friday"),
])
def test_sms_spellings_stretched_words_and_typos(text: str, english: str) -> None:
    assert translate(text) == english


@pytest.mark.parametrize(("text", "english"), [
    ("si", "yes"),
    ("si, perfecto", "yes , perfect"),
    ("si alguien cancela", "if someone cancels"),
    ("en la tarde si se puede", "in the afternoon if possible"),
])
def test_si_is_yes_or_if_from_what_follows(text: str, english: str) -> None:
    assert translate(text) == english


def test_english_words_of_a_mixed_message_are_left_as_written() -> None:
    assert translate("can I get una cita para el friday") == \
        "can i get a appointment for friday"


def test_a_spanish_alias_and_a_message_meet_in_the_same_words() -> None:
    alias = phrase_tokens("corte de niño")
    assert alias == phrase_tokens("corte de nino")
    assert " ".join(alias) in " ".join(phrase_tokens("necesito un corte de niño"))


# -- what the extractor reads ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "business", "intent", "slots"), [
    ("quiero una cita mañana a las 3", "salon", "book", {"date": "2026-12-02", "time": "15:00"}),
    ("el viernes", "barber", "inform", {"date": "2026-12-04"}),
    ("10 de la mañana", "clinic", "inform", {"time": "10:00"}),
    ("al mediodía", "clinic", "inform", {"time": "12:00"}),
    ("por la noche", "barber", "inform", {"part_of_day": "evening"}),
    ("dale", "barber", "affirm", {}),
    ("no gracias", "salon", "deny", {}),
    ("cancela mi corte del sábado porfa", "barber", "cancel",
     {"service": "Haircut", "date": "2026-12-05"}),
    ("puedo cambiar mi cita para el jueves?", "salon", "reschedule", {"date": "2026-12-03"}),
    ("¿cuándo es mi cita?", "salon", "status", {}),
    ("¿a qué hora abren?", "salon", "faq_hours", {}),
    ("cual es la direccion", "barber", "faq_location", {}),
    ("¿cuánto cuesta un corte?", "salon", "faq_prices", {"service": "Haircut"}),
    ("quiero hablar con una persona", "clinic", "human", {}),
    ("buenas tardes", "clinic", "greeting", {}),
    ("mil gracias", "barber", "thanks", {}),
    ("BAJA", "salon", "opt_out", {}),
    ("ALTA", "salon", "opt_in", {}),
    ("ponme en la lista de espera", "clinic", "waitlist", {}),
    ("quiero un haircut mañana at 3", "salon", "book",
     {"service": "Haircut", "date": "2026-12-02", "time": "15:00"}),
])
def test_spanish_messages_take_the_same_intents_and_slots(
        text: str, business: str, intent: str, slots: dict[str, str]) -> None:
    got_intent, got_slots, _ = _read(text, business)
    assert (got_intent, got_slots) == (intent, slots)


def test_a_command_letter_is_still_a_command_in_a_spanish_conversation() -> None:
    assert _read("X")[0] == "cancel"
    assert _read("C")[0] == "affirm"


# -- the language reading --------------------------------------------------------------------

@pytest.mark.parametrize(("text", "language"), [
    ("quiero una cita mañana", "es"),
    ("sí", "es"),
    ("gracias", "es"),
    ("BAJA", "es"),
    ("holaaa", "es"),
    ("can I book a haircut tomorrow?", "en"),
    ("yes", "en"),
    ("thanks, see ya tmrw", "en"),
    ("ok", None),
    ("3pm", None),
    ("10:30", None),
    ("C", None),
    ("no", None),
    ("👍", None),
    ("quiero un haircut mañana at 3", "es"),
    ("cancel my cita please", "en"),
])
def test_language_reading(text: str, language: str | None) -> None:
    assert read_language(text).language == language


def test_the_extractor_reports_the_message_language() -> None:
    assert _read("quiero una cita")[2] == "es"
    assert _read("I want an appointment")[2] == "en"
    assert _read("3pm")[2] is None


def test_spanish_dev_rows_carry_their_language_reading() -> None:
    """tests/nlu/dev_es2.jsonl labels each clear row with the language a reader gives it."""
    rows = [json.loads(line) for line in (SETS / "dev_es2.jsonl").read_text().splitlines()
            if line.strip()]
    labelled = [r for r in rows if "language" in r]
    assert len(labelled) > 250
    wrong = [r["text"] for r in labelled if read_language(r["text"]).language != r["language"]]
    assert wrong == []


@pytest.mark.usefixtures("_asked")
async def test_the_understood_event_carries_the_language() -> None:
    spanish = inbound("quiero un corte mañana a las 3")
    ctx = context(spanish)
    await understand(ctx, spanish)
    payload = ctx.emitted[0].payload
    assert (payload["intent"], payload["language"]) == ("book", "es")
    assert payload["slots"]["date"] == "2026-12-02"
    english = inbound("can I get a haircut tomorrow")
    ctx = context(english)
    await understand(ctx, english)
    assert ctx.emitted[0].payload["language"] == "en"
