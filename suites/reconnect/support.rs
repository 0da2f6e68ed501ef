//! Shared helpers for the suites: where snapshots live and how they are normalised.

/// insta resolves snapshot paths next to the calling file; the project keeps them all in `snapshots/`.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

use std::sync::{Mutex, MutexGuard};

use harness::claude_code::ClaudeCode;
use harness::report::render_table;
use harness::scenario::ScenarioReport;
use harness::versions::{VersionStore, DEFAULT_CLAUDE_CODE_VERSION, VERSION_ENV};

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
    std::env::var(VERSION_ENV).unwrap_or_else(|_| DEFAULT_CLAUDE_CODE_VERSION.to_owned())
}

/// The Claude Code CLI at the version under test, installed into the harness's cache on first use.
pub fn claude_code() -> anyhow::Result<ClaudeCode> {
    let installed = VersionStore::from_env().ensure(&version_under_test())?;
    Ok(ClaudeCode::new(installed))
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
