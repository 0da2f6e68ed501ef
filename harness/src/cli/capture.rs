//! `harness capture --server <url> --out my-server.toml`: one session of a client (the chosen
//! `--client`, Claude Code by default; MCP Inspector's CLI without a model) with the server
//! through the recording proxy, and from what the proxy saw, a mock configuration reproducing
//! the server's shape (`harness::capture`), for `harness run --server-config`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use harness::clients::catalog::ClientKind;
use harness::console;
use harness::proxy::{ProxyOptions, RecordingProxy};
use harness::reports::run_table::{self, Evidence};
use harness::scenarios::{self, Scenario};
use harness::store::versions::VersionStore;

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Your MCP server's endpoint (http or https).
    #[arg(long, value_name = "URL")]
    server: String,
    /// Where to write the mock configuration (TOML).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// A PEM certificate to trust for an https --server, besides the system's roots.
    #[arg(long, value_name = "PEM")]
    server_ca: Option<PathBuf>,
    /// Exact client version (default: the client's pinned one).
    #[arg(long = "cli-version")]
    pub cli_version: Option<String>,
}

/// The scenario a capture runs: a model-less client logs in at connect; the others log in
/// through their own flow and list the tools (`slash_mcp`).
pub fn capture_scenario(kind: &ClientKind) -> Scenario {
    if kind.reference {
        Scenario::LOGIN_AT_CONNECT
    } else {
        Scenario::SLASH_MCP
    }
}

pub fn capture(
    store: &VersionStore,
    kind: &'static ClientKind,
    version: &str,
    args: CaptureArgs,
) -> ExitCode {
    if let Err(e) = harness::proxy::check_reachable(&args.server) {
        harness::say!("harness: --server: {e}");
        return ExitCode::from(2);
    }
    let installed = match store.ensure(version) {
        Ok(i) => i,
        Err(e) => {
            harness::say!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    let client = (kind.make)(installed);
    let options = ProxyOptions {
        ca_certificate: args.server_ca.clone(),
        ..ProxyOptions::default()
    };
    let proxy = match RecordingProxy::start(&args.server, &options) {
        Ok(p) => p,
        Err(e) => {
            harness::say!("harness: --server: {e}");
            return ExitCode::from(2);
        }
    };
    let scenario = capture_scenario(kind);
    harness::say!(
        "harness: capturing {} with {} {version} ({})",
        args.server,
        kind.name,
        scenario.name()
    );
    let report = scenarios::run(scenario, client.as_ref(), &proxy);
    harness::drive::live::hold_if_stopping();
    console::print(&run_table::render_table_with(
        std::slice::from_ref(&report),
        Evidence::NotPassing,
    ));
    let config = match harness::capture::mock_config(&proxy.exchanges(), proxy.upstream()) {
        Ok(c) => c,
        Err(e) => {
            harness::say!("harness: capture: {e}");
            return ExitCode::FAILURE;
        }
    };
    let who = format!("{} {version}", kind.name);
    let text = match harness::capture::to_toml(&config, proxy.upstream(), &who) {
        Ok(t) => t,
        Err(e) => {
            harness::say!("harness: capture: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&args.out, text) {
        harness::say!("harness: cannot write {}: {e}", args.out.display());
        return ExitCode::from(2);
    }
    let tools = config.shape.tools().map(|t| t.len()).unwrap_or_default();
    harness::say!(
        "harness: wrote {} ({} tool(s), revision(s) {}); run against it with: harness run \
         --server-config {}",
        args.out.display(),
        tools,
        config
            .revisions
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        args.out.display()
    );
    ExitCode::SUCCESS
}
