# The two commands a newcomer needs: `make dev` (the local stack) and `make test`.
# Each creates or updates the virtualenv .venv first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The Python of the Lambda runtime (template.yaml), when the machine has it: `make bench`
# measures cold starts on it, in a virtualenv holding only the functions' dependencies.
LAMBDA_PYTHON ?= $(shell for p in python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13); do $$p -c '' 2>/dev/null && command -v $$p && break; done)
LAMBDA_VENV := .venv-lambda

.PHONY: dev test test-realistic test-live lint typecheck unit catalog bench api-key webhook-samples openapi load cost test-fuzz clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(INSTALLED)

dev: $(INSTALLED)
	$(BIN)/python -m local.dev

test: $(INSTALLED) lint typecheck
	$(BIN)/cfn-lint template.yaml
	$(BIN)/python -m pytest -n 4 -q --durations=25

# The scenario tests in realistic webhook delivery only (they also run in `make test`);
# SEED=<n> replays the deliveries of a run whose report named that seed.
test-realistic: $(INSTALLED)
	STRIPE_WEBHOOK_SEED=$(SEED) $(BIN)/python -m pytest -n 4 -q -k "realistic" tests/integration

# The card-on-file billing scenarios against Stripe's test mode (needs STRIPE_SECRET_KEY=sk_test_...).
test-live: $(INSTALLED)
	LIVE_STRIPE_TESTS=1 $(BIN)/python -m pytest -q -rs tests/live

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy shared functions local bench

unit: $(INSTALLED)
	$(BIN)/python -m pytest -q tests/unit

# Pushes a catalog file: make catalog FILE=catalog.yaml URL=https://... KEY=am_sk_... [DRY_RUN=1].
# Without them: the local stack's catalog (LOCAL_CATALOG, else local/catalog.yaml) to the
# local stack at PORT with LOCAL_SECRET_KEY, as `make dev` reads them.
catalog: $(INSTALLED)
	$(BIN)/python -m local.catalog push $(FILE) \
		$(if $(URL),--url $(URL)) $(if $(KEY),--key $(KEY)) $(if $(DRY_RUN),--dry-run)

bench: $(INSTALLED) $(if $(LAMBDA_PYTHON),$(LAMBDA_VENV)/.installed)
	$(BIN)/python -m bench

$(LAMBDA_VENV)/.installed: pyproject.toml
	test -x $(LAMBDA_VENV)/bin/python || $(LAMBDA_PYTHON) -m venv $(LAMBDA_VENV)
	$(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > $(LAMBDA_VENV)/requirements.txt
	$(LAMBDA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(LAMBDA_VENV)/requirements.txt
	touch $@

# Prints a new random secret key and the SHA-256 digest to give `sam deploy` as ApiKeyHashes;
# HASHES=<the current ApiKeyHashes> prints the list with the new key added. REVOKE=<key id>
# HASHES=<current> prints the list without that key (README: "Rotating secret keys").
api-key: $(INSTALLED)
	@$(BIN)/python -m local.api_keys $(if $(REVOKE),revoke $(REVOKE),new) $(if $(HASHES),--hashes $(HASHES))

# Copies events/stripe_webhook_*.json to .local-data/events/, signed again (good for five
# minutes), for `sam local invoke`; the tracked samples never change.
webhook-samples: $(INSTALLED)
	$(BIN)/python -m local.webhook_samples

# Mixed check/track/queued track/get_or_create traffic on a local stack from several processes,
# then an exact audit of every balance (loopback only; bounded: 20 s, at most 6,000 calls).
load: $(INSTALLED)
	$(BIN)/python -m bench.load $(ARGS)

# The cost model: DynamoDB units per hot operation (measured on a local stack), Lambda duration,
# and the AWS cost per million calls at on-demand prices. ARGS=--record keeps the measurement
# (bench/cost_measured.json, the README's table); ARGS=--recorded prints that one again.
cost: $(INSTALLED)
	$(BIN)/python -m bench.cost $(ARGS)

# The fuzzing test with a longer budget: FUZZ_EXAMPLES bodies per operation and mode.
test-fuzz: $(INSTALLED)
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),200) $(BIN)/python -m pytest -q -n 2 tests/reliability/test_fuzzing.py

# Writes the API reference (local/openapi.json) again from the handlers and their wire models.
openapi: $(INSTALLED)
	PYTHONPATH=.:shared $(BIN)/python -m local.openapi

clean:
	rm -rf $(VENV) $(LAMBDA_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
