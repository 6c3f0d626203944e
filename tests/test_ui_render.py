"""Rendering answers, sources, status and documents: pure functions, no browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from assistant import (
    Answer,
    Citation,
    DocumentInfo,
    IndexStatus,
    ReasoningDelta,
    RetrievedChunk,
    TextDelta,
    Turn,
)
from assistant.types import Timings
from ui import render
from ui.examples import example_questions, names_in

PASSAGE = (
    "Beijing – A new wave of talent acquisition is sweeping through China. "
    "As reported by Red Star News, AI expert Luo Fuli has officially joined Xiaomi. "
    "ByteDance has poached Wu Yonghui from Google DeepMind."
)
QUOTE = "As reported by Red Star News, AI expert Luo Fuli has officially joined Xiaomi."
HOSTILE = (
    '<script>alert(1)</script><img src=x onerror="alert(2)"> & ![i](http://evil.example/i.png)'
)


def chunk(chunk_id: str = "c1", text: str = PASSAGE, start: int = 1000, **kw) -> RetrievedChunk:
    fields = {"source": "002_news.txt", "title": "Talent war", "score": 0.03, **kw}
    return RetrievedChunk(chunk_id, text=text, start=start, end=start + len(text), **fields)


def citation(n: int = 1, quote: str = QUOTE, chunk_id: str = "c1", offset: int = 1000) -> Citation:
    start = offset + PASSAGE.index(quote) if quote in PASSAGE else offset
    return Citation(n, chunk_id, "002_news.txt", "Talent war", quote, start, start + len(quote))


def answer(**kw) -> Answer:
    fields = {
        "question": "Which company did Luo Fuli join?",
        "text": QUOTE + " [1]",
        "abstained": False,
        "grounded": True,
        "generator": "extractive",
        "citations": (citation(),),
        "retrieved": (chunk(), chunk("c2", "Another passage about something else.", 0)),
        "timings": Timings(retrieve=12.0, generate=30.0, total=45.0),
        **kw,
    }
    return Answer(**fields)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


# -- chat text ----------------------------------------------------------------------------------


def test_chat_markdown_keeps_plain_answers_and_markers_verbatim() -> None:
    text = "Luo Fuli joined Xiaomi [1], says **Red Star News** [2][3]."
    assert render.chat_markdown(text) == text


@pytest.mark.parametrize(
    "given",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "![x](http://evil.example/x.png)",
        "[click](http://evil.example/)",
        "<http://evil.example/>",
        "[1]: http://evil.example/x.png\n\n![1]",
        "![x][1] [1][1]\n\n[1]: http://evil.example/x.png",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ],
)
def test_chat_markdown_neutralises_html_images_and_links(given: str) -> None:
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").render(render.chat_markdown(given))
    assert not {"script", "img", "a"} & set(tags(rendered).tags), rendered
    assert "<script" not in rendered


def test_thinking_is_a_separate_collapsed_message() -> None:
    message = render.thinking_message("Let me <b>think</b>", done=True)
    assert message["metadata"] == {"title": "Reasoning", "status": "done"}
    pending = render.thinking_message("hm", done=False)
    assert pending["metadata"] == {"title": "Thinking…", "status": "pending"}
    assert "<b>" not in message["content"]


# -- sources ------------------------------------------------------------------------------------


def test_quote_is_highlighted_inside_its_context() -> None:
    html = render.sources_html(answer())
    assert f"<mark>{QUOTE}</mark>" in html
    assert "sweeping through China" in html and "Wu Yonghui" in html  # the surrounding context
    assert "002_news.txt" in html and "Talent war" in html
    assert 'data-n="1"' in html


def test_uncited_passages_are_collapsed_and_secondary() -> None:
    html = render.sources_html(answer())
    cited, _, others = html.partition("<details")
    assert "Another passage" not in cited
    assert "Another passage" in others and "not cited" in others
    assert "<details open" not in html


def test_citations_sharing_a_number_form_one_card_with_two_highlights() -> None:
    second = "ByteDance has poached Wu Yonghui from Google DeepMind."
    html = render.sources_html(answer(citations=(citation(), citation(quote=second))))
    assert html.count("rag-cited") == 1
    assert html.count("<mark>") == 2


def test_offsets_that_do_not_match_fall_back_to_finding_the_quote() -> None:
    shifted = citation(offset=5)  # document offsets from a different chunk
    html = render.sources_html(answer(citations=(shifted,)))
    assert f"<mark>{QUOTE}</mark>" in html


def test_a_citation_of_an_unknown_chunk_still_shows_its_quote() -> None:
    html = render.sources_html(answer(citations=(citation(chunk_id="gone"),)))
    assert f"<mark>{QUOTE}</mark>" in html


def test_document_markup_in_sources_is_escaped() -> None:
    text = f"Intro. {HOSTILE} Outro."
    hostile_chunk = chunk(text=text, source="<b>evil</b>.txt", title="<i>t</i>")
    quote = Citation(1, "c1", "<b>evil</b>.txt", "<i>t</i>", HOSTILE, 1007, 1007 + len(HOSTILE))
    html = render.sources_html(answer(citations=(quote,), retrieved=(hostile_chunk,)))
    parsed = tags(html)
    assert not {"script", "img", "b", "i"} & set(parsed.tags)
    assert "onerror" not in parsed.attrs
    assert "&lt;script&gt;" in html and "&lt;b&gt;evil&lt;/b&gt;.txt" in html


def test_abstained_answer_says_nothing_was_cited() -> None:
    html = render.sources_html(answer(citations=(), abstained=True, grounded=False))
    assert "No passage was cited" in html and "do not hold it" in html


def test_quote_segments_cut_long_passages_with_ellipses() -> None:
    text = "word " * 200 + "THE QUOTE" + " word" * 200
    start = text.index("THE QUOTE")
    segments = render.quote_segments(text, [(start, start + 9)], context=50)
    joined = "".join(piece for piece, _ in segments)
    assert segments[0] == ("…", False) and segments[-1] == ("…", False)
    assert ("THE QUOTE", True) in segments
    assert len(joined) < 200


def test_quote_segments_merge_overlaps_and_ignore_empty_spans() -> None:
    segments = render.quote_segments("abcdefghij", [(2, 5), (4, 7), (9, 9)])
    assert segments == [("ab", False), ("cdefg", True), ("hij", False)]


# -- status -------------------------------------------------------------------------------------


def test_status_shows_generator_index_embedder_and_timings() -> None:
    view = render.StatusView(
        IndexStatus(5, 26, "all-MiniLM-L6-v2"), engine="extractive", answer=answer()
    )
    text = re.sub(r"<[^>]+>", " ", render.status_html(view))
    for expected in (
        "5 documents",
        "26 chunks",
        "all-MiniLM-L6-v2",
        "extractive",
        "retrieval 12 ms",
        "generation 30 ms",
        "total 45 ms",
        "1 source cited",
    ):
        assert expected in text


def test_status_shows_the_fallback_notice_plainly() -> None:
    notice = "Answered by the extractive generator: cannot reach the Ollama server at <host>"
    html = render.status_html(render.StatusView(answer=answer(notice=notice)))
    assert "rag-notice" in html and "cannot reach the Ollama server at &lt;host&gt;" in html


def test_status_names_the_ollama_model_that_answered() -> None:
    html = render.status_html(render.StatusView(answer=answer(generator="ollama:qwen3:4b")))
    assert "Answered by Ollama qwen3:4b" in html


# -- documents ----------------------------------------------------------------------------------


def test_documents_table_lists_chunk_counts_escaped() -> None:
    docs = [DocumentInfo("a.txt", None, 3, "/d/a.txt"), DocumentInfo("<b>.md", "T", 4, "/d/b")]
    html = render.documents_html(docs)
    assert "a.txt" in html and "&lt;b&gt;.md" in html and ">7<" in html
    assert "b" not in tags(html).tags


class _Report:
    added = ["new.txt"]
    changed: list[str] = []
    removed: list[str] = []
    skipped = [("broken.pdf", "unparseable PDF")]
    unsupported = ["x.exe"]

    def summary(self) -> str:
        return "1 added; 3 chunks"


def test_index_report_lists_added_skipped_and_rejected_files() -> None:
    html = render.index_report_html(_Report(), [("../../etc/passwd", "unsupported")], "Done")
    for expected in (
        "Done",
        "Added: new.txt",
        "broken.pdf",
        "unparseable PDF",
        "x.exe",
        "../../etc/passwd",
        "1 added; 3 chunks",
    ):
        assert expected in html


# -- examples -----------------------------------------------------------------------------------


def test_names_skip_sentence_starts_and_keep_multiword_names() -> None:
    names = names_in("The Bureau of Labor Statistics says so. In Beijing, DeepSeek hired Luo Fuli.")
    assert {"Bureau of Labor Statistics", "DeepSeek", "Luo Fuli"} <= set(names)
    assert "The Bureau of Labor Statistics" not in names and "In Beijing" not in names


def test_example_questions_cover_different_documents() -> None:
    docs = [DocumentInfo("a.txt", None, 1, "/a"), DocumentInfo("b.txt", "Only A Title", 1, "/b")]
    texts = {"a.txt": ["Luo Fuli met Lei Jun. Luo Fuli joined Xiaomi. Lei Jun smiled."]}
    questions = example_questions(docs, texts, limit=3)
    assert questions[0] == "What do the documents say about Lei Jun?"
    assert "What do the documents say about “Only A Title”?" in questions
    assert len(questions) == 3
    assert example_questions([], {}) == []


# -- the chat callback, with a stand-in assistant -----------------------------------------------


class _ThinkingAssistant:
    """Streams reasoning, then text, then the Answer, like a thinking model would."""

    def __init__(self) -> None:
        self.histories: list[list[Turn]] = []
        from assistant import load_settings

        self.settings = load_settings(overrides={"generator.name": "extractive"})
        self.library = _FakeLibrary()
        self.generators = _FakeChoice()

    def stream(self, question, history=(), **options):
        self.histories.append(list(history))
        yield ReasoningDelta("The user asks <about> Luo Fuli.")
        yield TextDelta(QUOTE)
        yield TextDelta(" [1]")
        yield answer(reasoning="The user asks <about> Luo Fuli.", question=question)

        self.library = _FakeLibrary()
        self.generators = _FakeChoice()


class _FakeLibrary:
    def status(self) -> IndexStatus:
        return IndexStatus(1, 3, "mini")


class _FakeChoice:
    """Ollama unreachable: ``auto`` falls back to the extractive generator."""

    def describe(self, name, model=None):
        from assistant.generators.choice import EngineStatus

        reason = "cannot reach the Ollama server at http://127.0.0.1:9"
        if name == "extractive":
            return EngineStatus("extractive")
        notice = f"No model is available, so answers come from the extractive generator: {reason}"
        return EngineStatus("extractive", auto=True, fell_back=True, notice=notice)


def test_respond_streams_keeps_reasoning_apart_and_sends_history() -> None:
    from ui import chat

    fake = _ThinkingAssistant()
    args = ("extractive", "m", "hybrid", 5)
    updates = list(chat.respond(fake, "Which company?", chat.Session(), *args))
    messages, sources, status, session, box = updates[-1]
    assert [m["role"] for m in messages] == ["user", "assistant", "assistant"]
    thinking, final = messages[1], messages[2]
    assert thinking["metadata"]["title"] == "Reasoning"  # "Thinking…" only while it thinks
    assert updates[1][0][1]["metadata"]["title"] == "Thinking…"
    assert "The user asks" in thinking["content"] and "<about>" not in thinking["content"]
    assert final["content"] == QUOTE + " [1]"  # the reasoning never reaches the answer
    assert "002_news.txt" in sources and box == ""
    assert len(updates) >= 4  # question shown, reasoning, text deltas, final
    assert session.turns == (Turn("user", "Which company?"), Turn("assistant", QUOTE + " [1]"))

    list(chat.respond(fake, "And then?", session, *args))
    assert fake.histories[-1] == list(session.turns)


def test_respond_shows_user_errors_in_the_page() -> None:
    from index.errors import RagError
    from ui import chat

    class Failing(_ThinkingAssistant):
        def stream(self, question, history=(), **options):
            raise RagError("the question is empty; type a question about your documents")
            yield  # pragma: no cover

    *_, (messages, sources, status, session, _) = chat.respond(
        Failing(), "?", chat.Session(), "auto", "m", "hybrid", 5
    )
    assert "Could not answer" in messages[-1]["content"]
    assert "type a question" in status and "rag-error" in status
    assert "cannot reach the Ollama server" in status  # auto: the notice is on the page
    assert session.turns == ()


def test_sources_panel_shows_where_in_the_file_each_passage_is() -> None:
    from dataclasses import replace

    located = replace(citation(), source="deck.pptx", location="slide 7", page=7)
    other = chunk(
        "c2", "Another passage about something else.", 0, location="sheet Sales, rows 2-40"
    )
    html_text = render.sources_html(answer(citations=(located,), retrieved=(chunk(), other)))
    assert '<span class="rag-file">deck.pptx</span>, <span class="rag-location">slide 7</span>' in (
        html_text
    )
    assert '<span class="rag-location">sheet Sales, rows 2-40</span>' in html_text
    assert "rag-location" not in render.sources_html(answer())  # no location, nothing shown


def test_an_unsupported_citation_and_a_low_grounded_share_are_shown() -> None:
    from dataclasses import replace as _replace

    from assistant.types import Answer, Citation, RetrievedChunk
    from ui.render import sources_html

    chunk = RetrievedChunk("c#0", "luo.md", None, "Luo Fuli joined Xiaomi.", 0, 23, 0.9)
    cited = Citation(1, "c#0", "luo.md", None, "Luo Fuli joined Xiaomi.", 0, 23, supported=False)
    answer = Answer(
        question="q",
        text="Luo Fuli founded Google [1].",
        abstained=False,
        grounded=False,
        generator="llamacpp",
        citations=(cited,),
        retrieved=(chunk,),
        grounded_share=0.0,
    )

    assert "not supported by this passage" in sources_html(answer)
    assert "Only 0% of the cited claims" in render.status_html(render.StatusView(answer=answer))
    assert "not supported" not in sources_html(
        _replace(answer, citations=(_replace(cited, supported=True),))
    )
