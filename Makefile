# leadscore — every target installs what it needs. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
CACHE ?= $(HOME)/.cache/leadscore
export LEADSCORE_CACHE := $(CACHE)
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv tools demo test unit lint crds chart bench kind-up deploy images clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

venv: ## Create .venv with leadscore[dev] (re-installs only when pyproject.toml changed)
	@hack/venv.sh

tools: ## Build/install the real servers the tests use (kube-apiserver, etcd, KServe, MinIO, helm, PostgreSQL, the node), cached
	@hack/tools.sh

demo: venv ## The main job on an embedded default: synthetic leads -> train -> serve -> score -> A/B -> report
	@$(BIN)/leadscore demo --workdir .demo

test: venv tools ## Every test: unit, integration (real servers), end-to-end
	@hack/test.sh $(PYTEST_ARGS)

unit: venv ## Unit tests only (no servers)
	@$(BIN)/python -m pytest tests/unit -q $(PYTEST_ARGS)

lint: venv ## ruff, the import layering contracts and mypy
	@$(BIN)/ruff check src tests bench
	@$(BIN)/lint-imports
	@$(BIN)/mypy

crds: venv ## Regenerate crds/ (and the chart's copy) from leadscore.api
	@$(BIN)/leadscore operator crds --output crds --chart charts/leadscore/templates

chart: crds ## Same as crds: the chart's CRD templates are copied from crds/

bench: venv ## Benchmarks: training time, ONNX vs native scoring, scoring engines, predictor vs MLServer; writes bench/results/
	@hack/bench.sh

kind-up: ## (needs Docker) a kind cluster with cert-manager, KServe and the leadscore-demo namespace
	@hack/kind-up.sh

deploy: ## (needs Docker + kind-up) build images, load them into kind, helm install
	@hack/deploy.sh

images: ## Build every image with buildah (no Docker): operator, trainer, predictor, collector, KServe's storage initializer and agent, the test node's pause and CoreDNS; cached by content
	@hack/install-debs.sh --node
	@hack/images.sh $(if $(CONTAINERD_ADDRESS),--load $(CONTAINERD_ADDRESS))

clean: ## Remove the demo output and caches of this checkout (not ~/.cache/leadscore)
	rm -rf .demo .pytest_cache .ruff_cache bench/results/*.tmp
