//! The real Claude Code CLI, driven headlessly against the mock server, in two eras: the pinned
//! native version (or `CLAUDE_CODE_VERSION`) and a `cli.js`-era version. Verdicts are compared
//! with `suites/expectations.toml`: a failure it lists is expected, anything else fails the test.

use harness::checks::{self, Verdict};
use harness::scenarios::{self, Scenario, ScenarioReport};
use harness::store::features::{self, Feature};
use harness::store::package::Packaging;
use harness::store::versions::VersionStore;
use mock_server::MockServer;
use rstest::rstest;

use crate::support::{
    assert_as_expected, claude_code_at, expectations, real_cli_slot, run_scenario, show,
    snapshot_settings, version_under_test, CLI_JS_ERA_VERSION,
};

/// The reported bug's place: inside one running session, after `/mcp` → Authenticate and the
/// consent, the same session must send an authenticated `initialize`, `notifications/initialized`
/// and `tools/list`.
#[rstest]
#[case::pinned_native(version_under_test())]
#[case::cli_js_era(CLI_JS_ERA_VERSION.to_owned())]
fn reinitializes_after_token_exchange_in_the_same_session(
    #[case] version: String,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_scenario(Scenario::SLASH_MCP, &version)?;
    for name in [
        checks::TOKEN_EXCHANGED,
        checks::REINITIALIZED_AFTER_TOKEN,
        checks::TOOLS_LISTED_AFTER_TOKEN,
    ] {
        // Present with a verdict; whether it may fail is the expectations file's call.
        assert!(
            report.check(name).is_some(),
            "check {name} did not run:\n{text}"
        );
    }
    assert_as_expected(&report, &text)?;
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__slash_mcp__{version}"),
            report.canonical_log()
        )
    });
    Ok(())
}

/// The reconnect meets a transient error: the first authenticated MCP request after the token
/// exchange gets 503 (the mock's `mcp_errors` fault, once). The same session must still
/// initialize and list tools. Measured: 2.1.331's first request is its `server/discover` probe,
/// which it gives up for `initialize` and carries on; 2.1.81's is `initialize`, after which it
/// sends nothing more and says "Authentication successful, but server reconnection failed"
/// (listed in `suites/expectations.toml`).
#[rstest]
#[case::pinned_native(version_under_test())]
#[case::cli_js_era(CLI_JS_ERA_VERSION.to_owned())]
fn reinitializes_after_a_503_on_the_first_request_after_the_token(
    #[case] version: String,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let scenario = Scenario::TRANSIENT_ERROR_AT_RECONNECT;
    let client = claude_code_at(&version)?;
    let mock = MockServer::builder()
        .faults(scenario.mock_faults())
        .start_blocking()?;
    let report = scenarios::run(scenario, &client, &mock);
    let text = show(&report);
    assert!(
        report.check("driver").is_none(),
        "the harness could not drive the client:\n{text}"
    );
    let hit = report
        .access_log
        .iter()
        .find(|r| r.fault.is_some())
        .ok_or_else(|| anyhow::anyhow!("the server never committed the fault:\n{text}"))?;
    assert_eq!(hit.status, 503, "{text}");
    assert_as_expected(&report, &text)?;
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__{}__{version}", scenario.name()),
            report.canonical_log()
        )
    });
    Ok(())
}

/// `mcp add` → `mcp list` → `mcp login` → `mcp list`: the login works and a new process uses the
/// stored tokens. Each step is a fresh process, so this is not a reconnect check. A version
/// without `mcp login` is not applicable, on the evidence of its own cached help.
#[rstest]
#[case::pinned_native(version_under_test())]
#[case::cli_js_era(CLI_JS_ERA_VERSION.to_owned())]
fn login_command_stores_tokens_that_a_new_process_uses(
    #[case] version: String,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_scenario(Scenario::LOGIN_THEN_LIST, &version)?;
    assert!(!report.is_reconnect_check);
    assert_as_expected(&report, &text)?;
    if let Some(na) = report
        .check("login-command")
        .filter(|c| c.verdict == Verdict::NotApplicable)
    {
        let evidence = na.evidence.join("\n");
        assert!(
            evidence.contains("`claude mcp --help`")
                && evidence.contains("no `login` among its commands"),
            "not applicable without the probe's evidence:\n{text}"
        );
        return Ok(());
    }
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__login_then_list__{version}"),
            report.canonical_log()
        )
    });
    Ok(())
}

/// The probe tells the eras apart from the versions' own help, and a second look is served from
/// the cache in the store.
#[rstest]
#[case::pinned_native(version_under_test(), Packaging::NativeBinary, true)]
#[case::cli_js_era(CLI_JS_ERA_VERSION.to_owned(), Packaging::NodeScript, false)]
fn the_feature_probe_tells_the_eras_apart_and_caches_what_it_found(
    #[case] version: String,
    #[case] packaging: Packaging,
    #[case] has_login: bool,
) -> anyhow::Result<()> {
    let client = claude_code_at(&version)?;
    let found = client.features()?.clone();
    assert_eq!(found.packaging, packaging);
    assert_eq!(found.has(Feature::McpLogin), Some(has_login));
    assert_eq!(found.has(Feature::HttpTransport), Some(true));
    assert_eq!(found.has(Feature::DebugFile), Some(true));
    let installed =
        VersionStore::from_env(&harness::clients::claude_code::PACKAGE).ensure(&version)?;
    let cached = features::FeatureCache::for_install(&installed)
        .load()?
        .ok_or_else(|| anyhow::anyhow!("no feature cache beside {}", installed.dir.display()))?;
    assert_eq!(cached.probed_at, found.probed_at);
    Ok(())
}

/// Every entry of the committed expectations file parses, has a one-line note, and points at
/// evidence that is committed.
#[test]
fn the_committed_expectations_file_is_valid_and_its_evidence_exists() -> anyhow::Result<()> {
    let file = expectations()?;
    for f in &file.failures {
        eprintln!(
            "known failure: {} / {} / {} on {}: {} ({})",
            f.scenario,
            f.check,
            f.login_path.as_str(),
            f.versions.join(", "),
            f.note,
            f.evidence.join(", ")
        );
    }
    Ok(())
}

/// The reconnect verdicts, and the access log against the version's snapshot (the same in either
/// mock mode: the canonical log has no addresses in it). Used by the container-mode tests.
pub fn assert_reinitialized_in_the_same_session(report: &ScenarioReport) {
    let text = show(report);
    for name in [
        checks::TOKEN_EXCHANGED,
        checks::REINITIALIZED_AFTER_TOKEN,
        checks::TOOLS_LISTED_AFTER_TOKEN,
    ] {
        let verdict = report.check(name).map(|c| c.verdict);
        assert_eq!(verdict, Some(Verdict::Pass), "check {name}:\n{text}");
    }
    assert!(report.passed(), "{text}");
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__slash_mcp__{}", version_under_test()),
            report.canonical_log()
        )
    });
}

/// `login_then_list`'s verdicts and snapshot, for the container-mode tests.
pub fn assert_login_stored_tokens(report: &ScenarioReport) {
    let text = show(report);
    assert!(!report.is_reconnect_check);
    assert!(report.passed(), "{text}");
    if report.check("login-command").map(|c| c.verdict) == Some(Verdict::NotApplicable) {
        // Earned only by the version's own help lacking the command; nothing more to compare.
        return;
    }
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__login_then_list__{}", version_under_test()),
            report.canonical_log()
        )
    });
}
