# Two commands do all the set-up on a fresh machine: `make run` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= auto
STAMP := $(VENV)/.installed

.PHONY: run test lint lab notebooks gpu-check venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP)

## Execute every notebook headless and write reports/latest/report.{md,html} and claims.json; then compare the
## verdicts with the committed reference runs (docs/results/) and say how to contribute this run.
run: $(STAMP)
	$(PY) -m helpers run --profile $(PROFILE); code=$$?; $(PY) -m helpers compare --references reports/latest; exit $$code

## Lint, unit tests, every notebook once under papermill (smoke profile), its deterministic cells vs the committed ones.
test: $(STAMP) lint
	FSL_PROFILE=smoke $(PY) -m pytest tests --timeout 900 --durations 15

lint: $(STAMP)
	$(PY) -m ruff check helpers tests notebooks
	$(PY) -m ruff format --check helpers tests notebooks

## JupyterLab on this collection.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

## Re-stamp the notebooks' badges, re-execute them in place (cpu profile), refresh the README's index and claims,
## publish the run as this machine's reference in docs/results/ and refresh the README's results across machines.
notebooks: $(STAMP)
	$(PY) -m helpers badges
	$(PY) -m helpers run --profile cpu --in-place --out reports/notebooks
	$(PY) -m helpers readme --run reports/notebooks
	$(PY) -m helpers publish reports/notebooks
	$(PY) -m helpers compare docs/results/* --readme README.md

## On a CUDA machine: PyTorch notebooks (00, 04–10) with the gpu profile, then the gpu-marked tests.
gpu-check: $(STAMP)
	PYTHON=$(PY) bash tests/gpu/run.sh reports/gpu

clean:
	rm -rf $(VENV) reports .pytest_cache .ruff_cache
