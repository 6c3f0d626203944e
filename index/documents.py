"""The records that flow through indexing: a loaded document, its sections and its chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A part of a file's text and where in the file it came from.

    ``location`` is what a citation shows ("p. 42", "slide 7", "sheet Sales, rows 2-40");
    ``page`` is the page or slide number when the format has one.
    """

    text: str
    location: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class LoadedDocument:
    """Text extracted from one file plus whatever metadata the file format carries.

    ``sections`` splits ``text`` by where it came from (empty: the whole text is one part);
    ``prose`` False means structured text (rows, records, code) that skips boilerplate removal.
    """

    text: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    sections: tuple[Section, ...] = ()
    prose: bool = True

    def parts(self) -> tuple[Section, ...]:
        """The sections, or the whole text as one section without a location."""
        return self.sections or (Section(self.text),)


def from_sections(sections: Sequence[Section], **fields) -> LoadedDocument:
    """A ``LoadedDocument`` whose text is its non-empty sections joined by blank lines."""
    kept = tuple(s for s in sections if s.text.strip())
    return LoadedDocument(text="\n\n".join(s.text for s in kept), sections=kept, **fields)


@dataclass(frozen=True)
class SectionSpan:
    """Where a section lies in a cleaned document's text, and its citation location."""

    start: int
    end: int
    location: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class Document:
    """A cleaned document ready for chunking.

    ``key`` identifies the file in the index (its resolved path); ``source`` is the name shown
    in citations (the path relative to the folder it was indexed from). ``sections`` are spans
    of ``text`` that chunks never straddle (empty: the whole text is one section).
    """

    key: str
    source: str
    text: str
    content_hash: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    removed_lines: int = 0
    sections: tuple[SectionSpan, ...] = ()


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
    extra: dict[str, str | int | None] = field(default_factory=dict)

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
