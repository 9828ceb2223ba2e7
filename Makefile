# smot: the two set-up commands are `make install` and `make test`.
#
#   make install                      # .venv with torch (CPU build by default) and smot[dev]
#   make install TORCH_SPEC='torch==2.14.1' PIP_EXTRA='--index-url https://download.pytorch.org/whl/cu128'
#   make test                         # the whole suite (about 2 minutes on 2 cores)

PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
PIP_EXTRA  ?=
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed

.PHONY: install test demo schemas docs bench wordnet clean

install: $(STAMP)

# Re-run only when the project's requirements change; a warm `make install` is a no-op.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIP_EXTRA) '$(TORCH_SPEC)'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

test: install
	$(BIN)/python -m pytest -n 2 -q

# The main job, end to end on a fresh machine: a synthetic dataset, the tiny model trained on it
# (kept: a second `make demo` reuses demo/model.pt), the whole pipeline on the test videos, the
# scores, one video drawn with everything on it. DEMO_TRAIN shortens or lengthens the training.
DEMO       ?= demo
DEMO_TRAIN ?= --set steps=900 --set semantic_start=450 --set checkpoint_every=300
SMOT       := $(BIN)/smot

demo: install $(DEMO)/model.pt
	$(SMOT) run $(DEMO)/data/test -m $(DEMO)/model.pt --drop-features -o $(DEMO)/result.smot
	$(SMOT) score $(DEMO)/result.smot --gt $(DEMO)/data/test --table -o $(DEMO)/report.json
	$(SMOT) render $(DEMO)/data/test $(DEMO)/result.smot --video plaza/test0000000_0 -o $(DEMO)/demo.mp4 \
	    --contact-sheet $(DEMO)/sheet.png
	@echo "demo: scores in $(DEMO)/report.json, the drawn video $(DEMO)/demo.mp4, frames $(DEMO)/sheet.png"

$(DEMO)/data/train:
	$(SMOT) synth $(DEMO)/data --train 120 --test 6

# trained into training.pt (continued with --resume if a run was interrupted), model.pt when done
$(DEMO)/model.pt: | $(DEMO)/data/train
	$(SMOT) train $(DEMO)/data/train --preset tiny $(DEMO_TRAIN) -o $(DEMO)/training.pt \
	    $(if $(wildcard $(DEMO)/training.pt),--resume)
	mv $(DEMO)/training.pt $@

# Regenerate the JSON Schemas in formats/schemas from the record definitions.
schemas: install
	$(BIN)/python -m smot.schema formats/schemas

# Regenerate the command reference docs/cli.md from the commands.
docs: install
	$(BIN)/python -m smot.reference docs/cli.md

bench: install
	$(BIN)/python benchmarks/streams.py
	$(BIN)/python benchmarks/score.py
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/python benchmarks/associate.py

# WordNet 3.0 for nltk's METEOR (smot score --protocol bensmot), offline from Debian's packages,
# into the virtual environment (nltk looks in $(VENV)/nltk_data).
wordnet: install
	$(BIN)/python -m smot.metrics.wordnet $(VENV)/nltk_data

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache $(DEMO)
