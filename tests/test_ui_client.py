"""The running app through ``gradio_client``; the bind/auth rule; the offline notice."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from ui_helpers import (  # noqa: F401 - fixtures
    FOLLOW_UP,
    SEED_FILE,
    SEED_QUESTION,
    Corpus,
    Server,
    closed_port,
    corpus,
    corpus_settings,
    serve,
    server,
)

from assistant import Assistant
from index.errors import RagError
from ui.app import check_bind, is_loopback, launch, launch_options

pytestmark = pytest.mark.slow


def chat(client: Client, question: str, **settings) -> tuple[list[dict], str, str]:
    """Ask through the /chat endpoint; returns (messages, sources HTML, status HTML)."""
    messages, sources, status, box, *_saved = client.predict(question, api_name="/chat", **settings)
    assert box == ""
    return messages, sources, status


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):  # newer Gradio: a list of typed parts
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def test_chat_endpoint_answers_with_citations(server: Server) -> None:  # noqa: F811
    client = Client(server.url, verbose=False)
    messages, sources, status = chat(client, SEED_QUESTION)
    answer = text_of(messages[-1])
    assert "Xiaomi" in answer and re.search(r"\[\d+\]", answer)
    assert SEED_FILE in sources and "<mark>" in sources
    assert "Answered by the extractive generator" in status


def test_history_is_per_session(server: Server) -> None:  # noqa: F811
    first, second = Client(server.url, verbose=False), Client(server.url, verbose=False)
    chat(first, SEED_QUESTION)
    messages, _, _ = chat(first, FOLLOW_UP)
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert "Lei Jun" in text_of(messages[-1])
    # Another session starts empty: the follow-up means nothing without the first turn.
    messages, _, _ = chat(second, FOLLOW_UP)
    assert len(messages) == 2 and "Lei Jun" not in text_of(messages[-1])


def test_settings_are_per_call_inputs(server: Server) -> None:  # noqa: F811
    client = Client(server.url, verbose=False)
    _, sources, _ = chat(client, SEED_QUESTION, mode="lexical", top_k=1)
    assert "Other retrieved passages" not in sources  # top-k 1: only the cited passage


def test_an_empty_question_gets_a_message_not_an_error(server: Server) -> None:  # noqa: F811
    messages, _, status = chat(Client(server.url, verbose=False), "   ")
    assert messages == [] and "Type a question first" in status


# -- bind and login -----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_needs_no_login(host: str) -> None:
    assert is_loopback(host)
    assert check_bind(host, "", "") is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.20", "example.lan"])
def test_other_addresses_need_username_and_password(host: str) -> None:
    assert not is_loopback(host)
    for username, password in [("", ""), ("me", ""), ("", "secret")]:
        with pytest.raises(RagError, match="RAG_UI__USERNAME / RAG_UI__PASSWORD"):
            check_bind(host, username, password)
    assert check_bind(host, "me", "secret") == ("me", "secret")


def test_half_a_login_is_refused_even_on_loopback() -> None:
    with pytest.raises(RagError, match="both"):
        check_bind("127.0.0.1", "me", "")


def test_launch_refuses_to_serve_on_all_addresses_without_a_login(corpus: Corpus) -> None:  # noqa: F811
    with pytest.raises(RagError, match="refusing to serve the UI on 0.0.0.0"):
        launch(corpus.assistant, host="0.0.0.0", port=closed_port())
    options = launch_options(corpus.settings(**{"ui.username": "u", "ui.password": "p"}), "0.0.0.0")
    assert options["auth"] == ("u", "p") and options["share"] is False


def test_login_from_settings_is_enforced(corpus: Corpus) -> None:  # noqa: F811
    settings = corpus.settings(**{"ui.username": "ada", "ui.password": "lovelace"})
    with serve(corpus.assistant, settings) as running:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client's error type varies
            Client(running.url, verbose=False)
        client = Client(running.url, auth=("ada", "lovelace"), verbose=False)
        messages, _, _ = chat(client, SEED_QUESTION)
        assert "Xiaomi" in text_of(messages[-1])


# -- Ollama unreachable -------------------------------------------------------------------------


def test_unreachable_ollama_is_said_plainly_and_extractive_answers(corpus: Corpus) -> None:  # noqa: F811
    host = f"http://127.0.0.1:{closed_port()}"
    offline = corpus.another(**{"generator.name": "auto", "ollama.host": host})
    with serve(offline) as running:
        client = Client(running.url, verbose=False)
        messages, sources, status = chat(client, SEED_QUESTION)
    assert "Xiaomi" in text_of(messages[-1]) and SEED_FILE in sources
    assert "Answered by the extractive generator" in status
    assert "cannot reach the Ollama server" in status and host in status
    assert "rag-notice" in status


# -- uploads ------------------------------------------------------------------------------------


def test_bad_uploads_get_a_message_and_leave_nothing_behind(
    server: Server,  # noqa: F811
    corpus: Corpus,  # noqa: F811
    tmp_path: Path,
) -> None:
    before = sorted(os.listdir(corpus.docs))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a PDF\n")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02\x03" * 64)
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    client = Client(server.url, verbose=False)
    report, documents, *_ = client.predict(
        [handle_file(broken), handle_file(binary), handle_file(empty)], api_name="/upload"
    )
    assert "broken.pdf" in report and "binary.txt" in report and "empty.md" in report
    assert "empty file" in report and "NUL bytes" in report
    assert "No file was added" in report or "0 file(s) added" in report
    assert sorted(os.listdir(corpus.docs)) == before
    assert "broken.pdf" not in documents


def test_uploading_the_same_file_twice_keeps_one_copy(
    server: Server,  # noqa: F811
    corpus: Corpus,  # noqa: F811
    tmp_path: Path,
) -> None:
    note = tmp_path / "twice.md"
    note.write_text("# Twice\n\nThe Quibble index rose by 7 points in March.\n", encoding="utf-8")
    client = Client(server.url, verbose=False)
    try:
        first, *_ = client.predict([handle_file(note)], api_name="/upload")
        second, documents, *_ = client.predict([handle_file(note)], api_name="/upload")
        assert "Added: twice.md" in first
        assert "already there: twice.md" in second
        assert [n for n in os.listdir(corpus.docs) if n.startswith("twice")] == ["twice.md"]
        assert documents.count("twice.md") == 1
    finally:
        (corpus.docs / "twice.md").unlink(missing_ok=True)
        corpus.assistant.library.add([corpus.docs], progress=False)


def test_first_run_without_an_index_explains_and_upload_starts_one(
    corpus: Corpus,  # noqa: F811
    tmp_path: Path,
) -> None:
    fresh = Assistant.from_settings(
        corpus_settings(tmp_path / "docs", tmp_path / "index"),
        embedder=corpus.assistant.retriever.embedder,
    )
    note = tmp_path / "zorblax.txt"
    note.write_text("The Zorblax project is led by Quentin Marlowe.\n", encoding="utf-8")
    with serve(fresh) as running:
        client = Client(running.url, verbose=False)
        messages, _, status = chat(client, "Who leads the Zorblax project?")
        assert "Could not answer" in text_of(messages[-1]) and "Traceback" not in status
        assert "No index to search yet" in status
        report, documents, *_ = client.predict([handle_file(note)], api_name="/upload")
        assert "Added: zorblax.txt" in report and "zorblax.txt" in documents
        messages, sources, status = chat(client, "Who leads the Zorblax project?")
    assert "Quentin Marlowe" in text_of(messages[-1]) and "zorblax.txt" in sources
    assert "1 document, 1 chunk " in status
    assert (tmp_path / "docs" / "zorblax.txt").is_file()


def test_chroma_server_down_keeps_the_page_up_and_says_which_server(tmp_path: Path) -> None:
    """A Chroma server that does not answer: the page loads and each answer names host:port."""
    port = closed_port()
    settings = corpus_settings(
        tmp_path / "docs", tmp_path / "index", **{"chroma.mode": "http", "chroma.port": port}
    )
    down = Assistant.from_settings(settings)
    with serve(down) as running:
        client = Client(running.url, verbose=False)
        for _ in range(2):  # the app keeps serving after the first failure
            messages, sources, status = chat(client, "Which company did Luo Fuli join?")
            answer = text_of(messages[-1])
            assert "Could not answer" in answer and f"127.0.0.1:{port}" in answer + status
            assert "Traceback" not in answer + status + sources
