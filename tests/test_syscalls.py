"""No long-lived flow tries to reach another host, seen at the system-call level.

Python's socket guard (conftest) cannot see native code: onnxruntime's telemetry, for one,
connects from C++. Here the flows run as real processes in a network namespace of their own
under ``strace -f``, and every ``connect``/``sendto``/``sendmsg`` to a non-loopback address
fails the test, whether or not it could have succeeded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT
from syscall_trace import inet_calls, outside_attempts, read_attempts
from test_offline import _unshare_available

# Two lines of a real trace of onnxruntime 1.32 telemetry (rag ui in `unshare -n`), then one of
# each other form strace prints.
SAMPLE_TRACE = ROOT / "tests" / "data" / "telemetry.strace"


def test_trace_reader_finds_every_outside_address_and_allows_loopback():
    trace = SAMPLE_TRACE.read_text()
    found = [(a.call, a.address, a.port) for a in outside_attempts(trace)]
    assert found == [
        ("connect", "10.255.255.53", 53),
        ("connect", "10.255.255.53", 53),
        ("connect", "2603:1061::1", 443),
        ("sendto", "192.168.1.4", 123),
        ("sendmsg", "8.8.8.8", 53),
    ]
    assert inet_calls(trace) == 7


def _traceable() -> str | None:
    if shutil.which("strace") is None:
        return "strace is not installed (make test installs it)"
    if not _unshare_available():
        return "unshare -n is missing or needs root (or user namespaces) on this machine"
    return None


@pytest.mark.slow
def test_long_lived_flows_make_no_outside_connection(tmp_path):
    reason = _traceable()
    if reason:
        pytest.skip(reason)
    script = ROOT / "tests" / "traced_flows.py"
    command = f"ip link set lo up; exec {sys.executable} {script} {tmp_path} index ui serve"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OLLAMA_"))}
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    done = [line.split() for line in result.stdout.splitlines() if line.startswith("ok ")]
    seconds = {flow: float(took) for _, flow, took in done}
    assert set(seconds) == {"index", "ui", "serve"}, result.stdout
    # The telemetry started about nine seconds after the model loaded: the index run must last.
    assert seconds["index"] > 10, f"rag index ran only {seconds['index']} s"
    attempts = {flow: read_attempts(tmp_path / f"{flow}.strace") for flow in seconds}
    counts = {flow: len(found) for flow, found in attempts.items()}
    first = [str(a) for found in attempts.values() for a in found[:3]]
    assert not any(counts.values()), f"non-loopback attempts {counts}: {'; '.join(first)}"
    # The servers really were traced: their page loads are loopback connections in the trace.
    assert inet_calls((tmp_path / "ui.strace").read_text()) > 0
    assert inet_calls((tmp_path / "serve.strace").read_text()) > 0
