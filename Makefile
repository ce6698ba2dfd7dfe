# Homeward's commands. `make serve` and `make test` work from a fresh clone with Python 3.11.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi

.PHONY: serve seed test test-sqlite test-postgresql lint format bench migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the dependencies change.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

migrate: $(VENV)/.installed
	$(BIN)/flask db upgrade

## Load the demonstration directory (San Mateo County sample + fictional reentry
## listings); running it again updates the same rows.
seed: migrate
	$(BIN)/flask demo seed

## Set everything up and serve on http://$(HOST):$(PORT) (SQLite in instance/), with the
## demonstration directory and the reminder dispatcher as its own process beside the
## web server. Ctrl-C stops both.
serve: seed
	$(BIN)/flask reminders run & dispatcher=$$!; \
	trap 'kill $$dispatcher 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

## Set everything up and run the whole suite on SQLite and PostgreSQL.
test: $(VENV)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

test-sqlite: $(VENV)/.installed
	$(BIN)/pytest --backend sqlite $(PYTEST_ARGS)

test-postgresql: $(VENV)/.installed
	$(BIN)/pytest --backend postgresql $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed
	$(BIN)/python bench/auth_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
