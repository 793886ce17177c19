# Two commands for a newcomer:  make demo   (the main job on the embedded default)
#                               make test   (lint, types and the test suite)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export HANSTACK_MODELS_CACHE ?= $(CURDIR)/.models

.PHONY: demo test lint typecheck venv clean bench

$(BIN)/hanstack: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[all,dev]"
	@touch $@

venv: $(BIN)/hanstack

demo: venv
	$(BIN)/hanstack demo

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: venv
	$(BIN)/mypy

test: venv lint typecheck
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
