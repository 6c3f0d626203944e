"""The BM25 (lexical) index, derived from the Chroma collection and persisted beside it.

It is never edited by hand: it is rebuilt from the collection's contents whenever the
collection's ``version()`` (id and generation) differs from the one it was built at, so several
processes that share a Chroma server, or a long-lived UI and the CLI, stay consistent with it.
A read-only index folder keeps a rebuilt index in memory only. Building uses ``bm25s``; tokens
are lower-cased stemmed English words plus character bigrams for CJK text, so Chinese passages
are searchable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from index.protocols import VectorStore

log = logging.getLogger(__name__)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


@cache
def _bm25s():
    import bm25s

    # bm25s sets its own logger to DEBUG on import and logs every build; keep it quiet.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """BM25 tokens: stemmed lower-case words without stopwords, CJK runs as bigrams."""
    lowered = text.lower()
    if not _CJK.search(lowered):  # the common case, without a CJK look at every word
        words = [w for w in _WORD.findall(lowered) if w not in STOPWORDS]
        return _stemmer().stemWords(words)
    tokens: list[str] = []
    words: list[str] = []
    for match in _WORD.finditer(lowered):
        word = match.group()
        cjk = _CJK.findall(word)
        if cjk:
            for run in cjk:
                tokens.extend(run[i : i + 2] for i in range(max(len(run) - 1, 1)))
            word = _CJK.sub(" ", word)
            words.extend(w for w in word.split() if w not in STOPWORDS)
        elif word not in STOPWORDS:
            words.append(word)
    tokens.extend(_stemmer().stemWords(words))
    return tokens


@dataclass(frozen=True)
class LexicalHit:
    """A chunk id with its BM25 score."""

    id: str
    score: float


@dataclass(frozen=True)
class _Snapshot:
    generation: str  # the store's version() it was built from
    ids: list[str]
    retriever: object | None
    frequencies: dict[str, float]  # token -> share of chunks containing it

    @classmethod
    def of(cls, generation: str, ids: list[str], retriever) -> _Snapshot:
        frequencies: dict[str, float] = {}
        if retriever is not None and ids:
            counts = np.diff(retriever.scores["indptr"])
            frequencies = {
                token: float(counts[col]) / len(ids)
                for token, col in retriever.vocab_dict.items()
                if col < len(counts)
            }
        return cls(generation, ids, retriever, frequencies)


class LexicalIndex:
    """BM25 over every chunk in a store; refreshes itself when the store's generation moves."""

    def __init__(self, store: VectorStore, folder: Path):
        self.store = store
        self.folder = folder
        self._lock = threading.Lock()
        # One tuple swapped whole, so a concurrent search never pairs new scores with old ids.
        self._snapshot: _Snapshot | None = None

    def rebuild(self, generation: str) -> None:
        """Rebuild from the store's chunks and persist, atomically replacing the old files.

        ``generation`` is the store's ``version()`` the chunks were read at. On a read-only
        folder the index is kept in memory only.
        """
        bm25s = _bm25s()
        ids: list[str] = []
        corpus: list[list[str]] = []
        for chunk in self.store.iter_chunks():
            ids.append(chunk.id)
            corpus.append(tokenize(chunk.embedding_text))
        retriever = None
        if any(corpus):  # bm25s cannot index a corpus without a single token
            retriever = bm25s.BM25()
            retriever.index(corpus, show_progress=False)
        generation = self._version(generation)
        try:
            self._save(retriever, ids, generation)
        except OSError as exc:
            log.info("lexical index kept in memory only: cannot write %s (%s)", self.folder, exc)
        self._snapshot = _Snapshot.of(generation, ids, retriever)

    def _version(self, generation: int) -> str:
        """What a snapshot is keyed by: the store's ``version()`` (collection id and counter,
        so a rebuilt collection never matches an old index) when it has one."""
        version = getattr(self.store, "version", None)
        return str(version()) if version is not None else str(generation)

    def _save(self, retriever, ids: list[str], generation: str) -> None:
        """Write to a private folder, then swap it in under a lock (threads and processes)."""
        me = f"{os.getpid()}-{threading.get_ident()}"
        tmp = self.folder.with_name(f"{self.folder.name}.tmp-{me}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            if retriever is not None:
                retriever.save(str(tmp), show_progress=False)
            meta = {"generation": generation, "ids": ids, "bm25": retriever is not None}
            (tmp / "ids.json").write_text(json.dumps(meta))
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # a full disk leaves no half-written copy
            raise
        old = self.folder.with_name(f"{self.folder.name}.old-{me}")
        with self._swap_lock(fcntl.LOCK_EX):
            if self.folder.exists():
                os.replace(self.folder, old)
            os.replace(tmp, self.folder)
        shutil.rmtree(old, ignore_errors=True)

    @contextlib.contextmanager
    def _swap_lock(self, mode: int) -> Iterator[None]:
        """``flock`` on a file beside the index: separate opens exclude each other, even threads.

        On a read-only folder nobody can swap the files, so readers go without the lock.
        """
        try:
            handle = open(self.folder.with_name(f"{self.folder.name}.lock"), "a")  # noqa: SIM115
        except OSError:
            if mode != fcntl.LOCK_SH:
                raise
            yield
            return
        with handle:
            fcntl.flock(handle, mode)
            yield

    def _load(self) -> _Snapshot | None:
        bm25s = _bm25s()
        if not (self.folder / "ids.json").is_file():
            return None  # never built (and a reader does not create folders)
        try:
            with self._swap_lock(fcntl.LOCK_SH):  # ids and scores from the same generation
                meta = json.loads((self.folder / "ids.json").read_text())
                ids = list(meta["ids"])
                retriever = None
                if ids and meta.get("bm25", True):
                    retriever = bm25s.BM25.load(str(self.folder), show_progress=False)
            return _Snapshot.of(str(meta["generation"]), ids, retriever)
        except (OSError, ValueError, KeyError) as exc:
            log.info("lexical index in %s not loadable (%s); rebuilding", self.folder, exc)
            return None

    def refresh(self) -> None:
        """Make sure the in-memory index matches the store's current generation."""
        version = getattr(self.store, "version", None)  # one read of the store, not two
        generation = str(version()) if version is not None else str(self.store.generation())
        if self._snapshot and self._snapshot.generation == generation:
            return
        with self._lock:
            if self._snapshot and self._snapshot.generation == generation:
                return
            loaded = self._load()
            if loaded and loaded.generation == generation:
                self._snapshot = loaded
            else:
                self.rebuild(generation)

    def search(self, query: str, n: int) -> list[LexicalHit]:
        """The ``n`` best chunks for ``query`` by BM25, best first; zero-score hits left out."""
        self.refresh()
        snapshot = self._snapshot
        ids, retriever = snapshot.ids, snapshot.retriever
        if retriever is None or n <= 0:
            return []
        vocab = retriever.vocab_dict
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens:
            return []
        # n_threads=0 scores in this thread; any other value starts a thread pool per query.
        docs, scores = retriever.retrieve(
            [tokens], k=min(n, len(ids)), show_progress=False, n_threads=0
        )
        return [
            LexicalHit(ids[int(d)], float(s))
            for d, s in zip(docs[0], scores[0], strict=True)
            if s > 0
        ]

    def document_frequency(self, token: str) -> float:
        """Share of chunks (0..1) that contain the BM25 ``token``; 0 for unknown tokens.

        Refreshed when the store has been seen at another version (by a dense search, say),
        without asking the store again for every token.
        """
        seen = getattr(self.store, "last_version", None)  # stores that follow other processes
        if self._snapshot is None or (seen is not None and self._snapshot.generation != seen):
            self.refresh()
        return self._snapshot.frequencies.get(token, 0.0)
