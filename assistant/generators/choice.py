"""Which generator answers: one by name, or the ``auto`` policy over the configured backends.

``GeneratorChoice`` is built by the wiring module from the generator registry. It creates each
backend once per model, on first use, and answers the two questions the rest of the code asks:
``resolve`` (who answers this question, and the notice to show if ``auto`` fell back) and
``describe`` (the same decision for the UI's status line). ``auto`` tries the
backends in ``auto_order`` whose probe succeeds (probes are cached for ``probe_seconds``) and
falls back to the last one, the extractive answerer, saying why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from assistant.generators.base import Generator
from index.errors import RagError

AUTO = "auto"
# How long an `auto` decision about a backend is reused before it is asked again.
PROBE_SECONDS = 30.0

GeneratorFactory = Callable[[str | None], Generator]


@dataclass(frozen=True)
class EngineStatus:
    """What ``describe`` says: the generator that will answer, whether ``auto`` chose it or
    fell back to the extractive answerer, and a notice for the user when something is wrong."""

    generator: str
    auto: bool = False
    fell_back: bool = False
    notice: str | None = None


class UnknownGenerator(RagError):
    """The generator name is not in the registry."""


class GeneratorChoice:
    """Generators by name (``names``), created lazily, plus the ``auto`` policy."""

    def __init__(
        self,
        factories: Mapping[str, GeneratorFactory],
        *,
        auto_order: Sequence[str],
        default: str = AUTO,
        probe_seconds: float = PROBE_SECONDS,
    ):
        """``factories`` map a name to ``factory(model)``; ``auto_order`` ends with the fallback."""
        if not auto_order or any(name not in factories for name in auto_order):
            raise ValueError(f"auto_order {auto_order!r} must name registered generators")
        self._factories = dict(factories)
        self.auto_order = tuple(auto_order)
        self.default = default
        self.probe_seconds = probe_seconds
        self._made: dict[tuple[str, str | None], Generator] = {}
        self._probes: dict[tuple[str, str | None], tuple[float, bool, str]] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a caller may ask for: the registered backends and ``auto``."""
        return (AUTO, *self._factories)

    @property
    def fallback(self) -> str:
        """The backend ``auto`` falls back to (it needs nothing outside this process)."""
        return self.auto_order[-1]

    def get(self, name: str, model: str | None = None) -> Generator:
        """The backend ``name`` (for ``model`` when it takes one), created on first use."""
        if name not in self._factories:
            raise UnknownGenerator(
                f"unknown generator '{name}'; use one of {', '.join(self.names)}"
            )
        key = (name, model)
        with self._lock:
            if key not in self._made:
                self._made[key] = self._factories[name](model)
            return self._made[key]

    def probe(self, name: str, model: str | None = None) -> tuple[bool, str]:
        """Whether backend ``name`` can answer now, and why not (cached ``probe_seconds``)."""
        now = time.monotonic()
        cached = self._probes.get((name, model))
        if cached and now - cached[0] < self.probe_seconds:
            return cached[1], cached[2]
        ok, reason = self.get(name, model).probe()
        self._probes[(name, model)] = (now, ok, reason)
        return ok, reason

    def resolve(self, name: str | None, model: str | None = None) -> tuple[Generator, str | None]:
        """The generator that answers, and a notice when ``auto`` had to fall back."""
        name = name or self.default
        if name != AUTO:
            return self.get(name, model), None
        reasons = []
        for candidate in self.auto_order[:-1]:
            # A backend the user has not set up (no server URL, no model file) is skipped
            # silently; one that is set up but failing is named in the notice.
            if getattr(self.get(candidate, model), "configured", True) is False:
                continue
            ok, reason = self.probe(candidate, model)
            if ok:
                if not reasons:
                    return self.get(candidate, model), None
                return self.get(candidate, model), (
                    f"Answered by {reason} because " + "; ".join(reasons)
                )
            reasons.append(reason)
        notice = f"Answered by the {self.fallback} generator: " + "; ".join(reasons)
        return self.get(self.fallback, model), notice

    def describe(self, name: str | None, model: str | None = None) -> EngineStatus:
        """Who will answer with these settings, for a status line (probes, never generates)."""
        name = name or self.default
        if name == AUTO:
            chosen, notice = self.resolve(AUTO, model)
            fell_back = chosen is self.get(self.fallback, model)
            why = notice.split(": ", 1)[-1] if notice else ""
            return EngineStatus(
                chosen.name,
                auto=True,
                fell_back=fell_back,
                notice=(
                    f"No model is available, so answers come from the {self.fallback} "
                    f"generator: {why}"
                )
                if fell_back
                else notice,
            )
        generator = self.get(name, model)
        if name == self.fallback:
            return EngineStatus(generator.name)
        ok, reason = self.probe(name, model)
        notice = None if ok else f"{name} is not available, so questions will fail: {reason}"
        return EngineStatus(generator.name, notice=notice)

    def models(self, name: str) -> list[str]:
        """Models backend ``name`` offers (empty when it cannot be reached)."""
        return self.get(name).models()
