"""The one exception type for mistakes a user can cause and fix."""


class RagError(Exception):
    """A user-fixable problem; its message names the file, setting or host and what to do.

    The CLI prints the message without a traceback and exits non-zero (``exit_code``).
    """

    exit_code = 1
