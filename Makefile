# Thin wrappers over the `vitrina` CLI. The README's two commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= demo

.PHONY: install promtool demo test lint unit bench clean

# Root installs directly, anyone else through sudo (CI runners).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PROMETHEUS := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus

# Re-install only when pyproject.toml changes. torch==2.13.0 (CPU) is pinned in pyproject.toml
# and must come from pip, never uv/poetry, which would fetch a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	touch $(STAMP)

# promtool checks and unit-tests deploy/prometheus/alerts.yml. Debian/Ubuntu ship it only in
# the `prometheus` package (no separate promtool package): ~19 MB, 12 packages, ~30 s with
# fresh apt lists. The package enables a Prometheus service; it is stopped right away. Without
# apt (macOS), the rule tests skip locally and fail in CI.
promtool:
	@command -v promtool >/dev/null || { \
	  command -v apt-get >/dev/null && \
	  { $(APT_PROMETHEUS) || { $(SUDO) apt-get update -q && $(APT_PROMETHEUS); }; } && \
	  { $(SUDO) systemctl disable --now prometheus >/dev/null 2>&1 || true; }; \
	} || { [ -z "$$CI" ] && echo "warning: promtool not installed; the alert-rule tests will skip"; }

install: $(STAMP) promtool

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
