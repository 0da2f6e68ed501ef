//! `harness bisect`: find the version where a scenario's check starts failing (or, with
//! `--find-fix`, passing), over the published versions in release order.

use std::process::ExitCode;

use clap::Args;
use harness::bisect::run::{self, shell_quote, Request};
use harness::clients::catalog::ClientKind;
use harness::clients::LoginPath;
use harness::scenarios::Scenario;
use harness::store::versions::{VersionStore, CACHE_DIR_ENV};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  harness bisect --scenario session_lost --check reinitialized-after-session-loss --good 2.1.331 --bad 2.1.81 --find-fix
  harness bisect --scenario print_after_auth --check needs-auth-cleared --bad 2.1.81 --find-fix   # good end: the newest version
  harness bisect --scenario slash_mcp --good 2.1.149                                            # bad end: the newest version
  harness bisect --scenario session_lost --good 2.1.331 --find-fix                               # bad end: stepping back 1, 2, 4, … versions

A version that cannot be installed, whose run is inconclusive, that lacks the feature the scenario
needs, or whose --repeat runs disagree is skipped (like `git bisect skip`). Each probe is saved under
the store (bisect/); the same command after an interruption resumes where it stopped.

Exit status: 0 when a boundary was found, 1 when there is none to find (the ends agree, the probes
are not monotonic, …), 2 when the search could not be set up, 130 when interrupted.")]
pub struct BisectArgs {
    /// The scenario to run on each version (see `harness scenarios`).
    #[arg(long, short)]
    scenario: String,
    /// One check of the scenario (e.g. reinitialized-after-session-loss); default: any failing
    /// check fails the version.
    #[arg(long, short)]
    check: Option<String>,
    /// The login path; must be the scenario's own (slash-mcp, login-command, authenticate-tool,
    /// pasted-callback). Accepted for scripts that name it.
    #[arg(long)]
    path: Option<String>,
    /// A version where the check passes. Default: found by the search.
    #[arg(long)]
    good: Option<String>,
    /// A version where the check fails. Default: found by the search.
    #[arg(long)]
    bad: Option<String>,
    /// Look for the fix: the first passing version after failing ones (the good end is newer).
    #[arg(long = "find-fix")]
    find_fix: bool,
    /// Runs per probe; runs that disagree make the probe flaky (skipped), never a verdict.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    repeat: u32,
    /// Skip the two spot checks beside the boundary (they test that the line is monotonic).
    #[arg(long = "no-verify")]
    no_verify: bool,
    /// Install the versions the next probe may need only when it needs them.
    #[arg(long = "no-prefetch")]
    no_prefetch: bool,
    /// Ignore probes saved by an earlier run of the same command.
    #[arg(long)]
    fresh: bool,
    /// The report as JSON on stdout (progress stays on stderr).
    #[arg(long)]
    json: bool,
    /// Probe every version against this discovery variant of the server (see `harness
    /// scenarios`), or a combination of two (`a+b`), with the discovery checks.
    #[arg(long, value_name = "VARIANT[+VARIANT]", value_parser = harness::scenarios::variants::ServerVariant::parse_arg)]
    discovery: Option<harness::scenarios::variants::ServerVariant>,
    /// Probe every version against your own MCP server (its URL) through the recording proxy,
    /// instead of the mock: which version stopped working with your server. Only the scenarios
    /// that need no control of the server: slash_mcp, login_then_list, login_at_connect.
    #[arg(long, value_name = "URL", conflicts_with = "discovery")]
    server: Option<String>,
    /// Probe every version against an in-process mock configured by this file (what `harness
    /// capture` wrote from your server, or a mock configuration of your own): which version
    /// stopped working with a copy of your server, with no network.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["server", "discovery"])]
    server_config: Option<std::path::PathBuf>,
}

fn login_path(name: &str) -> Option<LoginPath> {
    [
        LoginPath::SlashMcp,
        LoginPath::LoginCommand,
        LoginPath::AuthenticateTool,
        LoginPath::PastedCallback,
    ]
    .into_iter()
    .find(|p| p.as_str() == name || p.as_str().replace('-', "_") == name)
}

pub fn bisect(store: &VersionStore, kind: &'static ClientKind, args: BisectArgs) -> ExitCode {
    let Some(scenario) = Scenario::parse(&args.scenario) else {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        harness::say!(
            "harness: no scenario `{}`; choose one of: {}",
            args.scenario,
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    if let Some(path) = &args.path {
        match login_path(path) {
            Some(p) if p == scenario.login_path() => {}
            Some(p) => {
                harness::say!(
                    "harness: scenario {} logs in through {}, not {}; each scenario has one login path (see `harness scenarios`)",
                    scenario.name(),
                    scenario.login_path().as_str(),
                    p.as_str()
                );
                return ExitCode::from(2);
            }
            None => {
                harness::say!("harness: `{path}` is not a login path: slash-mcp, login-command, authenticate-tool or pasted-callback");
                return ExitCode::from(2);
            }
        }
    }
    if args.server.is_some() && !scenario.runs_against_any_server() {
        harness::say!("{}", super::run::refused_for_server(scenario));
        return ExitCode::from(2);
    }
    let server_config = match args
        .server_config
        .as_deref()
        .map(harness::mock::ConfiguredServer::read)
    {
        None => None,
        Some(Ok(config)) => Some(config),
        Some(Err(e)) => {
            harness::say!("harness: --server-config: {e}");
            return ExitCode::from(2);
        }
    };
    let argv: Vec<String> = std::env::args().collect();
    let request = Request {
        server_config,
        client: kind,
        discovery: args.discovery,
        server: args.server,
        scenario,
        check: args.check,
        good: args.good,
        bad: args.bad,
        find_fix: args.find_fix,
        repeat: args.repeat,
        verify: !args.no_verify,
        prefetch: !args.no_prefetch,
        fresh: args.fresh,
        command_line: argv
            .iter()
            .filter(|a| *a != "--fresh")
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" "),
        program: shell_quote(argv.first().map(String::as_str).unwrap_or("harness")),
    };

    // Every probe is saved as it finishes; an interrupted one is dropped (its processes get the
    // signal too, so its verdict would be worthless). Say how to go on, and stop.
    let resume = format!(
        "{CACHE_DIR_ENV}={} {}",
        shell_quote(&store.root().display().to_string()),
        request.command_line
    );
    let state = run::state_path(store, &request);
    super::interrupt::on_interrupt(move |out| {
        out.say(&format!(
            "harness: the finished probes are saved in {}\nharness: resume with:\n  {resume}",
            state.display()
        ));
    });

    let report = match run::bisect(store, &request) {
        Ok(r) => r,
        Err(e) => {
            harness::say!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => harness::console::print(&format!("{text}\n")),
            Err(e) => {
                harness::say!("harness: cannot write JSON: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        harness::console::print(&run::render(&report));
    }
    if report.found() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
