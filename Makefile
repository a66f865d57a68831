# The two commands a newcomer needs: `make demo` and `make test`.
.PHONY: demo demo-check test test-all test-fault lint bench bootstrap translations

VENV := .venv/bin

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	$(VENV)/broadcaster demo

demo-check: bootstrap
	$(VENV)/broadcaster demo --check

# The CI suite: everything except fault tests (see test-fault) and benchmarks.
test: bootstrap
	$(VENV)/python -m pytest -m "not fault"

test-fault: bootstrap
	$(VENV)/python -m pytest -m fault

test-all: bootstrap
	$(VENV)/python -m pytest

lint: bootstrap
	$(VENV)/ruff check . && $(VENV)/ruff format --check .

translations: bootstrap
	$(VENV)/pybabel compile -d web/translations

bench: bootstrap
	$(VENV)/python -m bench
