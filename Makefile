# Two commands on a fresh machine (given Python 3.11+ and a Docker engine):
#   make site   builds the HTML book into _build/html (executing the labs that changed)
#   make test   runs the unit tests, every lab twice under nbval (2 processes), the book
# Also: make lab (JupyterLab on the labs), make bench (times per lab, make test, make site),
#       make bundle (an offline classroom: wheelhouse and Docker images),
#       make test-python PY=python3.12 (the labs that need no Docker, on another Python),
#       make rehearsal (every lab's aws branch against a moto server with IAM enforced).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KIT_HASH := _build/.kit-hash

.PHONY: site test lab bench test-python bundle clean-site mutation rehearsal

# COURSE_UV=path/to/uv installs the pins with uv instead of pip (CI does: a fresh 3.12 venv in
# 1 min 15 s, against 5 min 11 s with pip). PyTorch still comes from pip, which finds the CPU
# build on this disk (uv would download the CUDA one), and uv byte-compiles, as pip does.
COURSE_UV ?=
define install_pins  # $(1): the venv's bin folder, $(2): the requirements file
	$(if $(COURSE_UV),\
	  if grep -q '^torch==' $(2); then $(1)/pip install --quiet $$(grep '^torch==' $(2)); fi && \
	  $(COURSE_UV) pip install --quiet --compile-bytecode --python $(1)/python -r $(2),\
	  $(1)/pip install --quiet -r $(2))
	$(1)/pip uninstall --quiet --yes rfc3987-syntax  # see requirements.txt
endef

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(call install_pins,$(BIN),requirements.txt)
	touch $(STAMP)

# The execution cache is keyed on each notebook's code; a change to the kit or to the pinned
# requirements changes what every lab runs, so it empties the cache first.
site: $(STAMP)
	@mkdir -p _build
	@new=$$(cat requirements.txt $$(find labkit -name '*.py' | sort) | sha256sum | cut -c1-16); \
	if [ "$$(cat $(KIT_HASH) 2>/dev/null)" != "$$new" ]; then \
		echo "labkit or requirements changed: every lab runs again"; \
		rm -rf _build/.jupyter_cache; echo "$$new" > $(KIT_HASH); fi
	$(BIN)/jupyter-book build . -W -n --keep-going

# Two pytest runs. The first spreads the labs and tests over $(WORKERS) processes (pytest-xdist;
# conftest.py keeps each lab's cells in one worker and every Docker test in one worker); the
# unit tests that need no Docker run inside tests/test_isolation.py, in a learner-like
# environment, not twice; the Docker ones run in the Docker worker.
# The second builds the book from the labs the first executed, then opens it in a browser.
# The offline AWS rehearsal (-m rehearsal) runs every lab twice more: not part of make test.
WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup --no-loadscope-reorder \
		-m "not book and not rehearsal and not (unit and not docker)"
	$(BIN)/python -m pytest -m book tests/test_book.py tests/site

# Every lab's aws branch, twice, against a moto server on 127.0.0.1 with IAM enforced, in
# ap-southeast-2, with policies/course-learner.json as the learner's only permissions.
# Three processes on two cores: the aws branches wait on SQS long polls and waiters (a
# worker asleep), so a third one fills the gaps (4 min 15 s, against 6 min 13 s with two;
# 3 min 39 s since the rehearsal's moto server keeps its list of services).
REHEARSAL_WORKERS ?= 3
rehearsal: $(STAMP)
	$(BIN)/python -m pytest -n $(REHEARSAL_WORKERS) -m rehearsal tests/rehearsal

lab: $(STAMP)
	$(BIN)/jupyter lab labs/00-getting-started/00-check-environment.ipynb

bench: $(STAMP)
	$(BIN)/python tools/bench.py

# Lab 00 and the labs that need no Docker, once, on another Python (CI: Studio's 3.12).
# Without PyTorch, and so without lab 15, its only user: for Python 3.12 the index offers
# only the CUDA build (about 5 GB with its libraries; 3.11's CPU build lies on disk), and
# Studio's images bring their own PyTorch.
# `make $(OTHER)/.installed` only installs (CI does it while the main venv installs).
OTHER ?= .venv-$(notdir $(PY))
$(OTHER)/.installed: requirements.txt pyproject.toml
	test -x $(OTHER)/bin/python || $(PY) -m venv $(OTHER)
	grep -v '^torch==' requirements.txt > $(OTHER)/requirements-without-torch.txt
	$(call install_pins,$(OTHER)/bin,$(OTHER)/requirements-without-torch.txt)
	touch $@

test-python: $(OTHER)/.installed
	COURSE_LAB_RUNS=1 $(OTHER)/bin/python -m pytest tests/unit/test_banner.py \
		labs/00-getting-started/00-check-environment.ipynb
	COURSE_LAB_RUNS=1 $(OTHER)/bin/python -m pytest -n $(WORKERS) --dist loadgroup \
		-m "not docker and not book" labs \
		--deselect labs/02-sagemaker/15-tensorboard-debugging.ipynb

# An offline classroom: pip wheelhouse + docker save of the course images (needs internet once)
bundle: $(STAMP)
	$(BIN)/python tools/classroom_bundle.py

# Mutation testing of labkit's core (guard, backend, events, session, sweep, schedules; mutmut,
# niced; tens of minutes, more on a busy machine). Not in make test.
mutation: $(STAMP)
	nice -n 10 $(BIN)/python tools/mutation.py

clean-site:
	rm -rf _build
