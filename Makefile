# Thin wrappers over the `vitrina` CLI. The README's two commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= demo

.PHONY: install demo test lint unit bench clean

# Re-install only when pyproject.toml changes. torch==2.13.0 (CPU) is pinned in pyproject.toml
# and must come from pip, never uv/poetry, which would fetch a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/vitrina demo --scale $(SCALE)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: install lint
	HF_HUB_OFFLINE=1 $(BIN)/pytest

unit: install
	$(BIN)/pytest -m unit

bench: install
	$(BIN)/python benchmarks/generate.py
	$(BIN)/python benchmarks/recs.py

clean:
	rm -rf .vitrina
