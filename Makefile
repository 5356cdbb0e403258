# Two commands for a newcomer: `make run` (set up, build models, serve) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV        ?= .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
ARGS        ?=

.PHONY: help setup proto models run test lint typecheck bench load clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements/runtime.txt requirements/dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/runtime.txt -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)  ## create the virtual environment and install pinned dependencies (idempotent)

proto: $(STAMP)  ## regenerate the checked-in Python code from protos/
	$(PY) -m grpc_tools.protoc -I protos --python_out=service --pyi_out=service \
	  --grpc_python_out=service protos/nostalgia/v1/nostalgia.proto
	touch service/nostalgia/v1/__init__.py

models: $(STAMP)  ## build every TorchScript model into model_repository/*/1/ (idempotent)
	$(PY) -m nostalgia_models

run: models  ## serve on the embedded Triton (ports: see `$(PY) -m nostalgia --help`)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m nostalgia $(ARGS)

test: models  ## lint, type-check and run the whole test suite against real servers
	$(MAKE) --no-print-directory lint typecheck
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest $(ARGS)

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check service converters clients tests bench
	$(VENV)/bin/ruff format --check service converters clients tests bench

typecheck: $(STAMP)  ## mypy, strict, on our modules
	$(VENV)/bin/mypy service/nostalgia converters/nostalgia_models clients/nostalgia_client

bench: models  ## print speed and memory figures (CPU here; GPU on a GPU machine)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m bench $(ARGS)

load: models  ## concurrent Animate streams against the local service: throughput, TTFF, errors, peak RSS
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m bench.load $(ARGS)

clean:  ## remove the environment, caches and built models
	rm -rf $(VENV) .cache model_repository/*/1/*.pt
