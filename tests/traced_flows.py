"""Long-lived flows run under ``strace`` inside a process with no network (``unshare -n``).

Run by tests/test_syscalls.py as ``unshare -n sh -c "ip link set lo up; python traced_flows.py
OUT FLOW..."``. Each flow runs a real ``rag`` command under ``strace -f`` and writes its trace
to ``OUT/<flow>.strace``; the test then reads every ``connect``/``sendto``/``sendmsg`` in it.
Native code (onnxruntime's telemetry, say) is seen here, where Python's socket guard is blind.
Prints one ``ok <flow> <seconds>`` line per flow.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RAG = Path(sys.executable).with_name("rag")
TRACE = ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=connect,sendto,sendmsg"]
# How long the UI idles after its page is loaded: onnxruntime's telemetry started ~9 s in.
UI_IDLE_S = 25.0


def traced(out: Path, flow: str, command: list[str], **kwargs) -> subprocess.Popen:
    """``command`` started under strace, its trace going to ``out/<flow>.strace``."""
    command = [*TRACE, "-o", str(out / f"{flow}.strace"), *command]
    # A session of its own, so a signal reaches strace and the traced command together.
    return subprocess.Popen(command, start_new_session=True, **kwargs)


def make_corpus(folder: Path, files: int) -> None:
    """``files`` distinct small documents built from the seed sentences."""
    folder.mkdir(parents=True, exist_ok=True)
    sentences = [
        s.strip() + "."
        for path in sorted((ROOT / "seeds").iterdir())
        for s in path.read_text(encoding="utf-8").split(". ")
        if len(s.split()) > 6
    ]
    rng = random.Random(11)
    for i in range(files):
        body = " ".join(rng.sample(sentences, 8))
        (folder / f"doc_{i:04d}.txt").write_text(f"Document {i}.\n\n{body}\n", encoding="utf-8")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flow_index(out: Path, env: dict[str, str]) -> None:
    """``rag index`` of a folder big enough to run for more than ten seconds."""
    docs = out / "docs"
    make_corpus(docs, int(os.environ.get("TRACED_INDEX_FILES", "200")))
    process = traced(out, "index", [str(RAG), "index", str(docs)], env=env)
    if process.wait(timeout=600) != 0:
        raise SystemExit("rag index failed")


def flow_ui(out: Path, env: dict[str, str]) -> None:
    """``rag ui``: start, load the page, then idle for ``UI_IDLE_S`` seconds."""
    _serve_and_idle(out, env, "ui", "/")


def flow_serve(out: Path, env: dict[str, str]) -> None:
    """``rag serve`` (the HTTP API): start, list the models, then idle like the UI."""
    _serve_and_idle(out, env, "serve", "/v1/models")


def _serve_and_idle(out: Path, env: dict[str, str], command: str, path: str) -> None:
    port = free_port()
    process = traced(out, command, [str(RAG), command, "--port", str(port)], env=env)
    try:
        url = f"http://127.0.0.1:{port}{path}"
        deadline = time.monotonic() + 120
        while True:
            try:
                page = urllib.request.urlopen(url, timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"rag {command} did not serve {path}") from None
                time.sleep(0.5)
        assert "<html" in page.lower() or '"data"' in page, page[:200]
        time.sleep(UI_IDLE_S)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


FLOWS = {"index": flow_index, "ui": flow_ui, "serve": flow_serve}


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    # A hostile shell: the code itself must switch telemetry off, whatever the environment says.
    env.update({"ORT_DISABLE_TELEMETRY": "0", "HF_HUB_OFFLINE": "0", "DO_NOT_TRACK": "0"})
    env.update({"RAG_INDEX_DIR": str(out / "index"), "PYTHONUNBUFFERED": "1"})
    for flow in sys.argv[2:]:
        started = time.monotonic()
        FLOWS[flow](out, env)
        print(f"ok {flow} {time.monotonic() - started:.1f}", flush=True)


if __name__ == "__main__":
    main()
