# Two commands: `make run` serves the demo plant, `make test` runs the whole suite.
# Both install everything they need first, from the committed lock file.

PYTHON ?= python3.11
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
UV := .tools/bin/uv
PORT ?= 8000
HOST ?= 127.0.0.1
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: install run test bench lint migrate clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

install: $(UV)
	@$(UV) sync --frozen --quiet --python $(PYTHON)

migrate: install
	@$(PY) manage.py migrate --noinput -v 0

run: migrate
	@$(PY) manage.py collectstatic --noinput -v 0
	@$(PY) manage.py seed_demo --if-empty
	@echo ""
	@echo "  Shop-floor MES is serving on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@echo ""
	@$(PY) -m uvicorn mes.asgi:application --host $(HOST) --port $(PORT) --no-access-log

# SECRET_KEY is only a placeholder for the test run; production has no default at all.
test: install
	@SECRET_KEY=$${SECRET_KEY:-test-only-secret-key-not-for-production} $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	@set -e; for script in bench/*.py; do echo "== $$script"; $(PY) $$script; done

lint: install
	@$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .tools var staticfiles
