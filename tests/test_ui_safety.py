"""Issue 15 on the UI: uploads are only files a browser sent (never a URL the server fetches,
never a server path), uploads during another index run are queued, messages carry no absolute
paths, and ``remove`` works from a fresh ``gradio_client`` session.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import SEEDS
from gradio_client import Client, handle_file
from ui_helpers import Corpus, corpus, corpus_settings, serve  # noqa: F401 - fixtures

from assistant import Assistant
from assistant.wiring import state_folder
from ui import documents

pytestmark = pytest.mark.slow
LUO_FULI = "002_922202727007834a.txt"


@pytest.fixture
def library(corpus: Corpus, tmp_path: Path) -> Assistant:  # noqa: F811
    """An assistant over its own small index (two seed files), safe to change."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in (LUO_FULI, "000_46770c1c8835f142.txt"):
        shutil.copy(SEEDS / name, docs / name)
    assistant = Assistant.from_settings(
        corpus_settings(docs, tmp_path / "index"), embedder=corpus.assistant.library.embedder
    )
    assistant.library.add([docs], progress=False)
    return assistant


class Listener:
    """A loopback TCP server that counts connections (it must see none)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nHACKED text.")
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


def _call_upload(url: str, paths: list[str]) -> str:
    """POST /gradio_api/call/upload with FileData ``paths`` and return the event stream."""
    meta = {"_type": "gradio.FileData"}
    data = [[{"path": p, "meta": meta, "orig_name": "x.txt"} for p in paths]]
    with httpx.Client(base_url=url, timeout=60) as http:
        event = http.post("gradio_api/call/upload", json={"data": data}).json()["event_id"]
        return http.get(f"gradio_api/call/upload/{event}").text


def test_a_url_sent_as_an_uploaded_file_is_never_fetched(library, network_guard):
    listener = Listener()
    docs = Path(library.settings.docs_dir)
    before = sorted(p.name for p in docs.iterdir())
    try:
        with serve(library) as running:
            local = _call_upload(running.url, [f"http://127.0.0.1:{listener.port}/notes.txt"])
            outside = _call_upload(running.url, ["http://93.184.216.34/notes.txt"])
            named = _call_upload(running.url, ["https://example.com/notes.txt"])
    finally:
        listener.close()
    assert listener.hits == 0, "the UI server fetched a URL it was sent as a file"
    assert list(network_guard) == []  # nothing tried a non-loopback address either
    for stream in (local, outside, named):
        assert "event: error" in stream, stream
        assert "URLs and server paths are refused" in stream, stream
    assert sorted(p.name for p in docs.iterdir()) == before


def test_the_upload_handler_refuses_urls_and_server_paths(library, tmp_path):
    uploads = tmp_path / "gradio-uploads"
    uploads.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("The vault code is 1234.")
    link = uploads / "link.txt"
    link.symlink_to(secret)
    docs = Path(library.settings.docs_dir)
    before = sorted(p.name for p in docs.iterdir())
    for given in ["http://127.0.0.1:9/x.txt", "file:///etc/hostname", str(secret), str(link)]:
        report, *_ = documents.upload(library, [given], upload_folder=uploads)
        assert "URLs and server paths are refused" in report, (given, report)
        assert str(tmp_path) not in report
    assert sorted(p.name for p in docs.iterdir()) == before
    assert secret.exists()  # a server file is never deleted as if it were Gradio's copy


def test_an_upload_during_another_index_run_is_queued_and_indexed_when_it_ends(library, tmp_path):
    uploads = tmp_path / "gradio-uploads"
    uploads.mkdir()
    note = uploads / "zorblax.txt"
    note.write_text("The Zorblax project is led by Quentin Marlowe since 2024.\n")
    lock_path = state_folder(library.settings) / "indexer.lock"
    with open(lock_path, "a") as lock:  # another `rag index` holds the index
        fcntl.flock(lock, fcntl.LOCK_EX)
        report, listing, *_ = documents.upload(library, [str(note)], upload_folder=uploads)
        assert "not indexed yet" in report and "another `rag index` is running" in report
        assert "zorblax.txt will be indexed as soon as it ends" in report
        assert (Path(library.settings.docs_dir) / "zorblax.txt").is_file()
        time.sleep(2 * documents.QUEUE_POLL_SECONDS)
        assert "zorblax.txt" not in [d.source for d in library.library.documents()]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if "zorblax.txt" in [d.source for d in library.library.documents()]:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the queued upload was never indexed")
    answer = library.ask("Who leads the Zorblax project?")
    assert "Quentin Marlowe" in answer.text


def test_remove_works_from_a_fresh_api_session_and_messages_show_no_server_paths(library, tmp_path):
    docs = Path(library.settings.docs_dir)
    note = tmp_path / "zorblax_notes.txt"
    note.write_text("The Zorblax project is led by Quentin Marlowe since 2024.\n")
    with serve(library) as running:
        report, listing, *_ = Client(running.url, verbose=False).predict(
            [handle_file(note)], api_name="/upload"
        )
        assert "Added: zorblax_notes.txt" in report
        refused, *_ = Client(running.url, verbose=False).predict(
            str(Path("/etc/passwd")), api_name="/remove"
        )
        removed, listing, *_ = Client(running.url, verbose=False).predict(
            "zorblax_notes.txt", api_name="/remove"
        )
        config = httpx.get(running.url + "config", timeout=30).text
    for message in (report, refused, removed):
        assert str(docs.resolve()) not in message and str(tmp_path) not in message, message
    assert "/etc" not in refused and "passwd is not one" in refused
    assert "Removed zorblax_notes.txt" in removed and "zorblax_notes.txt" not in listing
    assert not (docs / "zorblax_notes.txt").exists()
    assert str(docs.resolve()) not in json.dumps(config)


def test_public_messages_hide_absolute_paths(library):
    docs = Path(library.settings.docs_dir).resolve()
    message = documents.public_message(
        f"the disk holding {library.settings.index_dir}/chroma is full; {docs}/a\nb.txt and "
        "/home/someone/private/report.pdf",
        library,
    )
    assert "/" not in message.replace("a\\nb", ""), message
    assert "report.pdf" in message and "a\\nb.txt" in message
