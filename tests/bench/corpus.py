"""Synthetic corpora built from the seeds, marked as synthetic in every file and text.

- ``write_articles``: whole articles, each a seed's cleaned paragraphs in a shuffled order
  under a "Synthetic article N" title, for indexing throughput.
- ``write_notes``: many small files of a few sentences, for the no-change re-index.
- ``fill_store``: a collection of random unit vectors with texts of seed words, for retrieval
  at scale (the vector store does not care what the text says).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np

from assistant.settings import Settings
from assistant.wiring import build_lexical, build_store
from index.cleaning import clean_text
from index.documents import Chunk
from index.sentences import split_sentences

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def seed_paragraphs() -> list[list[str]]:
    """The cleaned paragraphs of each seed article."""
    articles = []
    for path in sorted(SEEDS.iterdir()):
        text = clean_text(path.read_text(encoding="utf-8")).text
        articles.append([p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()])
    return articles


def write_articles(folder: Path, count: int, seed: int = 7) -> Path:
    """``count`` synthetic articles in ``folder`` (about five chunks each)."""
    rng = random.Random(seed)
    articles = seed_paragraphs()
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        paragraphs = list(articles[number % len(articles)])
        rng.shuffle(paragraphs)
        body = "\n\n".join(paragraphs)
        title = f"Synthetic article {number} (seed paragraphs, shuffled)"
        (folder / f"synthetic-{number:05d}.txt").write_text(f"{title}\n\n{body}\n")
    return folder


def write_notes(folder: Path, count: int, seed: int = 11) -> Path:
    """``count`` small synthetic files of two to four seed sentences each."""
    rng = random.Random(seed)
    sentences = [s for article in seed_paragraphs() for p in article for s in split_sentences(p)]
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        picked = rng.sample(sentences, rng.randint(2, 4))
        (folder / f"note-{number:05d}.txt").write_text(
            f"Synthetic note {number}\n\n" + " ".join(picked) + "\n"
        )
    return folder


def seed_vocabulary() -> list[str]:
    """Every word of the seeds (with repeats, so common words stay common)."""
    words = []
    for article in seed_paragraphs():
        for paragraph in article:
            words += re.findall(r"[A-Za-z][A-Za-z'-]+", paragraph)
    return words


def fill_store(settings: Settings, embedder_name: str, dimension: int, count: int) -> None:
    """A collection of ``count`` random unit vectors with 40-word synthetic texts, plus BM25."""
    rng = np.random.default_rng(3)
    words = np.array(seed_vocabulary())
    store = build_store(settings)
    store.open(embedder_name, dimension, create=True)
    step = 5000
    for first in range(0, count, step):
        n = min(step, count - first)
        vectors = rng.standard_normal((n, dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        texts = [" ".join(rng.choice(words, 40)) for _ in range(n)]
        chunks = [
            Chunk(
                id=f"synthetic-{first + i:07d}",
                key=f"synthetic-{(first + i) // 10:06d}",
                source=f"synthetic-{(first + i) // 10:06d}.txt",
                text=text,
                start=0,
                end=len(text),
                position=(first + i) % 10,
                content_hash="synthetic",
            )
            for i, text in enumerate(texts)
        ]
        store.upsert(chunks, vectors)
    build_lexical(settings, store).rebuild(store.bump_generation())
