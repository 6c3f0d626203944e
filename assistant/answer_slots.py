"""Whether a sentence speaks of the asked slot, not a neighbouring one.

Three ways a sentence can hold a value of the wanted kind and still not answer: it is about
another thing whose name extends the asked one ("Assassin's Creed Syndicate" for "Assassin's
Creed", ``about_another_thing``); it limits the event to a platform or market the question
does not name ("coming to PC on ...", ``limited_to``); or it is cut off right where the asked
role's value would follow ("... and starring ...", ``slot_cut``). And "Who is the director
of X?" needs a sentence saying the role (``asked_role``, ``holds_role``). Used by the
extractive answerer to choose its quote, to abstain and to decide whether sources disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant import answer_rules
from assistant.answer_patterns import NAME_HEADS, NOT_NAMES
from assistant.answer_rules import Frame, word_tokens
from index.lexical import tokenize

# A word of a name mention: letters or digits with the marks names carry ("Assassin's", "GPT-3").
_MENTION_WORD = re.compile(r"[^\W_][\w’'™®.-]*")
_SUBTITLE_CUT = re.compile(r"\s*:\s*(\.\.\.|…|$)")


def about_another_thing(
    question_tokens: frozenset[str], text: str, phrases: tuple[tuple[str, ...], ...] = ()
) -> bool | None:
    """Whether every mention of the question's subject in ``text`` is part of a longer name.

    "Assassin's Creed Syndicate", "Xenoblade Chronicles 2 DLC" or "Xenoblade Chronicles:
    Definitive Edition" name another work than the asked "Assassin's Creed" or "Xenoblade
    Chronicles 2": a capitalised word the question lacks right after the question's words. A
    mention is two or more adjacent question words, one capitalised in ``text``. None when
    ``text`` never mentions the subject (it may say "the game": its page tells which).
    A word standing where one of the question's ``phrases`` (``Frame.phrases``, of 3+ words)
    goes on is the asked name in other words ("Best Animated Feature" for "Best Animated
    Film"), as ``answer_rules.violations`` allows.
    """
    words = list(_MENTION_WORD.finditer(text))
    mentions = extended = 0
    i = 0
    while i < len(words):
        end = i
        while end < len(words) and _in_question(words[end].group(), question_tokens):
            if end > i and text[words[end - 1].end() : words[end].start()].strip():
                break  # "The Godfather, Coppola": a comma ends the name
            end += 1
        if end - i < 2 or not any(w.group()[0].isupper() for w in words[i:end]):
            i = max(end, i + 1)
            continue
        mentions += 1
        rest = text[words[end - 1].end() :]
        if _SUBTITLE_CUT.match(rest):
            extended += 1  # "Xenoblade Chronicles 2: ...": a subtitle, cut off
        elif end < len(words):
            after = words[end].group()
            gap = text[words[end - 1].end() : words[end].start()]
            if (
                after[0].isupper()
                and after.lower().strip(".") not in NOT_NAMES | NAME_HEADS
                and gap.strip(" :") == ""
                and not _goes_on(words[i:end], phrases)
            ):
                extended += 1
        i = end
    return extended == mentions if mentions else None


def _goes_on(mention: list[re.Match], phrases: tuple[tuple[str, ...], ...]) -> bool:
    """Whether a question phrase of 3+ words starts with ``mention`` and goes on past it."""
    tokens = tuple(t for w in mention for t in word_tokens(w.group()) if len(t) > 2)
    return any(len(p) >= 3 and len(p) > len(tokens) and p[: len(tokens)] == tokens for p in phrases)


def _in_question(word: str, question_tokens: frozenset[str]) -> bool:
    tokens = word_tokens(word)
    return bool(tokens) and set(tokens) <= question_tokens


# The last words of a sentence cut off with an ellipsis ("... and starring ...").
_CUT_TAIL = re.compile(
    r"([\w’'-]+)((?:\s+(?:by|as|is|was|are|were|to|the|a|an|of))*)\s*(?:\.\.\.|…)\s*$"
)


def slot_cut(fr: Frame, text: str) -> bool:
    """Whether ``text`` is cut off right where the asked role's value would follow.

    "... directed by Tony Bancroft and Barry Cook and starring ..." names no star: the cut
    word is a word of what is asked ("starring" for "Who is starring as ..."), a verb form or
    followed by a function word ("directed by ...", "won the ..."), so the names before it
    fill other roles. A cut noun ("... title in women's singles ...") is no such opening.
    """
    if not fr.relation or not text.rstrip().endswith(("...", "…")):
        return False
    match = _CUT_TAIL.search(text)
    if not match:
        return False
    word, after = match.group(1), match.group(2)
    if not (after or word.lower().endswith(("ing", "ed"))):
        return False
    return any(t in fr.relation for t in word_tokens(word))


# An event limited to a platform, market or service: "coming to PC", "on Steam", "in Japan".
_LIMITED_TO = re.compile(r"\b(?:to|on|in)\s+(?:the\s+)?([A-Z][\w+’'-]*)")


def limited_to(question_tokens: frozenset[str], text: str) -> list[str]:
    """Names ``text`` limits its statement to that the question does not ("to PC", "on Steam").

    A release "coming to PC on January 14, 2022" is a port, not the release asked about.
    """
    return [
        name
        for name in _LIMITED_TO.findall(text)
        if name.lower().strip(".") not in NOT_NAMES
        and not set(word_tokens(name)) <= question_tokens
    ]


def fact_value(fr: Frame, text: str) -> str | None:
    """The capitalised value a fact-box label of what is asked gives ("Netherlands. Runner-up.").

    ``text`` is two fragments, one of them only words of what is asked ("Runner-up."); the
    other, capitalised and without digits, is then the asked name even where it opens the
    text (where ``names_in`` cannot tell a name from a capitalised first word).
    """
    if fr.wanted != "name" or not fr.relation or len(text) > 80:
        return None  # a fact box is short
    parts = [p.strip() for p in re.split(r"(?<=[.:])\s+", text.strip()) if p.strip()]
    if len(parts) != 2:
        return None
    for label, value in (parts, parts[::-1]):
        tokens = tokenize(label)
        value = value.rstrip(".:")
        if (
            tokens
            and set(tokens) <= fr.relation
            and value[:1].isupper()
            and not re.search(r"\d", value)
            and not set(tokenize(value)) & fr.tokens
        ):
            return value
    return None


def answer_kind(
    fr: Frame, text: str, known: frozenset[str] = frozenset()
) -> tuple[float, tuple[str, ...]]:
    """``answer_rules.answer_kind`` of ``text``, less values cut off with the asked role
    (``slot_cut``), plus the one-word value of a fact box labelled with it (``fact_value``)."""
    kind, values = answer_rules.answer_kind(fr, text, known)
    if values and slot_cut(fr, text):
        return 0.0, ()  # "... directed by A and B and starring ...": no star
    if not values and (value := fact_value(fr, text)):
        return 1.0, (value,)
    return kind, values


# "Who is the director of X?": the role a name must be said to hold.
_ROLE_QUESTION = re.compile(
    r"\bwho (?:is|was|are|were|will be) (?:the )?(?:new |current |former )?([a-z][\w-]*) "
    r"(?:of|for|at)\b"
)


def asked_role(question: str) -> tuple[str, ...]:
    """The role a "Who is the <role> of X?" question asks about, as token prefixes (or ())."""
    match = _ROLE_QUESTION.search(question.lower())
    return tuple(t[:5] for t in tokenize(match.group(1))) if match else ()


def holds_role(role: tuple[str, ...], text: str) -> bool:
    """Whether ``text`` says the ``asked_role`` ("director" or "directed" for "director")."""
    prefixes = {t[:5] for t in tokenize(text)}
    return all(r in prefixes for r in role)


def role_unsaid(question: str, fr: Frame, candidates: Sequence, sources: Sequence) -> bool:
    """Whether "Who is the <role> of X?" finds the role in the sources but in no candidate.

    The candidates (``.text``) are the sentences about X that name someone; when none says
    "director" though a source does (of another film), the director of X is not there. When
    no source says the role at all, they may put it in other words ("won" for "winner"): no
    verdict.
    """
    role = asked_role(question) if fr.wanted == "name" else ()
    return bool(
        role
        and not any(holds_role(role, c.text) for c in candidates)
        and any(holds_role(role, s.text) for s in sources)
    )
