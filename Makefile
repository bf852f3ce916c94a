# The two commands a new machine needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck unit unit-pure services browser bench share clean

# The modules setup.py compiles with mypyc: a change to one rebuilds them (see CONTRIBUTING.md).
COMPILED := $(shell sed -n 's/^    "\(proxy\/[a-z_/]*\.py\)",$$/\1/p' setup.py)

# Two steps: the dependencies (mypyc among them) first, then the project built against them,
# its request path compiled to C where a compiler is present.
$(STAMP): pyproject.toml setup.py $(COMPILED)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=77' wheel
	DIALECT_COMPILE=0 $(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-build-isolation --no-deps -e .
	$(BIN)/python -m proxy --version
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/dialect demo

lint: install
	$(BIN)/ruff check proxy tests bench setup.py
	$(BIN)/ruff format --check proxy tests bench setup.py

typecheck: install
	$(BIN)/mypy
	$(BIN)/mypy --strict --explicit-package-bases bench

# Servers the tests start themselves: redis-server (the shared-state backend's tests).
services:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing redis-server (Debian package)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing: install the redis-server package to run the Redis tests"; fi; }

# The browser the inspector's page is tested in: Debian's chromium and its chromedriver.
browser:
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium and chromium-driver (Debian packages)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "chromium is missing: install chromium and chromium-driver to run the inspector's browser test"; fi; }

unit: install services browser
	$(BIN)/pytest -q

# The same modules again as pure Python over the compiled build (DIALECT_PURE=1, see
# proxy/runtime/build_info.py): both builds are what users install, so both are tested. The unit
# and integration suites hold the modules' behaviour; the end-to-end suites add the SDKs, not
# another build's semantics, and run once.
unit-pure: install services
	DIALECT_PURE=1 $(BIN)/pytest -q -p no:cacheprovider tests/unit tests/integration

test: lint typecheck unit unit-pure

# Not part of `make test`: a load test on loopback that prints one table (see docs/performance.md).
bench: install
	@command -v wrk >/dev/null 2>&1 && { command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; } || { \
	  echo "installing wrk and nginx (Debian packages)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null; }
	$(BIN)/python bench/run.py

# Which modules a translated request spends its interpreted CPU in (CONTRIBUTING.md, "Does each
# compiled module earn its build time?").
share: install
	$(BIN)/python bench/compiled_share.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dialect__mypyc.*.so proxy/runtime/compiled_sources.json
	find proxy -name "*.so" -delete
