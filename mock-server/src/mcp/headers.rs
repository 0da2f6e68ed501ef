//! Streamable HTTP request headers the MCP endpoints read.

use axum::http::HeaderMap;

pub(crate) const SESSION_HEADER: &str = "mcp-session-id";
pub(crate) const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
