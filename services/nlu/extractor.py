"""What every extractor promises: one message, a business catalog and "now" in, an
`Understanding` out, and never an exception for anything a customer can type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from libs.contracts.events import Slots
from libs.contracts.vocabulary import Intent, Language
from services.nlu.catalog import Catalog


@dataclass(frozen=True, slots=True)
class Understanding:
    """The reading of one message. `confidence` drives the Groq cascade (low = ask the model).
    `language` is the language the message itself is written in, None when it carries no
    signal ("ok", "3pm"): fsm keeps the customer's language then (docs/nlu.md, "Language")."""

    intent: Intent
    slots: Slots
    confidence: float
    extractor: str
    language: Language | None = None

    def slots_json(self) -> dict[str, str]:
        """Slots as the eval file spells them: `YYYY-MM-DD`, `HH:MM`, absent when not given."""
        return slots_to_json(self.slots)


def slots_to_json(slots: Slots) -> dict[str, str]:
    out: dict[str, str] = {}
    if slots.service is not None:
        out["service"] = slots.service
    if slots.date is not None:
        out["date"] = slots.date.isoformat()
    if slots.time is not None:
        out["time"] = slots.time.strftime("%H:%M")
    if slots.part_of_day is not None:
        out["part_of_day"] = slots.part_of_day
    return out


class Extractor(Protocol):
    """The port: the offline rules and the Groq adapter both implement it."""

    name: str

    def extract(self, text: str, catalog: Catalog, now: datetime) -> Understanding:
        """Read `text` for `catalog`'s business at the aware instant `now`."""
        ...
