"""Shared fixtures: the network guard (on by default), seed corpus and a built seed index."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import index  # noqa: F401 - switches off library phone-home before any test imports them

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
QUESTIONS = ROOT / "tests" / "eval" / "questions.jsonl"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like never leave the machine
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkAttempts(list):
    """Connections to non-loopback addresses tried during a test, as ``(kind, address)``."""


class NetworkTally:
    """Connections seen by the guard over the whole session, for the terminal summary."""

    def __init__(self) -> None:
        self.loopback = 0
        self.blocked = 0


TALLY = pytest.StashKey[NetworkTally]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TALLY] = NetworkTally()
    # Commands the tests run never touch the real per-user data folder.
    if "RAG_HOME" not in os.environ:
        import tempfile

        os.environ["RAG_HOME"] = tempfile.mkdtemp(prefix="rag-home-")


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    tally = config.stash[TALLY]
    terminalreporter.write_line(
        f"network guard: {tally.blocked} non-loopback connection attempts, "
        f"{tally.loopback} loopback connections (in the test process)"
    )


@pytest.fixture(autouse=True)
def network_guard(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> NetworkAttempts:
    """Fail any connection to a non-loopback address, and record the attempt.

    Patches ``socket.connect``/``connect_ex``/``sendto`` and name resolution, so every library
    in the test's process (httpx, requests, urllib, chromadb, gradio) is covered. The test fails
    at teardown if anything was attempted, even when the library swallowed the error.
    """
    attempts = NetworkAttempts()
    tally = request.config.stash[TALLY]
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def check(kind: str, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if _is_loopback(host):
            tally.loopback += kind == "connect"
        else:
            tally.blocked += 1
            attempts.append((kind, address))
            raise ConnectionRefusedError(f"test network guard: {kind} to {address!r} blocked")

    def connect(self, address):
        check("connect", address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check("connect", address)
        return real_connect_ex(self, address)

    def sendto(self, data, *args):
        check("sendto", args[-1])
        return real_sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None:
            check("resolve", name)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, f"tried to reach non-loopback addresses: {attempts}"


@pytest.fixture(scope="session")
def embedder():
    """The bundled embedder on the default backend (as `rag index` runs it), loaded once."""
    from assistant.settings import load_settings
    from index.embedders import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(backend=load_settings(environ={}).embedder.backend)


def indexed_settings(root: Path, embedder, fill) -> object:
    """Settings over ``root/docs`` (written by ``fill(docs)``), indexed by the real indexer."""
    from assistant.settings import load_settings
    from assistant.wiring import build_indexer

    docs = root / "docs"
    fill(docs)
    settings = load_settings(
        overrides={
            "docs_dir": str(docs),
            "index_dir": str(root / "index"),
            "generator.name": "extractive",
        },
        environ={},
    )
    build_indexer(settings, embedder=embedder, progress=False).run([docs])
    return settings


def extractive_over(root: Path, files: dict[str, str], embedder):
    """An extractive ``Assistant`` over ``files`` (name -> text) indexed under ``root``."""
    from assistant import Assistant

    def fill(docs: Path) -> None:
        docs.mkdir()
        for name, text in files.items():
            (docs / name).write_text(text, encoding="utf-8")

    return Assistant.from_settings(indexed_settings(root, embedder, fill), embedder=embedder)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder):
    """The seed corpus indexed once per session: ``(settings, docs_dir)``. Do not modify it."""
    base = tmp_path_factory.mktemp("seed-index")
    settings = indexed_settings(base, embedder, lambda docs: shutil.copytree(SEEDS, docs))
    return settings, base / "docs"


@pytest.fixture(scope="session")
def seed_assistant(seed_index, embedder):
    """An ``Assistant`` (extractive) over the session's seed index."""
    from assistant import Assistant

    settings, _ = seed_index
    return Assistant.from_settings(settings, embedder=embedder)


@pytest.fixture
def fresh_settings(tmp_path: Path):
    """Settings with an empty docs folder and index under ``tmp_path``."""
    from assistant.settings import load_settings

    docs = tmp_path / "docs"
    docs.mkdir()
    return load_settings(
        overrides={
            "docs_dir": str(docs),
            "index_dir": str(tmp_path / "index"),
            "generator.name": "extractive",
        },
        environ={},
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real ``chroma run`` server on a free 127.0.0.1 port."""
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        pytest.fail("the chroma CLI is missing from the venv")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield port
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
