"""The full flows, run by tests/test_offline.py inside a process with no network (`unshare -n`).

Indexes the seeds, asks with each generator (extractive; auto with no Ollama; ollama against
the fake server on loopback), serves the UI and loads its page, and evaluates a few questions.
Prints one ``ok <flow>`` line per flow; any failure raises and exits non-zero.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    from ollama_fake import FakeOllama

    from assistant import Assistant
    from assistant.evaluation.cli import add_eval_arguments, run_eval_command
    from assistant.settings import load_settings
    from assistant.wiring import build_indexer

    base = Path(tempfile.mkdtemp(prefix="offline-"))
    docs = base / "docs"
    shutil.copytree(HERE.parent / "seeds", docs)
    settings = load_settings(
        overrides={"docs_dir": str(docs), "index_dir": str(base / "index")}, environ={}
    )
    report = build_indexer(settings, progress=False).run([docs])
    assert len(report.added) == 5, report.summary()
    print("ok index")

    assistant = Assistant.from_settings(settings)
    embedder = assistant.retriever.embedder
    answer = assistant.ask("Which company did Luo Fuli join?", generator="extractive")
    assert "Xiaomi" in answer.text
    print("ok ask extractive")

    answer = assistant.ask("Which company did Luo Fuli join?", generator="auto")
    assert answer.generator == "extractive" and "ollama serve" in (answer.notice or "")
    print("ok ask auto (fell back)")

    with FakeOllama(models=["deepseek-r1:1.5b"], thinking_models=["deepseek-r1:1.5b"],
                    reply=["Xiaomi [1]."]) as fake:  # fmt: skip
        local = Assistant.from_settings(
            settings.replace(**{"ollama.host": fake.url}), embedder=embedder
        )
        answer = local.ask("Which company did Luo Fuli join?", generator="ollama")
    assert answer.generator.startswith("ollama:") and answer.grounded
    print("ok ask ollama (loopback fake)")

    from ui.app import build_app

    app = build_app(assistant)
    app.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True,
               quiet=True)  # fmt: skip
    try:
        page = urllib.request.urlopen(app.local_url, timeout=30).read().decode()
        assert "<html" in page.lower()
    finally:
        app.close()
    print("ok ui page")

    questions = base / "q.jsonl"
    lines = (HERE / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions.write_text("\n".join(lines[:3] + lines[-2:]) + "\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_eval_arguments(parser)
    args = parser.parse_args([str(questions), "--out", str(base / "eval")])
    args.config = None
    assert run_eval_command(args, settings.replace(**{"generator.name": "extractive"})) == 0
    assert (base / "eval" / "report.html").is_file()
    print("ok eval")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
