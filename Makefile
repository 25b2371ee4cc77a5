# Mava's verbs. `make run` and `make test` install what they need on first use.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= all
STAMP := $(VENV)/.installed-$(EXTRAS)
# `make run` is the main job: MADQN on simple_spread under Launchpad (an example script like any other)
MAIN_EXAMPLE := examples/pettingzoo/run_decentralised_feedforward_madqn.py
EXAMPLE ?= $(MAIN_EXAMPLE)
ARGS ?=
PYTEST_ARGS ?=
# TEST_WORKERS=2 runs the suite on two pytest-xdist workers (grouped tests stay on one worker);
# 1, the default, runs it in one process
TEST_WORKERS ?= 1
XDIST_ARGS := $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup,)

.PHONY: install run test soak lint tensorboard clean help

help:
	@echo "make run                     train MADQN on simple_spread (Launchpad, 2 executors, ~6 min)"
	@echo "make run EXAMPLE=path.py     run an example script (ARGS='--env-steps 5000 key=value ...')"
	@echo "make test                    run the test suite"
	@echo "make soak                    8 executors against one replay server for 10 min (MAVA_SOAK_SECONDS=...)"
	@echo "make lint                    run ruff"
	@echo "make install                 create $(VENV) with Python 3.10 and install mava[$(EXTRAS)]"

install: $(STAMP)

$(STAMP): setup.py constraints.txt
	@bash scripts/make_venv.sh "$(VENV)"
	$(PY) -m pip install --quiet --disable-pip-version-check "pip<24" "setuptools<70" wheel
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[$(EXTRAS)]"
	@touch $@

run: install
	$(PY) $(EXAMPLE) $(ARGS)

test: install
	$(PY) -m pytest $(XDIST_ARGS) $(PYTEST_ARGS)

# the soak test (marked soak, so never in `make test`): 8 Launchpad executors for MAVA_SOAK_SECONDS (600)
soak: install
	$(PY) -m pytest -m soak tests/test_soak.py -s $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check mava_core mava_plugins examples tests benchmarks

tensorboard: install
	$(VENV)/bin/tensorboard --logdir runs

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
