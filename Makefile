# qkv: one Makefile for set-up, the site and every check.
#   make serve   set everything up, build the site, serve it on http://127.0.0.1:8000/
#   make test    set everything up and run the default suite (about a minute)
#   make test-slow  the real-browser tests and the long checks (CI runs both)
#   make train   retrain the English -> Chinese number translator (CPU, seeded)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist workers for `make test` and `make test-slow`, which hand out whole test files (a
# page's examples and a file's browser tests stay in one process); TEST_WORKERS=0: one process
TEST_WORKERS ?= 2
export NO_MKDOCS_2_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup serve serve-only build test test-slow lint static bench bench-docs train train-teacher-forcing clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -U pip setuptools
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[torch,test,docs,dev]"
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(STAMP) node_modules/.installed

build: setup
	$(BIN)/mkdocs build --strict

serve: setup
	@$(MAKE) --no-print-directory serve-only

# serve without the set-up step (used by the tests; `make serve` is the README command).
# --dirty rebuilds only the pages that changed (a saved paragraph shows in about 2 s); it needs
# --no-strict, since MkDocs warns about dirty builds. `make build` stays strict.
serve-only:
	@echo "Serving the site at http://$(HOST):$(PORT)/ (English) and http://$(HOST):$(PORT)/zh/ (Chinese); Ctrl-C stops it"
	$(BIN)/mkdocs serve --dev-addr $(HOST):$(PORT) --dirty --no-strict

# the default suite: static checks (ruff, format, mypy), then every pytest test except the `slow`
# and `browser` ones, on TEST_WORKERS processes
test: setup static
	$(BIN)/python -m pytest -q -m "not slow and not browser" -n $(TEST_WORKERS) --dist loadfile

# what CI adds: the real-browser tests of the built site (every page in chromium, the interactive
# figures, search, layout), a short retraining, O(n) memory of the backward pass, `make serve`,
# and (with QKV_INSTALL_TEST=1) the home page's install in a fresh virtual environment
test-slow: setup
	$(BIN)/python -m pytest -q -m "slow or browser" -n $(TEST_WORKERS) --dist loadfile

# the fast static checks, also the first step of `make test`
static: setup
	$(BIN)/ruff check reference tests benchmarks docs/_tools conftest.py
	$(BIN)/ruff format --check reference tests benchmarks docs/_tools conftest.py
	$(BIN)/mypy

# the static checks, then the tests of translation parity, terminology and spelling (seconds)
lint: static
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_parity.py tests/test_terminology.py

bench: setup
	$(BIN)/python -m benchmarks.run --threads 1

# the cold strict build (median of three), then the edit-to-served time under `make serve`
bench-docs: setup
	$(BIN)/python -m benchmarks.docs_build
	$(BIN)/python -m benchmarks.serve_reload

# retrain the number translator (CPU, seeded): writes reference/qkv/numbers/model.npz and curves.json
train: setup
	$(BIN)/python -m qkv.numbers.train

# the teacher-forcing / scheduled-sampling experiment: writes reference/qkv/numbers/teacher_forcing.json
train-teacher-forcing: setup
	$(BIN)/python -m qkv.numbers.teacher_forcing

clean:
	rm -rf $(VENV) node_modules site .coverage
