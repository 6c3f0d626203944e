"""``Library``: the documents side of the assistant: index, re-index, remove, list, status.

``rag index``, the UI's Documents tab and the HTTP API all go through one ``Library``, which
shares its store, keyword index and embedder with the ``Assistant`` built beside it (see
``assistant.wiring``), so an upload is answerable at once and no second client is opened.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.sources import Sources
from index.errors import RagError
from index.loaders import LOADERS
from index.pipeline import Indexer
from index.progress import Progress
from index.protocols import Embedder, KeywordIndex, VectorStore
from index.runs import IndexReport, PathNotFound

IndexerFactory = Callable[[Callable[[str], None] | None, bool | None], Indexer]


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document: its display name, title, chunk count and index key (path)."""

    source: str
    title: str | None
    chunks: int
    key: str


@dataclass(frozen=True)
class Removal:
    """What removing a document did: the index report, and whether its file was deleted
    (only ever a file the assistant stored itself, in the uploads folder)."""

    report: IndexReport
    source: str
    file_deleted: bool


@dataclass(frozen=True)
class IndexStatus:
    """What the index holds, for status lines."""

    documents: int
    chunks: int
    embedder: str


class Library:
    """The indexed documents: registered sources, adding, syncing, removing, listing."""

    def __init__(
        self,
        docs_dir: Path,
        store: VectorStore,
        lexical: KeywordIndex,
        embedder: Embedder,
        make_indexer: IndexerFactory,
        sources_file: Path,
    ):
        """``make_indexer(on_message, progress)`` returns an ``Indexer`` over ``store``;
        ``docs_dir`` is the folder the assistant manages (uploads); ``sources_file`` holds
        the registered sources."""
        self.docs_dir = Path(docs_dir).absolute()
        self.store = store
        self.lexical = lexical
        self.embedder = embedder
        self._make_indexer = make_indexer
        self._sources_file = sources_file
        self._status: tuple[object, IndexStatus] | None = None
        self._running: Indexer | None = None  # the index run in progress, for cancel()

    @property
    def supported_suffixes(self) -> tuple[str, ...]:
        """File name suffixes the loaders read (what uploads may be)."""
        return tuple(LOADERS)

    def sources(self) -> list[str]:
        """The registered folders and files, in the order they were added."""
        return list(Sources.load(self._sources_file).paths)

    def add(
        self,
        paths: Sequence[Path],
        rebuild: bool = False,
        on_message: Callable[[str], None] | None = None,
        progress: bool | Callable[[Progress], None] | None = None,
    ) -> IndexReport:
        """Register ``paths`` (files or folders) and index them: new and changed files in,
        deleted ones out. With ``rebuild`` the index is rebuilt from every registered source.

        A path inside the uploads folder registers that folder.
        """
        for path in paths:
            if not Path(path).exists():
                raise PathNotFound(f"{path} does not exist; give a file or folder to index")
        registry = Sources.load(self._sources_file)
        registry.register([self._source_of(Path(p)) for p in paths])
        registry.save()
        if rebuild:
            return self.sync(rebuild=True, on_message=on_message, progress=progress)
        return self._run(list(paths), registry, False, on_message, progress)

    def sync(
        self,
        rebuild: bool = False,
        on_message: Callable[[str], None] | None = None,
        progress: bool | Callable[[Progress], None] | None = None,
    ) -> IndexReport:
        """Bring the index in line with every registered source (``rebuild``: from scratch).

        A registered source that is missing (an unmounted drive, say) is reported and its
        documents stay in the index until ``forget_source``.
        """
        registry = Sources.load(self._sources_file)
        if not registry.paths:
            raise RagError(
                "no sources registered yet; index a folder first, e.g. `rag index ~/Documents`"
            )
        present = [Path(p) for p in registry.paths if Path(p).exists()]
        say = on_message or (lambda line: None)
        for missing in (p for p in registry.paths if not Path(p).exists()):
            say(f"source {missing} is missing; its documents stay indexed (`rag sources remove`)")
        return self._run(present, registry, rebuild, on_message, progress)

    def reindex(self, rebuild: bool = False, **options) -> IndexReport:
        """``sync``, under the name the UI's button uses."""
        return self.sync(rebuild=rebuild, **options)

    def forget_source(self, path: Path, **options) -> IndexReport:
        """Unregister ``path`` and drop its documents from the index (files are not touched)."""
        registry = Sources.load(self._sources_file)
        gone = registry.unregister(path)
        if not gone:
            listed = ", ".join(registry.paths) or "none"
            raise RagError(f"{path} is not a registered source (registered: {listed})")
        registry.save()
        indexer = self._make_indexer(options.get("on_message"), options.get("progress"))
        roots = [Path(p).resolve() for p in gone]
        keys = [
            key
            for key in indexer.indexed_keys()
            if any(Path(key) == r or Path(key).is_relative_to(r) for r in roots)
            and not registry.covers(key)
        ]
        report = indexer.forget(keys)
        self.store.forget()
        return report

    def remove(self, key: str, **options) -> Removal:
        """Take the document ``key`` out of the index, and out of what the next sync indexes.

        The user's file stays on disk; only a file the assistant stored itself (an upload,
        inside the uploads folder) is deleted.
        """
        known = {d.key: d.source for d in self.documents()}
        if key not in known:
            raise RagError("that document is not in the index; choose one from the list")
        registry = Sources.load(self._sources_file)
        path = Path(key)
        uploaded = path.resolve().is_relative_to(self.docs_dir.resolve())
        if str(path) in registry.paths:
            registry.unregister(path)
        elif not uploaded:
            registry.excluded.append(key)
        registry.save()
        report = self._make_indexer(options.get("on_message"), options.get("progress")).forget(
            [key]
        )
        if uploaded:
            path.unlink(missing_ok=True)
        self.store.forget()
        return Removal(report, known[key], uploaded)

    def _source_of(self, path: Path) -> Path:
        absolute = path.expanduser().absolute()
        uploads = self.docs_dir
        inside = absolute.resolve().is_relative_to(uploads.resolve()) if uploads.exists() else False
        return uploads if inside else absolute

    def cancel(self) -> bool:
        """Stop the running index run after its current batch (the UI's Cancel button);
        what was indexed is kept and the next run finishes the work. False: none running."""
        running = self._running
        if running is None:
            return False
        running.cancel.set()
        return True

    def _run(self, paths, registry, rebuild, on_message, progress) -> IndexReport:
        indexer = self._make_indexer(on_message, progress)
        self._running = indexer
        try:
            report = indexer.run(paths, rebuild=rebuild, exclude=set(registry.excluded))
        finally:
            self._running = None
        self.store.forget()  # --rebuild replaces the collection: reopen it on next use
        return report

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document with its chunk count, sorted by name."""
        found: dict[str, list] = {}
        for chunk in self.store.iter_chunks(include_text=False):
            entry = found.setdefault(chunk.key, [chunk.source, None, 0])
            entry[1] = entry[1] or chunk.title
            entry[2] += 1
        infos = [DocumentInfo(src, title, n, key) for key, (src, title, n) in found.items()]
        return sorted(infos, key=lambda d: d.source)

    def passages(self, limit: int = 200) -> dict[str, list[str]]:
        """Up to ``limit`` indexed passages keyed by document name (e.g. for example questions)."""
        texts: dict[str, list[str]] = {}
        for chunk in itertools.islice(self.store.iter_chunks(include_text=True), limit):
            texts.setdefault(chunk.source, []).append(chunk.text)
        return texts

    def status(self) -> IndexStatus:
        """Documents and chunks in the index, and the embedder's name (cached per generation)."""
        # version() (collection id and counter) also moves when another process rebuilt it.
        generation = getattr(self.store, "version", self.store.generation)()
        if self._status and self._status[0] == generation:
            return self._status[1]
        keys = {c.key for c in self.store.iter_chunks(include_text=False)}
        status = IndexStatus(len(keys), self.store.count(), self.embedder.name)
        self._status = (generation, status)
        return status

    def warm_up(self) -> None:
        """Load the embedding model and open the index now instead of on the first question."""
        self.embedder.embed_query("warm up")
        self.lexical.refresh()
