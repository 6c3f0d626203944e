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
from typing import Any

import yaml
from pydantic import Field, ValidationError

from assistant.settings_sections import (
    ChatsSettings,
    ChromaSettings,
    EmbedderSettings,
    GeneratorSettings,
    IndexingSettings,
    LlamaCppSettings,
    OllamaSettings,
    OpenAISettings,
    QuerySettings,
    RetrievalSettings,
    ServerSettings,
    UiSettings,
    _doc,
    _Section,
)
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
