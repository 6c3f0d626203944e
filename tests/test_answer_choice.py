"""Which sentence the offline answerer quotes, on small documents of its own (real embedder).

The more complete of two agreeing sentences, a dateline read with an undated statement of the
asked event, a fact-box label read with its value, a statement the asked year dates itself, a
camel-case name opening a sentence, the asked company with a suffix ("the X Group") as no
answer to "who", and the reranker's year agreement.
"""

from __future__ import annotations

import pytest
from conftest import extractive_over

from assistant import Assistant
from assistant.answer_rules import answer_kind, frame, unquotable
from assistant.reranking import SignalReranker, year_share
from assistant.types import RetrievedChunk

DOCS = {
    # The same date twice: once without its year (a closer paraphrase of the question).
    "opening-short.txt": "The Tarn Gallery opened to the public on May 4.",
    "opening-full.txt": (
        "After a long restoration of the old mill, the Tarn Gallery was opened to the public "
        "by the mayor, Ines Moor, on May 4, 1998."
    ),
    # An undated statement of the event under the page's publication date, and a dated
    # statement of something else.
    "rocket.txt": (
        "Oct 19, 2021 ... Acme has officially announced its new Rocket 6 phone. "
        "Sales of the older Rocket 6 Mini began on March 3."
    ),
    # A fact box: the team and its label are separate fragments.
    "cup.txt": "2010 Coastal Cup. Teams. Harbor United. Runner-up. 11. Goals. 24. Yellow Cards.",
    # The asked year in another sentence of the page vs. a statement that year dates.
    "brick-2022.txt": (
        "Mar 1, 2022 ... Niels Holm is the chief executive of the Brick Group. "
        "2021 has been a year of progress."
    ),
    "brick-2021.txt": (
        "Jul 14, 2021 ... Ola Berg, then chief executive of the Brick Group, spoke at the forum."
    ),
    # A camel-case name opening its sentence.
    "hosting.txt": "QuickHost is among the first companies to offer model hosting in Norway.",
    # A sign-off naming the company, not its chief executive.
    "kestrel.txt": "Mar 1, 2022 ... CEO, the Kestrel Group. The year brought progress.",
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, embedder) -> Assistant:
    """An extractive assistant over DOCS."""
    return extractive_over(tmp_path_factory.mktemp("choice"), DOCS, embedder)


def test_the_more_complete_of_two_agreeing_dates_is_quoted(small: Assistant) -> None:
    answer = small.ask("When did the Tarn Gallery open to the public?")
    assert "May 4, 1998" in answer.text, answer.text
    assert answer.citations[0].source == "opening-full.txt"


def test_an_undated_statement_of_the_event_is_dated_by_its_dateline(small: Assistant) -> None:
    answer = small.ask("When was the Rocket 6 phone announced?")
    dated = "Oct 19, 2021 ... Acme has officially announced its new Rocket 6 phone. [1]"
    assert answer.text.startswith(dated), answer.text


def test_a_fact_box_label_is_read_with_its_value(small: Assistant) -> None:
    answer = small.ask("Who was the runner-up of the 2010 Coastal Cup?")
    assert not answer.abstained and "Harbor United. Runner-up." in answer.text, answer.text
    assert answer.citations[0].source == "cup.txt"


def test_the_statement_the_asked_year_dates_is_preferred(small: Assistant) -> None:
    answer = small.ask("Who was the chief executive of the Brick Group in 2021?")
    assert "Ola Berg" in answer.text and "Niels Holm" not in answer.text, answer.text
    assert [c.source for c in answer.citations] == ["brick-2021.txt"]


def test_the_asked_company_with_a_suffix_is_no_answer_to_who(small: Assistant) -> None:
    answer = small.ask("Who is the CEO of Kestrel?")
    assert answer.abstained, answer.text


def test_a_camel_case_name_opening_a_sentence_is_a_name(small: Assistant) -> None:
    answer = small.ask("Which company was among the first to offer model hosting in Norway?")
    assert not answer.abstained and "QuickHost" in answer.text, answer.text
    who = frame("Which company offers hosting?")
    assert answer_kind(who, "Against all odds, hosting is offered.")[0] == 0.0


def test_review_lines_are_page_furniture() -> None:
    assert unquotable("Reviewed in the United States on April 18, 2021.", frozenset())
    assert not unquotable("The panel reviewed in detail the 2021 budget.", frozenset())


def chunk(n: int, text: str, score: float) -> RetrievedChunk:
    return RetrievedChunk(f"id{n}", f"{n}.txt", None, text, 0, len(text), score)


def test_reranker_prefers_the_passage_about_the_asked_year() -> None:
    later = chunk(1, "The 2022 final was won by Argentina: 2022 records fell, unlike 2018.", 0.9)
    asked = chunk(2, "The 2018 final in Moscow was won by France.", 0.87)
    ranked = SignalReranker().rerank("Which team won the final in 2018?", [later, asked])
    assert [c.chunk_id for c in ranked] == ["id2", "id1"]
    assert year_share(frozenset({"2018"}), later.text) == pytest.approx(1 / 3)
    assert year_share(frozenset(), later.text) == 0.0
