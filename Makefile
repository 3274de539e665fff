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

.PHONY: install catalogs run demo-reset plant test validation-report bench lint migrate clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

install: $(UV) node_modules
	@$(UV) sync --frozen --quiet --python $(PYTHON)
	@$(MAKE) --no-print-directory catalogs

# The translations (<app>/locale and locale/: <lang>/LC_MESSAGES/django.po, djangojs.po) compiled to
# the .mo files the app reads (build output, not committed). Needs GNU gettext's msgfmt; without it
# the screens speak English only, and the catalog test of `make test` says why. Compiling needs no
# metrics: a caller's PROMETHEUS_MULTIPROC_DIR (`make plant` creates it only after this) is unset.
catalogs:
	@if command -v msgfmt >/dev/null; then \
	  SECRET_KEY=$${SECRET_KEY:-compile-only} env -u PROMETHEUS_MULTIPROC_DIR $(PY) manage.py compilemessages -v 0 \
	    --ignore '.venv' --ignore '.tools' --ignore 'node_modules' --ignore 'var'; \
	else echo "msgfmt (GNU gettext) is missing: the translations are not compiled (apt-get install gettext)" >&2; fi

# Browser libraries the app serves itself, no CDN (package.json: the camera's barcode decoder);
# settings.STATICFILES_DIRS exposes their built files under /static/vendor/.
node_modules: package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent && touch node_modules; fi

migrate: install
	@$(PY) manage.py migrate --noinput -v 0

# The fake ERP (integration/fake_erp.py) runs beside the demo so messages flow; it stops with it.
# It listens on the port after the web server's (PORT=8080 make run: 8081) unless FAKE_ERP_PORT
# says otherwise, and the web server delivers there (ERP_URL) whatever port an earlier run used.
FAKE_ERP_PORT ?= $(shell expr $(PORT) + 1)
export FAKE_ERP_PORT
# Stop what `make run` started beside the web server (each only once, whichever way it ends).
STOP_HELPERS = for f in var/fake-erp.pid var/seal-audit.pid; do \
	  if [ -f $$f ]; then kill $$(cat $$f) 2>/dev/null; rm -f $$f; fi; done

run: migrate
	@$(PY) manage.py collectstatic --noinput -v 0
	@$(STOP_HELPERS)
	@$(PY) manage.py fake_erp --port $(FAKE_ERP_PORT) > var/fake-erp.log 2>&1 & echo $$! > var/fake-erp.pid
	@$(PY) manage.py seed_demo --if-empty
	@$(PY) manage.py seal_audit_trail --every 300 > var/seal-audit.log 2>&1 & echo $$! > var/seal-audit.pid
	@echo ""
	@echo "  Shop-floor MES is serving on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@echo "  The fake ERP receives its messages on http://127.0.0.1:$(FAKE_ERP_PORT)/  (totals: /orders; log: var/fake-erp.log)"
	@echo ""
	@echo "  The server's line simulator moves the demo lines; live dashboard: /live/ (wall screen: /live/?wall=1)"
	@echo "  The audit trail is sealed every 5 minutes (log: var/seal-audit.log); auditor: /audit/"
	@echo "  Start the demo plant over: make demo-reset"
	@echo ""
	@# Warnings and errors only on this console; the web server stops on Ctrl-C with status 0.
	@trap 'trap - EXIT INT TERM; $(STOP_HELPERS)' EXIT INT TERM; \
	  SIMULATE_LINES=on LOG_FORMAT=$${LOG_FORMAT:-text} LOG_LEVEL=$${LOG_LEVEL:-WARNING} \
	  ERP_URL=$${ERP_URL:-http://127.0.0.1:$(FAKE_ERP_PORT)} \
	  $(PY) -m uvicorn config.asgi:application --host $(HOST) --port $(PORT) --no-access-log \
	    --lifespan off --log-level warning; \
	  status=$$?; case $$status in 0|130|143) exit 0;; *) exit $$status;; esac

# Start the demo plant over (its data only: the installed environment stays): every row goes, the
# demo plant is seeded again. Stop `make run` first.
demo-reset: migrate
	@$(PY) manage.py seed_demo --reset

# The production topology of the Procfile (web, Celery worker and beat, MQTT ingestor) on this
# machine's PostgreSQL, Redis and Mosquitto, migrated first; Ctrl-C or SIGTERM stops every process.
PLANT_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/mes)
PLANT_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/0)
PLANT_BROKER_URL ?= $(or $(CELERY_BROKER_URL),redis://127.0.0.1:6379/1)
plant: export DATABASE_URL := $(PLANT_DATABASE_URL)
plant: export REDIS_URL := $(PLANT_REDIS_URL)
plant: export CELERY_BROKER_URL := $(PLANT_BROKER_URL)
plant: export WEB_PORT := $(PORT)
plant: export WEB_HOST := $(HOST)
plant: install
	@mkdir -p var && export SECRET_KEY="$${SECRET_KEY:-$$($(PY) -c 'import pathlib, secrets; p = pathlib.Path("var/plant_secret_key"); p.exists() or p.write_text(secrets.token_urlsafe(50)); print(p.read_text())')}"; \
	  export PROMETHEUS_MULTIPROC_DIR="$${PROMETHEUS_MULTIPROC_DIR:-$(CURDIR)/var/metrics}" && \
	  mkdir -p "$$PROMETHEUS_MULTIPROC_DIR" && rm -f "$$PROMETHEUS_MULTIPROC_DIR"/*.db && \
	  $(PY) manage.py migrate --noinput -v 0 && $(PY) manage.py collectstatic --noinput -v 0 && \
	  exec $(VENV)/bin/honcho start -f Procfile

# The company sign-in tests run against a real OpenID Connect provider under Node (tests/oidc).
tests/oidc/node_modules: tests/oidc/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/oidc --no-audit --no-fund --silent; fi

# SECRET_KEY is only a placeholder for the test run; production has no default at all.
test: install tests/oidc/node_modules
	@SECRET_KEY=$${SECRET_KEY:-test-only-secret-key-not-for-production} $(PY) -m pytest $(PYTEST_ARGS)

# The traceability matrix for the validation file: the suite (or PYTEST_ARGS) run with the
# requirement markers collected; JSON, HTML and PDF in test-artifacts/validation/. Only the
# tests that name a requirement: make validation-report PYTEST_ARGS="-m requirement"
validation-report: install tests/oidc/node_modules
	@SECRET_KEY=$${SECRET_KEY:-test-only-secret-key-not-for-production} $(PY) -m pytest -p mes.tests.validation $(PYTEST_ARGS)

bench: install
	@set -e; for script in bench/*.py; do echo "== $$script"; $(PY) $$script; done

# ruff (style, and no import inside a function without a reason), then the apps' layering and
# the absence of import cycles (import-linter, contracts in pyproject.toml).
lint: install
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(VENV) .tools var staticfiles
