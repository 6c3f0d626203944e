"""The registered sources of an index: the folders and files the user asked to index.

``rag index PATH…`` records each path; a bare ``rag index`` re-syncs all of them and
``rag index --rebuild`` rebuilds exactly those, so a rebuild never swaps in another corpus.
A document the user removed from the index while its folder stays registered is kept in
``excluded``, so the next sync does not bring it back. Stored as JSON beside the manifest,
written atomically (a crash leaves the old or the new file, never half of one).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from index import disk

VERSION = 1


@dataclass
class Sources:
    """Registered paths (absolute, in the order first added) and excluded document keys."""

    path: Path
    paths: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Sources:
        """The registry at ``path``; empty when missing or unreadable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, list(data.get("paths", [])), list(data.get("excluded", [])))
        except (OSError, ValueError, AttributeError):
            return cls(path)

    def save(self) -> None:
        """Write atomically."""
        data = {"version": VERSION, "paths": self.paths, "excluded": sorted(set(self.excluded))}
        tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # a full disk or a read-only index: one line, never a traceback
            raise disk.from_os_error(exc, self.path.parent.parent.parent) or exc from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def register(self, paths: list[Path]) -> None:
        """Add ``paths`` (made absolute); a path already covered by a registered folder is kept
        out, and re-adding an excluded file includes it again."""
        for path in paths:
            text = str(Path(path).expanduser().absolute())
            resolved = str(Path(text).resolve()) if Path(text).exists() else text
            self.excluded = [k for k in self.excluded if k != resolved]
            if text not in self.paths and not self.covers(text):
                self.paths.append(text)

    def covers(self, path: str) -> bool:
        """Whether ``path`` is a registered path or lies inside a registered folder."""
        target = Path(path)
        return any(target == Path(p) or target.is_relative_to(p) for p in self.paths)

    def unregister(self, path: Path) -> list[str]:
        """Forget ``path`` and any registered path inside it; returns what was forgotten."""
        target = Path(path).expanduser().absolute()
        gone = [p for p in self.paths if Path(p) == target or Path(p).is_relative_to(target)]
        self.paths = [p for p in self.paths if p not in gone]
        return gone
