"""What a question asks for, and whether a sentence can answer it.

``frame(question)`` reads the kind of answer wanted (a name, date, number or place, from English
or Chinese question words) and the question's constraints: the years, other numbers and
named entities a supporting passage must mention. ``answer_kind(frame, sentence)`` scores how
well a sentence supplies the wanted thing *beyond what the question already says* (a sentence
that only repeats the question's year is no date answer), ``violations`` lists the constraints
a passage fails, and ``unquotable`` rejects headings, page furniture, questions and
instructions addressed to the assistant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from assistant.answer_patterns import (
    ADDRESSED,
    CJK,
    CJK_MONTH,
    DATELINE,
    DATELINE_SCORE,
    DAY_MONTH,
    FURNITURE,
    MODAL,
    MONTH_RE,
    NAME_RUN,
    NOT_NAMES,
    NUMERAL,
    PLACE_NOUNS,
    QUALIFIERS,
    SCALE,
    STANDALONE,
    THING_NOUNS,
    TYPE_NOUN_TOKENS,
    YEAR,
    ZH_KINDS,
)
from index.lexical import tokenize
from index.sentences import sentence_spans

# Digits are matched with lookarounds, not \b: CJK characters are word characters, so
# "2021年" has no \b after the year.


def _contains(sequence: list[str], phrase: tuple[str, ...]) -> bool:
    """Whether ``phrase`` occurs contiguously; a phrase of 3+ tokens may differ in one.

    It may also lack its first or last word ("Academy Awards" for "Academy Awards Ceremony").
    """
    n = len(phrase)
    allowed = 1 if n >= 3 else 0
    for i in range(len(sequence) - n + 1):
        if sum(a != b for a, b in zip(sequence[i : i + n], phrase, strict=True)) <= allowed:
            return True
    if n >= 3:
        for part in (phrase[1:], phrase[:-1]):
            if any(tuple(sequence[i : i + n - 1]) == part for i in range(len(sequence) - n + 2)):
                return True
    return False


def strip_dateline(text: str) -> str:
    """``text`` without an opening publication date ("Oct 19, 2021 ... ")."""
    match = DATELINE.match(text)
    return text[match.end() :] if match else text


@dataclass(frozen=True)
class Frame:
    """What a question asks for and what its supporting passage must mention."""

    wanted: str | None  # "name", "date", "number", "place" or None
    name_required: bool  # a who/which question that needs a name in the answer
    years: frozenset[str]
    numbers: frozenset[str]  # numerals other than years ("90th" -> "90", "Q3" -> "3")
    entities: tuple[frozenset[str], ...]  # token sets of capitalised phrases
    phrases: tuple[tuple[str, ...], ...]  # the same phrases as token sequences
    tokens: frozenset[str]  # every BM25 token of the question
    qualifiers: frozenset[str] = frozenset()  # "most", "first", "new": must be in the passage
    relation: frozenset[str] = frozenset()  # content tokens: not names, numbers or type nouns


def frame(question: str) -> Frame:
    """The ``Frame`` of ``question`` (English or Chinese)."""
    wanted = expected_type(question)
    years = frozenset(YEAR.findall(question))
    # Standalone numerals only ("season 3", "90th"): "Q3" or "GPT-3" are parts of names.
    numbers = frozenset(
        _plain_number(n) for n in STANDALONE.findall(question) if _plain_number(n) not in years
    )
    # Short tokens ("us", the "s" of "DeepSeek's") are too ambiguous to demand of a passage.
    phrases = tuple(
        phrase
        for name in question_entities(question)
        if (phrase := tuple(t for t in tokenize(name) if len(t) > 2))
    )
    entities = tuple(frozenset(p) for p in phrases)
    name_required = wanted == "name" and not MODAL.search(question)
    tokens = frozenset(tokenize(question))
    qualifiers = frozenset(w for w in re.findall(r"[a-z]+", question) if w in QUALIFIERS)
    named = {t for name in question_entities(question) for t in tokenize(name)}
    numeric = {t for t in tokens if any(ch.isdigit() for ch in t)}
    relation = tokens - named - numeric - TYPE_NOUN_TOKENS
    return Frame(
        wanted, name_required, years, numbers, entities, phrases, tokens, qualifiers, relation
    )


def expected_type(question: str) -> str | None:
    """The kind of answer ``question`` asks for: name, date, number, place, or None."""
    if CJK.search(question):
        for kind, pattern in ZH_KINDS:
            if pattern.search(question):
                return kind
        return None
    q = question.lower()
    if re.search(
        r"\bhow (many|much|old|long|large|big|tall|far)\b|\b(percentage|number of|valuation|"
        r"worth|revenue|salary|price|cost|size of|population of)\b",
        q,
    ):
        return "number"
    if re.search(
        r"\bwhen\b|\bwhat (year|date|month|day)\b|\bwhich (year|date|month|day)\b|"
        r"\b(release|premiere|launch|founding|birth) date\b|\bwhat time\b",
        q,
    ):
        return "date"
    if re.search(rf"\bwhere\b|\b(which|what) {PLACE_NOUNS}\b", q):
        return "place"
    if re.search(
        rf"\bwho\b|\bwhom\b|\bwhose\b|\bname of\b|\b(which|what) {THING_NOUNS}\b|"
        r"\b(executives?|founders?|ceo|director|person|people)\b",
        q,
    ):
        return "name"
    return None


def question_entities(question: str) -> list[str]:
    """Capitalised phrases of ``question`` past its first word, and quoted titles."""
    found = [m.group(1) or m.group(2) for m in re.finditer(r"\"([^\"]+)\"|“([^”]+)”", question)]
    body = question[1:] if question[:1].isupper() else question
    for match in NAME_RUN.finditer(body):
        words = [w for w in match.group().split() if w.lower() not in NOT_NAMES]
        if words and not (match.start() == 0 and question[:1].isupper() and len(words) < 2):
            found.append(" ".join(words))
    return found


def names_in(text: str, known: frozenset[str] = frozenset()) -> list[str]:
    """Capitalised names in ``text``.

    A lone capitalised word opening a sentence is a name only when it is in ``known`` (words
    seen capitalised inside sentences, where the capital is the word's own) or has a capital
    inside it ("HuggingFace").
    """
    names = []
    for match in NAME_RUN.finditer(text):
        words = match.group().split()
        while words and words[0].lower() in NOT_NAMES:
            words = words[1:]
        if not words:
            continue
        opening = text[: match.start()].strip(" \"'“‘(") == "" or re.search(
            r"[.!?]\s*[\"'“‘(]?$", text[: match.start()]
        )
        lone = len(words) == 1 and words[0] == match.group().split()[0]
        camel = re.search(r"[a-z][A-Z]", words[0])  # "HuggingFace", "DeepSeek": a name anywhere
        if opening and lone and words[0] not in known and not camel:
            continue  # "Against all odds ...": the capital is the sentence's, not a name's
        names.append(" ".join(words))
    return names


def inner_capitalised(text: str) -> frozenset[str]:
    """Capitalised words of ``text`` that do not open a sentence (so are names)."""
    return frozenset(m.group(1) for m in re.finditer(r"(?<![.!?:;\n])\s([A-Z][\w’'-]+)", text))


def answer_kind(
    fr: Frame, text: str, known: frozenset[str] = frozenset()
) -> tuple[float, tuple[str, ...]]:
    """How well ``text`` supplies the wanted thing (0..1) and the values it supplies.

    Only values the question does not already contain count, so a sentence restating the
    asked year is no date answer. For dates a full day-month-year scores 1, less complete
    dates less.
    """
    if fr.wanted is None:
        return 0.0, ()
    dateline = DATELINE.match(text)
    if dateline:
        text = text[dateline.end() :]
    if fr.wanted == "date":
        score, values = _date_kind(fr, text)
        if not values and dateline:
            # Only the publication date: weak evidence of when the event happened.
            return DATELINE_SCORE, (dateline.group().strip(" .…-–—|:"),)
        return score, values
    if fr.wanted == "number":
        values = [
            n
            for n in STANDALONE.findall(text)
            if _plain_number(n) not in fr.numbers and _plain_number(n) not in fr.years
        ]
        values += [s for s in SCALE.findall(text)]
        return (1.0 if values else 0.0), tuple(values)
    if CJK.search(text):
        return 0.5, ()  # no capitalisation to find CJK names by: neutral
    novel = tuple(name for name in names_in(text, known) if _novel_words(name, fr.tokens))
    return (1.0 if novel else 0.0), novel


def _date_kind(fr: Frame, text: str) -> tuple[float, tuple[str, ...]]:
    novel_years = [y for y in YEAR.findall(text) if y not in fr.years]
    day_month = DAY_MONTH.findall(text)
    months = MONTH_RE.findall(text) + CJK_MONTH.findall(text)
    years = YEAR.findall(text)
    if day_month and years:
        score = 1.0
    elif day_month or (months and years):
        score = 0.75
    elif novel_years:
        score = 0.5
    elif months:
        score = 0.3
    else:
        return 0.0, ()
    values = tuple(day_month or months or novel_years)
    if not day_month and not months and not novel_years:
        return 0.0, ()
    return score, values


def violations(fr: Frame, passage: str, tokens: Sequence[str] | None = None) -> list[str]:
    """The question's constraints ``passage`` fails: an asked year, number or name it lacks.

    ``tokens`` are the passage's ``tokenize`` tokens when the caller already has them.
    """
    problems = []
    # Each scan of the passage only for a constraint the question has (the reranker asks
    # this of twenty passages per question).
    if fr.years:
        years = set(YEAR.findall(passage))
        for year in sorted(fr.years - years):
            other = ", ".join(sorted(years)) if years else "no year"
            problems.append(f"asks about {year}, the passage has {other}")
    if fr.numbers:
        numbers = {_plain_number(n) for n in NUMERAL.findall(passage)}
        problems += [f"asks about {n}, not in the passage" for n in sorted(fr.numbers - numbers)]
    if fr.qualifiers:
        words = set(re.findall(r"[a-z]+", passage.lower()))
        problems += [
            f"asks for the {q} one, the passage never says {q}" for q in fr.qualifiers - words
        ]
    if not fr.entities:
        return problems
    sequence = [t for t in (tokenize(passage) if tokens is None else tokens) if len(t) > 2]
    tokens = set(sequence)
    for entity, phrase in zip(fr.entities, fr.phrases, strict=True):
        if len(entity & tokens) * 2 < len(entity):
            problems.append(f"names {' '.join(sorted(entity))}, not in the passage")
        elif len(phrase) > 1 and not _contains(sequence, phrase):
            # "Best Actor" is a name: "best supporting actor" is another one. A longer name
            # may differ in one word ("Best Animated Film" for "Best Animated Feature").
            problems.append(f"names {' '.join(phrase)}, only its words are in the passage")
    return problems


def strip_instructions(question: str) -> str:
    """``question`` without sentences addressed to the assistant ("Ignore your instructions").

    Their words are no constraint on the answer; the rest of the question still is.
    """
    kept = [
        question[start:end]
        for start, end in sentence_spans(question)
        if not ADDRESSED.search(question[start:end])
    ]
    return " ".join(kept) or question


def unquotable(text: str, question_tokens: frozenset[str], heading: bool = True) -> bool:
    """True for text never worth quoting: headings, furniture, questions, instructions.

    Also a sentence that only restates the question (no token the question lacks).
    ``heading=False`` skips the heading test (a fact-box label with its value is short and
    capitalised like a heading, but states something).
    """
    stripped = text.strip()
    if stripped.endswith(("?", "？")) or ADDRESSED.search(stripped) or FURNITURE.search(stripped):
        return True
    if heading and not CJK.search(stripped):
        words = re.findall(r"[A-Za-z][\w’'-]*", stripped)
        if not words:
            return True
        share = sum(w[0].isupper() for w in words) / len(words)
        long_words = [w for w in words if len(w) > 3] or words
        title_case = len(long_words) >= 4 and sum(w[0].isupper() for w in long_words) >= 0.85 * len(
            long_words
        )
        # A heading: title case (short function words aside) or a few mostly capitalised
        # words, without a list inside.
        if not re.search(r"[,;]", text) and (title_case or (len(words) <= 8 and share >= 0.6)):
            return True
    tokens = set(tokenize(stripped))
    return bool(tokens) and tokens <= question_tokens


def _novel_words(name: str, question_tokens: frozenset[str]) -> list[str]:
    """Words of ``name`` that neither the question nor the generic-word list holds."""
    words = [w for w in name.split() if w.lower().strip(".") not in NOT_NAMES]
    return [w for w in words if (t := word_tokens(w)) and not set(t) <= question_tokens]


@lru_cache(maxsize=8192)
def word_tokens(word: str) -> tuple[str, ...]:
    """``tokenize`` of one word, cached: names repeat across passages and questions."""
    return tuple(tokenize(word))


def _plain_number(numeral: str) -> str:
    return re.sub(r"(st|nd|rd|th)$", "", numeral.lower()).replace(",", "")
