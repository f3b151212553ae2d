# Two commands for a newcomer: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite in parallel, a test file per worker at a time (each worker has its own sandbox, bot and databases).
PYTEST_PARALLEL ?= -n auto --maxprocesses=4 --dist loadfile
LANGS := $(patsubst locales/%/LC_MESSAGES/waakvlam.po,%,$(wildcard locales/*/LC_MESSAGES/waakvlam.po))

.PHONY: run test lint typecheck check locales locales-extract locales-update locales-compile locales-check bench clean migration

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## The bot (with TELEGRAM_BOT_TOKEN), or the demo in this terminal (without).
	$(BIN)/python -m bot

test: $(STAMP)  ## Lint, format check, type check and the whole test suite.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot conversations domain services storage sandbox web
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy bot conversations domain services storage sandbox web

# Translations, one command each (the .po files are the single source; see docs/translating.md).
locales-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k pgettext:1c,2 --no-location --sort-output \
		--project=waakvlam --copyright-holder="Waakvlam contributors" -o locales/waakvlam.pot .

locales-update: locales-extract
	flock locales/.lock $(BIN)/pybabel update -i locales/waakvlam.pot -d locales -D waakvlam \
		--no-fuzzy-matching --ignore-obsolete --width=100
	flock locales/.lock $(BIN)/python -m scripts.fill_source_catalog

locales-compile: $(STAMP)
	$(BIN)/pybabel compile -d locales -D waakvlam --statistics

locales-check: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_catalogs.py

locales: locales-update locales-check

bench: $(STAMP)  ## All benchmarks; prints a table and writes bench/results.json.
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# A new migration from what the models changed (the next numbered revision; read it before committing).
migration: $(STAMP)
	flock storage/.lock $(BIN)/python -m scripts.new_migration $(m)
