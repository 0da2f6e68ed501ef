//! A strict mock OAuth 2.1 authorization server and MCP Streamable-HTTP server, with an access log,
//! for testing real MCP clients; plus a stand-in for the model API.
//!
//! ```no_run
//! # async fn demo() {
//! let server = mock_server::MockServer::start().await;
//! // point a client at server.mcp_url(), then judge it by:
//! let log = server.received_requests();
//! println!("{}", mock_server::render_canonical(&log));
//! # }
//! ```

// Import order: a file imports (`use crate::…`) only files listed before it here, so no file
// imports one that imports it back:
//   util, paths, error, discovery, faults, oauth::{pages, pkce, params}, mcp::{headers, jsonrpc,
//   seed, fixtures}, runtime, profile, access_log (the log), config, api_error, store::{clients, tokens,
//   codes, sessions, legacy_streams}, state, middleware (fills the log), admin, oauth::{metadata, register,
//   authorize, token}, oauth (mounts them), mcp::{origin, tools, dispatch, modern, legacy_sse, cors}, mcp (the MCP
//   endpoint), router, server; client, load, model_api::{view, script}, model_api.
pub mod access_log;
mod admin;
mod api_error;
pub mod client;
pub mod config;
pub mod discovery;
mod error;
pub mod faults;
pub mod load;
mod mcp;
mod middleware;
pub mod model_api;
mod oauth;
pub mod paths;
pub mod profile;
mod router;
pub mod runtime;
mod server;
pub mod shapes;
mod state;
mod store;
mod util;

pub use access_log::{render_canonical, AccessRecord, Bearer, Phase};
pub use api_error::ApiError;
pub use config::ServerConfig;
pub use discovery::Discovery;
pub use error::MockServerError;
pub use faults::Faults;
pub use oauth::pkce::s256_challenge;
pub use profile::{MockConfig, Profile, Quirk, Revision};
pub use router::{authorization_server_router, router};
pub use server::{MockServer, MockServerBuilder};
pub use state::AppState;
