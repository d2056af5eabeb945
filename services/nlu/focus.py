"""Which of several dates a message asks for: the one attached to the request.

"I'm off monday, can I come in wednesday" names two days and means wednesday; so does
"can I get friday at 2? tomorrow I'm at work". The other day is an excuse: the customer is
busy, away or was already in. Each excuse word is tied to the nearest date in its clause
(clauses end at "?", "!", "but", "so", "because"); the request's date is the last date no
excuse is tied to. With one date, or when every date has one, the last date wins as before
(docs/nlu.md: "when a message gives several dates, the last one wins"). An excuse said of a
date that opens its clause ("tmrw is no good, sat?") is tied to that date; "the day after"
names the day after the one before it ("not tomorrow, the day after").

Times work the same way (`request_time`): one set aside ("3:30 not 2:30", "3 instead of 4")
is skipped, and a time the customer is busy until ("at work till 5, can I come after 6?")
is never the one asked for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, time, timedelta
from typing import Final

_EXCUSE: Final = re.compile(
    r"\b(?:busy|off|work|working|at work|away|traveling|travelling|travel|vacation|holiday|"
    r"trip|out of town|out|gone|unavailable|not available|not free|booked up|came|came in|"
    r"was in|went|was there|had|no good|not good|bad|does not work|do not work|will not work|"
    r"doesnt work|cannot|can not|cannot do|can not do|back on|back|sick|class|school|wedding|"
    r"party|birthday|bday|event|flight|fly|flying|leave|leaving|graduation|interview|prom|"
    r"reunion|recital|too soon|too early|too late|too far|full|booked)\b"
)
"""Words that make a date an excuse; each is tied to the date nearest it."""
_NOT_THAT: Final = re.compile(
    r"\b(?:not|except|other than|instead of|rather than|than|until|till|til|but not)\b")
"""Words that set aside the date after them: "friday instead of saturday"."""
_BOUNDARY: Final = frozenset({"?", "!", "but", "so", "because", "since", "though", "however"})
_SUBJECT_VERB: Final = frozenset({"is", "was", "does", "do", "will", "would", "looks", "seems",
                                  "i", "am", "we", "are", "really", "just", "kind", "of"})
"""Words between a date and its excuse when the date is what the excuse is about: "tmrw is
no good", "saturday i am busy"."""
_BUSY_TILL: Final = re.compile(
    r"\b(?:busy|working|at work|in class|in school|at school|in a meeting|on shift|"
    r"(?:i|we) (?:work|have class|have school|have a meeting|have practice|get off|am off|am out))"
    r"(?: \S+)? (?:till|until|til|to|at|from) TIME\b")
"""A time the customer is taken up until ("at work till 5"): an excuse, not a request."""
_EXCEPT: Final = re.compile(
    r"\b(?:except|other than|anything but|any (?:day|time) but|besides|apart from) DATE\b")
"""The one day named is the one ruled out ("any day except monday"): no date."""
_COPULA: Final = frozenset({"is", "was", "does", "do", "will", "would", "looks", "seems"})
_DAY_AFTER: Final = re.compile(r"\b(?:the )?(?:day after|following day|day after that)\b(?! DATE)")
""""not tomorrow, the day after": a day named by the day before it."""


def request_date(masked: str, dates: Sequence[date]) -> date | None:
    """The date the request is about, among `dates` (in the order the DATE markers of
    `masked` give them)."""
    if not dates:
        return None
    tokens = masked.split()
    marks = [i for i, t in enumerate(tokens) if t == "DATE"]
    if len(marks) != len(dates):
        return dates[-1]
    day_after = _DAY_AFTER.search(masked)
    if day_after is not None:
        at = len(masked[:day_after.start()].split())
        before = [k for k, i in enumerate(marks) if i < at]
        if before and not [i for i in marks if i > at]:
            return dates[before[-1]] + timedelta(days=1)
    if len(dates) < 2:
        return None if _EXCEPT.search(masked) else dates[-1]
    clause = _clauses(tokens)
    excused: set[int] = set()
    for m in _EXCUSE.finditer(masked):
        at = len(masked[:m.start()].split())
        back = _subject_of(tokens, marks, at, len(masked[:m.end()].split()))
        if back is not None:
            excused.add(back)
            continue
        near = [k for k, i in enumerate(marks) if clause[i] == clause[at]]
        if near:
            excused.add(min(near, key=lambda k: (abs(marks[k] - at), marks[k] < at)))
    for m in _NOT_THAT.finditer(masked):
        at = len(masked[:m.start()].split())
        after = [k for k, i in enumerate(marks) if i > at and clause[i] == clause[at]]
        if after and marks[after[0]] - at <= 4:
            excused.add(after[0])
    free = [d for k, d in enumerate(dates) if k not in excused]
    return free[-1] if free else dates[-1]


def request_time(masked: str, times: Sequence[time]) -> time | None:
    """The time the message asks for: the last one not set aside ("3:30 not 2:30", "3
    instead of 4"); with none set aside, the last one. A time the customer is busy until
    ("I'm at work till 5") is never asked for: with no other, there is no time."""
    if not times:
        return None
    tokens = masked.split()
    marks = [i for i, t in enumerate(tokens) if t == "TIME"]
    if len(marks) != len(times):
        return times[-1]
    ends = {len(masked[:m.end()].split()) - 1 for m in _BUSY_TILL.finditer(masked)}
    busy = {k for k, i in enumerate(marks) if i in ends}
    if busy:
        kept = [t for k, t in enumerate(times) if k not in busy]
        return kept[-1] if kept else None
    if len(times) < 2:
        return times[-1]
    excused: set[int] = set()
    for m in _NOT_THAT.finditer(masked):
        at = len(masked[:m.start()].split())
        later = [k for k, i in enumerate(marks) if i > at]
        if later and marks[later[0]] - at <= 3:
            excused.add(later[0])
    free = [t for k, t in enumerate(times) if k not in excused]
    return free[-1] if free else times[-1]


def _subject_of(tokens: Sequence[str], marks: Sequence[int], at: int, end: int) -> int | None:
    """The date an excuse is said of when the date opens its clause: its subject ("tmrw is
    no good"), or, when no date follows the excuse, its topic ("sat I'm busy"; but "tmrw I'm
    traveling on the 8th" is about the 8th)."""
    i = at - 1
    while i >= 0 and at - i <= 3 and tokens[i] in _SUBJECT_VERB:
        i -= 1
    if i < 0 or i >= at - 1 or tokens[i] != "DATE":
        return None
    if _COPULA.isdisjoint(tokens[i + 1:at]) and "DATE" in tokens[end:end + 2]:
        return None
    return marks.index(i)


def _clauses(tokens: Sequence[str]) -> list[int]:
    """The clause number of each token."""
    out: list[int] = []
    n = 0
    for t in tokens:
        if t in _BOUNDARY:
            n += 1
        out.append(n)
    return out
