"""Named steps of the indexing protocol where a test can kill the indexer deterministically.

``RAG_CRASH_AT=<step>`` makes the indexer SIGKILL itself when it reaches ``<step>``, so a test
can stop it between any two writes (tests/test_rebuild_kills.py) instead of hoping a random
kill lands there. Unset, ``reached`` costs one environment lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "RAG_CRASH_AT"
# The steps of `rag index --rebuild`, in order; each is a state a kill can leave behind.
REBUILD_STEPS = (
    "rebuild:manifest-cleared",  # empty manifest marked dirty saved; old collection still there
    "rebuild:collection-dropped",  # no collection at all
    "rebuild:collection-created",  # a new, empty collection
    "chunks-written",  # the first group of files is in the store; the manifest is dirty
    "lexical-rebuilt",  # the BM25 index matches the store; the manifest is still dirty
)


def reached(step: str) -> None:
    """Kill this process (SIGKILL, no clean-up) if ``RAG_CRASH_AT`` names ``step``."""
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
