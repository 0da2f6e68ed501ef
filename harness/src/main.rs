//! `harness`: run real MCP clients (Claude Code, Codex, Gemini CLI …) against the mock OAuth + MCP
//! server and say whether they reconnect after the token exchange.

use std::process::ExitCode;

mod cli;

use clap::{Parser, Subcommand};
use harness::clients::catalog::{self, ClientKind};
use harness::clients::ClientUnderTest;
use harness::mock::{MockMode, MOCK_MODE_ENV};
use harness::reports::run_table::render_table;
use harness::scenarios::{self, Scenario, ScenarioReport};
use harness::store::versions::{parse_size, VersionStore, CACHE_DIR_ENV, CACHE_SIZE_ENV};

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Runs real MCP clients (Claude Code first; `harness clients` lists them) headlessly against a strict mock OAuth 2.1 + MCP server and checks that it reconnects (initialize, tools/list) after the token exchange.",
    after_help = "Each client is installed from the npm registry into the harness's own cache (HARNESS_CACHE_DIR, default ~/.cache/mcp-reconnect-harness) and run with a throw-away HOME; it talks only to loopback servers the harness starts.\n\nExit status: 0 when every check passed (or was not applicable with evidence), 1 when a check failed, 2 when the run could not be set up."
)]
struct Cli {
    /// Cap on the version store's size (4G, 500M, none); least recently used versions are
    /// evicted after an install, never one in use. Default 8G.
    #[arg(long = "cache-size", global = true, env = CACHE_SIZE_ENV, value_parser = cache_size)]
    cache_size: Option<CacheSize>,
    /// The client under test (`harness clients` lists them); `matrix` takes a comma-separated
    /// list or `all`.
    #[arg(
        long,
        global = true,
        env = "HARNESS_CLIENT",
        default_value = "claude-code"
    )]
    client: String,
    #[command(subcommand)]
    command: Command,
}

/// A parsed `--cache-size`: bytes, or `None` for no cap.
#[derive(Clone, Copy, Debug)]
struct CacheSize(Option<u64>);

fn cache_size(text: &str) -> Result<CacheSize, String> {
    parse_size(text).map(CacheSize).map_err(|e| e.to_string())
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios and print the verdict table and the server-side timeline.
    Run {
        /// Scenario to run (see `harness scenarios`), or `all`.
        #[arg(long, short, default_value = "all")]
        scenario: String,
        /// Exact version from the npm registry (default: the client\'s pinned version, or its
        /// version variable: CLAUDE_CODE_VERSION, CODEX_VERSION, GEMINI_CLI_VERSION).
        #[arg(long = "cli-version")]
        cli_version: Option<String>,
        /// Print the reports as JSON on stdout (progress still goes to stderr).
        #[arg(long)]
        json: bool,
        /// Where the mock server runs: in-process, or in a container of the locally built image
        /// (needs a Docker engine; `make docker` starts one).
        #[arg(long, value_enum, env = MOCK_MODE_ENV, default_value_t = MockMode::InProcess)]
        mock: MockMode,
        /// Run client, mock and model stand-in in a network namespace with only loopback (needs
        /// root), every client process under strace: any connect() that is not to the run's own
        /// loopback servers fails the `no-traffic-off-machine` check. The version is installed
        /// first, outside.
        #[arg(long)]
        isolate: bool,
        /// Run against a discovery/registration variant of the server and add the discovery
        /// checks (failure classes before the token): challenge-only, bare-challenge,
        /// separate-auth-server, issuer-path, openid-only, mcp-path, pre-registered. In-process
        /// mock only.
        #[arg(long, value_enum, value_name = "VARIANT")]
        discovery: Option<harness::scenarios::variants::DiscoveryVariant>,
    },
    /// Install a CLI version into the harness's cache (no-op when present) and print where.
    Install {
        /// Exact version (default: the client's pinned version).
        version: Option<String>,
    },
    /// List the CLI's published versions in release order with publish dates (from the npm
    /// registry, cached 10 min), or with --installed the versions in the store.
    #[command(
        after_help = "Examples:\n  harness versions --last 10\n  harness versions 2.1.81..2.1.90\n  harness versions --since 2026-11-01 --json\n  harness versions --installed"
    )]
    Versions {
        /// FROM..TO (inclusive; either end may be left out), exact published versions.
        range: Option<String>,
        /// Only the newest N (after the range and --since).
        #[arg(long)]
        last: Option<usize>,
        /// Only versions published on or after this date (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: Option<String>,
        /// Machine-readable output on stdout.
        #[arg(long)]
        json: bool,
        /// Ask the registry now instead of using the cached listing.
        #[arg(long)]
        refresh: bool,
        /// The versions in the store: size, last use, in use.
        #[arg(long, conflicts_with_all = ["range", "last", "since", "refresh"])]
        installed: bool,
    },
    /// What an installed version can do (probed from its help once and cached; session
    /// features filled in by scenario runs). Installs the version when missing.
    Features {
        /// Exact version (default: the client's pinned version).
        version: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the scenarios.
    Scenarios,
    /// List the clients the harness drives, with their packages, pinned versions and login paths.
    Clients {
        #[arg(long)]
        json: bool,
    },
    /// Find the first version where a scenario's check fails (or, with --find-fix, passes):
    /// binary search over the published versions, skipping those it cannot judge.
    Bisect(cli::bisect::BisectArgs),
    /// Every scenario on every version (a version × scenario matrix), in parallel; reports as a
    /// table, JSON, Markdown, JUnit XML and HTML.
    Matrix(cli::matrix::MatrixArgs),
    /// Join matrix shards, or render a saved matrix report.
    #[command(subcommand)]
    Report(cli::matrix::ReportCommand),
    /// Determinism: the core scenarios back to back on one version, until --runs rounds or
    /// --minutes pass; failures and differences from the committed snapshots, by scenario.
    Soak {
        #[arg(long, env = "SOAK_RUNS", default_value_t = 30)]
        runs: usize,
        /// No new round starts after this many minutes.
        #[arg(long, env = "SOAK_MINUTES", default_value_t = 30.0)]
        minutes: f64,
        /// Comma-separated scenarios (default: the five core ones).
        #[arg(long, env = "SOAK_SCENARIOS", value_delimiter = ',')]
        scenarios: Vec<String>,
        /// Exact version from the npm registry (default: the client\'s pinned version, or its
        /// version variable: CLAUDE_CODE_VERSION, CODEX_VERSION, GEMINI_CLI_VERSION).
        #[arg(long = "cli-version")]
        cli_version: Option<String>,
        /// The committed snapshots to compare with.
        #[arg(long, default_value = "snapshots")]
        snapshots: std::path::PathBuf,
        /// Where diffs and the JSON summary go.
        #[arg(long, default_value = "target/soak")]
        out: std::path::PathBuf,
        /// Each run in the loopback-only network namespace (as `run --isolate`).
        #[arg(long, env = "SOAK_ISOLATE", value_parser = clap::builder::FalseyValueParser::new())]
        isolate: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let kinds = match catalog::parse_list(&cli.client) {
        Ok(kinds) if !kinds.is_empty() => kinds,
        Ok(_) => {
            eprintln!("harness: --client names no client; `harness clients` lists them");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    let kind = kinds[0];
    if kinds.len() > 1 && !matches!(cli.command, Command::Matrix(_)) {
        eprintln!(
            "harness: --client {}: only `matrix` runs several clients; name one",
            cli.client
        );
        return ExitCode::from(2);
    }
    let store = match cli.cache_size {
        Some(CacheSize(cap)) => VersionStore::from_env(kind.package).with_cap(cap),
        None => VersionStore::from_env(kind.package),
    };
    let pinned = |v: Option<String>| v.unwrap_or_else(|| kind.package.version_under_test());
    match cli.command {
        Command::Versions {
            range,
            last,
            since,
            json,
            refresh,
            installed,
        } => cli::versions::versions(
            &store,
            cli::versions::VersionsArgs {
                range,
                last,
                since,
                json,
                refresh,
                installed,
            },
        ),
        Command::Bisect(args) => cli::bisect::bisect(&store, kind, args),
        Command::Matrix(args) => cli::matrix::matrix_cmd(&store, &kinds, args),
        Command::Report(command) => cli::matrix::report_cmd(command),
        Command::Features { version, json } => {
            cli::versions::features_cmd(&store, kind, &pinned(version), json)
        }
        Command::Clients { json } => cli::versions::clients_cmd(json),
        Command::Scenarios => {
            let width = Scenario::ALL
                .iter()
                .map(|s| s.name().len())
                .max()
                .unwrap_or(0);
            for s in Scenario::ALL {
                println!("{:<width$} {}", s.name(), s.describe());
            }
            println!(
                "\ndiscovery variants (harness run --discovery <variant>; with slash_mcp, \
                 login_then_list, authenticate_tool):"
            );
            for v in harness::scenarios::variants::DiscoveryVariant::ALL {
                println!(
                    "{:<21} class {}, judged by {}",
                    v.name(),
                    v.class(),
                    v.key_check()
                );
            }
            ExitCode::SUCCESS
        }
        Command::Soak {
            runs,
            minutes,
            scenarios,
            cli_version,
            snapshots,
            out,
            isolate,
        } => cmd_soak(
            &store,
            kind,
            &pinned(cli_version),
            &scenarios,
            harness::matrix::soak::SoakPlan {
                scenarios: Vec::new(),
                runs,
                budget: std::time::Duration::from_secs_f64(minutes.max(0.0) * 60.0),
                snapshots,
                out,
                isolate,
            },
        ),
        Command::Install { version } => match store.ensure(&pinned(version)) {
            Ok(installed) => {
                println!(
                    "{} {:?} {}",
                    installed.version,
                    installed.packaging,
                    installed.program.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("harness: {e}");
                ExitCode::from(2)
            }
        },
        Command::Run {
            scenario,
            cli_version,
            json,
            mock,
            isolate,
            discovery,
        } => run(
            &store,
            kind,
            &scenario,
            &pinned(cli_version),
            json,
            mock,
            isolate,
            discovery,
        ),
    }
}

#[allow(clippy::too_many_arguments)] // one per `run` option; a struct would only rename them
fn run(
    store: &VersionStore,
    kind: &'static ClientKind,
    scenario: &str,
    version: &str,
    json: bool,
    mock_mode: MockMode,
    isolate: bool,
    discovery: Option<harness::scenarios::variants::DiscoveryVariant>,
) -> ExitCode {
    if discovery.is_some() && (isolate || mock_mode != MockMode::InProcess) {
        eprintln!(
            "harness: --discovery runs on the in-process mock only (the separate authorization \
             server is a second loopback listener); drop --isolate and --mock container"
        );
        return ExitCode::from(2);
    }
    let scenarios: Vec<Scenario> = if scenario == "all" {
        Scenario::ALL.to_vec()
    } else {
        match Scenario::parse(scenario) {
            Some(s) => vec![s],
            None => {
                let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                eprintln!(
                    "harness: no scenario `{scenario}`; choose one of: {} (or all)",
                    names.join(", ")
                );
                return ExitCode::from(2);
            }
        }
    };
    eprintln!(
        "harness: version store {} (set {CACHE_DIR_ENV} to move it)",
        store.root().display()
    );
    let installed = match store.ensure(version) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    if isolate {
        if let Err(e) = harness::drive::isolation::available() {
            eprintln!("harness: --isolate: {e}");
            return ExitCode::from(2);
        }
    }
    let client = (kind.make)(installed);
    let mut reports: Vec<ScenarioReport> = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        eprintln!(
            "harness: [{}/{}] {} on {} {version}: {}",
            i + 1,
            scenarios.len(),
            s.name(),
            kind.name,
            s.describe()
        );
        if isolate {
            match harness::scenarios::isolated::run_scenario_isolated(
                *s,
                {
                    let install = client.install().clone();
                    move || (kind.make)(install)
                },
                s.mock_faults(),
                &Default::default(),
            ) {
                Ok((report, connects)) => {
                    harness::scenarios::observe::record_report(client.install(), &report);
                    if !json {
                        println!("{}", render_table(std::slice::from_ref(&report)));
                        println!("  connections: {}", connects.summary());
                        for (destination, n) in &connects.foreign {
                            println!("    NOT the run's: {destination} ×{n}");
                        }
                    }
                    reports.push(report);
                }
                Err(e) => {
                    eprintln!("harness: --isolate: {e}");
                    return ExitCode::from(2);
                }
            }
            continue;
        }
        let mock: Box<dyn harness::mock::MockTarget> = match discovery {
            Some(variant) => match mock_server::MockServer::builder()
                .faults(s.mock_faults())
                .discovery(variant.discovery())
                .start_blocking()
            {
                Ok(m) => Box::new(m),
                Err(e) => {
                    eprintln!("harness: cannot start the mock server: {e}");
                    return ExitCode::from(2);
                }
            },
            None => match mock_mode.start_with(s.mock_faults()) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("harness: cannot start the mock server: {e}");
                    return ExitCode::from(2);
                }
            },
        };
        eprintln!("harness: {}", mock.describe());
        let options = scenarios::RunOptions {
            discovery,
            ..Default::default()
        };
        let report = scenarios::run_with(*s, client.as_ref(), mock.as_ref(), &options);
        harness::scenarios::observe::record_report(client.install(), &report);
        if !json {
            println!("{}", render_table(std::slice::from_ref(&report)));
            println!("  server-side timeline ({}):", mock.uri());
            for line in report.timeline().lines() {
                println!("    {line}");
            }
        }
        reports.push(report);
    }
    if json {
        match serde_json::to_string_pretty(&reports) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("harness: cannot write JSON: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let failed = reports.iter().filter(|r| !r.passed()).count();
    eprintln!(
        "harness: {} scenario(s), {} passed, {} failed",
        reports.len(),
        reports.len() - failed,
        failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn cmd_soak(
    store: &VersionStore,
    kind: &'static ClientKind,
    version: &str,
    names: &[String],
    mut plan: harness::matrix::soak::SoakPlan,
) -> ExitCode {
    plan.scenarios = if names.is_empty() {
        harness::matrix::soak::CORE_SCENARIOS.to_vec()
    } else {
        let mut chosen = Vec::new();
        for name in names {
            match Scenario::parse(name.trim()) {
                Some(s) => chosen.push(s),
                None => {
                    eprintln!("harness: soak: no scenario `{name}` (see `harness scenarios`)");
                    return ExitCode::from(2);
                }
            }
        }
        chosen
    };
    if plan.isolate {
        if let Err(e) = harness::drive::isolation::available() {
            eprintln!("harness: soak --isolate: {e}");
            return ExitCode::from(2);
        }
    }
    let installed = match store.ensure(version) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    let client: Box<dyn ClientUnderTest> = (kind.make)(installed);
    let summary = match harness::matrix::soak::soak(client.as_ref(), kind, &plan) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("harness: soak: {e}");
            return ExitCode::from(2);
        }
    };
    let text = summary.render();
    print!("{text}");
    let json = serde_json::to_vec_pretty(&summary).unwrap_or_default();
    let _ = std::fs::write(plan.out.join("summary.json"), json);
    let _ = std::fs::write(plan.out.join("summary.txt"), &text);
    if summary.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
