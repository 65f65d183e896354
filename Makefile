# Thin wrappers over the `vitrina` CLI. The README's two commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= demo

# Airflow lives in its own venv (docs/adr/0005): its pins conflict with vitrina's (FastAPI).
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_BIN := $(AIRFLOW_VENV)/bin
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
AIRFLOW_REQS := dags/requirements-airflow.txt dags/constraints-airflow.txt

.PHONY: install promtool pushgateway chromium wrk haproxy demo test test-weekdays lint unit bench bench-load clean airflow-env airflow-test

# Root installs directly, anyone else through sudo (CI runners).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
APT_PROMETHEUS := $(APT_INSTALL) prometheus
APT_PUSHGATEWAY := $(APT_INSTALL) prometheus-pushgateway
APT_CHROMIUM := $(APT_INSTALL) chromium
APT_WRK := $(APT_INSTALL) wrk
APT_HAPROXY := $(APT_INSTALL) haproxy

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

# The alert test (tests/integration/test_alerts_fire.py) runs a real Pushgateway next to the
# `prometheus` of `make promtool`: Debian's `prometheus-pushgateway` (one ~11 MB binary). Its service is
# stopped right away. Without apt, that test skips locally and fails in CI.
pushgateway:
	@command -v prometheus-pushgateway >/dev/null || test -x /usr/bin/prometheus-pushgateway || { \
	  command -v apt-get >/dev/null && \
	  { $(APT_PUSHGATEWAY) || { $(SUDO) apt-get update -q && $(APT_PUSHGATEWAY); }; } && \
	  { $(SUDO) systemctl disable --now prometheus-pushgateway >/dev/null 2>&1 || true; }; \
	} || { [ -z "$$CI" ] && echo "warning: prometheus-pushgateway not installed; the alert test will skip"; }

# The console's browser tests drive Debian's Chromium headless through Playwright (never a
# browser downloaded by `playwright install`). Without apt, those tests skip locally and fail in CI.
chromium:
	@test -x /usr/bin/chromium || { \
	  command -v apt-get >/dev/null && \
	  { $(APT_CHROMIUM) || { $(SUDO) apt-get update -q && $(APT_CHROMIUM); }; }; \
	} || { [ -z "$$CI" ] && echo "warning: chromium not installed; the console browser tests will skip"; }

# wrk drives the load benchmark (benchmarks/load.py): Debian's `wrk` package (~100 kB + LuaJIT).
# Without apt (macOS: `brew install wrk`) the benchmark stops with a message saying so.
wrk:
	@command -v wrk >/dev/null || { \
	  command -v apt-get >/dev/null && \
	  { $(APT_WRK) || { $(SUDO) apt-get update -q && $(APT_WRK); }; }; \
	} || echo "warning: wrk not installed; benchmarks/load.py needs it"

# `haproxy -c` checks deploy/haproxy/haproxy.cfg, the proxy of deploy/docker-compose.yml (Debian's
# `haproxy`, ~2 MB, the same 2.6 series as the compose image). Its service is stopped right away.
# Without apt, that test skips locally and fails in CI.
haproxy:
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || { \
	  command -v apt-get >/dev/null && \
	  { $(APT_HAPROXY) || { $(SUDO) apt-get update -q && $(APT_HAPROXY); }; } && \
	  { $(SUDO) systemctl disable --now haproxy >/dev/null 2>&1 || true; }; \
	} || { [ -z "$$CI" ] && echo "warning: haproxy not installed; the proxy configuration test will skip"; }

install: $(STAMP) promtool pushgateway chromium haproxy

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/vitrina demo --scale $(SCALE)
	HF_HUB_OFFLINE=1 $(BIN)/vitrina serve

# lint-imports: the layer contracts of pyproject.toml (docs/adr/0016-layers.md).
lint: install
	$(BIN)/ruff check src tests benchmarks dags
	$(BIN)/ruff format --check src tests benchmarks dags
	$(BIN)/mypy
	$(BIN)/lint-imports

# The main suite (its worlds end on a fixed day, tests/support/fixed_calendar.py), the quality-threshold
# tests again on worlds ending on other weekdays, and the DAG tests in Airflow's venv.
# Two xdist workers: one runs every integration and e2e test in sequence (they share real services
# and session fixtures), the other the unit tests (tests/support/xdist_scheduling.py). The other
# weekdays and the DAG tests start as soon as the unit worker has nothing left (the scheduler creates
# the file of VITRINA_TEST_IDLE_FILE), on its idle core while the integration sequence goes on, or
# when the main suite ends, whichever comes first. They run one after another at a lower priority
# (nice), so the integration and e2e tests keep their core and two cores never hold three test
# processes; their output is printed whole after the main suite's.
# Any failing part fails the target.
QUALITY_WORLD_ENDS ?= 2026-12-02 2026-12-04
test: install lint
	@after=$$(mktemp -d); \
	( until [ -e "$$after/idle" ]; do sleep 2; done; \
	  status=0; \
	  nice -n 10 $(MAKE) --no-print-directory test-weekdays >"$$after/weekdays.log" 2>&1 || status=1; \
	  nice -n 10 $(MAKE) --no-print-directory airflow-test >"$$after/airflow.log" 2>&1 || status=1; \
	  exit $$status ) & rest=$$!; \
	VITRINA_TEST_IDLE_FILE="$$after/idle" HF_HUB_OFFLINE=1 $(BIN)/pytest -n 2 --dist loadfile --durations=25; \
	main=$$?; [ -e "$$after/idle" ] || touch "$$after/idle"; \
	wait $$rest; rest=$$?; \
	echo "make test-weekdays (started $$(date -u -r "$$after/idle" +%H:%M:%S) UTC)"; cat "$$after/weekdays.log"; \
	echo "make airflow-test"; cat "$$after/airflow.log"; \
	rm -rf "$$after"; \
	echo "main suite: exit $$main; other weekdays and DAG tests: exit $$rest"; \
	[ $$main -eq 0 ] && [ $$rest -eq 0 ]

# The days run one after another (each in its own session and tmp homes); each day's output is
# printed whole once both are done, and either day failing fails the target.
test-weekdays: install
	@logs=$$(mktemp -d); status=0; \
	for day in $(QUALITY_WORLD_ENDS); do \
	  VITRINA_TEST_WORLD_END=$$day HF_HUB_OFFLINE=1 $(BIN)/pytest -m quality -q >"$$logs/$$day.log" 2>&1 || status=1; \
	done; \
	for day in $(QUALITY_WORLD_ENDS); do \
	  echo "quality-threshold tests on a world ending $$day"; cat "$$logs/$$day.log"; \
	done; \
	rm -rf "$$logs"; exit $$status

# Re-install only when the pins change; the constraints file holds the full resolved set.
$(AIRFLOW_STAMP): $(AIRFLOW_REQS)
	test -x $(AIRFLOW_BIN)/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_BIN)/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_BIN)/python -m pip install --quiet -r dags/requirements-airflow.txt -c dags/constraints-airflow.txt
	touch $(AIRFLOW_STAMP)

airflow-env: $(AIRFLOW_STAMP)

# DAG integrity + dag.test() of the drift DAG, in Airflow's venv, calling vitrina's CLI of .venv.
airflow-test: install airflow-env
	VITRINA_BIN=$(abspath $(BIN))/vitrina HF_HUB_OFFLINE=1 $(AIRFLOW_BIN)/pytest -c tests/airflow/pytest.ini tests/airflow

unit: install
	$(BIN)/pytest -m unit

bench: install
	$(BIN)/python benchmarks/generate.py
	$(BIN)/python benchmarks/recs.py

# The API under load (wrk), on the demo home (`make demo` first); ~10 min with the defaults.
bench-load: install wrk
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/load.py

clean:
	rm -rf .vitrina
