"""The claim-level citation check and the echo detection, on hand-made answers."""

from __future__ import annotations

from assistant.grounding import QUOTE_RUN, copied_spans, ground, instruction_text
from assistant.prompts import SYSTEM_PROMPT, build_messages
from assistant.types import RetrievedChunk

QUESTION = "Which company did Luo Fuli join?"
SOURCES = [
    RetrievedChunk(
        "a#0",
        "seeds/luo.md",
        "Luo Fuli",
        "Luo Fuli is an AI researcher. In 2025 she joined Xiaomi to lead its large model team.",
        0,
        86,
        0.9,
    ),
    RetrievedChunk(
        "b#0",
        "seeds/river.md",
        "Rivers",
        "The Danube flows through ten countries before it reaches the Black Sea.",
        0,
        71,
        0.5,
    ),
]


def test_a_supported_claim_and_a_wrongly_cited_one_are_told_apart(embedder) -> None:
    text = "Luo Fuli joined Xiaomi in 2025 [1]. She leads the Danube team at Xiaomi [2]."

    checked = ground(text, QUESTION, SOURCES, embedder=embedder)

    by_n = {c.n: c.supported for c in checked.citations}
    assert by_n == {1: True, 2: False}
    assert checked.share == 0.5
    assert not checked.echoed


def test_a_paraphrase_is_supported_through_the_embedding(embedder) -> None:
    text = "Xiaomi hired Luo Fuli in 2025 to head its large model team [1]."

    lexical_only = ground(text, QUESTION, SOURCES)
    with_meaning = ground(text, QUESTION, SOURCES, embedder=embedder)

    assert with_meaning.citations[0].supported is True
    assert with_meaning.share == 1.0
    assert lexical_only.share is not None


def test_an_answer_without_markers_has_no_share() -> None:
    checked = ground("Luo Fuli joined Xiaomi.", QUESTION, SOURCES)

    assert checked.citations == ()
    assert checked.share is None
    assert not checked.grounded(abstained=False)


def test_an_echoed_prompt_is_ungrounded_and_its_markers_are_not_citations(embedder) -> None:
    messages = build_messages(QUESTION, SOURCES)
    # What a small model did: the rules and the prompt came back, with a marker of its own.
    echo = SYSTEM_PROMPT + "\n" + messages[1]["content"] + " [1] [2]"

    checked = ground(echo, QUESTION, SOURCES, embedder=embedder)

    assert checked.echoed
    assert not checked.grounded(abstained=False)


def test_markers_inside_copied_instruction_text_are_dropped() -> None:
    # Instruction wording with markers inside it (as the old prompt's examples were echoed).
    rules = SYSTEM_PROMPT.split("\n")[3]
    words = rules.split()
    echoed = " ".join(words[:6]) + " [1] " + " ".join(words[6:14]) + "."

    checked = ground(echoed, QUESTION, SOURCES)

    assert checked.citations == ()
    assert checked.dropped == 1
    assert checked.echoed


def test_a_short_quote_is_fine_but_a_copied_source_is_not() -> None:
    long_source = RetrievedChunk(
        "c#0",
        "seeds/long.md",
        None,
        " ".join(f"word{i}" for i in range(QUOTE_RUN + 10)) + ".",
        0,
        400,
        0.4,
    )
    quote = " ".join(f"word{i}" for i in range(10)) + " [1]."
    copy = " ".join(f"word{i}" for i in range(QUOTE_RUN + 5)) + " [1]."

    assert not ground(quote, QUESTION, [long_source]).echoed
    assert ground(copy, QUESTION, [long_source]).echoed


def test_a_source_footnote_copied_with_its_text_is_not_a_citation() -> None:
    source = RetrievedChunk(
        "d#0",
        "seeds/wiki.md",
        None,
        "The bridge was opened to traffic in the spring of 1932 after six years of work [2].",
        0,
        80,
        0.4,
    )
    text = "The bridge was opened to traffic in the spring of 1932 after six years of work [2]."

    checked = ground(text, QUESTION, [source, SOURCES[0]])

    assert checked.citations == ()
    assert checked.dropped == 1


def test_instruction_text_leaves_out_sources_and_question() -> None:
    reference = instruction_text(QUESTION, SOURCES)

    assert "Use only the information in the sources" in reference
    assert "Danube" not in reference
    assert QUESTION not in reference


def test_copied_spans_point_at_the_copied_text() -> None:
    text = "Intro. one two three four five six seven eight nine. Outro."
    spans = copied_spans(text, "zero one two three four five six seven eight nine ten", 8)

    assert [text[s:e] for s, e in spans] == ["one two three four five six seven eight nine"]
