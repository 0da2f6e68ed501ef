//! The recording reverse proxy: the harness's way to judge clients against someone else's MCP
//! server. It listens on loopback, forwards every request to the upstream server (http or
//! https), and records each exchange, OAuth included, as the same [`AccessRecord`] the mock
//! writes, so every check, timeline and report works unchanged against a [`MockTarget`] that is
//! a real server.
//!
//! Metadata documents, challenges and redirects name the server's own URLs; the proxy rewrites
//! them to its own so the client stays inside it, and maps its own URLs back in what it forwards
//! (the RFC 8707 `resource`, for one; the client's `redirect_uri` stays as it is). An
//! authorization server on another origin gets a listener of its own, opened when the protected
//! resource metadata names it. Every rewrite is listed ([`RecordingProxy::rewrites`]).
//!
//! Files: `origins.rs` (listeners' origins and URL rewriting), `classify.rs` (which phase a
//! request is in), `record.rs` (records, token labels, JSON-RPC shapes), `redact.rs` (secrets out
//! at record time), `forward.rs` (the handler).

pub mod classify;
pub mod forward;
pub mod origins;
pub mod record;
pub mod redact;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mock_server::AccessRecord;
use url::Url;

use crate::mock::{MockError, MockTarget};
use crate::proxy::classify::Endpoints;
pub use crate::proxy::forward::PreIssuedToken;
use crate::proxy::forward::{serve_origin, ProxyState, Shared, UPSTREAM_CONNECT_TIMEOUT};
pub use crate::proxy::origins::{OriginPair, Rewrite};
pub use crate::proxy::record::Exchange;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("`{0}` is not an http:// or https:// URL of an MCP endpoint (for example http://localhost:3000/mcp)")]
    BadUpstream(String),
    #[error("cannot read the CA certificate {path}: {detail}")]
    Certificate { path: String, detail: String },
    #[error("cannot build the proxy's HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("cannot start the proxy's runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot listen on 127.0.0.1 for the proxy: {0}")]
    Listen(#[source] std::io::Error),
    #[error("--bearer-file {path}: {detail}")]
    BearerFile { path: String, detail: String },
    #[error("nothing answers at {url} ({detail}): start your server first, or check the URL")]
    Unreachable { url: String, detail: String },
}

/// Whether anything accepts a connection at `upstream`'s host and port, within
/// [`UPSTREAM_CONNECT_TIMEOUT`] per address: a run against a server that is not up fails at
/// once with that, not scenario by scenario.
pub fn check_reachable(upstream: &str) -> Result<(), ProxyError> {
    let url = Url::parse(upstream).map_err(|_| ProxyError::BadUpstream(upstream.to_owned()))?;
    let unreachable = |detail: String| ProxyError::Unreachable {
        url: upstream.to_owned(),
        detail,
    };
    let addrs = url
        .socket_addrs(|| None)
        .map_err(|e| unreachable(e.to_string()))?;
    let mut last = String::from("the host has no address");
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, UPSTREAM_CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(unreachable(last))
}

/// How to reach the upstream.
#[derive(Debug, Default, Clone)]
pub struct ProxyOptions {
    /// A PEM certificate to trust besides the system's roots (a self-signed test server).
    pub ca_certificate: Option<std::path::PathBuf>,
    /// A pre-issued access token for a server whose authorization cannot be scripted
    /// (`--bearer-file`): added to every MCP request that has no `Authorization` of its own.
    pub bearer: Option<PreIssuedToken>,
}

/// Reads a pre-issued token from `path`: one line, the token alone (a `Bearer ` prefix is
/// taken off), in the RFC 6750 §2.1 `b64token` characters.
pub fn read_bearer_file(path: &Path) -> Result<PreIssuedToken, ProxyError> {
    let error = |detail: &str| ProxyError::BearerFile {
        path: path.display().to_string(),
        detail: detail.to_owned(),
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        error(&format!(
            "cannot read it ({e}); give a file holding the token"
        ))
    })?;
    let line = text.trim();
    let token = line
        .strip_prefix("Bearer ")
        .or_else(|| line.strip_prefix("bearer "))
        .unwrap_or(line)
        .trim();
    if token.is_empty() {
        return Err(error(
            "the file is empty; put the access token in it, alone on one line",
        ));
    }
    let b64token = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    if !token.chars().all(b64token) {
        return Err(error(
            "the token holds characters a bearer token cannot (RFC 6750 §2.1: letters, digits \
             and -._~+/ then =); the file must hold the token alone, on one line",
        ));
    }
    Ok(PreIssuedToken::new(token.to_owned()))
}

/// A running proxy; dropping it closes every listener.
pub struct RecordingProxy {
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
    /// The proxy's origin for the MCP server.
    origin: String,
}

impl RecordingProxy {
    /// Starts a proxy in front of the MCP endpoint `upstream` (`http://localhost:3000/mcp`).
    pub fn start(upstream: &str, options: &ProxyOptions) -> Result<RecordingProxy, ProxyError> {
        let url = Url::parse(upstream).map_err(|_| ProxyError::BadUpstream(upstream.to_owned()))?;
        let Some(origin) =
            origins::origin_of(&url).filter(|_| matches!(url.scheme(), "http" | "https"))
        else {
            return Err(ProxyError::BadUpstream(upstream.to_owned()));
        };
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(UPSTREAM_CONNECT_TIMEOUT)
            .no_proxy();
        if let Some(path) = &options.ca_certificate {
            http = http.add_root_certificate(read_certificate(path)?);
        }
        let http = http.build().map_err(ProxyError::Client)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("recording-proxy")
            .enable_all()
            .build()
            .map_err(ProxyError::Runtime)?;
        let shared = Arc::new(Shared {
            started: Instant::now(),
            http,
            mcp_upstream: url.clone(),
            bearer: options.bearer.clone(),
            state: Mutex::new(ProxyState {
                endpoints: Some(Endpoints::new(&url)),
                scrub: options
                    .bearer
                    .iter()
                    .map(|t| t.secret().to_owned())
                    .collect(),
                ..ProxyState::default()
            }),
        });
        let proxy_origin = {
            let _entered = runtime.enter();
            serve_origin(&shared, &origin, false).map_err(ProxyError::Listen)?
        };
        Ok(RecordingProxy {
            shared,
            runtime: Some(runtime),
            origin: proxy_origin,
        })
    }

    /// The upstream MCP endpoint, as given.
    pub fn upstream(&self) -> &Url {
        &self.shared.mcp_upstream
    }

    /// Every URL rewrite so far, in the order first made.
    pub fn rewrites(&self) -> Vec<Rewrite> {
        self.shared.lock().rewrites.clone()
    }

    /// Each request and response, secrets redacted, numbered like the records.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.lock().exchanges.clone()
    }

    /// The origins the proxy stands for (the MCP server's first).
    pub fn origins(&self) -> Vec<OriginPair> {
        self.shared.lock().origins.pairs().to_vec()
    }

    /// What went wrong on the way that is not a record (a listener that could not open).
    pub fn problems(&self) -> Vec<String> {
        self.shared.lock().problems.clone()
    }

    /// The report's section on the proxy: the origins it stood for and each rewrite.
    pub fn describe_rewrites(&self) -> String {
        let mut text = String::from("recording proxy:\n");
        for pair in self.origins() {
            text.push_str(&format!(
                "  {} stands for {}{}\n",
                pair.proxy,
                pair.upstream,
                if pair.on_authorization_server {
                    " (authorization server)"
                } else {
                    ""
                }
            ));
        }
        let rewrites = self.rewrites();
        if rewrites.is_empty() {
            text.push_str("  no URL was rewritten\n");
        }
        for rewrite in rewrites {
            text.push_str(&format!("  {}\n", rewrite.line()));
        }
        for problem in self.problems() {
            text.push_str(&format!("  problem: {problem}\n"));
        }
        text
    }
}

fn read_certificate(path: &Path) -> Result<reqwest::Certificate, ProxyError> {
    let error = |detail: String| ProxyError::Certificate {
        path: path.display().to_string(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    reqwest::Certificate::from_pem(&pem).map_err(|e| error(e.to_string()))
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl MockTarget for RecordingProxy {
    fn uri(&self) -> String {
        self.origin.clone()
    }

    fn mcp_url(&self) -> String {
        let upstream = &self.shared.mcp_upstream;
        match upstream.query() {
            Some(q) => format!("{}{}?{q}", self.origin, upstream.path()),
            None => format!("{}{}", self.origin, upstream.path()),
        }
    }

    fn received_requests(&self) -> Result<Vec<AccessRecord>, MockError> {
        Ok(self.shared.lock().records.clone())
    }

    fn describe(&self) -> String {
        let others: Vec<String> = self
            .origins()
            .into_iter()
            .skip(1)
            .map(|p| format!("{} for {}", p.proxy, p.upstream))
            .collect();
        format!(
            "recording proxy at {} for the server at {}{}",
            self.mcp_url(),
            self.shared.mcp_upstream,
            if others.is_empty() {
                String::new()
            } else {
                format!(" (and {})", others.join(", "))
            }
        )
    }

    fn how_to_start(&self) -> String {
        format!("harness run --server {}", self.shared.mcp_upstream)
    }

    fn bundle_files(&self) -> Vec<(String, String)> {
        let exchanges: String = self
            .exchanges()
            .iter()
            .filter_map(|e| serde_json::to_string(e).ok())
            .map(|line| line + "\n")
            .collect();
        vec![
            ("proxy-exchanges.jsonl".to_owned(), exchanges),
            ("proxy-rewrites.txt".to_owned(), self.describe_rewrites()),
        ]
    }
}

#[cfg(test)]
mod tests;
