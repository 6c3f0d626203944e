""" "Save as test question": append an accepted answer to a question set ``rag eval`` replays.

The line written is a normal question-set line (``assistant.evaluation.questions``): the
question, ``must`` built from the accepted answer, the cited files as ``sources``, and
``answerable`` (false when the answer said the documents do not hold it, with ``must: []``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.evaluation.questions import parse_questions
from assistant.types import Answer
from index.errors import RagError

_MARKER = re.compile(r"\[\s*\d+(?:\s*[,–-]\s*\d+)*\s*\]")
# Pieces shorter than this many characters ("and", "It") are too vague to check for.
MIN_PIECE_CHARS = 4
MAX_GROUPS = 6


class SaveQuestionError(RagError):
    """The question set cannot be written (bad name, unreadable file)."""


def must_groups(accepted: str) -> list[list[str]]:
    """``must`` groups from an accepted answer: one per line or ``[n]``-separated piece.

    Markers are cut out so a replayed answer, which carries its own markers, still contains
    each piece; trailing punctuation is dropped for the same reason.
    """
    groups: list[list[str]] = []
    for line in accepted.splitlines():
        for piece in _MARKER.split(line):
            piece = " ".join(piece.split()).strip(" .,;:")
            if len(piece) >= MIN_PIECE_CHARS and [piece] not in groups:
                groups.append([piece])
    return groups[:MAX_GROUPS]


def question_line(
    question: str, answer: Answer, accepted: str, taken: Sequence[str] = ()
) -> dict[str, Any]:
    """The question-set entry for ``answer`` accepted as ``accepted`` (an unused ``id``)."""
    number = 1
    while f"saved-{number}" in taken:
        number += 1
    sources = list(dict.fromkeys(c.source for c in answer.citations))
    answerable = not answer.abstained
    must = must_groups(accepted) if answerable else []
    if answerable and not must:
        raise SaveQuestionError("the accepted answer is empty; type the words a correct answer "
                                "must contain")  # fmt: skip
    return {"id": f"saved-{number}", "question": question, "must": must, "sources": sources,
            "answerable": answerable}  # fmt: skip


def save_question(path: str | Path, question: str, answer: Answer, accepted: str) -> dict:
    """Append the entry to the JSONL file ``path`` (created if missing); returns the entry."""
    path = Path(path).expanduser()
    if path.suffix != ".jsonl":
        raise SaveQuestionError(f"{path} must end in .jsonl (a question set is JSON Lines)")
    if not path.parent.is_dir():
        raise SaveQuestionError(f"the folder {path.parent} does not exist; create it first")
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise SaveQuestionError(f"cannot read {path} ({exc}); choose another file") from None
    taken = [q.id for q in parse_questions(existing.splitlines(), str(path)).questions]
    entry = question_line(question, answer, accepted, taken)
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    try:
        with path.open("a", encoding="utf-8") as f:
            f.write(prefix + json.dumps(entry, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise SaveQuestionError(
            f"cannot write {path} ({exc.strerror}); choose another file"
        ) from None
    return entry
