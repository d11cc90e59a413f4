# Galley — the commands the README documents and CI calls.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test lint format migrations-check messages superuser serve bench mutants clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

## Development server on http://127.0.0.1:8000 with SQLite under var/: gunicorn, which reads
## the chunked uploads current NuGet clients send, reloading on code changes.
run: $(VENV)/.runtime
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(VENV)/bin/gunicorn -c config/gunicorn_dev.py config.wsgi

# axe-core, which the browser tests inject to check accessibility (needs npm).
node_modules/.installed: package.json package-lock.json
	if command -v npm >/dev/null; then npm ci --no-audit --no-fund && touch $@; fi

## The whole test suite (on PostgreSQL when DATABASE_URL points there).
test: $(VENV)/.dev node_modules/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Benchmarks on loopback (SQLite; BENCH_ARGS=--postgres adds PostgreSQL); writes docs/benchmarks.md.
bench: $(VENV)/.dev
	$(PY) -m bench.run $(BENCH_ARGS)

## Mutation testing of the modules that decide access, each against its own tests (the
## list: mutants/modules.toml; accepted survivors: mutants/accepted.toml). Not part of
## `make test`. MUTANTS_ARGS="apikeys/tokens.py --jobs 1" runs some modules only.
mutants: $(VENV)/.dev
	$(PY) mutants/run.py $(MUTANTS_ARGS)

## Regenerate the French catalogue from the code, then compile it (needs gettext).
messages: $(VENV)/.dev
	DJANGO_DEBUG=1 $(PY) manage.py makemessages -l fr --no-obsolete --add-location file \
		--ignore=.venv --ignore=node_modules --ignore=tests --ignore=bench --ignore=var \
		--ignore=staticfiles --ignore=test-artifacts
	DJANGO_DEBUG=1 $(PY) manage.py compilemessages -l fr --ignore=.venv

## Production server: gunicorn with settings from the environment (fails fast without them),
## and beside it the worker that sends queued e-mails (GALLEY_TASKS_BACKEND=database, the
## default); the worker stops with gunicorn.
serve: export DJANGO_DEBUG ?= 0
serve: $(VENV)/.runtime
	mkdir -p $${GALLEY_DATA_DIR:-var}
	$(PY) manage.py check --deploy --fail-level WARNING
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	worker=; \
	if [ "$${GALLEY_TASKS_BACKEND:-database}" = database ]; then \
		$(PY) manage.py db_worker --no-reload & worker=$$!; \
	fi; \
	trap '[ -z "$$worker" ] || kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/gunicorn -c config/gunicorn.py config.wsgi

superuser: $(VENV)/.runtime
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py createsuperuser

clean:
	rm -rf $(VENV) staticfiles .pytest_cache node_modules
