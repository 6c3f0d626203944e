"""Saved chats (SQLite), `rag chat --resume`, and "save as test question" lines."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from assistant.chats import DEFAULT_TITLE, ChatNotFound, ChatStore, chats_path
from assistant.cli import main
from assistant.evaluation.questions import parse_questions
from assistant.evaluation.saving import SaveQuestionError, must_groups, save_question

QUESTION = "Which company did Luo Fuli join?"


@pytest.fixture
def store(tmp_path: Path) -> ChatStore:
    return ChatStore(tmp_path / "data" / "chats.sqlite3")


def test_chats_path_defaults_to_the_data_home_and_follows_the_setting(seed_index) -> None:
    settings, _ = seed_index
    assert chats_path(settings) == Path(settings.home) / "chats.sqlite3"
    moved = settings.replace(**{"chats.path": "/tmp/x/chats.db"})
    assert chats_path(moved) == Path("/tmp/x/chats.db")


def test_new_rename_delete_list(store: ChatStore) -> None:
    first, second = store.new(), store.new("Contracts")
    assert first.title == DEFAULT_TITLE
    assert [c.id for c in store.list()] == [second.id, first.id]  # most recent first
    assert store.rename(first.id, "  Renamed   chat ").title == "Renamed chat"
    store.delete(second.id)
    assert [(c.id, c.title) for c in store.list()] == [(first.id, "Renamed chat")]
    with pytest.raises(ChatNotFound):
        store.rename(second.id, "gone")


def test_each_turn_keeps_its_own_sources(store: ChatStore, seed_assistant) -> None:
    chat = store.new()
    first = seed_assistant.ask(QUESTION)
    second = seed_assistant.ask("Who leads that company?", history=store.history(chat.id))
    store.add_turn(chat.id, QUESTION, first)
    store.add_turn(chat.id, "Who leads that company?", second)
    # A new store on the same file (a restart) sees the same chat, named after its question.
    again = ChatStore(store.path)
    assert again.get(chat.id).title == QUESTION and again.get(chat.id).turns == 2
    turns = again.turns(chat.id)
    assert [t.question for t in turns] == [QUESTION, "Who leads that company?"]
    assert turns[0].answer.citations == first.citations
    assert [c.text for c in turns[0].answer.retrieved] == [c.text for c in first.retrieved]
    assert turns[1].answer.text == second.text
    assert [t.role for t in again.history(chat.id)] == ["user", "assistant"] * 2
    store.delete(chat.id)
    with sqlite3.connect(store.path) as db:  # the turns went with the chat
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone() == (0,)


def test_rag_chat_saves_and_resumes(seed_index, tmp_path: Path, monkeypatch, capsys) -> None:
    settings, docs = seed_index
    chats = tmp_path / "chats.sqlite3"
    common = ["--docs-dir", str(docs), "--index-dir", str(settings.index_dir),
              "--set", f"chats.path={chats}", "--generator", "extractive"]  # fmt: skip
    answers = iter([QUESTION, ""])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(answers))
    assert main(["chat", *common]) == 0
    assert "Xiaomi" in capsys.readouterr().out
    answers = iter(["Who leads that company?", ""])
    assert main(["chat", "--resume", *common]) == 0
    out = capsys.readouterr().out
    assert f"> {QUESTION}" in out  # the earlier turn is shown again
    assert "Lei Jun" in out  # and sent as history
    [chat] = ChatStore(chats).list()
    assert chat.turns == 2
    assert main(["chat", "--list", *common]) == 0
    assert chat.id in capsys.readouterr().out


def test_save_question_writes_a_line_the_question_set_accepts(seed_assistant, tmp_path) -> None:
    answer = seed_assistant.ask(QUESTION)
    path = tmp_path / "mine.jsonl"
    first = save_question(path, QUESTION, answer, answer.text)
    second = save_question(path, QUESTION, answer, "Xiaomi")
    assert (first["id"], second["id"]) == ("saved-1", "saved-2")
    assert second["must"] == [["Xiaomi"]] and second["sources"] == [answer.citations[0].source]
    parsed = parse_questions(path.read_text(encoding="utf-8").splitlines(), str(path))
    assert parsed.problems == () and len(parsed.questions) == 2
    assert parsed.questions[0].type == "question"  # type is optional
    for bad, why in [(tmp_path / "x.txt", ".jsonl"), (tmp_path / "no" / "x.jsonl", "exist")]:
        with pytest.raises(SaveQuestionError, match=why):
            save_question(bad, QUESTION, answer, "Xiaomi")
    with pytest.raises(SaveQuestionError, match="empty"):
        save_question(path, QUESTION, answer, " [1] ")


def test_must_groups_cut_markers_and_punctuation() -> None:
    assert must_groups("Luo Fuli joined Xiaomi [1]. Lei Jun leads it [2].") == [
        ["Luo Fuli joined Xiaomi"],
        ["Lei Jun leads it"],
    ]
    assert must_groups("Paris\n1889 [1]") == [["Paris"], ["1889"]]


def test_a_question_without_type_is_valid() -> None:
    line = json.dumps({"id": "a", "question": "Q?", "must": [["x"]], "answerable": True})
    [question] = parse_questions([line]).questions
    assert question.type == "question"
    typed = json.dumps({"id": "b", "type": "", "question": "Q?", "must": [], "answerable": False})
    assert parse_questions([typed]).problems[0].field == "type"  # given, it must not be empty
