# Two entry points for a fresh Debian 12 machine (as root): `make demo` and `make test`.
# Both install what they need: Debian packages, the virtualenv, the project with pinned dependencies.

# python3-uno only imports under Debian's own interpreter, so the venv is built from it
# (with system site-packages) and unoserver runs inside the same venv.
SYSTEM_PYTHON := /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := libreoffice-writer-nogui python3-uno python3-venv fonts-noto-cjk ghostscript qpdf \
	poppler-utils tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng icc-profiles-free
DEMO_HOME := demo-output/archive

.PHONY: install system-deps venv demo test bench clean lock

install: system-deps venv

system-deps:
	@if dpkg-query -W -f='$${Status}\n' $(APT_PACKAGES) 2>/dev/null | grep -qv 'install ok installed' \
	    || [ $$(dpkg-query -W -f='$${Status}\n' $(APT_PACKAGES) 2>/dev/null | grep -c 'install ok installed') -ne $(words $(APT_PACKAGES)) ]; then \
	  echo "安装 Debian 软件包：$(APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	@[ -x $(PY) ] || $(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[test]'
	@touch $@

demo: install
	@rm -rf demo-output && mkdir -p demo-output
	$(VENV)/bin/yuetan --home $(DEMO_HOME) init
	$(VENV)/bin/yuetan --home $(DEMO_HOME) check examples/institution-onsite examples/bureau-video examples/refused-to-sign

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) bench/convert.py

# Regenerates the pinned transitive dependencies from the current venv.
lock:
	$(PY) -m pip freeze --local --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) demo-output
