# plateread developer commands. `make demo` and `make test` set everything up on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo train-demo test lowest format lint typecheck check clean

setup: $(STAMP)

# torch is pinned and installed first: an unpinned torch would pull gigabytes of CUDA packages.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[train,dev]"
	touch $(STAMP)

# The main job: read the example plates with the shipped readers.
demo: $(STAMP)
	$(BIN)/plateread read examples/plates/ru --model ru
	$(BIN)/plateread read examples/plates/ru_all --model ru_all
	$(BIN)/plateread read examples/plates/cn --model cn

# A short end-to-end run of the training pipeline: render plates, train ~4 minutes, evaluate.
train-demo: $(STAMP)
	rm -rf demo && mkdir -p demo
	$(BIN)/plateread synth --format ru -n 3000 --out demo/train --seed 1 --grid demo/samples.png
	$(BIN)/plateread synth --format ru -n 300 --out demo/val --seed 2
	$(BIN)/plateread train --data json:demo/train/config.json --val-data json:demo/val/config.json \
		--format ru --arch crnn_small --epochs 8 --max-minutes 4 --out demo/runs
	$(BIN)/plateread eval --model demo/runs/001-crnn_small/best.pt --data json:demo/val/config.json
	@if [ -d ../shared/data/ru_dev ]; then \
		$(BIN)/plateread eval --model demo/runs/001-crnn_small/best.pt --data json:../shared/data/ru_dev; fi

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=8

# Against the lowest versions pyproject.toml allows (.ci/lowest-read.txt, .ci/lowest.txt), in venvs
# of their own: reading the example plates with the runtime alone, then the whole test suite.
lowest:
	rm -rf .venv-lowest-read .venv-lowest build  # build/: pip's in-tree copy, stale after a move
	$(PY) -m venv .venv-lowest-read
	.venv-lowest-read/bin/pip install -q -r .ci/lowest-read.txt
	.venv-lowest-read/bin/pip install -q --no-deps .
	.venv-lowest-read/bin/plateread read examples/plates/ru --model ru
	.venv-lowest-read/bin/plateread read examples/plates/cn --model cn
	$(PY) -m venv .venv-lowest
	.venv-lowest/bin/pip install -q --upgrade pip
	.venv-lowest/bin/pip install -q torch==2.13.0
	.venv-lowest/bin/pip install -q -e ".[train,dev]" -c .ci/lowest.txt
	.venv-lowest/bin/python -m pytest -q

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/ruff check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .venv-lowest .venv-lowest-read demo .mypy_cache .ruff_cache .pytest_cache
