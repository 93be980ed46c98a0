# SafeBeat — two commands on a fresh machine with Python 3.11 and make:
#   make demo   materialize every asset on the embedded local profile and print a summary
#   make test   run the test suite
#   make ui     Dagster UI + daemon on http://127.0.0.1:3000 (local profile; sample data if none)
#   make dashboard  analysts' dashboard + event planner on http://127.0.0.1:8501 (demo data if none)
#   make bench  Austin-scale benchmark (835,198 calls; BENCH_ARGS="--scale 10" for ten Austins,
#               "--repeats 1" for a quick one)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1

.PHONY: demo test ui dashboard dashboard-bench bench lint format lock sample clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

# `make demo CITY=montgomery` (or seattle) runs another built-in city on its generated data.
demo: $(VENV)/.synced
	$(VENV)/bin/safebeat demo $(if $(CITY),--city $(CITY))

test: $(VENV)/.synced
	$(VENV)/bin/pytest --durations=8

ui: $(VENV)/.synced
	$(VENV)/bin/python -m safebeat_assets.ui

dashboard: $(VENV)/.synced
	$(VENV)/bin/safebeat dashboard

bench: $(VENV)/.synced
	$(VENV)/bin/safebeat bench $(BENCH_ARGS)

# Per-page render times of the dashboard (DASHBOARD_BENCH_ARGS="--austin" at Austin scale).
dashboard-bench: $(VENV)/.synced
	$(VENV)/bin/python -m safebeat_assets.dashboard.timing $(DASHBOARD_BENCH_ARGS)

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.synced
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: $(UV)
	$(UV) lock

sample: $(VENV)/.synced
	$(VENV)/bin/safebeat sample --out data/landing

clean:
	-$(VENV)/bin/safebeat warehouse-stop
	rm -rf data
