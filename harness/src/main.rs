//! `harness`: run real MCP clients (Claude Code, Codex, Gemini CLI …) against the mock OAuth + MCP
//! server and say whether they reconnect after the token exchange.

use std::process::ExitCode;

mod cli;

use clap::{Parser, Subcommand};
use harness::clients::catalog::{self, ClientKind};
use harness::clients::ClientUnderTest;
use harness::scenarios::Scenario;
use harness::store::versions::{parse_size, VersionStore, CACHE_SIZE_ENV};

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Runs real MCP clients (Claude Code first; `harness clients` lists them) headlessly against a strict mock OAuth 2.1 + MCP server and checks that it reconnects (initialize, tools/list) after the token exchange.",
    after_help = "Each client is installed from the npm registry into the harness's own cache (HARNESS_CACHE_DIR, default ~/.cache/mcp-reconnect-harness) and run with a throw-away HOME; it talks only to loopback servers the harness starts.\n\nExit status: 0 when every check passed (or was not applicable with evidence), 1 when a check failed, 2 when the run could not be set up, 128 + the signal (130, 143) when interrupted: Ctrl-C or SIGTERM ends the clients, removes the sandboxes and prints what finished."
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
    /// Also print every command the harness starts (with its whole environment, so it can be
    /// rerun by hand), each check's evidence, the server-side timelines and the harness's own
    /// steps. Without it, these are in a failing run's bundle only.
    #[arg(short, long, global = true)]
    verbose: bool,
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
    /// Run scenarios and print a verdict table per scenario and a summary grid (with -v, also
    /// the commands started and the server-side timelines).
    Run(cli::run::RunArgs),
    /// Record one session of a client with your server (through the recording proxy) and write
    /// a mock configuration reproducing its shape: revision, serverInfo, capabilities, tools
    /// (their JSON as sent), discovery layout. Then: `harness run --server-config <file>`.
    Capture(cli::capture::CaptureArgs),
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
    /// The command the official conformance suite runs in client mode (`harness run --scenario
    /// conformance:<scenario>` starts the suite with it): hands the suite server's URL (the last
    /// argument) and the suite's MCP_CONFORMANCE_* variables to the waiting harness run through
    /// DIR, and exits when that run has finished driving the client.
    #[command(name = "conformance-client", hide = true)]
    ConformanceClient {
        /// The folder the harness run watches.
        #[arg(long, value_name = "DIR")]
        handoff: std::path::PathBuf,
        /// The suite's server URL, which the suite appends.
        url: String,
    },
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
        /// The known failures per client and version: a run counts as a failure when it does
        /// not match them (without the file, when any check fails).
        #[arg(long, default_value = "suites/expectations.toml")]
        expectations: std::path::PathBuf,
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
    harness::console::set_verbose(cli.verbose);
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
            let pairs = harness::scenarios::variants::Combination::all();
            println!(
                "\ncombinations (harness run --discovery <a>+<b>; harness matrix --scenarios \
                 combinations runs all {}): {}",
                pairs.len(),
                pairs
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!(
                "\nthe official conformance suite's client scenarios ({} {}; harness run \
                 --scenario <name>, matrix --scenarios conformance):",
                harness::conformance::suite::PACKAGE.npm,
                harness::conformance::suite::PACKAGE.pinned
            );
            for s in harness::scenarios::conformance::all() {
                println!("  {}", s.name());
            }
            ExitCode::SUCCESS
        }
        Command::Soak {
            runs,
            minutes,
            scenarios,
            cli_version,
            snapshots,
            expectations,
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
                expectations: None,
                out,
                isolate,
            },
            &expectations,
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
        Command::ConformanceClient { handoff, url } => {
            use harness::conformance::handoff as h;
            let handed = h::Handoff::from_env(&url, |k| std::env::var(k).ok());
            match h::hand_over(&handoff, &handed, h::DONE_WAIT) {
                Ok(status) => ExitCode::from(u8::try_from(status).unwrap_or(1)),
                Err(e) => {
                    eprintln!("harness conformance-client: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Run(args) => {
            let version = pinned(args.cli_version.clone());
            cli::run::run(&store, kind, &version, args)
        }
        Command::Capture(args) => {
            let version = pinned(args.cli_version.clone());
            cli::capture::capture(&store, kind, &version, args)
        }
    }
}

fn cmd_soak(
    store: &VersionStore,
    kind: &'static ClientKind,
    version: &str,
    names: &[String],
    mut plan: harness::matrix::soak::SoakPlan,
    expectations: &std::path::Path,
) -> ExitCode {
    if expectations.is_file() {
        match harness::matrix::expectations::Expectations::load(expectations) {
            Ok(known) => plan.expectations = Some(known),
            Err(e) => {
                harness::say!("harness: soak: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        harness::say!(
            "harness: soak: no expectations file at {} (every failing check counts as a failure)",
            expectations.display()
        );
    }
    plan.scenarios = if names.is_empty() {
        harness::matrix::soak::CORE_SCENARIOS.to_vec()
    } else {
        let mut chosen = Vec::new();
        for name in names {
            match Scenario::parse(name.trim()) {
                Some(s) => chosen.push(s),
                None => {
                    harness::say!("harness: soak: no scenario `{name}` (see `harness scenarios`)");
                    return ExitCode::from(2);
                }
            }
        }
        chosen
    };
    if plan.isolate {
        if let Err(e) = harness::drive::isolation::available() {
            harness::say!("harness: soak --isolate: {e}");
            return ExitCode::from(2);
        }
    }
    let installed = match store.ensure(version) {
        Ok(i) => i,
        Err(e) => {
            harness::say!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    let client: Box<dyn ClientUnderTest> = (kind.make)(installed);
    let out = plan.out.clone();
    cli::interrupt::on_interrupt(move |console| {
        console.say(&format!(
            "harness: soak interrupted; the differences found so far are in {}",
            out.display()
        ));
    });
    let summary = match harness::matrix::soak::soak(client.as_ref(), kind, &plan) {
        Ok(s) => s,
        Err(e) => {
            harness::say!("harness: soak: {e}");
            return ExitCode::from(2);
        }
    };
    let text = summary.render();
    harness::console::print(&text);
    let json = serde_json::to_vec_pretty(&summary).unwrap_or_default();
    let _ = std::fs::write(plan.out.join("summary.json"), json);
    let _ = std::fs::write(plan.out.join("summary.txt"), &text);
    if summary.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
