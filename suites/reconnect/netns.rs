//! No traffic off this machine: a core scenario inside a network namespace that has only
//! loopback, every client process under strace, and a negative control that must be reported.
//!
//! Needs root (and `strace`, `ip`): without them each test prints one line saying it is skipped,
//! unless `HARNESS_REQUIRE_NETNS=1` (as in CI), which makes that a failure.

use std::net::TcpListener;

use harness::checks::Verdict;
use harness::clients::claude_code::ClaudeCode;
use harness::drive::command::CommandSpec;
use harness::drive::isolation::{self, IsolationError, NO_TRAFFIC_OFF_MACHINE};
use harness::scenarios::isolated::run_scenario_isolated;
use harness::scenarios::{RunOptions, Scenario};

use crate::support::{
    assert_as_expected, claude_code, real_cli_slot, show, snapshot_settings, version_under_test,
};

/// `Some(())` when isolation can run here; otherwise one line and `None`, or a panic when
/// `HARNESS_REQUIRE_NETNS=1`.
fn skip_unless_isolation(test: &str, error: Option<&IsolationError>) -> Option<()> {
    let error = match error {
        Some(e) => e.to_string(),
        None => match isolation::available() {
            Ok(()) => return Some(()),
            Err(e) => e.to_string(),
        },
    };
    assert!(
        !isolation::required(),
        "{test}: network isolation is required ({}=1) but unavailable: {error}",
        isolation::REQUIRE_NETNS_ENV
    );
    eprintln!(
        "skipped: {test}: {error} (set {}=1 to make this a failure)",
        isolation::REQUIRE_NETNS_ENV
    );
    None
}

/// The reconnect check in a loopback-only namespace: it passes as it does outside, its access log
/// matches the same snapshot, and every connect() the client attempted went to the run's servers.
#[test]
fn slash_mcp_in_a_loopback_only_namespace_talks_only_to_its_own_servers() -> anyhow::Result<()> {
    const TEST: &str = "slash_mcp_in_a_loopback_only_namespace_talks_only_to_its_own_servers";
    if skip_unless_isolation(TEST, None).is_none() {
        return Ok(());
    }
    let _slot = real_cli_slot();
    // Installed (and its features probed) outside: the namespace has no registry.
    let client = claude_code()?;
    client.features()?;
    let scenario = Scenario::SLASH_MCP;
    let (report, connects) = match run_scenario_isolated(
        scenario,
        {
            let install = client.install().clone();
            move || Box::new(ClaudeCode::new(install))
        },
        scenario.mock_faults(),
        &RunOptions::default(),
    ) {
        Ok(done) => done,
        Err(e @ IsolationError::Unshare(_)) => {
            skip_unless_isolation(TEST, Some(&e));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    harness::scenarios::observe::record_report(client.install(), &report);
    let text = show(&report);
    eprintln!("connections: {}", connects.summary());
    assert_ne!(connects.netns, connects.host_netns, "{text}");
    assert!(
        connects.foreign.is_empty(),
        "{:?}\n{text}",
        connects.foreign
    );
    assert!(
        connects.own.keys().any(|k| k.ends_with("(mock)")),
        "the trace saw no connect() to the mock: {}\n{text}",
        connects.summary()
    );
    assert_eq!(
        report.check(NO_TRAFFIC_OFF_MACHINE).map(|c| c.verdict),
        Some(Verdict::Pass),
        "{text}"
    );
    assert_as_expected(&report, &text)?;
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__slash_mcp__{}", version_under_test()),
            report.canonical_log()
        )
    });
    Ok(())
}

/// Negative control: a client command that tries to leave the machine (TCP to 192.0.2.1:443, UDP
/// to 1.1.1.1:53, TCP to 2001:db8::1 port 443) is reported with its counts, while its connect to a
/// server of the run is not.
#[test]
fn a_client_that_connects_off_the_machine_is_reported() -> anyhow::Result<()> {
    const TEST: &str = "a_client_that_connects_off_the_machine_is_reported";
    if skip_unless_isolation(TEST, None).is_none() {
        return Ok(());
    }
    let outcome = isolation::isolated(|| -> anyhow::Result<u16> {
        let own = TcpListener::bind("127.0.0.1:0")?;
        let port = own.local_addr()?.port();
        let script = format!(
            "(: <>/dev/tcp/127.0.0.1/{port}) 2>/dev/null
             (: <>/dev/tcp/192.0.2.1/443) 2>/dev/null
             (: <>/dev/tcp/192.0.2.1/443) 2>/dev/null
             (: <>/dev/udp/1.1.1.1/53) 2>/dev/null
             (: <>/dev/tcp/2001:db8::1/443) 2>/dev/null
             exit 0"
        );
        let mut spec = CommandSpec::new("/bin/bash");
        spec.arg("-c").arg(script).env("PATH", "/usr/bin:/bin");
        let out = spec.run(std::time::Duration::from_secs(30))?;
        anyhow::ensure!(out.status == Some(0), "the script failed: {out:?}");
        Ok(port)
    });
    let (port, log) = match outcome {
        Ok(done) => done,
        Err(e @ IsolationError::Unshare(_)) => {
            skip_unless_isolation(TEST, Some(&e));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let port = port?;
    let connects = log.judge(&[port], &[]);
    eprintln!("{}", connects.summary());
    let count = |prefix: &str| -> usize {
        connects
            .foreign
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(count("192.0.2.1:443 "), 2, "{:?}", connects.foreign);
    assert_eq!(count("1.1.1.1:53 "), 1, "{:?}", connects.foreign);
    assert_eq!(count("[2001:db8::1]:443 "), 1, "{:?}", connects.foreign);
    assert_eq!(
        connects.own.get(&format!("127.0.0.1:{port} (mock)")),
        Some(&1),
        "{:?}",
        connects.own
    );
    let check = connects.check();
    assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
    assert!(check.summary.contains("4 connect() call(s)"), "{check:?}");
    Ok(())
}
