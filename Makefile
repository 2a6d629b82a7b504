# The two commands: `make run` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_PRODUCTS ?= 10000
DEMO_SHOPS ?= 100

.PHONY: run test venv lock stack stop migrate demo lint check search-rebuild bench-search bench-search-1m bench-web bench-checkout bench-load bench-writes clean

# Installs exactly the hash-locked versions (pyproject.toml declares them; `make lock` recompiles the locks).
$(STAMP): requirements-dev.lock
	@echo "==> creating $(VENV) and installing requirements-dev.lock"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet --progress-bar on --require-hashes -r requirements-dev.lock
	@touch $(STAMP)

venv: $(STAMP)

## lock: recompile requirements.lock (runtime) and requirements-dev.lock (+ dev, test) with hashes from pyproject.toml
LOCK := CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --strip-extras --generate-hashes \
	--allow-unsafe --no-emit-index-url --no-emit-find-links
lock: $(STAMP)
	@$(PY) -m pip install --quiet pip-tools==7.6.2
	@$(LOCK) -o requirements.lock pyproject.toml
	@$(LOCK) --extra dev --extra test -o requirements-dev.lock pyproject.toml

## run: start PostgreSQL/Redis (embedded unless DATABASE_URL/REDIS_URL are set), migrate, load the demo once, serve web + worker + beat
run: $(STAMP)
	@$(PY) scripts/run.py --products $(DEMO_PRODUCTS) --shops $(DEMO_SHOPS)

## test: lint (ruff, layers), then the whole suite against real PostgreSQL and Redis (axe-core from
## package-lock.json when npm is here)
test: lint
	@if [ ! -d node_modules/axe-core ] && command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund; fi
	@$(PY) scripts/devstack.py up
	@$(PY) scripts/browser_check.py
	@$(PY) -m pytest $(PYTEST_ARGS)

stack: $(STAMP)
	@$(PY) scripts/devstack.py up

## stop: stop the embedded PostgreSQL and Redis (data is kept in .data/)
stop: $(STAMP)
	@$(PY) scripts/devstack.py down

lint: $(STAMP)
	@echo "==> ruff, ruff format --check, lint-imports"
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/lint-imports

migrate: stack
	@$(PY) manage.py migrate --no-input

demo: migrate
	@$(PY) manage.py load_demo_catalog --products $(DEMO_PRODUCTS) --shops $(DEMO_SHOPS) --seed 7

## check: lint, format, layers, migrations up to date, deploy checks of the production profile
check: lint stack
	@$(PY) manage.py makemigrations --check --dry-run
	@ETSY_ENV=production SECRET_KEY=check-only-$$(date +%s)-not-a-real-secret-value-0123456789 METRICS_BEARER_TOKEN=check-only ALLOWED_HOSTS=example.com \
	  PAYMENT_PROVIDER=orders.payments_stripe.StripePaymentProvider STRIPE_SECRET_KEY=sk_test_check STRIPE_PUBLISHABLE_KEY=pk_test_check \
	  STRIPE_WEBHOOK_SECRET=whsec_check $(PY) manage.py check --deploy --fail-level WARNING

## search-rebuild: fill a new Elasticsearch index and swap the alias to it (no moment without search)
search-rebuild: migrate
	@$(PY) manage.py rebuild_search_index

## bench-search: relevance (nDCG@10, MRR, zero-result rate vs naive baseline) and WANDS latency
bench-search: migrate
	@$(PY) manage.py bench_search

## bench-search-1m: cache-miss latency at 1M listings in one command: 100k generated, copied in SQL to 1M
## (demo/replication.py), with load time, table and index sizes; the loaded database is reused next time
## (ARGS="--database NAME --passes 3", or --copies 1 for the generator's own 1M, about ten times slower)
bench-search-1m: migrate
	@$(PY) manage.py bench_search --latency --products 1000000 --copies 10 $(ARGS)

## bench-web: page latency and throughput under concurrent load, beside a bare Django view
## (options after ARGS=, e.g. make bench-web ARGS="--products 10000,100000,1000000"; see --help)
bench-web: migrate
	@$(PY) scripts/bench_web.py $(ARGS)

## bench-checkout: checkout latency p50/p99 for a 3-shop cart
bench-checkout: migrate
	@$(PY) manage.py bench_checkout

## bench-load: many concurrent buyers racing for unique items through the API, then the books are checked
bench-load: migrate
	@$(PY) scripts/bench_load.py $(ARGS)

## bench-writes: add-to-cart and 3-shop checkout saturation beside the bare view, open loop at 10x and 50x the
## local peak against the SLOs, and a slow-payment run (BENCH_WRITES_ARGS="--servers sync:4,gthread:4x4" compares)
bench-writes: migrate
	@$(PY) scripts/bench_writes.py $(BENCH_WRITES_ARGS)

clean:
	rm -rf $(VENV) .data
