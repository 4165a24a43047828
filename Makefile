# Everything goes through uv and the lock file; the only prerequisites are Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
export UV_PROJECT_ENVIRONMENT := .venv
# Compiled once at install: with PYTHONDONTWRITEBYTECODE set (as on our machines) every Python
# process would otherwise recompile ~3,000 modules, ~7 s for each Dagster run and code load.
export UV_COMPILE_BYTECODE := 1
export MLFLOW_DISABLE_TELEMETRY := true
export BENTOML_DO_NOT_TRACK := true
export DO_NOT_TRACK := 1
# The project's own tools (dagster, bentoml, uv) come first on PATH, so every target and what it
# starts finds them without an activated environment.
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: setup demo test test-unit dev up lint bench bench-tools validate docs

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# The interpreter is chosen once, when .venv is made. Naming it again on every sync makes uv
# replace a working environment whenever the name differs from what .venv recorded (a pyenv
# shim, or another PATH), which costs minutes and pulls the venv from under running processes.
# With the scale-out extra (Celery workers, DuckLake), so `make test` runs every test.
setup: $(UV)
	$(UV) sync --frozen --extra scale-out $(if $(wildcard .venv/pyvenv.cfg),,--python $(PYTHON))

demo: setup  ## set up and run the continual-learning demo
	.venv/bin/continual-ml demo

test: setup  ## set up and run the test suite
	.venv/bin/python -m pytest

# One worker per core (pytest-xdist): unit tests share no files, ports or processes.
test-unit: setup  ## the unit tests only (under 90 s): no servers, processes or system flows
	.venv/bin/python -m pytest -n auto continual_ml_tests/unit

DEV_PORT ?= 3000
dev: setup  ## the Dagster UI on the demo's home (run `make demo` first); `make dev DEV_PORT=3100`
	.venv/bin/continual-ml dagster-dev --port $(DEV_PORT)

up: setup  ## the live system: Dagster webserver + daemon, MLflow UI, BentoML service, traffic
	.venv/bin/continual-ml up --traffic

validate: setup  ## load and validate the Dagster definitions (on the local home's instance)
	.venv/bin/continual-ml validate

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

docs: setup  ## the documentation site, built strictly into site/ (`.venv/bin/mkdocs serve` to browse)
	NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir site

# The serving benchmarks' load generator and load balancer, from Debian's packages (as root,
# as in CI); installed only when missing.
BENCH_TOOLS := wrk nginx
bench-tools:
	@missing="$(strip $(foreach tool,$(BENCH_TOOLS),$(if $(shell PATH="$$PATH:/usr/sbin:/sbin" command -v $(tool)),,$(tool))))"; \
	if [ -n "$$missing" ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends $$missing; \
	fi

bench: setup bench-tools  ## the slow benchmarks, out of the default test run
	.venv/bin/python -m pytest -m slow -s
