//! Shared helpers for the suites: where snapshots live and how they are normalised.

/// insta resolves snapshot paths next to the calling file; the project keeps them all in `snapshots/`.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

use std::io::Write as _;
use std::sync::{Mutex, MutexGuard, Once, OnceLock};

use std::path::{Path, PathBuf};

use anyhow::bail;
use harness::checks::Verdict;
use harness::clients::claude_code;
use harness::clients::claude_code::ClaudeCode;
use harness::clients::ClientUnderTest;
use harness::matrix::expectations::Expectations;
use harness::mock::container::{self, docker_required, REQUIRE_DOCKER_ENV};
use harness::mock::{MockMode, MockTarget, MOCK_MODE_ENV};
use harness::reports::run_table::render_table;
use harness::scenarios::{self, Scenario, ScenarioReport};
use harness::store::versions::VersionStore;

/// Real-CLI runs take a slot each: two cores cannot drive several full CLIs at once without
/// their timings (and so the tests) suffering. Mock-only tests run in parallel as usual.
static REAL_CLI_SLOT: Mutex<()> = Mutex::new(());

pub fn real_cli_slot() -> MutexGuard<'static, ()> {
    REAL_CLI_SLOT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The version under test: `CLAUDE_CODE_VERSION`, else the pinned default.
pub fn version_under_test() -> String {
    claude_code::PACKAGE.version_under_test()
}

/// The `cli.js`-era version the default run covers beside the pinned native one.
pub const CLI_JS_ERA_VERSION: &str = "2.1.81";

/// The Claude Code CLI at `version`, installed into the harness's cache on first use.
/// The Claude Code CLI at the version under test (`CLAUDE_CODE_VERSION`, else the pinned one).
pub fn claude_code() -> anyhow::Result<ClaudeCode> {
    claude_code_at(&version_under_test())
}

pub fn claude_code_at(version: &str) -> anyhow::Result<ClaudeCode> {
    let installed = VersionStore::from_env(&claude_code::PACKAGE).ensure(version)?;
    Ok(ClaudeCode::new(installed))
}

/// Runs one scenario on `version` against a fresh mock, records what it showed about the
/// version's session features in the store, and prints the report.
pub fn run_scenario(scenario: Scenario, version: &str) -> anyhow::Result<(ScenarioReport, String)> {
    let client = claude_code_at(version)?;
    let mock = start_mock()?;
    let report = scenarios::run(scenario, &client, mock.as_ref());
    harness::scenarios::observe::record_report(client.install(), &report);
    let text = show(&report);
    Ok((report, text))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed expectations (known failures per scenario × check × login path × version).
pub fn expectations_path() -> PathBuf {
    repo_root().join("suites/expectations.toml")
}

pub fn expectations() -> anyhow::Result<Expectations> {
    let path = expectations_path();
    let file = Expectations::load(&path)?;
    file.check_evidence_exists(Path::new(&repo_root()))?;
    Ok(file)
}

/// Green when the run fails exactly the checks the expectations file lists for its version;
/// otherwise an error that names each new failure and each known failure that now passes.
pub fn assert_as_expected(report: &ScenarioReport, text: &str) -> anyhow::Result<()> {
    let comparison = expectations()?.compare(report);
    eprintln!("{}", comparison.summary());
    if comparison.matches() {
        Ok(())
    } else {
        anyhow::bail!(
            "{}\nthe run, for the record:\n{text}",
            comparison.mismatch_message()
        )
    }
}

/// A run without harness-made faults: it must match what `suites/expectations.toml` says of its
/// client and version, and its access log (the server's view of the whole path) the version's
/// reviewed snapshot, `<client>__<scenario>__<version>`.
pub fn assert_as_expected_and_snapshot(report: &ScenarioReport, text: &str) -> anyhow::Result<()> {
    assert_as_expected(report, text)?;
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!(
                "{}__{}__{}",
                report.client.replace('-', "_"),
                report.scenario.name(),
                report.version
            ),
            report.canonical_log()
        )
    });
    Ok(())
}

/// The client named `name` (`harness clients`) at its version under test (the pinned one, or its
/// version variable's), installed into the harness's cache on first use.
pub fn pinned_client(name: &str) -> anyhow::Result<Box<dyn ClientUnderTest>> {
    let kind = harness::clients::catalog::by_name(name).map_err(anyhow::Error::msg)?;
    let installed =
        VersionStore::from_env(kind.package).ensure(&kind.package.version_under_test())?;
    Ok((kind.make)(installed))
}

/// One run of `scenario` on `client` against a fresh in-process mock committing the scenario's
/// own faults; the report, and its text as printed for the test runner.
pub fn run_on_mock(
    client: &dyn ClientUnderTest,
    scenario: Scenario,
    options: &scenarios::RunOptions,
) -> anyhow::Result<(ScenarioReport, String)> {
    let mut builder = mock_server::MockServer::builder().faults(scenario.mock_faults());
    // A scenario's own server (static_api_key's is not OAuth).
    if let Some(discovery) = scenario.mock_discovery(None) {
        builder = builder.discovery(discovery);
    }
    let mock = builder.start_blocking()?;
    let report = scenarios::run_with(scenario, client, &mock, options);
    let text = show(&report);
    Ok((report, text))
}

/// Prints the report (shown by the test runner on failure) and returns it as text for messages.
pub fn show(report: &ScenarioReport) -> String {
    let text = format!(
        "{}\n  server-side timeline:\n{}",
        render_table(std::slice::from_ref(report)),
        report.timeline()
    );
    eprintln!("{text}");
    text
}

/// Whether a Docker engine answers, asked once per run. Where none does, container tests return
/// early and the run says so in one line, written past the test runner's capture so that it is
/// seen; with `HARNESS_REQUIRE_DOCKER=1` (CI) a missing engine fails each of them instead.
pub fn docker_engine() -> anyhow::Result<bool> {
    static ENGINE: OnceLock<Result<String, String>> = OnceLock::new();
    static SAID: Once = Once::new();
    match ENGINE.get_or_init(|| container::engine().map_err(|e| e.to_string())) {
        Ok(_) => Ok(true),
        Err(reason) if docker_required() => bail!("{REQUIRE_DOCKER_ENV}=1, but {reason}"),
        Err(reason) => {
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "container-mode tests skipped: {reason}; set {REQUIRE_DOCKER_ENV}=1 to make that a failure"
                );
            });
            Ok(false)
        }
    }
}

/// The mock server for the real-CLI scenario tests, in the mode `HARNESS_MOCK` picks (in-process
/// unless it says `container`).
pub fn start_mock() -> anyhow::Result<Box<dyn MockTarget>> {
    let mode = MockMode::from_env()?;
    if mode == MockMode::Container {
        if let Err(reason) = container::engine() {
            bail!("{MOCK_MODE_ENV}=container, but {reason}");
        }
    }
    Ok(mode.start()?)
}

/// The run was driven (no `driver` check) and each named check has the verdict given. (A run
/// without harness-made faults is also held against the expectations file, which catches a
/// failure nobody named.)
pub fn assert_verdicts(report: &ScenarioReport, text: &str, want: &[(&str, Verdict)]) {
    assert!(
        report.check("driver").is_none(),
        "the harness could not drive {}:\n{text}",
        report.client
    );
    for (name, verdict) in want {
        let check = report
            .check(name)
            .unwrap_or_else(|| panic!("check {name} did not run:\n{text}"));
        assert_eq!(check.verdict, *verdict, "check {name}:\n{text}");
    }
}
