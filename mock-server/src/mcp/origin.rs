//! DNS-rebinding protection on the MCP endpoint: the `Origin` and `Host` a request names must be
//! this server's own or a loopback name.
//!
//! MCP 2025-06-18, Basic › Transports › Streamable HTTP › "Security Warning": servers MUST
//! validate the `Origin` header on all incoming connections; 2025-11-25 and 2026-07-28 add: if
//! the `Origin` header is present and invalid, servers MUST respond with HTTP 403 Forbidden. A
//! request without `Origin` (every CLI client: only browsers send one) stays allowed. `Host` is
//! checked the same way because a rebinding attack names the attacker's host there too (the
//! conformance suite's `dns-rebinding-protection` sends both).

use axum::http::{header, HeaderMap, StatusCode};
use url::{Host, Url};

use crate::api_error::ApiError;
use crate::config::ServerConfig;
use crate::mcp::headers::header_str;
use crate::mcp::jsonrpc::SERVER_ERROR;
use serde_json::Value;

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Whether `host` is loopback or the host of the server's public URL (a container's
/// `http://mock:8080`, which its clients reach it by).
fn is_own_host(config: &ServerConfig, host: &Host<&str>) -> bool {
    if is_loopback(host) {
        return true;
    }
    Url::parse(&config.public_url)
        .ok()
        .and_then(|own| {
            own.host_str()
                .map(|own| own.eq_ignore_ascii_case(&host.to_string()))
        })
        .unwrap_or(false)
}

/// The MCP endpoint answers in JSON-RPC, its refusals included (no request id: the body is not
/// read for a refused request).
fn forbidden(message: String) -> ApiError {
    ApiError::rpc(StatusCode::FORBIDDEN, Value::Null, SERVER_ERROR, message)
}

/// 403 for an `Origin` that is not this server's or loopback (an unparsable one, `null`
/// included, is not valid either), and for a `Host` naming another host.
pub(crate) fn check(config: &ServerConfig, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(origin) = header_str(headers, header::ORIGIN.as_str()) {
        let valid = Url::parse(origin)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .and_then(|url| url.host().map(|h| is_own_host(config, &h)))
            .unwrap_or(false);
        if !valid {
            return Err(forbidden(format!(
                "Forbidden: Origin {origin:?} is not allowed (DNS rebinding protection)"
            )));
        }
    }
    if let Some(host) = header_str(headers, header::HOST.as_str()) {
        // `Host` is `name[:port]`; parsed as the authority of a URL to get the name out.
        let valid = Url::parse(&format!("http://{host}/"))
            .ok()
            .and_then(|url| url.host().map(|h| is_own_host(config, &h)))
            .unwrap_or(false);
        if !valid {
            return Err(forbidden(format!(
                "Forbidden: Host {host:?} is not allowed (DNS rebinding protection)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use rstest::rstest;

    use super::*;

    fn headers(origin: Option<&str>, host: Option<&str>) -> anyhow::Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin)?);
        }
        if let Some(host) = host {
            headers.insert(header::HOST, HeaderValue::from_str(host)?);
        }
        Ok(headers)
    }

    #[rstest]
    #[case::no_origin_no_host(None, None, true)]
    #[case::loopback_host(None, Some("127.0.0.1:8080"), true)]
    #[case::localhost_origin(Some("http://localhost:3000"), Some("localhost:8080"), true)]
    #[case::ipv6_loopback(Some("http://[::1]:5173"), Some("[::1]:8080"), true)]
    #[case::own_public_host(Some("http://mock:8080"), Some("mock:8080"), true)]
    #[case::foreign_origin(Some("http://evil.example.com"), Some("127.0.0.1:8080"), false)]
    #[case::foreign_host(None, Some("evil.example.com"), false)]
    #[case::null_origin(Some("null"), None, false)]
    #[case::not_http(Some("file://localhost"), None, false)]
    fn origin_and_host_must_be_loopback_or_the_servers_own(
        #[case] origin: Option<&str>,
        #[case] host: Option<&str>,
        #[case] allowed: bool,
    ) -> anyhow::Result<()> {
        let config = ServerConfig::new("http://mock:8080")?;
        let result = check(&config, &headers(origin, host)?);
        assert_eq!(result.is_ok(), allowed, "{result:?}");
        if let Err(error) = result {
            assert!(
                matches!(error, ApiError::JsonRpc { status, .. } if status == StatusCode::FORBIDDEN)
            );
        }
        Ok(())
    }
}
