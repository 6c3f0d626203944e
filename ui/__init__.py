"""The browser chat: a Gradio app over the same ``Assistant`` the Python API uses.

``ui.app.build_app(assistant)`` builds the page and ``ui.app.launch(assistant)`` serves it.
Rendering (``ui.render``) and upload checks (``ui.uploads``) are pure functions importable
without Gradio, so this package's ``__init__`` deliberately imports nothing.
"""
