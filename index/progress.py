"""Progress of an indexing run that a user can trust: files and chunks done, speed, time left.

On a terminal it is a tqdm bar over files with chunks and chunks/s beside it (tqdm shows the
time left); elsewhere (a log, the UI's server log, CI) a plain line every tenth of the files or
every ``PLAIN_EVERY_S`` seconds, whichever comes first. A caller that draws its own progress
(the UI) passes ``on_update``, called with the meter after every batch written.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Without a terminal, runs of at least this many files report progress as plain lines.
PLAIN_MIN_FILES = 20
PLAIN_EVERY_S = 10.0


class Progress:
    """Counts files and chunks as they are written and reports them."""

    def __init__(
        self,
        files: int,
        on_message: Callable[[str], None],
        terminal: bool,
        on_update: Callable[[Progress], None] | None = None,
    ):
        from tqdm import tqdm

        self.files = files
        self.on_message = on_message
        self.terminal = terminal
        self.on_update = on_update
        self.done = 0
        self.chunks = 0
        self.started = time.monotonic()
        self._last_line = self.started
        self._step = max(1, files // 10)
        self._bar = tqdm(
            total=files, unit="file", desc="indexing", disable=not terminal or not files
        )

    def advance(self, files: int, chunks: int) -> None:
        """``files`` more files written, holding ``chunks`` chunks."""
        before = self.done
        self.done += files
        self.chunks += chunks
        if self.on_update is not None:
            self.on_update(self)
        if self.terminal:
            self._bar.set_postfix_str(f"{self.chunks} chunks, {self.rate():.1f} chunks/s")
            self._bar.update(files)
            return
        now = time.monotonic()
        crossed = self.done // self._step > before // self._step
        if self.files >= PLAIN_MIN_FILES and (crossed or now - self._last_line >= PLAIN_EVERY_S):
            self._last_line = now
            self.on_message(self.line())

    def rate(self) -> float:
        """Chunks written per second so far."""
        return self.chunks / max(time.monotonic() - self.started, 1e-6)

    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far (None before the first file)."""
        if not self.done:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.done * (self.files - self.done)

    def fraction(self) -> float:
        """Share of the files done, 0..1."""
        return self.done / self.files if self.files else 1.0

    def line(self) -> str:
        """``indexing: 120/300 files, 480 chunks, 29.1 chunks/s, about 12 s left``."""
        eta = self.eta_seconds()
        left = "" if eta is None else f", about {_duration(eta)} left"
        return (
            f"indexing: {self.done}/{self.files} files, {self.chunks} chunks, "
            f"{self.rate():.1f} chunks/s{left}"
        )

    def close(self) -> None:
        """End the bar."""
        self._bar.close()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 90:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
