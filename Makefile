# Two commands: `make run` (the app) and `make test` (lint + the whole test suite).
# Each creates .venv with Python 3.11 and installs what is missing first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# localhost by default: a specific address also spares Streamlit its external-IP lookup, so the
# app starts without touching the network. `make run ADDRESS=0.0.0.0` serves other machines.
ADDRESS ?= localhost
PORT    ?= 8501

.PHONY: run test bench clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# optviz itself, editable: Streamlit finds the race player's assets (optviz/web) through
	# the installed package's pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m optviz.web.vendor >/dev/null
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/core.py
	$(BIN)/python bench/app.py
	$(BIN)/python bench/browser.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis artifacts
