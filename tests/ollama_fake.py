"""A fake Ollama server on 127.0.0.1 that speaks the REST API the real ``ollama`` client uses.

Usage::

    with FakeOllama(models=["m:latest"], reply=["Paris ", "[1]"]) as fake:
        settings = OllamaSettings(host=fake.url, model="m")
        ...
        assert fake.chat_requests()[0]["options"]["num_ctx"] == 8192

Implemented: ``GET /api/tags``, ``POST /api/show``, ``POST /api/chat`` (NDJSON stream with
chunked transfer encoding, or one JSON object when ``"stream": false``). Models not in
``models`` get Ollama's 404; ``think`` on a model not in ``thinking_models`` gets Ollama's
400 ("does not support thinking"), as a real server answers for e.g. SmolLM2.
``done_reason`` is sent on the final chunk: ``"length"`` is what a server says when
``num_predict`` cut the answer.
``behaviour`` scripts failures: ``"cut"`` closes the connection mid-stream, ``"end_early"``
ends the body cleanly before the ``"done": true`` line, ``"hang"`` accepts the request and never
answers, ``"hang_mid"`` stalls after the first chunks. Hanging
handlers are released when the context exits, so no thread outlives the test.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Behaviour = Literal["normal", "cut", "end_early", "hang", "hang_mid"]
CREATED_AT = "2025-01-01T00:00:00.000000Z"
# Upper bound on how long a hanging handler waits if the test never exits the context.
_HANG_LIMIT_S = 30.0


@dataclass
class RecordedRequest:
    """One request the fake received: method, path and the parsed JSON body (or None)."""

    method: str
    path: str
    body: Any


@dataclass
class FakeOllama:
    """A context manager running the fake server; ``url`` is its address once entered.

    ``reply`` is the content tokens streamed by ``/api/chat``, ``thinking`` the tokens sent in
    ``message.thinking`` first when the request asks for ``think``. ``chat_error`` forces
    ``(status, message)`` as the answer to every chat request.
    """

    models: Sequence[str] = ("m:latest",)
    thinking_models: Sequence[str] = ()
    reply: Sequence[str] = ("Hello", " world", " [1]")
    thinking: Sequence[str] = ()
    behaviour: Behaviour = "normal"
    chat_error: tuple[int, str] | None = None
    done_reason: str = "stop"
    # Seconds between streamed lines (a slow model); with it, ``sent`` counts the lines
    # written and ``disconnected`` is set when the client closed the stream before the end.
    token_delay_s: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.sent = 0
        self.disconnected = threading.Event()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("FakeOllama is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the ``/api/chat`` requests received, oldest first."""
        return [r.body for r in self.requests if r.path == "/api/chat"]

    def __enter__(self) -> FakeOllama:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        with self._lock:
            # Unblocks handlers waiting on keep-alive connections the client still holds.
            for conn in self._connections:
                with contextlib.suppress(OSError):  # already closed by the client
                    conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(timeout=5)

    # Called from handler threads.
    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def _full(self, model: str) -> str:
        return model if ":" in model else f"{model}:latest"

    def _has(self, names: Iterable[str], model: str) -> bool:
        return self._full(model) in {self._full(name) for name in names}


def closed_port_url() -> str:
    """The URL of a 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOllama
    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection is dropped after this, bounding the handler thread.
    timeout = 10

    def setup(self) -> None:
        super().setup()
        self.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._record(None)
        if self.path == "/api/tags":
            self._json(200, {"models": [_model_entry(name) for name in self.fake.models]})
        else:
            self._json(404, {"error": "404 page not found"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._record(raw.decode("utf-8", "replace"))
            self._json(400, {"error": "invalid JSON"})
            return
        self._record(body)
        if self.path == "/api/show":
            self._show(body)
        elif self.path == "/api/chat":
            self._chat(body)
        else:
            self._json(404, {"error": "404 page not found"})

    def _record(self, body: Any) -> None:
        self.fake.requests.append(RecordedRequest(self.command, self.path, body))

    def _show(self, body: dict[str, Any]) -> None:
        model = body.get("model", "")
        if not self.fake._has(self.fake.models, model):
            self._json(404, {"error": f"model '{model}' not found"})
            return
        thinks = self.fake._has(self.fake.thinking_models, model)
        self._json(
            200,
            {
                "modelfile": "",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": _details(),
                "model_info": {"general.architecture": "qwen2", "qwen2.context_length": 131072},
                "capabilities": ["completion", "thinking"] if thinks else ["completion"],
                "modified_at": CREATED_AT,
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        fake = self.fake
        model = body.get("model", "")
        if fake.chat_error is not None:
            self._json(fake.chat_error[0], {"error": fake.chat_error[1]})
            return
        if not fake._has(fake.models, model):
            self._json(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        think = bool(body.get("think"))
        if think and not fake._has(fake.thinking_models, model):
            self._json(400, {"error": f'"{model}" does not support thinking'})
            return
        if fake.behaviour == "hang":
            fake._release.wait(_HANG_LIMIT_S)
            self.close_connection = True
            return
        thinking = list(fake.thinking) if think else []
        if body.get("stream", True) is False:
            message = {"role": "assistant", "content": "".join(fake.reply)}
            if thinking:
                message["thinking"] = "".join(thinking)
            final = _chunk(model, message, done=True, reason=fake.done_reason)
            self._json(200, {**final, **_final_stats()})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        lines = [
            _chunk(model, {"role": "assistant", "content": "", "thinking": t}) for t in thinking
        ]
        lines += [_chunk(model, {"role": "assistant", "content": t}) for t in fake.reply]
        empty = {"role": "assistant", "content": ""}
        last = _chunk(model, empty, done=True, reason=fake.done_reason)
        final = {**last, **_final_stats()}
        if fake.behaviour == "end_early":
            for line in lines[:2]:
                self._write_chunk(line)
            self.wfile.write(b"0\r\n\r\n")
            return
        if fake.behaviour in ("cut", "hang_mid"):
            for line in lines[:2]:
                self._write_chunk(line)
            if fake.behaviour == "hang_mid":
                fake._release.wait(_HANG_LIMIT_S)
            # No terminating chunk: the client sees the body end early.
            self.close_connection = True
            return
        for line in [*lines, final]:
            if fake.token_delay_s and fake._release.wait(fake.token_delay_s):
                return  # the test is over
            try:
                self._write_chunk(line)
            except (BrokenPipeError, ConnectionResetError):
                fake.disconnected.set()
                return
            fake.sent += 1
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, obj: dict[str, Any]) -> None:
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _chunk(
    model: str, message: dict[str, str], done: bool = False, reason: str = "stop"
) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "created_at": CREATED_AT, "message": message}
    out["done"] = done
    if done:
        out["done_reason"] = reason
    return out


def _final_stats() -> dict[str, int]:
    return {
        "total_duration": 1_000_000,
        "load_duration": 1_000,
        "prompt_eval_count": 42,
        "prompt_eval_duration": 1_000,
        "eval_count": 7,
        "eval_duration": 1_000,
    }


def _details() -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": "qwen2",
        "families": ["qwen2"],
        "parameter_size": "1.8B",
        "quantization_level": "Q4_K_M",
    }


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": CREATED_AT,
        "size": 1_117_322_599,
        "digest": "a" * 64,
        "details": _details(),
    }
