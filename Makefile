# The single entry point: CI (.ci/run, ci/) and people call these targets.
SHELL := /bin/bash
CARGO ?= cargo
# Real-CLI tests install the pinned CLI into this cache on first use.
export HARNESS_CACHE_DIR ?= $(CURDIR)/target/harness-cache
# Where the mock server runs for `make run`: in-process (default) or container.
MOCK ?= in-process

.PHONY: help setup docker build test test-clients conformance-clients test-unit test-reconnect test-container test-bisect lint fmt run ci clean-cache fuzz load soak bench bisect-demo matrix-demo nightly report-screenshot lint-workflows conformance-server

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: ## Install what the tests need (Node.js + npm for fetching the CLI), when missing
	bash ci/setup.sh

docker: ## Make sure a Docker engine answers (installs docker.io, starts dockerd, when missing)
	bash ci/docker.sh

build: ## Build everything
	$(CARGO) build --workspace --all-targets

test: setup ## The README's test command: unit tests, the harness binary's own (`-p harness --test cli`), then `cargo test --test reconnect` (every client's pinned version on its core scenarios: Claude Code 2.1.331 and 2.1.81, Codex, Gemini CLI, opencode, Kilo, Copilot CLI, Qwen Code, MCP Inspector, mcp-remote)
	$(CARGO) test --workspace --lib --bins
	$(CARGO) test -p harness --test cli
	$(CARGO) test --test reconnect

# The per-client test modules; `make test` runs each client's default tests, `make test-clients`
# the rest of them (the tests marked `#[ignore = "make test-clients"]`).
CLIENT_MODULES := claude_code:: codex:: gemini_cli:: opencode:: kilo:: copilot_cli:: qwen_code:: mcp_inspector:: mcp_remote:: shapes:: resumed:: cold:: static_key::static_key_real_ legacy_sse::legacy_sse_ callback_port::callback_port_real_ discovery::discovery_variant_on_the_cli_js_era_version server:: python_server:: shared_store:: conformance::

test-clients: setup ## Every client's tests that `make test` leaves out for time (more scenarios, more versions); CI runs it after `make test`
	$(CARGO) build -p harness --bin harness
	$(CARGO) test --test reconnect -- --ignored $(CLIENT_MODULES)

# The official conformance suite's client scenarios on every client (48 × 9 cells, hours on two
# cores: not in `make test`). CONFORMANCE_SCENARIOS narrows it (`conformance:auth`, or a list).
CONFORMANCE_SCENARIOS ?= conformance
CONFORMANCE_JOBS ?= 2
conformance-clients: setup ## The conformance suite's client scenarios × every client: table, Markdown and JSON in target/conformance-clients
	$(CARGO) build -p harness --bin harness
	mkdir -p target/conformance-clients
	$(CARGO) run -p harness -- matrix --client all --scenarios $(CONFORMANCE_SCENARIOS) -j $(CONFORMANCE_JOBS) \
		--markdown target/conformance-clients/matrix.md --json target/conformance-clients/matrix.json

test-reconnect: ## Only the integration suite (real CLI + mock server)
	$(CARGO) test --test reconnect

test-container: setup docker ## The integration suite with the mock server in a container throughout
	HARNESS_MOCK=container HARNESS_REQUIRE_DOCKER=1 $(CARGO) test --test reconnect

lint: ## rustfmt and clippy, warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

run: setup ## Fetch the pinned CLI, run every scenario, print verdicts and timelines (MOCK=container)
	$(CARGO) run -q -p harness -- run --mock $(MOCK)

ci: docker lint lint-workflows test ## What CI runs (.ci/run also sets HARNESS_REQUIRE_DOCKER=1)

fuzz: ## Property tests of the mock at full size: 100,000+ generated inputs (MOCK_FUZZ_CASES), a fresh seed (MOCK_FUZZ_SEED)
	@mkdir -p target
	set -o pipefail; start=$$(date +%s); \
	MOCK_FUZZ_CASES=$${MOCK_FUZZ_CASES:-100000} MOCK_FUZZ_SEED=$${MOCK_FUZZ_SEED:-random} \
	  $(CARGO) test --test reconnect mock_fuzz -- --nocapture 2>&1 | tee target/fuzz.log; \
	grep '^fuzz-cases:' target/fuzz.log | awk -v t=$$(( $$(date +%s) - start )) \
	  '{ n += $$3 } END { printf "fuzz: %d generated inputs in total, %d s wall clock\n", n, t; exit (n < 100000) }'

load: ## 200 concurrent MCP sessions against the mock (release build, own process): throughput, p50/p99, peak memory
	$(CARGO) run --release -q -p mock-server --example load -- $(LOAD_ARGS)

bench: setup ## The harness against the same client by hand (ci/bench/speed.sh): median pairwise wall and CPU ratios on login_then_list and slash_mcp (BENCH_ARGS='-n 7 slash_mcp')
	bash ci/bench/speed.sh $(BENCH_ARGS)

bisect-demo: setup ## A real bisect (not in `make test`; ~2-5 min, installs ~10 versions): where 2.1.81's lost-session failure was fixed
	HARNESS_CACHE_SIZE=$${HARNESS_CACHE_SIZE:-20G} $(CARGO) run -q -p harness -- bisect \
	  --scenario session_lost --check reinitialized-after-session-loss \
	  --good 2.1.331 --bad 2.1.81 --find-fix $(BISECT_ARGS)

test-bisect: setup ## The real bisect CI runs: where 2.1.81's stale needs-auth entry was fixed (~a dozen installs)
	HARNESS_CACHE_SIZE=$${HARNESS_CACHE_SIZE:-20G} $(CARGO) test --test reconnect real_bisect_finds_where_the_stale -- --ignored --nocapture

conformance-server: setup ## The official MCP conformance suite (pinned, installed into the cache with its Node) against the mock binary: server scenarios × 2025-06-18/2025-11-25/2026-07-28 (dual-era, stateless) × profiles, and the authorization-server scenarios per registration mode; table in target/conformance-server/table.md
	$(CARGO) build -q -p mock-server --bin mock-server -p harness --bin conformance-server
	$(CARGO) run -q -p harness --bin conformance-server -- \
	  --markdown target/conformance-server/table.md --json target/conformance-server/results.json $(CONFORMANCE_ARGS)

matrix-demo: setup ## A real matrix (not in `make test`; ~30 s with -j 2): 2.1.81 and 2.1.331 × three scenarios, every report form in target/matrix
	HARNESS_CACHE_SIZE=$${HARNESS_CACHE_SIZE:-20G} $(CARGO) run -q -p harness -- matrix \
	  --versions 2.1.81,2.1.331 --scenarios slash_mcp,session_lost,print_after_auth -j 2 \
	  --json target/matrix/matrix.json --markdown target/matrix/matrix.md \
	  --junit target/matrix/matrix.xml --html target/matrix/matrix.html $(MATRIX_ARGS)

nightly: setup ## The nightly workflow on one machine: last NIGHTLY_LAST versions × core scenarios, NIGHTLY_SHARDS shards, merged, compared with BASELINE
	bash ci/nightly.sh all

report-screenshot: ## Open a matrix HTML page (REPORT, default target/matrix/matrix.html) in headless chromium: the grid, then a failing cell's detail
	bash ci/report-screenshot.sh $${REPORT:-target/matrix/matrix.html}

lint-workflows: setup ## Validate .github/workflows (actionlint when installed, else a structural check)
	bash ci/lint-workflows.sh

soak: setup ## The core scenarios on the pinned CLI back to back, 30 runs or 30 minutes (SOAK_RUNS, SOAK_MINUTES, SOAK_SCENARIOS, SOAK_ISOLATE=1): failures and snapshot differences by scenario
	$(CARGO) run -q -p harness -- soak

clean-cache: ## Forget installed client versions (and the Node runtimes)
	rm -rf "$(HARNESS_CACHE_DIR)"
