//! The mock under 200 concurrent MCP sessions, each with its own token from the OAuth flow. This
//! test asserts only that nothing failed: timings depend on the machine and on what else runs,
//! so they are measured by `make load` (release build, mock in its own process) and written in
//! docs/trust.md, never asserted.

use std::time::Duration;

use mock_server::load::{self, LoadConfig};
use mock_server::MockServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_sessions_complete_without_a_single_error() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let config = LoadConfig {
        mcp_url: server.mcp_url(),
        sessions: 200,
        rounds: 1,
        // Generous: a debug build on two busy cores; the bound is there so a hang fails.
        deadline: Duration::from_secs(180),
    };
    let report = load::run(&config).await?;
    println!("load (debug build, in-process): {}", report.summary());
    assert_eq!(report.authenticated, 200, "{:#?}", report.errors);
    assert_eq!(report.error_count, 0, "{:#?}", report.errors);
    // initialize, notifications/initialized, tools/list, tools/call per session.
    assert_eq!(report.mcp_requests, 200 * 4);
    // The log saw every session: 200 initialize requests that were answered 200.
    let initialized = server
        .received_requests()
        .iter()
        .filter(|r| r.rpc_method.as_deref() == Some("initialize") && r.status == 200)
        .count();
    assert_eq!(initialized, 200);
    Ok(())
}

/// Control: against a server that refuses every token, the same run reports errors rather than
/// passing quietly.
#[tokio::test]
async fn a_load_run_against_a_server_that_refuses_counts_the_errors() -> anyhow::Result<()> {
    let server = MockServer::builder()
        .access_token_ttl(Duration::ZERO)
        .start()
        .await?;
    let config = LoadConfig {
        mcp_url: server.mcp_url(),
        sessions: 5,
        rounds: 1,
        deadline: Duration::from_secs(60),
    };
    let report = load::run(&config).await?;
    assert_eq!(report.authenticated, 5);
    assert_eq!(report.error_count, 5, "{:#?}", report.errors);
    assert!(
        report.errors[0].contains("initialize"),
        "{:#?}",
        report.errors
    );
    Ok(())
}
