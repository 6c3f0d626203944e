"""Pure functions that turn answers, index state and reports into the page's Markdown/HTML.

Everything that comes from documents or users (passage text, file names, titles, questions,
error messages) is escaped here, so a document holding ``<script>`` or a Markdown image
renders as text and makes the browser fetch nothing. Nothing here imports Gradio.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant import Answer, Citation, DocumentInfo, IndexStatus, RetrievedChunk

# Characters of a passage shown on each side of a highlighted quote.
CONTEXT_CHARS = 280
# Characters shown of a retrieved passage that the answer did not cite.
SNIPPET_CHARS = 320
THINKING_TITLE = "Thinking…"
# The reasoning message's title once the answer is complete.
THOUGHT_TITLE = "Reasoning"
EMPTY_SOURCES = "Ask a question: the passages the answer quotes will appear here."

# Markdown that makes the browser fetch or link something: images, inline links, autolinks,
# raw HTML and character references. Emphasis, lists and headings stay harmless formatting.
_ENTITY = re.compile(r"&(?=#?\w+;)")
_IMAGE = re.compile(r"!\[")
_LINK = re.compile(r"\][(:]")


def chat_markdown(text: str) -> str:
    """Answer or reasoning text as chat Markdown that cannot inject HTML, images or links.

    ``[n]`` citation markers are kept verbatim so the copied answer reads exactly as written.
    """
    text = _ENTITY.sub("&amp;", text)
    text = text.replace("<", "&lt;")
    text = _IMAGE.sub(r"!\\[", text)
    return _LINK.sub(lambda m: "\\" + m.group(0), text)


def error_markdown(message: str) -> str:
    """A user-fixable error shown in the chat instead of an answer."""
    return "**Could not answer:** " + chat_markdown(message)


def thinking_message(reasoning: str, done: bool) -> dict:
    """The collapsed "Thinking…" chat message that holds a model's reasoning."""
    return {
        "role": "assistant",
        "content": chat_markdown(reasoning),
        "metadata": {
            "title": THOUGHT_TITLE if done else THINKING_TITLE,
            "status": "done" if done else "pending",
        },
    }


def generator_label(name: str) -> str:
    """``"ollama:qwen3:4b"`` -> ``"Ollama qwen3:4b"``; ``"extractive"`` -> a short description."""
    if name.startswith("ollama:"):
        return f"Ollama {name.split(':', 1)[1]}"
    if name == "extractive":
        return "the extractive generator (quotes from your documents, no LLM)"
    if name.startswith("openai:"):
        return f"the OpenAI-compatible server's model {name.split(':', 1)[1]}"
    if name == "llamacpp":
        return "the local GGUF model (llama.cpp)"
    return name


def format_ms(ms: float) -> str:
    """Milliseconds for people: ``"850 ms"``, ``"2.4 s"``."""
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


# -- sources ------------------------------------------------------------------------------------


def quote_segments(
    text: str, spans: Iterable[tuple[int, int]], context: int = CONTEXT_CHARS
) -> list[tuple[str, bool]]:
    """``text`` cut to the context around ``spans`` as ``(piece, highlighted)`` pairs.

    Spans are offsets into ``text``; they are clamped, sorted and merged. The context is
    widened to whole words and marked with "…" where the passage goes on.
    """
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if not merged:
        return [(_clip(text, SNIPPET_CHARS), False)] if text else []
    left = _word_boundary(text, max(0, merged[0][0] - context), backwards=True)
    right = _word_boundary(text, min(len(text), merged[-1][1] + context), backwards=False)
    pieces: list[tuple[str, bool]] = [("…" if left > 0 else "", False)]
    cursor = left
    for start, end in merged:
        pieces += [(text[cursor:start], False), (text[start:end], True)]
        cursor = end
    pieces += [(text[cursor:right], False), ("…" if right < len(text) else "", False)]
    return [(piece, marked) for piece, marked in pieces if piece]


def _word_boundary(text: str, index: int, backwards: bool) -> int:
    step = -1 if backwards else 1
    limit = 40  # never widen by more than a long word
    while 0 < index < len(text) and not text[index - 1].isspace() and limit:
        index += step
        limit -= 1
    return index


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: _word_boundary(text, limit, backwards=True)].rstrip() + " …"


def citation_spans(citations: Sequence[Citation], chunk: RetrievedChunk) -> list[tuple[int, int]]:
    """Where each citation's quote sits in ``chunk.text``.

    Citation offsets are in document coordinates, like the chunk's; when they do not match the
    quote (a different chunk, an edited index) the quote is searched for in the text instead.
    """
    spans = []
    for citation in citations:
        start, end = citation.start - chunk.start, citation.end - chunk.start
        if 0 <= start < end <= len(chunk.text) and chunk.text[start:end] == citation.quote:
            spans.append((start, end))
            continue
        found = chunk.text.find(citation.quote) if citation.quote else -1
        if found >= 0:
            spans.append((found, found + len(citation.quote)))
    return spans


def _segments_html(segments: Iterable[tuple[str, bool]]) -> str:
    return "".join(
        f"<mark>{html.escape(piece)}</mark>" if marked else html.escape(piece)
        for piece, marked in segments
    )


def _source_head(marker: str, source: str, title: str | None, location: str | None = None) -> str:
    title_html = f' <span class="rag-title">{html.escape(title)}</span>' if title else ""
    where = f', <span class="rag-location">{html.escape(location)}</span>' if location else ""
    return (
        f'<div class="rag-source-head">{marker}'
        f'<span class="rag-file">{html.escape(source)}</span>{where}{title_html}</div>'
    )


def cited_source_html(n: int, citations: Sequence[Citation], chunk: RetrievedChunk | None) -> str:
    """One cited passage: marker, file name, title and the quote highlighted in its context."""
    first = citations[0]
    if chunk is not None:
        spans = citation_spans(citations, chunk)
        segments = quote_segments(chunk.text, spans) if spans else []
    else:
        segments = []
    if not segments:  # the passage is unknown: show the quotes alone
        segments = [(piece, marked) for c in citations for piece, marked in ((c.quote, True),)]
    marker = f'<span class="rag-marker">[{n}]</span> '
    if first.supported is False:
        # The claim-level check found no sentence citing this passage that it backs up.
        marker += (
            '<span class="rag-unsupported" title="the sentences citing this passage are not '
            'backed by it">not supported by this passage</span> '
        )
    return (
        f'<li class="rag-source rag-cited" id="rag-source-{n}" data-n="{n}">'
        f"{_source_head(marker, first.source, first.title, first.location)}"
        f'<blockquote class="rag-context">{_segments_html(segments)}</blockquote></li>'
    )


def retrieved_source_html(rank: int, chunk: RetrievedChunk) -> str:
    """A retrieved passage the answer did not cite, shown as a short snippet."""
    marker = f'<span class="rag-rank">#{rank}</span> '
    return (
        f'<li class="rag-source rag-uncited">'
        f"{_source_head(marker, chunk.source, chunk.title, chunk.location)}"
        f'<div class="rag-snippet">{html.escape(_clip(chunk.text, SNIPPET_CHARS))}</div></li>'
    )


def sources_html(answer: Answer) -> str:
    """The sources panel: cited passages first, the other retrieved passages collapsed."""
    by_n: dict[int, list[Citation]] = {}
    for citation in answer.citations:
        by_n.setdefault(citation.n, []).append(citation)
    chunks = {chunk.chunk_id: chunk for chunk in answer.retrieved}
    cited_ids = {c.chunk_id for c in answer.citations}

    parts = ['<div class="rag-sources">']
    if by_n:
        parts.append(
            f'<h3 class="rag-heading">Sources cited ({len(by_n)})</h3><ol class="rag-list">'
        )
        for n in sorted(by_n):
            group = by_n[n]
            parts.append(cited_source_html(n, group, chunks.get(group[0].chunk_id)))
        parts.append("</ol>")
    else:
        why = "the answer says the documents do not hold it" if answer.abstained else "none"
        parts.append(f'<p class="rag-none">No passage was cited ({html.escape(why)}).</p>')
    others = [(i, c) for i, c in enumerate(answer.retrieved, 1) if c.chunk_id not in cited_ids]
    if others:
        parts.append(
            f'<details class="rag-others"><summary>Other retrieved passages ({len(others)}, '
            'not cited)</summary><ol class="rag-list">'
        )
        parts += [retrieved_source_html(rank, chunk) for rank, chunk in others]
        parts.append("</ol></details>")
    parts.append("</div>")
    return "".join(parts)


def placeholder_html(message: str = EMPTY_SOURCES) -> str:
    """A muted one-line panel (before the first question, after clearing)."""
    return f'<div class="rag-sources"><p class="rag-none">{html.escape(message)}</p></div>'


def working_html(message: str) -> str:
    """The panel while an answer is on its way (``rag-working``: tests wait for it to go)."""
    return (
        f'<div class="rag-sources rag-working"><p class="rag-none">{html.escape(message)}</p></div>'
    )


def turn_label(number: int, question: str, limit: int = 48) -> str:
    """``"2. Who leads that company?"``, cut to ``limit`` characters, for the turn picker."""
    question = " ".join(question.split())
    if len(question) > limit:
        question = question[: limit - 1].rstrip() + "…"
    return f"{number}. {question}"


# -- status -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusView:
    """What the status line shows: index size, the generator in use, the last answer."""

    index: IndexStatus | None = None
    index_problem: str | None = None
    engine: str = ""
    notice: str | None = None
    answer: Answer | None = None
    error: str | None = None


def status_html(view: StatusView) -> str:
    """The status line: index, embedder, generator, last answer's timings, notices, errors."""
    facts: list[str] = []
    if view.index is not None:
        facts.append(
            f"{view.index.documents} document{'s' * (view.index.documents != 1)}, "
            f"{view.index.chunks} chunk{'s' * (view.index.chunks != 1)}"
        )
        facts.append(f"embedder {view.index.embedder}")
    if view.engine:
        facts.append(f"generator: {view.engine}")
    lines = []
    if facts:
        lines.append(_line("rag-index", " · ".join(facts)))
    if view.index_problem:
        lines.append(_line("rag-warning", view.index_problem))
    if view.answer is not None:
        a, t = view.answer, view.answer.timings
        cited = len({c.n for c in a.citations})
        lines.append(
            _line(
                "rag-answer",
                f"Answered by {generator_label(a.generator)} · {cited} source"
                f"{'s' * (cited != 1)} cited · retrieval {format_ms(t.retrieve)}, "
                f"generation {format_ms(t.generate)}, total {format_ms(t.total)}",
            )
        )
        if a.grounded_share is not None and a.grounded_share < 1:
            lines.append(
                _line(
                    "rag-warning",
                    f"Only {a.grounded_share:.0%} of the cited claims are backed by the passage "
                    "they cite.",
                )
            )
        if a.dropped_citations:
            lines.append(
                _line(
                    "rag-warning",
                    f"{a.dropped_citations} citation marker(s) pointed at "
                    "no retrieved passage and were removed.",
                )
            )
    notice = view.answer.notice if view.answer is not None and view.answer.notice else view.notice
    if notice:
        lines.append(_line("rag-notice", notice))
    if view.error:
        lines.append(_line("rag-error", view.error))
    return f'<div class="rag-status">{"".join(lines)}</div>'


def _line(kind: str, text: str) -> str:
    return f'<div class="{kind}">{html.escape(text)}</div>'


# -- documents ----------------------------------------------------------------------------------


def documents_html(documents: Sequence[DocumentInfo]) -> str:
    """The indexed documents as a table with chunk counts."""
    if not documents:
        return placeholder_html("No documents are indexed yet: upload some above.")
    rows = "".join(
        f"<tr><td class='rag-file'>{html.escape(d.source)}</td>"
        f"<td>{html.escape(d.title or '')}</td><td class='rag-num'>{d.chunks}</td></tr>"
        for d in documents
    )
    total = sum(d.chunks for d in documents)
    return (
        '<table class="rag-docs"><thead><tr><th>Document</th><th>Title</th><th>Chunks</th>'
        f"</tr></thead><tbody>{rows}</tbody><tfoot><tr><td>{len(documents)} documents</td>"
        f"<td></td><td class='rag-num'>{total}</td></tr></tfoot></table>"
    )


def index_report_html(
    report: object | None, rejected: Sequence[tuple[str, str]] = (), headline: str = ""
) -> str:
    """What an upload, removal or re-index did: summary, skipped and rejected files.

    ``report`` is an ``IndexReport`` (``added``, ``changed``, ``removed``, ``skipped``,
    ``unsupported``, ``summary()``) or None when nothing was indexed.
    """
    items: list[str] = []
    problems: list[tuple[str, str]] = list(rejected)
    if report is not None:
        for label in ("added", "changed", "removed"):
            names = getattr(report, label)
            if names:
                items.append(f"{label.capitalize()}: {', '.join(names)}")
        problems += list(report.skipped)
        problems += [(name, "unsupported file type") for name in report.unsupported]
    parts = ['<div class="rag-report">']
    if headline:
        parts.append(f'<div class="rag-headline">{html.escape(headline)}</div>')
    parts += [f"<div>{html.escape(item)}</div>" for item in items]
    if problems:
        parts.append('<ul class="rag-problems">')
        parts += [
            f"<li><span class='rag-file'>{html.escape(name)}</span>: {html.escape(reason)}</li>"
            for name, reason in problems
        ]
        parts.append("</ul>")
    if report is not None:
        parts.append(f'<div class="rag-summary">{html.escape(report.summary())}</div>')
    parts.append("</div>")
    return "".join(parts)
