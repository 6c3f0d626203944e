"""Every flow works in a process that has no network at all (a fresh network namespace)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT


def _unshare_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.slow
def test_all_flows_run_with_no_network():
    if not _unshare_available():
        pytest.skip("unshare -n needs root (or user namespaces) on this machine")
    script = ROOT / "tests" / "offline_flows.py"
    # Only loopback exists in the namespace; bring it up so local servers can be reached.
    command = f"ip link set lo up 2>/dev/null || true; exec {sys.executable} {script}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OLLAMA_"))}
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    done = [line for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert done == [
        "ok index",
        "ok ask extractive",
        "ok ask auto (fell back)",
        "ok ask ollama (loopback fake)",
        "ok ui page",
        "ok eval",
    ]
