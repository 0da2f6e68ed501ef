//! Errors from starting and running the mock servers.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MockServerError {
    #[error("cannot listen on {addr}: {source} (is another server using the port? pass another --port, or 0 for any free port)")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the server thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error("cannot open the access log {path}: {source}")]
    AccessLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid discovery configuration: {0}")]
    Discovery(String),
    #[error("invalid public URL {url:?}: {reason}")]
    PublicUrl { url: String, reason: String },
    #[error("invalid faults: {0}")]
    Faults(String),
}
