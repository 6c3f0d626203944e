"""Chroma, embedded or over HTTP, behind one small class.

The collection records which embedder filled it and a ``generation`` counter that every
indexing run that changes something increments. ``version()`` (collection id and counter) tells
readers cheaply when another process wrote: derived data (the lexical index) is then rebuilt,
and a long-lived embedded reader reopens Chroma, whose in-memory vector index never reloads
what another process wrote (nor survives the collection being replaced by ``--rebuild``).

A read-only index folder is opened from a private temporary copy, since Chroma writes to its
database even to read; a full disk or read-only folder is a one-line error (index/disk.py).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index import disk
from index.documents import Chunk, StoredChunk
from index.errors import RagError

log = logging.getLogger(__name__)
PAGE = 5000


class StoreError(RagError):
    """The vector store is unreachable, missing, or was built with another embedder."""


def chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
    """The flat Chroma metadata of ``chunk`` (no None values); the only place it is spelled."""
    data: dict[str, str | int] = {
        "key": chunk.key,
        "source": chunk.source,
        "start": chunk.start,
        "end": chunk.end,
        "position": chunk.position,
        "content_hash": chunk.content_hash,
    }
    if chunk.title:
        data["title"] = chunk.title
    data.update({k: v for k, v in chunk.extra.items() if v not in (None, "")})
    return data


def stored_chunk(
    chunk_id: str, text: str | None, meta: Mapping[str, Any] | None, distance: float | None = None
) -> StoredChunk:
    """A typed record from what Chroma returns for one chunk."""
    meta = meta or {}
    page = meta.get("page")
    return StoredChunk(
        id=chunk_id,
        key=str(meta.get("key", "")),
        source=str(meta.get("source", "")),
        text=text or "",
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        position=int(meta.get("position", 0)),
        content_hash=str(meta.get("content_hash", "")),
        title=meta.get("title") or None,
        author=meta.get("author") or None,
        date=meta.get("date") or None,
        page=int(page) if page not in (None, "") else None,
        location=meta.get("location") or None,
        distance=distance,
    )


class ChromaStore:
    """One Chroma collection with cosine distance; create with ``embedded`` or ``http``."""

    def __init__(self, connect: Callable[[], Any], collection_name: str, where: str):
        """``connect`` returns the Chroma client; it is called once, on first use."""
        self._connect = connect
        self._client_instance: Any = None
        self.collection_name = collection_name
        self.where = where  # shown in error messages: a folder or host:port
        self.folder: Path | None = None  # the embedded store's folder
        self._collection: Any = None
        self._expected: tuple[str, int] | None = None
        self._lock = threading.RLock()
        self._seen: str | None = None  # the version this process last read at
        self._bumped: str | None = None  # the version this store's own indexer wrote
        self._opened_at: Path | None = None  # the folder the embedded client reads

    @classmethod
    def embedded(cls, path: Path, collection: str) -> ChromaStore:
        """A store in a local folder (created if missing)."""
        import chromadb
        from chromadb.config import Settings

        def connect():
            where = path
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise disk.from_os_error(exc, path) or exc from None
            if not disk.writable(path):
                where = _private_copy(path, store)
            store._opened_at = where
            try:
                return chromadb.PersistentClient(
                    path=str(where), settings=Settings(anonymized_telemetry=False)
                )
            except Exception as exc:  # noqa: BLE001 - sqlite/rust errors surface as many types
                found = disk.from_store_error(exc, path)
                raise found or StoreError(f"cannot open the Chroma index in {path}: {exc}") from exc

        store = cls(connect, collection, str(path))
        store.folder = path
        return store

    @classmethod
    def http(
        cls, host: str, port: int, collection: str, ssl: bool = False, token: str = ""
    ) -> ChromaStore:
        """A store on a Chroma server (``chroma run``); connects on first use, and retries."""
        import chromadb
        from chromadb.config import Settings

        headers = {"Authorization": f"Bearer {token}"} if token else None

        def connect():
            try:
                return chromadb.HttpClient(
                    host=host,
                    port=port,
                    ssl=ssl,
                    headers=headers,
                    settings=Settings(anonymized_telemetry=False),
                )
            except Exception as exc:  # noqa: BLE001 - connection errors come in many types
                raise unreachable(host, port, exc) from None

        return cls(connect, collection, f"{host}:{port}")

    # -- collection lifecycle ---------------------------------------------------------------

    def open(self, embedder: str, dimension: int, create: bool) -> None:  # noqa: C901
        """Open the collection, checking it was built with ``embedder`` of ``dimension``.

        With ``create`` a missing collection is created; otherwise it is a ``StoreError``.
        """
        if not create and self.folder is not None and not self.folder.exists():
            raise StoreError(f"no index yet in {self.folder}; run `rag index` first")
        try:
            if create:
                collection = self._client.get_or_create_collection(
                    self.collection_name,
                    metadata={"embedder": embedder, "dimension": dimension, "generation": 0},
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            else:
                collection = self._client.get_collection(
                    self.collection_name, embedding_function=None
                )
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            message = str(exc).lower()
            if not create and ("does not exist" in message or "not found" in message):
                raise StoreError(
                    f"no index yet in {self.where} (collection '{self.collection_name}'); "
                    "run `rag index` first"
                ) from None
            raise self._wrap(exc) from None
        meta = collection.metadata or {}
        if meta.get("embedder") != embedder or meta.get("dimension") != dimension:
            raise StoreError(
                f"the index in {self.where} was built with embedder '{meta.get('embedder')}' "
                f"({meta.get('dimension')} dimensions) but the settings use '{embedder}' "
                f"({dimension}); run `rag index --rebuild` to re-embed, or change embedder.model"
            )
        self._expected = self._expected or (embedder, dimension)
        self._collection = collection

    @property
    def _client(self) -> Any:
        if self._client_instance is None:
            self._client_instance = self._connect()
        return self._client_instance

    def expect(self, embedder: str, dimension: int) -> None:
        """Open the existing collection lazily, on first use, checking it has this embedder."""
        self._expected = (embedder, dimension)

    def forget(self) -> None:
        """Drop the cached collection handle so the next use opens it again."""
        with self._lock:
            self._collection = None

    def _reopen(self) -> None:
        """Open the collection afresh; an embedded store also gets a new Chroma client."""
        with self._lock:
            if self._opened_at is not None and self._client_instance is not None:
                _forget_cached_system(self._opened_at)
                self._client_instance = None
            self._collection = None
            if self._expected is not None:
                self.open(*self._expected, create=False)

    def drop(self) -> None:
        """Delete the collection and everything in it (for ``--rebuild``)."""
        try:
            self._client.delete_collection(self.collection_name)
        except Exception as exc:  # noqa: BLE001
            if "does not exist" not in str(exc).lower() and "not found" not in str(exc).lower():
                raise self._wrap(exc) from None
        self._collection = None

    @property
    def collection(self) -> Any:
        if self._collection is None:
            if self._expected is None:
                raise RuntimeError("ChromaStore.open() or expect() must be called first")
            with self._lock:
                if self._collection is None:
                    self.open(*self._expected, create=False)
        return self._collection

    def _wrap(self, exc: Exception) -> RagError:
        if ":" in self.where and not Path(self.where).exists():
            host, _, port = self.where.rpartition(":")
            return unreachable(host, int(port), exc)
        if "nothing found on disk" in str(exc).lower():
            # The first run over this collection was stopped (killed, power cut) before Chroma
            # wrote its vector index to disk: nothing is searchable until a run completes.
            return StoreError(
                f"the index in {self.where} was interrupted before its first write finished; "
                "run `rag index` again to complete it"
            )
        return disk.from_store_error(exc, self.folder) or StoreError(
            f"Chroma error in {self.where}: {exc}"
        )

    def _call(self, method: str, **kwargs: Any) -> Any:
        collection = self.collection
        try:
            return getattr(collection, method)(**kwargs)
        except Exception as exc:  # noqa: BLE001
            if not _gone(exc) or self._expected is None:
                raise self._wrap(exc) from None
        # Another process replaced the collection (`rag index --rebuild`): follow it, once.
        try:
            self._reopen()
            return getattr(self.collection, method)(**kwargs)
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._wrap(exc) from None

    # -- metadata ---------------------------------------------------------------------------

    def version(self) -> str:
        """``"<collection id>:<generation>"``, re-read from the store on every call.

        It changes whenever an indexing run (in any process) wrote something, and when the
        collection was replaced. When it moved since this process last looked, the collection
        is reopened so that searches here see what the other process wrote.
        """
        current = self.collection  # opens (and checks) the collection on first use
        try:
            fresh = self._client.get_collection(self.collection_name, embedding_function=None)
        except Exception as exc:  # noqa: BLE001
            if _gone(exc):
                raise StoreError(
                    f"the index in {self.where} is being rebuilt or was removed; "
                    "run `rag index` if this lasts"
                ) from None
            raise self._wrap(exc) from None
        found = _version(fresh)
        if found == self._bumped:  # our own writes: this Chroma instance has them already
            pass
        elif self._seen is not None and found != self._seen:
            log.info("the index changed (%s -> %s); reopening it", self._seen, found)
            self._reopen()
        elif str(current.id) != str(fresh.id):
            self._reopen()
        self._seen = found
        return found

    @property
    def last_version(self) -> str | None:
        """The ``version()`` this process saw last (None before the first), without a read."""
        return self._seen

    def generation(self) -> str:
        """The same as ``version()`` (its older name): an opaque change token."""
        return self.version()

    def bump_generation(self) -> str:
        """Increment the change counter; returns the new ``version()``."""
        meta = dict(self._client.get_collection(self.collection_name).metadata or {})
        meta["generation"] = int(meta.get("generation", 0)) + 1
        meta.pop("hnsw:space", None)
        self._call("modify", metadata=meta)
        found = f"{self.collection.id}:{meta['generation']}"
        self._bumped = found
        return found

    # -- reading and writing ----------------------------------------------------------------

    def count(self) -> int:
        """Number of chunks stored."""
        return int(self._call("count"))

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Insert or replace ``chunks`` (row ``i`` of ``vectors`` is chunk ``i``'s), in as few
        calls as Chroma allows."""
        step = max(1, int(self._client.get_max_batch_size()))
        for i in range(0, len(chunks), step):
            batch = chunks[i : i + step]
            self._call(
                "upsert",
                ids=[c.id for c in batch],
                embeddings=vectors[i : i + step],
                documents=[c.text for c in batch],
                metadatas=[chunk_metadata(c) for c in batch],
            )

    def ids_for(self, *keys: str) -> list[str]:
        """Ids of all chunks of the documents ``keys`` (one query, however many keys)."""
        if not keys:
            return []
        where = {"key": keys[0]} if len(keys) == 1 else {"key": {"$in": list(keys)}}
        return list(self._call("get", where=where, include=[])["ids"])

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks by id (missing ids are ignored)."""
        for i in range(0, len(ids), PAGE):
            self._call("delete", ids=list(ids[i : i + PAGE]))

    def iter_chunks(self, include_text: bool = True) -> Iterator[StoredChunk]:
        """Every chunk in the collection, page by page."""
        include = ["metadatas", "documents"] if include_text else ["metadatas"]
        offset = 0
        while True:
            page = self._call("get", include=include, limit=PAGE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            texts = page.get("documents") or [""] * len(ids)
            for chunk_id, text, meta in zip(ids, texts, page["metadatas"], strict=True):
                yield stored_chunk(chunk_id, text, meta)
            offset += len(ids)

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        """Chunks by id, in the order asked (missing ids are left out)."""
        if not ids:
            return []
        page = self._call("get", ids=list(ids), include=["metadatas", "documents"])
        found = {
            i: stored_chunk(i, t, m)
            for i, t, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        }
        return [found[i] for i in ids if i in found]

    def query(self, vector: np.ndarray, n: int) -> list[StoredChunk]:
        """The ``n`` nearest chunks to ``vector`` by cosine distance, nearest first.

        Checks ``version()`` first, so a long-lived process searches what others indexed.
        """
        if n <= 0:
            return []
        self.version()
        result = self._call(
            "query",
            query_embeddings=[vector],
            n_results=n,
            include=["metadatas", "documents", "distances"],
        )
        return [
            stored_chunk(i, t, m, float(d))
            for i, t, m, d in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
        ]


def _version(collection: Any) -> str:
    return f"{collection.id}:{int((collection.metadata or {}).get('generation', 0))}"


def _gone(exc: Exception) -> bool:
    """Whether ``exc`` says the collection (or a segment of it) no longer exists: it was
    dropped and recreated, or its folder deleted and rebuilt, by another process."""
    message = str(exc).lower()
    return any(
        words in message for words in ("does not exist", "not found", "missing metadata segment")
    ) or ("missing" in message and "segment" in message)


def _forget_cached_system(folder: Path) -> None:
    """Make the next ``PersistentClient(folder)`` a new Chroma instance that reads the folder.

    Chroma shares one instance per folder within a process and that instance's vector index
    never reloads what other processes wrote; dropping it from the cache (not stopping it, a
    search in another thread may still be using it) gives a fresh one. Private API: if it
    moves, reopening only falls back to Chroma's shared instance.
    """
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(folder), None)
    except (ImportError, AttributeError):  # pragma: no cover - another chromadb layout
        log.debug("cannot reset Chroma's client cache", exc_info=True)


def _private_copy(folder: Path, owner: object) -> Path:
    """A temporary copy of a read-only Chroma folder, removed when ``owner`` is collected."""
    copy = Path(tempfile.mkdtemp(prefix="rag-readonly-index-")) / "chroma"
    log.info("%s is read-only; reading it from a private copy in %s", folder, copy)
    try:
        shutil.copytree(folder, copy)
    except OSError as exc:
        shutil.rmtree(copy.parent, ignore_errors=True)
        raise disk.from_os_error(exc, copy.parent) or StoreError(
            f"the index folder {folder} is read-only and could not be copied to read it ({exc})"
        ) from None
    weakref.finalize(owner, shutil.rmtree, copy.parent, True)
    return copy


def unreachable(host: str, port: int, exc: Exception | None = None) -> StoreError:
    """The error for a Chroma server that does not answer."""
    detail = f" ({type(exc).__name__})" if exc else ""
    return StoreError(
        f"Chroma server at {host}:{port} is not reachable{detail}; start it with "
        f"`chroma run --host {host} --port {port} --path <folder>` or set chroma.mode: embedded"
    )
