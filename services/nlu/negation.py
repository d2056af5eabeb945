"""Negation scope for request verbs: "no, I don't want to book now" books nothing.

A request verb (book, schedule, set up, cancel, reschedule, "an appointment", a service)
under a negation a few words before it is taken out of the message, replaced by the marker
NEGREQ, so the request patterns do not see it. The scope is the words a refusal puts between
the two ("I don't *think I want to* book", "not *ready to* set one up"): any other word ends
it, so "I don't know if I can book friday" keeps its booking.

What is *not* scoped on purpose: an existing appointment named as the object ("don't need
*my* 3pm anymore", "won't be needing *the* friday appointment") is a cancellation, said
the polite way, and the cancellation patterns read it; "can't make it" likewise.
"""

from __future__ import annotations

import re
from typing import Final

NEGREQ: Final = "NEGREQ"

_NEG = (
    r"(?:do not|does not|did not|never|would rather not|rather not|no need to|no need for|"
    r"no reason to|i am not|we are not|will not|would not|not gonna|not going to|not looking|"
    r"not trying|not planning|not ready|not interested|not wanting|not needing|not about|"
    r"not in a position|changed (?:my|our) minds? (?:about|on)|decided against|"
    r"second thoughts (?:about|on)|not)"
)
_SCOPE = (
    r"(?: (?:i|we|really|even|yet|think|want|need|to|in|like|care|actually|necessarily|have|"
    r"plan|wish|feel like|anything|any|one|an|a|please|just|quite|bother|go ahead and|wanting|"
    r"needing|looking|trying|planning|going|ready|interested|about|for|me|us|it|that|now|"
    r"right now|today|at this time|at the moment|sure i want|more)){0,6}?"
)
_VERB = (
    r"(?:book|booking|booked|schedule|scheduling|reserve|reserving|cancel|cancelling|canceling|"
    r"reschedule|rescheduling|appointment|appointments|reservation|SVC|move|moving|change|"
    r"changing|push|switch|"
    r"make (?:a |an |the |one |any )?(?:appointment|booking|reservation|SVC)|"
    r"making (?:a |an |the |one |any )?(?:appointment|booking|reservation|SVC)|"
    r"set (?:one |it |that |anything |something |an appointment |a time )?up|"
    r"setting (?:one |it |anything )?up|sign (?:me |us )?up)"
)
_OBJECT = (
    r"(?: (?:a|an|any|one|the|anything|something|it|that|my|our))?(?: (?:new|another))?"
    r"(?: (?:appointment|appointments|booking|reservation|SVC|session|visit|slot|time))?")
NEGATED_REQUEST: Final = re.compile(
    rf"\b{_NEG}{_SCOPE} {_VERB}{_OBJECT}\b"
    r"|\b(?:i will|i can|i may|i might|maybe i will|we will|i would rather|let me|i need to) "
    r"(?:just )?(?:book|schedule|call|reach out|check back|come back|text back|text you|try|"
    r"do it|decide|look again|figure it out)(?: (?:it|one|that|again|back|online|myself)){0,3}"
    r" (?:later|another time|some other time|next time|at a later date|when i know|when i can|"
    r"once i know|when i am ready|when i have time|closer to the date|another day)"
    r"(?: to (?:book|schedule|make (?:an |the )?appointment|set (?:it |one )?up))?\b"
)
"""A negation, the words a refusal puts in between, and the request verb it governs; or a
request put off ("I'll book later"), which books nothing now either."""
_BARE_NOT_SERVICE: Final = re.compile(r"not (?:a |an |the )?SVC\b")


def scope_negation(masked: str) -> tuple[str, bool]:
    """The message with each negated request replaced by NEGREQ, and whether there was one.

    "not a haircut, a color" corrects a detail rather than refusing one: a bare "not" in
    front of a service is left to the correction rules."""
    found = False

    def mark(m: re.Match[str]) -> str:
        nonlocal found
        if _BARE_NOT_SERVICE.match(m.group(0)):
            return m.group(0)
        found = True
        return NEGREQ

    out = NEGATED_REQUEST.sub(mark, masked)
    return out, found
