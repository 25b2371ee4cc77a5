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
# Real SMAC (oxwhirl/smac; PyPI's `smac` is SMAC3) for tests/test_smac_real.py: `make test` installs
# it from SMAC_SRC when that file is there, `make smac SMAC_SRC=<any pip spec>` from anywhere.
SMAC_SRC ?= ../shared/third_party/smac-master-src.tar.gz
SMAC_STAMP := $(VENV)/.installed-smac

.PHONY: install run test soak lint tensorboard clean help robocup-server

help:
	@echo "make run                     train MADQN on simple_spread (Launchpad, 2 executors, ~5 min)"
	@echo "make run EXAMPLE=path.py     run an example script (ARGS='--env-steps 5000 key=value ...')"
	@echo "make test                    run the test suite (TEST_WORKERS=2 processes; 1 for one)"
	@echo "make smac                    install real SMAC from SMAC_SRC (default $(SMAC_SRC))"
	@echo "make soak                    8 executors against one replay server for 10 min (MAVA_SOAK_SECONDS=...)"
	@echo "make lint                    run ruff and mypy"
	@echo "make robocup-server          build rcssserver 19.0.0 into ~/.cache/mava (RCSSSERVER_TARBALL=...; cached)"
	@echo "make install                 create $(VENV) with Python 3.10 and install mava[$(EXTRAS)]"

install: $(STAMP)

$(STAMP): setup.py constraints.txt
	@bash scripts/make_venv.sh "$(VENV)"
	$(PY) -m pip install --quiet --disable-pip-version-check "pip<24" "setuptools<70" wheel
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[$(EXTRAS)]"
	@touch $@

run: install
	$(PY) $(EXAMPLE) $(ARGS)

# --no-deps: SMAC and pysc2 declare `pygame`, which pip would install over the pinned pygame-ce;
# websocket-client is the one other package SMAC's code needs (pins in constraints.txt).
.PHONY: smac
smac: $(SMAC_STAMP)
$(SMAC_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt "$(SMAC_SRC)" pysc2 s2clientprotocol websocket-client
	@touch $@

test: install $(if $(wildcard $(SMAC_SRC)),$(SMAC_STAMP))
ifeq ($(TEST_WORKERS),1)
	$(PY) -m pytest $(PYTEST_ARGS)
else
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not soak and not ray_cluster" $(PYTEST_ARGS) $(NO_TESTS_IS_FINE)
	$(PY) -m pytest -m "ray_cluster and not soak" $(PYTEST_ARGS) $(NO_TESTS_IS_FINE)
endif

# the soak test (marked soak, so never in `make test`): 8 Launchpad executors for MAVA_SOAK_SECONDS (600)
soak: install
	$(PY) -m pytest -m soak tests/test_soak.py -s $(PYTEST_ARGS)

# ruff (line length 120; per-file exceptions in pyproject.toml), then mypy over mava_core and mava_plugins
lint: install
	$(VENV)/bin/ruff check mava_core mava_plugins examples tests benchmarks
	$(PY) -m mypy

# the RoboCup soccer server for the robocup environments and their real-server tests (skipped without it)
robocup-server:
	@bash scripts/build_rcssserver.sh

tensorboard: install
	$(VENV)/bin/tensorboard --logdir runs

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache
