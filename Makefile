# Thin wrappers over real commands. `make course` and `make test` are the two a user needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
COURSE_STAMP := $(VENV)/.course-installed
TEST_STAMP   := $(VENV)/.test-installed
PORT ?= 8888
LAB_ARGS ?=
# The student workspace: student versions of the lessons, and the student's own work.
WORKSPACE ?= workspace
WORKSPACE_DIR = $(abspath $(WORKSPACE))
# Jupyter refuses to run as root unless told; containers and CI run as root.
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)
# What a student installs comes as wheels only: nothing is ever compiled (no compiler needed).
WHEELS_ONLY := --only-binary=:all:
# The test tools too, except the NFQUEUE shaper's binding, built from source (needs the
# Debian packages `make system-packages` installs).
TEST_WHEELS := --only-binary=:all: --no-binary=netfilterqueue
COURSE_LAB = $(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) $(ROOT_ARGS)
NBGRADER_EXTENSIONS := nbgrader.server_extensions.formgrader nbgrader.server_extensions.assignment_list \
	nbgrader.server_extensions.validate_assignment nbgrader.server_extensions.course_list
LAB_EXTENSIONS := @jupyter/nbgrader @jupyter-widgets/jupyterlab-manager
# The student view turns off nbgrader's instructor extensions for its launch, and the
# assignment list (a student working alone has no exchange); Validate stays on.
STUDENT_ONLY := --ServerApp.jpserver_extensions nbgrader.server_extensions.formgrader=False \
	--ServerApp.jpserver_extensions nbgrader.server_extensions.course_list=False \
	--ServerApp.jpserver_extensions nbgrader.server_extensions.assignment_list=False
LINT_PATHS := edgelab tests bench grader hub demos tools nbgrader_config.py

export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: course instructor setup system-packages test test-fast bench release demo lint lock doctor \
	bare-machine clean

## The course's Python: the oldest the pins in constraints.txt support is 3.11.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

## What a student needs (the `course` extra), pinned by constraints.txt, from wheels only.
$(COURSE_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install --quiet $(WHEELS_ONLY) -c constraints.txt -e ".[course]"
	$(BIN)/jupyter server extension enable --sys-prefix $(NBGRADER_EXTENSIONS) >/dev/null 2>&1 \
		|| $(BIN)/jupyter server extension enable --sys-prefix $(NBGRADER_EXTENSIONS)
	$(BIN)/jupyter labextension enable --level=sys_prefix $(LAB_EXTENSIONS) >/dev/null 2>&1 \
		|| $(BIN)/jupyter labextension enable --level=sys_prefix $(LAB_EXTENSIONS)
	touch $@

## The test and benchmark tools on top (`dev`, `shaper`), after the Debian packages they need.
$(TEST_STAMP): $(COURSE_STAMP) pyproject.toml constraints.txt | system-packages
	$(PIP) install --quiet $(TEST_WHEELS) -c constraints.txt -e ".[course,dev,shaper]"
	touch $@

setup: $(TEST_STAMP)

## The Debian packages the tests need (.ci/system-packages.txt): apt-get as root, `sudo -n`
## when allowed, otherwise stop and print the one command to run.
system-packages:
	@$(PYTHON) -m tools.system_packages install

## Student view: the student versions of every lesson in $(WORKSPACE)/ (your edits are kept),
## opened in JupyterLab at lesson 00 (127.0.0.1, token auth on, no formgrader).
course: $(COURSE_STAMP)
	$(BIN)/edgelab doctor
	$(BIN)/python -m grader.workspace sync "$(WORKSPACE_DIR)"
	JUPYTER_CONFIG_PATH="$(WORKSPACE_DIR)/.jupyter" $(COURSE_LAB) --ServerApp.root_dir="$(WORKSPACE_DIR)" \
		--LabApp.default_url=/lab/tree/00-welcome/welcome.ipynb $(STUDENT_ONLY) $(LAB_ARGS)

## Instructor view: the source notebooks (solutions, hidden tests) and the formgrader.
instructor: $(COURSE_STAMP)
	$(BIN)/edgelab doctor
	$(BIN)/jupyter trust demos/*.ipynb >/dev/null
	$(COURSE_LAB) --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/lessons/00-welcome/welcome.ipynb $(LAB_ARGS)

## Set everything up (Debian packages included) and run the whole test suite.
test: system-packages $(TEST_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/python -m pytest -q --durations=25

## The inner loop: everything but the slow tests.
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

## A bare Debian 12 root (debootstrap) where `make course` must work from a clone of HEAD.
bare-machine: system-packages
	$(PYTHON) -m tools.bare_machine

## Benchmarks: ratios measured side by side in one run.
bench: $(TEST_STAMP)
	$(BIN)/python bench/run.py

## Serve the Voila demo gallery on 127.0.0.1 (DEMO_PORT, default 8866).
DEMO_PORT ?= 8866
demo: $(COURSE_STAMP) build/demo/manifest.json
	$(BIN)/python demos/serve.py --port $(DEMO_PORT)

## The quantization demo's models: trained and converted once with TensorFlow (build output).
build/demo/manifest.json: $(COURSE_STAMP) edgelab/artifacts.py edgelab/models.py edgelab/convert.py edgelab/datasets.py
	$(BIN)/python -m edgelab.artifacts build/demo

## Student versions of every lesson, in release/, validated (source passes, release fails, no leaks).
release: $(COURSE_STAMP)
	$(BIN)/python -m grader release

doctor: $(COURSE_STAMP)
	$(BIN)/edgelab doctor

lint: $(TEST_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)

## Re-pin constraints.txt from the current .venv (tests/test_packaging.py then checks that every
## pin installs on the oldest Python the README names).
lock: $(TEST_STAMP)
	( echo "# Every package of the course + dev + shaper install, at the versions tested together."; \
	  echo "# Each supports Python 3.11.0 and later (tests/test_packaging.py). Regenerate with: make lock"; \
	  $(PIP) freeze --exclude-editable | grep -v '^edgelab' ) > constraints.txt

## Removes build output and the environment, never the student workspace (your work).
clean:
	rm -rf $(VENV) release submitted autograded feedback gradebook.db .pytest_cache
