//! A real bisect over published versions (ignored by default: minutes of real-CLI runs and about
//! ten installs). Run it with `cargo test --test reconnect real_bisect -- --ignored --nocapture`.
//!
//! 2.1.81 fails `session_lost`'s `reinitialized-after-session-loss` and 2.1.331 passes it; over
//! the 214 versions between them the fix was measured (2026-11-25, `--repeat 3`) at 2.1.83, the
//! next published version after 2.1.81.

use harness::bisect::run::{self, Request};
use harness::bisect::Observation;
use harness::scenarios::Scenario;
use harness::store::versions::VersionStore;

use crate::support::real_cli_slot;

#[test]
#[ignore = "minutes of real-CLI runs; `make bisect-demo` runs the same search"]
fn real_bisect_finds_where_the_lost_session_fix_landed() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let request = Request {
        client: &harness::clients::claude_code::KIND,
        scenario: Scenario::SESSION_LOST,
        check: Some("reinitialized-after-session-loss".to_owned()),
        good: Some("2.1.331".to_owned()),
        bad: Some("2.1.81".to_owned()),
        find_fix: true,
        repeat: 3,
        verify: true,
        prefetch: true,
        fresh: true,
        command_line: "cargo test --test reconnect real_bisect -- --ignored".to_owned(),
        program: "harness".to_owned(),
        discovery: None,
        server: None,
        server_config: None,
    };
    let report = run::bisect(
        &VersionStore::from_env(&harness::clients::claude_code::PACKAGE),
        &request,
    )
    .map_err(anyhow::Error::msg)?;
    eprintln!("{}", run::render(&report));
    assert!(report.found(), "{}", report.message);
    assert!(
        report.versions_in_line >= 30,
        "a range of at least 30 versions"
    );
    let good = report.good.as_ref().map(|n| n.version.as_str());
    let bad = report.bad.as_ref().map(|n| n.version.as_str());
    assert_eq!((bad, good), (Some("2.1.81"), Some("2.1.83")), "as measured");
    assert_eq!(
        report.good.as_ref().map(|n| n.observation),
        Some(Observation::Pass)
    );
    // ceil(log2 214) + 2 = 10, plus at most two spot checks and the skips.
    let skips = report
        .probes
        .iter()
        .filter(|p| !p.observation.is_verdict())
        .count();
    assert!(
        report.probe_count <= 12 + skips,
        "{} probes",
        report.probe_count
    );
    Ok(())
}

/// The one CI runs (`make test-bisect`): the needs-authentication state a `/mcp` login leaves
/// behind, which 2.1.81 keeps and 2.1.331 clears, is a file the client writes, so the verdict
/// does not depend on timing. Measured (2026-11-25): fixed between 2.1.119 and 2.1.120.
#[test]
#[ignore = "minutes of real-CLI runs and about a dozen installs; `make test-bisect` runs it"]
fn real_bisect_finds_where_the_stale_needs_auth_entry_was_fixed() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let request = Request {
        client: &harness::clients::claude_code::KIND,
        scenario: Scenario::PRINT_AFTER_AUTH,
        check: Some("needs-auth-cleared".to_owned()),
        good: Some("2.1.331".to_owned()),
        bad: Some("2.1.81".to_owned()),
        find_fix: true,
        repeat: 1,
        verify: true,
        prefetch: true,
        fresh: true,
        command_line: "cargo test --test reconnect real_bisect_finds_where_the_stale -- --ignored"
            .to_owned(),
        program: "harness".to_owned(),
        discovery: None,
        server: None,
        server_config: None,
    };
    let report = run::bisect(
        &VersionStore::from_env(&harness::clients::claude_code::PACKAGE),
        &request,
    )
    .map_err(anyhow::Error::msg)?;
    eprintln!("{}", run::render(&report));
    assert!(report.found(), "{}", report.message);
    assert!(
        report.versions_in_line >= 30,
        "a range of at least 30 versions"
    );
    let good = report.good.as_ref().map(|n| n.version.as_str());
    let bad = report.bad.as_ref().map(|n| n.version.as_str());
    assert_eq!(
        (bad, good),
        (Some("2.1.119"), Some("2.1.120")),
        "as measured"
    );
    Ok(())
}
