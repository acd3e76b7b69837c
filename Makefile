# Veilig Verder compendium. `make help` lists the targets.
# Two commands do everything on a fresh machine with Python 3.11 and pip:
#   make book   - create .venv, install, build the whole book into _build/
#   make test   - create .venv, install, run all tests (unit, contract, end-to-end, nbval, browser)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= _build
TEST_JOBS ?= auto  # pytest-xdist workers for the tests that do not build the book (one per core)
# .pyc files are written (CI sets PYTHONDONTWRITEBYTECODE): the package's modules and pytest's
# rewritten test modules are then compiled once, not again in every kernel, command and worker.
export PYTHONDONTWRITEBYTECODE :=

.DEFAULT_GOAL := help
.PHONY: help book test test-fast venv synth validate bench browser-deps lab clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

UV     := uv==0.13.8
# uv (from PyPI) installs the environment in well under a minute where pip takes about 2 min; pip
# is the fallback. Both take the exact versions of constraints.txt. --compile-bytecode: uv writes
# no .pyc files unless asked (pip does), and where PYTHONDONTWRITEBYTECODE is set (as on CI) every
# kernel and command would compile pandas, scipy and matplotlib again (an import takes 6 s, not 3).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check $(UV) 2>/dev/null \
	  && $(BIN)/python -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e '.[test]' \
	  || { echo "uv unavailable: installing with pip"; \
	       $(BIN)/python -m pip install --quiet --upgrade pip && \
	       $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'; }
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install the package with its test tools

book: $(STAMP) ## build the whole book (synthetic data unless DATA=dir) into _build/
	$(BIN)/veiligverder build $(if $(DATA),--data $(DATA)) --out $(OUT) $(if $(PARAMS),--params $(PARAMS))
	@echo "The book is at $(abspath $(OUT))/html/index.html"

browser-deps: ## install headless Chromium and its driver (Debian packages) for the reader checks
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) || \
	    echo "chromium not installed: the browser checks will be skipped"; }

test: $(STAMP) browser-deps ## run every test in parallel: unit, oracle, the book builds (each once), nbval, browser checks
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadgroup

test-fast: $(STAMP) ## the quick set: every test that does not build the book, in parallel
	$(BIN)/python -m pytest -m "not book" -n $(TEST_JOBS)

synth: $(STAMP) ## write the synthetic twin to data/synthetic/
	$(BIN)/veiligverder synth --out data/synthetic

validate: $(STAMP) ## validate a dataset folder: make validate DATA=dir
	$(BIN)/veiligverder validate $(DATA)

bench: $(STAMP) ## run the benchmark scripts (scoring, build against its floor, statistics, registry-sized data)
	$(BIN)/python benchmarks/bench_scoring.py
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_stats.py
	$(BIN)/python benchmarks/bench_scale.py

LAB_STAMP := $(VENV)/.installed-lab
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

$(LAB_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e '.[lab]' 2>/dev/null \
	  || $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[lab]'
	@mkdir -p $(LAB_SETTINGS)
	@# a double click opens a MyST chapter (notebooks/*.md) as a notebook, through jupytext
	@printf '%s\n' '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $(LAB_SETTINGS)/overrides.json
	@touch $(LAB_STAMP)

lab: $(LAB_STAMP) ## JupyterLab on notebooks/ (the chapters run as they are, on the synthetic twin); LAB_ARGS=... for jupyter lab
	$(BIN)/python -c "from veiligverder.pipeline.build import resolve_dataset; resolve_dataset(None)"
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) $(LAB_ARGS) notebooks

clean: ## remove build outputs (keeps .venv)
	rm -rf $(OUT) data/synthetic
