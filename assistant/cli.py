"""The ``rag`` command: ``rag index``, ``rag ask``, ``rag chat``, ``rag eval``, ``rag ui``,
``rag serve``.

User mistakes (``RagError``) print one line on stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.settings import Settings, load_settings
from assistant.wiring import choices
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
    parser.add_argument("--version", action="version", version=f"rag {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="index files and folders (incremental), and remember them")
    p.add_argument(
        "paths", nargs="*", type=Path, help="files or folders (default: every registered source)"
    )
    p.add_argument(
        "--rebuild", action="store_true", help="drop the index and rebuild every registered source"
    )
    _common(p)

    p = sub.add_parser("sources", help="list the registered sources, or forget one")
    p.add_argument("action", nargs="?", choices=["list", "remove"], default="list")
    p.add_argument("path", nargs="?", type=Path, help="the source to forget (with remove)")
    _common(p)

    p = sub.add_parser("config", help="print every setting with its default and meaning")
    _common(p)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question")
    p.add_argument("--generator", choices=choices("generator.name"))
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    _common(p)

    p = sub.add_parser("chat", help="interactive chat in the terminal (saved; see --resume)")
    p.add_argument("--generator", choices=choices("generator.name"))
    p.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        metavar="CHAT_ID",
        help="continue the most recent saved chat (or the one with CHAT_ID)",
    )
    p.add_argument("--list", action="store_true", help="list the saved chats and exit")
    _common(p)

    p = sub.add_parser("ui", help="serve the browser chat on http://127.0.0.1:7860")
    p.add_argument("--host", help="address to bind (default: ui.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: ui.port, 7860)")
    p.add_argument("--open", action="store_true", help="open the page in a browser, if any")
    _common(p)

    p = sub.add_parser(
        "serve", help="serve the OpenAI-compatible API and the chat on http://127.0.0.1:8080"
    )
    p.add_argument("--host", help="address to bind (default: server.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: server.port, 8080)")
    _common(p)

    p = sub.add_parser("eval", help="measure answers on a question set (JSONL)")
    _add_eval_arguments(p)
    _common(p)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("local-rag-assistant")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    from assistant.evaluation.cli import add_eval_arguments

    add_eval_arguments(parser)


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
        print(f"error: {printable(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rag ask ... | head`: the reader left; nothing to report
        sys.stderr.close()
        return 0


def printable(text: str) -> str:
    """``text`` safe to print on one line: control characters (newlines, escapes) escaped."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(text))


def _say(line: str) -> None:
    print(printable(line), file=sys.stderr)


def run_index(args: argparse.Namespace, settings: Settings) -> int:
    """``rag index``: index the given paths (and register them), or re-sync every source."""
    from assistant.wiring import build

    library = build(settings).library
    if args.paths:
        report = library.add(args.paths, rebuild=args.rebuild, on_message=_say)
    else:
        report = library.sync(rebuild=args.rebuild, on_message=_say)
    if args.verbose:
        for label, names in (
            ("added", report.added),
            ("changed", report.changed),
            ("removed", report.removed),
        ):
            for name in names:
                _say(f"{label}: {name}")
        for name, indexed in report.duplicates:
            _say(f"duplicate: {name} (same content as {indexed}; indexed once)")
    if report.unsupported:
        from index.names import shown

        _say(_unsupported_line([shown(n) for n in report.unsupported], Path(settings.index_dir)))
    print(report.summary())
    return 130 if report.cancelled else 0


# More unsupported files than this are listed in a log file rather than on the terminal.
UNSUPPORTED_SHOWN = 20


def _unsupported_line(names: list[str], index_dir: Path) -> str:
    """One line naming every unsupported file, or pointing at a log file that does."""
    head = f"skipped {len(names)} file(s) of unsupported type"
    if len(names) <= UNSUPPORTED_SHOWN:
        return f"{head}: {', '.join(names)}"
    log_path = index_dir / "unsupported-files.log"
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        log_path.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    except OSError as exc:
        shown = ", ".join(names[:UNSUPPORTED_SHOWN])
        return f"{head} ({log_path} not writable: {exc.strerror}): {shown}, ..."
    return f"{head}, all listed in {log_path}: {', '.join(names[:10])}, ..."


def run_sources(args: argparse.Namespace, settings: Settings) -> int:
    """``rag sources``: the registered folders and files; ``rag sources remove PATH``."""
    from assistant.wiring import build

    library = build(settings).library
    if args.action == "remove":
        if args.path is None:
            raise RagError("say which source to forget: `rag sources remove PATH`")
        report = library.forget_source(args.path, on_message=_say)
        print(f"forgot {printable(args.path)}: {report.summary()}")
        return 0
    sources = library.sources()
    if not sources:
        print("no sources registered yet; index a folder with `rag index PATH`")
    for source in sources:
        missing = "" if Path(source).exists() else "  (missing)"
        print(f"{printable(source)}{missing}")
    return 0


def run_config(args: argparse.Namespace, settings: Settings) -> int:
    """``rag config``: every setting, its default and what it means (configs/default.yaml)."""
    from assistant.settings_yaml import render_defaults

    print(render_defaults(), end="")
    print(f"\n# in effect here: home {settings.home}, index_dir {settings.index_dir}")
    return 0


def _print_answer(answer) -> None:
    if answer.notice:
        print(f"({answer.notice})", file=sys.stderr)
    print(answer.text)
    if answer.citations:
        print()
        for citation in answer.citations:
            title = f" — {citation.title}" if citation.title else ""
            print(f"[{citation.n}] {citation.cited_as}{title}")
            print(textwrap.indent(textwrap.fill(f"“{citation.quote}”", 96), "    "))


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    """``rag ask``: answer one question, with sources (or the answer as JSON)."""
    from assistant.answering import Assistant

    answer = Assistant.from_settings(settings).ask(args.question)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_answer(answer)
    return 0


def _open_chat(args: argparse.Namespace, settings: Settings):
    """The chat store and the chat to continue (``--resume``) or a new one."""
    from assistant.chats import ChatStore, chats_path

    store = ChatStore(chats_path(settings))
    if args.resume == "latest":
        chat = store.latest() or store.new()
    elif args.resume:
        chat = store.get(args.resume)
    else:
        chat = store.new()
    return store, chat


def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    """``rag chat``: an interactive conversation in the terminal (empty line or Ctrl-D ends).

    Every turn is saved; ``--resume`` continues the latest chat, ``--list`` lists them.
    """
    from assistant.answering import Assistant
    from assistant.types import Answer, ReasoningDelta, TextDelta

    if args.list:
        from assistant.chats import ChatStore, chats_path

        for info in ChatStore(chats_path(settings)).list():
            print(f"{info.id}  {info.turns:3d} turns  {info.title}")
        return 0
    store, chat = _open_chat(args, settings)
    history = store.history(chat.id)
    assistant = Assistant.from_settings(settings)
    for turn in history:
        print(("> " if turn.role == "user" else "") + turn.content)
    print(f"Chat {chat.id} ({chat.title}). An empty line or Ctrl-D ends the chat.")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            break
        if not question:
            break
        try:
            answer = None
            for event in assistant.stream(question, history):
                if isinstance(event, TextDelta):
                    print(event.text, end="", flush=True)
                elif isinstance(event, ReasoningDelta):
                    continue
                elif isinstance(event, Answer):
                    answer = event
            print()
        except RagError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        if answer:
            for citation in answer.citations:
                print(f"  [{citation.n}] {citation.cited_as}: “{citation.quote[:160]}”")
            store.add_turn(chat.id, question, answer)
            history = store.history(chat.id)
    return 0


def run_ui(args: argparse.Namespace, settings: Settings) -> int:
    """``rag ui``: serve the browser chat (blocks until Ctrl-C)."""
    from assistant.wiring import build
    from ui.app import launch

    launch(build(settings).assistant, host=args.host, port=args.port, open_browser=args.open)
    return 0


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    """``rag serve``: the OpenAI-compatible API and the chat on one port (until Ctrl-C)."""
    from assistant.answering import Assistant
    from ui.server import check_token, serve

    host = args.host if args.host is not None else settings.server.host
    check_token(host, settings.server.token)  # refuse before loading anything
    port = args.port if args.port is not None else settings.server.port
    print(f"serving the API on http://{host}:{port}/v1 and the chat on http://{host}:{port}/",
          file=sys.stderr)  # fmt: skip
    serve(Assistant.from_settings(settings), host=host, port=port)
    return 0


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    """``rag eval``: run a question set and report how good this setup is."""
    from assistant.evaluation.cli import run_eval_command

    return run_eval_command(args, settings)


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "index": run_index,
    "sources": run_sources,
    "config": run_config,
    "ask": run_ask,
    "chat": run_chat,
    "ui": run_ui,
    "serve": run_serve,
    "eval": run_eval,
}


if __name__ == "__main__":
    sys.exit(main())
