"""Three stages that overlap: produce in a thread, transform in the caller's thread, consume in a
thread, joined by bounded queues.

Indexing uses it so the model never waits: the next files are read, cleaned and chunked while
the current batch is embedded (onnxruntime releases the GIL), and the previous batch is written
to the store meanwhile. Each queue holds at most ``depth`` items, so memory stays flat whatever
the folder's size. Items are consumed in the order produced.

Stopping: when ``cancel`` is set (or Ctrl-C reaches the caller's thread) the producer stops
after its current item, nothing new is transformed, and everything already transformed is
still consumed, so the consumer's side (the store and the manifest) ends consistent. An error
in any stage stops the others the same way and is raised in the caller's thread.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

A = TypeVar("A")
B = TypeVar("B")
_END = object()
# How much lower the side stages' CPU priority is than the transform's (Unix nice steps): on a
# busy machine the cores go to the model first, and reading and writing fill its idle moments.
SIDE_STAGE_NICENESS = 10


class Stages(Generic[A, B]):
    """``produce() -> A...``, ``transform(A) -> B`` here, ``consume(B)`` in a thread."""

    def __init__(
        self,
        produce: Callable[[threading.Event], Iterable[A]],
        transform: Callable[[A], B],
        consume: Callable[[B], None],
        depth: int = 2,
        cancel: threading.Event | None = None,
        niceness: int = SIDE_STAGE_NICENESS,
    ):
        """``produce(stop)`` should check ``stop`` between items and end early when it is set.

        The producer and consumer threads run ``niceness`` steps below the caller's priority
        (where the system allows it), so the transform gets the cores when they are scarce.
        """
        self._niceness = niceness
        self._produce = produce
        self._transform = transform
        self._consume = consume
        self._depth = depth
        self.cancel = cancel or threading.Event()
        self.cancelled = False

    def run(self) -> bool:
        """Run to the end (True) or until cancelled (False); raises the first stage error."""
        stop = threading.Event()
        ready: queue.Queue = queue.Queue(maxsize=self._depth)
        done: queue.Queue = queue.Queue(maxsize=self._depth)
        errors: list[BaseException] = []

        def producer() -> None:
            _lower_priority(self._niceness)
            try:
                for item in self._produce(stop):
                    ready.put(item)
                    if stop.is_set():
                        break
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                errors.append(exc)
                stop.set()
            finally:
                ready.put(_END)

        def consumer() -> None:
            _lower_priority(self._niceness)
            for item in _until_end(done):
                if errors:
                    continue  # keep draining so the caller never blocks on a full queue
                try:
                    self._consume(item)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    errors.append(exc)
                    stop.set()

        threads = [
            threading.Thread(target=producer, name="index-load", daemon=True),
            threading.Thread(target=consumer, name="index-write", daemon=True),
        ]
        for thread in threads:
            thread.start()
        ended = False
        try:
            while (item := ready.get()) is not _END:
                if self.cancel.is_set() and not stop.is_set():
                    self.cancelled = True
                    stop.set()
                if stop.is_set():
                    continue  # drain what the producer already made; transform nothing new
                done.put(self._transform(item))
            ended = True
        except KeyboardInterrupt:
            self.cancelled = True
            stop.set()
            while not ended and ready.get() is not _END:
                pass
        finally:
            done.put(_END)
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
        return not self.cancelled


def _lower_priority(steps: int) -> None:
    """Lower the calling thread's CPU priority (Linux: a thread's nice value is its own)."""
    if steps <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + steps)
    except OSError:
        pass  # not permitted here: the stages still run, only without the hint


def _until_end(source: queue.Queue) -> Iterator:
    while (item := source.get()) is not _END:
        yield item
