# The two commands: `make run` serves the forum, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test bench install install-dev browser clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host $${HOST:-127.0.0.1} --port $${PORT:-5000}

# Two test processes, one per core of the CI machine, each with its own databases
# (tests/conftest.py); `pytest -x -q tests/<package>` still runs one package alone.
test: install-dev browser
	$(BIN)/python -m pytest -n 2

# Debian's Chromium for the browser tests (Playwright cannot download browsers
# here). Needs root; where it cannot be installed those tests skip, saying why.
browser:
	@test -x /usr/bin/chromium || { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium) >/dev/null 2>&1 \
		|| echo "Chromium could not be installed: the browser tests will be skipped."; }

# Every bench/*.py script in turn; helper modules start with "_" and are skipped.
# The search benches run at 20,000 posts here (a few minutes); their default, the
# issue's 100,000 (and a million for PostgreSQL), is in README "Speed". Each bench adds rows to one
# table (bench/_report.py), printed at the end: README's "Speed" section.
BENCH_ARGS_search := -n 20000
BENCH_ARGS_search_postgres := -n 20000 --repeats 20
bench: install-dev
	@rows=$$(mktemp); trap 'rm -f $$rows' EXIT; \
	for f in bench/[!_]*.py; do name=$$(basename $$f .py); \
		case $$name in search) args="$(BENCH_ARGS_search)";; \
			search_postgres) args="$(BENCH_ARGS_search_postgres)";; *) args="";; esac; \
		BENCH_REPORT=$$rows $(BIN)/python $$f $$args || exit 1; done; \
	echo; echo "## Speed (make bench)"; echo; $(BIN)/python bench/_report.py $$rows

clean:
	rm -rf $(VENV) .pytest_cache
