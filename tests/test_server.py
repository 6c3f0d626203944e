"""`rag serve` as a process, driven by the real `openai` client and plain HTTP (httpx)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from ollama_fake import FakeOllama
from openai import APIStatusError, AuthenticationError, OpenAI
from ui_helpers import FOLLOW_UP, SEED_FILE, SEED_QUESTION, SEEDS, free_port

pytestmark = pytest.mark.slow
RAG = str(Path(sys.executable).with_name("rag"))
TOKEN = "test-token-0123456789"
MARKER = re.compile(r"\[(\d+)\]")
OTHER = "004_f1f80820b8aa46f4.txt"  # a seed no other test of this module needs


@dataclass
class Api:
    url: str
    docs: Path
    env: dict[str, str]

    def http(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def rag_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        RAG_HOME=str(root),
        RAG_DOCS_DIR=str(root / "uploads"),
        RAG_INDEX_DIR=str(root / "index"),
        RAG_GENERATOR__NAME="extractive",
        RAG_CHATS__PATH=str(root / "chats.sqlite3"),
        PYTHONUNBUFFERED="1",
    )
    return {**env, **extra}


def wait_until_serving(proc: subprocess.Popen, url: str, budget_s: float = 120) -> None:
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"rag serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/v1/index/status", timeout=2).status_code in (200, 401):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"rag serve did not answer on {url} within {budget_s} s")


@contextlib.contextmanager
def rag_serve(root: Path, env: dict[str, str]) -> Iterator[Api]:
    """`rag serve` on a free loopback port until the block ends."""
    port = free_port()
    proc = subprocess.Popen(
        [RAG, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, url)
        yield Api(url, root / "seeds", env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with seeds/ (a registered source) and index/ built by `rag index seeds`."""
    root = tmp_path_factory.mktemp("api-seeds")
    shutil.copytree(SEEDS, root / "seeds")
    done = subprocess.run([RAG, "index", str(root / "seeds")], env=rag_env(root), timeout=600,
                          capture_output=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def api(indexed: Path) -> Iterator[Api]:
    with rag_serve(indexed, rag_env(indexed, RAG_SERVER__TOKEN=TOKEN)) as running:
        yield running


def client(api: Api, token: str = TOKEN) -> OpenAI:
    return OpenAI(base_url=f"{api.url}/v1", api_key=token, max_retries=0, timeout=120)


def check_citations(text: str, citations: list[dict]) -> None:
    """Every [n] marker of ``text`` has an entry, and every entry is a marker of the text."""
    markers = {int(n) for n in MARKER.findall(text)}
    assert markers, f"no [n] marker in {text!r}"
    assert markers == {c["number"] for c in citations}
    for c in citations:
        assert set(c) == {
            "number",
            "source",
            "title",
            "page",
            "location",
            "quote",
            "span",
            "supported",
        }
        assert c["quote"] and c["supported"] is True
        start, end = c["span"]
        assert 0 <= start < end and end - start == len(c["quote"])
    assert SEED_FILE in {c["source"] for c in citations}


def test_models_lists_the_generator_choices(api: Api) -> None:
    ids = [m.id for m in client(api).models.list()]
    assert {"auto", "extractive", "ollama"} <= set(ids)


def test_non_streaming_completion_carries_markers_and_citations(api: Api) -> None:
    completion = client(api).chat.completions.create(
        model="extractive", messages=[{"role": "user", "content": SEED_QUESTION}]
    )
    text = completion.choices[0].message.content
    assert "Xiaomi" in text
    assert completion.choices[0].finish_reason == "stop"
    check_citations(text, completion.model_extra["citations"])
    assert completion.model_extra["rag"]["abstained"] is False


def test_streaming_completion_streams_text_then_citations(api: Api) -> None:
    stream = client(api).chat.completions.create(
        model="extractive",
        messages=[{"role": "user", "content": SEED_QUESTION}],
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    # role first, then the text (the extractive generator sends it whole), then the citations
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].delta.content is None
    assert "Xiaomi" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    check_citations(text, last.model_extra["citations"])


def test_history_comes_from_messages(api: Api) -> None:
    first = client(api).chat.completions.create(
        model="extractive", messages=[{"role": "user", "content": SEED_QUESTION}]
    )
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": SEED_QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": FOLLOW_UP},
    ]
    follow = client(api).chat.completions.create(model="extractive", messages=messages)
    assert "Lei Jun" in follow.choices[0].message.content


def test_upload_list_search_and_remove_over_http(api: Api, tmp_path: Path) -> None:
    note = tmp_path / "harbour-note.txt"
    note.write_text(
        "The harbour master of Quillport is Annika Sorensen. She took office in 2019 and "
        "oversees the ferry schedules and the lighthouse keepers.\n",
        encoding="utf-8",
    )
    with api.http() as http:
        before = http.get("/v1/index/status").json()
        with note.open("rb") as f:
            added = http.post("/v1/documents", files={"files": (note.name, f, "text/plain")})
        assert added.status_code == 200, added.text
        [doc] = added.json()["added"]
        assert doc["source"] == note.name and doc["chunks"] >= 1
        listed = http.get("/v1/documents").json()["data"]
        assert doc["id"] in {d["id"] for d in listed}
        assert http.get("/v1/index/status").json()["documents"] == before["documents"] + 1
        found = http.post("/v1/search", json={"query": "Quillport harbour master", "top_k": 3})
        top = found.json()["data"][0]
        assert top["rank"] == 1 and top["source"] == note.name and "Sorensen" in top["text"]

        stored = api.docs.parent / "uploads" / note.name
        assert stored.exists()  # the upload is a copy the assistant keeps in its own folder
        removed = http.delete(f"/v1/documents/{doc['id']}")
        assert removed.status_code == 200, removed.text
        assert removed.json()["file_deleted"] is True and not stored.exists()
        assert doc["id"] not in {d["id"] for d in http.get("/v1/documents").json()["data"]}
        assert http.get("/v1/index/status").json()["documents"] == before["documents"]
        again = http.delete(f"/v1/documents/{doc['id']}")
        assert (
            again.status_code == 404 and "no indexed document" in again.json()["error"]["message"]
        )
        # One of the user's own files: out of the index, still on disk.
        own = next(d for d in http.get("/v1/documents").json()["data"] if d["source"] == OTHER)
        dropped = http.delete(f"/v1/documents/{own['id']}")
        assert dropped.status_code == 200 and dropped.json()["file_deleted"] is False
        assert own["id"] not in {d["id"] for d in http.get("/v1/documents").json()["data"]}
    assert (api.docs / OTHER).exists()


def test_a_request_without_the_token_is_rejected(api: Api) -> None:
    with api.http(token=None) as http:
        response = http.get("/v1/models")
    assert response.status_code == 401
    assert "bearer token" in response.json()["error"]["message"]
    with pytest.raises(AuthenticationError):
        client(api, token="wrong").models.list()


def test_errors_are_json_with_a_message(api: Api) -> None:
    with api.http() as http:
        bad_json = http.post("/v1/chat/completions", content=b"{not json",
                             headers={"Content-Type": "application/json"})  # fmt: skip
        huge = http.post("/v1/chat/completions", content=b"x" * 400_000)
        no_user = http.post("/v1/chat/completions", json={"messages": []})
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]["message"]
    assert huge.status_code == 413 and "limit" in huge.json()["error"]["message"]
    assert no_user.status_code == 400 and "messages" in no_user.json()["error"]["message"]
    long_question = [{"role": "user", "content": "why " * 2000}]
    with pytest.raises(APIStatusError) as too_long:
        client(api).chat.completions.create(model="extractive", messages=long_question)
    assert too_long.value.status_code == 400 and "query.max_chars" in str(too_long.value)
    with pytest.raises(APIStatusError) as unknown:
        client(api).chat.completions.create(model="gpt-9", messages=long_question[:0] + [
            {"role": "user", "content": SEED_QUESTION}])  # fmt: skip
    assert unknown.value.status_code == 404 and "/v1/models" in str(unknown.value)


def test_the_chat_page_is_served_on_the_same_port(api: Api) -> None:
    page = httpx.get(f"{api.url}/", timeout=30)
    assert page.status_code == 200 and "gradio" in page.text.lower()


def test_beyond_loopback_without_a_token_it_refuses_to_start(tmp_path: Path) -> None:
    env = rag_env(tmp_path)
    done = subprocess.run([RAG, "serve", "--host", "0.0.0.0", "--port", str(free_port())],
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0
    assert "server.token" in done.stderr and "Traceback" not in done.stderr


def test_closing_a_stream_closes_the_ollama_stream(indexed: Path, tmp_path: Path) -> None:
    words = [f"word{i} " for i in range(300)]
    with FakeOllama(models=["m:latest"], reply=words, token_delay_s=0.1) as fake:
        # Its own copy of the index (over the same documents: nothing is written here).
        shutil.copytree(indexed / "index", tmp_path / "index")
        env = rag_env(tmp_path, RAG_GENERATOR__NAME="ollama",
                      RAG_OLLAMA__HOST=fake.url, RAG_OLLAMA__MODEL="m",
                      RAG_OLLAMA__THINK="false")  # fmt: skip
        with rag_serve(tmp_path, env) as running:
            stream = client(running).chat.completions.create(
                model="ollama", messages=[{"role": "user", "content": SEED_QUESTION}], stream=True
            )
            received = ""
            for chunk in stream:
                received += (chunk.choices[0].delta.content or "") if chunk.choices else ""
                if "word3" in received:
                    break
            stream.close()
            assert fake.disconnected.wait(15), "the server kept reading from Ollama"
            assert fake.sent < 100, f"{fake.sent} of {len(words)} tokens were generated"
            # The server is free: the next request is answered.
            models = [m.id for m in client(running).models.list()]
            assert "ollama:m:latest" in models
