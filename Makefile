# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA_DIR ?= ./var/db
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint diagram translations clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Seeds the demo complaints (idempotent) and serves the API with the embedded database. The
# first seed-demo writes the development settings (a random JWT secret) to var/development.env,
# which every `resolution` command run here reads: the README's commands work as pasted.
run: install
	$(BIN)/resolution seed-demo --data-dir $(DATA_DIR) --console-url http://$(HOST):$(PORT)/console
	$(BIN)/resolution serve --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT) --workers 1 --threads 4 --sweep-interval 60 --deliver-interval 1

test: install
	.ci/ensure-chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check resolution schemas tests benchmarks
	$(BIN)/ruff format --check resolution schemas tests benchmarks

# Regenerates docs/lifecycle.mmd and the console's picture, in each language, from the machine
# class and the catalogue (tests check both are current; run it after `make translations`). The picture needs Graphviz here, never at run time: apt-get install graphviz.
diagram: install
	$(BIN)/python -m resolution.domain.diagram > docs/lifecycle.mmd
	for lang in id en; do \
	  $(BIN)/python -c "from resolution.console.diagram import main; main('$$lang')" | dot -Tsvg > resolution/console/static/lifecycle-$$lang.svg; \
	done

# Extracts the strings people read (console, printable records), merges them into the
# Indonesian catalogue, and compiles it (a test checks the compiled file is current).
translations: install
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o var/messages.pot .
	$(BIN)/pybabel update -i var/messages.pot -d resolution/web/translations --width 100
	$(BIN)/pybabel compile -d resolution/web/translations

clean:
	rm -rf $(VENV) var .pytest_cache
