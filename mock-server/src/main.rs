//! `mock-server`: the strict OAuth 2.1 + MCP mock as a standalone process, for running a client by
//! hand or in a container.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mock_server::{MockConfig, MockServer, Profile, Quirk, Revision};
use tracing_subscriber::EnvFilter;

/// A strict mock OAuth 2.1 authorization server and MCP Streamable-HTTP server with an access log.
///
/// Prints the MCP endpoint and then `ready` on stdout once listening; logs each request on
/// stderr (filter with RUST_LOG); stops on Ctrl-C or SIGTERM.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Origin advertised in the OAuth metadata and challenges, when clients reach the server by
    /// another name than the bound address (e.g. http://mock:8080 from a container).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Also write the access log here, one JSON record per line.
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
    /// Also answer the admin routes (the access log) to non-loopback peers that send this token in
    /// the X-Mock-Admin-Token header. In a container the host's requests come from the bridge, not
    /// loopback. Without it the admin routes answer loopback peers only.
    #[arg(
        long,
        env = "MOCK_SERVER_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = clap::builder::NonEmptyStringValueParser::new()
    )]
    admin_token: Option<String>,
    /// Profile, revisions, quirks and faults from a TOML file (JSON when it ends in .json);
    /// the flags below override what it says.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server to impersonate: default, seed.
    #[arg(long, value_name = "NAME")]
    profile: Option<Profile>,
    /// MCP revisions to offer, comma-separated: 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    revisions: Vec<Revision>,
    /// An encoding quirk (repeat, or comma-separate): empty-object-as-array,
    /// empty-properties-as-array, empty-capabilities-as-array, empty-server-info-as-array,
    /// dotted-tool-names, unknown-output-schema-type, no-session-id.
    #[arg(long, value_name = "QUIRK", value_delimiter = ',')]
    quirk: Vec<Quirk>,
    /// Where the protected-resource metadata is served (RFC 9728): both well-known locations,
    /// only one of them, or only at the URL the 401 challenge announces.
    #[arg(long, value_name = "WHERE", help_heading = "Discovery")]
    resource_metadata_at: Option<mock_server::discovery::ResourceMetadataAt>,
    /// Send bare `WWW-Authenticate: Bearer` challenges, without `resource_metadata`.
    #[arg(long, help_heading = "Discovery")]
    bare_challenge: bool,
    /// How the authorization server publishes its metadata: RFC 8414 (oauth) or OpenID Connect
    /// Discovery only (openid).
    #[arg(long, value_name = "HOW", help_heading = "Discovery")]
    server_metadata_by: Option<mock_server::discovery::ServerMetadataBy>,
    /// A path in the issuer identifier, e.g. /tenant1 (metadata by RFC 8414 path insertion;
    /// endpoints under it).
    #[arg(long, value_name = "PATH", help_heading = "Discovery")]
    issuer_path: Option<String>,
    /// Run the authorization server on a second port (another origin), named only by the
    /// resource metadata's authorization_servers.
    #[arg(long, help_heading = "Discovery")]
    separate_authorization_server: bool,
    /// The MCP endpoint's path (default /), e.g. /mcp.
    #[arg(long, value_name = "PATH", help_heading = "Discovery")]
    mcp_path: Option<String>,
    /// How clients get a client ID: dynamic registration, or the one pre-registered client
    /// (harness-pre-registered-client, redirect URI any loopback /callback).
    #[arg(long, value_name = "HOW", help_heading = "Discovery")]
    registration: Option<mock_server::discovery::Registration>,
}

/// The `--config` file, then the flags on top.
fn mock_config(args: &Args) -> Result<MockConfig, String> {
    let mut config = match &args.config {
        Some(path) => MockConfig::from_file(path).map_err(|e| e.to_string())?,
        None => MockConfig::default(),
    };
    if let Some(profile) = args.profile {
        config.profile = profile;
    }
    if !args.revisions.is_empty() {
        config.revisions = args.revisions.clone();
    }
    config.quirks.extend(args.quirk.iter().copied());
    let discovery = &mut config.discovery;
    if let Some(at) = args.resource_metadata_at {
        discovery.resource_metadata_at = at;
    }
    if args.bare_challenge {
        discovery.challenge_names_metadata = false;
    }
    if let Some(by) = args.server_metadata_by {
        discovery.server_metadata_by = by;
    }
    if let Some(path) = &args.issuer_path {
        discovery.issuer_path = Some(path.clone());
    }
    if args.separate_authorization_server {
        discovery.separate_authorization_server = true;
    }
    if let Some(path) = &args.mcp_path {
        discovery.mcp_path = path.clone();
    }
    if let Some(registration) = args.registration {
        discovery.registration = registration;
    }
    discovery.validate()?;
    Ok(config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let mock = match mock_config(&args) {
        Ok(mock) => mock,
        Err(error) => {
            eprintln!("mock-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let label = mock.label();
    let mut builder = MockServer::builder()
        .bind(SocketAddr::new(args.bind, args.port))
        .config(mock);
    if let Some(url) = &args.public_url {
        builder = builder.public_url(url);
    }
    if let Some(path) = &args.access_log {
        builder = builder.access_log_file(path);
    }
    if let Some(token) = &args.admin_token {
        builder = builder.admin_token(token);
    }
    let server = match builder.start().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("mock-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    // Whoever started us waits for `ready`; a closed stdout must not stop the server.
    let _ = writeln!(stdout, "mock-server: MCP endpoint {}", server.mcp_url());
    let _ = writeln!(
        stdout,
        "mock-server: authorization server {}",
        server.issuer()
    );
    let _ = writeln!(stdout, "mock-server: configuration {label}");
    let _ = writeln!(stdout, "ready");
    let _ = stdout.flush();
    drop(stdout);

    if let Err(error) = stop_signal().await {
        eprintln!("mock-server: cannot wait for signals: {error}");
        server.shutdown();
        return ExitCode::FAILURE;
    }
    tracing::info!("stopping");
    server.shutdown();
    ExitCode::SUCCESS
}

/// Ctrl-C, or SIGTERM (what `docker stop` and test harnesses send).
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
