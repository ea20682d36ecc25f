# The single entry point. `make run` and `make test` are the README's two commands.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
# The local cluster's runtime directory (certificates, data, logs, kubeconfig) and binary cache,
# exported so that hack/cluster.py's cache_dir() (used by bench/ and the tests) agrees.
JOURNEYS_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/journeys
export JOURNEYS_CACHE_DIR
LOCAL_KUBECONFIG := $(JOURNEYS_CACHE_DIR)/cluster/kubeconfig
# An explicitly configured cluster wins; otherwise the local cluster is started and used.
CLUSTER_KUBECONFIG := $(or $(KUBECONFIG),$(LOCAL_KUBECONFIG))
# The kubectl built with the local cluster, else the one on PATH.
KUBECTL := $(or $(wildcard $(JOURNEYS_CACHE_DIR)/bin/kubectl),kubectl)
PYTEST_ARGS ?=

.PHONY: help
help: ## Show the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV_PY): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed: install it and run make again, or set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install --quiet -e '.[dev]'
	@touch $(VENV_PY)

.PHONY: venv
venv: $(VENV_PY) ## Create the virtual environment and install the project with its dev tools.

.PHONY: binaries
binaries: ## Build the local cluster's binaries into the cache (reused when present).
	$(PYTHON) hack/cluster.py build

.PHONY: cluster-up
cluster-up: ## Start the local cluster (idempotent); prints `export KUBECONFIG=...`.
	$(PYTHON) hack/cluster.py up

.PHONY: cluster-down
cluster-down: ## Stop every process of the local cluster and wipe its data.
	$(PYTHON) hack/cluster.py down

.PHONY: cluster-reset
cluster-reset: ## Start the local cluster afresh, with an empty etcd (cluster-up keeps the data).
	$(PYTHON) hack/cluster.py reset

# Start the local cluster only when no cluster is configured through KUBECONFIG.
.PHONY: cluster
cluster:
	@if [ -z "$(KUBECONFIG)" ]; then $(PYTHON) hack/cluster.py up; else echo "Using the configured cluster: KUBECONFIG=$(KUBECONFIG)"; fi

.PHONY: crds
crds: $(VENV_PY) ## Regenerate crds/ (and their copy in manifests/crds/), the admission policies and roles.
	$(VENV_PY) -m journeys.api.crds --write crds/
	$(VENV_PY) -m journeys.api.crds --write manifests/crds/
	$(VENV_PY) -m journeys.api.policies --write manifests/
	$(VENV_PY) hack/chart.py --write

.PHONY: webhooks-manifest
webhooks-manifest: $(VENV_PY) ## Regenerate manifests/webhooks/ from the webhooks' table (WEBHOOKS_MANIFEST=path for elsewhere).
	$(VENV_PY) -m journeys.webhooks.manifest --write $(or $(WEBHOOKS_MANIFEST),manifests/webhooks)
	$(VENV_PY) hack/chart.py --write

.PHONY: chart-sync
chart-sync: $(VENV_PY) ## Regenerate the chart's generated templates, files and values table from manifests/.
	$(VENV_PY) hack/chart.py --write

.PHONY: helm
helm: ## Build the pinned helm (v4) into the binary cache (reused when present).
	$(PYTHON) hack/helm.py build

.PHONY: chart
chart: $(VENV_PY) helm ## Check and lint the Helm chart, then package it into dist/.
	$(VENV_PY) hack/chart.py --check
	$(JOURNEYS_CACHE_DIR)/bin/helm lint --strict charts/journeys-operator
	$(JOURNEYS_CACHE_DIR)/bin/helm package charts/journeys-operator --destination dist/

.PHONY: image
image: ## Build the operator image with podman from the Dockerfile (a local Debian base).
	$(PYTHON) hack/image.py build

.PHONY: image-test
image-test: $(VENV_PY) install-crds ## Build the image and run it as the Deployment does, against the cluster.
	KUBECONFIG=$(CLUSTER_KUBECONFIG) $(VENV)/bin/pytest tests/integration/test_image.py $(PYTEST_ARGS)

.PHONY: install-crds
install-crds: cluster $(VENV_PY)
	KUBECONFIG=$(CLUSTER_KUBECONFIG) $(VENV_PY) hack/install_crds.py crds/ \
		manifests/policies/admission-policies.yaml manifests/rbac/user-roles.yaml

.PHONY: run
run: $(VENV_PY) install-crds ## Set everything up and run the operator in the foreground.
	KUBECONFIG=$(CLUSTER_KUBECONFIG) $(VENV)/bin/journeys-operator --dev

.PHONY: lint
lint: $(VENV_PY) ## ruff and mypy.
	$(VENV)/bin/ruff check operator tests bench hack
	$(VENV)/bin/ruff format --check operator tests bench hack
	$(VENV)/bin/mypy

# Debian's chromium for the dashboard's browser tests (Playwright drives it; no browser download).
.PHONY: browser
browser: ## Install the browser the dashboard tests use (Debian's chromium), unless present.
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

.PHONY: unit
unit: $(VENV_PY) ## Unit tests only (no cluster).
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

.PHONY: test
test: $(VENV_PY) install-crds browser ## Set everything up and run all unit and integration tests.
	KUBECONFIG=$(CLUSTER_KUBECONFIG) $(VENV)/bin/pytest tests $(PYTEST_ARGS)

.PHONY: bench
bench: $(VENV_PY) install-crds ## Benchmarks on the cluster (not in test); BENCH_ARGS="--quick" etc.
	KUBECONFIG=$(CLUSTER_KUBECONFIG) $(VENV_PY) -m bench.run $(BENCH_ARGS)

.PHONY: clean-webhooks
clean-webhooks: ## Remove dev webhook configurations left behind by a killed `make run` or test.
	KUBECONFIG=$(CLUSTER_KUBECONFIG) $(KUBECTL) delete validatingwebhookconfiguration,mutatingwebhookconfiguration -l journeys.dev/admission=dev --ignore-not-found
