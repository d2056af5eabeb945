"""Which of several dates a message asks for: the one attached to the request.

"I'm off monday, can I come in wednesday" names two days and means wednesday; so does
"can I get friday at 2? tomorrow I'm at work". The other day is an excuse: the customer is
busy, away or was already in. Each excuse word is tied to the nearest date in its clause
(clauses end at "?", "!", "but", "so", "because"); the request's date is the last date no
excuse is tied to. With one date, or when every date has one, the last date wins as before
(docs/nlu.md: "when a message gives several dates, the last one wins").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
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


def request_date(masked: str, dates: Sequence[date]) -> date | None:
    """The date the request is about, among `dates` (in the order the DATE markers of
    `masked` give them)."""
    if not dates:
        return None
    tokens = masked.split()
    marks = [i for i, t in enumerate(tokens) if t == "DATE"]
    if len(dates) < 2 or len(marks) != len(dates):
        return dates[-1]
    clause = _clauses(tokens)
    excused: set[int] = set()
    for m in _EXCUSE.finditer(masked):
        at = len(masked[:m.start()].split())
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


def _clauses(tokens: Sequence[str]) -> list[int]:
    """The clause number of each token."""
    out: list[int] = []
    n = 0
    for t in tokens:
        if t in _BOUNDARY:
            n += 1
        out.append(n)
    return out
