"""Switch off every phone-home the libraries we use do by default.

Called before any of them is imported (from ``index/__init__``): Hugging Face reads these
variables at import time. Privacy is not optional, so the values are forced, not defaulted.
"""

import os
import sys

_OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",  # never download models or check for updates
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb's posthog telemetry
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",  # avoids fork warnings, no privacy effect
}


def disable_phone_home() -> None:
    """Set the environment so Hugging Face, Chroma and Gradio make no outside requests.

    A library imported before this ran (say ``gradio_client``, which imports
    ``huggingface_hub``) has already read its constants: those are switched off in place.
    """
    os.environ.update(_OFFLINE_ENVIRONMENT)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
        constants.HF_HUB_DISABLE_TELEMETRY = True
