"""Phone-home is off in code, whatever the shell environment says."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

PROBE = """
import os
import gradio_client  # imports huggingface_hub (reading its constants) before assistant does
import huggingface_hub.constants as hf
import assistant  # noqa: F401
assert hf.HF_HUB_OFFLINE and hf.HF_HUB_DISABLE_TELEMETRY, "hub still online"
assert os.environ["ANONYMIZED_TELEMETRY"] == "False"
assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
from assistant.wiring import build_store
from assistant.settings import load_settings
import tempfile
store = build_store(load_settings(overrides={"index_dir": tempfile.mkdtemp()}, environ={}))
assert store._client.get_settings().anonymized_telemetry is False
print("private")
"""


def test_privacy_switches_hold_even_with_a_hostile_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "RAG_"))}
    env.update({"HF_HUB_OFFLINE": "0", "ANONYMIZED_TELEMETRY": "True", "DO_NOT_TRACK": "0",
                "GRADIO_ANALYTICS_ENABLED": "True"})  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "private"
