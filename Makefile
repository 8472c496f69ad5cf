# The README's two commands: `make run` (dashboard on the sample traces) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
DB ?= $(or $(AGENTTIME_DB),data/agenttime.duckdb)
SAMPLE_FILES := $(filter-out %.py %.md,$(wildcard sample_traces/*))

.PHONY: run test lint format samples chromium bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

run: $(VENV)/.runtime-installed
	AGENTTIME_DB=$(DB) $(BIN)/python -m ingest --if-empty $(SAMPLE_FILES)
	AGENTTIME_DB=$(DB) $(BIN)/streamlit run server.py --server.headless=true --server.port=$(PORT)

test: $(VENV)/.dev-installed chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The adapter fuzzing of `make test` with many more examples per input (default 300).
fuzz: $(VENV)/.dev-installed
	AGENTTIME_FUZZ_EXAMPLES=$${AGENTTIME_FUZZ_EXAMPLES:-300} $(BIN)/pytest tests/test_fuzz_adapters.py -q

# Ingest, page and payload benchmarks at 1M spans (5M for pages); writes bench/RESULTS.md.
# About 15 minutes on 2 cores; `make bench BENCH_ARGS=--quick` takes a few.
bench: $(VENV)/.runtime-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

samples: $(VENV)/.runtime-installed
	$(BIN)/python sample_traces/generate.py

# Browser tests drive Debian's chromium (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-results
