"""Question sets: JSONL question files -> validated ``Question``s and per-line problems.

A question set is JSONL, one question per line: ``id``, optional ``type`` (a free label for
grouping the report, default "question"), ``question``,
``must`` (groups of acceptable strings: an answer is correct when it contains one string of
every group, compared case-insensitively after Unicode NFKC normalisation and casefolding),
``sources`` (the files holding the answer), ``answerable`` and optional ``forbid`` (strings
that must never appear in an answer). Invalid lines become ``QuestionProblem``s naming the line
and field; the valid questions still run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import RagError

FIELDS = ("id", "type", "question", "must", "sources", "answerable", "forbid")
DEFAULT_TYPE = "question"


class QuestionSetError(RagError):
    """The question file cannot be read or holds no valid question."""


@dataclass(frozen=True)
class Question:
    """One evaluation question; ``line`` is its 1-based line in the file."""

    id: str
    type: str
    question: str
    must: tuple[tuple[str, ...], ...]
    sources: tuple[str, ...]
    answerable: bool
    forbid: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class QuestionProblem:
    """An invalid line: where it is, which field is at fault (None: the whole line), and why."""

    path: str
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"field '{self.field}'" if self.field else "line"
        return f"{self.path}:{self.line}: {where}: {self.message}"


@dataclass(frozen=True)
class QuestionSet:
    """The valid questions of a file and the problems of its invalid lines."""

    path: str
    questions: tuple[Question, ...]
    problems: tuple[QuestionProblem, ...] = ()


def load_questions(path: str | Path) -> QuestionSet:
    """Read and validate a JSONL question file.

    Raises ``QuestionSetError`` when the file cannot be read or no line is valid; otherwise
    invalid lines are returned as ``problems`` alongside the valid questions.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuestionSetError(f"question file {path} does not exist; give a JSONL file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"question file {path} cannot be read as text: {exc}") from None
    result = parse_questions(text.splitlines(), str(path))
    if not result.questions:
        first = f"; first problem: {result.problems[0]}" if result.problems else ""
        raise QuestionSetError(f"question file {path} holds no valid question{first}")
    return result


def parse_questions(lines: Iterable[str], path: str = "<questions>") -> QuestionSet:
    """Validate JSONL ``lines``; blank lines are skipped, ids must be unique."""
    questions: list[Question] = []
    problems: list[QuestionProblem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        found: list[tuple[str | None, str]] = []
        question = _parse_line(raw, number, found)
        if question is not None and question.id in seen:
            found.append(("id", f"'{question.id}' is already used on line {seen[question.id]}"))
            question = None
        problems.extend(QuestionProblem(path, number, f, m) for f, m in found)
        if question is not None:
            seen[question.id] = number
            questions.append(question)
    return QuestionSet(path, tuple(questions), tuple(problems))


def _parse_line(raw: str, number: int, found: list[tuple[str | None, str]]) -> Question | None:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        found.append((None, f"not valid JSON ({exc.msg} at column {exc.colno}); fix the syntax"))
        return None
    if not isinstance(data, dict):
        found.append((None, "must be a JSON object with id, type, question, must, ..."))
        return None
    for key in data:
        if key not in FIELDS:
            found.append((key, f"is not a known field; use {', '.join(FIELDS)}"))
    texts = {k: _text(data, k, found) for k in ("id", "question")}
    # ``type`` is an optional label for grouping the report; untyped questions share one.
    texts["type"] = _text(data, "type", found) if "type" in data else DEFAULT_TYPE
    answerable = data.get("answerable")
    if not isinstance(answerable, bool):
        found.append(("answerable", f"must be true or false, got {answerable!r}"))
    must = _groups(data.get("must"), found)
    sources = _strings(data.get("sources", []), "sources", found)
    forbid = _strings(data.get("forbid", []), "forbid", found)
    if answerable is False and must:
        found.append(("must", "an unanswerable question takes no must strings; use []"))
    if found or any(v is None for v in texts.values()) or must is None:
        return None
    return Question(
        texts["id"], texts["type"], texts["question"], must, sources or (), bool(answerable),
        forbid or (), number,
    )  # fmt: skip


def _text(data: dict[str, Any], key: str, found: list[tuple[str | None, str]]) -> str | None:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        found.append((key, f"must be a non-empty string, got {value!r}"))
        return None
    return value.strip()


def _strings(value: Any, key: str, found: list[tuple[str | None, str]]) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        found.append((key, f'must be a list of non-empty strings, e.g. ["a.txt"], got {value!r}'))
        return None
    return tuple(v.strip() for v in value)


def _groups(value: Any, found: list[tuple[str | None, str]]) -> tuple[tuple[str, ...], ...] | None:
    example = 'e.g. [["Paris"], ["1889", "eighteen eighty-nine"]]'
    if not isinstance(value, list):
        found.append(("must", f"must be a list of groups of strings, {example}, got {value!r}"))
        return None
    groups = []
    for index, group in enumerate(value, start=1):
        if not isinstance(group, list) or not group:
            found.append(("must", f"group {index} must be a non-empty list of strings, {example}"))
            return None
        if not all(isinstance(s, str) and s.strip() for s in group):
            found.append(("must", f"group {index} holds an empty or non-string value: {group!r}"))
            return None
        groups.append(tuple(s.strip() for s in group))
    return tuple(groups)
