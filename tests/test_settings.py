"""Typed settings: YAML layers, RAG_* overrides, OLLAMA_HOST, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.settings import DEFAULT_CONFIG, Settings, SettingsError, data_home, load_settings
from assistant.settings_yaml import render_defaults


def test_defaults_match_the_documented_yaml():
    settings = load_settings(environ={})
    assert settings.home == data_home() and settings.home.is_absolute()
    assert settings.docs_dir == data_home() / "uploads"
    assert settings.index_dir == data_home() / "index"
    assert settings.generator.name == "auto"
    assert settings.retrieval.mode == "hybrid"
    assert settings.ollama.model == "deepseek-r1:1.5b"
    # Every field of the typed settings is present (and so documented) in default.yaml.
    documented = yaml.safe_load(DEFAULT_CONFIG.read_text())
    for name, field in Settings.model_fields.items():
        if name == "sources":
            continue
        assert name in documented, name
        sub = getattr(field.annotation, "model_fields", None)
        if sub:
            assert set(sub) == set(documented[name]), name
            for key, inner in sub.items():
                assert documented[name][key] == inner.default, f"{name}.{key}"
                assert inner.description, f"{name}.{key} has no description"
    # The file is exactly what the typed settings render: comments and defaults cannot drift.
    assert DEFAULT_CONFIG.read_text(encoding="utf-8") == render_defaults()


def test_one_data_home_holds_the_index_and_uploads_unless_told_otherwise(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={"RAG_HOME": "mine"})
    assert settings.home == tmp_path / "mine"
    assert (settings.index_dir, settings.docs_dir) == (
        tmp_path / "mine/index",
        tmp_path / "mine/uploads",
    )
    explicit = load_settings(environ={"RAG_HOME": "mine", "RAG_INDEX_DIR": "/srv/idx"})
    assert explicit.index_dir == Path("/srv/idx") and explicit.docs_dir == tmp_path / "mine/uploads"


def test_yaml_layers_env_and_overrides_in_order(tmp_path):
    config = tmp_path / "team.yaml"
    config.write_text("retrieval:\n  top_k: 8\nchroma:\n  mode: http\n")
    env = {"RAG_CONFIG": str(config), "RAG_RETRIEVAL__TOP_K": "9", "RAG_DOCS_DIR": "/data/docs"}
    settings = load_settings(environ=env)
    assert settings.chroma.mode == "http"
    assert settings.chroma.port == 8000  # deep merge keeps the defaults beside it
    assert settings.retrieval.top_k == 9
    assert settings.docs_dir == Path("/data/docs")
    flags = load_settings(environ=env, overrides={"retrieval.top_k": 3, "index_dir": None})
    assert flags.retrieval.top_k == 3
    assert flags.index_dir == data_home() / "index"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gpu-box", "http://gpu-box:11434"),
        ("10.0.0.5:9999", "http://10.0.0.5:9999"),
        ("https://ollama.internal", "https://ollama.internal:11434"),
        ("0.0.0.0", "http://0.0.0.0:11434"),
    ],
)
def test_ollama_host_is_honoured(value, expected):
    assert load_settings(environ={"OLLAMA_HOST": value}).ollama.host == expected
    both = {"OLLAMA_HOST": value, "RAG_OLLAMA__HOST": "http://mine:1"}
    assert load_settings(environ=both).ollama.host == "http://mine:1"


def test_unknown_key_names_key_and_file(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("retrieval:\n  topk: 3\n")
    with pytest.raises(SettingsError) as info:
        load_settings(config, environ={})
    message = str(info.value)
    assert "retrieval.topk" in message and str(config) in message
    assert "\n" not in message


def test_wrong_type_names_key_and_source(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("chroma:\n  port: lots\n")
    with pytest.raises(SettingsError, match=rf"'chroma.port' in {config}.*'lots'"):
        load_settings(config, environ={})
    with pytest.raises(SettingsError, match="RAG_GENERATOR__NAME"):
        load_settings(environ={"RAG_GENERATOR__NAME": "gpt"})


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(SettingsError, match="nope.yaml does not exist"):
        load_settings(tmp_path / "nope.yaml", environ={})
    broken = tmp_path / "broken.yaml"
    broken.write_text("retrieval: [unclosed\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(broken, environ={})
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(SettingsError, match="mapping"):
        load_settings(listy, environ={})


def test_cli_reports_setting_errors_without_traceback(capsys, tmp_path):
    from assistant.cli import main

    code = main(["ask", "hi", "--set", "retrieval.top_k=zero", "--index-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: setting 'retrieval.top_k' in command line")
    assert "Traceback" not in err
    assert main(["ask", "hi", "--set", "nonsense"]) == 1
    assert "KEY=VALUE" in capsys.readouterr().err
