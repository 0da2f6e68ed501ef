//! `make load`: puts the mock under 200 concurrent MCP sessions and reports throughput, latency
//! percentiles and the mock's peak memory.
//!
//! The mock runs in a child process (this same program with `--serve`) so that its peak resident
//! memory (`VmHWM` in /proc/PID/status) is its own and not the load client's. Exits 1 if any
//! request failed, 2 if the run could not be set up or overran its deadline.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use mock_server::load::{self, LoadConfig};
use mock_server::MockServer;

#[derive(Debug, Parser)]
struct Args {
    /// Concurrent MCP sessions.
    #[arg(long, default_value_t = 200)]
    sessions: usize,
    /// `tools/list` + `tools/call` pairs per session after the handshake.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// The whole run must end within this many seconds.
    #[arg(long, default_value_t = 120)]
    deadline_secs: u64,
    /// Internal: be the mock (prints its MCP URL, serves until stdin closes).
    #[arg(long, hide = true)]
    serve: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if args.serve { serve() } else { drive(&args) };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("load: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn serve() -> anyhow::Result<ExitCode> {
    let server = MockServer::builder().start_blocking()?;
    println!("{}", server.mcp_url());
    std::io::stdout().flush()?;
    // The parent closes our stdin when it is done (or dies): that is the stop signal.
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink)?;
    server.shutdown();
    Ok(ExitCode::SUCCESS)
}

/// `VmHWM` and `VmRSS` of a process, in kB.
fn memory_kb(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("no value")?
            .parse()?)
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

fn drive(args: &Args) -> anyhow::Result<ExitCode> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the mock process")?;
    let pid = child.id();
    let mut url = String::new();
    // The child prints its URL once listening, or exits (EOF): either way this returns.
    BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut url)?;
    let url = url.trim().to_owned();
    if url.is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        bail!("the mock process did not start");
    }
    let (idle_hwm, _) = memory_kb(pid)?;
    let config = LoadConfig {
        mcp_url: url.clone(),
        sessions: args.sessions,
        rounds: args.rounds,
        deadline: Duration::from_secs(args.deadline_secs),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(load::run(&config));
    let memory = memory_kb(pid);
    drop(child.stdin.take());
    let exited = child.wait()?;
    let report = report?;
    let (peak_kb, rss_kb) = memory?;
    println!("load: mock at {url} (pid {pid}, exited {exited})");
    println!("load: {}", report.summary());
    println!(
        "load: mock peak memory (VmHWM) {:.1} MiB, {:.1} MiB before the load, {:.1} MiB resident at the end",
        peak_kb as f64 / 1024.0,
        idle_hwm as f64 / 1024.0,
        rss_kb as f64 / 1024.0
    );
    for error in &report.errors {
        println!("load: error: {error}");
    }
    Ok(
        if report.error_count == 0 && report.authenticated == report.sessions {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
