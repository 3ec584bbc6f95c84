# a2c-repro: pinned environment and the two commands of the README.
#
#   make reproduce      venv from the hash-pinned lock, then the pipeline: says what is out of
#                       date and runs only that (a fresh clone has nothing to do)
#   make reproduce-all  the same, but retrains and redraws everything (every experiment of
#                       config/config.yaml's `run`: main, collapse_study, fidelity)
#   make test           venv from the hash-pinned lock, then the test suite (what CI runs)
#
# Other targets: lint, lock, wheelhouse, docker-build, docker-test, clean-venv.
# Needs only Python 3.11 (with its venv module) and network access to PyPI and to
# PyTorch's CPU wheel index (torch==2.13.0+cpu is published there, not on PyPI).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Python 3.11: python3.11 if on PATH, else python3 (checked to be 3.11 before use).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null || echo python3.11)
VENV ?= .venv
CORES ?= $(shell nproc 2>/dev/null || echo 2)
LOCK := requirements.lock
# Where pip finds the CPU-only torch wheel that the lock pins. Only the torch
# install step uses it, so the other ~90 packages are looked up on PyPI alone.
# If the wheel is already reachable (a --find-links in pip.conf, a wheelhouse),
# pip takes it from there and an unreachable index only costs a warning.
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
# pip-tools version used by `make lock` (in a throw-away venv).
PIP_TOOLS_VERSION ?= 7.6.2
WHEELHOUSE ?= wheelhouse

BIN := $(VENV)/bin
STAMP := $(VENV)/.a2c-repro-installed
# The torch requirement of the lock (name==version plus its --hash lines).
TORCH_REQ := $(VENV)/torch-requirement.txt

.PHONY: help install reproduce reproduce-all test lint lock wheelhouse docker-build docker-test clean-venv

help:
	@echo "make reproduce      set up $(VENV) from $(LOCK), then run what is out of date (snakemake --cores $(CORES))"
	@echo "make reproduce-all  the same, retraining everything (all experiments, --forceall)"
	@echo "                    both take TARGETS=<experiment ...> and CONFIG=<your overlay.yaml>"
	@echo "make test        set up $(VENV) from $(LOCK) and run the test suite"
	@echo "make lint        ruff, snakefmt --check, snakemake --lint, hadolint"
	@echo "make lock        regenerate $(LOCK) from pyproject.toml (pip-compile --generate-hashes)"
	@echo "make wheelhouse  download every locked wheel into $(WHEELHOUSE)/ (offline Docker builds)"
	@echo "make docker-build  docker build -t a2c-repro ."
	@echo "make docker-test   the CI Docker test: private dockerd, offline build, tests and byte-identity inside"

install: $(STAMP)

# The venv is rebuilt from the lock whenever the lock or pyproject.toml changes.
$(STAMP): $(LOCK) pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: PYTHON=$(PYTHON) not found; install Python 3.11 or run 'make $(MAKECMDGOALS) PYTHON=/path/to/python3.11'" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v[:2] == (3, 11) else f"error: PYTHON=$(PYTHON) is Python {v.major}.{v.minor}; the lock is for Python 3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@awk '/^torch==/ {p = 1} p {print} p && !/\\$$/ {exit}' $(LOCK) > $(TORCH_REQ)
	@grep -q '^torch==.*+cpu' $(TORCH_REQ) || { echo "error: no torch==...+cpu pin in $(LOCK)" >&2; exit 1; }
	$(BIN)/python -m pip install --disable-pip-version-check --require-hashes --no-deps \
	  --extra-index-url $(TORCH_INDEX_URL) -r $(TORCH_REQ)
	$(BIN)/python -m pip install --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --disable-pip-version-check --no-deps --no-build-isolation --no-index -e .
	$(BIN)/python -m pip check
	@touch $@

# The plan first (Snakemake's dry run: the workflow prints, per experiment, the training jobs
# to run and their CPU-minutes estimated from results/benchmarks), then the run. TARGETS
# narrows it to named experiments (e.g. TARGETS=collapse_study); CONFIG merges a config file
# of your own onto config/config.yaml.
TARGETS ?=
CONFIG ?=
SNAKEMAKE_ARGS := --cores $(CORES) $(if $(CONFIG),--configfile $(CONFIG)) $(TARGETS)
# The jobs call `a2c-repro` and Python: the venv's, without activating it first.
reproduce reproduce-all: export PATH := $(abspath $(BIN)):$(PATH)
reproduce: $(STAMP)
	@$(BIN)/snakemake $(SNAKEMAKE_ARGS) --dry-run --quiet rules > $(VENV)/plan.txt 2>&1 \
	  || { cat $(VENV)/plan.txt >&2; exit 1; }
	@n_all=$$(awk '$$1 == "total" {exit} $$2 ~ /^[0-9]+$$/ && $$1 != "all" && $$1 != "job" {n += $$2} END {print n + 0}' $(VENV)/plan.txt); \
	if [ "$$n_all" = 0 ]; then echo "reproduce: nothing to do, the results are up to date"; exit 0; fi; \
	echo "reproduce: $$n_all job(s) to run on $(CORES) core(s)"; \
	sed -n '/^Training to run/,/^  in all/p' $(VENV)/plan.txt; \
	$(BIN)/snakemake $(SNAKEMAKE_ARGS)

reproduce-all: $(STAMP)
	@echo "reproduce-all: retraining and redrawing every experiment on $(CORES) core(s)"
	$(BIN)/snakemake $(SNAKEMAKE_ARGS) --forceall

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint
	$(BIN)/hadolint Dockerfile

# Regenerate the lock from pyproject.toml (all extras), with sha256 hashes of every
# file, in a throw-away venv so the project venv is untouched. Pass
# LOCK_PIP_ARGS= when the torch wheel is reachable otherwise (pip.conf find-links).
LOCK_PIP_ARGS ?= --extra-index-url $(TORCH_INDEX_URL)
lock:
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --disable-pip-version-check pip-tools==$(PIP_TOOLS_VERSION); \
	CUSTOM_COMPILE_COMMAND="make lock" "$$tmp/venv/bin/pip-compile" --quiet \
	  --generate-hashes --allow-unsafe --strip-extras \
	  --extra test --extra lint --extra slurm --extra build \
	  --no-emit-index-url --no-emit-trusted-host --no-emit-find-links \
	  $(LOCK_PIP_ARGS) --output-file $(LOCK) pyproject.toml
	@! grep -iE '^(nvidia|triton)' $(LOCK) || { echo "error: $(LOCK) pulls CUDA packages; torch must resolve to the +cpu wheel" >&2; exit 1; }
	@grep -q '^torch==.*+cpu' $(LOCK) || { echo "error: torch in $(LOCK) is not the +cpu build" >&2; exit 1; }

# Every file of the lock, checked against its hash, for this machine's platform (the
# Docker image needs linux x86_64 / CPython 3.11). connection-pool is an sdist only;
# the image builds it offline with the locked setuptools from the wheelhouse.
wheelhouse: $(STAMP)
	mkdir -p $(WHEELHOUSE)
	$(BIN)/python -m pip download --disable-pip-version-check --require-hashes --no-deps \
	  --extra-index-url $(TORCH_INDEX_URL) -r $(TORCH_REQ) -d $(WHEELHOUSE)
	$(BIN)/python -m pip download --disable-pip-version-check --require-hashes --no-deps \
	  -r $(LOCK) -d $(WHEELHOUSE)

docker-build:
	docker build --build-arg GIT_COMMIT=$$(git rev-parse HEAD) -t a2c-repro .

docker-test:
	bash .ci/docker_build_test.sh

clean-venv:
	rm -rf $(VENV)
