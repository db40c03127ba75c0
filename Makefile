# qkv: one Makefile for set-up, the site and every check.
#   make serve   set everything up, build the site, serve it on http://127.0.0.1:8000/
#   make test    set everything up and run every check
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export NO_MKDOCS_2_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup serve build test test-fast lint bench clean

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
	@echo "Serving the site at http://$(HOST):$(PORT)/ (English) and http://$(HOST):$(PORT)/zh/ (Chinese)"
	$(BIN)/mkdocs serve --dev-addr $(HOST):$(PORT)

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not browser and not slow"

lint: setup
	$(BIN)/ruff check reference tests benchmarks docs/_tools
	$(BIN)/ruff format --check reference tests benchmarks docs/_tools

bench: setup
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) node_modules site .coverage
