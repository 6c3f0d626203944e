"""The records that flow through indexing: a loaded document and its chunks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoadedDocument:
    """Text extracted from one file plus whatever metadata the file format carries."""

    text: str
    title: str | None = None
    author: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class Document:
    """A cleaned document ready for chunking.

    ``key`` identifies the file in the index (its resolved path); ``source`` is the name shown
    in citations (the path relative to the folder it was indexed from).
    """

    key: str
    source: str
    text: str
    content_hash: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    removed_lines: int = 0


@dataclass(frozen=True)
class Chunk:
    """A passage of a document; ``text == document.text[start:end]``."""

    id: str
    key: str
    source: str
    text: str
    start: int
    end: int
    position: int
    content_hash: str
    title: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def embedding_text(self) -> str:
        """What the embedder sees: the title as a prefix, then the passage."""
        return embedding_text(self.title, self.text)


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from a store: what retrieval, citations and the library need.

    ``distance`` is the cosine distance to the query for ``query`` results, else None.
    ``page`` and ``location`` say where in the file the passage is, when the format knows.
    """

    id: str
    key: str
    source: str
    text: str
    start: int
    end: int
    position: int
    content_hash: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    page: int | None = None
    location: str | None = None
    distance: float | None = None

    @property
    def embedding_text(self) -> str:
        """What the embedder saw for this chunk (title prefix, then the passage)."""
        return embedding_text(self.title, self.text)


def embedding_text(title: str | None, text: str) -> str:
    """The text embedded for a chunk: ``title`` as a metadata prefix, then the passage."""
    return f"{title}\n\n{text}" if title else text
