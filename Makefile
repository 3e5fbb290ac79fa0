# yiwang: the two set-up commands are `make demo` and `make test` (see README.md).
# Every target works on a fresh machine with Python 3.11, git and apt.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PLOTLY_BUNDLE := dashboard/vendor/plotly-yiwang.min.js
PYTEST_ARGS ?=

.PHONY: demo test venv system-deps lint format bench eval lock clean

# The main job: environment, demo city, warehouse, then serve on http://127.0.0.1:8050/.
# Re-running reuses the demo (same size/seed/end day) and the build (same inputs and code).
demo: venv $(PLOTLY_BUNDLE)
	$(BIN)/yiwang demo --if-missing
	$(BIN)/yiwang build --if-stale
	$(BIN)/yiwang serve

# The whole test suite: lint, format check, types, then pytest (browser tests included).
test: venv system-deps $(PLOTLY_BUNDLE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	bash scripts/run_pytest.sh $(PYTEST_ARGS)

# Create .venv and install the pinned dependencies; redone only when they change.
venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

# The cockpit's partial plotly.js (dashboard/plotly_bundle.py), built with the machine's
# node and npm from the pinned lockfile; without them the app serves plotly's full bundle.
$(PLOTLY_BUNDLE): dashboard/vendor/package.json dashboard/vendor/package-lock.json \
		dashboard/vendor/plotly-entry.js dashboard/vendor/build-plotly.mjs
	bash dashboard/vendor/build-plotly.sh

# Debian's chromium and CJK fonts for the browser tests (installs only as root).
system-deps:
	bash scripts/install_system_deps.sh

# Lint and type checks only.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Apply the formatter and safe lint fixes.
format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The scale benchmark (docs/benchmarks.md): 1 M and 10 M demo cities, full builds and a
# one-day update (3 runs each, medians), the geopandas + pandas baseline on the same data;
# hours on 2 cores. BENCH_ARGS="--requests 1000000 --repeat 1 --dashboard --loadtest"
# for other runs (python -m benchmarks --help). Results in artifacts/bench/.
bench: venv
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# Hotspot and early-warning figures against the planted truth of 5 demo cities of 300 k
# requests: ~10 min from scratch on 2 cores (generate + build ~1.7 min a city, scoring
# ~15 s), ~1.5 min once the cities in data/eval are built (they are reused). Figures in
# artifacts/eval/eval.json; EVAL_ARGS="--sizes 1000000 --seeds 1,7" for other cities.
eval: venv
	$(BIN)/yiwang eval $(EVAL_ARGS)

# Re-resolve pyproject.toml's dependencies in a throw-away venv (without the old pins, so a
# changed pin can win) and write every resolved version into requirements.lock.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	{ echo "# Pinned versions of every dependency (runtime + dev). Regenerate with: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^yiwang'; } > requirements.lock
	rm -rf .lock-venv

# Remove the environment and caches (never data/).
clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info
