# Two entry points for a fresh Debian 12 machine (as root): `make demo` and `make test`.
# Both install what they need: Debian packages, the virtualenv, the project with pinned dependencies.
# postgresql-15 is only for the tests (a throw-away cluster per test session, tests/services.py); the
# archive itself needs no server unless yuetan.toml names one.

# python3-uno only imports under Debian's own interpreter, so the venv is built from it
# (with system site-packages); the LibreOffice converter drives soffice over UNO from it.
SYSTEM_PYTHON := /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := libreoffice-writer-nogui python3-uno python3-venv fonts-noto-cjk ghostscript qpdf \
	poppler-utils tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng icc-profiles-free chromium postgresql-15
DEMO_HOME := demo-output/archive

.PHONY: install system-deps venv demo test test-postgresql bench clean lock serve vendor

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

EXAMPLES := examples/institution-onsite examples/bureau-video examples/refused-to-sign
YUETAN := $(VENV)/bin/yuetan --home $(DEMO_HOME)

demo: install
	@rm -rf demo-output && mkdir -p demo-output
	$(YUETAN) init --organizer 江西省市场监督管理局
	$(YUETAN) check $(EXAMPLES)
	@for e in $(EXAMPLES); do $(YUETAN) render $$e -o demo-output/documents/$$(basename $$e) || exit $$?; done
	$(YUETAN) ingest --actor 演示档案员 $(EXAMPLES)
	@for e in $(EXAMPLES); do id=$$(python3 -c "import json,sys; print(json.load(open('$$e/case.json'))['case_id'])"); \
	  $(YUETAN) open $$id -o demo-output/dossiers/$$id.pdf && $(YUETAN) verify --trust $(DEMO_HOME)/seal/development-seal.crt demo-output/dossiers/$$id.pdf || exit $$?; done
	$(YUETAN) search 数据失实
	$(YUETAN) search 超范围 --kind institution
	$(YUETAN) search 整改到位
	$(YUETAN) search 九江 --kind bureau
	$(YUETAN) retention --as-of 2032-01-01
	$(YUETAN) export --kind institution -o demo-output/export/检验检测机构约谈档案.zip
	$(YUETAN) export --verify demo-output/export/检验检测机构约谈档案.zip
	$(YUETAN) catalogue --year 2025 -o demo-output/arrangement/2025年度归档文件目录.xlsx
	$(YUETAN) catalogue --year 2025 -o demo-output/arrangement/2025年度归档文件目录.pdf
	$(YUETAN) handover --actor 演示档案员 --year 2025 -o demo-output/arrangement/2025年度移交 --receiver 江西省档案馆
	$(YUETAN) handover --verify demo-output/arrangement/2025年度移交
	$(YUETAN) audit
	@echo "演示输出：公文 demo-output/documents/，案卷 demo-output/dossiers/，导出包 demo-output/export/，目录与移交 demo-output/arrangement/，档案库 $(DEMO_HOME)"

# The whole suite on SQLite (the default catalog) on every core (pytest-xdist, a test file per worker at a time,
# so module fixtures are made once), then again on PostgreSQL 15 (a throw-away cluster per worker) the tests that
# make or use an archive home: tests/conftest.py marks them `catalog` from the fixtures they use (the home
# fixtures, new_home, prepare_home before a `yuetan init`, every web test): 295 tests. CI's 20 minutes hold the
# SQLite pass (~11.5 min on 2 idle cores) and a PostgreSQL pass of 4-5 min, so this pass leaves out the `slow`
# ones (LibreOffice builds, the ingested example archive, killed ingests): 215 tests, measured 4 min 6 s with
# -n 2 on the shared 2 cores (load 1-4), where all 295 took 13.5 min (load 5-9). The province tests (two nodes,
# S3 Object Lock, real ingests) run on PostgreSQL in the first pass already. Everything on PostgreSQL, slow tests
# included: `make test-postgresql` (figures in the README, "开发").
PG_PASS_MARK := catalog and not slow
test: install
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q -n auto --dist loadfile
	$(PY) -m pytest -q -n auto --dist loadfile --catalog postgresql -m "$(PG_PASS_MARK)"

# Every test on PostgreSQL (--catalog postgresql, also $$YUETAN_TEST_CATALOG): the tests about the SQLite catalog
# file itself (backup/restore of it) skip, saying why.
test-postgresql: install
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q -n auto --dist loadfile --catalog postgresql -rs

bench: install
	$(PY) bench/convert.py
	$(PY) bench/build.py
	$(PY) bench/ingest.py
	$(PY) bench/search.py
	$(PY) bench/province.py

# The web application on the demo archive, with one demo account per role (passwords printed once).
serve: install
	@[ -f $(DEMO_HOME)/yuetan.toml ] || $(MAKE) demo
	$(PY) -m pipeline.web.demo --home $(DEMO_HOME)
	$(YUETAN) serve --host 127.0.0.1 --port 8000

# htmx and ECharts are vendored in pipeline/web/static/vendor (see its README): this fetches the same npm
# packages again and checks them byte for byte; UPDATE=1 replaces the files instead.
HTMX_VERSION := 2.0.11
ECHARTS_VERSION := 5.6.0
VENDOR_DIR := pipeline/web/static/vendor
vendor:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent htmx.org@$(HTMX_VERSION) echarts@$(ECHARTS_VERSION) >/dev/null \
	  && mkdir h e && tar xzf htmx.org-$(HTMX_VERSION).tgz -C h && tar xzf echarts-$(ECHARTS_VERSION).tgz -C e \
	  && cp h/package/dist/htmx.min.js e/package/dist/echarts.min.js . && cd - >/dev/null \
	  && if [ -n "$(UPDATE)" ]; then cp $$tmp/htmx.min.js $$tmp/echarts.min.js $(VENDOR_DIR)/ \
	       && (cd $(VENDOR_DIR) && sha256sum htmx.min.js echarts.min.js > SHA256SUMS); \
	     else (cd $$tmp && sha256sum -c $(CURDIR)/$(VENDOR_DIR)/SHA256SUMS); fi; rc=$$?; rm -rf $$tmp; exit $$rc

# Regenerates the pinned transitive dependencies from the current venv: every distribution yuetan[test] needs,
# directly or not, at the version installed. Not `pip freeze --local`: that leaves out what Debian's
# site-packages happen to satisfy on this machine (six, pyparsing, xmltodict), which a fresh CI machine then
# gets from the index unpinned; and it would pin whatever else was installed into the venv by hand.
define LOCK_PY
import importlib.metadata as md
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as canon
pins, todo, seen = {}, [("yuetan", ("test",))], set()
while todo:
    name, extras = todo.pop()
    if (canon(name), extras) in seen:
        continue
    seen.add((canon(name), extras))
    dist = md.distribution(name)
    if canon(name) != "yuetan":
        pins[canon(name)] = f"{dist.metadata['Name']}=={dist.version}"
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras or ("",)):
            todo.append((req.name, tuple(sorted(req.extras))))
print("\n".join(pins[k] for k in sorted(pins)))
endef
export LOCK_PY

lock:
	$(PY) -c "$$LOCK_PY" > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) demo-output
