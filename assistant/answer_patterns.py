"""The words and patterns the answer rules read: dates, numbers, names, qualifiers, question
kinds (English and Chinese), page furniture and text addressed to the assistant.

Data only; ``assistant.answer_rules`` holds the decisions made with them.
"""

from __future__ import annotations

import re

from index.lexical import tokenize

YEAR = re.compile(r"(?<![\d.])(1[5-9]\d\d|20\d\d)(?!\d)")
NUMERAL = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)*(?:st|nd|rd|th)?(?![\d])", re.IGNORECASE)
STANDALONE = re.compile(
    r"(?<![A-Za-z0-9_.,-])\d+(?:[.,]\d+)*(?:st|nd|rd|th)?(?![\d])", re.IGNORECASE
)
SCALE = re.compile(r"\b(hundreds?|thousands?|millions?|billions?|trillions?|dozens?)\b", re.I)
MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
MONTH_RE = re.compile(rf"\b{MONTH}(?![a-z])")
DAY_MONTH = re.compile(
    rf"\b{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}"
    r"|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
)
# "Oct 19, 2021 ... " opening a passage: the page's publication date, not the event's.
DATELINE = re.compile(
    rf"^\s*(?:{MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{MONTH}\s+\d{{4}})\s*"
    r"(?:\.\.\.|…|[-–—|:])\s*"
)
CJK_MONTH = re.compile(r"\d{1,2}\s*月")
CJK = re.compile(r"[\u3400-\u9fff]")
# A capitalised word (or all-caps, or with digits like "GPT-3"); names are runs of them,
# allowing the particles that sit inside names ("The Shape of Water", "Leonardo da Vinci").
CAP = r"(?:[A-Z][\w’'&.-]*[\w’']|[A-Z])"
NAME_RUN = re.compile(rf"{CAP}(?:\s+(?:(?:of|the|de|da|van|von|del|la|and)\s+)?{CAP})*")
# Words that open sentences or are capitalised for other reasons: never a name on their own.
NOT_NAMES = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "he",
        "she",
        "they",
        "we",
        "i",
        "you",
        "our",
        "their",
        "his",
        "her",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "of",
        "to",
        "as",
        "and",
        "but",
        "or",
        "if",
        "when",
        "while",
        "after",
        "before",
        "since",
        "during",
        "about",
        "according",
        "however",
        "meanwhile",
        "also",
        "so",
        "yet",
        "then",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "be",
        "been",
        "not",
        "no",
        "yes",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "update",
        "updated",
        "photo",
        "image",
        "video",
        "source",
        "read",
        "share",
    ]
)
# Qualifiers that change which fact is asked for: a passage without them answers another one.
QUALIFIERS = frozenset(
    [
        "most",
        "least",
        "first",
        "last",
        "new",
        "newest",
        "latest",
        "current",
        "best",
        "worst",
        "largest",
        "biggest",
        "highest",
        "lowest",
        "oldest",
        "youngest",
        "only",
    ]
)
# Words that make a company or body of a name ("the LEGO Group"): with the question's own
# name they are that name again, not an answer to "who".
NOT_NAMES |= frozenset(
    ["group", "inc", "corp", "corporation", "company", "co", "ltd", "llc", "plc", "holdings"]
)
# Seasons and months are capitalised but name nothing a "who/which" question asks for.
NOT_NAMES |= frozenset(
    [
        "summer",
        "winter",
        "spring",
        "autumn",
        "fall",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
# Words that end an event's or a body's full name without making it another one ("Wimbledon
# Championships", "World Cup Final", "Academy Awards Ceremony").
NAME_HEADS = frozenset(
    [
        "championship",
        "championships",
        "final",
        "finals",
        "games",
        "ceremony",
        "ceremonies",
        "tournament",
        "cup",
        "awards",
        "festival",
        "league",
        "trophy",
        "prize",
        "conference",
        "summit",
    ]
)
MODAL = re.compile(r"\bwho\s+(must|should|can|could|would|will|may|might|need|needs)\b", re.I)
PLACE_NOUNS = r"(city|country|nation|state|place|town|venue|location|region|province|capital)"
THING_NOUNS = (
    r"(company|companies|firm|team|club|movie|film|show|series|book|song|album|newspaper|"
    r"outlet|brand|product|game|organi[sz]ation|university|party|band|model|app)"
)

TYPE_NOUN_TOKENS = frozenset(
    tokenize(
        "city country nation state place town company firm team movie film person people year "
        "date month day name number"
    )
)

# Chinese question words -> the kind of answer they ask for.
ZH_KINDS = (
    ("date", re.compile(r"什么时候|何时|哪一年|哪年|几月|几号|哪天|哪一天|日期|什么时间|多会儿")),
    ("number", re.compile(r"多少|几[个名位次家岁年天]|几$|多大|多长|多高|多重|百分之几")),
    ("name", re.compile(r"谁|哪位|什么人")),
    ("place", re.compile(r"哪里|哪儿|在哪|什么地方|哪个(城市|国家|地方|省|州)|哪座")),
    ("name", re.compile(r"哪个|哪家|哪部|哪支|哪一个|哪款|什么名字")),
)

# Lines that are page furniture, not statements: bylines, credits, share bars, timestamps.
FURNITURE = re.compile(
    r"^(by\s+[A-Z][\w.-]+(\s+[A-Z][\w.-]+)*\s*$|updated?\b|published\b|posted\b|photo\b|image\b|"
    r"source:|read more|click here|sign up|subscribe|advertisement|share this|reviewed in\b|"
    r"all rights "
    r"reserved|copyright|©)|cast and crew|followers,|\bfollowing\b.*\bposts\b|"
    r"\b(log ?in|sign ?in)\b.*\baccount\b|cookies?\b.*\b(accept|policy)",
    re.IGNORECASE,
)
# Text that addresses the assistant rather than stating anything: never quoted.
ADDRESSED = re.compile(
    r"\b(system|assistant|user)\s*:|ignore (all |any |the )?(previous|prior|above|your)\b|"
    r"disregard (the|all|your|previous)\b|you (must|should) (reply|answer|respond|say)|"
    r"\b(reply|answer|respond) (only|with only)\b|"
    r"\bas an ai\b|忽略(之前|以上|所有)|你必须",
    re.IGNORECASE,
)


# The answer-kind score of a date found only in a passage's dateline.
DATELINE_SCORE = 0.3
