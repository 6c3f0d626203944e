"""Installed like a real tool: the wheel, non-editable, in a fresh environment and a fresh HOME.

The wheel is built from this checkout and installed without dependencies into a new virtual
environment whose only other packages are this venv's (through a path file, so the checkout
itself is never on the path). Every command then runs from an unrelated folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS

QUESTION = "Which company did Luo Fuli join?"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtual environment with the project's wheel installed (not editable)."""
    base = tmp_path_factory.mktemp("install")
    dist = base / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(dist), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(dist.glob("local_rag_assistant-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # This venv's packages (the dependencies) without its editable install of the checkout:
    # a path file adds the folder to sys.path but does not run the .pth files inside it.
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    return venv


def run(venv: Path, home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "XDG_"))}
    env.update({"HOME": str(home), "PYTHONNOUSERSITE": "1"})
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_the_wheel_works_from_any_folder_with_a_fresh_home(installed, tmp_path):
    home, elsewhere, docs = tmp_path / "home", tmp_path / "elsewhere", tmp_path / "my-docs"
    for folder in (home, elsewhere, docs):
        folder.mkdir()
    for seed in sorted(SEEDS.glob("*.txt"))[:3]:
        (docs / seed.name).write_bytes(seed.read_bytes())

    where = run(
        installed, home, elsewhere, "python", "-c", "import assistant; print(assistant.__file__)"
    )
    assert where.returncode == 0 and str(installed) in where.stdout, where.stdout + where.stderr
    assert run(installed, home, elsewhere, "rag", "--version").stdout.startswith("rag ")

    first = run(installed, home, elsewhere, "rag", "index", str(docs))
    assert first.returncode == 0, first.stderr[-2000:]
    assert "3 added" in first.stdout
    data = home / ".local" / "share" / "rag-assistant"
    assert (data / "index").is_dir(), "the index lives in the user's data folder"

    sources = run(installed, home, elsewhere, "rag", "sources")
    assert sources.stdout.split() == [str(docs)]

    answer = run(installed, home, elsewhere, "rag", "ask", QUESTION, "--json")
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert "Xiaomi" in json.loads(answer.stdout)["answer"]

    rebuilt = run(installed, home, elsewhere, "rag", "index", "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert "3 added" in rebuilt.stdout  # the same documents came back, not a demo corpus

    api = run(installed, home, elsewhere, "python", "-c",
              "from assistant import Assistant; a = Assistant.from_config(generator='extractive');"
              f" print(a.ask({QUESTION!r}).citations[0].source)")  # fmt: skip
    assert api.returncode == 0, api.stderr[-2000:]
    assert api.stdout.strip() == "002_922202727007834a.txt"
