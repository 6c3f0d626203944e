"""Sentences about the asked slot or a neighbouring one, on small documents of their own.

"Lantern Quest Syndicate" is not "Lantern Quest": its director does not answer for the film,
nor disagree with the film's; directors named before a cast list cut off after "starring" are
no answer to who is starring; a port "coming to PC" is no release date disagreeing with the
release; a page's publication date is no release date when another source states the release
with a full date, and "the game" of a page about its DLC does not disagree with it; "the 90th
Harbor Film Awards" names the asked "90th Harbor Film Awards Ceremony"; "Vantor. Runner-up."
names the runner-up though "Vantor" opens the text; "Who is the director of X?" needs a
sentence about X saying "director" (or "directed").
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from conftest import extractive_over

from assistant import Assistant
from assistant.answer_rules import frame, violations
from assistant.answer_slots import (
    about_another_thing,
    asked_role,
    fact_value,
    holds_role,
    limited_to,
    role_unsaid,
    slot_cut,
)
from index.lexical import tokenize

DOCS = {
    # The asked work's name extended into another one's, with a director of its own.
    "syndicate.txt": "Mara Quill, creative director of the Lantern Quest Syndicate movie ...",
    "film.txt": (
        "Films based on games are often derided, but Lantern Quest is the boldest film yet "
        "from the Danish director Oskar Brandt."
    ),
    # A soundtrack of an edition with a longer name, and the game's own release.
    "soundtrack.txt": (
        "A second soundtrack album for Harbor Tales: Deluxe Edition was released on 2 August 2023."
    ),
    "store.txt": "Digital. Harbor Tales. Release date. December 1, 2017 ...",
    # "The game" of a page about the expansion: its date is no rival release date.
    "expansion.txt": (
        "The game was released on September 14, 2018. It was available as part of the Harbor "
        "Tales DLC season pass."
    ),
    # A cast list cut off after "starring", and the star named elsewhere.
    "premiere.txt": (
        "So when Acme presented “Tidewater,” a movie about a sailor ... the movie, directed "
        "by Ana Lind and Bo Ekholm and starring ..."
    ),
    "still.txt": "A still from the Tidewater film, starring Cora Vale as the sailor.",
    # A release and a later port to one platform.
    "launch.txt": "Fans the world over, Stormhold is launching on 20th April 2018.",
    "port.txt": "We're glad to announce that Stormhold will be coming to PC on January 14, 2022!",
    # The ceremony named without its last word.
    "awards.txt": (
        "Mar 5, 2018 ... Big wins for The Tide Line, which won best picture at the 90th Harbor "
        "Film Awards."
    ),
    # A fact box whose one-word value opens it, and a sentence naming players of the winner.
    "ridge.txt": "2014 Ridge Cup. Teams. Vantor. Runner-up. 9. Goals. 12.",
    "lumia.txt": (
        "Having scored for Lumia in the semi-final, Oskar Brandt helped Lumia add the 2014 "
        "Ridge Cup to ..."
    ),
    # Names near the asked film, none said to direct it; a film "directed by" someone.
    "rewatch.txt": "I'm rewatching Harbor Lights with Tom Reyes and Ana Lind tonight.",
    "tidewater.txt": "Tidewater, directed by Oskar Brandt, opened in May.",
    "gala.txt": "Every spring the gala ceremony draws a crowd to the old harbor.",
    # A fan page whose only date is its publication date.
    "fans.txt": (
        "Oct 6, 2021 ... This community is for fans of Harbor Tales, sharing rare quotes "
        "released in Harbor Tales."
    ),
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, embedder) -> Assistant:
    """An extractive assistant over DOCS."""
    return extractive_over(tmp_path_factory.mktemp("subject"), DOCS, embedder)


def test_the_director_of_a_longer_named_work_is_no_answer_nor_conflict(small: Assistant) -> None:
    answer = small.ask("Who is the director of the Lantern Quest movie?")
    assert "Oskar Brandt" in answer.text, answer.text
    assert "Mara Quill" not in answer.text and "disagree" not in answer.text, answer.text


def test_a_full_release_date_beats_a_dateline_and_another_edition(small: Assistant) -> None:
    answer = small.ask("When was Harbor Tales released?")
    assert "December 1, 2017" in answer.text, answer.text
    assert "2023" not in answer.text and "Oct 6, 2021" not in answer.text, answer.text
    assert "disagree" not in answer.text and "2018" not in answer.text, answer.text


def test_names_before_a_cut_off_role_do_not_fill_it(small: Assistant) -> None:
    answer = small.ask('Who is starring as the sailor in the movie "Tidewater"?')
    assert "Cora Vale" in answer.text and "Ana Lind" not in answer.text, answer.text
    directed = frame("Who directed Tidewater?")
    assert slot_cut(directed, "The movie, a hit, was directed by ...")
    assert not slot_cut(directed, "Ana Lind directed the movie ...")
    won = frame("Who won the women's singles title in 2019?")
    assert not slot_cut(won, "Halep beat Williams to win the 2019 title in women's singles ...")


def test_a_port_to_one_platform_is_no_disagreeing_release(small: Assistant) -> None:
    answer = small.ask("What is the release date of Stormhold?")
    assert "20th April 2018" in answer.text, answer.text
    assert "disagree" not in answer.text and "2022" not in answer.text, answer.text
    asked = q("When was Stormhold released on PC?")
    assert limited_to(q("When was Stormhold released?"), "It comes to PC on May 2.") == ["PC"]
    assert limited_to(asked, "It comes to PC on May 2, in the US.") == ["US"]
    assert limited_to(asked, "It launched on 20th April in the morning.") == []


def test_a_long_name_may_lack_its_last_word(small: Assistant) -> None:
    answer = small.ask("Which movie won Best Picture at the 90th Harbor Film Awards Ceremony?")
    assert not answer.abstained and "The Tide Line" in answer.text, answer.text
    ceremony = frame("Which movie won Best Picture at the 90th Harbor Film Awards Ceremony?")
    assert not violations(ceremony, "It won best picture at the 90th Harbor Film Awards.")
    supporting = frame("Who won Best Supporting Actor at the Harbor Film Awards?")
    assert violations(supporting, "Ann Lee won Best Actor at the Harbor Film Awards.")
    assert not violations(supporting, "Ann Lee won Supporting Actor at the Harbor Film Awards.")


def test_a_fact_box_label_of_the_asked_role_gives_its_one_word_value(small: Assistant) -> None:
    answer = small.ask("Who was the runner-up of the 2014 Ridge Cup?")
    assert "Vantor. Runner-up." in answer.text, answer.text
    runner_up = frame("Who was the runner-up of the 2014 Ridge Cup?")
    assert fact_value(runner_up, "Runner-up. Vantor.") == "Vantor"
    assert fact_value(runner_up, "Runner-up. 9.") is None
    assert fact_value(runner_up, "Goals. Vantor.") is None
    assert fact_value(frame("When was the Ridge Cup final?"), "Vantor. Runner-up.") is None


def test_a_who_is_the_role_question_needs_a_sentence_saying_the_role(small: Assistant) -> None:
    assert small.ask("Who is the director of the Harbor Lights movie?").abstained
    assert "Oskar Brandt" in small.ask("Who is the director of Tidewater?").text
    assert asked_role("Who was the runner-up of the Cup?") == ("runne", "up")
    assert asked_role("Who directed Tidewater?") == ()
    assert holds_role(("direc",), "Tidewater, directed by Oskar Brandt.")
    assert not holds_role(("runne", "up"), "They set up a new team.")
    # No source says "winner": the sources may say "won", so no verdict.
    won = [SimpleNamespace(text="Ana Lind won the Harbor Prize.")]
    winner = "Who is the winner of the Harbor Prize?"
    assert not role_unsaid(winner, frame(winner), won, won)
    other = [SimpleNamespace(text="Tom Reyes was last year's winner of the Tide Prize.")]
    assert role_unsaid(winner, frame(winner), won, won + other)


def q(question: str) -> frozenset[str]:
    return frozenset(tokenize(question))


def test_about_another_thing_reads_name_extensions() -> None:
    asked = q("Who directed Lantern Quest?")
    assert about_another_thing(asked, "The director of Lantern Quest Syndicate spoke.")
    assert about_another_thing(asked, "The music of Lantern Quest: Deluxe Edition is out.")
    assert about_another_thing(asked, "New modes came to Lantern Quest: ...")
    # One plain mention is enough; a comma ends a name; a sentence without the name is unknown.
    assert not about_another_thing(asked, "Lantern Quest and Lantern Quest Syndicate are out.")
    assert not about_another_thing(asked, "Among games like Lantern Quest, Tide Run sold best.")
    assert not about_another_thing(asked, "The game was directed by Oskar Brandt.")
    # Lower-case words after the name, words the question has, or the head word of an
    # event's full name keep it the same thing.
    assert not about_another_thing(
        q("Who won the 2019 Wimbledon women's final?"),
        "Halep won the 2019 Wimbledon Championships.",
    )
    assert not about_another_thing(asked, "Lantern Quest director Oskar Brandt spoke.")
    assert not about_another_thing(q("When was Pixel 6 Pro announced?"), "Pixel 6 Pro is out.")
    # A word where the question's longer name goes on is that name in other words.
    film = frame("Which film won the Oscar for Best Animated Film?")
    feature = "Tidewater won the Oscar for Best Animated Feature."
    assert not about_another_thing(film.tokens, feature, film.phrases)
    assert about_another_thing(film.tokens, feature)
