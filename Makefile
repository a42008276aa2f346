# ldtui: two commands on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One stamp per set of extras; each is redone when pyproject.toml changes.
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test
DEV_STAMP  := $(VENV)/.installed-dev
# What the gates look at.
SOURCES := ldtui tests benchmarks screenshots
# The suite mostly waits (on redis-server, moto, subprocesses, the TUI's timers): three
# workers keep two cores busy (measured: 6.0 min serial, 4.3 min on 2 workers, 3.0 on 3).
# TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 3

.PHONY: demo test install lint format-check ruff mypy imports bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs only what it runs: the emulator's local stores and the web server.
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo,web]'
	@touch $@

# The tests need everything (the demo's and the web extras included).
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# The gates: ruff, mypy with the stubs, import-linter.
$(DEV_STAMP): pyproject.toml $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(TEST_STAMP)

# The TUI on a seeded emulator with local Redis and DynamoDB: no account, no system package.
demo: $(DEMO_STAMP)
	$(BIN)/ldtui --demo

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Every gate of .ci/run; `make -k lint` runs them all even when one fails.
lint: format-check ruff mypy imports

format-check: $(DEV_STAMP)
	$(BIN)/ruff format --check $(SOURCES)

ruff: $(DEV_STAMP)
	$(BIN)/ruff check $(SOURCES)

mypy: $(DEV_STAMP)
	$(BIN)/mypy

# The layers of pyproject.toml's [tool.importlinter] contracts.
imports: $(DEV_STAMP)
	$(BIN)/lint-imports

# Speed and memory targets: prints a table; record it in benchmarks/RESULTS.md.
bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/bench_stores.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_tui.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_inspect.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_status.py  # 10 minutes: memory growth over a long poll
	$(BIN)/python benchmarks/bench_exporter.py  # 10 minutes: 500 targets scraped, CPU and memory

# Every picture in screenshots/ (and the README), from the running app at a fixed clock.
screenshots: $(TEST_STAMP)
	TEXTUAL_ANIMATIONS=none $(BIN)/python screenshots/generate.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache .import_linter_cache build dist *.egg-info
