"""Short social messages read phrase by phrase: yes, no, thanks, hi (and words that carry
none of them, "have a nice day"). A message made only of these phrases and filler is that
social intent; the first of deny, affirm, thanks, greeting found wins."""

from __future__ import annotations

from libs.contracts.vocabulary import Intent
from services.nlu.text import words

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
        all good|i am good with that|that is good with me|ok then|no problem|not a problem|
        no prob|no problemo|sounds fine by me|fine by me|works fine|why not|
        mhm|mm hmm|mmhm|uh huh|yuh huh|yes maam|yes mam|yes sir|alrighty|alrighty then|
        okey dokey|okie dokie""",
    "neutral": """have a nice day|have a good day|have a great day|have a good one|
        have a good night|have a nice weekend|have a great weekend|take care|bye|bye bye|
        goodbye|see you|see you then|see you soon|see ya|talk soon|cya|later|xoxo|xo|
        you too|same to you|and you|no worries|np|much|so|very|man|right now|
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
        i am fine|i am all set|all set|that is ok|that is okay|no need|not needed|
        not right now|not yet|not at the moment|not at this moment|not at this time|
        not ready|not ready yet|i am not ready|i am not ready yet|hold off|hold off for now|
        let us hold off|i will hold off|i would like to hold off|i will wait|i would rather wait|
        rather wait|i will just wait|i can wait|let me think about it|let me think|
        i will think about it|i need to think about it|let me get back to you|
        get back to you|and get back to you|i will have to get back to you|
        i will get back to you|i will let you know|let me check and get back to you|
        maybe some other time|some other time|maybe another time|maybe another day|another day|
        pass for now|i will pass for now|forget it|forget about it|no not now|
        that is not what i meant|not what i meant|that is not what i asked|i changed my mind|
        changed my mind|on second thought|not anymore|not for now|maybe not|probably not|
        i do not think so|i guess not|nah i am good|not interested right now|no not really|
        not sure|not sure yet|i am not sure|i am not sure yet|still not sure|undecided|
        i will decide later|i will hold|do not bother|never mind then|no it is ok""",
    "thanks": """thanks|thank you|thanks so much|thank you so much|many thanks|much appreciated|
        appreciate it|i appreciate it|appreciated|cheers|ta|thankyou|thank you very much|
        preciate it|preciate you|appreciate you|appreciate that|much love|props|thanks man|
        good looks|good looking out|big thanks|thanks fam|thank you kindly|
        thanks a lot|thanks again|thank you again|thanks a ton|thx|tq|thank|
        you are the best|your the best|you rock|you are a lifesaver|lifesaver|
        you are amazing|you are awesome|you guys are the best|you guys rock""",
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


def by_lexicon(m: str) -> tuple[Intent, float]:
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

