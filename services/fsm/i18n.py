"""The language a reply is written in (docs/conversations.md, "Spanish").

Every customer-facing text in `replies`, `replies_more` and `replies_staff` is an English
msgid (`_("Your {service} on {when} is confirmed (ref {reference}).")`) translated through
the gettext catalog in `services/fsm/locale/` (`es/LC_MESSAGES/messages.po`, compiled to the
`.mo` beside it; `make messages` extracts, updates and compiles it). English is the msgids
themselves. Staff alerts never go through the catalog: they stay English.

**How the language reaches a reply.** The machine reads the customer's language from
`World.language`; `machine.step` sets it as the active *voice* (the language, and the
profile's Spanish service names, `services[].name_es`) in a context variable for exactly
the duration of the step, and reply functions read it through `_`, `ngettext`, `when`,
`day`, `listing`, `a` and `service`. `step` stays a pure function of its arguments: the
same world gives the same words. Outside a step the voice is English, so a reply function
called on its own (tests, tools) reads as it always has; `speaking(...)` sets another.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

from libs.business.profile import BusinessProfile
from libs.contracts.vocabulary import LANGUAGES, Language
from services.fsm import formatting

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
TRANSLATED: tuple[Language, ...] = tuple(lang for lang in LANGUAGES if lang != "en")


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language`; English (and any language without a catalog of
    its own, which replies never get: see `language_after`) is the msgids themselves. A
    translated language whose `.mo` is missing fails loudly rather than falling back."""
    if language not in TRANSLATED:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])


@dataclass(frozen=True)
class Voice:
    """Who the replies of one step are written for: the language, and the names the
    business gives its services in it (catalog name -> shown name)."""

    language: Language = "en"
    names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, language: str, profile: BusinessProfile | None = None) -> Voice:
        lang: Language = "es" if language == "es" else "en"
        names = {}
        if lang == "es" and profile is not None:
            names = {s.name: s.name_es for s in profile.services if s.name_es}
        return cls(lang, names)


ENGLISH = Voice()
_VOICE: ContextVar[Voice] = ContextVar("fsm_reply_voice", default=ENGLISH)


@contextmanager
def speaking(language: str, profile: BusinessProfile | None = None) -> Iterator[Voice]:
    """Replies composed inside are written in `language` (services named as `profile`
    names them in it); the voice before is restored on the way out."""
    voice = Voice.of(language, profile)
    token = _VOICE.set(voice)
    try:
        yield voice
    finally:
        _VOICE.reset(token)


def language_after(current: str | None, seen: str | None) -> Language:
    """The customer's language after a message (the hysteresis): it changes only when the
    message itself shows a language (`language_seen`), so "ok", "3pm" or "C" in a Spanish
    conversation keep it Spanish, and a message written in English switches back."""
    if seen in LANGUAGES:
        return "es" if seen == "es" else "en"
    return "es" if current == "es" else "en"


# --- what reply functions call ---------------------------------------------------------------


def language() -> Language:
    return _VOICE.get().language


def _(msgid: str) -> str:
    """The active language's text for an English msgid (extracted by `pybabel extract`)."""
    return translations(language()).gettext(msgid)


def N_(msgid: str) -> str:
    """Marks a msgid for extraction where it is defined (a table); `_` translates it when
    used."""
    return msgid


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(language()).ngettext(singular, plural, n)


def service(name: str | Sequence[str]) -> str:
    """A service as the customer is told it: its catalog `name`, or `name_es` in Spanish
    when the profile gives one. Several (booked together) are listed with "and"."""
    if isinstance(name, str):
        return _VOICE.get().names.get(name, name)
    return listing([service(n) for n in name], "and")


def a(name: str | Sequence[str]) -> str:
    """One booking of the service: `a Haircut`, `an Initial Evaluation`; in Spanish
    `una cita de Corte` (no gendered article to guess)."""
    shown = service(name)
    if shown[:1].lower() in "aeiou":
        return _("an {service}").format(service=shown)
    return _("a {service}").format(service=shown)


def day(value: date | datetime) -> str:
    return formatting.fmt_date(value, language())


def when(local: datetime) -> str:
    return formatting.fmt_when(local, language())


def weekday(index: int) -> str:
    return formatting.fmt_weekday(index, language())


def listing(items: Sequence[str], conjunction: str = "or") -> str:
    """`a, b or c`; `a, b o c`. `conjunction` is "or" or "and"."""
    word = _("and") if conjunction == "and" else _("or")
    return formatting.fmt_list(list(items), word)
