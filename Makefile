# Veilig Verder compendium. `make help` lists the targets.
# Two commands do everything on a fresh machine with Python 3.11 and pip:
#   make book   - create .venv, install, build the whole book into _build/
#   make test   - create .venv, install, run all tests (unit, contract, end-to-end, nbval, browser)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= _build

.DEFAULT_GOAL := help
.PHONY: help book test venv synth validate bench browser-deps clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install the package with its test tools

book: $(STAMP) ## build the whole book (synthetic data unless DATA=dir) into _build/
	$(BIN)/veiligverder build $(if $(DATA),--data $(DATA)) --out $(OUT) $(if $(PARAMS),--params $(PARAMS))
	@echo "The book is at $(abspath $(OUT))/html/index.html"

browser-deps: ## install headless Chromium and its driver (Debian packages) for the reader checks
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) || \
	    echo "chromium not installed: the browser checks will be skipped"; }

test: $(STAMP) browser-deps ## run every test: unit, contract, end-to-end build, nbval and browser checks
	$(BIN)/python -m pytest

synth: $(STAMP) ## write the synthetic twin to data/synthetic/
	$(BIN)/veiligverder synth --out data/synthetic

validate: $(STAMP) ## validate a dataset folder: make validate DATA=dir
	$(BIN)/veiligverder validate $(DATA)

bench: $(STAMP) ## run the benchmark scripts (scoring speed, build speed)
	$(BIN)/python benchmarks/bench_scoring.py
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_stats.py

clean: ## remove build outputs (keeps .venv)
	rm -rf $(OUT) data/synthetic
