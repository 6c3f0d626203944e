"""Property-based tests: chunking any text, and indexing folders of arbitrary bytes."""

from __future__ import annotations

import io
import shutil
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.wiring import build_indexer
from index.chunking import Chunker
from index.cleaning import clean_text
from index.documents import Document
from index.loaders import LOADERS

SUFFIXES = [*sorted(LOADERS), ".bin"]  # every loader, files without a suffix, and unsupported


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=1, max_size=3000), title=st.none() | st.text(max_size=300))
def test_any_text_chunks_within_the_limit_with_exact_spans(embedder, text, title):
    chunker = Chunker(embedder.count_tokens, embedder.max_tokens, chunk_size=120, chunk_overlap=20)
    cleaned = clean_text(text).text
    chunks = chunker.split(Document("k", "k.txt", cleaned, "h", title=title or None))
    for chunk in chunks:
        assert cleaned[chunk.start : chunk.end] == chunk.text
        assert embedder.count_tokens(chunk.embedding_text) <= embedder.max_tokens
    if cleaned.strip():
        assert chunks


def _broken_docx(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", data)
    return buffer.getvalue()


def _zip_parts(parts: dict[str, bytes]) -> bytes:
    """A zip of the given parts: the shape of xlsx, pptx, epub and odt, with arbitrary content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PART_NAMES = ["[Content_Types].xml", "xl/workbook.xml", "ppt/presentation.xml", "mimetype",
              "META-INF/container.xml", "content.xml", "word/document.xml"]  # fmt: skip


files_strategy = st.lists(
    st.tuples(
        st.sampled_from(SUFFIXES),
        st.one_of(
            st.binary(max_size=2000),
            st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.binary(max_size=500).map(lambda b: b"%PDF-1.7\n" + b),
            st.binary(max_size=500).map(_broken_docx),
            st.dictionaries(st.sampled_from(PART_NAMES), st.binary(max_size=300), max_size=4).map(
                _zip_parts
            ),
            st.just(b"x" * 200_000),  # one huge line
        ),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(files=files_strategy)
def test_indexing_arbitrary_files_never_raises_and_reports_every_skip(
    fresh_settings, embedder, files
):
    docs = fresh_settings.docs_dir
    shutil.rmtree(docs, ignore_errors=True)
    docs.mkdir()
    names = []
    for i, (suffix, data) in enumerate(files):
        name = f"f{i}{suffix}"
        (docs / name).write_bytes(data)
        names.append(name)
    report = build_indexer(fresh_settings, embedder=embedder, progress=False).run([docs])
    accounted = (
        set(report.added)
        | set(report.changed)
        | {name for name, _ in report.skipped}
        | set(report.unsupported)
        | {name for name, _ in report.duplicates}  # a copy of another file, indexed once
    )
    unchanged = set(names) - accounted
    assert len(unchanged) == report.unchanged  # every file is accounted for exactly once
    for _, reason in report.skipped:
        assert reason and "\n" not in reason
