//! Running one scenario: a fresh sandbox and model stand-in, the story, the access log, the
//! report, and a bundle of everything when a check fails.

use std::path::{Path, PathBuf};
use std::time::Instant;

use mock_server::model_api::{ModelApi, ModelRequest, ModelView, ScriptReport};
use mock_server::AccessRecord;
use serde::Serialize;

use crate::checks::timeline;
use crate::checks::{Check, Verdict};
use crate::clients::{AuthOutcome, ClientUnderTest, DriveError, LoginPath, PrintOutcome, RunEnv};
use crate::drive::sandbox::Sandbox;
use crate::mock::MockTarget;
use crate::scenarios::def::Scenario;
use crate::scenarios::login_state::LoginState;
use crate::scenarios::steps::{login_path_absent, Ctx, Run, RunOptions, PRIMING_CHECK};

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: Scenario,
    pub client: String,
    pub version: String,
    pub login_path: LoginPath,
    pub is_reconnect_check: bool,
    pub checks: Vec<Check>,
    /// Checks on the server's side from the recorded traffic ([`crate::lints`]), filled in by
    /// a caller that ran through the recording proxy (`harness run --server`); not part of
    /// [`ScenarioReport::passed`], which judges the client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_lints: Vec<Check>,
    pub auth: Option<AuthOutcome>,
    pub access_log: Vec<AccessRecord>,
    pub final_screen: String,
    pub commands: Vec<String>,
    pub duration_secs: f64,
    pub bundle: Option<PathBuf>,
    /// What reached the model API, request by request.
    pub model_views: Vec<ModelView>,
    /// What the scripted model achieved (agent scenarios).
    pub script: Option<ScriptReport>,
    /// The print-mode run (print_after_auth).
    pub print: Option<PrintOutcome>,
    /// The discovery variant the server ran, when not the default (`harness run --discovery`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<crate::scenarios::variants::ServerVariant>,
    /// The login path's starting state, when not the scenario's default (`slash_mcp~primed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_state: Option<LoginState>,
    /// The model API requests as sent (large; kept for failure bundles, not for JSON reports).
    #[serde(skip)]
    pub model_requests: Vec<ModelRequest>,
    /// Every command the run started, exactly as started (a shell line with the whole
    /// environment): long, so only in the failure bundle (`commands.sh`) and `-v`.
    #[serde(skip)]
    pub launched: Vec<String>,
    /// Where the run's sandbox was. It is gone when the report is returned: removed, or moved
    /// into the failure bundle.
    #[serde(skip)]
    pub sandbox: Option<PathBuf>,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != Verdict::Fail)
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The scenario's name in the expectations file: `slash_mcp`, or `slash_mcp@challenge-only`
    /// on a discovery variant.
    pub fn expectation_key(&self) -> String {
        crate::scenarios::variants::ScenarioSpec::new(
            self.scenario,
            self.login_state,
            self.discovery,
        )
        .name()
    }

    /// The canonical access log, for snapshots.
    pub fn canonical_log(&self) -> String {
        timeline::canonical_text(&self.access_log)
    }

    pub fn timeline(&self) -> String {
        timeline::render_timeline(&self.access_log)
    }

    /// The model's view, for snapshots.
    pub fn canonical_model_view(&self) -> String {
        crate::checks::model::canonical_model_view(&self.model_views)
    }
}

/// Where failure bundles go: `HARNESS_ARTIFACTS_DIR`, else `target/harness-failures`.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("HARNESS_ARTIFACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target"));
            target.join("harness-failures")
        })
}

/// The primed state's own check (`needs-auth-before-login`, the health check before the login
/// path) is a precondition, not a judgement of the path: when the story then earns "not
/// applicable", a passing precondition must not turn the cell into a pass. It is kept as
/// evidence of the n/a checks instead.
fn fold_priming_into_not_applicable(checks: &mut Vec<Check>) {
    if !checks.iter().any(|c| c.verdict == Verdict::NotApplicable) {
        return;
    }
    let Some(at) = checks
        .iter()
        .position(|c| c.name == PRIMING_CHECK && c.verdict == Verdict::Pass)
    else {
        return;
    };
    let priming = checks.remove(at);
    for c in checks
        .iter_mut()
        .filter(|c| c.verdict == Verdict::NotApplicable)
    {
        c.evidence.extend(
            priming
                .evidence
                .iter()
                .map(|e| format!("primed first ({}): {e}", priming.summary)),
        );
    }
}

/// Runs `scenario` with `client` against `mock`, in-process or in a container alike.
pub fn run(
    scenario: Scenario,
    client: &dyn ClientUnderTest,
    mock: &dyn MockTarget,
) -> ScenarioReport {
    run_with(scenario, client, mock, &RunOptions::default())
}

pub fn run_with(
    scenario: Scenario,
    client: &dyn ClientUnderTest,
    mock: &dyn MockTarget,
    options: &RunOptions,
) -> ScenarioReport {
    let started = Instant::now();
    let launched = crate::console::CommandLog::start();
    // A state named for a scenario without the choice is refused below; the run goes cold.
    let login_state = options
        .login_state
        .filter(|_| scenario.default_login_state().is_some())
        .or(scenario.default_login_state())
        .unwrap_or(LoginState::Cold);
    let mut run = Run {
        scenario,
        login_state,
        access_log: None,
        print: None,
        commands: vec![format!(
            "# the mock server this run used: {} (start one like it with: {})",
            mock.describe(),
            mock.how_to_start()
        )],
        checks: Vec::new(),
        auth: None,
        final_screen: String::new(),
        mock,
    };
    let mut sandbox: Option<Sandbox> = None;
    let mut model_api = None;
    let mut login_path = scenario.login_path();
    let outcome = (|| -> Result<(), DriveError> {
        let sb = Sandbox::new(&scenario.file_label())
            .map_err(|e| DriveError::Setup(format!("sandbox: {e}")))?;
        let model = model_api.insert(
            ModelApi::start().map_err(|e| DriveError::Setup(format!("model API stand-in: {e}")))?,
        );
        let sb = sandbox.insert(sb);
        let env = RunEnv {
            sandbox: sb,
            model_api_url: model.uri(),
        };
        client.prepare(&env)?;
        login_path =
            crate::scenarios::headless_then_session::login_path_for(scenario, client, &env)?;
        // A client without the scenario's login path earns "not applicable", with the
        // evidence it gave; every other story needs the path to mean anything.
        // The suite's scenarios choose among the client's login paths themselves.
        if !crate::scenarios::conformance::is_suite_scenario(scenario)
            && login_path_absent(&mut run, client, &env, login_path)?
        {
            return Ok(());
        }
        let ctx = Ctx {
            env: &env,
            model,
            options,
        };
        scenario.drive(&mut run, client, &ctx)
    })();
    if let Err(error) = outcome {
        run.checks.push(Check::fail(
            "driver",
            "the harness could not drive the client through the scenario",
            vec![error.to_string()],
        ));
    }
    fold_priming_into_not_applicable(&mut run.checks);
    let access_log = match run
        .access_log
        .take()
        .map(Ok)
        .unwrap_or_else(|| mock.received_requests())
    {
        Ok(log) => log,
        Err(error) => {
            run.checks.push(Check::fail(
                "mock-access-log",
                "the harness could not read the mock server's access log",
                vec![error.to_string()],
            ));
            Vec::new()
        }
    };
    if let (Some(state), None) = (options.login_state, scenario.default_login_state()) {
        run.checks.push(Check::fail(
            "login-state",
            "this scenario's story has no login-state choice; name a login path's scenario \
             (slash_mcp, login_then_list, print_after_auth, login_at_connect, authenticate_tool)",
            vec![format!("asked for the {state} state")],
        ));
    }
    let driven = !run
        .checks
        .iter()
        .any(|c| c.verdict == Verdict::NotApplicable);
    // A login path's story is one user action: the browser log says how many authorizations
    // the client asked of the user for it.
    if scenario.default_login_state().is_some() && driven {
        if let Some(sb) = sandbox.as_ref() {
            let opened = std::fs::read_to_string(sb.browser_log())
                .map(|text| crate::checks::one_authorization::opened_urls(&text))
                .unwrap_or_default();
            run.checks.push(
                crate::checks::one_authorization::one_authorization_per_login(&opened, &access_log),
            );
            // A callback port the person configured must be the one every redirect URI names.
            if let Some(model) = model_api.as_ref() {
                let env = RunEnv {
                    sandbox: sb,
                    model_api_url: model.uri(),
                };
                match client.configured_callback_port(&env, crate::scenarios::SERVER_NAME) {
                    Ok(Some(port)) => {
                        run.checks
                            .push(crate::checks::callback_port::configured_port_honoured(
                                &access_log,
                                port,
                            ))
                    }
                    Ok(None) => {}
                    Err(error) => run.checks.push(Check::fail(
                        "driver",
                        "the harness could not read the client's configured callback port",
                        vec![error.to_string()],
                    )),
                }
            }
        }
    }
    if options.discovery.is_some() {
        match mock.in_process() {
            Some(server) if driven => {
                run.checks
                    .extend(crate::checks::discovery::discovery_checks(
                        &access_log,
                        server.config(),
                    ))
            }
            Some(_) => {}
            None => run.checks.push(Check::fail(
                "discovery-variant",
                "discovery variants run on the in-process mock only (the authorization server's \
                 second origin is a second loopback listener); run with --mock in-process",
                vec![mock.describe()],
            )),
        }
    }
    let mut report = ScenarioReport {
        login_state: options
            .login_state
            .filter(|s| Some(*s) != scenario.default_login_state()),
        discovery: options.discovery,
        scenario,
        client: client.name().to_owned(),
        version: client.version().to_owned(),
        login_path,
        is_reconnect_check: scenario.is_reconnect_check(),
        checks: run.checks,
        server_lints: Vec::new(),
        auth: run.auth,
        access_log,
        final_screen: run.final_screen,
        commands: run.commands,
        duration_secs: started.elapsed().as_secs_f64(),
        bundle: None,
        model_views: model_api.as_ref().map(|m| m.views()).unwrap_or_default(),
        script: model_api.as_ref().map(|m| m.script_report()),
        print: run.print,
        model_requests: model_api
            .as_ref()
            .map(|m| m.received_requests())
            .unwrap_or_default(),
        launched: launched.finish(),
        sandbox: sandbox.as_ref().map(|s| s.root().to_owned()),
    };
    // An interrupted run's verdict means nothing (its client was ended under it): no bundle.
    if !report.passed() && !crate::drive::live::stopping() {
        match write_bundle(&report, sandbox.take(), &mock.bundle_files()) {
            Ok(dir) => {
                crate::detail!(
                    "harness: {} failed; bundle saved in {}",
                    scenario.name(),
                    dir.display()
                );
                report.bundle = Some(dir);
            }
            Err(e) => crate::say!(
                "harness: could not save the failure bundle of {}: {e}",
                scenario.name()
            ),
        }
    }
    // A passing run's sandbox goes here (a failing one's moved into its bundle).
    drop(sandbox);
    report
}

/// Writes the failure bundle: what the server, the model and the screen saw, how to reproduce
/// the run, and the run's sandbox itself (moved in, so nothing of it stays in the temporary
/// directory).
fn write_bundle(
    report: &ScenarioReport,
    sandbox: Option<Sandbox>,
    extra: &[(String, String)],
) -> std::io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let dir = artifacts_dir().join(format!(
        "{}-{}-{}",
        report.scenario.file_label(),
        report.version,
        stamp
    ));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("screen.txt"), &report.final_screen)?;
    for (name, contents) in extra {
        std::fs::write(dir.join(name), contents)?;
    }
    std::fs::write(dir.join("timeline.txt"), report.timeline())?;
    std::fs::write(dir.join("access-log.canonical.txt"), report.canonical_log())?;
    let jsonl: String = report
        .access_log
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .map(|l| l + "\n")
        .collect();
    std::fs::write(dir.join("access-log.jsonl"), jsonl)?;
    std::fs::write(dir.join("model-view.txt"), report.canonical_model_view())?;
    std::fs::write(
        dir.join("model-requests.json"),
        serde_json::to_vec_pretty(&report.model_requests).map_err(std::io::Error::other)?,
    )?;
    std::fs::write(
        dir.join("model-views.json"),
        serde_json::to_vec_pretty(&report.model_views).map_err(std::io::Error::other)?,
    )?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?,
    )?;
    let mut reproduce =
        String::from("#!/bin/sh\n# Commands this run performed, to reproduce it by hand.\n");
    for c in &report.commands {
        reproduce.push_str(c);
        reproduce.push('\n');
    }
    let mut exact = String::from(
        "#!/bin/sh\n# Every command this run started, exactly as started: `env -i` and the whole environment.\n",
    );
    if let Some(sandbox) = sandbox {
        let was = sandbox.root().to_owned();
        // The client's own logs (Claude Code's `claude-debug.log`, the scripted browser's),
        // which the sandbox keeps beside HOME, where people look first.
        copy_logs(&was, &dir);
        let note = match sandbox.move_into(&dir.join("sandbox")) {
            Ok(()) => format!(
                "# The client's sandbox (HOME was {}/home) is in ./sandbox; the commands point into\n\
                 # it where it was: to rerun one, copy it back first: cp -a sandbox {}\n",
                was.display(),
                crate::drive::command::quote(&was.to_string_lossy())
            ),
            Err(e) => format!("# The client's sandbox could not be kept: {e}\n"),
        };
        reproduce.push_str(&note);
        exact.push_str(&note);
    }
    for line in &report.launched {
        exact.push_str(line);
        exact.push('\n');
    }
    std::fs::write(dir.join("reproduce.sh"), reproduce)?;
    std::fs::write(dir.join("commands.sh"), exact)?;
    Ok(dir)
}

/// Copies every `*.log` file directly in `from` into `to` (best effort).
fn copy_logs(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "log") {
            let _ = std::fs::copy(&path, to.join(entry.file_name()));
        }
    }
}

#[cfg(test)]
mod priming_tests {
    use super::*;

    #[test]
    fn a_passing_priming_check_does_not_turn_a_not_applicable_run_into_a_pass() {
        let mut checks = vec![
            Check::pass(
                PRIMING_CHECK,
                "`mcp list` shows it",
                vec!["Not logged in".to_owned()],
            ),
            Check::not_applicable("authenticate-tool-offered", "no pseudo-tool", vec![]),
        ];
        fold_priming_into_not_applicable(&mut checks);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].verdict, Verdict::NotApplicable);
        assert!(checks[0].evidence[0].contains("Not logged in"));
    }

    #[test]
    fn a_failing_priming_check_or_one_without_an_na_stays() {
        let mut failing = vec![
            Check::fail(PRIMING_CHECK, "connected already", vec![]),
            Check::not_applicable("x", "y", vec![]),
        ];
        fold_priming_into_not_applicable(&mut failing);
        assert_eq!(failing.len(), 2);
        let mut judged = vec![
            Check::pass(PRIMING_CHECK, "ok", vec![]),
            Check::pass("token-exchanged", "ok", vec![]),
        ];
        fold_priming_into_not_applicable(&mut judged);
        assert_eq!(judged.len(), 2);
    }
}
