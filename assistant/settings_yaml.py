"""``configs/default.yaml`` rendered from the typed settings: every key, its default, its meaning.

The YAML is documentation, not a source of defaults: ``render_defaults()`` writes it from the
fields' defaults and descriptions, ``rag config`` prints it, and a test keeps the checked-in
file equal to it, so the two can never disagree.
"""

from __future__ import annotations

import textwrap
from typing import Any

import yaml
from pydantic import BaseModel

from assistant.settings import Settings

WIDTH = 92
HEADER = """\
Default settings, rendered from the typed settings (assistant/settings.py) by
`rag config`; edit those, not this file. Other YAML files passed with --config /
RAG_CONFIG are deep-merged over these defaults. Any setting can be overridden by an
environment variable RAG_<SECTION>__<KEY> (for example RAG_CHROMA__PORT=8000,
RAG_RETRIEVAL__TOP_K=8); RAG_HOME, RAG_DOCS_DIR and RAG_INDEX_DIR are shortcuts for the
three top-level folders. Relative paths are resolved against the current working directory.
"""


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, WIDTH - len(indent) - 2)]


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    dumped = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def _fields(model: type[BaseModel], indent: str) -> list[str]:
    lines: list[str] = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            lines += ["", f"{name}:", *_fields(annotation, indent + "  ")]
            continue
        if field.description:
            lines += _comment(field.description, indent)
        lines.append(f"{indent}{name}: {_scalar(field.default)}")
    return lines


def render_defaults() -> str:
    """The text of ``configs/default.yaml``."""
    header = [f"# {line}".rstrip() for line in HEADER.splitlines()]
    return "\n".join([*header, "", *_fields(Settings, "")]) + "\n"
