"""Conversations that persist: chats and their turns in one SQLite file.

Each turn keeps the question, the answer text and the answer's sources (citations and the
retrieved passages with their text) as JSON, so the sources of any earlier turn can be shown
again after a reload or a restart. One ``ChatStore`` is safe to share between threads: every
call opens its own connection (SQLite serialises the writes).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from assistant.settings import Settings
from assistant.types import Answer, Citation, RetrievedChunk, Timings, Turn
from index.errors import RagError

DEFAULT_TITLE = "New chat"
TITLE_CHARS = 60
_SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    question TEXT NOT NULL, answer TEXT NOT NULL, sources TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS turns_by_chat ON turns(chat_id, id);
"""


def chats_path(settings: Settings) -> Path:
    """Where the chats file lives: ``chats.path``, else ``chats.sqlite3`` in the data home."""
    if settings.chats.path:
        return Path(settings.chats.path).expanduser()
    return Path(settings.home) / "chats.sqlite3"


class ChatNotFound(RagError):
    """No chat has the given id."""


@dataclass(frozen=True)
class ChatInfo:
    """One chat in the list: id, title, when created/updated (epoch seconds), turn count."""

    id: str
    title: str
    created: float
    updated: float
    turns: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "created": self.created,
            "updated": self.updated,
            "turns": self.turns,
        }


@dataclass(frozen=True)
class StoredTurn:
    """One question and its answer, with the answer rebuilt from the stored sources."""

    question: str
    answer: Answer


class ChatStore:
    """Chats in the SQLite file ``path`` (created with its folder on first use)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise RagError(
                f"cannot open the chats file {self.path} ({exc}); set chats.path "
                "(RAG_CHATS__PATH) to a writable file"
            ) from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            with db:  # one transaction per call
                yield db

    def new(self, title: str = DEFAULT_TITLE) -> ChatInfo:
        """Start an empty chat."""
        now = time.time()
        chat = ChatInfo(uuid.uuid4().hex[:12], _title(title), now, now)
        with self._connect() as db:
            db.execute("INSERT INTO chats VALUES (?, ?, ?, ?)", (chat.id, chat.title, now, now))
        return chat

    def list(self) -> list[ChatInfo]:
        """Every chat, most recently used first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT c.id, c.title, c.created, c.updated, COUNT(t.id) FROM chats c "
                "LEFT JOIN turns t ON t.chat_id = c.id GROUP BY c.id "
                "ORDER BY c.updated DESC, c.rowid DESC"
            ).fetchall()
        return [ChatInfo(*row) for row in rows]

    def get(self, chat_id: str) -> ChatInfo:
        """The chat ``chat_id``; ``ChatNotFound`` when there is none."""
        for chat in self.list():
            if chat.id == chat_id:
                return chat
        raise ChatNotFound(f"there is no chat '{chat_id}'; `rag chat --list` shows them")

    def latest(self) -> ChatInfo | None:
        """The most recently used chat, or None when there is none."""
        chats = self.list()
        return chats[0] if chats else None

    def rename(self, chat_id: str, title: str) -> ChatInfo:
        """Give the chat a new title (blank titles keep the default)."""
        with self._connect() as db:
            changed = db.execute(
                "UPDATE chats SET title = ? WHERE id = ?", (_title(title), chat_id)
            ).rowcount
        if not changed:
            raise ChatNotFound(f"there is no chat '{chat_id}' to rename")
        return self.get(chat_id)

    def delete(self, chat_id: str) -> None:
        """Forget the chat and its turns (no error when it is already gone)."""
        with self._connect() as db:
            db.execute("DELETE FROM turns WHERE chat_id = ?", (chat_id,))
            db.execute("DELETE FROM chats WHERE id = ?", (chat_id,))

    def add_turn(self, chat_id: str, question: str, answer: Answer) -> None:
        """Append a finished turn; the first one also names a chat still called "New chat"."""
        now = time.time()
        sources = json.dumps(answer_to_json(answer), ensure_ascii=False)
        with self._connect() as db:
            row = db.execute("SELECT title FROM chats WHERE id = ?", (chat_id,)).fetchone()
            if row is None:
                raise ChatNotFound(f"there is no chat '{chat_id}'; start a new one")
            db.execute(
                "INSERT INTO turns (chat_id, question, answer, sources, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (chat_id, question, answer.text, sources, now),
            )
            title = _title(question) if row[0] == DEFAULT_TITLE else row[0]
            db.execute(
                "UPDATE chats SET updated = ?, title = ? WHERE id = ?", (now, title, chat_id)
            )

    def turns(self, chat_id: str) -> list[StoredTurn]:
        """The chat's turns, oldest first, each with its answer and sources."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT question, sources FROM turns WHERE chat_id = ? ORDER BY id", (chat_id,)
            ).fetchall()
        return [StoredTurn(q, answer_from_json(json.loads(s))) for q, s in rows]

    def history(self, chat_id: str) -> list[Turn]:
        """The chat as ``Turn``s, ready to pass as ``history`` to the assistant."""
        turns: list[Turn] = []
        for stored in self.turns(chat_id):
            turns += [Turn("user", stored.question), Turn("assistant", stored.answer.text)]
        return turns


def _title(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        return DEFAULT_TITLE
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """The answer as JSON, with the retrieved passages' text so its sources can be re-shown."""
    data = answer.to_dict()
    data["retrieved"] = [{**c.to_dict(), "text": c.text} for c in answer.retrieved]
    return data


def _record(cls, data: dict[str, Any]):
    """A ``Citation``/``RetrievedChunk`` from its ``to_dict()`` (keys are its field names), so
    fields added later (a page, a support flag) round-trip without a change here."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def answer_from_json(data: dict[str, Any]) -> Answer:
    """The ``Answer`` stored by ``answer_to_json``."""
    timings = data.get("timings_ms") or {}
    return Answer(
        question=data.get("question", ""),
        text=data.get("answer", ""),
        abstained=bool(data.get("abstained")),
        grounded=bool(data.get("grounded")),
        generator=data.get("generator", ""),
        citations=tuple(_record(Citation, c) for c in data.get("citations", [])),
        retrieved=tuple(_record(RetrievedChunk, r) for r in data.get("retrieved", [])),
        reasoning=data.get("reasoning"),
        timings=Timings(**{k: timings.get(k, 0.0) for k in ("retrieve", "generate", "total")}),
        notice=data.get("notice"),
        dropped_citations=int(data.get("dropped_citations", 0)),
        grounded_share=data.get("grounded_share"),
    )
