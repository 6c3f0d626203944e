"""The Gradio Blocks app: chat with sources, settings, documents; and how it is served.

Private by design: it binds to 127.0.0.1 unless told otherwise, any other address needs a
username and password (``check_bind``), analytics are off, and the theme uses system fonts
only, so the page loads nothing from any host but this app's own.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from functools import partial
from types import SimpleNamespace

import gradio as gr

from assistant import Assistant, RagError, Settings
from assistant.chats import ChatStore, chats_path
from ui import chat, chat_list, documents, render
from ui.styles import CSS
from ui.uploads import SUPPORTED_SUFFIXES, refuse_urls

log = logging.getLogger(__name__)

SYSTEM_FONTS = [
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Helvetica Neue",
    "Arial",
    "sans-serif",
]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
TITLE = "Ask your documents"
# Runs in the browser before the remove handler: no answer, no removal (the key becomes null).
CONFIRM_REMOVE = """(key) => key && confirm(
  'Remove this document from the index? A file you added from your own folders stays on '
  + 'disk; an uploaded copy is deleted.') ? key : null"""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, username: str, password: str) -> tuple[str, str] | None:
    """The login to require for serving on ``host``, or None for none.

    Loopback addresses need no login (one is used if both parts are set). Any other address,
    ``0.0.0.0`` included, needs both a username and a password; without them this raises a
    ``RagError`` naming the settings, so the page is never served open to the network.
    """
    if username and password:
        return (username, password)
    if is_loopback(host):
        if username or password:
            raise RagError(
                "set both ui.username and ui.password (RAG_UI__USERNAME / RAG_UI__PASSWORD) "
                "or neither"
            )
        return None
    raise RagError(
        f"refusing to serve the UI on {host or 'all addresses'} without a login: set "
        "ui.username and ui.password (RAG_UI__USERNAME / RAG_UI__PASSWORD), or bind to "
        "127.0.0.1"
    )


def theme() -> gr.themes.Base:
    """A theme with system fonts only: Gradio's default one fetches web fonts."""
    return gr.themes.Soft(
        primary_hue="indigo", neutral_hue="slate", font=SYSTEM_FONTS, font_mono=MONO_FONTS
    )


def launch_options(settings: Settings, host: str | None = None, port: int | None = None) -> dict:
    """Keyword arguments for ``Blocks.launch``: bind address, login, limits, theme, no extras.

    Raises ``RagError`` (via ``check_bind``) when a non-loopback address has no login.
    """
    ui = settings.ui
    host = host if host is not None else ui.host
    return {
        "server_name": host,
        "server_port": port if port is not None else ui.port,
        "auth": check_bind(host, ui.username, ui.password),
        "auth_message": "Log in with ui.username and ui.password from the assistant's settings.",
        "share": False,
        "inbrowser": False,
        "show_error": False,
        "footer_links": ["api", "settings"],
        "max_file_size": int(ui.max_upload_mb * 1e6),
        "ssr_mode": False,
        "mcp_server": False,
        "pwa": False,
        "enable_monitoring": False,
        "theme": theme(),
        "css": CSS,
    }


def _model_choices(assistant: Assistant) -> gr.Dropdown:
    return gr.Dropdown(choices=chat.ollama_models(assistant))


def _choices(assistant: Assistant) -> dict[str, tuple[str, ...]]:
    """The options of the settings panel, as the assistant's registries define them."""
    return {"generator": assistant.generators.names, "mode": assistant.retriever.MODES}


def _pick_example(sample) -> str:
    return sample[0] if isinstance(sample, list | tuple) else str(sample or "")


def build_app(assistant: Assistant, chats: ChatStore | None = None) -> gr.Blocks:
    """The page: status line, chat with sources, documents tab, chat list, settings panel.

    Per-session state (the conversation) is a ``gr.State``; the settings are components, so
    each browser session has its own. The ``Assistant`` and the ``ChatStore`` (default: the
    file ``chats_path(settings)``) are the shared objects; the browser remembers its open chat.
    """
    settings = assistant.settings
    store = chats if chats is not None else ChatStore(chats_path(settings))
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        page = SimpleNamespace(
            session=gr.State(chat.Session()),
            current=gr.BrowserState("", storage_key="rag-open-chat"),
            store=store,
            stops=chat_list.Stops(),
        )
        gr.HTML(
            f"<h1>{TITLE}</h1><p>Answers quote your own documents and show where each claim "
            "comes from. Everything runs on this machine.</p>",
            elem_id="rag-header",
        )
        page.status = gr.HTML(render.status_html(render.StatusView()), elem_id="rag-status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5), gr.Tabs():
                with gr.Tab("Chat", id="chat-tab"):
                    _chat_tab(page)
                with gr.Tab("Documents", id="documents-tab"):
                    _documents_tab(page, settings)
            with gr.Column(scale=1, min_width=250, elem_id="settings"):
                _chats_panel(page)
                _settings_panel(page, settings, _choices(assistant))
        _wire(app, page, assistant)
    app.queue(max_size=64)
    return app


def _chat_tab(page: SimpleNamespace) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=6):
            page.chatbot = gr.Chatbot(
                label="Conversation",
                show_label=False,
                elem_id="chat",
                height=520,
                buttons=["copy", "copy_all"],
                sanitize_html=True,
                allow_tags=False,
                latex_delimiters=[],
                feedback_options=None,
                placeholder="Ask a question about your documents.",
            )
            with gr.Row(elem_id="ask-row"):
                page.question = gr.Textbox(
                    show_label=False,
                    placeholder="Ask a question about your documents…",
                    elem_id="question",
                    scale=5,
                    max_lines=6,
                    autofocus=True,
                )
                page.ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=70)
                page.stop = gr.Button("Stop", variant="stop", elem_id="stop", scale=1, min_width=70)
                page.clear = gr.Button("New chat", elem_id="clear", scale=1, min_width=100)
        with gr.Column(scale=5):
            page.turns = gr.Radio(
                label="Sources of answer", choices=[], elem_id="turn-picker", interactive=True
            )
            page.sources = gr.HTML(render.placeholder_html(), elem_id="sources")
            with gr.Accordion("Save as test question", open=False, elem_id="save-question"):
                page.accepted = gr.Textbox(
                    label="Accepted answer (each line and each piece between [n] markers "
                    "must appear in a correct answer; shorten it to the key words)",
                    lines=3,
                    elem_id="accepted",
                )
                page.qset = gr.Textbox(
                    label="Question set file (.jsonl, appended; `rag eval FILE` replays it)",
                    value=str(page.store.path.parent / "my-questions.jsonl"),
                    elem_id="qset-path",
                )
                page.save_question = gr.Button("Save as test question", elem_id="save-test")
                page.saved = gr.Markdown(elem_id="save-result")
    page.examples = gr.Dataset(
        label="Example questions",
        components=[page.question],
        samples=[],
        elem_id="examples",
    )


def _chats_panel(page: SimpleNamespace) -> None:
    gr.Markdown("### Chats")
    page.chat_list = gr.Radio(
        choices=[], show_label=False, elem_id="chat-list", interactive=True, label="Saved chats"
    )
    page.chat_title = gr.Textbox(
        label="Title of the open chat", placeholder="A new title", elem_id="chat-title"
    )
    with gr.Row():
        page.rename = gr.Button("Rename", elem_id="rename-chat", size="sm")
        page.delete_chat = gr.Button("Delete", variant="stop", elem_id="delete-chat", size="sm")


def _documents_tab(page: SimpleNamespace, settings: Settings) -> None:
    page.upload = gr.File(
        label=f"Add documents ({' '.join(SUPPORTED_SUFFIXES)}; up to "
        f"{settings.ui.max_upload_mb:g} MB each)",
        file_count="multiple",
        file_types=list(SUPPORTED_SUFFIXES),
        elem_id="upload",
    )
    refuse_urls(page.upload)  # the server never fetches a URL a client sends as a file
    page.report = gr.HTML(elem_id="index-report")
    with gr.Row():
        page.remove_choice = gr.Dropdown(
            label="Document",
            choices=[],
            elem_id="remove-choice",
            scale=3,
            allow_custom_value=True,  # an API client passes a name; remove() validates it
        )
        page.remove = gr.Button("Remove from index", variant="stop", elem_id="remove", scale=1)
        page.reindex = gr.Button("Re-index all sources", elem_id="reindex", scale=1)
        page.cancel_index = gr.Button("Cancel indexing", elem_id="cancel-index", scale=1)
    page.library = gr.HTML(elem_id="documents")


def _settings_panel(
    page: SimpleNamespace, settings: Settings, choices: dict[str, tuple[str, ...]]
) -> None:
    gr.Markdown("### Settings")
    page.generator = gr.Radio(
        list(choices["generator"]),
        label="Generator",
        value=settings.generator.name,
        elem_id="generator",
    )
    page.model = gr.Dropdown(
        [settings.ollama.model],
        value=settings.ollama.model,
        label="Ollama model",
        allow_custom_value=True,
        elem_id="model",
    )
    page.mode = gr.Radio(
        list(choices["mode"]),
        value=settings.retrieval.mode,
        label="Retrieval",
        elem_id="mode",
    )
    page.top_k = gr.Slider(
        1,
        max(20, settings.retrieval.top_k),
        value=settings.retrieval.top_k,
        step=1,
        label="Passages retrieved (top-k)",
        elem_id="top-k",
    )


def _wire(app: gr.Blocks, page: SimpleNamespace, assistant: Assistant) -> None:
    """Connect the events; every callback is a thin partial over ``chat``/``chat_list``/…"""
    store, private = page.store, {"api_visibility": "private"}
    answer_io = {
        "inputs": [page.question, page.session, page.generator, page.model, page.mode, page.top_k],
        "outputs": [page.chatbot, page.sources, page.status, page.session, page.question,
                    page.chat_list, page.turns, page.current, page.accepted],
        "concurrency_limit": 2,
        "concurrency_id": "answer",
    }  # fmt: skip

    def respond(question, session, generator, model, mode, top_k, request: gr.Request):
        yield from chat_list.respond(
            assistant, store, page.stops, question, session, generator, model, mode, top_k,
            request,
        )  # fmt: skip

    def stop(request: gr.Request) -> None:
        chat_list.stop(page.stops, request)

    gr.on([page.ask.click, page.question.submit], respond, api_name="chat", **answer_io)
    page.examples.click(_pick_example, page.examples, page.question, **private).then(
        respond, **private, **answer_io
    )
    page.stop.click(stop, None, None, **private)

    shown = [page.chatbot, page.sources, page.session, page.chat_list, page.turns, page.current,
             page.accepted]  # fmt: skip
    app.load(partial(chat_list.open_chat, store), page.current, shown, **private)
    page.chat_list.input(partial(chat_list.open_chat, store), page.chat_list, shown, **private)
    page.clear.click(partial(chat_list.new_chat, store), None, shown, **private)
    page.chatbot.clear(partial(chat_list.new_chat, store), None, shown, **private)
    page.rename.click(
        partial(chat_list.rename_chat, store), [page.session, page.chat_title], page.chat_list,
        **private,
    )  # fmt: skip
    page.delete_chat.click(partial(chat_list.delete_chat, store), page.session, shown, **private)
    page.turns.input(
        chat_list.show_turn, [page.session, page.turns], [page.sources, page.accepted], **private
    )
    page.chatbot.select(
        chat_list.select_message, page.session, [page.sources, page.turns, page.accepted],
        **private,
    )  # fmt: skip
    page.save_question.click(
        chat_list.save_test_question,
        [page.session, page.turns, page.accepted, page.qset],
        page.saved,
        **private,
    )

    refresh = partial(chat.refresh_status, assistant)
    status_io = {
        "inputs": [page.generator, page.model, page.session],
        "outputs": page.status,
        "api_visibility": "private",
    }
    gr.on([page.generator.change, page.model.change], refresh, **status_io)

    shelf = [page.library, page.remove_choice, page.examples]
    indexing = {"concurrency_limit": 1, "concurrency_id": "index"}
    page.upload.upload(
        partial(documents.upload, assistant),
        page.upload,
        [page.report, *shelf, page.upload],
        api_name="upload",
        **indexing,
    ).then(refresh, **status_io)
    page.remove.click(
        partial(documents.remove, assistant),
        page.remove_choice,
        [page.report, *shelf],
        js=CONFIRM_REMOVE,
        api_name="remove",
        **indexing,
    ).then(refresh, **status_io)
    page.reindex.click(
        partial(documents.reindex, assistant),
        None,
        [page.report, *shelf],
        api_name="reindex",
        **indexing,
    ).then(refresh, **status_io)

    # Not queued behind the index run it stops: it only sets the run's cancel flag.
    page.cancel_index.click(
        partial(documents.cancel, assistant), None, page.report, queue=False, api_name="cancel"
    )

    app.load(partial(documents.library, assistant), None, shelf, api_visibility="private")
    model_list = partial(_model_choices, assistant)
    app.load(model_list, None, page.model, api_visibility="private")
    app.load(refresh, **status_io)


def _has_browser() -> bool:
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def _warm_up(assistant: Assistant) -> None:
    """Load the embedding model now rather than during the first visitor's question."""
    try:
        assistant.library.warm_up()
    except Exception as exc:  # noqa: BLE001 - no index yet, or anything else: the page says so
        log.debug("warm-up skipped: %s", exc)


def launch(
    assistant: Assistant,
    host: str | None = None,
    port: int | None = None,
    open_browser: bool = False,
) -> None:
    """Serve the app until Ctrl-C on ``host``:``port`` (default: settings ``ui.host``/``port``).

    ``open_browser`` opens the page when this machine has a browser; the URL is printed
    either way.

    Raises ``RagError`` when a non-loopback address has no login or the port is taken.
    """
    options = launch_options(assistant.settings, host, port)
    app = build_app(assistant)
    threading.Thread(target=_warm_up, args=(assistant,), name="ui-warm-up", daemon=True).start()
    if open_browser:
        options["inbrowser"] = _has_browser()
    try:
        app.launch(**options)
    except OSError as exc:
        raise RagError(
            f"cannot serve on {options['server_name']}:{options['server_port']} ({exc}); "
            "pass --port or set ui.port (RAG_UI__PORT)"
        ) from None
