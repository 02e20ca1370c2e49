# The two commands (see README): `make lab` and `make test`. Both create the environment first.
# torch is installed pinned and first, so pip never pulls CUDA wheels on a CPU machine; the package
# itself accepts torch>=2.4,<2.16. On a machine with torch already installed system-wide (a GPU box):
#   make test VENV_ARGS=--system-site-packages
PYTHON ?= python3
VENV ?= .venv
VENV_ARGS ?=
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.vaelab-installed
# JupyterLab refuses to start as root (containers, some cloud VMs) unless told it may.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test env unit notebooks bench zoo clean-env

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("vaelab needs Python >= 3.10, this is " + sys.version.split()[0]) if sys.version_info < (3, 10) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV_ARGS) $(VENV)
	$(BIN)/python -c 'import torch' 2>/dev/null || $(BIN)/python -m pip install "$(TORCH)"
	$(BIN)/python -m pip install -e ".[lab,test]"
	touch $(STAMP)

env: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not notebook"

notebooks: $(STAMP)
	$(BIN)/python -m pytest -m notebook

# make bench: every benchmark at the quick size (minutes on a CPU); on a GPU box:
#   make bench BENCH_PROFILE=full BENCH_ARGS="--device cuda"
BENCH_PROFILE ?= quick
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --profile $(BENCH_PROFILE) $(BENCH_ARGS)

# rebuild the shipped quick-mode checkpoints (vaelab/zoo/shipped/) from scratch
zoo: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m vaelab zoo build --quick --ship --no-progress

clean-env:
	rm -rf $(VENV)
