"""Each chunk's BM25 tokens, kept in SQLite beside the lexical index.

BM25 weights depend on the whole collection, so the lexical index is rebuilt from every chunk
whenever the collection changes. Reading every chunk's text back from Chroma and tokenizing it
again was most of that rebuild (10,858 chunks: 0.5 s to read, 0.7 s to tokenize, 0.4 s to
build): with the tokens kept here a rebuild reads only the ids (0.05 s) and tokenizes only the
chunks it has never seen. The indexer stores the tokens of the chunks it writes, in its writing
thread, beside the model's work.

Rows are keyed by chunk id, which hashes the file's content and the chunk's place in it, so a
row never stands for another text; ``retain`` drops the rows of chunks that left the store.
``VERSION`` is part of the file's name: a change to ``index.lexical.tokenize`` starts a new file.
A file that cannot be opened or written (a read-only folder, a full disk) only costs speed:
the rebuild then reads and tokenizes every chunk, as it did before.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)
VERSION = 1
_SCHEMA = "CREATE TABLE IF NOT EXISTS tokens (chunk_id TEXT PRIMARY KEY, tokens TEXT NOT NULL)"


def tokens_file(lexical_folder: Path) -> Path:
    """The token file kept beside the lexical index in ``lexical_folder``."""
    return lexical_folder.with_name(f"{lexical_folder.name}-tokens-v{VERSION}.sqlite")


class ChunkTokens:
    """Chunk id -> BM25 tokens, in one SQLite file. Tokens never hold a space (words and CJK
    bigrams), so a row keeps them joined by spaces."""

    def __init__(self, path: Path):
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(_SCHEMA)
        return connection

    def get(self, ids: Iterable[str]) -> dict[str, list[str]]:
        """The kept tokens of those ``ids`` that have them."""
        if not self.path.exists():
            return {}
        wanted = set(ids)
        try:
            connection = self._connect()
            try:
                rows = connection.execute("SELECT chunk_id, tokens FROM tokens").fetchall()
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as exc:
            log.info("BM25 tokens not read from %s: %s", self.path, exc)
            return {}
        return {i: text.split() for i, text in rows if i in wanted}

    def put(self, tokens: Mapping[str, list[str]]) -> None:
        """Keep ``tokens`` (chunk id -> tokens); a failure is logged and costs only speed."""
        if not tokens:
            return
        rows = [(i, " ".join(t)) for i, t in tokens.items()]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._connect()
            try:
                with connection:
                    connection.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?)", rows)
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as exc:
            log.info("BM25 tokens not kept in %s: %s", self.path, exc)

    def retain(self, ids: Iterable[str]) -> None:
        """Delete the rows of every chunk not in ``ids``."""
        if not self.path.exists():
            return
        try:
            connection = self._connect()
            try:
                with connection:
                    connection.execute("CREATE TEMP TABLE kept (chunk_id TEXT PRIMARY KEY)")
                    connection.executemany(
                        "INSERT OR IGNORE INTO kept VALUES (?)", [(i,) for i in ids]
                    )
                    connection.execute(
                        "DELETE FROM tokens WHERE chunk_id NOT IN (SELECT chunk_id FROM kept)"
                    )
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as exc:
            log.info("BM25 tokens not pruned in %s: %s", self.path, exc)
