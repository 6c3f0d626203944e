"""Switch off every phone-home the libraries we use do by default.

Called before any of them is imported (from ``index/__init__``, which every entry point imports
first): Hugging Face reads these variables at import time, onnxruntime when its native library
loads. Privacy is not optional, so the values are forced, not defaulted.
"""

import os
import sys

_OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",  # never download models or check for updates
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb's posthog telemetry
    "GRADIO_ANALYTICS_ENABLED": "False",
    # onnxruntime's native telemetry (1.32) resolves mobile.events.data.microsoft.com about 9 s
    # after a session starts and queues events on disk; only this variable, read when the
    # library loads, stops it (``onnxruntime.disable_telemetry_events()`` does not).
    "ORT_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",  # avoids fork warnings, no privacy effect
}


def disable_phone_home() -> None:
    """Set the environment so Hugging Face, Chroma, Gradio and onnxruntime make no outside requests.

    A library imported before this ran (say ``gradio_client``, which imports
    ``huggingface_hub``) has already read its constants: those are switched off in place.
    """
    os.environ.update(_OFFLINE_ENVIRONMENT)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
        constants.HF_HUB_DISABLE_TELEMETRY = True
    if "onnxruntime" in sys.modules:
        import logging

        # Its native telemetry read the environment when it loaded: too late to switch off here.
        logging.getLogger(__name__).warning(
            "onnxruntime was imported before the assistant; import the assistant first so its "
            "telemetry stays off (or set ORT_DISABLE_TELEMETRY=1)"
        )
