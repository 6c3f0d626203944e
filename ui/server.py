"""``rag serve``: the OpenAI-compatible HTTP API and the browser chat on one port.

Routes (all JSON; errors are ``{"error": {"message", "type", "code"}}``, never a traceback):

- ``GET /v1/models``; ``POST /v1/chat/completions`` (``stream: true`` for SSE);
- ``GET /v1/documents``, ``POST /v1/documents`` (multipart ``files``),
  ``DELETE /v1/documents/{id}`` (from the index; only uploads are deleted from disk),
  ``GET /v1/index/status``; ``POST /v1/search`` (ranked passages);
- ``/`` the Gradio chat (``ui.app.build_app``).

A bearer token (``server.token``) guards ``/v1``; it is required to bind beyond loopback, and
then the browser chat asks for a login too (``ui.username``/``ui.password``, or any user name
with the token as password).
"""

from __future__ import annotations

import hmac
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from assistant import Answer, Assistant, RagError, ReasoningDelta, TextDelta
from ui import api_documents
from ui import openai_compat as oa
from ui.app import is_loopback

log = logging.getLogger(__name__)
API_PREFIX = "/v1"
# Most passages one search request may ask for.
MAX_SEARCH_K = 50


def check_token(host: str, token: str) -> str | None:
    """The bearer token to require on ``host``; refuses a non-loopback bind without one."""
    if token:
        return token
    if is_loopback(host):
        return None
    raise RagError(
        f"refusing to serve the API on {host or 'all addresses'} without a token: set "
        "server.token (RAG_SERVER__TOKEN) to a long random string, or bind to 127.0.0.1"
    )


def _error(status: int, message: str, code: str = "invalid_request") -> JSONResponse:
    return JSONResponse(oa.error_body(message, code), status_code=status)


class LimitsAndAuth:
    """ASGI middleware: bearer token on ``/v1`` and request-body size limits.

    Pure ASGI so that oversized bodies are refused while they are being read, whether or not
    the client sent a Content-Length.
    """

    def __init__(self, app: Any, token: str | None, max_body: int, max_upload: int):
        self.app, self.token, self.max_body, self.max_upload = app, token, max_body, max_upload

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.token is not None and not _token_ok(headers.get("authorization", ""), self.token):
            response = _error(401, "missing or wrong bearer token: send 'Authorization: "
                              "Bearer <server.token>'", "invalid_api_key")  # fmt: skip
            await response(scope, receive, send)
            return
        is_upload = scope["path"].rstrip("/") == f"{API_PREFIX}/documents"
        limit = self.max_upload if is_upload else self.max_body
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge as exc:
            await _too_large(exc.limit)(scope, receive, send)


class _BodyTooLarge(Exception):
    def __init__(self, limit: int):
        self.limit = limit


def _too_large(limit: int) -> JSONResponse:
    return _error(413, f"the request body is over the {limit} byte limit "
                  "(server.max_body_kb / server.max_upload_mb)", "body_too_large")  # fmt: skip


def _token_ok(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def create_app(assistant: Assistant, host: str = "127.0.0.1", with_ui: bool = True) -> FastAPI:
    """The FastAPI app for ``host`` (which decides whether a token is required).

    Raises ``RagError`` when ``host`` is not loopback and ``server.token`` is empty.
    """
    settings = assistant.settings.server
    token = check_token(host, settings.token)
    app = FastAPI(title="Local document assistant", docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    _handlers(app)
    _routes(app, assistant)
    if with_ui:
        _mount_ui(app, assistant, host, token)
    app.add_middleware(
        LimitsAndAuth,
        token=token,
        max_body=settings.max_body_kb * 1024,
        max_upload=int(settings.max_upload_mb * 1e6),
    )
    return app


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(oa.RequestError)
    async def request_error(_: Request, exc: oa.RequestError) -> JSONResponse:
        return _error(exc.status, str(exc), exc.code)

    @app.exception_handler(RagError)
    async def rag_error(_: Request, exc: RagError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), "http_error")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(400, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed")
        return _error(500, f"internal error ({type(exc).__name__}); the server log has the "
                      "details", "internal")  # fmt: skip


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise oa.RequestError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise oa.RequestError("the request body must be a JSON object")
    return body


def _routes(app: FastAPI, assistant: Assistant) -> None:
    @app.get(f"{API_PREFIX}/models")
    async def models() -> dict[str, Any]:
        ids = await anyio.to_thread.run_sync(_model_ids, assistant)
        data = [{"id": mid, "object": "model", "created": 0, "owned_by": "local"} for mid in ids]
        return {"object": "list", "data": data}

    @app.post(f"{API_PREFIX}/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> Any:
        body = await _json_body(request)
        question, history = oa.split_messages(body.get("messages"))
        generator, model = oa.parse_model(body.get("model"), assistant.generators.names)
        model_name = body.get("model") or assistant.settings.generator.name
        options = {"history": history, "generator": generator, "model": model}
        events = assistant.stream(question, **options)
        if body.get("stream"):
            first = await anyio.to_thread.run_sync(_first, events)  # errors before any byte
            return StreamingResponse(
                _sse(events, first, model_name), media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )  # fmt: skip
        answer = await anyio.to_thread.run_sync(_last_answer, events)
        return oa.completion(answer, model_name)

    @app.get(f"{API_PREFIX}/documents")
    async def list_documents() -> dict[str, Any]:
        documents = await anyio.to_thread.run_sync(assistant.library.documents)
        return {"object": "list", "data": [api_documents.entry(d) for d in documents]}

    @app.post(f"{API_PREFIX}/documents")
    async def upload_documents(request: Request) -> dict[str, Any]:
        form = await request.form()
        files = [f for f in form.getlist("files") + form.getlist("file") if hasattr(f, "read")]
        if not files:
            raise oa.RequestError("send the documents as multipart form field 'files'")
        with tempfile.TemporaryDirectory(prefix="rag-upload-") as tmp:
            staged = []
            for number, upload in enumerate(files):
                path = Path(tmp) / f"{number}"
                path.write_bytes(await upload.read())
                staged.append((upload.filename or "upload", path))
            return await anyio.to_thread.run_sync(api_documents.add_uploads, assistant, staged)

    @app.delete(f"{API_PREFIX}/documents/{{doc_id}}")
    async def remove_document(doc_id: str) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(api_documents.remove, assistant, doc_id)

    @app.get(f"{API_PREFIX}/index/status")
    async def index_status() -> dict[str, Any]:
        status = await anyio.to_thread.run_sync(assistant.library.status)
        return {"documents": status.documents, "chunks": status.chunks,
                "embedder": status.embedder}  # fmt: skip

    @app.post(f"{API_PREFIX}/search")
    async def search(request: Request) -> dict[str, Any]:
        body = await _json_body(request)
        query = body.get("query")
        if not isinstance(query, str):
            raise oa.RequestError("'query' must be a string")
        top_k = body.get("top_k", assistant.settings.retrieval.top_k)
        if not isinstance(top_k, int) or not 1 <= top_k <= MAX_SEARCH_K:
            raise oa.RequestError(f"'top_k' must be an integer from 1 to {MAX_SEARCH_K}")
        mode = body.get("mode")
        if mode not in (None, "hybrid", "dense", "lexical"):
            raise oa.RequestError("'mode' must be hybrid, dense or lexical")
        chunks = await anyio.to_thread.run_sync(_search, assistant, query, mode, top_k)
        return {"object": "list", "data": [_passage(i, c) for i, c in enumerate(chunks, 1)]}


def _model_ids(assistant: Assistant) -> list[str]:
    """The generator choices, and ``<backend>:<model>`` for each model a backend offers."""
    ids = list(assistant.generators.names)
    for name in assistant.generators.names:
        if name != "auto":
            try:
                ids += [f"{name}:{m}" for m in assistant.generators.models(name)]
            except RagError:  # unreachable backend: its models are simply not listed
                continue
    return ids


def _search(assistant: Assistant, query: str, mode: str | None, top_k: int) -> list:
    query = query.strip()
    if not query:
        raise oa.RequestError("'query' is empty; send the text to search for")
    limit = assistant.settings.query.max_chars
    if len(query) > limit:
        raise oa.RequestError(f"'query' is over the {limit} character limit (query.max_chars)")
    return list(assistant.retriever.retrieve(query, top_k=top_k, mode=mode))


def _first(events: Iterator) -> Any:
    return next(events, None)


def _last_answer(events: Iterator) -> Answer:
    answer = None
    for event in events:
        if isinstance(event, Answer):
            answer = event
    if answer is None:
        raise RagError("the generator stopped without an answer; try again")
    return answer


async def _sse(events: Iterator, first: Any, model: str) -> AsyncIterator[str]:
    """The SSE stream of one completion; closing it (client gone) closes the generator.

    Closing matters: it ends the Ollama HTTP stream, so the model stops generating.
    """
    cid = oa.completion_id()
    event = first
    try:
        yield _data(oa.chunk(cid, model, {"role": "assistant", "content": ""}))
        while event is not None:
            if isinstance(event, TextDelta):
                yield _data(oa.chunk(cid, model, {"content": event.text}))
            elif isinstance(event, ReasoningDelta):
                yield _data(oa.chunk(cid, model, {"reasoning_content": event.text}))
            elif isinstance(event, Answer):
                yield _data(oa.final_chunk(cid, model, event))
            event = await anyio.to_thread.run_sync(_first, events)
        yield "data: [DONE]\n\n"
    except RagError as exc:  # headers are sent: report in-band, as OpenAI's servers do
        yield _data(oa.error_body(str(exc)))
    except Exception as exc:  # noqa: BLE001 - never a traceback to the client
        log.exception("streaming failed")
        yield _data(oa.error_body(f"internal error ({type(exc).__name__})", "internal"))
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(events.close)


def _data(obj: dict[str, Any]) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


def _passage(rank: int, c: Any) -> dict[str, Any]:
    return {
        "rank": rank,
        "score": round(c.score, 6),
        "source": c.source,
        "location": c.location,
        "page": c.page,
        "title": c.title,
        "text": c.text,
        "span": [c.start, c.end],
        "chunk_id": c.chunk_id,
    }


def _mount_ui(app: FastAPI, assistant: Assistant, host: str, token: str | None) -> None:
    import gradio as gr

    from ui.app import CSS, build_app, check_bind, theme

    ui = assistant.settings.ui
    if ui.username and ui.password:
        auth: Any = check_bind(host, ui.username, ui.password)
    elif token is not None and not is_loopback(host):
        auth = lambda _user, password: hmac.compare_digest(password, token)  # noqa: E731
    else:
        auth = None
    gr.mount_gradio_app(
        app, build_app(assistant), path="", auth=auth, show_error=False, ssr_mode=False,
        mcp_server=False, pwa=False, enable_monitoring=False, theme=theme(), css=CSS,
        max_file_size=int(ui.max_upload_mb * 1e6), footer_links=["settings"],
    )  # fmt: skip


def serve(assistant: Assistant, host: str | None = None, port: int | None = None) -> None:
    """Serve the API and the chat until Ctrl-C (default: ``server.host``/``server.port``)."""
    import uvicorn

    settings = assistant.settings.server
    host = host if host is not None else settings.host
    port = port if port is not None else settings.port
    app = create_app(assistant, host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    try:
        server.run()
    except OSError as exc:
        raise RagError(f"cannot serve on {host}:{port} ({exc}); pass --port or set "
                       "server.port (RAG_SERVER__PORT)") from None  # fmt: skip
    if not server.started:
        raise RagError(f"cannot serve on {host}:{port} (the port is taken?); pass --port or set "
                       "server.port (RAG_SERVER__PORT)")  # fmt: skip
