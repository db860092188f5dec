# The two commands of the README: `make demo` and `make test`. Both create .venv on first use and
# reinstall only when pyproject.toml changes. pip's wheel cache is used where it exists, never relied on.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS := test,dashboard,notebooks,omni

.PHONY: demo test install browser sim bench notebooks walkthrough reference screenshots clean

$(STAMP): pyproject.toml tools/build_llama.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# llama-cpp-python built from source without the AMX path that segfaults here (llama.cpp #20824)
	tools/build_llama.sh $(PY)
	$(PY) -m pip install -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright cannot download browsers here). Installed with apt
# when we are root (CI is); otherwise the browser tests say what is missing and skip.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# The dashboard against the embedded simulator (prints the URL and, on first run, the admin password).
demo: $(STAMP)
	$(VENV)/bin/proximity dashboard --demo

# The same SDK walk-through in the terminal: deploy, open, back up, stop.
walkthrough: $(STAMP)
	$(VENV)/bin/proximity demo

# JupyterLab with the project's notebooks, on loopback only (prints the URL with its token).
notebooks: $(STAMP)
	$(VENV)/bin/jupyter lab --no-browser --ip=127.0.0.1 --port=8888 --notebook-dir=notebooks $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

sim: $(STAMP)
	$(VENV)/bin/proximity sim --nodes 3

test: $(STAMP) browser
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

# The generated references (docs/reference/): run after changing the SDK, the CLI or the catalog schema.
reference: $(STAMP)
	$(PY) tools/gen_reference.py

# Refresh docs/screenshots/ from the browser tests (they write there only when asked).
screenshots: $(STAMP) browser
	PROXIMITY_SCREENSHOTS=1 $(PY) -m pytest -q tests/dashboard/test_browser.py -k theme_switch

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
