"""Questions that are really several, and follow-ups that lean on the previous turn.

``split_parts`` turns "What were X in 2021 and 2022 (respectively)?" into one question per year,
"Which company acquired X and who runs it?" into its two questions, and the Chinese forms
("2021年和2022年…分别…", "…，谁…") likewise; any other question is returned alone.
``follow_up_question`` gives "and when did that happen?" the previous question's subject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.types import Turn

_WH = r"(?:who|whom|whose|what|when|where|which|how)"
_VALUE = r"(?:[A-Z][\w.&'’-]*(?:\s+[A-Z][\w.&'’-]*)*|\d[\d,.]*%?|Q[1-4](?:\s+\d{4})?)"
_PAIR = re.compile(rf"\b({_VALUE})\s*(?:,\s*|\s+)and\s+({_VALUE})")
_YEAR = re.compile(r"(?:1[5-9]|20)\d\d")
_RESPECTIVELY = re.compile(r",?\s*\brespectively\b", re.IGNORECASE)
_SECOND_QUESTION = re.compile(rf",?\s+and\s+(?={_WH}\b)", re.IGNORECASE)
_ZH_PAIR = re.compile(
    r"([\w.%]+?[年月日届季]?)[和与及、]([\w.%]+?[年月日届季]?)(?=[的是在]|分别|$)"
)
_ZH_QUESTION = re.compile(r"谁|什么|哪|多少|几|何时")
_ZH_SPLIT = re.compile(r"[，,；;]|(?:以及|并且|而且)")
_FOLLOW_UP = re.compile(
    r"^(and|also|what about|how about|then|so)\b|^(那|那么|还有|另外|它|他|她)", re.IGNORECASE
)
_ANAPHOR = re.compile(r"\b(that|it|this|they|them|he|she|him|her|there|then|those)\b|[它他她那这]")
_LEADING_WH = re.compile(
    rf"^\s*{_WH}(?:\s+(?:many|much|long|old|year|date|company|city|country|person))?\b\s*",
    re.IGNORECASE,
)


def split_parts(question: str) -> list[str]:
    """The separate questions inside ``question`` (``[question]`` when it is one)."""
    stripped = _RESPECTIVELY.sub("", question)
    pair = _PAIR.search(stripped)
    years = pair and all(_YEAR.fullmatch(pair.group(i)) for i in (1, 2))
    # "in 2021 and 2022" asks two things; "ByteDance and Alibaba" only with "respectively".
    if pair and (years or stripped != question):
        head, tail = stripped[: pair.start()], stripped[pair.end() :]
        return [f"{head}{pair.group(1)}{tail}", f"{head}{pair.group(2)}{tail}"]
    if re.search(r"[\u4e00-\u9fff]", question):
        return _split_chinese(question)
    pieces = _SECOND_QUESTION.split(question, maxsplit=1)
    if len(pieces) == 2 and all(len(p.split()) >= 3 for p in pieces):
        first = pieces[0].rstrip(" ,?") + "?"
        second = pieces[1][:1].upper() + pieces[1][1:]
        return [first, second if second.endswith("?") else second + "?"]
    return [question]


def _split_chinese(question: str) -> list[str]:
    if "分别" in question:
        pair = _ZH_PAIR.search(question)
        if pair and pair.group(1) != pair.group(2):
            head, tail = question[: pair.start()], question[pair.end() :].replace("分别", "")
            return [f"{head}{pair.group(1)}{tail}", f"{head}{pair.group(2)}{tail}"]
    pieces = [p for p in _ZH_SPLIT.split(question) if p.strip(" ？?")]
    if len(pieces) >= 2 and all(_ZH_QUESTION.search(p) for p in pieces):
        return [p.strip().rstrip("？?") + "？" for p in pieces]
    return [question]


def follow_up_question(question: str, history: Sequence[Turn]) -> str:
    """``question`` with the previous question's subject appended when it is a follow-up.

    A follow-up opens with "and"/"what about"/"那" or is a short question leaning on a
    pronoun ("when did that happen?"); its answer type still comes from its own words.
    """
    previous = next((t.content for t in reversed(history) if t.role == "user"), None)
    if not previous:
        return question
    short = len(question.split()) <= 7 or len(question) <= 20
    if not (_FOLLOW_UP.search(question.strip()) or (short and _ANAPHOR.search(question))):
        return question
    subject = _LEADING_WH.sub("", previous).rstrip(" ?？")
    return f"{question.rstrip()} ({subject})"
