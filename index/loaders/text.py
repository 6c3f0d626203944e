"""Plain text in any common encoding: txt, md, rst, org, log, tex, files without a suffix, rtf.

Bytes that are not UTF-8 go to charset-normalizer, which recognises legacy encodings such as
Windows-1252 or Shift-JIS; only content it cannot read as text is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from index.documents import LoadedDocument
from index.loaders.base import SNIFF_BYTES, SkipFile

_MD_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_RST_HEADING = re.compile(r"^(?:[=#*~-]{3,}\n)?(\S[^\n]{1,150})\n[=#*~-]{3,}\s*$", re.MULTILINE)
_ORG_TITLE = re.compile(r"^#\+title:\s*(.+)$", re.MULTILINE | re.IGNORECASE)
_TEX_TITLE = re.compile(r"\\title\{([^{}]{1,200})\}")
# Text is mostly printable: below this share of letters, digits, spaces and punctuation it is data.
MIN_PRINTABLE = 0.95
PREFERRED_ENCODING = "cp1252"


def load_text(data: bytes, path: Path) -> LoadedDocument:
    """Plain text kinds: the decoded text, and the title a Markdown/reST/Org/TeX file declares."""
    text = decode_text(data)
    return LoadedDocument(text=text, title=_title(text, path.suffix.lower()))


def load_extensionless(data: bytes, path: Path) -> LoadedDocument:
    """A file without a suffix (README, NOTES): indexed when its content is text."""
    try:
        text = decode_text(data)
    except SkipFile:
        raise SkipFile("no file extension and the content is not text; unsupported") from None
    return LoadedDocument(text=text)


def load_rtf(data: bytes, path: Path) -> LoadedDocument:
    """Rich Text Format, converted by striprtf (RTF escapes its own non-ASCII characters)."""
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        raise SkipFile("not an RTF file (no {\\rtf header)")
    try:
        text = rtf_to_text(data.decode("latin-1"), errors="ignore")
    except Exception as exc:  # noqa: BLE001 - striprtf raises assorted errors on broken input
        raise SkipFile(f"corrupt or unreadable RTF ({type(exc).__name__})") from None
    return LoadedDocument(text=text)


def decode_text(data: bytes) -> str:
    """Decode text bytes: UTF-8/UTF-16 first, then a detected legacy encoding.

    Raises ``SkipFile`` for binary content (NUL bytes, or no encoding that gives readable text).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise SkipFile(f"broken UTF-16 text at byte {exc.start}") from None
    if b"\x00" in data[:SNIFF_BYTES]:
        raise SkipFile("binary content (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = _detected(data)
    if not text or _printable_share(text) < MIN_PRINTABLE:
        raise SkipFile("binary content or an unknown text encoding; save it as UTF-8")
    return text


def _detected(data: bytes) -> str:
    """``data`` decoded in the encoding charset-normalizer finds most plausible ("" if none).

    Short texts often fit several code pages equally well; then Windows-1252, by far the most
    common legacy encoding of documents, wins the tie.
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return ""
    best = matches[0]
    ties = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    western = [m for m in ties if PREFERRED_ENCODING in m.could_be_from_charset]
    return str(western[0] if western else best)


def _printable_share(text: str) -> float:
    sample = text[:SNIFF_BYTES]
    readable = sum(1 for ch in sample if ch.isprintable() or ch in "\n\r\t")
    return readable / max(len(sample), 1)


def _title(text: str, suffix: str) -> str | None:
    pattern = {
        ".md": _MD_HEADING,
        ".markdown": _MD_HEADING,
        ".rst": _RST_HEADING,
        ".org": _ORG_TITLE,
        ".tex": _TEX_TITLE,
    }.get(suffix)
    match = pattern.search(text[:SNIFF_BYTES]) if pattern else None
    return " ".join(match.group(1).split()) if match else None
