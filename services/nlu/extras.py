"""What a message carries beyond the four scored slots (docs/conversations.md): a second
service, a named time zone, and a topic (a policy question, a lapsed link, rudeness, a
question the profile cannot answer, a person asked for by name)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from services.nlu.catalog import ServiceMatch


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


ZONES = {
    "eastern": "America/New_York", "et": "America/New_York", "est": "America/New_York",
    "edt": "America/New_York", "central": "America/Chicago", "ct": "America/Chicago",
    "cst": "America/Chicago", "cdt": "America/Chicago", "mountain": "America/Denver",
    "mt": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver",
    "arizona": "America/Phoenix", "pacific": "America/Los_Angeles",
    "pt": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
    "alaska": "America/Anchorage", "hawaii": "Pacific/Honolulu",
}
_ZONE = _re(rf"\bTIME (?:in )?({'|'.join(sorted(ZONES, key=len, reverse=True))})"
            r"(?: time)?\b")
TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("deposit_policy", _re(
        r"\b(?:why (?:do i|do you|is there|would i|must i|should i|a|the)\b[^?]*\bdeposits?|"
        r"deposits? (?:policy|back|refund|refundable)|(?:get|will i get|do i get|getting) "
        r"(?:my |the |a )?deposits? back|(?:is|are|will) (?:the |my |a )?deposits? "
        r"(?:be )?(?:refundable|refunded|returned)|what is the deposit for|"
        r"how (?:do|does) (?:the |your )?deposits? work)\b")),
    ("cancellation_policy", _re(
        r"\b(?:cancell?ation (?:policy|fee|fees|rules?|window)|cancel (?:policy|fee)|"
        r"what (?:if|happens if|happens when) i (?:cancel|can not make it|cannot make it|"
        r"miss|do not show|no show)|late cancell?ation|no show (?:fee|policy)|"
        r"how (?:late|far ahead|far in advance) can i cancel|can i cancel (?:for free|later|"
        r"last minute)|(?:charge|charges|fee|fees|pay|penalty) (?:for|to|if (?:i|you|we)) "
        r"(?:cancel|cancell?ing|reschedul(?:e|ing)|no show|not showing))\b")),
    ("new_link", _re(
        r"\b(?:(?:new|another|fresh|second|the) (?:payment |pay |checkout )?link|"
        r"(?:resend|send|text) (?:me )?(?:the |a |that )?(?:payment |pay |checkout )?link|"
        r"link (?:again|expired|did not work|does not work)|can i still pay|"
        r"pay (?:now|again) (?:for|to)|missed the (?:payment|link))\b")),
    ("rude", _re(
        r"\b(?:fuck|fucking|f u|fu|wtf|stupid|idiot|idiots|useless|dumb|sucks|suck|shut up|"
        r"screw you|hate you|garbage|trash|moron|bullshit|bs|worst|pathetic|ridiculous|"
        r"piece of)\b")),
    ("unanswerable", _re(
        r"\b(?:insurance|insured|medicare|medicaid|hsa|fsa|copay|co pay|walk ins?|wifi|wi fi|"
        r"pets?|dogs?|wheelchair|accessible|accessibility|gift cards?|gift certificates?|"
        r"financing|payment plans?|apple pay|google pay|venmo|zelle|paypal|cash only|"
        r"credit cards?|tips?|gratuity|restroom|bathroom|masks?|vaccinated|covid|"
        r"(?:do|does) (?:she|he|they) speak|languages?)\b")),
)
_NAMED = re.compile(r"\b(?:with|see|ask for|request|[Dd]r\.?|[Dd]octor|con|[Dd]ra\.?|[Dd]octora)"
                    r"\s+([A-Z][a-z]{2,})\b")
_NOT_NAMES = frozenset({
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January",
    "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December", "You", "Your", "Someone", "Somebody", "Anyone", "The", "That",
    "This", "Them", "Him", "Her", "Cash", "Card", "Stripe", "Venmo", "Zelle", "Apple",
    "Google", "Whoever", "Anybody", "Everyone", "Friends", "Friend", "Kids", "Kid", "Dad",
    "Mom", "Tomorrow", "Today", "Tonight", "Thanks", "Thank", "Please", "Same", "Next",
    "Usted", "Ustedes", "Alguien", "Gusto", "Gracias", "Todo", "Hoy", "Lunes", "Martes",
    "Jueves", "Viernes", "Domingo", "Una", "Uno", "Mucho", "Mucha", "Tarjeta", "Efectivo"})


def second_service(matches: Sequence[ServiceMatch], tokens: Sequence[str],
                   chosen: ServiceMatch | None) -> tuple[ServiceMatch, ServiceMatch] | None:
    """Two services asked for together ("a haircut and a beard trim"): both, in the order
    named; None when the message names one (or one corrects another: "not a cut, a color")."""
    if chosen is None:
        return None
    others = sorted((m for m in matches if m.service != chosen.service
                     and (m.end <= chosen.start or m.start >= chosen.end)),
                    key=lambda m: m.start)
    for other in others:
        first, second = (other, chosen) if other.start < chosen.start else (chosen, other)
        between = tokens[first.end:second.start]
        if len(between) <= 5 and set(between) & _JOINS and not set(between) & _NOT_BOTH:
            return first, second
    return None


_JOINS = frozenset({"and", "plus", "with", "then", "also", "+", "&", "n"})
_NOT_BOTH = frozenset({"or", "not", "instead", "no"})


def time_zone(masked: str) -> tuple[str, str | None]:
    """"1pm eastern": the IANA zone named right after a time, and the text without it."""
    match = _ZONE.search(masked)
    if match is None:
        return masked, None
    return masked[:match.start()] + "TIME" + masked[match.end():], ZONES[match.group(1)]


def read_topic(masked: str, original: str) -> str | None:
    """What a message is about when no slot says it: a policy, a lapsed link, rudeness, a
    question the profile cannot answer, or a person asked for by name."""
    for topic, pattern in TOPICS:
        if pattern.search(masked):
            return topic
    for name in _NAMED.findall(original):
        if name not in _NOT_NAMES:
            return f"staff:{name}"
    return None

