"""Saved chats in the page: the chat list (new, rename, delete), reload, per-turn sources, Stop.

Each browser remembers its open chat in ``localStorage`` (``gr.BrowserState``), so a reload
reopens it from the ``ChatStore``; every finished turn is saved with its sources. Stop flags
live in a ``Stops`` object owned by the page, keyed by Gradio's session hash.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import gradio as gr

from assistant import Assistant, RagError
from assistant.chats import ChatNotFound, ChatStore
from ui import chat, render

NO_TURN_SOURCES = "Pick an answer above to see the passages it quoted."


@dataclass
class Stops:
    """One stop flag per browser session that is answering."""

    _events: dict[str, threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, key: str) -> threading.Event:
        with self._lock:
            event = self._events[key] = threading.Event()
            return event

    def stop(self, key: str) -> bool:
        """Ask the session's running answer to stop; False when none is running."""
        with self._lock:
            event = self._events.get(key)
        if event is None:
            return False
        event.set()
        return True

    def done(self, key: str, event: threading.Event) -> None:
        with self._lock:
            if self._events.get(key) is event:
                del self._events[key]


def _key(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or ""


def chat_list(store: ChatStore, current: str | None) -> gr.Radio:
    """The chat list with ``current`` selected."""
    choices = [(info.title, info.id) for info in store.list()]
    value = current if any(cid == current for _, cid in choices) else None
    return gr.Radio(choices=choices, value=value)


def turn_picker(session: chat.Session) -> gr.Radio:
    """One entry per finished answer of the chat, the latest selected."""
    choices = [(render.turn_label(i, q), i) for i, (q, _) in enumerate(session.answers, 1)]
    return gr.Radio(choices=choices, value=len(choices) or None)


def _accepted(session: chat.Session, number: int | None) -> str:
    if not number or not 1 <= number <= len(session.answers):
        return ""
    return session.answers[number - 1][1].text


def _shown(store: ChatStore, session: chat.Session, sources_html: str) -> tuple:
    """(chatbot, sources, session, chat list, turn picker, browser chat id, accepted answer)."""
    return (
        list(session.messages),
        sources_html,
        session,
        chat_list(store, session.chat_id),
        turn_picker(session),
        session.chat_id or "",
        _accepted(session, len(session.answers)),
    )


def open_chat(store: ChatStore, chat_id: str | None) -> tuple:
    """Show the saved chat ``chat_id`` (after a reload, or picked in the list); see ``_shown``."""
    turns = []
    if chat_id:
        try:
            store.get(chat_id)
            turns = store.turns(chat_id)
        except ChatNotFound:  # deleted in another tab: start empty
            chat_id = None
    session = chat.session_from_turns(chat_id, [(t.question, t.answer) for t in turns])
    last = session.last_answer
    panel = render.sources_html(last) if last is not None else render.placeholder_html()
    return _shown(store, session, panel)


def new_chat(store: ChatStore) -> tuple:
    """Start an empty saved chat and show it."""
    return open_chat(store, store.new().id)


def rename_chat(store: ChatStore, session: chat.Session, title: str) -> gr.Radio:
    """Rename the open chat (saving it first if it has no turns yet)."""
    chat_id = session.chat_id if session else None
    if not chat_id:
        return chat_list(store, None)
    store.rename(chat_id, title)
    return chat_list(store, chat_id)


def delete_chat(store: ChatStore, session: chat.Session) -> tuple:
    """Delete the open chat and show the most recent remaining one (or an empty chat)."""
    if session and session.chat_id:
        store.delete(session.chat_id)
    latest = store.latest()
    return open_chat(store, latest.id if latest else None)


def show_turn(session: chat.Session, number: int | None) -> tuple[str, str]:
    """The sources panel and accepted-answer box for answer ``number`` (1-based)."""
    if not session or not number or not 1 <= number <= len(session.answers):
        return render.placeholder_html(NO_TURN_SOURCES), ""
    return render.sources_html(session.answers[number - 1][1]), _accepted(session, number)


def turn_of_message(session: chat.Session, index: int) -> int | None:
    """The answer number (1-based) that chat message ``index`` belongs to, if it is finished."""
    if not session or not 0 <= index < len(session.messages):
        return None
    number = sum(1 for m in session.messages[: index + 1] if m.get("role") == "user")
    return number if 1 <= number <= len(session.answers) else None


def select_message(session: chat.Session, evt: gr.SelectData) -> tuple:
    """Clicking a message of the chat shows that turn's sources (sources, picker, answer)."""
    index = evt.index if isinstance(evt.index, int) else (evt.index or [None])[0]
    number = turn_of_message(session, index) if isinstance(index, int) else None
    if number is None:
        return gr.skip(), gr.skip(), gr.skip()
    sources, accepted = show_turn(session, number)
    return sources, gr.Radio(value=number), accepted


def respond(
    assistant: Assistant,
    store: ChatStore,
    stops: Stops,
    question: str,
    session: chat.Session,
    generator: str,
    model: str | None,
    mode: str,
    top_k: float,
    request: gr.Request,
) -> Iterator[tuple]:
    """``chat.respond`` that saves each finished turn and can be stopped.

    Yields (chat, sources, status, session, textbox, chat list, turn picker, browser chat id,
    accepted answer).
    """
    session = session or chat.Session()
    before = len(session.answers)
    key = _key(request)
    stop = stops.start(key)
    skip4 = (gr.skip(), gr.skip(), gr.skip(), gr.skip())
    try:
        updates = chat.respond(assistant, question, session, generator, model, mode, top_k, stop)
        for messages, sources, status, new, box in updates:
            if not isinstance(new, chat.Session) or len(new.answers) <= before:
                yield messages, sources, status, new, box, *skip4
                continue
            asked, answer = new.answers[-1]
            try:
                chat_id = new.chat_id or store.new().id
                store.add_turn(chat_id, asked, answer)
                new = replace(new, chat_id=chat_id)
            except RagError as exc:  # the answer still shows; saving it is what failed
                status = chat.page_status(assistant, generator, model, new, str(exc))
            saved = (chat_list(store, new.chat_id), turn_picker(new), new.chat_id or "",
                     answer.text)  # fmt: skip
            yield messages, sources, status, new, box, *saved
    finally:
        stops.done(key, stop)


def stop(stops: Stops, request: gr.Request) -> None:
    """The Stop button: end this browser session's answer at its next streamed piece."""
    stops.stop(_key(request))


def save_test_question(session: chat.Session, number: int | None, accepted: str, path: str) -> str:
    """Append answer ``number`` of the chat to the question set ``path``; returns a message."""
    from assistant.evaluation.saving import save_question

    if not session or not number or not 1 <= number <= len(session.answers):
        return "Pick an answer first (the list above the sources)."
    question, answer = session.answers[number - 1]
    try:
        entry = save_question((path or "").strip(), question, answer, accepted or "")
    except RagError as exc:
        return f"Not saved: {exc}"
    where = (path or "").strip()
    return f"Saved as {entry['id']} in {where}; run `rag eval {where}` to replay it."
