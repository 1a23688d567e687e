# Two commands on a fresh machine (given Python 3.10+ and a Docker engine):
#   make site   builds the HTML book into _build/html (executing every lab)
#   make test   runs the unit tests, every lab under nbval, and the book build
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: site test clean-site

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

site: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

test: $(STAMP)
	$(BIN)/python -m pytest

clean-site:
	rm -rf _build
