# Two commands a fresh machine needs: `make run` and `make test`. Each bootstraps .venv
# from nothing (idempotent: the stamp file makes a second call cost nothing).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config.example.yaml

.PHONY: images image-test pyairbyte run test lint typecheck imports torture bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# The sample export holds one order without an amount on purpose: sync quarantines it and
# exits 1 ("some records were quarantined"), which the demo shows rather than hides.
run: $(STAMP)
	$(BIN)/crmsync sync -c $(CONFIG) || test $$? -eq 1
	$(BIN)/crmsync failures -c $(CONFIG) || test $$? -eq 1
	$(BIN)/crmsync vouchers -c $(CONFIG) --limit 15
	$(BIN)/crmsync report vouchers -c $(CONFIG) --format html --output .crmsync/reports
	@echo ""
	@echo "The web console on this sample (finance and operators; see README 'Web console'):"
	@echo "  $(BIN)/crmsync users add -c $(CONFIG) admin --role admin   # asks for a password (10+ characters)"
	@echo "  $(BIN)/crmsync serve -c $(CONFIG)                          # then open http://127.0.0.1:8765/"

lint: $(STAMP)
	$(BIN)/ruff check sync connectors tests bench
	$(BIN)/ruff format --check sync connectors tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# the layer contracts in pyproject.toml ([tool.importlinter]): one way down, no cycles
imports: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck imports
	$(BIN)/pytest -m "not torture and not pyairbyte and not images"

# connector images for the Airbyte platform (needs a Docker daemon and debootstrap; images/)
images: $(STAMP)
	bash images/build.sh

# runs each image's spec, check, discover, read / write through `docker run` (skips without images)
image-test: $(STAMP)
	$(BIN)/pytest tests/images -m images

# PyAirbyte installs every connector from pip_url into venvs of its own and reads / writes (minutes)
pyairbyte: $(STAMP)
	$(BIN)/pytest tests/pyairbyte -m pyairbyte

# the torture suite (tests/torture/, minutes): size with TORTURE_RECORDS, TORTURE_KILLS, TORTURE_SEED
torture: $(STAMP)
	$(BIN)/pytest tests/torture -m torture -p no:randomly -s

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .crmsync
