"""JSON, JSON Lines and Jupyter notebooks (stdlib json).

JSON becomes one ``key.path: text`` line per string (and number) leaf, so each value keeps the
keys that say what it is. A notebook gives its markdown and code cells, located "cell N".
"""

from __future__ import annotations

import json
from pathlib import Path

from index.documents import LoadedDocument, Section, from_sections
from index.loaders.base import SkipFile, group_lines
from index.loaders.text import decode_text

MAX_LEAVES = 1_000_000


def load_json(data: bytes, path: Path) -> LoadedDocument:
    """A JSON document: its text leaves with their key paths."""
    value = _parse(decode_text(data), "JSON")
    lines = list(enumerate(leaf_lines(value), start=1))
    if not lines:
        raise SkipFile("the JSON holds no text values")
    sections = [Section(s.text) for s in group_lines(lines, "lines")]
    return from_sections(sections, title=_title(value), prose=False)


def load_jsonl(data: bytes, path: Path) -> LoadedDocument:
    """JSON Lines: each record's leaves on one line, located "lines a-b" of the file."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(decode_text(data).splitlines(), start=1):
        if not raw.strip():
            continue
        record = _parse(raw, f"JSONL (line {number})")
        lines.append((number, "; ".join(leaf_lines(record))))
    if not any(text for _, text in lines):
        raise SkipFile("the JSONL holds no text values")
    return from_sections(group_lines(lines, "lines"), prose=False)


def load_ipynb(data: bytes, path: Path) -> LoadedDocument:
    """A Jupyter notebook: markdown and code cells in order, located "cell N"."""
    notebook = _parse(decode_text(data), "notebook")
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise SkipFile("not a Jupyter notebook (no cells list)")
    sections: list[Section] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("markdown", "code"):
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        if text.strip():
            sections.append(Section(text.strip(), f"cell {number}"))
    if not sections:
        raise SkipFile("the notebook has no markdown or code")
    metadata = notebook.get("metadata") if isinstance(notebook.get("metadata"), dict) else {}
    title = metadata.get("title") if isinstance(metadata.get("title"), str) else None
    return from_sections(sections, title=title, prose=False)


def _parse(text: str, kind: str):
    try:
        return json.loads(text)
    except RecursionError:
        raise SkipFile(f"{kind} nested too deeply to read") from None
    except ValueError as exc:
        raise SkipFile(f"malformed {kind} ({exc})") from None


def leaf_lines(value) -> list[str]:
    """``path: value`` for each string or number leaf, in document order (iterative)."""
    lines: list[str] = []
    stack: list[tuple[str, object]] = [("", value)]
    while stack and len(lines) < MAX_LEAVES:
        key, node = stack.pop()
        if isinstance(node, dict):
            items = [(f"{key}.{k}" if key else str(k), v) for k, v in node.items()]
            stack.extend(reversed(items))
        elif isinstance(node, list):
            stack.extend(reversed([(f"{key}[{i}]", v) for i, v in enumerate(node)]))
        elif isinstance(node, str) and node.strip():
            text = " ".join(node.split())
            lines.append(f"{key}: {text}" if key else text)
        elif isinstance(node, int | float) and not isinstance(node, bool):
            lines.append(f"{key}: {node}" if key else str(node))
    return lines


def _title(value) -> str | None:
    if isinstance(value, dict):
        for key in ("title", "name", "subject"):
            if isinstance(value.get(key), str) and value[key].strip():
                return " ".join(value[key].split())[:200]
    return None
