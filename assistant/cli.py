"""The ``rag`` command: ``rag index``, ``rag ask``, ``rag chat``, ``rag eval``, ``rag ui``.

User mistakes (``RagError``) print one line on stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.settings import Settings, load_settings
from index.errors import RagError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML settings file(s), comma-separated (RAG_CONFIG)")
    parser.add_argument("--docs-dir", help="documents folder (RAG_DOCS_DIR)")
    parser.add_argument("--index-dir", help="index folder (RAG_INDEX_DIR)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any setting, e.g. --set retrieval.top_k=8 (repeatable)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(
        prog="rag", description="Ask questions about your own documents, privately."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="index files and folders (incremental)")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: docs_dir)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and start clean")
    _common(p)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question")
    p.add_argument("--generator", choices=["auto", "ollama", "extractive"])
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    _common(p)

    p = sub.add_parser("chat", help="interactive chat in the terminal")
    p.add_argument("--generator", choices=["auto", "ollama", "extractive"])
    _common(p)

    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings with the command line's overrides applied."""
    overrides: dict[str, object] = {
        "docs_dir": args.docs_dir,
        "index_dir": args.index_dir,
        "generator.name": getattr(args, "generator", None),
    }
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RagError(f"--set {item!r}: expected KEY=VALUE, e.g. --set retrieval.top_k=8")
        overrides[key.strip()] = value
    return load_settings(args.config, overrides=overrides)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rag`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = settings_from_args(args)
        return COMMANDS[args.command](args, settings)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run_index(args: argparse.Namespace, settings: Settings) -> int:
    """``rag index``: bring the index in line with the given paths (default: docs_dir)."""
    from assistant.components import build_indexer

    def say(line: str) -> None:
        print(line, file=sys.stderr)

    indexer = build_indexer(settings, on_message=say)
    paths = args.paths or [Path(settings.docs_dir)]
    report = indexer.run(paths, rebuild=args.rebuild)
    if report.unsupported:
        shown = ", ".join(report.unsupported[:10])
        more = f" and {len(report.unsupported) - 10} more" if len(report.unsupported) > 10 else ""
        say(f"skipped {len(report.unsupported)} file(s) of unsupported type: {shown}{more}")
    print(report.summary())
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "index": run_index,
}


if __name__ == "__main__":
    sys.exit(main())
