//! `harness run`: scenarios one after another on one client version; a progress line and a
//! verdict table per scenario, a summary grid at the end (or, with `--json`, the reports on
//! stdout). Interrupted, it ends its clients, removes its sandboxes and prints the grid of what
//! finished.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Args;
use harness::clients::catalog::ClientKind;
use harness::console;
use harness::mock::{MockMode, MOCK_MODE_ENV};
use harness::proxy::{ProxyOptions, RecordingProxy};
use harness::reports::run_table::{self, Evidence};
use harness::scenarios::variants::ServerVariant;
use harness::scenarios::{self, Scenario, ScenarioReport};
use harness::store::versions::{VersionStore, CACHE_DIR_ENV};

#[derive(Debug, Args)]
#[command(
    after_help = "Output: a progress line per scenario (a bar on a terminal) on stderr; on \
stdout each scenario's verdict table (evidence under the checks that did not pass) and a summary \
grid. With -v also every command started, with its whole environment, each check's evidence and \
the server-side timeline. A failing scenario's bundle (target/harness-failures, or \
HARNESS_ARTIFACTS_DIR) holds all of that and the client's sandbox.

Ctrl-C or SIGTERM ends the clients, removes the sandboxes, prints the summary of the scenarios that \
finished and exits with 130 or 143."
)]
pub struct RunArgs {
    /// Scenario to run (see `harness scenarios`), or `all`.
    #[arg(long, short, default_value = "all")]
    scenario: String,
    /// Exact version from the npm registry (default: the client\'s pinned version, or its
    /// version variable: CLAUDE_CODE_VERSION, CODEX_VERSION, GEMINI_CLI_VERSION).
    #[arg(long = "cli-version")]
    pub cli_version: Option<String>,
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
    /// separate-auth-server, issuer-path, openid-only, mcp-path, pre-registered, client-id-metadata; the response shapes token-without-expires-in, token-expires-in-string, token-extra-fields, several-challenges, html-errors; or two at once as `a+b`
    /// (`mcp-path+pre-registered`; a pair that does not compose is refused, saying why).
    /// In-process mock only.
    #[arg(long, value_name = "VARIANT[+VARIANT]", value_parser = ServerVariant::parse_arg)]
    discovery: Option<ServerVariant>,
    /// Do not run the reference clients after a failure. By default, when a scenario fails,
    /// each reference client's pinned version (`harness clients`) runs the failing scenarios,
    /// `login_at_connect` and `stored_token_rerun` against the same kind of server, and each failing check they judged
    /// gets a line saying whose fault it likely is: the client's (every reference client passes
    /// it) or the server's (one fails it too).
    #[arg(long)]
    no_reference: bool,
    /// Run against your own MCP server instead of the mock: the client is given the URL of a
    /// recording proxy on loopback that forwards to this one (http or https; an authorization
    /// server on another origin gets a proxy listener of its own) and records every exchange
    /// for the checks. Only the scenarios that need no control of the server run: slash_mcp,
    /// login_then_list, login_at_connect.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// A PEM certificate to trust for an https --server (a self-signed one), besides the
    /// system's roots.
    #[arg(long, value_name = "PEM", requires = "server")]
    server_ca: Option<std::path::PathBuf>,
    /// When the authorization server shows a page the scripted browser cannot fill in (a real
    /// sign-in), print the authorize URL for a person and wait for them (at most 300 s) instead
    /// of failing the run.
    #[arg(long, requires = "server")]
    consent_by_person: bool,
    /// A file holding a pre-issued access token, for a server whose authorization cannot be
    /// scripted: the recording proxy adds `Authorization: Bearer <token>` to every MCP request
    /// that carries none (the client is given no token), and the OAuth checks are marked not
    /// applicable with that reason. The token is never recorded, printed or bundled.
    #[arg(long, value_name = "FILE", requires = "server")]
    bearer_file: Option<std::path::PathBuf>,
    /// Run against the in-process mock configured by this file (TOML, or JSON by its name):
    /// what `harness capture` wrote from your server, or a mock configuration of your own.
    /// The scenario's own faults are added to it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["server", "discovery"])]
    server_config: Option<std::path::PathBuf>,
}

/// What has finished, for the interrupt handler.
#[derive(Default)]
struct Finished {
    reports: Vec<ScenarioReport>,
    /// The scenario running now.
    running: Option<String>,
}

pub fn run(
    store: &VersionStore,
    kind: &'static ClientKind,
    version: &str,
    args: RunArgs,
) -> ExitCode {
    let RunArgs {
        scenario,
        json,
        mock: mock_mode,
        isolate,
        discovery,
        no_reference,
        server,
        server_ca,
        consent_by_person,
        bearer_file,
        server_config,
        ..
    } = args;
    let server_config = match server_config
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
    if server_config.is_some() && (isolate || mock_mode != MockMode::InProcess) {
        console::say("harness: --server-config runs on the in-process mock; drop --isolate and --mock container");
        return ExitCode::from(2);
    }
    let bearer = match bearer_file.as_deref().map(harness::proxy::read_bearer_file) {
        None => None,
        Some(Ok(token)) => Some(token),
        Some(Err(e)) => {
            harness::say!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    if consent_by_person {
        // Read by the scripted browser (drive::browser), which knows no command line. Set
        // before any thread of this run starts.
        std::env::set_var(harness::drive::browser::CONSENT_BY_PERSON_ENV, "1");
    }
    if server.is_some() && (discovery.is_some() || isolate || mock_mode != MockMode::InProcess) {
        console::say(
            "harness: --server runs against your server through the recording proxy; \
             --discovery, --isolate and --mock container are about the mock: drop them",
        );
        return ExitCode::from(2);
    }
    if discovery.is_some() && (isolate || mock_mode != MockMode::InProcess) {
        console::say(
            "harness: --discovery runs on the in-process mock only (the separate authorization \
             server is a second loopback listener); drop --isolate and --mock container",
        );
        return ExitCode::from(2);
    }
    let scenarios: Vec<Scenario> = if bearer.is_some() {
        // The OAuth scenarios would wait for a login the proxy's token makes needless.
        if scenario != "all" && Scenario::parse(&scenario) != Some(Scenario::PRE_ISSUED_TOKEN) {
            harness::say!(
                "harness: with --bearer-file the scenario is pre_issued_token (the client \
                 connects and lists with the token; the OAuth scenarios need the server's own \
                 authorization): drop --scenario {scenario}"
            );
            return ExitCode::from(2);
        }
        vec![Scenario::PRE_ISSUED_TOKEN]
    } else if scenario == "all" && server.is_some() {
        Scenario::AGAINST_ANY_SERVER.to_vec()
    } else if scenario == "all" {
        Scenario::ALL.to_vec()
    } else {
        match Scenario::parse(&scenario) {
            Some(s) => vec![s],
            None => {
                let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                harness::say!(
                    "harness: no scenario `{scenario}`; choose one of: {} (or all)",
                    names.join(", ")
                );
                return ExitCode::from(2);
            }
        }
    };
    if let Some(url) = &server {
        if let Some(refused) = scenarios.iter().find(|s| !s.runs_against_any_server()) {
            harness::say!("{}", refused_for_server(*refused));
            return ExitCode::from(2);
        }
        if let Err(e) = harness::proxy::check_reachable(url) {
            harness::say!("harness: --server: {e}");
            return ExitCode::from(2);
        }
    }
    harness::say!(
        "harness: version store {} (set {CACHE_DIR_ENV} to move it)",
        store.root().display()
    );
    let finished = Arc::new(Mutex::new(Finished::default()));
    {
        let finished = finished.clone();
        let total = scenarios.len();
        super::interrupt::on_interrupt(move |out| {
            let finished = finished.lock().unwrap_or_else(|p| p.into_inner());
            let reports = &finished.reports;
            if json {
                match to_json(reports) {
                    Ok(text) => out.print(&format!("{text}\n")),
                    Err(e) => out.say(&format!("harness: cannot write JSON: {e}")),
                }
            } else if !reports.is_empty() {
                out.print(&run_table::render_summary(reports));
            }
            let failed = reports.iter().filter(|r| !r.passed()).count();
            out.say(&format!(
                "harness: interrupted{}: {} of {total} scenario(s) finished, {} passed, {failed} \
                 failed; the rest were not judged",
                finished
                    .running
                    .as_deref()
                    .map(|s| format!(" during {s}"))
                    .unwrap_or_default(),
                reports.len(),
                reports.len() - failed,
            ));
        });
    }
    let installed = match store.ensure(version) {
        Ok(i) => i,
        Err(e) => {
            harness::say!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    if isolate {
        if let Err(e) = harness::drive::isolation::available() {
            harness::say!("harness: --isolate: {e}");
            return ExitCode::from(2);
        }
    }
    let client = (kind.make)(installed);
    let evidence = if console::verbose() {
        Evidence::All
    } else {
        Evidence::NotPassing
    };
    let progress = console::progress("run", scenarios.len() as u64);
    for (i, s) in scenarios.iter().enumerate() {
        let counter = format!("[{}/{}]", i + 1, scenarios.len());
        progress.now(&format!("{} on {} {version}", s.name(), kind.name));
        harness::detail!(
            "harness: {counter} {} on {} {version}: {}",
            s.name(),
            kind.name,
            s.describe()
        );
        finished.lock().unwrap_or_else(|p| p.into_inner()).running = Some(s.name().to_owned());
        let mut text = String::new();
        let report = if isolate {
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
                    text.push_str(&run_table::render_table_with(
                        std::slice::from_ref(&report),
                        evidence,
                    ));
                    text.push_str(&format!("  connections: {}\n", connects.summary()));
                    for (destination, n) in &connects.foreign {
                        text.push_str(&format!("    NOT the run's: {destination} ×{n}\n"));
                    }
                    report
                }
                Err(e) => {
                    harness::say!("harness: --isolate: {e}");
                    return ExitCode::from(2);
                }
            }
        } else if let Some(url) = &server {
            let options = ProxyOptions {
                ca_certificate: server_ca.clone(),
                bearer: bearer.clone(),
            };
            let proxy = match RecordingProxy::start(url, &options) {
                Ok(p) => p,
                Err(e) => {
                    harness::say!("harness: --server: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut report = run_against(
                *s,
                client.as_ref(),
                &proxy,
                discovery,
                evidence,
                &mut text,
                bearer.is_some(),
            );
            report.server_lints = harness::lints::server_lints(&proxy.exchanges());
            if bearer.is_some() {
                harness::checks::pre_issued::mark_oauth_not_applicable(&mut report.server_lints);
            }
            for line in harness::lints::render(&report.server_lints).lines() {
                text.push_str(&format!("  {line}\n"));
            }
            for line in proxy.describe_rewrites().lines() {
                text.push_str(&format!("  {line}\n"));
            }
            report
        } else if let Some(config) = &server_config {
            let mock = match config.start(s.mock_faults()) {
                Ok(m) => m,
                Err(e) => {
                    harness::say!("harness: cannot start the mock server: {e}");
                    return ExitCode::from(2);
                }
            };
            run_against(*s, client.as_ref(), &mock, None, evidence, &mut text, false)
        } else {
            let mock = match start_mock(*s, discovery, mock_mode) {
                Ok(m) => m,
                Err(e) => {
                    harness::say!("harness: cannot start the mock server: {e}");
                    return ExitCode::from(2);
                }
            };
            run_against(
                *s,
                client.as_ref(),
                mock.as_ref(),
                discovery,
                evidence,
                &mut text,
                false,
            )
        };
        // Interrupted under it, the scenario's verdict means nothing: not recorded, not shown.
        harness::drive::live::hold_if_stopping();
        harness::scenarios::observe::record_report(client.install(), &report);
        progress.step(&format!(
            "harness: {counter} {}: {} ({:.1} s)",
            report.expectation_key(),
            run_table::verdict(&report).as_str(),
            report.duration_secs
        ));
        if !json {
            console::print(&text);
        }
        let mut finished = finished.lock().unwrap_or_else(|p| p.into_inner());
        finished.running = None;
        finished.reports.push(report);
        drop(finished);
    }
    drop(progress);
    // A copy: the interrupt handler locks `finished` after taking the console, so printing
    // while holding it could wait on the handler forever.
    let reports = finished
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .reports
        .clone();
    let reports = &reports;
    if json {
        match to_json(reports) {
            Ok(text) => console::print(&format!("{text}\n")),
            Err(e) => {
                harness::say!("harness: cannot write JSON: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        console::print(&run_table::render_summary(reports));
    }
    let failed = reports.iter().filter(|r| !r.passed()).count();
    // Not under --isolate: the reference runs would leave the namespace the failure was seen in.
    if failed > 0 && !no_reference && !isolate {
        let proxy_options = ProxyOptions {
            ca_certificate: server_ca.clone(),
            bearer: bearer.clone(),
        };
        let against = match &server {
            Some(url) => super::reference::Against::Server {
                url,
                options: &proxy_options,
            },
            None => super::reference::Against::Mock {
                discovery,
                mode: mock_mode,
            },
        };
        let lines = super::reference::compare(store, kind, reports, against);
        if !lines.is_empty() {
            let mut text =
                String::from("\nwhose fault (the reference clients on the same server):\n");
            for line in &lines {
                text.push_str(&format!("  {line}\n"));
            }
            if json {
                console::say(text.trim_end());
            } else {
                console::print(&text);
            }
        }
    }
    harness::say!(
        "harness: {} scenario(s), {} passed, {} failed",
        reports.len(),
        reports.len() - failed,
        failed
    );
    let mut lints_failed = false;
    if server.is_some() {
        let line = blame_line(reports);
        lints_failed = line.lints_failed;
        harness::say!("{}", line.text);
    }
    if failed == 0 && !lints_failed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One scenario against `target`: its verdict table (and with `-v` its timeline) into `text`.
fn run_against(
    scenario: Scenario,
    client: &dyn harness::clients::ClientUnderTest,
    target: &dyn harness::mock::MockTarget,
    discovery: Option<ServerVariant>,
    evidence: Evidence,
    text: &mut String,
    pre_issued_token: bool,
) -> ScenarioReport {
    harness::detail!("harness: {}", target.describe());
    let options = scenarios::RunOptions {
        discovery,
        ..Default::default()
    };
    let mut report = scenarios::run_with(scenario, client, target, &options);
    if pre_issued_token {
        harness::checks::pre_issued::mark_oauth_not_applicable(&mut report.checks);
    }
    text.push_str(&run_table::render_table_with(
        std::slice::from_ref(&report),
        evidence,
    ));
    if console::verbose() {
        text.push_str(&format!("\n  server-side timeline ({}):\n", target.uri()));
        for line in report.timeline().lines() {
            text.push_str(&format!("    {line}\n"));
        }
    }
    report
}

/// The verdict line of a run against a user's server, blame split: which server lints failed
/// (the server's fault), which client checks failed (the client's, unless a lint explains it).
struct BlameLine {
    text: String,
    lints_failed: bool,
}

fn blame_line(reports: &[ScenarioReport]) -> BlameLine {
    let mut lints: Vec<String> = Vec::new();
    let mut checks: Vec<String> = Vec::new();
    for report in reports {
        for name in harness::lints::failed(&report.server_lints) {
            if !lints.iter().any(|l| l == name) {
                lints.push(name.to_owned());
            }
        }
        for check in report
            .checks
            .iter()
            .filter(|c| c.verdict == harness::checks::Verdict::Fail)
        {
            checks.push(format!("{} ({})", check.name, report.scenario.name()));
        }
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    BlameLine {
        text: format!(
            "harness: server lints failed: {}; client checks failed: {}",
            list(&lints),
            list(&checks)
        ),
        lints_failed: !lints.is_empty(),
    }
}

/// Why `scenario` cannot run against a user's server, and which can.
pub(crate) fn refused_for_server(scenario: Scenario) -> String {
    let can: Vec<&str> = Scenario::AGAINST_ANY_SERVER
        .iter()
        .map(|s| s.name())
        .collect();
    format!(
        "harness: `{}` needs control of the server (it expires or revokes tokens, loses \
         sessions, restarts the server, injects faults or knows the mock's tools), which the \
         harness has only over its own mock; against --server these run: {} (or all)",
        scenario.name(),
        can.join(", ")
    )
}

/// The scenario's server: on the discovery variant when one is given (in-process), else where
/// `--mock` says.
pub(crate) fn start_mock(
    scenario: Scenario,
    discovery: Option<ServerVariant>,
    mock_mode: MockMode,
) -> Result<Box<dyn harness::mock::MockTarget>, harness::mock::MockError> {
    // A variant, or a scenario's own server that is not OAuth, runs in-process.
    Ok(
        match scenario.mock_discovery(discovery.map(|v| v.discovery())) {
            Some(discovery) => Box::new(
                mock_server::MockServer::builder()
                    .faults(scenario.mock_faults())
                    .discovery(discovery)
                    .start_blocking()?,
            ),
            None => mock_mode.start_with(scenario.mock_faults())?,
        },
    )
}

fn to_json(reports: &[ScenarioReport]) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(reports)
}
