//! `harness`: run the real Claude Code CLI against the mock OAuth + MCP server and say whether it
//! reconnects after the token exchange.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use harness::claude_code::ClaudeCode;
use harness::mock::{MockMode, MOCK_MODE_ENV};
use harness::report::render_table;
use harness::scenario::{self, Scenario, ScenarioReport};
use harness::versions::{VersionStore, CACHE_DIR_ENV, DEFAULT_CLAUDE_CODE_VERSION, VERSION_ENV};

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Runs the real Claude Code CLI headlessly against a strict mock OAuth 2.1 + MCP server and checks that it reconnects (initialize, tools/list) after the token exchange.",
    after_help = "The CLI is installed from the npm registry into the harness's own cache (HARNESS_CACHE_DIR, default ~/.cache/mcp-reconnect-harness) and run with a throw-away HOME; it talks only to loopback servers the harness starts.\n\nExit status: 0 when every check passed (or was not applicable with evidence), 1 when a check failed, 2 when the run could not be set up."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios and print the verdict table and the server-side timeline.
    Run {
        /// Scenario to run (see `harness scenarios`), or `all`.
        #[arg(long, short, default_value = "all")]
        scenario: String,
        /// Exact CLI version from the npm registry.
        #[arg(long = "cli-version", env = VERSION_ENV, default_value = DEFAULT_CLAUDE_CODE_VERSION)]
        cli_version: String,
        /// Print the reports as JSON on stdout (progress still goes to stderr).
        #[arg(long)]
        json: bool,
        /// Where the mock server runs: in-process, or in a container of the locally built image
        /// (needs a Docker engine; `make docker` starts one).
        #[arg(long, value_enum, env = MOCK_MODE_ENV, default_value_t = MockMode::InProcess)]
        mock: MockMode,
    },
    /// Install a CLI version into the harness's cache (no-op when present) and print where.
    Install {
        #[arg(env = VERSION_ENV, default_value = DEFAULT_CLAUDE_CODE_VERSION)]
        version: String,
    },
    /// List the scenarios.
    Scenarios,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scenarios => {
            for s in Scenario::ALL {
                println!("{:<16} {}", s.name(), s.describe());
            }
            ExitCode::SUCCESS
        }
        Command::Install { version } => {
            let store = VersionStore::from_env();
            match store.ensure(&version) {
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
            }
        }
        Command::Run {
            scenario,
            cli_version,
            json,
            mock,
        } => run(&scenario, &cli_version, json, mock),
    }
}

fn run(scenario: &str, version: &str, json: bool, mock_mode: MockMode) -> ExitCode {
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
    let store = VersionStore::from_env();
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
    let client = ClaudeCode::new(installed);
    let mut reports: Vec<ScenarioReport> = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        eprintln!(
            "harness: [{}/{}] {} on claude-code {version}: {}",
            i + 1,
            scenarios.len(),
            s.name(),
            s.describe()
        );
        let mock = match mock_mode.start() {
            Ok(m) => m,
            Err(e) => {
                eprintln!("harness: cannot start the mock server: {e}");
                return ExitCode::from(2);
            }
        };
        eprintln!("harness: {}", mock.describe());
        let report = scenario::run(*s, &client, mock.as_ref());
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
