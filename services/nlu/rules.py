"""The offline extractor: deterministic rules over the cleaned text, no I/O, no model.

Reading order, and why:
1. one-letter and carrier keywords ("C", "X", "R", "STOP") are commands, read before any
   spelling fix could turn them into words;
2. the service is found on the whole message (so "the works" is a service before it can be
   a "that works"), then dates and times (services/nlu/timeparse.py); each is replaced by a
   marker (SVC, DATE, TIME, POD) so the intent patterns see the message's *shape*:
   "can i move my SVC to DATE" reads the same for every business;
3. intents are tried from the most specific and least reversible (opt-out, a person,
   reschedule, cancel, status, FAQ) to the most generic (book, inform, yes/no/thanks/hi),
   so a sentence that mentions two things gets the one that matters more.
`confidence` says how sure the rule is: low when nothing or only part of the message was
recognised, which is when the Groq cascade asks the model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from libs.contracts.events import Slots
from libs.contracts.vocabulary import Intent
from libs.logs import error_without_message
from services.nlu.catalog import Catalog, ServiceMatch, choose_service, stem
from services.nlu.extractor import Understanding
from services.nlu.text import expand, foreign_script, normalize, words
from services.nlu.timeparse import DUCKLING, When, parse_when

log = logging.getLogger(__name__)

CONFIDENT: Final = 0.7
"""At or above this, the rules' answer is final; below it the cascade may ask a model."""

_COMMANDS: dict[str, Intent] = {
    "c": "affirm", "y": "affirm", "confirm": "affirm", "yes": "affirm",
    "x": "cancel", "cancel": "cancel", "r": "reschedule", "reschedule": "reschedule",
    "stop": "opt_out", "stopall": "opt_out", "stop all": "opt_out", "unsubscribe": "opt_out",
    "end": "opt_out", "quit": "opt_out", "optout": "opt_out", "opt out": "opt_out",
    "revoke": "opt_out", "start": "opt_in", "unstop": "opt_in", "subscribe": "opt_in",
    "opt in": "opt_in", "optin": "opt_in", "n": "deny", "no": "deny",
}

_APPT = r"(?:appointment|appointments|booking|bookings|reservation|SVC|slot|spot|session|visit)"
_YOU = r"(?:you|ya|yall|you all|you guys|u guys)"
_PLACE = r"(?:salon|shop|clinic|office|studio|store|place|barbershop|spa|it)"


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


OPT_OUT = _re(
    r"\b(?:stop (?:texting|messaging|sending|contacting|txting|msging|texts|messages|all|"
    r"these|this|the messages|the texts|it)|unsubscribe|opt me out|opt out|optout|"
    r"remove me from|take me off|do not (?:text|message|contact|msg) me|"
    r"no more (?:texts|messages)|leave me alone)\b"
)
OPT_IN = _re(
    r"\b(?:opt (?:me )?(?:back )?in|unstop|resubscribe|start (?:texting|messaging|sending) "
    r"(?:me )?again|subscribe me)\b"
)
HUMAN = _re(
    r"\b(?:(?:talk|speak|chat|text)(?:ing)? (?:to|with) (?:a |an |the |some |your |someone )?"
    r"(?:[a-z]+ ){0,2}?"
    r"(?:someone|somebody|anyone|anybody|person|human|real|live|actual|manager|owner|staff|"
    r"receptionist|front desk|therapist|barber|stylist|agent|representative|rep|doctor|boss|"
    r"people|employee|you guys|physio|provider|practitioner)"
    r"|real (?:person|human)|live (?:person|agent)|actual (?:person|human)|human being"
    r"|(?:can|could|would|will) (?:someone|somebody|you|anyone) (?:please )?(?:call|ring) me"
    r"|call me(?: back)?\b|give me a call|get me a (?:person|human|manager)"
    r"|(?:is|are) (?:this|you) (?:a )?(?:bot|robot|machine|real person)"
    r"|operator|representative|a human|someone real)\b"
)
RESCHEDULE = _re(
    r"\b(?:reschedule|rescheduling|rescheduled|re schedule|rebook|re book|postpone|"
    r"push (?:back|it|my|me|that|the|our|this)|bump (?:it|my|me|that)|"
    r"move (?:my|it|me|the|our|this|that|us|to)|moving (?:my|it|the)|"
    r"(?:change|switch) (?:my|our) (?:appointment|booking|reservation|time|date|day|SVC)|"
    rf"(?:change|switch) (?:the )?(?:date|day|time) (?:of|on|for) my {_APPT}|"
    r"(?:different|another|new|later|earlier) (?:day|time|date|slot) for (?:my|our)|"
    r"(?:can|could) i come (?:in )?(?:later|earlier)|push back)\b"
)
CANCEL = _re(
    r"\b(?:cancel|cancelled|canceled|cancelling|canceling|call (?:it )?off|"
    r"(?:cannot|can not|will not|not going to|unable to|not able to|no longer able to|"
    r"do not think i can|not gonna|won t|couldn t) "
    r"(?:make it|come|come in|attend|go|be there|show|show up|do it|make my|make the|"
    r"make our|make (?:DATE|TIME|SVC))|"
    r"(?:will not|not) be able to (?:make|come|attend|go)|"
    rf"(?:drop|scrap|scratch|delete|remove|forget) (?:my|the|our) {_APPT}|"
    rf"(?:no longer|not|do not) (?:need|want) (?:my|the|an|a|that|this) {_APPT}|"
    r"(?:do not|no longer) need (?:it|the appointment|my appointment|that) anymore|"
    r"(?:not|will not be|wont be|am not) coming (?:in|anymore|DATE)|"
    r"cancellation of my)\b"
)
STATUS = _re(
    rf"\b(?:(?:when|what time|what day|which day|what date) (?:is|s|was|are) (?:my|our) "
    rf"(?:next |upcoming )?{_APPT}"
    r"|(?:when|what time|what day|what date) (?:am i|are we|is my|do i have|do i come)"
    r"|(?:am i|are we|i am|is it) (?:booked|scheduled|confirmed|on the schedule|down for|"
    r"all set|still on|still booked|in the system)"
    r"|do (?:i|we) (?:still )?have (?:a|an|any|my)? ?(?:appointment|booking|reservation|"
    r"SVC|appointments|bookings)"
    rf"|(?:is|was) (?:my|our) {_APPT} (?:still|confirmed|on|booked|set|DATE|at|for)"
    rf"|(?:check|confirm|verify|look up|remind me (?:of|about|when)) (?:on )?(?:my|our) {_APPT}"
    rf"|(?:time|date|day|details) (?:of|for) (?:my|our) {_APPT}"
    rf"|(?:when|what time|what day|what date) (?:my|our) (?:next |upcoming )?{_APPT}"
    rf"|(?:my|our) {_APPT} (?:details|info|information|time|status)"
    rf"|did (?:my|the) {_APPT} go through"
    r"|what (?:time |day )?did i book|what am i booked for|"
    r"(?:any|have i got|got any) upcoming (?:appointments|bookings)"
    rf"|what (?:are|r) (?:my|our) (?:upcoming |next )?{_APPT}"
    rf"|(?:what|which) {_APPT} (?:do|did) (?:i|we) have"
    r"|(?:did|have) (?:i|we) (?:already )?(?:book|booked|schedule|scheduled|make|made) "
    r"(?:anything|something|an appointment|a booking|one)"
    r"|do (?:i|we) have (?:anything|something) (?:booked|scheduled|coming up|on the books|"
    r"with you|this week|next week|DATE|already)"
    rf"|(?:show|list|tell) (?:me )?(?:my|our) {_APPT}|(?:my|our) upcoming {_APPT})\b"
)
BOOK_AVAIL = _re(
    r"\b(?:(?:anything|something|any ?thing|any (?:time|times|slot|slots|spot|spots)) "
    r"(?:open|available|free|left)|availability|available|openings|"
    r"(?:anything|any ?thing|something) (?:DATE|TIME|POD|on|for|at|in the|around|this|next)|"
    r"opening(?! (?:hours?|times?|days?))|"
    r"any (?:(?:DATE|POD|TIME|more|other|later|earlier) )?(?:spots?|slots?|space|room|"
    r"appointments?|availability|openings?)|"
    r"(?:have|got) (?:any )?(?:spots?|slots?|space|room|time|times|appointments?|availability)|"
    r"(?:have|got) (?:anything|something)|earliest|next available|soonest|"
    rf"what (?:do|does|would|can) {_YOU} (?:guys )?(?:have|got)(?: open| available| free| left)?"
    r"(?: (?:on|for|this|next))? (?:DATE|POD|TIME)|"
    r"what (?:is|s) (?:open|available|free|left) (?:on |for )?(?:DATE|POD)|"
    r"what have (?:you|ya|u) got (?:on |for )?(?:DATE|POD))\b"
)
FAQ_HOURS = _re(
    rf"\b(?:(?<!\d )(?<!\ban )(?<!\bfew )(?<!\bof )(?<!\bmany )hours(?! (?:ago|later|from))|"
    rf"opening times|business hours|"
    rf"(?:what time|when|till when|until when) (?:do|does|are|r|will) {_YOU}? ?(?:open|close|"
    rf"closing|opening|shut)|"
    rf"when (?:are|is) {_YOU} (?:open|closed|closing)|"
    rf"(?:are|r) {_YOU} (?:open|closed|still open|working)|"
    rf"{_YOU} open\b(?! (?:slot|spot|appointment|time))|"
    rf"(?:is|are) (?:the |your )?{_PLACE} (?:open|closed)|"
    rf"open (?:on|this|today|tomorrow|DATE|late|early|DAYS|weekends|on weekends|holidays|"
    rf"till|until|at|over|now|right now)|"
    rf"how late|how early|closing time|opening time|close (?:today|DATE|at)|"
    rf"what days (?:are|do) {_YOU}|when do {_YOU} (?:work|open)|do {_YOU} work (?:DAYS|DATE)|"
    rf"(?:are|r) {_YOU} closed)\b"
)
FAQ_LOCATION = _re(
    rf"\b(?:where (?:are|is|r) (?:{_YOU}|the {_PLACE}|your {_PLACE}|it|yall|your location)|"
    rf"where {_YOU} (?:located|at)|located|location|locations|address|directions|direction|"
    rf"parking|park|how (?:do|can|would) (?:i|we) (?:get|find) (?:there|you|to you)|"
    rf"what street|which street|cross street|nearest (?:subway|train|station|bus)|find {_YOU}|"
    rf"where is it|where do i go|where {_YOU} at|where exactly|what floor|which floor|"
    rf"what neighborhood|what area|near me|close to)\b"
)
FAQ_PRICES = _re(
    r"(?:\b(?:how much|price|prices|pricing|priced|cost|costs|costing|charge|charges|rate|"
    r"rates|fee|fees|deposit|deposits|expensive|cheap|afford|pay|paying|payment|insurance|"
    r"cancellation (?:policy|fee)|how pricey)\b|\$)"
)
FAQ_SERVICES = _re(
    rf"\b(?:(?:what|which) (?:services|service|treatments|kinds|types|type|styles|cuts|"
    rf"options)|services (?:do|does) {_YOU}|what (?:do|can|else do) {_YOU} (?:do|offer|provide)|"
    rf"what is offered|what you (?:do|offer)|"
    rf"(?:do|does|can|could) {_YOU} (?:(?:all|guys) )?(?:do|offer|provide|have|carry|perform|"
    rf"specialize in|take care of|handle|deal with)(?: any| a| an)? (?:SVC|services|treatments)|"
    rf"(?:can|could) {_YOU} (?:do|guys do) (?:a |an )?SVC|"
    rf"do {_YOU} (?:do|offer|provide)(?! (?:DATE|DAYS|TIME|POD|weekends|walk|appointments))|"
    rf"menu|service list|list of services|offer SVC|is SVC something {_YOU}|"
    rf"{_YOU} (?:guys )?(?:do|offer|provide|have)(?: any| a| an)? SVC|"
    rf"do {_YOU} (?:[a-z]+ ){{1,2}}SVC|(?:do|can) {_YOU} (?:guys |all )?SVC|"
    rf"how long (?:does|do|will|is|would) (?:a |an |the |my )?SVC)\b"
)
AFFIRM_BOOK = _re(
    r"^(?:(?:yes|yeah|yep|yup|ok|sure|great|perfect|please|go ahead|and|then|alright|cool|"
    r"that is|sounds good|good|fine|lets|let us)\s)*"
    r"(?:book it|book that|book this|lock it in|lock that in|lock it|confirm it|confirm that|"
    r"confirm|do it|grab it|take it|i will take it|i will take that|reserve it|go ahead)"
    r"(?:\s(?:please|for me|in|then|now|thanks|thank you|!|\?))*$"
)
BOOK_STRONG = _re(
    r"\b(?:book|booking|schedule|scheduling|reserve|reservation|appointments?|"
    r"sign me up|squeeze me in|squeeze in|fit me in|get me in|slide in|pencil me in|"
    r"put me down|sign up for|make an appt)\b"
)
BOOK_WEAK = _re(
    r"\b(?:come in|stop by|drop in|drop by|walk in|get in|pop in|swing by|come through|"
    r"come thru|slide (?:in|thru|through|by)|"
    r"(?<!do )(?<!did )(?:i|we) (?:would like|want|need|wanted|would love|am looking|"
    r"was wondering|"
    r"was hoping|hope|would want|got to get|have to get|gotta get)|"
    r"(?:can|could|may|might) (?:i|we) (?:get|have|grab|come|see|squeeze|fit|do|set up)|"
    r"(?:can|could) (?:you|u) (?:get|fit|squeeze|take|see) (?:me|us)|"
    r"looking (?:for|to)|(?:need|want|like|get) (?:a|an|some|my) SVC|need (?:a |an )?SVC|"
    r"let me get|lemme get|hook me up|set me up|in need of|due for|"
    r"(?:i|we) would like|i am (?:after|looking)|"
    r"is (?:there )?(?:any(?:thing)?|something) (?:for|on|DATE|TIME))\b"
)
INFORM_MARK = _re(
    r"\b(?:actually|instead|rather|make it|change it|change that|switch it|switch to|"
    r"how about|what about|can we do|could we do|lets do|let us do|let us say|lets say|then|"
    r"better|prefer|works better|wait|or|not|no)\b"
)

LIST_PICK = _re(
    r"^(?:the |number |no |option )?(?:first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|"
    r"5th|other)(?: one| appointment| booking| option)?(?: please| pls)?$"
)
EARLIEST = _re(
    r"\b(?:asap|as soon as possible|earliest|soonest|first (?:available|opening|open|free|"
    r"slot|spot|appointment|thing you have|time you have)|next (?:available|opening|open slot)|"
    r"how soon (?:can|could)|(?:soonest|earliest) (?:you|possible))\b"
)
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
        r"last minute))\b")),
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
_NAMED = re.compile(r"\b(?:with|see|ask for|request)\s+([A-Z][a-z]{2,})\b")
_NOT_NAMES = frozenset({
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January",
    "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December", "You", "Your", "Someone", "Somebody", "Anyone", "The", "That",
    "This", "Them", "Him", "Her", "Cash", "Card", "Stripe", "Venmo", "Zelle", "Apple",
    "Google", "Whoever", "Anybody", "Everyone", "Friends", "Friend", "Kids", "Kid", "Dad",
    "Mom", "Tomorrow", "Today", "Tonight", "Thanks", "Thank", "Please", "Same", "Next"})


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
        if len(between) <= 3 and set(between) & _JOINS and not set(between) & _NOT_BOTH:
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


OFF_TOPIC_QUESTION = _re(
    r"^(?:GREET |hi |hey )?(?:what|who|why|how|which)\b(?! about| abt)"
    r"(?! (?:is|s) (?:DATE|TIME|POD)(?: at TIME)? (?:like|good|ok|okay|fine|better|available|"
    r"free|open))"
    r"(?!.*\b(?:works?|available|free|open|instead|then)\b)"
)
SEE_YOU = _re(r"\bsee (?:you|ya) (?:on |at )?(?:DATE|TIME|POD|then|soon)(?: (?:at )?TIME)?\b")
CORRECTION = _re(
    r"\b(?:actually|instead|rather|make it|change it|change that|switch it|switch to|"
    r"how about|what about|can we do|could we do|lets do|let us do|let us say|lets say)\b"
)

_LEXICON: dict[tuple[str, ...], str] = {}
for _cat, _phrases in {
    "affirm": """yes|yeah|yep|yup|ya|yas|sure|ok|alright|all right|aight|fine|good|great|
        perfect|cool|awesome|excellent|lovely|wonderful|nice|sweet|bet|deal|done|correct|
        right|exactly|absolutely|definitely|certainly|of course|for sure|sure thing|
        sounds good|sounds great|sounds perfect|sounds fine|sounds like a plan|sounds right|
        that works|works|works for me|that works for me|works great|that is fine|that is good|
        that is perfect|that is right|that is correct|that is great|looks good|looks great|
        go ahead|go for it|do it|lets do it|let us do it|lets do that|let us do that|please do|
        confirm|confirmed|i confirm|affirmative|yes please|agreed|agree|y|why not|that one|
        that will work|will work|si|yessir|yes sir|i am in|count me in|i am down|down|
        works perfectly|perfecto|excellent|that would be great|that would work|
        that is it|thats it|you got it|got it|okay|oki|yes it is|it is|i do|yes i do|
        true|indeed|totally|100|absolutely yes|of course yes|sounds about right|right on|
        say less|dope|facts|word|fasho|fo sho|bet bet|solid|works for us|good to go|yuh|
        yurr|yessir|yass|yasss|ight|iight|kk|k|
        all good|i am good with that|that is good with me|ok then""",
    "neutral": """have a nice day|have a good day|have a great day|have a good one|
        have a good night|have a nice weekend|have a great weekend|take care|bye|bye bye|
        goodbye|see you|see you then|see you soon|see ya|talk soon|cya|later|xoxo|xo|
        you too|same to you|and you|no worries|no problem|np|much|so|very|man|right now|
        now""",
    "deny": """no|nope|nah|naw|n|no thanks|no thank you|not that one|not that|not really|
        no way|neither|none|none of those|none of them|neither of those|neither of them|
        that does not work|does not work|will not work|that will not work|not good|wrong|
        that is wrong|incorrect|not right|not quite|negative|never mind|nevermind|no good|
        i do not think so|not interested|pass|i will pass|no sorry|sorry no|not for me|
        rather not|i would rather not|not now|no can do|not that time|not those|
        that is not right|that is not it|nothing|not really no|absolutely not|no no|
        i do not|do not|i said no|not at all|none of these|that is incorrect|
        cannot do that|cannot do that time|cannot make that|cannot make that time|cannot do it|
        i cannot|maybe next time|another time|maybe later|not this time|i am good|i am ok|
        i am fine|i am all set|all set|that is ok|that is okay|no need|not needed""",
    "thanks": """thanks|thank you|thanks so much|thank you so much|many thanks|much appreciated|
        appreciate it|i appreciate it|appreciated|cheers|ta|thankyou|thank you very much|
        preciate it|preciate you|appreciate you|appreciate that|much love|props|thanks man|
        good looks|good looking out|big thanks|thanks fam|thank you kindly|
        thanks a lot|thanks again|thank you again|thanks a ton|thx|tq|thank""",
    "greeting": """hi|hello|hey|hey there|hi there|hello there|heya|hiya|howdy|yo|sup|
        what is up|whats up|wassup|wazzup|GREET|gm|greetings|hola|how are you|
        how is it going|how are you doing|hope you are well|hi hi|hey hey|helo|hellooo|
        hellooo|heyy|heyyy|hii|hiii|whats good|what is good|
        what is going on|whats happening|what is happening|how you doing|how are ya""",
}.items():
    for _p in _phrases.split("|"):
        _p = " ".join(_p.split())
        if _p:
            _LEXICON[tuple(_p.split())] = _cat
_LEX_MAX = max(len(k) for k in _LEXICON)
_FILLER = words("""
please so just then oh well um uh hmm hm lol haha ha ! ? . the that it is will for me
you all very much really guys man bro dude sir maam again and a i we also too that s
thing buddy mate fam homie friend again yea hun dear love see later bye
""")
_SOCIAL: tuple[tuple[str, Intent], ...] = (
    ("deny", "deny"), ("affirm", "affirm"), ("thanks", "thanks"), ("greeting", "greeting"))
_NO_ALNUM = re.compile(r"^[^a-z0-9]*$")


class RulesExtractor:
    """The default extractor (docs/nlu.md). Pure: same text, catalog and now, same answer."""

    name = "rules"

    def __init__(self, use_duckling: bool = True, warm: bool = True) -> None:
        self.use_duckling = use_duckling
        if warm and use_duckling:
            DUCKLING.warm("UTC")

    def extract(self, text: str, catalog: Catalog, now: datetime) -> Understanding:
        try:
            return self._extract(text, catalog, now)
        except Exception as exc:  # a customer's message must never crash the consumer
            # Not log.exception: the exception's message may quote the customer's text.
            log.error("rules extractor failed; answering unknown: %s",
                      error_without_message(exc))
            return Understanding("unknown", Slots(), 0.0, self.name)

    # -- steps -----------------------------------------------------------------------------

    def read(self, text: str, catalog: Catalog, now: datetime) -> tuple[str | None, When]:
        """Service and when, with the text's shape (markers) for the intent patterns."""
        services, when = self._read(normalize(text), catalog, now)
        return services[0], when

    def _read(self, raw: str, catalog: Catalog, now: datetime
              ) -> tuple[tuple[str | None, str | None], When]:
        words = expand(raw.split())
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

    def _extract(self, text: str, catalog: Catalog, now: datetime) -> Understanding:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        raw = normalize(text)
        if _NO_ALNUM.match(raw):
            return self._answer("unknown", Slots(), 0.9)
        if foreign_script(text):
            return self._answer("unknown", Slots(), 0.3)
        command = _COMMANDS.get(raw.strip(" !?."))
        if command is not None:
            return self._answer(command, Slots(), 0.99)

        (service, service2), when = self._read(raw, catalog, now)
        masked, zone = time_zone(when.masked) if when.time is not None else (when.masked, None)
        topic = read_topic(masked, text)
        slots = Slots(service=service, date=when.date, time=when.time,
                      part_of_day=when.part_of_day, service2=service2, timezone=zone,
                      earliest=EARLIEST.search(masked) is not None, topic=topic)
        intent, confidence = decide(masked, slots)
        if intent == "unknown":
            # a message we cannot place gives no booking details either (what it is about
            # still helps the answer: a rude or an unanswerable question)
            slots = Slots(topic=topic)
        return self._answer(intent, slots, confidence)

    def _answer(self, intent: Intent, slots: Slots, confidence: float) -> Understanding:
        return Understanding(intent, slots, confidence, self.name)


def decide(m: str, slots: Slots) -> tuple[Intent, float]:
    """The intent for a marked-up message (see module doc for the order)."""
    has_when = slots.date is not None or slots.time is not None or slots.part_of_day is not None
    has_slots = has_when or slots.service is not None
    if slots.topic in ("deposit_policy", "cancellation_policy") and not OPT_OUT.search(m):
        return "faq_prices", 0.9  # "what if I cancel?" asks the policy, it does not cancel
    ordered: list[tuple[re.Pattern[str], Intent]] = [
        (OPT_OUT, "opt_out"), (OPT_IN, "opt_in"), (HUMAN, "human"),
        (RESCHEDULE, "reschedule"), (CANCEL, "cancel"), (STATUS, "status"),
    ]
    for pattern, intent in ordered:
        if pattern.search(m):
            return intent, 0.9
    if slots.earliest:
        return "book", 0.9
    if LIST_PICK.match(m):
        return "inform", 0.85  # answers a numbered list ("the second one")
    if slots.topic == "new_link":
        return "book", 0.85
    if BOOK_AVAIL.search(m) and not FAQ_PRICES.search(m):
        return "book", 0.9
    for pattern, intent in ((FAQ_HOURS, "faq_hours"), (FAQ_LOCATION, "faq_location"),
                            (FAQ_PRICES, "faq_prices")):
        if pattern.search(m):
            return intent, 0.9
    if FAQ_SERVICES.search(m):
        if slots.date is not None or slots.time is not None:
            return "book", 0.75
        return "faq_services", 0.9
    if AFFIRM_BOOK.search(m):
        return "affirm", 0.9
    if BOOK_STRONG.search(m):
        return "book", 0.9
    inform_mark = INFORM_MARK.search(m) is not None
    if BOOK_WEAK.search(m):
        if CORRECTION.search(m):
            return "inform", 0.8 if has_slots else 0.6
        return "book", 0.85
    if has_slots and SEE_YOU.search(m):
        intent, confidence = _by_lexicon(SEE_YOU.sub(" ", m))
        if intent in ("affirm", "thanks"):
            return intent, confidence
    if has_slots:
        if slots.service is not None and has_when and not inform_mark:
            return "book", 0.8
        if slots.service is None and OFF_TOPIC_QUESTION.search(m):
            return "unknown", 0.4  # "what's the weather tomorrow": a date, but not ours
        return "inform", 0.85
    return _by_lexicon(m)


def _by_lexicon(m: str) -> tuple[Intent, float]:
    """Short social messages: yes / no / thanks / hi, read phrase by phrase."""
    tokens = m.split()
    cats: set[str] = set()
    unknown = 0
    i = 0
    while i < len(tokens):
        for n in range(min(_LEX_MAX, len(tokens) - i), 0, -1):
            cat = _LEXICON.get(tuple(tokens[i:i + n]))
            if cat is not None:
                cats.add(cat)
                i += n
                break
        else:
            if tokens[i] not in _FILLER:
                unknown += 1
            i += 1
    cats.discard("neutral")
    if not cats:
        return "unknown", 0.3
    confidence = 0.95 if unknown == 0 else (0.65 if unknown <= 2 else 0.4)
    for cat, intent in _SOCIAL:
        if cat in cats:
            if unknown > 2:
                return "unknown", 0.35
            return intent, confidence
    return "unknown", 0.3
