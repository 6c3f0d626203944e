"""Incremental, crash-safe indexing: files -> cleaned documents -> chunks -> Chroma + BM25.

The manifest of content hashes decides the work: unchanged files are skipped without loading
the embedder, changed files have their chunks replaced, deleted files have theirs removed.
Each document's chunks go into the store in one upsert with ids derived from content and
position, so a re-run after ``kill -9`` never duplicates anything; the manifest's ``dirty`` flag
makes that re-run reconcile the store with the manifest first, and so does a store whose chunk
count disagrees with the manifest (a deleted Chroma folder, chunks removed by hand).

``--rebuild`` first saves an empty manifest marked dirty, then drops the collection: a kill at
any step leaves a state the next run repairs (index/crashpoints.py names the steps). Files are
hashed, read, loaded, chunked, embedded and written one at a time, so memory does not grow with
the number of changed files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable
from functools import partial
from pathlib import Path

from index import disk
from index.chunking import Chunker
from index.cleaning import clean_document
from index.crashpoints import reached
from index.discovery import Candidate, discover
from index.documents import Chunk, Document
from index.loaders import SkipFile, loader_for
from index.manifest import DuplicateEntry, FileEntry, Manifest, SkippedEntry
from index.names import shown
from index.progress import Progress
from index.protocols import Embedder, KeywordIndex, VectorStore
from index.runs import IndexReport, PathNotFound, exclusive_lock
from index.sentence_vectors import FILE as SENTENCES_FILE
from index.sentence_vectors import SentenceVectors, embed_chunks
from index.stages import Stages

log = logging.getLogger(__name__)
# Chunks embedded together; several small files share one batch.
EMBED_GROUP = 64
# Batches waiting between two stages (loading -> model -> store): memory stays flat.
PIPELINE_DEPTH = 2
MANIFEST_SAVE_SECONDS = 2.0


class Indexer:
    """Brings the index in line with a set of files and folders."""

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        chunker: Chunker,
        lexical: KeywordIndex,
        state_dir: Path,
        max_file_bytes: int,
        on_message: Callable[[str], None] = log.info,
        progress: bool | Callable[[Progress], None] | None = None,
    ):
        """``on_message`` receives one line per skipped file; ``progress``: True draws a bar,
        None one if a tty, or a callable called with the ``Progress`` after every batch."""
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.lexical = lexical
        self.state_dir = state_dir
        self.max_file_bytes = max_file_bytes
        self.on_message = on_message
        self.on_progress = progress if callable(progress) else None
        self.progress = sys.stderr.isatty() if progress is None else progress is True
        # Set from another thread (the UI's Cancel button) to stop after the current batch.
        self.cancel = threading.Event()
        self.sentences = SentenceVectors(state_dir / SENTENCES_FILE, embedder.name)

    def run(
        self,
        paths: Iterable[Path],
        rebuild: bool = False,
        wait: bool = False,
        exclude: Collection[str] = (),
    ) -> IndexReport:
        """Index ``paths`` (files or folders, recursively); returns what was done.

        Another indexer on the same index is an ``IndexBusy`` error, or with ``wait`` this
        run waits for it to finish. Files whose key (resolved path) is in ``exclude`` are left
        out, as if absent.
        """
        started = time.perf_counter()
        roots = [Path(p) for p in paths]
        for root in roots:
            if not os.path.lexists(root):
                raise PathNotFound(f"{shown(root)} does not exist; give a file or folder to index")
        report = IndexReport()
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk.from_os_error(exc, self.state_dir.parent) or exc from None
        with exclusive_lock(self.state_dir / "indexer.lock", wait):
            manifest = self._open(rebuild)
            candidates = discover(
                roots,
                self.max_file_bytes,
                partial(self._skip, report),
                report.unsupported,
                self.on_message,
            )
            for key in exclude:
                candidates.pop(key, None)
            self._apply(manifest, candidates, roots, report)
            report.chunks_total = sum(e.chunks for e in manifest.files.values())
        report.seconds = time.perf_counter() - started
        return report

    def forget(self, keys: Iterable[str]) -> IndexReport:
        """Drop the documents ``keys`` from the index (their files are not touched)."""
        started = time.perf_counter()
        report = IndexReport()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.state_dir / "indexer.lock"):
            manifest = self._open(False)
            known = [k for k in dict.fromkeys(keys) if k in manifest.files]
            if known:
                manifest.dirty = True
                manifest.save()
                for key in known:
                    self.store.delete(self.store.ids_for(key))
                    report.removed.append(manifest.files.pop(key).source)
                self.lexical.rebuild(self.store.bump_generation())
                self.sentences.retain(manifest.files)
                manifest.dirty = False
                manifest.save()
            report.chunks_total = sum(e.chunks for e in manifest.files.values())
        report.seconds = time.perf_counter() - started
        return report

    def indexed_keys(self) -> list[str]:
        """Keys (resolved paths) of every document the index holds, from the manifest."""
        return list(Manifest.load(self.state_dir / "manifest.json").files)

    # -- setup ------------------------------------------------------------------------------

    def _open(self, rebuild: bool) -> Manifest:
        manifest_path = self.state_dir / "manifest.json"
        if rebuild:
            # Trust nothing before touching the store: from here a kill leaves a dirty, empty
            # manifest, and the next run deletes whatever chunks remain and indexes everything.
            Manifest(manifest_path, self.embedder.name, dirty=True).save()
            reached("rebuild:manifest-cleared")
            self.store.drop()
            reached("rebuild:collection-dropped")
        self.store.open(self.embedder.name, self.embedder.dimension, create=True)
        if rebuild:
            reached("rebuild:collection-created")
        manifest = Manifest.load(manifest_path)
        manifest.embedder = self.embedder.name
        if not manifest.dirty:
            expected = sum(e.chunks for e in manifest.files.values())
            stored = self.store.count()
            if stored != expected:
                self.on_message(
                    f"the index holds {stored} chunks but its manifest lists {expected}; "
                    "repairing (files with missing chunks are indexed again)"
                )
                manifest.dirty = True
        if manifest.dirty:
            self._reconcile(manifest)
        return manifest

    def _reconcile(self, manifest: Manifest) -> None:
        """Delete chunks the manifest does not vouch for (left by an interrupted run)."""
        stale: list[str] = []
        counts: dict[str, int] = {}
        for chunk in self.store.iter_chunks(include_text=False):
            key = chunk.key
            entry = manifest.files.get(key)
            if entry is None or entry.content_hash != chunk.content_hash:
                stale.append(chunk.id)
            else:
                counts[key] = counts.get(key, 0) + 1
        if stale:
            log.info("removing %d chunks left by an interrupted run", len(stale))
            self.store.delete(stale)
        # An entry whose chunks are incomplete is forgotten, so its file is indexed again.
        for key, entry in list(manifest.files.items()):
            if counts.get(key, 0) != entry.chunks:
                del manifest.files[key]

    def _skip(self, report: IndexReport, source: str, reason: str) -> None:
        report.skipped.append((source, reason))
        self.on_message(f"skipped {shown(source)}: {shown(reason)}")

    # -- the work ---------------------------------------------------------------------------

    def _apply(
        self,
        manifest: Manifest,
        candidates: dict[str, Candidate],
        roots: list[Path],
        report: IndexReport,
    ) -> None:
        todo: list[Candidate] = []
        remembered = len(manifest.skipped)
        copies: list[tuple[Candidate, str]] = []
        for candidate in candidates.values():
            known = (manifest.files, manifest.skipped, manifest.duplicates)
            if not any(candidate.key in table for table in known):
                todo.append(candidate)  # new: read once, when it is indexed
                continue
            try:
                digest = _file_digest(candidate.path)
            except OSError as exc:
                self._skip(report, candidate.source, f"cannot read it ({exc.strerror})")
                continue
            entry = manifest.files.get(candidate.key)
            refused = manifest.skipped.get(candidate.key)
            if candidate.key in manifest.duplicates:
                copies.append((candidate, digest))
            elif entry and entry.content_hash == digest:
                report.unchanged += 1
                manifest.skipped.pop(candidate.key, None)
            elif refused and refused.content_hash == digest:
                self._skip(report, candidate.source, refused.reason)  # not parsed again
            else:
                todo.append(candidate)
        pending = {c.key for c in todo}
        for candidate, digest in copies:  # still a copy of a file that stays as it is?
            copy = manifest.duplicates[candidate.key]
            first = manifest.files.get(copy.of)
            if (
                copy.content_hash == digest
                and first
                and first.content_hash == digest
                and (copy.of in candidates and copy.of not in pending)
            ):
                report.unchanged += 1
            else:
                todo.append(candidate)
        gone = [k for k in manifest.files if k not in candidates and _under(k, roots)]
        gone = [k for k in gone if not Path(k).exists()]
        for key in [k for k in manifest.skipped if k not in candidates and _under(k, roots)]:
            del manifest.skipped[key]
        for key in [k for k in manifest.duplicates if k not in candidates and _under(k, roots)]:
            del manifest.duplicates[key]
        if not todo and not gone and not manifest.dirty:
            if len(manifest.skipped) != remembered:
                manifest.save()
            return

        manifest.dirty = True
        manifest.save()
        for key in gone:
            self.store.delete(self.store.ids_for(key))
            report.removed.append(manifest.files.pop(key).source)
        self._index_files(manifest, todo, report)
        self.lexical.rebuild(self.store.bump_generation())
        self.sentences.retain(manifest.files)
        reached("lexical-rebuilt")
        manifest.dirty = False
        manifest.save()

    def _index_files(self, manifest: Manifest, todo: list[Candidate], report: IndexReport) -> None:
        """Read, clean and chunk files (a thread), embed them (here), write them (a thread).

        The three overlap (``index.stages``), one bounded batch each, so the model never waits
        and memory stays flat. Chunks reach the store and then the manifest in file order,
        a batch at a time, so a crash or a cancel leaves what the manifest vouches for.
        """
        meter = Progress(len(todo), self.on_message, self.progress, self.on_progress)
        saved = [time.monotonic()]
        # Content already indexed, by hash -> key: files this run does not touch, then each
        # document as it is loaded. Owned by the loading thread alone.
        pending = {c.key for c in todo}
        indexed = {
            e.content_hash: (k, e.source) for k, e in manifest.files.items() if k not in pending
        }

        def produce(stop):
            batch: list[tuple[Candidate, Document | SkippedEntry | DuplicateEntry, list]] = []
            for candidate in todo:
                if stop.is_set():
                    return
                loaded = self._document(candidate, report)
                if isinstance(loaded, Document):
                    key, source = indexed.setdefault(
                        loaded.content_hash, (candidate.key, candidate.source)
                    )
                    if key != candidate.key:
                        loaded = DuplicateEntry(loaded.content_hash, candidate.source, key)
                        report.duplicates.append((candidate.source, source))
                chunks = self.chunker.split(loaded) if isinstance(loaded, Document) else []
                batch.append((candidate, loaded, chunks))
                if sum(len(c) for *_, c in batch) >= EMBED_GROUP:
                    yield batch
                    batch = []
            if batch:
                yield batch

        def embed(batch):
            chunks = [c for *_, doc_chunks in batch for c in doc_chunks]
            return batch, *(embed_chunks(self.embedder, chunks) if chunks else (None, None))

        def write(item):
            batch, vectors, sentence_means = item
            if sentence_means is not None:  # before the chunks: never a chunk vouched for
                keys = [d.key for _, d, _ in batch if isinstance(d, Document)]
                chunks = [c for *_, doc_chunks in batch for c in doc_chunks]
                self.sentences.put(keys, chunks, sentence_means)
            for candidate, loaded, _ in batch:
                manifest.skipped.pop(candidate.key, None)
                manifest.duplicates.pop(candidate.key, None)
                if isinstance(loaded, SkippedEntry):
                    manifest.skipped[candidate.key] = loaded
                elif isinstance(loaded, DuplicateEntry):
                    self._drop_copy(manifest, candidate.key, report)
                    manifest.duplicates[candidate.key] = loaded
            group = [(d, c) for _, d, c in batch if isinstance(d, Document)]
            self._write(manifest, group, report, vectors)
            meter.advance(len(batch), sum(len(c) for _, c in group))
            if time.monotonic() - saved[0] > MANIFEST_SAVE_SECONDS:
                manifest.save()
                saved[0] = time.monotonic()

        stages = Stages(produce, embed, write, depth=PIPELINE_DEPTH, cancel=self.cancel)
        try:
            finished = stages.run()
        finally:
            meter.close()
        if not finished:
            report.cancelled = True
            self.on_message(
                f"cancelled after {meter.done} of {len(todo)} files; what was indexed is kept, "
                "run `rag index` again to finish"
            )

    def _drop_copy(self, manifest: Manifest, key: str, report: IndexReport) -> None:
        """A file that became a copy of another: its own chunks leave the index."""
        if key in manifest.files:
            self.store.delete(self.store.ids_for(key))
            report.removed.append(manifest.files.pop(key).source)

    def duplicates(self) -> dict[str, DuplicateEntry]:
        """Files not indexed because the same content is indexed under another key."""
        return dict(Manifest.load(self.state_dir / "manifest.json").duplicates)

    def _document(self, candidate: Candidate, report: IndexReport) -> Document | SkippedEntry:
        """The cleaned document of one file, or why it was refused (remembered by its hash)."""
        try:
            data = candidate.path.read_bytes()
        except OSError as exc:
            reason = f"cannot read it ({exc.strerror})"
            self._skip(report, candidate.source, reason)
            return SkippedEntry("", reason)
        # Hashed again from the bytes loaded: the file may have changed since it was hashed.
        digest = hashlib.sha256(data).hexdigest()
        loader = loader_for(candidate.path)
        reason = None
        try:
            loaded = loader(data, candidate.path)
        except SkipFile as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 - a loader bug must not stop the run
            log.debug("loader failed on %s", candidate.path, exc_info=True)
            reason = f"could not be read ({type(exc).__name__})"
        del data
        if reason is None:
            cleaned = clean_document(loaded)
            if not cleaned.text.strip():
                reason = "no text left after removing boilerplate"
        if reason is not None:
            self._skip(report, candidate.source, reason)
            return SkippedEntry(digest, reason)
        return Document(
            key=candidate.key,
            source=candidate.source,
            text=cleaned.text,
            content_hash=digest,
            title=loaded.title or cleaned.title,
            author=loaded.author or cleaned.author,
            date=loaded.date or cleaned.date,
            removed_lines=len(cleaned.removed),
            sections=cleaned.sections,
        )

    def _write(
        self,
        manifest: Manifest,
        group: list[tuple[Document, list[Chunk]]],
        report: IndexReport,
        vectors,
    ) -> None:
        chunks = [chunk for _, doc_chunks in group for chunk in doc_chunks]
        # New versions first, then remove the old ones: a reader never sees a file missing.
        self.store.upsert(chunks, vectors)
        reached("chunks-written")
        keep = {c.id for c in chunks}
        # One query for the whole group (chunk ids are unique across files).
        stale = self.store.ids_for(*(document.key for document, _ in group))
        self.store.delete([i for i in stale if i not in keep])
        for document, doc_chunks in group:
            previous = manifest.files.get(document.key)
            manifest.files[document.key] = FileEntry(
                document.content_hash, document.source, len(doc_chunks)
            )
            (report.changed if previous else report.added).append(document.source)
            report.chunks_written += len(doc_chunks)
            report.characters += len(document.text)


def _file_digest(path: Path) -> str:
    """SHA-256 of a file, read in blocks (a large file is never held whole)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _under(key: str, roots: list[Path]) -> bool:
    path = Path(key)
    resolved = []
    for root in roots:
        try:
            resolved.append(root.resolve())
        except (OSError, RuntimeError):
            continue
    return any(path == r or path.is_relative_to(r) for r in resolved)
