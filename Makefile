# The two commands: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test install lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "nbmodelbook needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,demo,dev,mlflow]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/nbmodelbook execute demo.ipynb -o build/demo.ipynb
	@echo "Runs recorded in .nbmodelbook/runs.sqlite:"
	$(VENV)/bin/nbmodelbook runs demo.ipynb
	$(VENV)/bin/nbmodelbook check build/demo.ipynb --store .nbmodelbook/runs.sqlite || true
	@echo "Review report:"
	$(VENV)/bin/nbmodelbook report build/demo.ipynb --store .nbmodelbook/runs.sqlite -o build/demo.review.html

test: lint
	bash scripts/ensure_browser.sh
	bash scripts/ensure_postgres.sh
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check nbmodelbook tests bench scripts
	$(VENV)/bin/ruff format --check nbmodelbook tests bench scripts
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/run_all.py

clean:
	rm -rf build .nbmodelbook .pytest_cache .mypy_cache .ruff_cache
