"""File names made safe to print: control and bidi characters shown as escapes.

A file may be called ``"x\\nerror: corrupt"`` or carry terminal escape sequences; printed raw,
such a name forges output lines or rewrites the terminal. Every line the CLI or the UI builds
from a file name goes through ``shown``.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(name: object) -> str:
    """``name`` with control (Cc) and format (Cf: bidi overrides, zero-width) characters escaped.

    ``"a\\nb"`` becomes ``a\\nb`` (a backslash and ``n``), ESC becomes ``\\x1b`` and U+202E
    becomes ``\\u202e``; printable text, including non-ASCII letters, is kept as it is.
    """
    out: list[str] = []
    for ch in str(name):
        category = unicodedata.category(ch)
        if category not in ("Cc", "Cf", "Zl", "Zp"):
            out.append(ch)
        elif ch in _NAMED:
            out.append(_NAMED[ch])
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)
