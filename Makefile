# The single entry point: CI (.ci/run, ci/) and people call these targets.
SHELL := /bin/bash
CARGO ?= cargo
# Real-CLI tests install the pinned CLI into this cache on first use.
export HARNESS_CACHE_DIR ?= $(CURDIR)/target/harness-cache

.PHONY: help setup build test test-unit test-reconnect lint fmt run ci clean-cache fuzz load soak

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: ## Install what the tests need (Node.js + npm for fetching the CLI), when missing
	bash ci/setup.sh

build: ## Build everything
	$(CARGO) build --workspace --all-targets

test: setup ## The README's test command: unit tests, then `cargo test --test reconnect` (real CLI: 2.1.331 and 2.1.81)
	$(CARGO) test --workspace --lib --bins
	$(CARGO) test --test reconnect

test-reconnect: ## Only the integration suite (real CLI + mock server)
	$(CARGO) test --test reconnect

lint: ## rustfmt and clippy, warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

run: setup ## Fetch the pinned CLI, run every scenario, print verdicts and timelines
	$(CARGO) run -q -p harness -- run

ci: lint test ## What CI runs

fuzz: ## Property tests of the mock at full size: 100,000+ generated inputs (MOCK_FUZZ_CASES), a fresh seed (MOCK_FUZZ_SEED)
	@mkdir -p target
	set -o pipefail; start=$$(date +%s); \
	MOCK_FUZZ_CASES=$${MOCK_FUZZ_CASES:-100000} MOCK_FUZZ_SEED=$${MOCK_FUZZ_SEED:-random} \
	  $(CARGO) test --test reconnect mock_fuzz -- --nocapture 2>&1 | tee target/fuzz.log; \
	grep '^fuzz-cases:' target/fuzz.log | awk -v t=$$(( $$(date +%s) - start )) \
	  '{ n += $$3 } END { printf "fuzz: %d generated inputs in total, %d s wall clock\n", n, t; exit (n < 100000) }'

load: ## 200 concurrent MCP sessions against the mock (release build, own process): throughput, p50/p99, peak memory
	$(CARGO) run --release -q -p mock-server --example load -- $(LOAD_ARGS)

soak: setup ## The core scenarios on the pinned CLI back to back, 30 runs or 30 minutes (SOAK_RUNS, SOAK_MINUTES, SOAK_SCENARIOS, SOAK_ISOLATE=1): failures and snapshot differences by scenario
	$(CARGO) run -q -p harness -- soak

clean-cache: ## Forget installed CLI versions
	rm -rf "$(HARNESS_CACHE_DIR)"
