//! opencode (pinned 1.18.33, or `OPENCODE_VERSION`) through the scenarios its driver can run:
//! `opencode mcp auth` (the login command), `opencode mcp list`, and `opencode run`. The findings
//! asserted here are opencode's own behaviour, not the harness's:
//!
//! - `registration-reused` (client_forgotten): every `opencode mcp auth` registers two clients,
//!   one when it first connects and meets the 401, one when its OAuth flow starts, while the
//!   first one is still good.
//!
//! Two tests run by default (the login command and its stored tokens, ~20 s); the rest are
//! ignored (`make test-clients`, or `cargo test --test reconnect opencode:: -- --include-ignored`).

use harness::checks::{Verdict, BEARER_ON_EVERY_REQUEST, TOKEN_EXCHANGED};
use harness::clients::opencode::{self, Opencode};
use harness::clients::ClientUnderTest;
use harness::scenarios::{self, RunOptions, Scenario, ScenarioReport};
use harness::store::versions::VersionStore;

use crate::support::{
    assert_as_expected_and_snapshot, assert_verdicts, real_cli_slot, show, start_mock,
};

use Verdict::{Fail, NotApplicable, Pass};

/// opencode at the version under test, installed into the harness's cache on first use.
fn opencode_client() -> anyhow::Result<Opencode> {
    let version = opencode::PACKAGE.version_under_test();
    let installed = VersionStore::from_env(&opencode::PACKAGE).ensure(&version)?;
    Ok(Opencode::new(installed))
}

fn run(scenario: Scenario, options: &RunOptions) -> anyhow::Result<(ScenarioReport, String)> {
    let client = opencode_client()?;
    let mock = start_mock()?;
    let report = scenarios::run_with(scenario, &client, mock.as_ref(), options);
    let text = show(&report);
    assert_eq!(report.client, client.name());
    Ok((report, text))
}

/// A run of the scenario as it is (no harness-made fault), which must also match what
/// `suites/expectations.toml` says of this client and version, and whose access log must match
/// the version's snapshot.
fn run_as_expected(scenario: Scenario) -> anyhow::Result<(ScenarioReport, String)> {
    let (report, text) = run(scenario, &RunOptions::default())?;
    assert_as_expected_and_snapshot(&report, &text)?;
    Ok((report, text))
}

#[test]
fn opencode_mcp_auth_stores_tokens_that_mcp_list_connects_with() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::LOGIN_THEN_LIST)?;
    assert_verdicts(
        &report,
        &text,
        &[
            ("needs-auth-before-login", Pass),
            (TOKEN_EXCHANGED, Pass),
            ("login-succeeded", Pass),
            ("connected-after-login", Pass),
            // `opencode mcp list` connects with the stored tokens: initialize, tools/list.
            ("stored-token-initialize", Pass),
            (BEARER_ON_EVERY_REQUEST, Pass),
        ],
    );
    Ok(())
}

/// A second `mcp auth` after the server forgot its clients registers anew and connects; but
/// each `mcp auth` registers twice (the finding in `suites/expectations.toml`).
#[test]
#[ignore = "make test-clients"]
fn a_forgotten_client_registers_again_but_every_mcp_auth_registers_twice() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::CLIENT_FORGOTTEN)?;
    assert_verdicts(
        &report,
        &text,
        &[
            ("first-login-succeeded", Pass),
            ("second-login-succeeded", Pass),
            ("connected-after-second-login", Pass),
            (harness::checks::discovery::REGISTRATION_REUSED, Fail),
        ],
    );
    Ok(())
}

/// opencode never logs in by itself at connect: "not applicable", with its evidence, never a
/// driver failure.
#[test]
#[ignore = "make test-clients"]
fn login_at_connect_is_not_applicable_with_the_clients_evidence() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run(Scenario::LOGIN_AT_CONNECT, &RunOptions::default())?;
    assert!(report.check("driver").is_none(), "{text}");
    assert!(
        report.checks.iter().any(|c| c.verdict == NotApplicable
            && c.evidence.iter().any(|e| e.contains("status=needs_auth"))),
        "{text}"
    );
    Ok(())
}
