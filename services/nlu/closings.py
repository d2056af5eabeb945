"""The politeness layer: closings, thanks, praise and goodbyes, read before any request rule.

People end a conversation with words the request rules would otherwise act on: "that's all
I *need* today" is no booking and no date, "that is it for now" is no yes, "awesome, thank
you!" accepts nothing. So this layer runs first, on the cleaned words, and takes out:

- a *closing*: the customer says they need nothing more ("that's all", "nothing else",
  "I'm all set", "we're done here");
- *thanks* with what it is for ("thank you for booking that", "appreciate the help");
- a *farewell* ("bye", "have a good one", "see you then");
- and, once one of those is found, *praise* ("awesome", "you've been so helpful") and a bare
  acknowledgement ("ok", "k").

The request rules then read what is left (`Politeness.rest`), so "thanks! can I also get a
beard trim tomorrow" is still a booking; `settle` decides what a message that had nothing
else to say is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from libs.contracts.vocabulary import Intent

_LEAD = r"(?:(?:i think|i guess|well|ok|okay|alright|so|and|um|oh|no|nope|nah|naw|yeah|yes|yep|" \
        r"then|actually|honestly|i believe) ){0,3}"
_QUAL = (r"(?: (?:for now|for today|for tomorrow|for tonight|for (?:this|the) week|"
         r"for (?:mon|tues|wednes|thurs|fri|satur|sun)day|for the day|for the moment|for me|"
         r"for us|for (?:my|the|this|that) (?:appointment|booking|visit)|"
         r"from me|from my end|from my side|on my end|from you|from you guys|at the moment|"
         r"right now|today|"
         r"then|now|thanks|thank you|i think))")
"""What may follow a closing: "that's all *for now*", "that's it *for today, thanks*"."""
_QUALIFIER = _QUAL + "{0,3}"
_NEEDED = (r"(?: (?:i|we) (?:really )?(?:need|needed|want|wanted|was looking for|were looking for|"
           r"came for|have|had|wanted to ask|needed to ask|wanted to know|needed to know|"
           r"need to know|had to ask|required|require)(?: help with| to (?:know|ask|hear|do|"
           r"say|check|cover|sort out|get done|book|schedule|set up|reserve|change|move))?)?")
"""What the closing says was all: "that's all I *wanted to book*" books nothing more."""

CLOSING: Final = re.compile(
    rf"\b{_LEAD}(?:"
    rf"(?:that is|that will be|that would be|that should be|this is|it is|that is going to be|"
    rf"that is about|that about|that is pretty much|i think that is) (?:all|everything)"
    rf"{_NEEDED}{_QUALIFIER}(?=\s*$|\s*[!?]| (?:bye|have|see|take|thanks|thank|but|and|i am|"
    rf"you|appreciate|cheers|good|great|perfect|awesome)\b)"
    rf"|(?<!yes )(?<!yeah )(?<!yep )(?<!yup )(?<!sure )"
    rf"(?:that is|that will be|that would be|that should be|that is about|that is pretty much)"
    rf" it(?:{_QUAL}{{1,3}}(?: i am done)?| i am done|(?=[\s!?.]*$))"
    rf"|that (?:about )?(?:does|covers) it|that covers everything|that answers (?:it|everything|"
    rf"my questions?)|that (?:will|should|would) do(?: it)?(?={_QUAL}{{0,3}}(?:\s*$|\s*[!?.]| "
    rf"(?:bye|thanks|thank|cheers|have|see|take)\b))"
    rf"|(?:there is )?nothing (?:else|more|further)(?: (?:i|we) (?:need|want|have)(?: to ask)?"
    rf"| needed| required| necessary| to add)?"
    rf"{_QUALIFIER}"
    rf"|(?:(?:i|we) )?(?:do not|do not really|will not) (?:need|want|have|require) "
    rf"(?:anything|something) (?:else|more|further)(?: to ask)?{_QUALIFIER}"
    rf"|no (?:more|other|further) questions{_QUALIFIER}|no more{_QUAL}{{1,3}}"
    rf"|(?:i|we) (?:have|got|have got) (?:everything|all) (?:i|we) (?:need|needed|wanted)"
    rf"{_QUALIFIER}|you (?:have )?answered (?:all (?:of )?my questions|everything|my questions?)"
    rf"|(?:i am all|we are all|were all|(?:(?<=no )|(?<=nope )|(?<=nah ))all) good"
    rf"|(?:i am|we are|were|i am all|we are all|were all|all) (?:set|done|sorted|finished|"
    rf"good to go)(?: here| now| for now| for today| then| with everything| thanks to you)?"
    rf"|(?:i am|we are|were|all) good (?:here|now|for now|for today|then)"
    rf"|(?:we can|you can|let us|lets) (?:end|close|wrap) (?:it |this |things )?(?:up|here|there)"
    r")"
)
"""The customer needs nothing more. "that is it" closes at the end of a message or with "for
now" and the like, but after a yes it confirms ("yes, that's it"), and before more words
it points ("that's it! book it")."""

THANKS: Final = re.compile(
    r"\b(?:many thanks|big thanks|thanks|thank you|thankyou|thank u|cheers|much appreciated"
    r"|(?:i |we )?(?:really |truly )?(?:appreciate|preciate) (?:it|that|you|this|everything|"
    r"(?:all )?(?:the|your) (?:help|info|information|time|assistance|quick reply|reply)))"
    r"(?: (?:so much|very much|a lot|a bunch|a ton|again|kindly|so so much|a million|guys|"
    r"all)){0,3}"
    r"(?: for (?:everything|that|this|it|all|all of (?:it|this|that)|today|tonight"
    r"|(?:all )?(?:your|the) (?:help|time|assistance|patience|info|information|quick (?:reply|"
    r"response)|reply|response|update|reminder)(?: with (?:the|my|that|this|it)(?: \S+)?)?"
    r"|(?:booking|scheduling|setting|getting|making|fitting|squeezing|helping|sorting|taking "
    r"care of|arranging|confirming|letting|answering|checking|moving|cancell?ing|rescheduling|"
    r"reminding)(?: \S+){0,5}?(?=\s*$|\s*[!?]| (?:and|that is|bye|see|have|i|we|you|appreciate)\b)"
    r"))?"
    r"(?: (?:today|tonight|this (?:morning|afternoon|evening)|again)"
    r"(?=\s*$|\s*[!?.]| (?:bye|see|have|take|cheers|and|i|you)\b))?"
)
"""Thanks, with what it is for: "thanks for booking me in" is thanks, not a booking."""

FOR_HELP: Final = re.compile(
    r"\b(?:thanks|thank you|thank u|appreciate|preciate)(?: \S+){0,3}? (?:for )?(?:all )?"
    r"(?:your|the) (?:help|assistance|time)\b|\bthanks for everything\b")
"""Thanks for the help given: said when the conversation is over, so it closes it ("I'm
good, thanks for the help" is thanks, where "no thanks, I'm good" declines)."""
_DAY = (r"(?:today|tonight|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
        r"the \d|\d)")
"""A day or time after "see ya" makes it a goodbye that names the day ("see ya tmrw")."""
FAREWELL: Final = re.compile(
    rf"\b(?:bye bye|goodbye|good bye|bye|byee|see ya(?! (?:on |at |next |this )?{_DAY})|ttyl"
    r"|(?:i will |we will |will )?see (?:you|ya) (?:then|soon|later|there|next time|around)"
    r"(?=\s*$|\s*[!?]| (?:and|have|bye|thanks|thank|take)\b)"
    r"|talk (?:to you )?(?:soon|later)|take care|good night|goodnight|night night|gn"
    r"|have a (?:good|great|nice|lovely|wonderful|blessed|fantastic) (?:one|day|night|evening|"
    r"weekend|week|afternoon|morning|rest of your day|rest of the day|holiday)"
    r"|you too|same to you)\b"
)
PRAISE: Final = re.compile(
    r"\b(?:(?:that is|this is|it is|you are|you have been|you were|you guys are|"
    r"you guys have been) )?(?:so |really |very |super |just |truly |extremely )?"
    r"(?<!sounds )(?<!sound )(?<!looks )(?<!look )"
    r"(?:awesome|great|amazing|wonderful|lovely|fantastic|excellent|brilliant|cool|nice|sweet|"
    r"super|terrific|wow|yay|fab|fabulous|marvelous|the best|a star|a lifesaver|a life saver|"
    r"helpful|kind|legend|a legend|a gem|a lifesaver|lifesaver|you rock|"
    r"(?:you are|your|you re|ur) (?:the best|amazing|awesome|a star|a gem|the man|too kind))"
    r"\b(?! (?:time|day|slot|spot|one)\b)"
)
"""Praise that accepts nothing ("awesome", "you have been so helpful"); "sounds great" and
"perfect" say yes to an offer and stay."""
_ACK: Final = re.compile(r"\b(?:ok|okay|alright|all right|k|kk|cool|oki|okey|got it|all good|"
                        r"ok then|noted|gotcha|(?:that is )?good to know|(?:that )?makes sense|"
                        r"understood)\b")
"""An acknowledgement ("ok", "got it"): with thanks or a goodbye it accepts nothing."""
_FINE: Final = re.compile(
    r"(?:(?:i am|we are|were|i am all|we are all|all|i think i am|i am just) )?"
    r"(?:good|ok|okay|fine|set|sorted)(?: (?:now|for now|here|then|thanks)){0,3}")
"""What is left of "I'm good, thanks" or "all set, thank you" (a "no" before it declines)."""
_GRATEFUL: Final = re.compile(
    r"\b(?:thanks|thank you|thank u)(?: (?:so much|very much|a lot|a bunch|a ton|again|"
    r"kindly|for (?:everything|all|your|the))\b)|\b(?:really|truly) appreciate")
"""Thanks said with weight ("thank you so much", "thanks for everything"): gratitude."""
_BARE_NO: Final = re.compile(
    r"(?:no|nope|nah)(?: (?:i am|we are|were)? ?(?:good|fine|ok|okay|set|all set))?")
"""A bare no, as left after "no, thank you so much" is taken apart."""
_LEADING_NO: Final = re.compile(r"(?:no|nope|nah|naw)\b")
_FILL: Final = re.compile(
    r"\b(?:so|very|much|really|just|oh|well|um|uh|hmm|lol|haha|the|and|again|guys|man|bro|"
    r"dude|sir|maam|mam|hun|dear|love|friend|fam|buddy|mate|x|xx|xo|xoxo|too|also|a|lot)\b|[!?.]")


@dataclass(frozen=True, slots=True)
class Politeness:
    """A message with its closing, thanks, farewell and praise taken out."""

    rest: str
    closing: bool = False
    thanks: bool = False
    farewell: bool = False

    @property
    def polite(self) -> bool:
        return self.closing or self.thanks or self.farewell

    @property
    def only_polite(self) -> bool:
        """Nothing but politeness: the message is `thanks`, whatever its words ask for."""
        return self.polite and not _FILL.sub(" ", self.rest).strip()


def strip_politeness(text: str) -> Politeness:
    """Take the closing, thanks and farewell phrases out of cleaned text (and, once one is
    found, praise and a bare "ok"), keeping what is left for the request rules."""
    rest, closings = CLOSING.subn(" ", text)
    closings += len(FOR_HELP.findall(rest))
    rest, thanks = THANKS.subn(" ", rest)
    rest, farewells = FAREWELL.subn(" ", rest)
    if not (closings or thanks or farewells):
        return Politeness(text)
    rest = " ".join(_ACK.sub(" ", PRAISE.sub(" ", rest)).split())
    left = _FILL.sub(" ", rest).strip()
    if thanks and _FINE.fullmatch(left):
        closings += 1  # "I'm good, thanks": thanked and nothing wanted, so it closes
    elif _GRATEFUL.search(text) and _BARE_NO.fullmatch(left):
        closings += 1  # "no, thank you so much": gratitude, where "no thanks" declines
    return Politeness(rest, closings > 0, thanks > 0, farewells > 0)


def settle(polite: Politeness, intent: Intent) -> Intent:
    """The intent of a polite message, given what the request rules made of the rest.

    A request, a question or a detail in the rest is what the message is about ("thanks, can
    I also book friday" is `book`). Otherwise a closing is `thanks` ("no, that's all, thank
    you"); thanks or a goodbye with a yes or a no keeps it ("perfect, thanks" is `affirm`,
    "no thank you" is `deny`); and anything else polite is `thanks`."""
    if not polite.polite or intent not in ("affirm", "deny", "greeting", "unknown"):
        return intent
    if polite.closing:
        return "thanks"
    if intent in ("affirm", "deny"):
        return intent
    if intent == "unknown" and not polite.farewell and _LEADING_NO.match(polite.rest):
        return "deny"  # "no thanks, I'll figure it out myself": declines, thanks as a courtesy
    return "thanks"
