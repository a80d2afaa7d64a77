# The few commands the README names. Each one sets up what it needs (virtualenv, packages, GOV.UK Frontend).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Links in emails and the printed sign-in address follow HOST and PORT unless SITE_URL is given.
SITE_URL ?= http://$(HOST):$(PORT)
# The development settings file `make run` writes if it is missing.
ENV_FILE ?= .env

.PHONY: run test bench install assets test-provider lint worker beat screenshots clean

install: $(VENV)/.installed assets

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

assets: node_modules/.installed

node_modules/.installed: package.json package-lock.json | $(VENV)/.installed
	scripts/npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The real OpenID provider the single sign-on tests start (tests/oidc_provider; the tests also install it on demand).
test-provider: tests/oidc_provider/node_modules/.installed

tests/oidc_provider/node_modules/.installed: tests/oidc_provider/package.json tests/oidc_provider/package-lock.json | $(VENV)/.installed
	cd tests/oidc_provider && ../../scripts/npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Development settings, written once (never overwritten) and git-ignored: DEBUG on, a generated SECRET_KEY, a signing
# key generated on first use into .audit_signing_key, and the audit witness in var/. The settings read it; real
# environment variables win. A deployment sets real variables instead and has no .env (README "Configuration").
$(ENV_FILE):
	@$(PYTHON) -c 'import secrets; print("# Development settings written by make run (git-ignored). Never use them in production.\n" \
	  "DEBUG=1\nSECRET_KEY=" + secrets.token_urlsafe(50) + "\nAUDIT_SIGNING_KEY_GENERATE=1\n" \
	  "AUDIT_SIGNING_KEY_FILE=.audit_signing_key\nAUDIT_WITNESS_DIR=var/audit-witness")' > $@.tmp && mv $@.tmp $@
	@echo "Wrote $@ with development settings (DEBUG on, a generated SECRET_KEY)"

## make run: migrate, load demo data into an empty database, and serve http://$(HOST):$(PORT) (PORT=8001 make run)
run: export SITE_URL := $(SITE_URL)
run: export ENV_FILE := $(abspath $(ENV_FILE))
run: install $(ENV_FILE)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	@echo "Serving $(SITE_URL)/ (stop with Ctrl-C)"
	$(PY) manage.py runserver $(HOST):$(PORT)

## make test: lint, check for missing migrations, and run the whole suite, one process per CPU (pytest-xdist; each
## process has its own test database). PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
test: install test-provider
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run --settings=tests.settings
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

## make bench: the benchmark suite against PostgreSQL (see README "Performance")
bench: install $(ENV_FILE)
	$(PY) -m bench $(BENCH_ARGS)

worker: install $(ENV_FILE)
	$(VENV)/bin/celery -A sharing_registry worker --loglevel=INFO

beat: install $(ENV_FILE)
	$(VENV)/bin/celery -A sharing_registry beat --loglevel=INFO

screenshots: install $(ENV_FILE)
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) node_modules tests/oidc_provider/node_modules staticfiles
