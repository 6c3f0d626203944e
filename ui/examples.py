"""Example questions about the loaded corpus, made from the names its documents mention.

Pure functions: the passages come in as text, the questions go out as strings. A name that a
document mentions several times (a person, a company, an agency) makes a question any
generator can answer from that document, the extractive one included.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from assistant import DocumentInfo

# Capitalised words, optionally joined by "of"/"for" ("Bureau of Labor Statistics"),
# or one word with an inner capital ("DeepSeek", "ByteDance").
_WORD = r"[A-Z][\w’']*[a-z][\w’']*(?:-[A-Z][\w’']*)*"
_NAME = re.compile(
    rf"\b{_WORD}(?:\s+(?:(?:of|for|de|van|von)\s+)?{_WORD})+\b|\b[A-Z][a-z]+[A-Z]\w*\b"
)
# Words that start a sentence or a phrase, not a name.
_NOT_NAME_START_WORDS = """
    a an the this that these those it its in on at as by for from to of and but or if when
    while after before since despite however with without according among about all also
    another any each every he she they we our their his her you your i my there here what
    which who how why where most many more some such not no one two new last first next mr
    mrs ms dr monday tuesday wednesday thursday friday saturday sunday january february
    march april may june july august september october november december
"""
_NOT_NAME_START = frozenset(_NOT_NAME_START_WORDS.split())
_POSSESSIVE = re.compile(r"[’']s$")
MAX_NAME_WORDS = 5


def names_in(text: str) -> Counter[str]:
    """Proper names in ``text`` with how often each occurs."""
    found: Counter[str] = Counter()
    for match in _NAME.finditer(text):
        words = [_POSSESSIVE.sub("", w) for w in match.group(0).split()]
        while words and words[0].lower() in _NOT_NAME_START:
            words = words[1:]
        if not words or len(words) > MAX_NAME_WORDS:
            continue
        if len(words) == 1 and not re.search(r"[a-z][A-Z]", words[0]):
            continue  # a lone capitalised word is too often just a sentence start
        found[" ".join(words)] += 1
    return found


def example_questions(
    documents: Sequence[DocumentInfo], texts: Mapping[str, Sequence[str]], limit: int = 4
) -> list[str]:
    """Up to ``limit`` questions, each about a name from a different document when possible.

    ``texts`` maps a document's ``source`` to some of its passages. Documents without names
    contribute a question about their title instead.
    """
    per_doc: list[Counter[str]] = []
    for doc in documents:
        counts = names_in("\n".join(texts.get(doc.source, ())))
        if not counts and doc.title:
            counts = Counter({f"“{doc.title.strip()[:90]}”": 1})
        per_doc.append(counts)
    questions: list[str] = []
    used: set[str] = set()
    # Names a document repeats first, one per document in turn; then names it mentions once.
    for min_count in (2, 2, 1, 1):
        for counts in per_doc:
            fresh = [
                name
                for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                if count >= min_count and name.lower() not in used
            ]
            if fresh and len(questions) < limit:
                used.add(fresh[0].lower())
                questions.append(f"What do the documents say about {fresh[0]}?")
    return questions
