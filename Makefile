# Two entry points: `make run` (the default scenario) and `make test` (the whole suite, docs build included).
# `make docs` builds the documentation site into site/; `make docs-serve` serves it locally.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint docs docs-serve bench clean

# The docs plugins' banners about MkDocs' future are noise in a build log.
export NO_MKDOCS_2_WARNING := 1
export DISABLE_MKDOCS_2_WARNING := true

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(VENV)/.installed $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	touch $(VENV)/.installed $(VENV)/.installed-docs $@

run: $(VENV)/.installed
	$(BIN)/flopgrid run

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks examples tools conftest.py
	$(BIN)/ruff format --check src tests benchmarks examples tools conftest.py
	$(BIN)/mypy src
	$(BIN)/lint-imports

# Builds with --strict (mkdocs.yml): a broken link, a failing example or a bad docstring fails it. The
# examples run in a kernel of this venv's Python.
docs: $(VENV)/.installed-docs
	$(BIN)/mkdocs build --strict

docs-serve: $(VENV)/.installed-docs
	$(BIN)/mkdocs serve

# The site is built once, before pytest; tests/test_docs.py checks that build (FLOPGRID_DOCS_SITE)
# instead of building it again in a worker. The docstrings' examples of src/flopgrid run as doctests.
test: lint docs
	FLOPGRID_DOCS_SITE=site $(BIN)/python -m pytest -q -n auto --doctest-modules src tests

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_simulate.py

clean:
	rm -rf $(VENV) build dist site .cache src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
