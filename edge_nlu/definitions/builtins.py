"""Built-in English material for platform intents and slot types (standard library only).

- :data:`BUILTIN_INTENT_SAMPLES`: sample utterances of Alexa's built-in intents (``AMAZON.StopIntent`` ...), used when
  a skill declares such an intent with no samples of its own.
- :func:`builtin_values`: surface forms for built-in slot types (``AMAZON.NUMBER``, ``AMAZON.DATE`` ...), used to fill
  template placeholders; unknown ``AMAZON.*`` types get a small generic list and a logged warning.
- :data:`SNIPS_BUILTIN_ENTITIES`: the ``snips/*`` entities known to the Snips reader.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

BUILTIN_INTENT_SAMPLES: dict[str, list[str]] = {
    "AMAZON.StopIntent": [
        "stop",
        "stop it",
        "please stop",
        "off",
        "shut up",
        "be quiet",
        "enough",
        "that's enough",
        "stop talking",
        "quit",
        "exit",
        "turn it off",
        "end",
        "halt",
    ],
    "AMAZON.CancelIntent": [
        "cancel",
        "cancel that",
        "never mind",
        "nevermind",
        "forget it",
        "forget about it",
        "cancel it",
        "cancel please",
        "abort",
        "scratch that",
        "i changed my mind",
        "don't do that",
    ],
    "AMAZON.HelpIntent": [
        "help",
        "help me",
        "can you help me",
        "i need help",
        "what can i say",
        "what can you do",
        "how does this work",
        "what are my options",
        "i'm confused",
        "how do i use this",
        "what should i say",
        "give me some help",
        "what do i do now",
    ],
    "AMAZON.YesIntent": [
        "yes",
        "yeah",
        "yep",
        "sure",
        "ok",
        "okay",
        "of course",
        "absolutely",
        "yes please",
        "that's right",
        "correct",
        "sounds good",
        "go ahead",
        "definitely",
    ],
    "AMAZON.NoIntent": [
        "no",
        "nope",
        "nah",
        "no thanks",
        "no thank you",
        "not really",
        "not now",
        "negative",
        "that's wrong",
        "i don't think so",
        "absolutely not",
        "no way",
        "incorrect",
    ],
    "AMAZON.FallbackIntent": [
        "what's the capital of peru",
        "tell me a joke about penguins",
        "how tall is mount everest",
        "who won the game last night",
        "order me a taxi to the airport",
        "what is the meaning of life",
        "sing me a song",
        "how do you spell necessary",
        "translate hello into french",
        "what's the stock price of apple",
        "call my mom",
        "remind me to water the plants",
        "how many ounces in a pound",
        "banana helicopter purple",
        "do you like cats",
    ],
    "AMAZON.NavigateHomeIntent": [
        "go home",
        "go back home",
        "home",
        "take me home",
        "go to the home screen",
        "main menu",
        "back to the main menu",
        "go to the start",
        "show the home page",
        "return home",
        "exit to home",
    ],
    "AMAZON.PauseIntent": [
        "pause",
        "pause it",
        "pause please",
        "pause the music",
        "hold on",
        "wait",
        "wait a second",
        "hold it",
        "pause for a moment",
        "give me a minute",
        "freeze",
    ],
    "AMAZON.ResumeIntent": [
        "resume",
        "continue",
        "keep going",
        "go on",
        "carry on",
        "resume playing",
        "unpause",
        "start again where you left off",
        "pick up where you left off",
        "continue please",
        "play again",
    ],
    "AMAZON.RepeatIntent": [
        "repeat",
        "repeat that",
        "say that again",
        "say it again",
        "can you repeat that",
        "come again",
        "what did you say",
        "pardon",
        "sorry i didn't catch that",
        "one more time",
        "repeat please",
        "could you say that again",
    ],
    "AMAZON.StartOverIntent": [
        "start over",
        "restart",
        "start again",
        "begin again",
        "start from the beginning",
        "from the top",
        "reset",
        "let's start over",
        "go back to the beginning",
        "restart from scratch",
        "do it all over again",
    ],
    "AMAZON.NextIntent": [
        "next",
        "next one",
        "skip",
        "skip this",
        "skip it",
        "go to the next one",
        "move on",
        "forward",
        "skip ahead",
        "the next one please",
        "show me the next",
    ],
    "AMAZON.PreviousIntent": [
        "previous",
        "go back",
        "back",
        "the previous one",
        "last one",
        "go to the previous one",
        "the one before",
        "back one",
        "rewind to the last one",
        "previous please",
        "step back",
    ],
    "AMAZON.LoopOnIntent": ["loop on", "turn on loop", "loop this", "keep looping", "repeat this forever"],
    "AMAZON.LoopOffIntent": ["loop off", "turn off loop", "stop looping", "don't loop", "no more looping"],
    "AMAZON.ShuffleOnIntent": ["shuffle", "shuffle on", "turn on shuffle", "shuffle the songs", "mix it up"],
    "AMAZON.ShuffleOffIntent": ["shuffle off", "turn off shuffle", "stop shuffling", "no shuffle", "play in order"],
    "AMAZON.MoreIntent": ["more", "tell me more", "show me more", "more please", "what else", "anything else"],
    "AMAZON.ScrollUpIntent": ["scroll up", "go up", "up", "move up", "page up"],
    "AMAZON.ScrollDownIntent": ["scroll down", "go down", "down", "move down", "page down"],
}

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen \
seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """English words for 0 <= n < 1,000,000 ("twenty five", "three hundred and six")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    rest = n % 1000
    return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))


_ORD_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def ordinal_words(n: int) -> str:
    """English ordinal words ("first", "twenty third", "fortieth")."""
    words = number_words(n).split()
    last = words[-1]
    if last in _ORD_IRREGULAR:
        last = _ORD_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join(words[:-1] + [last])


def ordinal_digits(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


_MONTHS = "january february march april may june july august september october november december".split()
_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()


def _numbers() -> list[str]:
    words = [number_words(n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 42, 50, 99, 100, 250, 1000)]
    digits = [str(n) for n in (1, 2, 3, 4, 5, 6, 9, 10, 11, 14, 16, 24, 36, 75, 100, 500, 2000)]
    return words + digits + ["a dozen", "a hundred", "a couple", "zero"]


def _dates() -> list[str]:
    return [
        "today",
        "tomorrow",
        "yesterday",
        "tonight",
        "the day after tomorrow",
        "this weekend",
        "next week",
        "next month",
        "next friday",
        "this saturday",
        "on monday",
        "sunday",
        "wednesday",
        "june third",
        "march 3rd",
        "december twenty fifth",
        "the first of may",
        "july fourth",
        "january 1st",
        "october 31",
        "the fifteenth",
        "in two days",
        "next year",
        "christmas",
        "new year's eve",
        "2025-06-03",
    ]


def _times() -> list[str]:
    return [
        "seven thirty pm",
        "7:30 pm",
        "noon",
        "midnight",
        "six am",
        "6 am",
        "half past five",
        "quarter to nine",
        "ten o'clock",
        "eight in the morning",
        "three in the afternoon",
        "nine fifteen",
        "11:45",
        "in the morning",
        "tonight at eight",
        "five pm",
        "twelve thirty",
        "now",
        "two forty five",
        "quarter past ten",
    ]


def _durations() -> list[str]:
    return [
        "five minutes",
        "an hour and a half",
        "an hour",
        "two hours",
        "ten seconds",
        "thirty seconds",
        "half an hour",
        "forty five minutes",
        "three days",
        "a week",
        "two weeks",
        "a minute",
        "90 minutes",
        "one and a half hours",
        "a couple of hours",
        "six months",
        "a year",
        "15 minutes",
    ]


def _four_digits() -> list[str]:
    return ["1234", "2019", "4321", "0000", "9876", "1984", "5555", "0420", "one two three four", "nine eight six two"]


def _ordinals() -> list[str]:
    return [ordinal_words(n) for n in (1, 2, 3, 4, 5, 8, 9, 10, 12, 20, 21, 33)] + [
        ordinal_digits(n) for n in (1, 2, 3, 4, 11, 22)
    ]


_FIRST_NAMES = [
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "maria",
    "daniel",
    "sarah",
    "kevin",
    "aisha",
    "carlos",
    "mei",
    "olivia",
]
_CITIES = [
    "new york",
    "los angeles",
    "chicago",
    "houston",
    "seattle",
    "boston",
    "san francisco",
    "miami",
    "denver",
    "london",
    "paris",
    "berlin",
    "tokyo",
    "sydney",
    "toronto",
    "mexico city",
]
_US_STATES = ["california", "texas", "new york", "florida", "ohio", "washington", "oregon", "georgia", "maine", "utah"]
_COUNTRIES = ["france", "germany", "japan", "brazil", "canada", "india", "kenya", "mexico", "spain", "the usa"]
_COLORS = ["red", "blue", "green", "yellow", "purple", "orange", "white", "black", "pink", "warm white", "light blue"]
_LANGUAGES = ["english", "spanish", "french", "german", "japanese", "mandarin", "italian", "portuguese", "hindi"]
_ROOMS = ["kitchen", "living room", "bedroom", "bathroom", "garage", "office", "hallway", "dining room", "basement"]
_SEARCH = [
    "the weather in paris",
    "how to bake bread",
    "cheap flights to rome",
    "the best pizza near me",
    "who invented the telephone",
    "funny cat videos",
    "the history of jazz",
]
_GENERIC = ["something", "this one", "that one", "the other one", "anything", "the usual", "the first one"]

_GENERATORS = {
    "AMAZON.NUMBER": _numbers,
    "AMAZON.DATE": _dates,
    "AMAZON.TIME": _times,
    "AMAZON.DURATION": _durations,
    "AMAZON.FOUR_DIGIT_NUMBER": _four_digits,
    "AMAZON.Ordinal": _ordinals,
    "AMAZON.US_FIRST_NAME": lambda: list(_FIRST_NAMES),
    "AMAZON.FirstName": lambda: list(_FIRST_NAMES),
    "AMAZON.Person": lambda: [n + " smith" for n in _FIRST_NAMES[:8]] + list(_FIRST_NAMES[8:]),
    "AMAZON.City": lambda: list(_CITIES),
    "AMAZON.US_CITY": lambda: list(_CITIES[:9]),
    "AMAZON.EUROPE_CITY": lambda: ["london", "paris", "berlin", "madrid", "rome", "vienna", "prague", "lisbon"],
    "AMAZON.US_STATE": lambda: list(_US_STATES),
    "AMAZON.Country": lambda: list(_COUNTRIES),
    "AMAZON.Color": lambda: list(_COLORS),
    "AMAZON.Language": lambda: list(_LANGUAGES),
    "AMAZON.Room": lambda: list(_ROOMS),
    "AMAZON.DayOfWeek": lambda: list(_DAYS),
    "AMAZON.Month": lambda: list(_MONTHS),
    "AMAZON.SearchQuery": lambda: list(_SEARCH),
    "AMAZON.PhoneNumber": lambda: ["555 123 4567", "5551234567", "four one five five five five one two one two"],
}

# Snips built-in entities (https://snips-nlu.readthedocs.io/en/latest/builtin_entities.html)
SNIPS_BUILTIN_ENTITIES = frozenset(
    {
        "snips/amountOfMoney",
        "snips/duration",
        "snips/number",
        "snips/ordinal",
        "snips/temperature",
        "snips/datetime",
        "snips/date",
        "snips/time",
        "snips/datePeriod",
        "snips/timePeriod",
        "snips/percentage",
        "snips/musicAlbum",
        "snips/musicArtist",
        "snips/musicTrack",
        "snips/city",
        "snips/country",
        "snips/region",
    }
)


def is_builtin_type(name: str) -> bool:
    """Whether ``name`` is a platform type (``AMAZON.*``) rather than a skill's own catalog."""
    return name.startswith("AMAZON.")


def known_builtin_type(name: str) -> bool:
    return name in _GENERATORS


def builtin_values(name: str) -> list[str]:
    """English surface forms of built-in slot type ``name`` (a generic list, with a warning, when unknown)."""
    gen = _GENERATORS.get(name)
    if gen is None:
        log.warning("built-in slot type %s has no value generator; filling its placeholders with generic values", name)
        return list(_GENERIC)
    return gen()
