# CycleGAN from Scratch: every target sets itself up (a .venv with the course installed).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS := $(wildcard notebooks/[0-9][0-9]_*.ipynb)
STUDENT := $(wildcard notebooks/student/[0-9][0-9]_*.ipynb)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# PIP_CONSTRAINT replaces the constraint files of pip's configuration, so keep them (a machine
# may pin the torch build it ships, and the Colab test installs under that same pin)
PIP_CONFIG_CONSTRAINTS := $(shell $(PYTHON) -m pip config list 2>/dev/null | sed -n "s/^global.constraint='\(.*\)'/\1/p")

.PHONY: help setup system-deps test test-lib test-notebooks test-browser lint format course lab slides student notebooks classifiers clean

help:
	@echo "make course     execute every lesson headless into build/ (profile from hardware or COURSE_PROFILE)"
	@echo "make test       lint, library tests, and every notebook (instructor + student) under nbval, smoke profile"
	@echo "make test-browser  lesson 01's widget in JupyterLab under headless Chromium (part of make test)"
	@echo "make lab        open JupyterLab on notebooks/ (RISE: present a lesson as live slides)"
	@echo "make slides     one offline reveal.js deck per lesson in build/slides/ (from make course if built)"
	@echo "make student    regenerate the student versions"
	@echo "make notebooks  re-run lessons in smoke, keep only compared outputs, regenerate student versions"

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	PIP_CONSTRAINT="$(CURDIR)/scripts/pip-build-constraints.txt $(PIP_CONFIG_CONSTRAINTS)" \
		$(PY) -m pip install -e '.[dev,display]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)"
	touch $(STAMP)

# bubblewrap isolates graded notebooks (cyclegan grade), chromium drives the browser test,
# npm fetches reveal.js and MathJax for the slide decks
system-deps:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -z "$$missing" ]; then :; \
	elif command -v apt-get >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "note: install$$missing for the grading sandbox, the browser test and the slides"; fi

lint: $(STAMP)
	$(PY) -m ruff check cyclegan_lib tests bench scripts notebooks/*.ipynb
	$(PY) -m ruff format --check cyclegan_lib tests bench scripts
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff check --fix cyclegan_lib tests bench scripts
	$(PY) -m ruff format cyclegan_lib tests bench scripts

test-lib: $(STAMP) system-deps
	$(PY) -m pytest -m "not browser" tests

test-browser: $(STAMP) system-deps
	$(PY) -m pytest -p no:cacheprovider -m browser tests

test-notebooks: $(STAMP)
	COURSE_PROFILE=smoke COURSE_BUILD_DIR=$(CURDIR)/build/smoke $(PY) -m pytest -p no:cacheprovider \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=600 $(NOTEBOOKS) $(STUDENT)

test: lint test-lib test-notebooks test-browser

course: $(STAMP)
	$(PY) -m cyclegan_lib.tools.nbtools course

slides: $(STAMP) system-deps
	$(PY) -m cyclegan_lib.tools.slides build

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

student: $(STAMP)
	$(PY) -m cyclegan_lib.tools.nbtools student

notebooks: $(STAMP)
	$(PY) -m cyclegan_lib.tools.nbtools refresh

classifiers: $(STAMP)
	$(PY) -m cyclegan_lib.course.classifiers

clean:
	rm -rf build
