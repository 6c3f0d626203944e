"""Sentence-aware chunks that fit the embedder, each with its character span in the cleaned text.

llama-index's ``SentenceSplitter`` does the splitting, counting word pieces with the embedder's
own tokenizer and reserving room for the title prefix. Every chunk is then measured again as
the embedder will see it (special tokens included) and split further if it would be truncated,
so no chunk ever loses text to the model's input limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cached_property

from index.documents import Chunk, Document, SectionSpan, embedding_text

# Room kept for [CLS]/[SEP] and for token counts that differ slightly at split boundaries.
SPECIAL_TOKEN_MARGIN = 4
# A title longer than this share of the limit is shortened in the embedding prefix.
MAX_TITLE_SHARE = 0.25


class Chunker:
    """Splits documents into chunks of at most ``max_tokens`` word pieces (prefix included)."""

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        max_tokens: int,
        chunk_size: int = 200,
        chunk_overlap: int = 30,
    ):
        """``count_tokens`` counts word pieces with special tokens, as the embedder does."""
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.chunk_size = min(chunk_size, max_tokens - SPECIAL_TOKEN_MARGIN)
        self.chunk_overlap = min(chunk_overlap, self.chunk_size // 4)

    @cached_property
    def _splitter(self):

        return self._make_splitter(self.chunk_size, self.chunk_overlap)

    def _make_splitter(self, size: int, overlap: int):
        from llama_index.core.node_parser import SentenceSplitter

        # The splitter counts pieces without special tokens; SPECIAL_TOKEN_MARGIN covers them.
        return SentenceSplitter(
            chunk_size=size,
            chunk_overlap=overlap,
            tokenizer=lambda text: range(max(self.count_tokens(text) - 2, 0)),
        )

    def split(self, document: Document) -> list[Chunk]:
        """Chunks of ``document`` in order; empty text gives no chunks.

        Each section (page, slide, sheet rows...) is split on its own, so no chunk straddles
        two; a chunk's metadata carries its section's ``location`` and ``page``.
        """
        if not document.text.strip():
            return []
        title = self._prefix_title(document.title)
        prefix = embedding_text(title, "") if title else ""
        sections = document.sections or (SectionSpan(0, len(document.text)),)
        spans: list[tuple[int, int, SectionSpan]] = []
        for section in sections:
            part = document.text[section.start : section.end]
            if not part.strip():
                continue
            pieces = self._splitter.split_text_metadata_aware(part, prefix)
            for start, end in self._fit(part, _locate(part, pieces), title):
                spans.append((section.start + start, section.start + end, section))
        return [
            Chunk(
                id=chunk_id(document.key, document.content_hash, position, start, end),
                key=document.key,
                source=document.source,
                text=document.text[start:end],
                start=start,
                end=end,
                position=position,
                content_hash=document.content_hash,
                title=title,
                extra={
                    "author": document.author or "",
                    "date": document.date or "",
                    "location": section.location or "",
                    "page": section.page,
                },
            )
            for position, (start, end, section) in enumerate(spans)
        ]

    def _prefix_title(self, title: str | None) -> str | None:
        if not title:
            return None
        budget = int(self.max_tokens * MAX_TITLE_SHARE)
        while title and self.count_tokens(title) > budget:
            title = title[: int(len(title) * 0.8)].rstrip()
        return title or None

    def _fit(self, text: str, spans: list[tuple[int, int]], title: str | None):
        """Yield spans, splitting any whose embedding text would exceed ``max_tokens``."""
        for start, end in spans:
            if self.count_tokens(embedding_text(title, text[start:end])) <= self.max_tokens:
                yield start, end
            elif end - start <= 1:
                continue  # a single character over the limit cannot happen with real tokenizers
            else:
                middle = _split_point(text, start, end)
                yield from self._fit(text, [(start, middle), (middle, end)], title)


def _locate(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Character spans of the splitter's pieces in ``text`` (pieces are ordered substrings)."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        start = text.find(piece, cursor)
        if start < 0:
            start = text.find(piece)
        if start < 0:
            # The splitter normalised something; fall back to the piece's first and last words.
            start, end = _approximate_span(text, piece, cursor)
        else:
            end = start + len(piece)
        if end > start:
            spans.append((start, end))
            cursor = start + 1
    return spans


def _approximate_span(text: str, piece: str, cursor: int) -> tuple[int, int]:
    head, tail = piece[:40].strip(), piece[-40:].strip()
    start = text.find(head, cursor)
    if start < 0:
        return cursor, cursor
    end = text.find(tail, start)
    return start, (end + len(tail)) if end >= 0 else min(len(text), start + len(piece))


def _split_point(text: str, start: int, end: int) -> int:
    """A whitespace position near the middle of ``text[start:end]``, else the middle."""
    middle = (start + end) // 2
    left = text.rfind(" ", start + 1, middle + 1)
    right = text.find(" ", middle, end - 1)
    candidates = [p for p in (left, right) if p > start]
    return min(candidates, key=lambda p: abs(p - middle)) if candidates else middle


def chunk_id(key: str, content_hash: str, position: int, start: int, end: int) -> str:
    """A stable id from the document's identity, content and the chunk's position."""
    raw = f"{key}\x00{content_hash}\x00{position}\x00{start}\x00{end}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]
