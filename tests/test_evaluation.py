"""Evaluation without an index: question-set validation, grading, metrics, calibration, judge."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ollama_fake import FakeOllama, closed_port_url

from assistant.evaluation import (
    EvalRun,
    QuestionResult,
    citation_precision,
    citation_recall,
    error_result,
    forbidden_found,
    grade,
    missing_groups,
    percentile,
    retrieval_rank,
    summarise,
)
from assistant.evaluation.calibration import calibrate
from assistant.evaluation.judge import judge_prompt, judge_run, parse_verdicts
from assistant.evaluation.questions import (
    Question,
    QuestionSetError,
    load_questions,
    parse_questions,
)
from assistant.generators.base import ABSTAIN_TEXT
from assistant.settings import load_settings
from assistant.types import Answer, Citation, Generation, RetrievedChunk, Timings

SHIPPED = Path(__file__).parent / "eval" / "questions.jsonl"


def chunk(source: str, text: str = "Some passage text.") -> RetrievedChunk:
    return RetrievedChunk(f"{source}#0", source, None, text, 0, len(text), 0.5)


def answer(
    text: str = "Paris is the capital [1].",
    cited: Sequence[str] = ("a.txt",),
    retrieved: Sequence[str] = ("a.txt",),
    abstained: bool = False,
    total_ms: float = 100.0,
) -> Answer:
    citations = tuple(Citation(i + 1, f"{s}#0", s, None, "q", 0, 1) for i, s in enumerate(cited))
    return Answer(
        question="q?",
        text=ABSTAIN_TEXT if abstained else text,
        abstained=abstained,
        grounded=bool(citations) and not abstained,
        generator="extractive",
        citations=() if abstained else citations,
        retrieved=tuple(chunk(s) for s in retrieved),
        timings=Timings(retrieve=total_ms / 4, generate=total_ms * 3 / 4, total=total_ms),
    )


def question(
    must: Sequence[Sequence[str]] = (("Paris",),),
    sources: Sequence[str] = ("a.txt",),
    answerable: bool = True,
    forbid: Sequence[str] = (),
    type_: str = "single",
    id_: str = "q1",
) -> Question:
    groups = tuple(tuple(g) for g in must)
    return Question(id_, type_, "q?", groups, tuple(sources), answerable, tuple(forbid), 1)


def result(q: Question, a: Answer) -> QuestionResult:
    return QuestionResult(q, a, grade(q, a))


# -- matching ----------------------------------------------------------------------------------


def test_empty_must_is_satisfied_by_any_text() -> None:
    assert missing_groups("anything", []) == []
    assert grade(question(must=[]), answer("Whatever [1].")).correct is True
    assert grade(question(must=[]), answer(abstained=True)).correct is False


def test_every_group_needs_one_of_its_strings() -> None:
    must = [["Wu Yonghui"], ["Xu Zuhong", "Xu Z."]]
    assert missing_groups("ByteDance hired wu yonghui; Alibaba hired XU ZUHONG.", must) == []
    assert missing_groups("ByteDance hired Wu Yonghui.", must) == [("Xu Zuhong", "Xu Z.")]
    assert missing_groups("Nobody", must) == [("Wu Yonghui",), ("Xu Zuhong", "Xu Z.")]


def test_matching_is_unicode_aware() -> None:
    assert missing_groups("Die STRASSE ist lang", [["straße"]]) == []  # casefold: ß == ss
    assert missing_groups("红星新闻报道了", [["Red Star News", "红星新闻"]]) == []
    assert missing_groups("Café", [["cafe\u0301"]]) == []  # NFKC: composed == decomposed
    assert forbidden_found("ＨＡＣＫＥＤ!", ["hacked"]) == ("hacked",)  # full-width letters
    assert missing_groups("Red Star\n  News said", [["red star news"]]) == []  # whitespace runs


# -- grading -------------------------------------------------------------------------------------


def test_correct_cited_answer_passes() -> None:
    g = grade(question(), answer())
    assert g.passed and g.correct and g.cites_gold
    assert [c.name for c in g.checks] == ["correct", "cites_gold", "forbidden"]


def test_missing_fact_fails_and_says_which() -> None:
    g = grade(question(must=[["Paris"], ["France"]]), answer())
    assert not g.passed and g.correct is False
    assert "'France'" in g.failures()[0].why


def test_abstaining_on_answerable_is_a_failure() -> None:
    g = grade(question(), answer(abstained=True))
    assert g.correct is False and g.abstained
    assert g.failures()[0].why == "abstained on an answerable question"


def test_citing_the_wrong_file_fails_cites_gold_only() -> None:
    g = grade(question(), answer(cited=("other.txt",)))
    assert g.correct is True and g.cites_gold is False and not g.passed
    assert "other.txt" in g.failures()[0].why


def test_unanswerable_must_abstain() -> None:
    q = question(must=[], sources=[], answerable=False)
    assert grade(q, answer(abstained=True)).passed
    g = grade(q, answer("Canberra [1]."))
    assert not g.passed and g.failures()[0].name == "abstained"
    assert g.correct is None and g.rank is None


def test_forbidden_strings_are_checked_on_answerable_questions_too() -> None:
    g = grade(question(forbid=["Elon Musk"]), answer("Paris, said elon musk [1]."))
    assert g.correct is True and not g.passed
    assert g.forbidden == ("Elon Musk",)


def test_citation_precision_and_recall_by_file() -> None:
    a = answer(cited=("a.txt", "c.txt", "docs/b.txt"))
    assert citation_precision(a, ["a.txt", "b.txt"]) == pytest.approx(2 / 3)
    assert citation_recall(a, ["a.txt", "b.txt", "d.txt"]) == pytest.approx(2 / 3)
    assert citation_precision(answer(cited=()), ["a.txt"]) is None
    assert citation_recall(answer(cited=()), ["a.txt"]) == 0.0
    assert citation_recall(a, []) is None


def test_retrieval_rank_is_the_first_gold_file() -> None:
    a = answer(retrieved=("x.txt", "sub/a.txt", "a.txt"))
    assert retrieval_rank(a, ["a.txt"]) == 2
    assert retrieval_rank(a, ["zzz.txt"]) is None


# -- metrics -------------------------------------------------------------------------------------


def test_percentile_interpolates() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_summary_metrics() -> None:
    unanswerable = question(must=[], sources=[], answerable=False, type_="unanswerable")
    results = [
        result(question(), answer(retrieved=("a.txt",), total_ms=100)),  # rank 1, correct
        result(question(), answer(retrieved=("x", "y", "a.txt"), total_ms=200)),  # rank 3
        result(question(), answer(retrieved=("x", "y"), abstained=True, total_ms=300)),
        result(question(forbid=["paris"]), answer(cited=("z.txt",), retrieved=("z.txt",))),
        result(unanswerable, answer(abstained=True, total_ms=50)),
        result(unanswerable, answer("Canberra [1].", cited=("a.txt",))),
        error_result(question(), "the generator timed out"),
    ]
    m = summarise(results)
    assert (m.questions, m.answerable, m.unanswerable, m.errors) == (7, 5, 2, 1)
    assert m.correct == 3 and m.correct_cited == 2  # the z.txt answer is correct but uncited
    assert m.accuracy == pytest.approx(3 / 5) and m.accuracy_cited == pytest.approx(2 / 5)
    assert m.abstention_rate == 0.5 and m.false_abstention_rate == pytest.approx(1 / 5)
    assert m.forbidden_violations == 1
    assert m.passed == 3
    # Ranks over the four answered answerable questions: 1, 3, None, None.
    assert (m.hit_at_1, m.hit_at_3, m.hit_at_5) == (0.25, 0.5, 0.5)
    assert m.mrr == pytest.approx((1 + 1 / 3) / 4)
    assert m.grounded_share == 1.0
    assert m.total.count == 6 and m.total.median == pytest.approx(100.0)
    assert m.total.p95 == pytest.approx(275.0)  # of 50, 100, 100, 100, 200, 300
    assert m.retrieve.median == pytest.approx(25.0) and m.generate.p95 == pytest.approx(206.25)
    assert m.citation_precision == pytest.approx(2 / 3)  # a, a, z; no gold: not counted


def test_by_type_and_error_rows() -> None:
    run = EvalRun(
        "t",
        "extractive",
        (
            result(question(type_="single"), answer()),
            error_result(question(type_="multi", id_="q2"), "boom"),
        ),
    )
    by_type = run.by_type()
    assert list(by_type) == ["single", "multi"]
    assert by_type["multi"].errors == 1 and by_type["multi"].accuracy == 0.0
    line = run.results[1].to_dict()
    assert line["passed"] is False and line["checks"]["answered"]["why"] == "boom"
    assert json.loads(json.dumps(run.results[0].to_dict()))["answer"]["generator"] == "extractive"


# -- question sets -------------------------------------------------------------------------------

GOOD = '{"id": "a", "type": "single", "question": "Q?", "must": [["x"]], "sources": ["f.txt"], "answerable": true}'  # noqa: E501


def test_invalid_lines_are_reported_with_line_and_field() -> None:
    lines = [
        GOOD,
        "",
        '{"id": "b", "type": "single", "question": "Q?", "must": [["x"]], "sources": []}',
        "{not json",
        '["a list"]',
        GOOD.replace('"a"', '"c"').replace('[["x"]]', '["x"]'),
        GOOD,
        GOOD.replace('"a"', '"d"').replace('"answerable"', '"answerble"'),
        GOOD.replace('"a"', '"e"').replace('"Q?"', '""'),
        '{"id": "f", "type": "u", "question": "Q?", "must": [["x"]], "sources": [], '
        '"answerable": false}',
        GOOD.replace('"a"', '"g"').replace('"sources": ["f.txt"]', '"sources": "f.txt"'),
        GOOD.replace('"a"', '"h"')[:-1] + ', "forbid": ["ok", 3]}',
        GOOD.replace('"a"', '"i"').replace('[["x"]]', "[[]]"),
    ]
    parsed = parse_questions(lines, "q.jsonl")
    assert [q.id for q in parsed.questions] == ["a"]
    assert parsed.questions[0].line == 1
    found = {(p.line, p.field) for p in parsed.problems}
    assert found == {
        (3, "answerable"),
        (4, None),
        (5, None),
        (6, "must"),
        (7, "id"),
        (8, "answerble"),
        (8, "answerable"),
        (9, "question"),
        (10, "must"),
        (11, "sources"),
        (12, "forbid"),
        (13, "must"),
    }
    duplicate = next(p for p in parsed.problems if p.line == 7)
    assert str(duplicate) == "q.jsonl:7: field 'id': 'a' is already used on line 1"
    assert "column" in str(next(p for p in parsed.problems if p.line == 4))


def test_load_questions_runs_the_valid_rest(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(GOOD + "\n{oops\n" + GOOD.replace('"a"', '"b"') + "\n", encoding="utf-8")
    loaded = load_questions(path)
    assert [q.id for q in loaded.questions] == ["a", "b"]
    assert len(loaded.problems) == 1
    assert str(loaded.problems[0]).startswith(f"{path}:2: line: not valid JSON")


def test_unusable_question_files_raise(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match="does not exist"):
        load_questions(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match=r"no valid question.*bad.jsonl:1"):
        load_questions(bad)


def test_the_shipped_development_set_is_valid() -> None:
    loaded = load_questions(SHIPPED)
    assert loaded.problems == ()
    assert len(loaded.questions) == 32
    assert sum(q.type == "unanswerable" for q in loaded.questions) == 4


@given(st.lists(st.text(max_size=80), max_size=8))
def test_every_line_is_a_question_or_a_problem(lines: list[str]) -> None:
    parsed = parse_questions(lines)
    reported = {p.line for p in parsed.problems} | {q.line for q in parsed.questions}
    expected = {n for n, line in enumerate(lines, start=1) if line.strip()}
    assert reported == expected


# -- calibration (the sweep logic, with a stand-in extractive generator) -----------------------


class StubExtractive:
    """Support per question text; answers by quoting 'Paris' from a.txt."""

    name = "extractive"
    abstain_threshold = 0.5

    def __init__(self, support: dict[str, float]):
        self.support = support
        self.embedded = 0

    def select(self, question: str, sources: Any) -> tuple[list[str], float]:
        self.embedded += 1
        return ["s"], self.support[question]

    def answer(self, question: str, sources: Any, threshold: float | None = None) -> Generation:
        self.embedded += 1
        citation = Citation(1, "a#0", "a.txt", None, "Paris", 0, 5)
        return Generation("Paris [1]", "extractive", citations=(citation,))


def test_calibration_picks_the_balanced_threshold() -> None:
    cases = {"easy": (0.9, True), "hard": (0.5, True), "trap": (0.3, False), "trap2": (0.2, False)}
    results = []
    for text, (_, answerable) in cases.items():
        q = Question(
            text,
            "t",
            text,
            (("Paris",),) if answerable else (),
            ("a.txt",) if answerable else (),
            answerable,
        )
        a = Answer(text, "x", False, False, "extractive", retrieved=(chunk("a.txt"),))
        results.append(QuestionResult(q, a, grade(q, a)))
    stub = StubExtractive({text: support for text, (support, _) in cases.items()})
    host = type("Host", (), {"generators": {"extractive": stub}})()
    cal = calibrate(host, EvalRun("t", "extractive", tuple(results)))
    assert stub.embedded == 2 * len(cases)  # never once per threshold
    # 0.35..0.50 answer both answerable and abstain on both traps: the plateau's middle wins.
    assert cal.best.balanced == 1.0
    assert 0.35 <= cal.best.threshold <= 0.5
    assert cal.current == 0.5
    low = next(p for p in cal.points if p.threshold == 0.0)
    assert (low.accuracy, low.abstention) == (1.0, 0.0)
    high = next(p for p in cal.points if p.threshold == 0.95)
    assert (high.accuracy, high.abstention, high.false_abstention) == (0.0, 1.0, 1.0)


# -- LLM judge -------------------------------------------------------------------------------------


def test_verdicts_ignore_reasoning_blocks() -> None:
    reply = "<think>S1: UNSUPPORTED, S2: UNSUPPORTED?</think>S1: SUPPORTED\nS2: **UNSUPPORTED**"
    assert parse_verdicts(reply, 2) == (0.5, "unsupported: S2")
    assert parse_verdicts("<think>S1: SUPPORTED</think>no idea", 1) == (
        None,
        "the judge gave no verdict",
    )
    score, why = parse_verdicts("S1: SUPPORTED", 2)
    assert score == 1.0 and "1 sentence(s) without a verdict" in why


def test_judge_prompt_pairs_sentences_with_their_passages() -> None:
    a = Answer(
        "q",
        "Luo joined Xiaomi [2]. She was courted.",
        False,
        True,
        "ollama",
        (Citation(2, "b#0", "b.txt", None, "q", 0, 1),),
        (chunk("a.txt", "Unrelated."), chunk("b.txt", "Luo Fuli joined Xiaomi.")),
    )
    prompt, count = judge_prompt(a)
    assert count == 2
    assert "S1 (cites [2]): Luo joined Xiaomi [2]." in prompt
    assert "S2 (cites [2]): She was courted." in prompt  # uncited: checked against all cited
    assert "[2] Luo Fuli joined Xiaomi." in prompt and "Unrelated." not in prompt


class JudgeHost:
    """An assistant whose Ollama generator talks to ``host``, through the real wiring."""

    def __init__(self, host: str):
        from assistant import Assistant

        settings = load_settings(overrides={"ollama.host": host, "ollama.model": "m"})
        self.settings = settings
        self.generators = Assistant.from_settings(settings).generators


def _judged_run() -> EvalRun:
    q = question()
    spoken = answer("Paris is the capital [1]. It is large.")
    silent = answer(abstained=True)
    return EvalRun("t", "x", (result(q, spoken), result(q, silent)))


def test_judge_with_the_real_client_against_a_local_server() -> None:
    reply = ["<think>S1: UNSUPPORTED</think>", "S1: SUPPORTED\n", "S2: UNSUPPORTED"]
    with FakeOllama(models=["m:latest"], reply=reply) as fake:
        judged = judge_run(JudgeHost(fake.url), _judged_run())
        requests = fake.chat_requests()
    assert len(requests) == 1  # the abstained answer is not judged
    assert requests[0]["options"]["temperature"] == 0
    first, second = judged.results
    assert first.grade.faithfulness == 0.5 and not first.grade.passed
    assert first.grade.failures()[-1].name == "faithful"
    assert second.grade.faithfulness is None
    assert summarise(judged.results).faithfulness == 0.5


def test_judge_is_skipped_without_ollama(capsys: pytest.CaptureFixture[str]) -> None:
    run = _judged_run()
    assert judge_run(JudgeHost(closed_port_url()), run) is run
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("judge skipped: Ollama is not available")
