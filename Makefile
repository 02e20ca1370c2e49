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

.PHONY: lab test env unit notebooks bench zoo lecture-models clean-env

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("vaelab needs Python >= 3.10, this is " + sys.version.split()[0]) if sys.version_info < (3, 10) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV_ARGS) $(VENV)
	$(BIN)/python -c 'import torch' 2>/dev/null || $(BIN)/python -m pip install "$(TORCH)"
	$(BIN)/python -m pip install -e ".[lab,test,slides]"
	touch $(STAMP)

env: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

# one pytest worker per core, at most 4 (tests/conftest.py gives each worker its share of the cores' threads)
PYTEST_PARALLEL ?= -n logical --maxprocesses 4 --dist worksteal
# The tests also run `--ray` (tests/test_ray_tables.py), so they add the cluster extra (Ray from PyPI: ~15 s,
# ~245 MB); `make lab` does not. Offline, the Ray tests skip (under CI they fail instead: CI must run them).
CLUSTER := $(BIN)/python -c 'import ray' 2>/dev/null || $(BIN)/python -m pip install -q -e ".[cluster]" \
	|| echo "note: could not install the cluster extra (Ray); the --ray tests will skip"
test: $(STAMP)
	$(CLUSTER)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL)

unit: $(STAMP)
	$(CLUSTER)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "not notebook"

notebooks: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -m notebook

# make bench: every benchmark at the quick size (minutes on a CPU); on a GPU box:
#   make bench BENCH_PROFILE=full BENCH_ARGS="--device cuda"
BENCH_PROFILE ?= quick
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --profile $(BENCH_PROFILE) $(BENCH_ARGS)

# rebuild the shipped quick-mode checkpoints (vaelab/zoo/shipped/) from scratch
zoo: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m vaelab zoo build --quick --ship --no-progress

# rebuild the lecture profile's shipped checkpoints (vaelab/zoo/lecture/: short Yelp, 3 seeds) from scratch, in a
# fresh cache; needs the short Yelp data (VAELAB_DATA_DIR, else a download)
lecture-models: $(STAMP)
	VAELAB_CACHE=$$(mktemp -d) OMP_NUM_THREADS=1 $(BIN)/python -m vaelab zoo ship-lecture --no-progress

clean-env:
	rm -rf $(VENV)

# make book: the course website in book/_build/html (book/build.py): every notebook executed in quick mode, then
# rendered by Sphinx + MyST-NB. A rebuild reuses the executed copies while the notebooks and vaelab are unchanged.
# A partial build: make book BOOK_ARGS="--only 00 03". Publishing: see the README.
.PHONY: book
BOOK_ARGS ?=
book: $(STAMP)
	$(BIN)/python -c 'import myst_nb, sphinx_book_theme' 2>/dev/null || $(BIN)/python -m pip install -e ".[book]"
	$(BIN)/python book/build.py $(BOOK_ARGS)

# make slides NB=02: a notebook as a live slideshow (jupyterlab-rise). JupyterLab opens the notebook; run it
# (Run > Run All Cells), then Alt+R (or the slideshow button in its toolbar) shows the slides, widgets live.
.PHONY: slides
NB ?= 02
SLIDES_NB = $(firstword $(wildcard notebooks/$(NB)*.ipynb))
slides: $(STAMP)
	@test -n "$(SLIDES_NB)" || { echo "make slides NB=$(NB): no notebooks/$(NB)*.ipynb; try NB=02 or NB=05"; exit 2; }
	@echo "Slides of $(SLIDES_NB): in JupyterLab, Run > Run All Cells, then Alt+R (or the slideshow button of the"
	@echo "notebook's toolbar); the full-screen button of the slideshow fills the screen. Space: next, Shift+Space: back."
	$(BIN)/jupyter lab $(SLIDES_NB) $(LAB_ARGS)
