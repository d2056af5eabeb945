"""Spanish (docs/conversations.md, "Spanish"): the language is kept per customer with
hysteresis, every reply of a step is written in it, dates read `miércoles 2 de diciembre`,
services are named by `name_es` when the profile gives one, and staff alerts stay English."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from libs.business.profile import BusinessProfile, ProfileError, parse_profile
from libs.contracts.vocabulary import Intent, Language
from services.fsm import i18n, machine as m, replies, replies_more
from services.fsm.formatting import fmt_date, fmt_when
from services.fsm.i18n import language_after, speaking
from services.fsm.replies import DASH

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=NY).astimezone(UTC)  # Tue 9:00 AM in New York
TOMORROW = date(2026, 12, 2)


def world(profile: BusinessProfile, language: Language = "es", **extra: Any) -> m.World:
    return m.World(profile=profile, now=NOW, busy=[], customer="+15555550101",
                   next_booking_id=uuid.UUID(int=7), next_reference="ABC123",
                   language=language, **extra)


def said(intent: Intent, text: str = "", **slots: Any) -> m.CustomerSaid:
    return m.CustomerSaid(intent=intent, text=text, **slots)


def texts(outcome: m.Outcome) -> list[str]:
    return [e.text for e in outcome.effects if isinstance(e, m.Reply)]


def with_spanish_names(profile: BusinessProfile) -> BusinessProfile:
    """The salon with a Spanish name for Haircut and none for Beard Trim, whatever the
    example file says."""
    data = profile.to_json_dict()
    for service in data["services"]:
        if service["name"] == "Haircut":
            service["name_es"] = "Corte de pelo"
        if service["name"] == "Beard Trim":
            service.pop("name_es", None)
    return parse_profile(data)


# --- the language each customer is answered in --------------------------------------------


def test_the_language_changes_only_on_a_message_that_shows_one() -> None:
    language: Language = "en"
    for seen, expected in [("es", "es"),      # "hola, quiero una cita"
                           (None, "es"),      # "ok"
                           (None, "es"),      # "3pm"
                           ("es", "es"),      # "sí"
                           ("en", "en"),      # "what time do you close?"
                           (None, "en"),      # "C"
                           ("es", "es")]:     # "gracias"
        language = language_after(language, seen)
        assert language == expected


def test_a_new_customer_and_an_unknown_language_read_as_english() -> None:
    assert language_after(None, None) == "en"
    assert language_after("en", "fr") == "en"
    assert language_after("es", "fr") == "es"


# --- formats --------------------------------------------------------------------------------


def test_spanish_dates_name_the_day_and_month_in_full() -> None:
    assert fmt_date(date(2026, 12, 2), "es") == "miércoles 2 de diciembre"
    assert fmt_date(date(2027, 1, 16), "es") == "sábado 16 de enero"
    assert fmt_when(datetime(2026, 12, 2, 15, 0), "es") == "miércoles 2 de diciembre a las 3:00 PM"
    assert fmt_when(datetime(2026, 12, 2, 13, 30), "es") == \
        "miércoles 2 de diciembre a la 1:30 PM"
    # English is as it always was.
    assert fmt_date(date(2026, 12, 2)) == "Wed, Dec 2"
    assert fmt_when(datetime(2026, 12, 2, 15, 0)) == "Wed, Dec 2 at 3:00 PM"


def test_spanish_keeps_times_and_money_as_in_english(salon: BusinessProfile) -> None:
    with speaking("es", salon):
        text = replies.proposal(salon, "Color", datetime(2026, 12, 5, 10, 0),
                                Decimal("40.00"))
    assert "sábado 5 de diciembre a las 10:00 AM" in text
    assert "$40.00" in text
    assert "Responde sí o no" in text


def test_lists_hours_and_weekdays_are_spanish_too(salon: BusinessProfile) -> None:
    with speaking("es", salon):
        week = replies.hours(salon)
        closed = replies.hours(salon, date(2026, 12, 6))
        times = replies.ask_time("Haircut", TOMORROW, [datetime(2026, 12, 2, h) for h in
                                                       (10, 11, 13)])
    assert week == (f"Nuestro horario: mar{DASH}vie 9:00 AM{DASH}7:00 PM; sáb 9:00 AM{DASH}"
                    "5:00 PM. Cerrado: lun y dom.")
    assert closed == f"El domingo 6 de diciembre está cerrado. {week}"
    assert "10:00 AM, 11:00 AM o 1:00 PM" in times


# --- service names ----------------------------------------------------------------------------


def test_a_service_is_named_by_name_es_in_spanish_and_by_name_in_english(
        salon: BusinessProfile) -> None:
    profile = with_spanish_names(salon)
    start = datetime(2026, 12, 2, 15, 0)
    with speaking("es", profile):
        spanish = replies.booked("Haircut", start, "ABC123")
        other = replies.booked("Beard Trim", start, "ABC123")  # no name_es: its name
        pair = replies.deposit_received(["Haircut", "Beard Trim"], start, "A, B")
    assert "Corte de pelo" in spanish and "Haircut" not in spanish
    assert "Beard Trim" in other
    assert "Corte de pelo y Beard Trim" in pair
    with speaking("en", profile):
        english = replies.booked("Haircut", start, "ABC123")
    assert english == ("You're all set: your Haircut on Wed, Dec 2 at 3:00 PM is confirmed "
                       "(ref ABC123).")


def test_name_es_is_an_optional_profile_key(salon: BusinessProfile) -> None:
    named = with_spanish_names(salon)
    assert named.services[0].name_es == "Corte de pelo"
    assert named.services[1].name == "Beard Trim" and named.services[1].name_es is None
    data = salon.to_json_dict()
    data["services"][0]["name_es"] = ""
    with pytest.raises(ProfileError) as refused:
        parse_profile(data)
    assert any(p.startswith("services[0].name_es") for p in refused.value.problems)


# --- the machine ------------------------------------------------------------------------------


def test_a_booking_made_in_spanish_is_proposed_and_confirmed_in_spanish(
        salon: BusinessProfile) -> None:
    profile = with_spanish_names(salon)
    proposed = m.step(m.Conversation(), said("book", "quiero un corte mañana a las 3",
                                             service="Haircut", date=TOMORROW,
                                             time=time(15, 0)), world(profile))
    assert proposed.conversation.state == m.State.CONFIRMING
    assert texts(proposed) == ["Cita de Corte de pelo el miércoles 2 de diciembre a las "
                               "3:00 PM. ¿La reservo? Responde sí o no."]
    [question] = [e for e in proposed.effects if isinstance(e, m.Reply)]
    assert question.choices == ("Sí", "No")  # the buttons too
    done = m.step(proposed.conversation, said("affirm", "sí"), world(profile))
    assert done.conversation.state == m.State.IDLE
    [create] = [e for e in done.effects if isinstance(e, m.CreateBooking)]
    assert create.service == "Haircut"  # stored by its catalog name, whatever it is called
    [text] = texts(done)
    assert "confirmada" in text and "miércoles 2 de diciembre" in text and "ABC123" in text


def test_the_same_world_in_english_gives_the_english_replies(salon: BusinessProfile) -> None:
    ask = said("book", "haircut tomorrow at 3", service="Haircut", date=TOMORROW,
               time=time(15, 0))
    english = m.step(m.Conversation(), ask, world(salon, "en"))
    spanish = m.step(m.Conversation(), ask, world(salon, "es"))
    assert texts(english) == ["Haircut on Wed, Dec 2 at 3:00 PM. Shall I book it? Reply yes "
                              "or no."]
    assert english.conversation == spanish.conversation  # the behaviour is the same
    assert [e.choices for e in english.effects if isinstance(e, m.Reply)] == [("Yes", "No")]
    assert [type(e) for e in english.effects] == [type(e) for e in spanish.effects]


def test_staff_alerts_stay_english_while_the_customer_is_answered_in_spanish(
        salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), said("human", "quiero hablar con una persona"), world(salon))
    [reply] = texts(out)
    [alert] = [e.text for e in out.effects if isinstance(e, m.AlertStaff)]
    assert reply.startswith("Claro: puedes comunicarte con nuestro equipo")
    assert alert == ("Bella Hair Studio: customer +15555550101 asked to talk to a person. "
                     "Please get in touch.")


def test_a_step_leaves_the_voice_as_it_found_it(salon: BusinessProfile) -> None:
    m.step(m.Conversation(), said("greeting", "hola"), world(salon))
    assert i18n.language() == "en"
    assert replies.thanks() == "You're welcome! Text us any time."
    with speaking("es", salon):
        assert replies.thanks() == "¡De nada! Escríbenos cuando quieras."
        with speaking("en"):
            assert replies.thanks() == "You're welcome! Text us any time."
        assert i18n.language() == "es"
    assert i18n.language() == "en"


def test_a_reminder_and_the_checkout_link_follow_the_customers_language(
        clinic: BusinessProfile) -> None:
    la = ZoneInfo("America/Los_Angeles")
    start = datetime(2027, 1, 13, 9, 30, tzinfo=la).astimezone(UTC)
    view = m.BookingView(id=uuid.UUID(int=1), reference="REF001", service="Initial Evaluation",
                         start=start, end=start, status="held", deposit_status="pending",
                         deposit_amount=Decimal("30.00"), resource=1)
    w = m.World(profile=clinic, now=datetime(2027, 1, 11, 17, 0, tzinfo=UTC), busy=[],
                bookings=[view], language="es")
    out = m.step(m.Conversation(m.State.PAYMENT_PENDING, m.Context(booking_id=view.id)),
                 m.CheckoutReady(view.id, "https://pay.example/x", Decimal("30.00")), w)
    [text] = texts(out)
    assert text.startswith("Tu cita de Evaluación inicial el miércoles 13 de enero a las "
                           "9:30 AM está reservada hasta las 9:20 AM.")
    assert "depósito de $30.00" in text and text.endswith("https://pay.example/x")
    with speaking("es", clinic):
        reminder = replies_more.reminder(clinic, "Initial Evaluation",
                                         start.astimezone(la))
    assert reminder.startswith("Recordatorio de Sunrise Physical Therapy: tu cita de "
                               "Evaluación inicial es el miércoles 13 de enero a las 9:30 AM.")
    assert "Responde C para confirmar, R para cambiarla o X para cancelarla." in reminder


def test_the_english_staff_texts_use_english_dates_inside_a_spanish_step(
        salon: BusinessProfile) -> None:
    with speaking("es", salon):
        text = replies.staff_late_refund("+15555550101", "Haircut", datetime(2026, 12, 2, 15))
    assert "Wed, Dec 2 at 3:00 PM" in text
