# The two commands: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# jlpm (JupyterLab's pinned yarn) and jupyter-builder come with the venv's jupyterlab.
WITH_VENV := PATH="$(abspath $(VENV))/bin:$$PATH"
LAB_BUILD := nbmodelbook/labextension/package.json
LAB_SOURCES := $(shell find labextension/src labextension/style labextension/schema -type f) \
	labextension/package.json labextension/yarn.lock labextension/tsconfig.json

.PHONY: demo test install lint bench clean

# The venv's JupyterLab loads the extension from its build folder (a link), which `make`
# rebuilds when labextension/ changes.
$(STAMP): pyproject.toml labextension/package.json
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "nbmodelbook needs Python 3.11 or newer")'
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null \
		|| { echo "Building the JupyterLab extension needs Node.js 20.19+ or 22.12+ (found: $$(node --version 2>/dev/null || echo none))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(WITH_VENV) $(PY) -m pip install --quiet -e '.[test,demo,dev,mlflow,pdf,docx]'
	$(WITH_VENV) $(VENV)/bin/jupyter labextension develop --overwrite .
	@touch $(STAMP)

$(LAB_BUILD): $(LAB_SOURCES) | $(STAMP)
	cd labextension && $(WITH_VENV) jlpm install && $(WITH_VENV) jlpm build
	@touch $(LAB_BUILD)

install: $(STAMP) $(LAB_BUILD)

demo: install
	bash scripts/ensure_pdf.sh
	$(VENV)/bin/nbmodelbook execute demo.ipynb -o build/demo.ipynb
	@echo "Runs recorded in .nbmodelbook/runs.sqlite:"
	$(VENV)/bin/nbmodelbook runs demo.ipynb
	$(VENV)/bin/nbmodelbook check build/demo.ipynb --store .nbmodelbook/runs.sqlite || true
	@echo "Review report:"
	$(VENV)/bin/nbmodelbook report build/demo.ipynb --store .nbmodelbook/runs.sqlite -o build/demo.review.html
	$(VENV)/bin/nbmodelbook report build/demo.ipynb --store .nbmodelbook/runs.sqlite -o build/demo.review.pdf

test: lint
	bash scripts/ensure_browser.sh
	bash scripts/ensure_pdf.sh
	bash scripts/ensure_postgres.sh
	cd labextension && $(WITH_VENV) jlpm test
	$(WITH_VENV) $(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check nbmodelbook tests bench scripts
	$(VENV)/bin/ruff format --check nbmodelbook tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	cd labextension && $(WITH_VENV) jlpm lint

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/run_all.py

clean:
	rm -rf build .nbmodelbook .pytest_cache .mypy_cache .ruff_cache nbmodelbook/labextension labextension/lib labextension/tsconfig.tsbuildinfo
