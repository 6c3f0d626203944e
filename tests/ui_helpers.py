"""Shared pieces of the UI tests: a seeded index, a running app, headless Chromium.

The index (the expensive part: embedding the seed corpus) and the app serving it are built
once per test session, even though several test modules import these fixtures: pytest makes
one fixture definition per importing module, so the objects are cached in ``config.stash``.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SEED_QUESTION = "Which company did Luo Fuli join?"
SEED_FILE = "002_922202727007834a.txt"
# Answerable (Xiaomi's Lei Jun) only with SEED_QUESTION as history.
FOLLOW_UP = "Who leads that company?"
_CACHE = pytest.StashKey[dict]()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A loopback port with no server behind it (connections are refused)."""
    return free_port()


@dataclass
class Corpus:
    """A copy of the seed documents and an index of them in a temporary folder."""

    docs: Path
    index: Path
    assistant: Assistant

    def settings(self, **overrides: Any) -> Settings:
        """Settings for this corpus with dotted-key overrides (environment ignored)."""
        return corpus_settings(self.docs, self.index, **overrides)

    def another(self, **overrides: Any) -> Assistant:
        """Another assistant over this index (sharing the loaded embedder)."""
        return Assistant.from_settings(
            self.settings(**overrides), embedder=self.assistant.retriever.embedder
        )


def corpus_settings(docs: Path, index: Path, **overrides: Any) -> Settings:
    """Extractive settings for ``docs``/``index``, ignoring ``RAG_*`` variables of the shell.

    ``home`` is the index's parent, so chats and the like never land in the user's data home.
    """
    base = {"docs_dir": str(docs), "index_dir": str(index), "generator.name": "extractive",
            "home": str(Path(index).parent)}  # fmt: skip
    return load_settings(overrides={**base, **overrides}, environ={})


@dataclass
class Server:
    """A running app: its URL, port and the assistant behind it."""

    url: str
    port: int
    assistant: Assistant
    app: Any


@contextlib.contextmanager
def serve(assistant: Assistant, settings: Settings | None = None) -> Iterator[Server]:
    """Serve ``build_app(assistant)`` on a free loopback port until the block ends.

    ``settings`` (default: the assistant's) decide the launch options, e.g. a login.
    """
    from ui.app import build_app, launch_options

    port = free_port()
    app = build_app(assistant)
    options = launch_options(settings or assistant.settings, "127.0.0.1", port)
    app.launch(**options, prevent_thread_lock=True, quiet=True)
    try:
        yield Server(f"http://127.0.0.1:{port}/", port, assistant, app)
    finally:
        app.close()


def _once(request: pytest.FixtureRequest, name: str, make: Callable[[], Any]) -> Any:
    cache = request.config.stash.setdefault(_CACHE, {})
    if name not in cache:
        cache[name] = make()
    return cache[name]


@pytest.fixture(scope="session")
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: Any
) -> Corpus:
    """The seed corpus indexed once for the session, answered by the extractive generator.

    Its own copy (the UI tests upload and remove documents), with conftest's shared embedder.
    Tests that add documents remove them again.
    """

    def make() -> Corpus:
        root = tmp_path_factory.mktemp("ui-corpus")
        docs = root / "docs"
        docs.mkdir()
        for seed in sorted(SEEDS.glob("*.txt")):
            shutil.copy(seed, docs / seed.name)
        assistant = Assistant.from_settings(
            corpus_settings(docs, root / "index"), embedder=embedder
        )
        assistant.library.add([docs], progress=False)
        return Corpus(docs, root / "index", assistant)

    return _once(request, "corpus", make)


@pytest.fixture(scope="session")
def server(request: pytest.FixtureRequest, corpus: Corpus) -> Server:
    """The app over ``corpus`` on a free 127.0.0.1 port, closed at the end of the session."""

    def make() -> Server:
        context = serve(corpus.assistant)
        running = context.__enter__()
        request.addfinalizer(lambda: context.__exit__(None, None, None))
        return running

    return _once(request, "server", make)


@pytest.fixture(scope="session")
def chromium(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (never ``playwright install``).

    One browser for the session even when several modules import this fixture: a second
    Playwright instance cannot start inside the first one's event loop.
    """
    cache = request.config.stash.setdefault(_CACHE, {})
    if "chromium" in cache:
        yield cache["chromium"]
        return
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `apt-get install -y chromium` (make setup)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        cache["chromium"] = browser
        yield browser
        cache.pop("chromium", None)
        browser.close()
