"""The offline extractor: deterministic rules over the cleaned text, no I/O, no model.

Reading order, and why:
1. one-letter and carrier keywords ("C", "X", "R", "W", "STOP") are commands, read before
   any spelling fix could turn them into words; HELP and INFO are `unknown` with the topic
   `help` (the fsm answers with who we are and how to stop messages);
2. the text is cleaned once (services/nlu/text.py: lower case, shorthand, stretched words,
   typos of key words), and the politeness layer (services/nlu/closings.py) takes out
   closings, thanks and goodbyes, so "that's all I *need* today" asks for nothing;
3. the service is found on what is left (so "the works" is a service before it can be a
   "that works"), then dates and times (services/nlu/timeparse.py); each is replaced by a
   marker (SVC, DATE, TIME, POD, WINDOW) so the intent patterns see the message's *shape*:
   "can i move my SVC to DATE" reads the same for every business; with two dates or times,
   the one the request is about is kept, not an excuse's or a refused one
   (services/nlu/focus.py);
4. negated requests are taken out (services/nlu/negation.py: "I don't want to book" books
   nothing), then intents are tried from the most specific and least reversible (opt-out, a
   waitlist, a person, reschedule, cancel, status, FAQ) to the most generic (book, inform,
   yes/no/thanks/hi, services/nlu/lexicon.py), so a sentence that mentions two things gets
   the one that matters more.
`confidence` says how sure the rule is: low when nothing or only part of the message was
recognised, which is when the Groq cascade asks the model.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime
from typing import Final

from libs.contracts.events import Slots
from libs.contracts.vocabulary import Intent
from libs.logs import error_without_message
from services.nlu.catalog import Catalog, choose_service, stem
from services.nlu.closings import PRAISE, settle, strip_politeness
from services.nlu.extractor import Understanding
from services.nlu.extras import read_topic, second_service, time_zone
from services.nlu.focus import request_date, request_time
from services.nlu.language import read_language
from services.nlu.lexicon import by_lexicon
from services.nlu.negation import scope_negation
from services.nlu.patterns import (
    AFFIRM_BOOK,
    BOOK_AVAIL,
    BOOK_PERSON,
    BOOK_SEARCH,
    BOOK_STRONG,
    BOOK_WEAK,
    CANCEL,
    CORRECTION,
    DECLINE_WHEN,
    EARLIEST,
    FAQ_HOURS,
    FAQ_LOCATION,
    FAQ_PRICES,
    FAQ_SERVICES,
    HUMAN,
    IF_AVAILABLE,
    INFORM_MARK,
    KEEP,
    LEADING_NO,
    LEADING_YES,
    LIST_PICK,
    NOT_WHAT,
    OFF_TOPIC_QUESTION,
    OPT_IN,
    OPT_OUT,
    OTHER_CANCELLED,
    OTHER_PERSON,
    PICK,
    PREFER_SOMETHING,
    PUT_OFF,
    RESCHEDULE,
    RETRY,
    SEE_YOU,
    SMALL_TALK,
    STATUS,
    WAITLIST,
    WAIVE,
)
from services.nlu.spanish import translate
from services.nlu.text import expand, foreign_script, normalize
from services.nlu.timeparse import DUCKLING, When, parse_when

log = logging.getLogger(__name__)

CONFIDENT: Final = 0.7
"""At or above this, the rules' answer is final; below it the cascade may ask a model."""

_COMMANDS: dict[str, Intent] = {
    "c": "affirm", "y": "affirm", "confirm": "affirm", "yes": "affirm",
    "x": "cancel", "cancel": "cancel", "r": "reschedule", "reschedule": "reschedule",
    "w": "waitlist", "waitlist": "waitlist", "wait list": "waitlist",
    "stop": "opt_out", "stopall": "opt_out", "stop all": "opt_out", "unsubscribe": "opt_out",
    "end": "opt_out", "quit": "opt_out", "optout": "opt_out", "opt out": "opt_out",
    "revoke": "opt_out", "start": "opt_in", "unstop": "opt_in", "subscribe": "opt_in",
    "opt in": "opt_in", "optin": "opt_in", "n": "deny", "no": "deny",
}
_NO_ALNUM = re.compile(r"^[^a-z0-9$]*$")
_KEYWORD_HELP = frozenset({"help", "info"})
"""The carrier keywords HELP and INFO: no intent of ours, answered with who we are and how
to stop messages (topic `help`)."""
_INSTEAD = re.compile(r"\binstead\b")
_BOOKING = re.compile(r"\b(?:appointments?|bookings?|reservations?|SVC|visit|session)\b")
_RETRY_WORD = re.compile(r"\b(?:other|another|different|else|later|earlier|sooner)\b"
                         r"(?! (?:today|tonight|DATE)\b)")
_OTHER_WHEN = re.compile(r"\b(?:a different|another|other|some other) (?:days?|times?|dates?)\b")
"""Another day or time asked of what was offered: a retry (`inform`), not a new booking."""
_PARKING = re.compile(r"\b(?:parking|garage)\b")
"""Parking is what is "available" in "is parking available": a location question."""
_SAYS_MORE = re.compile(r"\b(?!(?:i|we|will|ok|okay|so|then|and|great|cool|all|right)\b)[a-z]{2,}")
_COURTESY = re.compile(r"(?:\s+(?:pls|plz|please|thanks|thx|ty|thank you|now))+$")
"""A command said politely ("C pls", "W please") is still that command."""
_STRONG: tuple[tuple[re.Pattern[str], Intent], ...] = (
    (OPT_OUT, "opt_out"), (OPT_IN, "opt_in"), (WAITLIST, "waitlist"), (HUMAN, "human"),
    (RESCHEDULE, "reschedule"), (CANCEL, "cancel"), (STATUS, "status"),
)


class RulesExtractor:
    """The default extractor (docs/nlu.md). Pure: same text, catalog and now, same answer."""

    name = "rules"

    def __init__(self, use_duckling: bool = True, warm: bool = True) -> None:
        self.use_duckling = use_duckling
        if warm and use_duckling:
            DUCKLING.warm("UTC")

    def extract(self, text: str, catalog: Catalog, now: datetime) -> Understanding:
        try:
            reading = read_language(text)
            source = translate(text) if reading.spanish else text
            understood = self._extract(text, source, catalog, now)
            return replace(understood, language=reading.language)
        except Exception as exc:  # a customer's message must never crash the consumer
            # Not log.exception: the exception's message may quote the customer's text.
            log.error("rules extractor failed; answering unknown: %s",
                      error_without_message(exc))
            return Understanding("unknown", Slots(), 0.0, self.name)

    # -- steps -----------------------------------------------------------------------------

    def read(self, text: str, catalog: Catalog, now: datetime) -> tuple[str | None, When]:
        """Service and when, with the text's shape (markers) for the intent patterns."""
        source = translate(text) if read_language(text).spanish else text
        services, when = self._read(expand(normalize(source).split()), catalog, now)
        return services[0], when

    def _read(self, words: list[str], catalog: Catalog, now: datetime
              ) -> tuple[tuple[str | None, str | None], When]:
        stems = [stem(w) if w not in ("+", "&") else "and" for w in words]
        matches = catalog.matcher.find(stems)
        chosen = choose_service(matches, stems, catalog.matcher.words_of)
        pair = second_service(matches, stems, chosen)
        named = pair if pair is not None else ((chosen,) if chosen is not None else ())
        spans = sorted((m.start, m.end) for m in named)
        for start, end in reversed(spans):
            words = [*words[:start], "SVC", *words[end:]]
        now_local = now.astimezone(catalog.timezone)
        when = parse_when(" ".join(words), now_local, catalog.timezone.key, self.use_duckling)
        if pair is not None:
            return (pair[0].service, pair[1].service), when
        return ((chosen.service if chosen else None), None), when

    def _extract(self, text: str, source: str, catalog: Catalog, now: datetime
                 ) -> Understanding:
        """`text` as written; `source` is what the rules read (Spanish rewritten)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        raw = normalize(source)
        if _NO_ALNUM.match(raw):
            return self._answer("unknown", Slots(), 0.9)
        if foreign_script(text):
            return self._answer("unknown", Slots(), 0.3)
        if raw.strip(" !?.") in _KEYWORD_HELP:
            return self._answer("unknown", Slots(topic="help"), 0.99)
        command = _COMMANDS.get(_COURTESY.sub("", raw.strip(" !?.")).strip(" !?."))
        if command is not None:
            return self._answer(command, Slots(), 0.99)

        polite = strip_politeness(" ".join(expand(raw.split())))
        if polite.only_polite:
            return self._answer("thanks", Slots(), 0.95)
        if OTHER_PERSON.search(polite.rest) and not OPT_OUT.search(polite.rest):
            return self._answer("unknown", Slots(), 0.5)  # written for someone else
        (service, service2), when = self._read(polite.rest.split(), catalog, now)
        masked, zone = time_zone(when.masked) if when.time is not None else (when.masked, None)
        topic = read_topic(masked, text)
        if "SVC" in masked and "SVC" not in scope_negation(masked)[0]:
            service = service2 = None  # "I don't want a haircut": a service refused, not given
        asked = request_time(masked, when.times)
        part = when.part_hint if asked is None and when.time is not None else when.part_of_day
        slots = Slots(service=service, date=request_date(masked, when.dates),
                      time=asked, part_of_day=part, service2=service2,
                      timezone=zone, earliest=EARLIEST.search(masked) is not None, topic=topic)
        intent, confidence = decide(masked, slots)
        settled = settle(polite, intent)
        if settled != intent:
            intent, confidence, slots = settled, 0.9, Slots(topic=topic)
        if intent in ("unknown", "deny"):
            # a message we cannot place gives no booking details either (what it is about
            # still helps the answer: a rude or an unanswerable question), and what a refusal
            # names ("not today") is refused, not given
            slots = Slots(topic=topic)
        return self._answer(intent, slots, confidence)

    def _answer(self, intent: Intent, slots: Slots, confidence: float) -> Understanding:
        return Understanding(intent, slots, confidence, self.name)


def decide(m: str, slots: Slots) -> tuple[Intent, float]:
    """The intent for a marked-up message (see module doc for the order)."""
    has_when = (slots.date is not None or slots.time is not None
                or slots.part_of_day is not None or "WINDOW" in m)
    has_slots = has_when or slots.service is not None
    if slots.topic in ("deposit_policy", "cancellation_policy") and not OPT_OUT.search(m):
        return "faq_prices", 0.9  # "what if I cancel?" asks the policy, it does not cancel
    m, negated = scope_negation(OTHER_CANCELLED.sub(" EVENT ", m))
    for pattern, intent in _STRONG:
        if pattern.search(m):
            if intent == "status" and SMALL_TALK.search(m) and not _BOOKING.search(m):
                continue  # "are we still on for lunch tmrw": someone else's plans
            return intent, 0.9
    if KEEP.search(m) or DECLINE_WHEN.search(m) or (NOT_WHAT.search(m) and not has_slots):
        return "deny", 0.8  # "no, leave my appointment as is", "not today": no change wanted
    if WAIVE.search(m):
        return "inform", 0.8  # "whoever's free": leaves the pick to us
    if slots.earliest and not PICK.search(m):
        return "book", 0.9
    if LIST_PICK.match(m):
        return "inform", 0.85  # answers a numbered list ("the second one")
    if slots.topic == "new_link":
        return "book", 0.85
    if PREFER_SOMETHING.search(m):
        return "inform", 0.75  # "something in the afternoon please": a wish, not a question
    if (BOOK_AVAIL.search(IF_AVAILABLE.sub(" ", m)) and not FAQ_PRICES.search(m)
            and not _PARKING.search(m)):
        if _INSTEAD.search(m) or _RETRY_WORD.search(m):
            return "inform", 0.8  # "anything at 1:30 instead?", "any other times available?"
        return "book", 0.9
    if BOOK_SEARCH.search(m) and not FAQ_HOURS.search(m):
        return "book", 0.85  # "I'm looking for a dentist near me": a search, not directions
    for pattern, intent in ((FAQ_HOURS, "faq_hours"), (FAQ_LOCATION, "faq_location"),
                            (FAQ_PRICES, "faq_prices")):
        if pattern.search(m):
            return intent, 0.9
    if FAQ_SERVICES.search(m):
        if slots.date is not None or slots.time is not None:
            return "book", 0.75
        return "faq_services", 0.9
    if PICK.search(m) or RETRY.search(m):
        return "inform", 0.8  # picks or retries an offer: "let's go with that one"
    if AFFIRM_BOOK.search(m):
        return "affirm", 0.9
    if PUT_OFF.search(m) and not has_slots:
        return "deny", 0.75
    asks = BOOK_STRONG.search(m) or BOOK_WEAK.search(m) or BOOK_PERSON.search(m)
    if negated and not asks:
        # "no, I don't want to book now": a refusal, unless it goes on to correct a detail
        return ("inform", 0.8) if has_slots and CORRECTION.search(m) else ("deny", 0.85)
    if asks and LEADING_YES.search(m) and not (slots.service or slots.date or slots.time):
        return "affirm", 0.85  # "yes, go ahead and make it": agrees to what was offered
    corrects = (LEADING_NO.search(m) and not BOOK_STRONG.search(m)) or _INSTEAD.search(m)
    if has_when and corrects:
        return "inform", 0.8  # "no, I'd like it at 3:30", "the 20th instead": a correction
    if BOOK_STRONG.search(m) or BOOK_PERSON.search(m):
        return "book", 0.9
    inform_mark = INFORM_MARK.search(m) is not None
    if BOOK_WEAK.search(m):
        if CORRECTION.search(m) or _OTHER_WHEN.search(m):
            return "inform", 0.8 if has_slots else 0.6
        return "book", 0.85
    if has_slots and SEE_YOU.search(m):
        rest = PRAISE.sub(" ", SEE_YOU.sub(" ", m))  # "great, see you thursday": a goodbye
        intent, confidence = by_lexicon(rest)
        if intent in ("affirm", "thanks"):
            return intent, confidence
        if not _SAYS_MORE.search(rest):
            return "thanks", 0.8  # "I'll see you friday": a goodbye that names the day
    if SMALL_TALK.search(m) and slots.service is None:
        return "unknown", 0.45  # "u coming to the game tonight?": not for us
    if has_slots:
        if slots.service is not None and has_when and not inform_mark:
            return "book", 0.8
        if slots.service is None and OFF_TOPIC_QUESTION.search(m):
            return "unknown", 0.4  # "what's the weather tomorrow": a date, but not ours
        return "inform", 0.85
    if (slots.topic or "").startswith("staff:") and not LEADING_NO.search(m):
        return "inform", 0.7  # "with Maria please": names who, a detail of the booking
    return by_lexicon(m)
