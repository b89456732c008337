# Two commands do all the set-up on a fresh machine: `make run` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= auto
STAMP := $(VENV)/.installed
RAPIDS_SRC := .cache/rapids-src
# `make run` on a GPU machine adds the RAPIDS extra that the driver and GPU can run (one line says why not);
# EXTRAS=… overrides. Only the `run` recipe expands it, once: nvidia-smi is asked once per `make run`, never by others.
EXTRAS ?= $(shell $(PYTHON) helpers/collection/gpu_extra.py)

.PHONY: run test lint lab notebooks gpu-check binder-check venv clean rapids-src extra

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev,lab]'
	touch $(STAMP)

## The pinned RAPIDS release's sources (cuDF, cuML, dask-cudf, dask-cuda wheels, no dependencies, about 10 MB),
## read by the API conformance test and the coverage claims; fetched once, again when pyproject.toml changes.
rapids-src: $(RAPIDS_SRC)/versions.json

$(RAPIDS_SRC)/versions.json: pyproject.toml | $(STAMP)
	rm -rf $(RAPIDS_SRC)
	$(PY) -m helpers.rapids.release fetch $(RAPIDS_SRC)

## Execute every notebook headless and write reports/latest/report.{md,html} and claims.json; then compare the
## verdicts with the committed reference runs (docs/results/) and say how to contribute this run.
run: $(STAMP)
	$(MAKE) rapids-src || echo "RAPIDS sources not fetched: the API coverage claims of 01/02 will read 'not measurable here'."
	$(MAKE) extra EXTRA='$(strip $(EXTRAS))'
	$(PY) -m helpers run --profile $(PROFILE); code=$$?; $(PY) -m helpers compare --references reports/latest; exit $$code

## The pip extra EXTRA (`run` passes the detected one), installed once, again when pyproject.toml changes.
extra: $(if $(EXTRA),$(VENV)/.installed-$(EXTRA))

$(VENV)/.installed-%: pyproject.toml | $(STAMP)
	$(PY) -m pip install -e '.[$*]'
	touch $@

## Lint; every notebook executed once by nbval (smoke profile), its `# NBVAL_CHECK_OUTPUT` cells compared with their
## committed outputs; then the unit tests and the tests of each notebook's results, which read what nbval's run
## wrote to reports/nbval (nothing is executed twice). Both run on one worker per core (at most 4), a notebook or
## a test file per worker at a time, each worker on one thread (PyTorch's and Inductor's pools would otherwise
## put a thread per core in every worker, and two notebooks on two cores then run about half as fast as one after
## the other); the second runs even when the first fails, and make fails if either did.
TEST_THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TORCHINDUCTOR_COMPILE_THREADS=1
test: $(STAMP) lint $(RAPIDS_SRC)/versions.json
	rm -rf reports/nbval
	$(TEST_THREADS) FSL_PROFILE=smoke $(PY) -m pytest --nbval-lax notebooks -n auto --maxprocesses 4 \
		--dist loadfile --nbval-cell-timeout 600 -p no:cacheprovider -q; nbval=$$?; \
	$(TEST_THREADS) FSL_PROFILE=smoke FSL_NBVAL_RESULTS=reports/nbval $(PY) -m pytest tests -m "not network" -n auto \
		--maxprocesses 4 --dist loadfile --timeout 900 --durations 15; tests=$$?; \
	test $$nbval -eq 0 -a $$tests -eq 0

## Binder's requirements resolve from PyPI (a pip dry run; needs the network, so it is not part of `make test`).
binder-check: $(STAMP)
	$(PY) -m pytest tests/test_binder.py -m network

lint: $(STAMP)
	$(PY) -m ruff check helpers tests notebooks
	$(PY) -m ruff format --check helpers tests notebooks

## JupyterLab on this collection.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

## Re-stamp the notebooks' badges, re-execute them in place (cpu profile), refresh the README's index and claims,
## publish the run as this machine's reference in docs/results/ and refresh the README's results across machines.
notebooks: $(STAMP) $(RAPIDS_SRC)/versions.json
	$(PY) -m helpers badges
	$(PY) -m helpers run --profile cpu --in-place --out reports/notebooks
	$(PY) -m helpers readme --run reports/notebooks
	$(PY) -m helpers publish reports/notebooks
	$(PY) -m helpers compare docs/results/* --readme README.md

## On a CUDA machine: every notebook (00–10; 01–03 report RAPIDS absent when it is) with the gpu profile, then every
## gpu-marked test of the suite.
gpu-check: $(STAMP) $(RAPIDS_SRC)/versions.json
	PYTHON=$(PY) bash tests/gpu/run.sh reports/gpu

clean:
	rm -rf $(VENV) reports .pytest_cache .ruff_cache
