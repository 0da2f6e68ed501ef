//! The older HTTP+SSE transport (MCP 2024-11-05, Basic › Transports › "HTTP with SSE"), for a
//! server configured to speak only it ([`crate::Faults::legacy_sse_only`]).
//!
//! 2024-11-05: "When a client connects, the server MUST send an `endpoint` event containing a
//! URI for the client to use for sending messages. All subsequent client messages MUST be sent
//! as HTTP POST requests to this endpoint. Server messages are sent as SSE `message` events".
//! What a newer client meets here is what Streamable HTTP's "Backwards Compatibility" section
//! (2025-03-26 … 2025-11-25) tells it to expect from such a server: its `POST` of `initialize`
//! to the server URL fails with a 4xx (405 here), and a `GET` to the same URL opens the stream
//! whose first event is `endpoint`.
//!
//! The endpoint's handlers authenticate (in [`crate::mcp`], so that this file never imports the
//! one that mounts it) and hand over here; the messages are answered by the same JSON-RPC
//! dispatch as the other transports, at revision 2024-11-05.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::access_log::Notes;
use crate::api_error::ApiError;
use crate::mcp::dispatch::{capabilities, dispatch, instructions, server_info, Authenticated};
use crate::mcp::jsonrpc::{self, Incoming, INVALID_REQUEST};
use crate::state::AppState;

/// The revision of the HTTP+SSE transport; an old server knows no other.
pub(crate) const LEGACY_REVISION: &str = "2024-11-05";

/// The query parameter of the messages URL that names the stream (as the Python and TypeScript
/// SDKs' SSE servers name it).
pub(crate) const SESSION_QUERY: &str = "session_id";

const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What `POST` to the server URL gets from an authenticated caller: 405, `Allow: GET` (the
/// status the "Backwards Compatibility" section names first).
pub(crate) fn post_refused() -> ApiError {
    ApiError::method_not_allowed("GET")
}

/// Opens a stream: the `endpoint` event first, with the messages URL relative to the server's
/// origin (as the SDKs' servers send it; a client resolves it against the stream's URL), then
/// the responses to the messages POSTed there.
pub(crate) fn open_stream(state: &AppState, notes: &Notes) -> Response {
    let (id, receiver) = state.legacy_streams().open();
    notes.update(|n| {
        n.session_id = Some(id.clone());
        n.negotiated = Some(LEGACY_REVISION.to_owned());
    });
    let endpoint = format!(
        "{}?{SESSION_QUERY}={id}",
        state.config().legacy_messages_path()
    );
    let first = stream::once(async move {
        Ok::<Event, Infallible>(Event::default().event("endpoint").data(endpoint))
    });
    // Forgets the stream when its response is dropped (the client hung up), so later POSTs
    // naming it get 404.
    let guard = StreamGuard {
        state: state.clone(),
        id,
    };
    let messages = stream::unfold((receiver, guard), |(mut receiver, guard)| async move {
        let message = receiver.recv().await?;
        let event = Event::default().event("message").data(message);
        Some((Ok::<Event, Infallible>(event), (receiver, guard)))
    });
    let mut response = Sse::new(first.chain(messages))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

struct StreamGuard {
    state: AppState,
    id: String,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.state.legacy_streams().close(&self.id);
    }
}

/// The stream a message names: 400 without one, 404 for one that is not open (the Python SDK's
/// SSE server answers so).
pub(crate) fn require_stream(
    state: &AppState,
    notes: &Notes,
    session: Option<&str>,
) -> Result<String, ApiError> {
    let Some(id) = session.filter(|id| !id.is_empty()) else {
        return Err(ApiError::http(
            StatusCode::BAD_REQUEST,
            format!("{SESSION_QUERY} is required"),
        ));
    };
    notes.update(|n| n.session_id = Some(id.to_owned()));
    if !state.legacy_streams().is_open(id) {
        return Err(ApiError::http(
            StatusCode::NOT_FOUND,
            "Could not find session",
        ));
    }
    Ok(id.to_owned())
}

/// A message POSTed to a stream's URL: 202 Accepted, and a request's response (result or
/// error) as a `message` event on the stream.
pub(crate) fn handle_message(
    state: &AppState,
    notes: &Notes,
    stream: &str,
    incoming: Incoming,
    caller: &Authenticated,
) -> Result<Response, ApiError> {
    notes.update(|n| n.negotiated = Some(LEGACY_REVISION.to_owned()));
    let response = match incoming {
        Incoming::Notification { .. } | Incoming::Response { .. } => None,
        Incoming::Request { id, method, params } => {
            Some(answer(state, &id, &method, params.as_ref(), caller))
        }
        Incoming::Batch | Incoming::Invalid { .. } => {
            return Err(ApiError::rpc(
                StatusCode::BAD_REQUEST,
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request",
            ))
        }
    };
    if let Some(response) = response {
        if !state.legacy_streams().send(stream, response.to_string()) {
            // The client hung up between the check and now.
            return Err(ApiError::http(
                StatusCode::NOT_FOUND,
                "Could not find session",
            ));
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "text/plain")],
        "Accepted",
    )
        .into_response())
}

/// A request's JSON-RPC response at 2024-11-05: `initialize` answers that revision whatever the
/// client asked for (an old server knows no later one; Lifecycle › "Version Negotiation").
fn answer(
    state: &AppState,
    id: &Value,
    method: &str,
    params: Option<&Value>,
    caller: &Authenticated,
) -> Value {
    let config = state.config();
    if method == "initialize" {
        let mut result = json!({
            "protocolVersion": LEGACY_REVISION,
            "capabilities": capabilities(config),
            "serverInfo": server_info(config),
        });
        if let Some(instructions) = instructions(config) {
            result["instructions"] = json!(instructions);
        }
        return jsonrpc::result(id, result);
    }
    match dispatch(state, method, params, LEGACY_REVISION, caller) {
        Ok(result) => jsonrpc::result(id, result),
        Err(error) => {
            let mut body = json!({"code": error.code, "message": error.message});
            if let Some(data) = error.data {
                body["data"] = data;
            }
            json!({"jsonrpc": "2.0", "id": id, "error": body})
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::access_log::{Bearer, Phase};
    use crate::client::StandInClient;
    use crate::MockServer;

    async fn legacy_server() -> anyhow::Result<MockServer> {
        Ok(MockServer::builder().legacy_sse_only().start().await?)
    }

    #[tokio::test]
    async fn a_client_that_falls_back_gets_the_tools_over_the_stream() -> anyhow::Result<()> {
        let server = legacy_server().await?;
        let outcome = StandInClient::new(&server.mcp_url())?
            .fall_back_to_legacy_sse()
            .run()
            .await?;
        assert!(
            outcome.tool_names.iter().any(|t| t == "hello"),
            "{outcome:?}"
        );
        assert_eq!(
            outcome.session.map(|s| s.protocol_version).as_deref(),
            Some("2024-11-05")
        );
        let log = server.received_requests();
        let mcp: Vec<_> = log.iter().filter(|r| r.phase == Phase::Mcp).collect();
        let refused = mcp
            .iter()
            .find(|r| r.method == "POST" && r.status == 405)
            .ok_or_else(|| anyhow::anyhow!("no 405 on POST: {mcp:#?}"))?;
        assert_eq!(refused.rpc_method.as_deref(), Some("initialize"));
        let stream = mcp
            .iter()
            .find(|r| r.method == "GET" && r.status == 200)
            .ok_or_else(|| anyhow::anyhow!("no stream: {mcp:#?}"))?;
        let messages: Vec<_> = mcp
            .iter()
            .filter(|r| r.path == "/messages")
            .map(|r| {
                (
                    r.rpc_method.clone().unwrap_or_default(),
                    r.status,
                    r.session_id == stream.session_id,
                    matches!(r.bearer, Bearer::Valid { .. }),
                )
            })
            .collect();
        let expected = |method: &str| (method.to_owned(), 202, true, true);
        assert_eq!(
            messages,
            vec![
                expected("initialize"),
                expected("notifications/initialized"),
                expected("tools/list"),
                expected("tools/call"),
            ]
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_client_that_never_falls_back_stops_at_the_405() -> anyhow::Result<()> {
        let server = legacy_server().await?;
        let refused = StandInClient::new(&server.mcp_url())?.run().await;
        let status = refused.as_ref().err().and_then(|e| e.status());
        assert_eq!(status, Some(405), "{refused:?}");
        assert!(server
            .received_requests()
            .iter()
            .all(|r| r.method != "GET" || r.phase != Phase::Mcp));
        Ok(())
    }

    #[tokio::test]
    async fn without_a_bearer_the_stream_and_the_messages_get_the_challenge() -> anyhow::Result<()>
    {
        let server = legacy_server().await?;
        let http = reqwest::Client::new();
        let messages = format!("{}/messages?session_id=x", server.uri());
        let responses = [
            http.get(server.mcp_url())
                .header("accept", "text/event-stream")
                .send()
                .await?,
            http.post(server.mcp_url()).body("{}").send().await?,
            http.post(&messages).body("{}").send().await?,
        ];
        for response in responses {
            assert_eq!(response.status(), 401, "{}", response.url());
            let challenge = response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            assert!(challenge.contains("resource_metadata="), "{challenge}");
        }
        Ok(())
    }

    #[tokio::test]
    async fn post_to_the_server_url_is_405_allowing_get_and_a_closed_stream_is_404(
    ) -> anyhow::Result<()> {
        let server = legacy_server().await?;
        let mut client = StandInClient::new(&server.mcp_url())?;
        let tokens = client.authenticate().await?;
        let http = reqwest::Client::new();
        let post = http
            .post(server.mcp_url())
            .bearer_auth(&tokens.access_token)
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
            .send()
            .await?;
        assert_eq!(post.status(), 405);
        assert_eq!(
            post.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some("GET")
        );
        let unknown = http
            .post(format!("{}/messages?session_id=nope", server.uri()))
            .bearer_auth(&tokens.access_token)
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
            .send()
            .await?;
        assert_eq!(unknown.status(), 404);
        Ok(())
    }
}
