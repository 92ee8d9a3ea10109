# Thin wrappers over real commands. `make course` and `make test` are the two a user needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.installed
PORT   ?= 8888
LAB_ARGS ?=
# Jupyter refuses to run as root unless told; containers and CI run as root.
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)

export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: course setup test test-fast bench release demo lint lock doctor clean

## Create .venv with the course and test tools, pinned by constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 needed (3.11 tested), found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e ".[course,dev]"
	$(BIN)/jupyter server extension enable --sys-prefix nbgrader.server_extensions.formgrader \
		nbgrader.server_extensions.assignment_list nbgrader.server_extensions.validate_assignment \
		nbgrader.server_extensions.course_list >/dev/null
	$(BIN)/jupyter labextension enable --level=sys_prefix @jupyter/nbgrader @jupyter-widgets/jupyterlab-manager >/dev/null
	touch $(STAMP)

setup: $(STAMP)

## Set everything up and open the course in JupyterLab (127.0.0.1, token auth on).
course: $(STAMP)
	$(BIN)/edgelab doctor
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/lessons/00-welcome/welcome.ipynb $(ROOT_ARGS) $(LAB_ARGS)

## Set everything up and run the whole test suite.
test: $(STAMP)
	$(BIN)/ruff check edgelab tests bench grader hub demos nbgrader_config.py
	$(BIN)/python -m pytest -q

## The inner loop: everything but the slow tests.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

## Benchmarks: ratios measured side by side in one run.
bench: $(STAMP)
	$(BIN)/python bench/run.py

## Serve the Voila demo gallery on 127.0.0.1 (DEMO_PORT, default 8866).
DEMO_PORT ?= 8866
demo: $(STAMP) build/demo/manifest.json
	$(BIN)/python demos/serve.py --port $(DEMO_PORT)

## The quantization demo's models: trained and converted once with TensorFlow (build output).
build/demo/manifest.json: $(STAMP) edgelab/artifacts.py edgelab/models.py edgelab/convert.py edgelab/datasets.py
	$(BIN)/python -m edgelab.artifacts build/demo

## Student versions of every lesson, in release/, validated (source passes, release fails, no leaks).
release: $(STAMP)
	$(BIN)/python -m grader release

doctor: $(STAMP)
	$(BIN)/edgelab doctor

lint: $(STAMP)
	$(BIN)/ruff check edgelab tests bench grader hub demos nbgrader_config.py

## Re-pin constraints.txt from the current .venv.
lock: $(STAMP)
	( echo "# Every package of the course + dev install, at the versions tested together on Python 3.11."; \
	  echo "# Regenerate with: make lock"; \
	  $(PIP) freeze --exclude-editable | grep -v '^edgelab' ) > constraints.txt

clean:
	rm -rf $(VENV) release submitted autograded feedback gradebook.db .pytest_cache
