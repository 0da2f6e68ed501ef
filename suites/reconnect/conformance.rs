//! The official conformance suite's client scenarios on real clients (`conformance:<scenario>`,
//! see `harness::scenarios::conformance`). The suite's command is the `harness` binary itself
//! (`harness conformance-client`), found beside this test binary in the target folder: build it
//! first (`cargo build -p harness`; `make test-clients` and `make conformance-clients` do).
//!
//! One test runs by default, without a client: the pinned suite's own list of client scenarios
//! is the harness's. The real runs on Claude Code (about a minute each on a loaded machine) are
//! `make test-clients`; every client × every suite scenario is `make conformance-clients`.

use harness::checks::Verdict;
use harness::conformance::client_mode::SCENARIOS;
use harness::scenarios::{RunOptions, Scenario};

use crate::support::{pinned_client, real_cli_slot, run_on_mock};

#[test]
fn the_pinned_suites_client_scenarios_are_the_ones_the_harness_lists() -> anyhow::Result<()> {
    let suite = harness::conformance::suite::ensure()?;
    let out = suite
        .command(["list", "--client"])
        .run(std::time::Duration::from_secs(60))?;
    assert_eq!(out.status, Some(0), "{}{}", out.stdout, out.stderr);
    let listed: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        listed,
        SCENARIOS.to_vec(),
        "the pinned suite lists other client scenarios: update conformance::client_mode::SCENARIOS \
         and the definitions in scenarios::conformance"
    );
    Ok(())
}

fn scenario(name: &str) -> anyhow::Result<Scenario> {
    Scenario::parse(name).ok_or_else(|| anyhow::anyhow!("no scenario {name}"))
}

#[test]
#[ignore = "make test-clients"]
fn claude_code_passes_the_suites_default_metadata_discovery_with_its_checks_as_evidence(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = pinned_client("claude-code")?;
    let (report, text) = run_on_mock(
        client.as_ref(),
        scenario("conformance:auth/metadata-default")?,
        &RunOptions::default(),
    )?;
    let suite: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.name.starts_with("conformance:auth/metadata-default/"))
        .collect();
    assert!(suite.len() >= 5, "the suite's checks are the run's: {text}");
    assert!(report.check("driver").is_none(), "{text}");
    assert!(
        suite.iter().all(|c| c.verdict == Verdict::Pass),
        "every check of the default discovery passes on the pinned version: {text}"
    );
    // The run went through the recording proxy: its access log holds the suite server's traffic.
    assert!(
        report
            .access_log
            .iter()
            .any(|r| r.path == "/token" && r.status == 200),
        "{text}"
    );
    Ok(())
}

/// The negative control on a real client: the suite's scope rule fails, as measured, with the
/// suite's own details as the evidence.
#[test]
#[ignore = "make test-clients"]
fn claude_code_fails_the_suites_scope_from_www_authenticate_with_the_suites_details(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = pinned_client("claude-code")?;
    let (report, text) = run_on_mock(
        client.as_ref(),
        scenario("conformance:auth/scope-from-www-authenticate")?,
        &RunOptions::default(),
    )?;
    let check = report
        .check("conformance:auth/scope-from-www-authenticate/scope-from-www-authenticate")
        .ok_or_else(|| anyhow::anyhow!("no scope check: {text}"))?;
    assert_eq!(check.verdict, Verdict::Fail, "{text}");
    assert!(
        check.evidence.iter().any(|e| e.contains("mcp:basic")),
        "{text}"
    );
    assert!(!report.passed());
    Ok(())
}

/// A confidential client: the suite's `auth/pre-registration` gives a client ID *and* a secret,
/// which the harness gives the clients whose configuration takes one (Claude Code through
/// `--client-secret` and `MCP_CLIENT_SECRET`; opencode and Kilo, Gemini CLI and Qwen Code in
/// their config files). Claude Code sends it as the server's metadata asks (Basic) and passes
/// every check; a client the harness cannot give a secret is a `driver` failure instead.
#[test]
#[ignore = "make test-clients"]
fn claude_code_passes_the_suites_pre_registration_given_the_client_secret() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = pinned_client("claude-code")?;
    let (report, text) = run_on_mock(
        client.as_ref(),
        scenario("conformance:auth/pre-registration")?,
        &RunOptions::default(),
    )?;
    assert!(report.check("driver").is_none(), "{text}");
    let auth = report
        .check("conformance:auth/pre-registration/pre-registration-auth")
        .ok_or_else(|| anyhow::anyhow!("the suite did not judge the credentials: {text}"))?;
    assert_eq!(auth.verdict, Verdict::Pass, "{text}");
    // The secret is the suite's; it is never written into the commands a reader reruns.
    assert!(
        report
            .commands
            .iter()
            .all(|c| !c.contains("MCP_CLIENT_SECRET=") || c.contains("<secret>")),
        "{text}"
    );
    Ok(())
}
