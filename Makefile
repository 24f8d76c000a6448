# aabent — the two commands of the README: `make demo` and `make test`.
# Each installs what it needs: missing Debian packages with apt-get, Python packages into .venv.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Debian packages: the broker (and NATS, the clustered engine), a pty bridge for the simulated readers, venv support.
APT_PACKAGES ?= mosquitto nats-server socat python3-venv chromium xvfb xauth libgl1 libgl1-mesa-dri libegl1 libgles2 libmtdev1 espeak-ng sox alsa-utils

.PHONY: demo test lint system-packages venv clean

demo: venv
	$(PY) -m services.cli.demo $(ARGS)

test: venv lint
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

venv: system-packages $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	rm -rf $(VENV) var tests/artifacts
