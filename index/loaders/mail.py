"""E-mail (.eml) and mailboxes (.mbox), read with the stdlib ``email`` and ``mailbox`` packages.

Each message gives a section of its headers and body, located by subject and date; each
attachment of a supported type is loaded by its own loader and kept as its own sections,
located "attachment NAME" (plus its page or slide), so citations name the attachment.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from index.documents import LoadedDocument, Section, from_sections
from index.loaders.base import SkipFile, clean_meta
from index.loaders.html import parse_html, visible_text

if TYPE_CHECKING:  # the email package is imported when a message is read, not with the registry
    from email.message import EmailMessage

# Attachments may be e-mails with attachments; past this depth they are not opened.
MAX_NESTING = 3
MAX_MESSAGES = 100_000


def load_eml(data: bytes, path: Path) -> LoadedDocument:
    """One e-mail: headers (From, To, Date, Subject) and body, then its supported attachments."""
    message = _parse(data)
    sections = _message_sections(message, None, depth=0)
    return from_sections(
        sections,
        title=clean_meta(message["subject"]),
        author=clean_meta(message["from"]),
        date=clean_meta(message["date"]),
    )


def load_mbox(data: bytes, path: Path) -> LoadedDocument:
    """A mailbox: every message as in ``load_eml``, located "message N: subject (date)"."""
    import mailbox

    # mailbox reads only from a file, and opens it for writing when it can: give it a copy.
    with tempfile.NamedTemporaryFile(prefix="rag-mbox-", suffix=".mbox") as copy:
        copy.write(data)
        copy.flush()
        try:
            box = mailbox.mbox(copy.name, factory=None, create=False)
            sections: list[Section] = []
            for number, key in enumerate(box.iterkeys(), start=1):
                if number > MAX_MESSAGES:
                    break
                message = _parse(box.get_bytes(key))
                sections.extend(_message_sections(message, f"message {number}", depth=0))
            box.close()
        except (OSError, mailbox.Error, ValueError) as exc:
            raise SkipFile(f"unreadable mailbox ({type(exc).__name__}: {exc})") from None
    if not sections:
        raise SkipFile("the mailbox holds no messages")
    return from_sections(sections)


def _parse(data: bytes) -> EmailMessage:
    import email
    import email.policy

    try:
        return email.message_from_bytes(data, policy=email.policy.default)
    except Exception as exc:  # noqa: BLE001 - the parser is lenient; this is a last resort
        raise SkipFile(f"unreadable e-mail ({type(exc).__name__})") from None


def _message_sections(message: EmailMessage, label: str | None, depth: int) -> list[Section]:
    subject = _header(message, "subject") or "(no subject)"
    date = _header(message, "date")
    where = f"{subject} ({date})" if date else subject
    location = f"{label}: {where}" if label else f"e-mail {where}"
    headers = [f"{name}: {value}" for name in ("From", "To", "Cc", "Date", "Subject")
               if (value := _header(message, name))]  # fmt: skip
    sections = [Section("\n".join([*headers, "", _body(message)]).strip(), location)]
    if depth < MAX_NESTING:
        sections.extend(_attachment_sections(message, location, depth))
    return sections


def _header(message: EmailMessage, name: str) -> str | None:
    try:
        value = message[name]
    except Exception:  # noqa: BLE001 - a malformed header value
        return None
    return " ".join(str(value).split()) or None if value is not None else None


def _body(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        content = part.get_content()
    except Exception:  # noqa: BLE001 - unknown charsets and broken encodings
        return ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return visible_text(parse_html(content))
    return content


def _attachment_sections(message: EmailMessage, parent: str, depth: int) -> list[Section]:
    from index.loaders import loader_for

    sections: list[Section] = []
    try:
        attachments = list(message.iter_attachments())
    except Exception:  # noqa: BLE001 - a message that is not multipart in a broken way
        return sections
    for part in attachments:
        name = PurePath(part.get_filename() or "").name
        loader = loader_for(Path(name)) if name and PurePath(name).suffix else None
        if loader is None:
            continue
        try:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                loaded = loader(payload, Path(name))
            else:
                continue
        except SkipFile:
            continue
        except Exception:  # noqa: BLE001, S112 - a broken attachment must not lose the message
            continue
        for section in loaded.parts():
            inner = f", {section.location}" if section.location else ""
            location = f"{parent}, attachment {name}{inner}"
            sections.append(Section(section.text, location, section.page))
    return sections
