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
# `make test` runs the suite on TEST_WORKERS pytest-xdist workers (2, one per core here), then
# the tests that start a local Ray cluster (marked ray_cluster) in one process of their own;
# TEST_WORKERS=1 runs everything in one process. A stage that selects no test (PYTEST_ARGS
# naming a single file, say) is not a failure.
TEST_WORKERS ?= 2
NO_TESTS_IS_FINE := || [ $$? -eq 5 ]

.PHONY: install run test soak lint tensorboard clean help

help:
	@echo "make run                     train MADQN on simple_spread (Launchpad, 2 executors, ~6 min)"
	@echo "make run EXAMPLE=path.py     run an example script (ARGS='--env-steps 5000 key=value ...')"
	@echo "make test                    run the test suite (TEST_WORKERS=2 processes; 1 for one)"
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
ifeq ($(TEST_WORKERS),1)
	$(PY) -m pytest $(PYTEST_ARGS)
else
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not soak and not ray_cluster" $(PYTEST_ARGS) $(NO_TESTS_IS_FINE)
	$(PY) -m pytest -m "ray_cluster and not soak" $(PYTEST_ARGS) $(NO_TESTS_IS_FINE)
endif

# the soak test (marked soak, so never in `make test`): 8 Launchpad executors for MAVA_SOAK_SECONDS (600)
soak: install
	$(PY) -m pytest -m soak tests/test_soak.py -s $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check mava_core mava_plugins examples tests benchmarks

tensorboard: install
	$(VENV)/bin/tensorboard --logdir runs

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
