# The two commands a newcomer needs: `make demo` and `make test`.
.PHONY: demo demo-check test test-quick test-fault lint bench bootstrap translations

VENV := .venv/bin

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	$(VENV)/broadcaster demo

demo-check: bootstrap
	$(VENV)/broadcaster demo --check

# The CI suite: every test, fault tests included, in TEST_WORKERS processes (pytest-xdist; the
# tests mostly wait on brokers, agents and ffmpeg, so 3 on 2 cores is about twice as fast as 1).
TEST_WORKERS ?= 3
test: bootstrap
	$(VENV)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --durations=25

# Subsets: only the fault tests (kill brokers and agents), or everything but them.
test-fault: bootstrap
	$(VENV)/python -m pytest -m fault

test-quick: bootstrap
	$(VENV)/python -m pytest -m "not fault and not slow and not browser"

# ruff, ruff format and mypy (its packages: [tool.mypy] files in pyproject.toml); the same
# checks run on `git commit` after `pre-commit install` (.pre-commit-config.yaml).
lint: bootstrap
	$(VENV)/ruff check . && $(VENV)/ruff format --check . && $(VENV)/mypy

# Compile every catalogue: the shared one and each feature's own (web/<feature>/translations).
translations: bootstrap
	for d in web/translations web/*/translations; do $(VENV)/pybabel compile -d $$d; done

bench: bootstrap
	$(VENV)/python -m bench.render_bench
	$(VENV)/python -m bench.normalize_bench
	$(VENV)/python -m bench.plan_bench
	$(VENV)/python -m bench.fanout_bench
	$(VENV)/python -m bench.agent_bench
	$(VENV)/python -m bench.ingest_bench
	$(VENV)/python -m bench.logquery_bench
