"""OpenAI chat-completions shapes: request messages in, completions and SSE chunks out.

Pure functions, no web framework. The extension fields (documented in the README):

- ``citations``: one entry per ``[n]`` marker of the answer, ``{"number", "source", "title",
  "page", "quote", "span": [start, end], "supported"}``. ``span`` is the quote's character
  range in the cleaned document text; ``page`` is null when the format has no pages;
  ``supported`` says the quote was found verbatim in the passage the marker points at.
- ``rag``: ``{"abstained", "grounded", "generator", "notice"}`` about the answer as a whole.

Streaming sends them in the last chunk (the one with ``finish_reason: "stop"``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from assistant import Answer, Citation, RagError, RetrievedChunk, Turn


class RequestError(RagError):
    """A request an OpenAI client could fix: missing messages, unknown model, bad field."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid_request"):
        super().__init__(message)
        self.status = status
        self.code = code


def message_text(content: Any) -> str:
    """A message's text: a string, or the ``text`` parts of OpenAI's list-of-parts form."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    if content is None:
        return ""
    raise RequestError("message content must be a string or a list of text parts")


def split_messages(messages: Any) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the earlier turns as history.

    System and tool messages are ignored: the assistant's own prompt keeps answers grounded.
    """
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list of {role, content} objects")
    turns: list[Turn] = []
    for message in messages:
        if not isinstance(message, dict) or "role" not in message:
            raise RequestError("each message must be an object with 'role' and 'content'")
        role = message["role"]
        if role in ("user", "assistant"):
            turns.append(Turn(role, message_text(message.get("content"))))
    if not turns or turns[-1].role != "user":
        raise RequestError("the last message must come from the user (role 'user')")
    return turns[-1].content, turns[:-1]


def citation_entries(answer: Answer) -> list[dict[str, Any]]:
    """The ``citations`` extension field: one entry per marker number, in number order."""
    chunks = {c.chunk_id: c for c in answer.retrieved}
    seen: dict[int, dict[str, Any]] = {}
    for citation in sorted(answer.citations, key=lambda c: c.n):
        if citation.n not in seen:
            seen[citation.n] = citation_entry(citation, chunks.get(citation.chunk_id))
    return list(seen.values())


def citation_entry(citation: Citation, chunk: RetrievedChunk | None) -> dict[str, Any]:
    """One citation as the API shows it."""
    supported = bool(citation.quote) and chunk is not None and citation.quote in chunk.text
    return {
        "number": citation.n,
        "source": citation.source,
        "title": citation.title,
        "page": citation.page,
        "location": citation.location,
        "quote": citation.quote,
        "span": [citation.start, citation.end],
        "supported": supported,
    }


def answer_facts(answer: Answer) -> dict[str, Any]:
    """The ``rag`` extension field."""
    return {
        "abstained": answer.abstained,
        "grounded": answer.grounded,
        "generator": answer.generator,
        "notice": answer.notice,
    }


def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def completion(answer: Answer, model: str, cid: str | None = None) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` object for ``answer``."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.reasoning:
        message["reasoning_content"] = answer.reasoning
    return {
        "id": cid or completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": citation_entries(answer),
        "rag": answer_facts(answer),
    }


def chunk(
    cid: str,
    model: str,
    delta: dict[str, Any],
    finish: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream."""
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **(extra or {}),
    }


def final_chunk(cid: str, model: str, answer: Answer) -> dict[str, Any]:
    """The stream's last chunk: ``finish_reason: "stop"`` with the extension fields."""
    extra = {"citations": citation_entries(answer), "rag": answer_facts(answer)}
    return chunk(cid, model, {}, "stop", extra)


def error_body(message: str, code: str = "invalid_request", kind: str = "") -> dict[str, Any]:
    """OpenAI's error shape: ``{"error": {"message", "type", "code"}}``."""
    kind = kind or ("server_error" if code == "internal" else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "code": code}}


def parse_model(model: Any, names: Sequence[str]) -> tuple[str | None, str | None]:
    """``(generator, model)`` for a model id: a generator name (``names``, e.g. ``auto``,
    ``extractive``, ``ollama``) or ``<generator>:<model>``; None/empty: the settings' choice."""
    if model in (None, ""):
        return None, None
    if not isinstance(model, str):
        raise RequestError("'model' must be a string such as 'extractive'")
    if model in names:
        return model, None
    backend, _, name = model.partition(":")
    if backend in names and backend != "auto" and name:
        return backend, name
    raise RequestError(
        f"unknown model '{model}'; GET /v1/models lists them ({', '.join(names)}, ollama:<name>)",
        status=404,
        code="model_not_found",
    )
