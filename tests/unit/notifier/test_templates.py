"""Which WhatsApp template a message outside the 24-hour window goes in: the business's
Spanish one (`channels.whatsapp_template_es`) for a reply written in Spanish, else its
template (docs/business-profile.md)."""

from __future__ import annotations

from typing import Any

from libs.business.profile import BusinessProfile, load_profile, parse_profile
from services.notifier.adapters.base import Template
from services.notifier.delivery import template_for
from tests.helpers import FIXTURE_BUSINESSES


def business(**channels: Any) -> BusinessProfile:
    data = load_profile(FIXTURE_BUSINESSES / "salon.yaml").to_json_dict()
    data["channels"] = {**data["channels"], **channels}
    return parse_profile(data)  # validated as an import would


def test_a_spanish_reply_goes_in_the_spanish_template() -> None:
    both = business(whatsapp_template={"name": "appointment_update"},
                    whatsapp_template_es={"name": "appointment_update_es"})
    assert template_for(both, "es") == Template("appointment_update_es", "es")
    assert template_for(both, "en") == Template("appointment_update", "en_US")
    assert template_for(both, None) == Template("appointment_update", "en_US")


def test_the_spanish_templates_language_code_may_be_given() -> None:
    mexico = business(whatsapp_template_es={"name": "aviso_cita", "language": "es_MX"})
    assert template_for(mexico, "es") == Template("aviso_cita", "es_MX")


def test_without_a_spanish_template_spanish_goes_in_the_business_template() -> None:
    english_only = business(whatsapp_template={"name": "appointment_update"})
    assert template_for(english_only, "es") == Template("appointment_update", "en_US")
    assert template_for(business(), "es") is None  # then the deployment's default applies
