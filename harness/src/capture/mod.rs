//! `harness capture`: a mock configuration that reproduces a real server's shape, derived from
//! what the recording proxy saw of one session with it: the revision it negotiated, its
//! `serverInfo`, `capabilities`, `instructions` and tools (each kept as the JSON it sent, quirks
//! and all), and its discovery layout (where the metadata answered, a separate authorization
//! server, the MCP path, whether the challenge names the metadata, RFC 9207 `iss`).
//! `harness run --server-config` then runs against the mock so configured.

use std::str::FromStr;

use mock_server::discovery::{AuthorizationResponseIss, ResourceMetadataAt, ServerMetadataBy};
use mock_server::profile::ServerShape;
use mock_server::{MockConfig, Phase, Revision};
use serde_json::Value;
use url::Url;

use crate::proxy::Exchange;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "the session recorded no successful initialize (or server/discover) result, so the \
         server's shape is unknown; did the client get past the login? (see the run's table)"
    )]
    NoInitialize,
    #[error("cannot write the configuration: {0}")]
    Serialize(String),
}

fn json_of(body: Option<&str>) -> Option<Value> {
    serde_json::from_str(body?).ok()
}

fn request_method(exchange: &Exchange) -> Option<String> {
    json_of(exchange.request_body.as_deref())?
        .get("method")?
        .as_str()
        .map(str::to_owned)
}

/// The results of the MCP requests with `method`, in order.
fn results<'a>(exchanges: &'a [Exchange], method: &'a str) -> impl Iterator<Item = Value> + 'a {
    exchanges
        .iter()
        .filter(move |e| {
            e.phase == Phase::Mcp && e.status == 200 && request_method(e).as_deref() == Some(method)
        })
        .flat_map(|e| e.response_messages())
        .filter_map(|m| m.get("result").cloned())
}

fn path_of(url: &str) -> String {
    Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default()
}

/// Where the protected resource metadata answered 200: both well-known locations, one, or
/// (neither) the mock's default.
fn resource_metadata_at(exchanges: &[Exchange], mcp_path: &str) -> ResourceMetadataAt {
    let answered = |path: &str| {
        exchanges.iter().any(|e| {
            e.phase == Phase::Discovery && e.status == 200 && path_of(&e.upstream_url) == path
        })
    };
    let root = answered("/.well-known/oauth-protected-resource");
    let specific =
        mcp_path != "/" && answered(&format!("/.well-known/oauth-protected-resource{mcp_path}"));
    match (root, specific) {
        (true, false) if mcp_path != "/" => ResourceMetadataAt::Root,
        (false, true) => ResourceMetadataAt::PathSpecific,
        _ => ResourceMetadataAt::WellKnown,
    }
}

/// The mock configuration reproducing the server of `exchanges`, whose MCP endpoint is
/// `upstream`.
pub fn mock_config(exchanges: &[Exchange], upstream: &Url) -> Result<MockConfig, CaptureError> {
    let initialize = results(exchanges, "initialize")
        .chain(results(exchanges, "server/discover"))
        .last()
        .ok_or(CaptureError::NoInitialize)?;
    let mut config = MockConfig::default();
    // initialize names one version; server/discover lists the supported ones.
    let versions: Vec<&str> = match initialize.get("protocolVersion").and_then(Value::as_str) {
        Some(v) => vec![v],
        None => initialize
            .get("supportedVersions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
    };
    config.revisions = versions
        .iter()
        .filter_map(|v| Revision::from_str(v).ok())
        .collect();
    let text = |v: Option<&Value>| v.map(Value::to_string);
    let tools: Vec<Value> = results(exchanges, "tools/list")
        .filter_map(|r| r.get("tools").and_then(Value::as_array).cloned())
        .last()
        .unwrap_or_default();
    config.shape = ServerShape {
        server_info: text(initialize.get("serverInfo")),
        capabilities: text(initialize.get("capabilities")),
        instructions: initialize
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned),
        tools: Some(Value::Array(tools).to_string()),
    };

    let discovery = &mut config.discovery;
    let mcp_path = upstream.path().trim_end_matches('/');
    discovery.mcp_path = if mcp_path.is_empty() {
        "/".to_owned()
    } else {
        mcp_path.to_owned()
    };
    discovery.separate_authorization_server = exchanges.iter().any(|e| e.on_authorization_server);
    discovery.resource_metadata_at = resource_metadata_at(exchanges, &discovery.mcp_path);
    let challenges: Vec<&str> = exchanges
        .iter()
        .filter(|e| e.phase == Phase::Mcp && e.status == 401)
        .filter_map(|e| e.response_header("www-authenticate"))
        .collect();
    if !challenges.is_empty() {
        discovery.challenge_names_metadata =
            challenges.iter().any(|c| c.contains("resource_metadata="));
    }
    let as_metadata: Vec<(String, Value)> = exchanges
        .iter()
        .filter(|e| e.phase == Phase::Discovery && e.status == 200)
        .filter_map(|e| {
            Some((
                path_of(&e.upstream_url),
                json_of(e.response_body.as_deref())?,
            ))
        })
        .filter(|(p, _)| {
            p.contains("oauth-authorization-server") || p.contains("openid-configuration")
        })
        .collect();
    if let Some((_, doc)) = as_metadata.first() {
        let iss = doc
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        discovery.authorization_response_iss = if iss {
            AuthorizationResponseIss::Sent
        } else {
            AuthorizationResponseIss::Omitted
        };
        if as_metadata
            .iter()
            .all(|(p, _)| p.contains("openid-configuration"))
        {
            discovery.server_metadata_by = ServerMetadataBy::Openid;
        }
    }
    Ok(config)
}

/// The configuration as TOML, headed by where it came from.
pub fn to_toml(config: &MockConfig, upstream: &Url, client: &str) -> Result<String, CaptureError> {
    let body = toml::to_string(config).map_err(|e| CaptureError::Serialize(e.to_string()))?;
    Ok(format!(
        "# Captured by `harness capture --server {upstream}` (one session of {client} through \
         the recording proxy).\n# The mock reproduces this server's shape, not its behaviour: \
         harness run --server-config <this file>\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use mock_server::client::StandInClient;
    use mock_server::{MockServer, Quirk};

    use super::*;
    use crate::mock::MockTarget;
    use crate::proxy::{ProxyOptions, RecordingProxy};

    fn capture(mock: &MockServer) -> anyhow::Result<MockConfig> {
        let proxy = RecordingProxy::start(&mock.mcp_url(), &ProxyOptions::default())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async { StandInClient::new(&proxy.mcp_url())?.run().await })?;
        Ok(mock_config(&proxy.exchanges(), proxy.upstream())?)
    }

    /// Captured from the mock with the PHP quirk, written as TOML, read back and served: the
    /// second mock lists the same tools with the same `[]`, and the capture of it is the same
    /// configuration again.
    #[test]
    fn a_captured_shape_round_trips_through_toml_and_a_mock_serving_it() -> anyhow::Result<()> {
        let quirky = MockServer::builder()
            .quirk(Quirk::EmptyPropertiesAsArray)
            .start_blocking()?;
        let captured = capture(&quirky)?;
        let tools = captured.shape.tools.clone().unwrap_or_default();
        assert!(tools.contains(r#""properties":[]"#), "{tools}");
        assert_eq!(captured.revisions, vec![Revision::V2025_11_25]);
        let upstream = Url::parse(&quirky.mcp_url())?;
        let text = to_toml(&captured, &upstream, "the stand-in client")?;
        let read = MockConfig::from_toml(&text).map_err(anyhow::Error::msg)?;
        assert_eq!(read, captured);
        let replay = MockServer::builder().config(read).start_blocking()?;
        let again = capture(&replay)?;
        assert_eq!(again.shape, captured.shape);
        assert_eq!(again.discovery, captured.discovery);
        Ok(())
    }

    #[test]
    fn a_session_without_initialize_says_what_is_missing() {
        let error = mock_config(&[], &Url::parse("http://127.0.0.1:1/mcp").expect("url"));
        assert!(matches!(error, Err(CaptureError::NoInitialize)));
    }
}
