//! A load generator for the mock: many concurrent MCP sessions, each a real client that first
//! gets its token through the OAuth flow ([`StandInClient`]), then, all together, does
//! `initialize` → `notifications/initialized` → `tools/list` → `tools/call`.
//!
//! Bounded in count (sessions × rounds) and in time (a deadline for the whole run). It reports
//! errors, throughput and latency percentiles of the MCP phase; it never judges timings itself,
//! so a test can assert "no errors" without becoming a benchmark that flakes on a busy machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Barrier;

use crate::client::{ClientError, StandInClient};

#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The MCP endpoint of the server under load.
    pub mcp_url: String,
    /// Concurrent sessions, each with its own client, connection pool and token.
    pub sessions: usize,
    /// How many `tools/list` + `tools/call` pairs each session does after the handshake.
    pub rounds: usize,
    /// The whole run, OAuth included, must end within this.
    pub deadline: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the load run did not finish within {0:?}")]
    TimedOut(Duration),
    #[error("a session task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub sessions: usize,
    /// Sessions that got a token (the OAuth phase).
    pub authenticated: usize,
    pub oauth_elapsed: Duration,
    /// MCP requests sent in the measured phase, failed ones included.
    pub mcp_requests: usize,
    pub mcp_elapsed: Duration,
    /// Latency of each successful MCP request, sorted.
    pub latencies: Vec<Duration>,
    pub error_count: usize,
    /// The first few errors, for the report.
    pub errors: Vec<String>,
}

impl LoadReport {
    /// MCP requests per second over the measured phase.
    pub fn throughput(&self) -> f64 {
        let secs = self.mcp_elapsed.as_secs_f64();
        if secs > 0.0 {
            self.mcp_requests as f64 / secs
        } else {
            0.0
        }
    }

    /// The `q` quantile (0..=1) of the latencies, nearest-rank.
    pub fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    pub fn summary(&self) -> String {
        format!(
            "{} sessions ({} authenticated in {:.2}s), {} MCP requests in {:.2}s: {:.0} req/s, \
             p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} errors",
            self.sessions,
            self.authenticated,
            self.oauth_elapsed.as_secs_f64(),
            self.mcp_requests,
            self.mcp_elapsed.as_secs_f64(),
            self.throughput(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.99)),
            ms(self.latencies.last().copied().unwrap_or_default()),
            self.error_count,
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One session's share of the results.
#[derive(Default)]
struct SessionResult {
    authenticated: bool,
    requests: usize,
    latencies: Vec<Duration>,
    errors: Vec<String>,
}

/// Runs the load. Errors of individual requests are counted in the report, not returned.
pub async fn run(config: &LoadConfig) -> Result<LoadReport, LoadError> {
    let deadline = config.deadline;
    tokio::time::timeout(deadline, run_unbounded(config))
        .await
        .map_err(|_| LoadError::TimedOut(deadline))?
}

async fn run_unbounded(config: &LoadConfig) -> Result<LoadReport, LoadError> {
    // Two meeting points: every session has its token before any starts MCP, so the measured
    // phase is MCP under full concurrency and not OAuth mixed in.
    let tokens_ready = Arc::new(Barrier::new(config.sessions + 1));
    let go = Arc::new(Barrier::new(config.sessions + 1));
    let oauth_started = Instant::now();
    let mut tasks = Vec::with_capacity(config.sessions);
    for n in 0..config.sessions {
        let (tokens_ready, go) = (tokens_ready.clone(), go.clone());
        let url = config.mcp_url.clone();
        let rounds = config.rounds;
        tasks.push(tokio::spawn(async move {
            session(n, &url, rounds, &tokens_ready, &go).await
        }));
    }
    tokens_ready.wait().await;
    let oauth_elapsed = oauth_started.elapsed();
    let mcp_started = Instant::now();
    go.wait().await;
    let mut report = LoadReport {
        sessions: config.sessions,
        authenticated: 0,
        oauth_elapsed,
        mcp_requests: 0,
        mcp_elapsed: Duration::ZERO,
        latencies: Vec::new(),
        error_count: 0,
        errors: Vec::new(),
    };
    for task in tasks {
        let result = task.await?;
        report.authenticated += usize::from(result.authenticated);
        report.mcp_requests += result.requests;
        report.latencies.extend(result.latencies);
        report.error_count += result.errors.len();
        for error in result.errors {
            if report.errors.len() < 10 {
                report.errors.push(error);
            }
        }
    }
    report.mcp_elapsed = mcp_started.elapsed();
    report.latencies.sort();
    Ok(report)
}

/// Times one MCP request, recording its latency or its error.
async fn timed<T>(
    result: &mut SessionResult,
    what: &str,
    request: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Option<T> {
    let started = Instant::now();
    let outcome = request.await;
    result.requests += 1;
    match outcome {
        Ok(value) => {
            result.latencies.push(started.elapsed());
            Some(value)
        }
        Err(error) => {
            result.errors.push(format!("{what}: {error}"));
            None
        }
    }
}

async fn session(
    n: usize,
    url: &str,
    rounds: usize,
    tokens_ready: &Barrier,
    go: &Barrier,
) -> SessionResult {
    let mut result = SessionResult::default();
    let client = StandInClient::new(url);
    let (mut client, token) = match client {
        Ok(mut client) => match client.authenticate().await {
            Ok(tokens) => (Some(client), Some(tokens.access_token)),
            Err(error) => {
                result.errors.push(format!("session {n}: OAuth: {error}"));
                (None, None)
            }
        },
        Err(error) => {
            result.errors.push(format!("session {n}: client: {error}"));
            (None, None)
        }
    };
    result.authenticated = token.is_some();
    // Every session reaches both barriers, even one that failed, or the others would wait for it.
    tokens_ready.wait().await;
    go.wait().await;
    let (Some(client), Some(token)) = (client.as_mut(), token) else {
        return result;
    };
    let Some(mcp) = timed(&mut result, "initialize", client.initialize(&token)).await else {
        return result;
    };
    if timed(
        &mut result,
        "notifications/initialized",
        client.notify_initialized(&token, &mcp),
    )
    .await
    .is_none()
    {
        return result;
    }
    for round in 0..rounds {
        let tools = timed(&mut result, "tools/list", client.list_tools(&token, &mcp)).await;
        if tools.is_some_and(|t| t.is_empty()) {
            result.errors.push("tools/list: no tools".to_owned());
        }
        let arguments = json!({"a": n, "b": round});
        let called = timed(
            &mut result,
            "tools/call",
            client.call_tool(&token, &mcp, "add", arguments),
        )
        .await;
        if let Some(called) = called {
            if called.get("isError") != Some(&Value::Bool(false)) {
                result
                    .errors
                    .push(format!("tools/call: tool error {called}"));
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let report = LoadReport {
            sessions: 1,
            authenticated: 1,
            oauth_elapsed: Duration::ZERO,
            mcp_requests: 100,
            mcp_elapsed: Duration::from_secs(2),
            latencies: (1..=100).map(Duration::from_millis).collect(),
            error_count: 0,
            errors: Vec::new(),
        };
        assert_eq!(report.percentile(0.50), Duration::from_millis(50));
        assert_eq!(report.percentile(0.99), Duration::from_millis(99));
        assert_eq!(report.percentile(1.0), Duration::from_millis(100));
        assert_eq!(report.percentile(0.0), Duration::from_millis(1));
        assert!((report.throughput() - 50.0).abs() < 1e-9);
    }
}
