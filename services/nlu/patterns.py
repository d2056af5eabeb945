"""The intent patterns: regular expressions over a message's *shape* (services/nlu/rules.py
masks the service, dates and times as SVC, DATE, TIME, POD, WINDOW), one per intent or cue,
tried by `rules.decide` from the most specific to the most generic.

Each pattern is written once, for the canonical spelling `services.nlu.text` produces: lower
case, no apostrophes ("do not", "i am"), SMS shorthand expanded.
"""

from __future__ import annotations

import re

_APPT = r"(?:appointment|appointments|booking|bookings|reservation|SVC|slot|spot|session|visit)"
_YOU = r"(?:you|ya|yall|you all|you guys|u guys)"
_PLACE = (r"(?:salon|shop|clinic|office|studio|store|place|barbershop|spa|it|practice|"
          r"building|center|centre|location|dentist|doctor|dentists|doctors|offices|clinics|"
          r"salons|surgery|hospital)")
_THEY = r"(?:they|them|he|she|the doctor|the dentist|the therapist|the stylist|the barber)"
_PROVIDER = (
    r"(?:doctor|doctors|doc|dr|dentist|dentists|orthodontist|hygienist|therapist|therapists|"
    r"physio|physiotherapist|physical therapist|pt|chiropractor|specialist|provider|"
    r"practitioner|nurse|stylist|stylists|hairstylist|hair stylist|hairdresser|colorist|"
    r"barber|barbers|esthetician|gp|pediatrician|dermatologist|counselor|counsellor|"
    r"psychologist|psychiatrist|optometrist|ophthalmologist|gynecologist|cardiologist|"
    r"dermatologist|physician|surgeon|someone|somebody|anyone|salon|clinic|barbershop)")
"""Who or where a customer asks to be seen by: "I need to see a doctor" asks for a visit."""


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


OPT_OUT = _re(
    r"\b(?:(?:stop|quit|cease) (?:texting|messaging|sending|contacting|txting|msging|texts|"
    r"messages|all|"
    r"these|this|the messages|the texts|it)|unsubscribe|opt me out|opt out|optout|"
    r"remove me from|^remove me$|(?:remove|delete) (?:my|this) (?:number|phone)|take me off|"
    r"do not (?:text|message|contact|msg|txt) (?:me|us|this number|my number|this phone)|"
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
    r"\b(?:reschedule|rescheduling|rescheduled|re schedule|rebook|re book|postpone|push to|"
    r"push (?:back|it|my|me|that|the|our|this)|bump (?:it|my|me|that)|"
    r"move (?:my|it|me|the|our|this|that|us|to)|moving (?:my|it|the)|"
    r"(?:change|switch) (?:my|our) (?:appointment|booking|reservation|time|date|day|SVC)|"
    rf"(?:change|switch) (?:the )?(?:date|day|time) (?:of|on|for) my {_APPT}|"
    r"(?:different|another|new|later|earlier) (?:day|time|date|slot) for (?:my|our)|"
    r"(?:can|could) i come (?:in )?(?:later|earlier)|push back|"
    rf"(?:do|make|have|put) (?:my|our) {_APPT} (?:a bit |a little )?(?:later|earlier|sooner|"
    r"another day|on another day|a different day|another time))\b"
)
CANCEL = _re(
    r"\b(?:cancel|cancelled|canceled|cancelling|canceling|call (?:it )?off|"
    r"(?:cannot|can not|will not|not going to|unable to|not able to|no longer able to|"
    r"do not think i can|not gonna|won t|couldn t) "
    r"(?:make it|come|come in|attend|go|be there|show|show up|do it|make my|make the|"
    r"make our|make (?:DATE|TIME|SVC))|"
    r"(?:will not|not) be able to (?:make|come|attend|go)|"
    rf"(?:drop|scrap|scratch|delete|remove|forget) (?:my|the|our) {_APPT}|"
    rf"(?:no longer|not|do not|will not|would not) (?:need|want) (?:my|the|our|that|this) "
    rf"(?:(?:DATE|TIME|POD|SVC) )?{_APPT}|"
    r"(?:do not|no longer|will not) need (?:it|the appointment|my appointment|that) (?:anymore|"
    r"any more)|no longer need (?:it|that)|"
    r"(?:will not|not|no longer|do not|am not|are not) (?:be )?(?:needing|need|using|want|"
    r"wanting) (?:my|the|our|that|this) (?:[a-zA-Z]+ ){0,2}?(?:anymore|any more|after all)|"
    r"(?:will not|not|no longer) be needing (?:my|the|our|that|this)|"
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
    rf"|(?:is|was|are) (?:my|our) (?:(?:DATE|TIME|POD|SVC) )+(?:{_APPT} )?(?:still|confirmed|"
    r"happening|booked|on)\b"
    rf"|(?:check|confirm|verify|look up|remind me (?:of|about|when)) (?:on )?(?:my|our) {_APPT}"
    rf"|(?:time|date|day|details) (?:of|for) (?:my|our) {_APPT}"
    rf"|(?:when|what time|what day|what date) (?:my|our) (?:next |upcoming )?{_APPT}"
    rf"|(?:my|our) {_APPT} (?:details|info|information|time|status)"
    rf"|did (?:my|the) {_APPT} go through"
    r"|(?:did|have) (?:you|u|yall|you guys) (?:get|got|receive|received|see|seen) (?:my|our) "
    r"(?:booking|appointment|reservation|request)"
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
    rf"(?:do|does) {_YOU} (?:still )?(?:have|got) (?:a|an|any) (?:TIME|POD|DATE)|"
    r"(?:you|ya) got (?:a|an|any) (?:TIME|POD|DATE)|"
    rf"what (?:do|does|would|can) {_YOU} (?:guys )?(?:have|got)(?: open| available| free| left)?"
    r"(?: (?:on|for|this|next))? (?:DATE|POD|TIME)|"
    r"what (?:is|s) (?:open|available|free|left) (?:on |for )?(?:DATE|POD)|"
    r"what have (?:you|ya|u) got (?:on |for )?(?:DATE|POD)|"
    r"(?:anything|something|any ?thing) WINDOW|"
    rf"(?:are|r) {_YOU} (?:free|available|busy|booked|full|slammed)|"
    rf"^(?:GREET )?{_YOU} (?:free|available|busy|booked up|full)|room for|"
    r"^(?:GREET )?(?:any )?(?:slots?|spots?|openings?|space) (?:DATE|TIME|POD|for|on|at|this|"
    r"next|left|open|available|WINDOW)|"
    r"(?:is|are) (?:DATE|TIME|POD|WINDOW)(?: (?:POD|at TIME|TIME))? (?:still )?(?:open|free|"
    r"available|possible|doable))\b"
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
    rf"(?:are|r) {_YOU} closed|do {_YOU} (?:close|shut|open)\b|(?:close|closed|shut) for lunch|"
    rf"lunch (?:break|hour))\b"
)
FAQ_LOCATION = _re(
    r"^(?:GREET |ok |okay |and |so |great |cool |sorry )?where (?:is|s|are|r) "
    r"(?!(?:my|our|the (?:link|confirmation|receipt|payment|money))\b)\S+|"
    rf"\b(?:where (?:are|is|r|s|were) (?:{_YOU}|{_THEY}|(?:the|your|their|that|this) "
    rf"(?:[a-z]+ )?{_PLACE}|it|yall|your location|that|this|the)|"
    rf"where (?:do|does|would|can|should) {_THEY} (?:practice|work|operate|sit)|"
    rf"where {_THEY} (?:are|is|at)|what is (?:the|their|its|his|her) (?:address|location)|"
    rf"where (?:the|your|their|that|this) (?:[a-z]+ )?{_PLACE} (?:is|are)|"
    rf"where {_YOU} (?:located|at)|located|location|locations|address|directions|direction|"
    rf"parking|park|how (?:do|can|would) (?:i|we) (?:get|find) (?:there|you|to you|them|it|"
    rf"the (?:office|clinic|salon|shop|place))|where (?:can|do|would) (?:i|we) find (?:them|"
    rf"you|it|the)|"
    rf"what street|which street|cross street|(?:nearest|closest) (?:subway|train|station|bus|"
    rf"metro|stop|train stop|subway stop|bus stop|metro stop|parking)|find {_YOU}|"
    rf"where is it|where do i go|where {_YOU} at|where exactly|what floor|which floor|"
    rf"how (?:do|can|would|should) (?:i|we) (?:get|find|reach) (?:to )?(?:your|the|their|that|"
    rf"this) (?:[a-z]+ )?{_PLACE}|(?:what|which) (?:suite|unit|building|room number)|garage|"
    r"near (?:a |an |the |any )?(?:metro|subway|train|bus|station|stop|highway|freeway|line)|"
    rf"what neighborhood|what area|near me|close to|how far|(?:which|what) (?:office|branch|"
    rf"location|clinic|salon|shop)(?! (?:hours|time))|where (?:it is|they are|you are))\b"
)
FAQ_PRICES = _re(
    r"(?:\b(?:how much|price|prices|pricing|priced|cost|costs|costing|charge|charges|rate|"
    r"rates|fee|fees|deposit|deposits|expensive|cheap|afford|pay|paying|payment|insurance|"
    r"deals|any deal|discounts?|specials|promos?|promotions?|coupons?|"
    r"cancellation (?:policy|fee)|how pricey|what is the damage|whats the damage|"
    r"(?:take|accept|use|pay with|pay by|pay in) (?:cash|cards?|credit|debit|venmo|zelle|"
    r"apple pay|checks?|paypal)|(?:cash|card|credit card|venmo|zelle) (?:ok|okay|only|fine)"
    r")\b|\$)"
)
FAQ_SERVICES = _re(
    rf"\b(?:(?:what|which) (?:services|service|treatments|kinds|types|type|styles|cuts|"
    rf"options)|services (?:do|does) {_YOU}|what (?:do|can|else do) {_YOU} (?:do|offer|provide)|"
    rf"what is offered|what you (?:do|offer)|"
    rf"(?:do|does|can|could) {_YOU} (?:(?:all|guys) )?(?:do|offer|provide|have|carry|perform|"
    rf"specialize in|take care of|handle|deal with)(?: any| a| an)? (?:SVC|services|treatments)|"
    rf"(?:can|could) {_YOU} (?:do|guys do) (?:a |an )?SVC|"
    rf"do {_YOU} (?:do|offer|provide)(?! (?:DATE|DAYS|TIME|POD|weekends|walk|appointments))|"
    rf"(?:do|does|can|could) {_YOU} (?:guys |all )?(?:treat|help with|work on|fix|see patients)\b|"
    rf"(?:can|could) {_YOU} (?:guys |all )?(?:do|offer|provide) "
    r"(?!(?:a |an )?(?:DATE|DAYS|TIME|POD|WINDOW|it|that|this|one|the|me|us|my|earlier|later|"
    r"sooner|better|anything|something|any|bit|little|different|other|another|same|instead|then|what|weekends|walk|"
    r"appointments?)\b)[a-z]+|"
    rf"menu|service list|list of services|offer SVC|is SVC something {_YOU}|"
    rf"{_YOU} (?:guys )?(?:do|offer|provide|have)(?: any| a| an)? SVC|"
    rf"do {_YOU} (?:[a-z]+ ){{1,2}}SVC|(?:do|can) {_YOU} (?:guys |all )?SVC|"
    rf"how long (?:does|do|will|is|would) (?:a |an |the |my )?(?:SVC|appointment|visit|session)|"
    rf"(?:do|does|can|could|will|if|whether) {_THEY} (?:also )?(?:do|offer|provide|perform|"
    rf"take care of|"
    rf"handle|treat|specialize in|accept))\b"
)
AFFIRM_BOOK = _re(
    r"^(?:(?:yes|yeah|yep|yup|ya|yessir|bet|absolutely|definitely|ok|sure|great|perfect|please|"
    r"go ahead|and|then|alright|cool|"
    r"that is|sounds good|sounds great|sounds perfect|that sounds good|that sounds great|"
    r"that works|works|good|fine|lets|let us)\s)*"
    r"(?:book it|book that|book this|lock it in|lock that in|lock it|confirm it|confirm that|"
    r"confirm|do it|grab it|take it|i will take it|i will take that|reserve it|go ahead|"
    r"(?:go ahead|please) (?:and )?(?:book|make|schedule|reserve|confirm|lock|set)(?: it| that|"
    r" this| one| the (?:appointment|booking|reservation)| me in| it in| it up| that up)?)"
    r"(?:\s(?:please|for me|in|then|now|thanks|thank you|!|\?))*$"
)
BOOK_STRONG = _re(
    r"\b(?:book|booking|(?<!my )(?<!our )(?<!your )(?<!the )(?<!work )(?<!busy )schedule|"
    r"scheduling|reserve|reservation|appointments?|"
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
    r"(?:you|u) (?:can|could) (?:get|fit|squeeze|take|see) (?:me|us)|"
    r"looking (?:for|to)|(?:need|needs|want|wants|like|get) (?:a|an|some|my) SVC|"
    r"needs? (?:a |an )?SVC|"
    r"let me get|lemme get|hook me up|set me up|in need of|due for|"
    r"(?:to|like to|want to|need to|trying to|hoping to) set up (?:a|an|my|the|some)|"
    r"(?:i|we) would like|i am (?:after|looking)|"
    r"is (?:there )?(?:any(?:thing)?|something) (?:for|on|DATE|TIME))\b"
)
INFORM_MARK = _re(
    r"\b(?:actually|instead|rather|make it|change it|change that|switch it|switch to|"
    r"how about|what about|can we do|could we do|lets do|let us do|let us say|lets say|then|"
    r"better|prefer|works better|wait|or|not|no)\b"
)

LIST_PICK = _re(
    r"^(?:(?:i will take |i will go with |let us do |give me )?(?:the |number |no |option )?"
    r"(?:first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th|other|earlier|later|"
    r"earliest|latest|sooner|next)(?: one| appointment| booking| option| time| slot)?"
    r"|(?:option|number|choice|no|#) ?(?:[1-5]|one|two|three|four|five))"
    r"(?: (?:please|pls|works|works for me|is good|is fine|is better|is best|sounds good|"
    r"sounds better|would be (?:good|great|best|better)|then|thanks))*$"
)
EARLIEST = _re(
    r"\b(?:asap|as soon as possible|earliest|soonest|first (?:available|opening|open|free|"
    r"slot|spot|appointment|thing you have|time you have)|next (?:available|opening|open slot)|"
    r"how soon (?:can|could)|(?:soonest|earliest) (?:you|possible))\b"
)

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


_NOTIFY = (
    r"(?:let me know|text me|notify me|be notified|get notified|tell me|ping me|message me|"
    r"alert me|call me|email me|"
    r"hit me up|reach out|keep me posted|keep me updated|keep me in mind|get back to me|"
    r"contact me|give me a (?:shout|heads up|call|text)|put me in|book me|grab it for me|"
    r"i will take it|i would take it|i will grab it|i want it|i would love it|sign me up|"
    r"(?:can|could) i (?:have|get|grab) (?:it|that|their (?:spot|slot|time)|the (?:spot|slot)))")
_OPENS = (
    r"(?:if|when|once|as soon as|should|in case|whenever)(?: \S+){0,6}? (?:opens?|opened|"
    r"opening|openings|open up|opens up|frees? up|freed up|free|becomes? available|available|"
    r"cancels?|cancell?ation|cancell?ations|comes? up|comes? open|drops? out|backs? out|"
    r"no shows?)")
WAITLIST = _re(
    rf"\b(?:wait ?list(?:ed)?|waiting list|cancellation list|standby list|on standby"
    rf"|{_NOTIFY}(?: \S+){{0,3}}? {_OPENS}|{_OPENS}(?: \S+){{0,6}}? {_NOTIFY}"
    rf"|(?:{_NOTIFY}|notified|updates?)(?: \S+){{0,2}}? (?:of|about|on|for) (?:any |a |the )?"
    rf"(?:cancell?ations?|openings?|opening up|spots? opening)"
    rf"|any (?:cancell?ations?|openings?)(?: \S+){{0,3}}? {_NOTIFY}"
    rf"|(?:take|grab|want) (?:anything|whatever|any spot|any slot|a spot|a slot) (?:that )?"
    rf"(?:opens|frees|comes up|comes open|becomes available)"
    rf"|(?:take|grab|want|get) (?:a |the |any )?cancell?ation(?: spot| slot| opening)?"
    rf"|(?:put|add|sign|get|keep) me (?:on|to|up for|onto|in) (?:the |a |your |ur )?(?:list|"
    rf"waiting list|cancellation list|queue))\b"
)
"""Asks to be told when a taken time opens (docs/nlu.md `waitlist`)."""
BOOK_PERSON = _re(
    rf"\b(?:(?:see|seeing|visit|visit with|visiting|appointment with|get in with|"
    rf"get checked by|be seen by|checked out by|get (?:me |us )?(?:in )?to|find|finding|"
    rf"search for|searching for|look for|looking for|get (?:me |us )?|recommend|need|want|"
    rf"book (?:me |us )?with|schedule (?:me |us )?with|go to|come see|interested in|"
    rf"in need of)(?: me| us)? (?:a |an |the |my |our |your |some |any |a good |a new |"
    rf"with )?(?:[a-z]+ )?{_PROVIDER}"
    rf"|(?:is|are|will) (?:the |a |any |your |my )?{_PROVIDER}(?: [a-z]+)? (?:be )?(?:free|"
    rf"available|open|"
    rf"in|around|working|taking|seeing|able)"
    rf"|(?:have|got|is there|are there|any) (?:a |an |any )?{_PROVIDER} (?:free|available|open|"
    rf"in|around|working)"
    rf"|(?:can|could|will|would) (?:the |a |any |your |my )?{_PROVIDER} (?:see|fit|take|squeeze|"
    rf"get) (?:me|us|my|him|her)"
    rf"|(?:find|search for|look for|locate|get) (?:me |us )?(?:a |an |the )?(?:appointment|"
    rf"spot|slot|opening|time)"
    rf"|(?:find|get) (?:me|us) (?:one|something|someone|somebody|a place|a spot)"
    rf"|(?:is there|are there|any) (?:a |an |any )?(?:good )?{_PROVIDER} (?:near|nearby|around|"
    rf"close|in|open))\b"
)
"""A visit asked for through the person or place: "find me a dentist", "see the therapist"."""
BOOK_SEARCH = _re(
    rf"\b(?:find|finding|search for|searching for|look for|looking for|recommend|need|want)"
    rf"(?: me| us)? (?:a|an|some|any|a good|a new)(?! (?:different|other|else)\b)(?: [a-z]+)? "
    rf"{_PROVIDER}\b")
"""A search for a provider ("a good dentist near me"): a visit, whatever place it names."""
PICK = _re(
    r"\b(?:go|going|goes|stick|settle) (?:with|for) (?:the|that|this|a|an|option|number|dr|"
    r"doctor|him|her|them|SVC|DATE|TIME)\b"
    r"|\b(?:i will|i ll|let us|we will|i would like|i want|give me) (?:take|do|pick|choose|go for|"
    r"book|have|try|get)? ?(?:that|this|the) (?:\S+ )?(?:one|option|slot|time|opening)\b"
    r"|\b(?:no preference|no pref|does not matter|do not care|any (?:day|time|one|of them|"
    r"stylist|barber|doctor) (?:is fine|works|is good|is ok)|either (?:one |day |time )?"
    r"(?:works|is fine|is good|is ok)|whichever|whatever works|whatever is (?:available|"
    r"open|easiest))\b"
)
"""Picks one of the options offered, or leaves the pick to us: "let's go with that one",
"I'll take the 3pm one", "no preference". It gives (or waives) a detail: `inform`."""
WAIVE = _re(
    r"^(?:(?:just|um|hmm|ok|oh|i guess|i do not know) )?(?:(?:whoever|whichever|whatever|"
    r"whenever|anyone|anybody)(?: one)?(?: is| has)? (?:free|available|open|around|time|soonest|"
    r"earliest|first|quickest|fine|ok|good|works)\b|(?:i am |we are )?(?:pretty |very |totally |"
    r"super )?flexible\b|any (?:day|time|weekday)(?: is fine| works| is good)? (?:except|but|"
    r"other than|besides))")
"""Leaves the pick to us ("whoever's free", "whatever's soonest"): it answers, `inform`."""
RETRY = _re(
    r"\b(?:try|check|look at|what about|how about) (?:for |at |on )?(?:the )?(?:DATE|TIME|POD)"
    r"|\b(?:try|check|look for|find|search for|look at|show me|suggest|what about|how about|do|"
    r"any|are there|is there|got|have you got|do you have|you have|give me) (?:me )?"
    r"(?:the |a |an |some |any )?(?:next|"
    r"following|other|another|different|earlier|later|sooner|else|more) ?(?:day|time|one|ones|"
    r"slot|slots|week|option|options|date|dates|times|place|places|doctor|dentist|suggestions?|"
    r"recommendations?|choices?|alternatives?|"
    r"stylist|barber|therapist|salon|salons|clinic|offices?)?\b(?! (?:available|open|free|"
    r"openings?|spots?|appointments?))"
    r"|\b(?:search|look|try|check) again\b|\bother options\b|\bwhat else (?=do|is|can|have)"
    r"|\bwhat (?:other|different) (?:times|days|dates|slots|spots|openings|options)\b"
    r"|\b(?:do|go|make it|something|anything|any|have|got) (?:a bit |a little |little |"
    r"slightly |much )?(?:earlier|later|sooner)\b(?! (?:DATE|TIME|POD|on|at|this|next|for))"
    r"|^(?:a bit |a little |slightly |much )?(?:earlier|later|sooner)(?: please| pls| then)?"
    r"(?: [?!])*$"
    r"|\b(?:prefer|want|like|need|rather have|rather do) (?:a |an |some )?(?:different|another|"
    r"other|earlier|later) (?:time|day|date|slot|one)\b"
    r"|\b(?:anything|something|nothing|any time|anytime) (?:earlier|later|sooner|else)\b"
    r"(?! (?:available|open|free|DATE|TIME|POD|on|at|this|next|for))"
)
"""Asks us to try again with something else: "can you try 11 instead", "any other options?",
"earlier?". It corrects the offer rather than asking anew: `inform`."""
OTHER_PERSON = _re(
    r"\b(?:wrong (?:number|person|chat|thread|convo|conversation|contact|text|message|guy)"
    r"|(?:not|was not|wasnt|is not) (?:meant|supposed|intended) (?:to go )?(?:for|to) (?:you|this)"
    r"|meant (?:to send|for) (?:this|that)? ?(?:to|for) (?:someone|somebody|my|a|another)"
    r"|sent (?:this|that|it) to the wrong"
    r"|tell (?:mom|dad|mum|him|her|grandma|grandpa|your (?:mom|dad|sister|brother))"
    r"|pick (?:me|us|the kids|him|her) up|pick up (?:the kids|milk|some|dinner|groceries)"
    r"|grab (?:some )?(?:milk|eggs|bread|dinner|groceries|food|takeout)"
    r"|(?:pick up|grab|drop off|collect) (?:the )?kids(?! (?:cut|haircut))"
    r"|for dinner|love you(?! (?:guys|all|both|so much for))|love u\b|luv u|luv you|miss you)\b"
    r"|^(?:hey |hi |ok |and |also |oh |so |lol )?(?:babe|baby|bae|honey|hon|sweetie|sweetheart|"
    r"darling|mom|mum|mommy|mama|momma|dad|daddy|papa|grandma|grandpa|granny|sis)\b"
    r"(?! (?:needs|wants|would|is|and|and i|has|had|was|will|said))"
)
"""Written for someone else (a partner, a parent, a wrong number): not ours to act on."""
PUT_OFF = _re(
    r"^(?:(?:ok|okay|hmm|um|well|sorry|no|nah|nope|actually|i think|maybe|yeah) ){0,3}(?:"
    r"(?:let me|i need to|i have to|"
    r"i will|i got to|i will have to|i would have to|i should) (?:just )?(?:check|look at|think|"
    r"double check|figure out|sleep on it|(?:ask|talk to|confirm with|check with|run it by|"
    r"discuss it with) (?:my|the|her|his)|(?<=let me )see)"
    r"|(?:let us|lets|let me|i will|we will|i would rather|we would rather|i am going to|"
    r"we are going to|i think i will|i should|we should|i might|i may|i will just|i would like to|"
    r"i want to|i prefer to|i will probably) (?:just )?(?:wait|hold off|hold|sit tight|"
    r"hang tight|pause|hold on)(?: on (?:it|that|this|booking|scheduling|the \S+))?"
    r"(?= (?:for|till|til|until|a|and|then|on|to|so|before|first|and)\b|$)"
    r"|(?:i am |we are |i am just |i am still |we are still )?not (?:quite |really )?ready\b"
    r"|not (?:this|that) (?:week|month|time|year)\b)"
    r"(?: \S+){0,9}$"
)
"""Putting the decision off ("let me check my schedule and get back to you", "I'll hold
off til I get paid", "not ready to commit yet", "not this week"): a soft no."""
KEEP = _re(
    r"\b(?:leave|keep) (?:it|that|things|everything|(?:my|the|our) (?:\S+ )?\S+)"
    r"(?: (?:as is|as it is|the same|where it is|alone|unchanged|as planned|how it is)\b|$)"
    r"|^(?:(?:no|nope|nah) )?(?:please )?keep (?:it|that|my \S+)(?: please)?$"
)
"""Keeps an appointment as it is ("no, leave my appointment as is"): a no to a change."""
IF_AVAILABLE = _re(
    r"\b(?:if|when|whenever) (?:she|he|they|it|that|that one|one|someone|anyone|there|"
    r"(?:dr|doctor) \S+|you) (?:is |are |s |has |have )?(?:still |one |any )?(?:free|available|"
    r"open|time|room|a spot|space)\b")
"""A condition ("Dr. Patel if she's available"), not a question about availability."""
OTHER_CANCELLED = _re(
    r"\b(?:trip|flight|game|meeting|class|classes|plans|party|event|concert|practice|show|"
    r"match|wedding|dinner|lunch|school|shift|training|tour|gig|recital|rehearsal|vacation)"
    r"(?: \S+){0,3}? (?:got|was|were|has been|have been|is|are|just got|all got|getting) "
    r"(?:cancell?ed|called off|postponed|rescheduled|moved)\b")
"""Something else called off ("my trip to denver got cancelled"): no request of ours."""
PREFER_SOMETHING = _re(
    r"^(?:(?:ideally|preferably|maybe|just|ok|so|um|hmm|then|and) )?(?:something|sometime)"
    r"(?: [a-z]+){0,3}? (?:DATE|TIME|POD|WINDOW)\b"
    r"(?!.*(?:\?|\b(?:available|open|free|left|have|got)\b))"
)
"""A wish, not a question ("something in the afternoon please"): it gives a detail."""
DECLINE_WHEN = _re(
    r"^(?:(?:no|nah|nope|sorry|ok|okay|um|hmm|thanks|thank you) ){0,2}(?:not|i will pass|pass|"
    r"i am good|i am ok|i am fine|no thanks|no thank you|i will skip|skip)(?: for)? (?:DATE|POD|"
    r"DATE POD|this week|next week|this time)(?: (?:though|either|sorry|then))?"
    r"(?: maybe (?:next week|another day|another time|some other time|next time|later))?$")
"""A no that names when ("not today", "I'll pass for today"): the day is refused, not given."""
NOT_WHAT = _re(
    r"\bnot what (?:i|we) (?:wanted|want|asked for|asked|meant|said|need|needed|booked|"
    r"was looking for)\b")
"""Rejects what was offered ("that's not what I wanted"): a no, whatever verb it quotes."""
LEADING_NO = _re(r"^(?:GREET )?(?:no|nope|nah|naw|not quite|not really|sorry no)\b")
"""A message opening with no: what follows corrects a detail ("no, I'd like it at 3:30")."""
LEADING_YES = _re(
    r"^(?:GREET )?(?:yes|yeah|yep|yup|ya|yessir|sure|absolutely|definitely|of course|correct|"
    r"ok yes|bet|yes please|that is (?:right|correct|it)|right|please do)\b"
    r"(?! (?:but|though|however|i need to|i want to (?:cancel|reschedule|move)))"
)
"""A message opening with yes: its request ("yes, go ahead and book it") agrees to the
offer in front of it rather than asking for something new."""
SMALL_TALK = _re(
    r"\b(?:(?:are|r) (?:you|u) coming|(?:you|u) coming (?:to|over|home)|game|the movie|"
    r"movies|dinner|lunch|groceries|homework|the dog|the cat|(?:pick up|grab|get|drop off|"
    r"collect) (?:the )?kids|did (?:you|u) (?:see|hear|watch|feed|call|get)|"
    r"be home|get home|at home|on my way|running late|i will call (?:you|u)|call (?:you|u) "
    r"(?:later|back|after|tonight|when)|(?:send|show|text) me (?:the |those |that |some |a )?"
    r"(?:pics|pictures|photos|pic|picture|photo|videos?|vids?|selfies?))\b"
)
"""Everyday talk that is no business of ours; read as unknown when nothing else is asked."""
