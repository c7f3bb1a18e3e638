# Two commands do everything on a fresh machine: `make run` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
HOST    ?= 127.0.0.1:8000
STAMP   := $(VENV)/.installed

.PHONY: run test install migrate seed lint format browser pdf benchmark clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## make run: virtualenv, install, migrate SQLite, load the seed papers, demo users, serve.
run: install pdf
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo
	@echo "Serving on http://$(HOST)/ - sign in as finance-torbay / demo (see README)."
	DEBUG=true $(PY) manage.py runserver $(HOST)

## make test: the whole suite (SQLite by default; set DATABASE_URL for PostgreSQL).
## pytest runs on two xdist workers (pyproject.toml addopts): PYTEST_ARGS=-n0 runs it in one
## process; HYPOTHESIS_PROFILE=thorough runs the property tests with many more examples.
PYTEST_ARGS ?=
test: install browser pdf
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Browser tests drive Debian's Chromium; install it when we can, otherwise they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) \
	  || echo "chromium not installed: browser tests will be skipped"; }

# The committee pack's PDF (WeasyPrint) draws text with Pango; install it where it is missing.
pdf:
	@ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && \
	    apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1)) \
	  || echo "Pango not installed: the committee pack PDF needs libpango-1.0-0"; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make benchmark: plan-workbook import/export, then every read page at 1x, 10x and 100x the
## seed and on a 2,000-line plan, on a PostgreSQL database of its own (BENCH_DATABASE_URL;
## SCALE=1,10 for a quicker run).
benchmark: install
	DEBUG=true $(PY) docs/benchmarks/workbook_benchmark.py
	DEBUG=true $(PY) docs/benchmarks/scale_benchmark.py

clean:
	rm -rf $(VENV) staticfiles
