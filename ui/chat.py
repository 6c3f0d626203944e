"""Chat callbacks: stream an answer into the page, keep the conversation in the session.

The conversation lives in a ``Session`` held by ``gr.State``, one per browser tab; the
``Assistant`` is shared and stateless per conversation. Callbacks stay thin: the work is
``Assistant.stream`` and the rendering is ``ui.render``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

import gradio as gr

from assistant import Answer, Assistant, RagError, ReasoningDelta, TextDelta, Turn
from ui import render

log = logging.getLogger(__name__)
# Earlier turns sent with a question; older ones only stay on screen.
MAX_HISTORY_TURNS = 12
# Seconds to wait for Ollama's model list before falling back to the configured model.
MODEL_LIST_TIMEOUT_S = 2.0


STOPPED = "Stopped before the answer was complete."
WORKING_SEARCH = "Searching your documents…"
WORKING_WRITE = "Writing the answer… its sources appear here when it is complete."


@dataclass(frozen=True)
class Session:
    """One browser session's conversation: the chat as shown and the turns sent as history.

    ``chat_id`` is the saved chat it belongs to (None: not saved); ``answers`` holds each
    finished turn's question and ``Answer``, so any turn's sources can be shown again.
    """

    messages: tuple[dict, ...] = ()
    turns: tuple[Turn, ...] = ()
    last_answer: Answer | None = None
    chat_id: str | None = None
    answers: tuple[tuple[str, Answer], ...] = ()


# -- the status line ----------------------------------------------------------------------------


def engine_state(assistant: Assistant, generator: str, model: str | None) -> tuple[str, str | None]:
    """How questions will be answered with these settings, and a notice when a model is missing.

    The decision is the assistant's own ``auto`` policy (``assistant.generators``): it falls
    back to the extractive generator when no model answers (the notice says so plainly); an
    explicit choice keeps its backend and warns that answers will fail.
    """
    status = assistant.generators.describe(generator or None, model or None)
    label = render.generator_label(status.generator)
    if status.fell_back:
        label += " (no model available)"
    elif status.auto:
        label += " (auto)"
    return label, status.notice


def index_state(assistant: Assistant):
    """``(IndexStatus, None)``, or ``(None, problem)`` when there is no usable index."""
    try:
        return assistant.library.status(), None
    except RagError as exc:
        return None, f"No index to search yet ({exc}). Upload documents in the Documents tab."


def page_status(
    assistant: Assistant,
    generator: str,
    model: str | None,
    session: Session | None = None,
    error: str | None = None,
) -> str:
    """The status line's HTML for this session's settings and last answer."""
    index, problem = index_state(assistant)
    engine, notice = engine_state(assistant, generator, model)
    answer = session.last_answer if session is not None else None
    view = render.StatusView(index, problem, engine, notice, answer, error)
    return render.status_html(view)


def ollama_models(assistant: Assistant) -> list[str]:
    """Models the Ollama server has, the configured one first; just that one if unreachable."""
    configured = assistant.settings.ollama.model
    listed = assistant.generators.models("ollama")
    same = {configured, f"{configured}:latest"}
    return [configured] + sorted(set(listed) - same)


# -- asking -------------------------------------------------------------------------------------


def _user(question: str) -> dict:
    return {"role": "user", "content": render.chat_markdown(question)}


def _assistant(content: str) -> dict:
    return {"role": "assistant", "content": content}


def _tail(question: str, text: str, reasoning: str, done: bool) -> list[dict]:
    tail = [_user(question)]
    if reasoning:  # shown while the model thinks, collapsed once the answer starts
        tail.append(render.thinking_message(reasoning, done or bool(text)))
    if text:
        tail.append(_assistant(render.chat_markdown(text)))
    return tail


def respond(
    assistant: Assistant,
    question: str,
    session: Session,
    generator: str,
    model: str | None,
    mode: str,
    top_k: float,
    stop: threading.Event | None = None,
) -> Iterator[tuple]:
    """Stream the answer to ``question``; yields (chat, sources, status, session, textbox).

    User mistakes and generator failures (``RagError``) appear in the chat and the status line;
    any other failure is logged with its traceback and reported without it. Setting ``stop``
    ends the answer at the next streamed piece and closes the generator's stream (for Ollama,
    its HTTP response), so the model stops and the concurrency slot is freed.
    """
    session = session or Session()
    question = (question or "").strip()
    if not question:
        status = page_status(assistant, generator, model, session, "Type a question first.")
        yield list(session.messages), gr.skip(), status, session, ""
        return
    history = list(session.turns[-MAX_HISTORY_TURNS:])
    shown = list(session.messages)
    working = render.working_html(WORKING_SEARCH)
    yield shown + _tail(question, "", "", False), working, gr.skip(), session, ""
    text = reasoning = ""
    events = None
    try:
        events = assistant.stream(
            question,
            history=history,
            generator=generator or None,
            mode=mode or None,
            top_k=int(top_k) if top_k else None,
            model=model or None,
        )
        writing = False
        for event in events:
            if stop is not None and stop.is_set():
                events.close()  # ends the model's stream now, not after the last token
                yield _stopped(assistant, question, session, text, generator, model)
                return
            if isinstance(event, TextDelta):
                text += event.text
            elif isinstance(event, ReasoningDelta):
                reasoning += event.text
            elif isinstance(event, Answer):
                yield _finished(assistant, question, session, event, generator, model)
                return
            panel = gr.skip()
            if text and not writing:
                writing, panel = True, render.working_html(WORKING_WRITE)
            yield shown + _tail(question, text, reasoning, False), panel, gr.skip(), session, ""
        message = "the generator stopped without an answer; try again"
    except RagError as exc:
        message = str(exc)
    except Exception as exc:  # noqa: BLE001 - a bug must not leave the page hanging
        log.exception("answering %r failed", question)
        message = f"something went wrong ({type(exc).__name__}); the server log has the details"
    finally:
        if events is not None:  # also when the page goes away mid-answer
            events.close()
    # Whatever streamed before the failure stays visible, followed by what went wrong.
    failed = [*_tail(question, text, reasoning, True), _assistant(render.error_markdown(message))]
    session = replace(session, messages=tuple(shown + failed))
    status = page_status(assistant, generator, model, session, message)
    yield list(session.messages), render.placeholder_html(message), status, session, ""


def _stopped(
    assistant: Assistant, question: str, session: Session, text: str, generator: str, model
) -> tuple:
    """The page after Stop: the partial answer marked as stopped, not kept as history."""
    partial_text = render.chat_markdown(text) + "\n\n" if text else ""
    shown = [*session.messages, _user(question), _assistant(partial_text + "*(stopped)*")]
    session = replace(session, messages=tuple(shown))
    status = page_status(assistant, generator, model, session)
    return shown, render.placeholder_html(STOPPED), status, session, ""


def _finished(
    assistant: Assistant,
    question: str,
    session: Session,
    answer: Answer,
    generator: str,
    model: str | None,
) -> tuple:
    text = answer.text or "(the generator returned an empty answer)"
    messages = [*session.messages, *_tail(question, text, answer.reasoning or "", True)]
    session = replace(
        session,
        messages=tuple(messages),
        turns=(*session.turns, Turn("user", question), Turn("assistant", answer.text)),
        last_answer=answer,
        answers=(*session.answers, (question, answer)),
    )
    status = page_status(assistant, generator, model, session)
    return messages, render.sources_html(answer), status, session, ""


def session_from_turns(chat_id: str | None, turns: list[tuple[str, Answer]]) -> Session:
    """The session of a saved chat: its messages, history and each turn's answer."""
    messages: list[dict] = []
    history: list[Turn] = []
    for question, answer in turns:
        text = answer.text or "(the generator returned an empty answer)"
        messages += _tail(question, text, answer.reasoning or "", True)
        history += [Turn("user", question), Turn("assistant", answer.text)]
    last = turns[-1][1] if turns else None
    return Session(tuple(messages), tuple(history), last, chat_id, tuple(turns))


def clear(assistant: Assistant, generator: str, model: str | None) -> tuple:
    """Forget the conversation: empty chat, empty sources panel, fresh session."""
    session = Session()
    status = page_status(assistant, generator, model, session)
    return [], render.placeholder_html(), status, session


def refresh_status(
    assistant: Assistant, generator: str, model: str | None, session: Session
) -> str:
    """The status line after a settings or index change."""
    return page_status(assistant, generator, model, session)
