"""A local, private question-answering assistant over your own documents.

Public API: ``Assistant`` (ask, stream), ``Library`` (the documents), ``Answer``, ``Citation``,
``load_settings``, ``SUPPORTED_SUFFIXES`` (the file types the indexer reads).
"""

import index  # noqa: F401 - switches off library phone-home before anything else loads
from assistant.answering import Assistant, QueryError
from assistant.library import DocumentInfo, IndexStatus, Library
from assistant.settings import Settings, SettingsError, load_settings
from assistant.types import Answer, Citation, ReasoningDelta, RetrievedChunk, TextDelta, Turn
from index.errors import RagError
from index.loaders import SUFFIXES as SUPPORTED_SUFFIXES

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "DocumentInfo",
    "IndexStatus",
    "Library",
    "QueryError",
    "RagError",
    "ReasoningDelta",
    "RetrievedChunk",
    "SUPPORTED_SUFFIXES",
    "Settings",
    "SettingsError",
    "TextDelta",
    "Turn",
    "load_settings",
]
