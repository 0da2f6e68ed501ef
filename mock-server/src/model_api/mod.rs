//! Stand-in for the Anthropic Messages API: a scripted model on loopback, so an interactive CLI
//! session runs without any traffic leaving the machine, and a test can say what the agent does.
//!
//! `POST /v1/messages` is answered from the [`ModelScript`] (see [`script`]), streamed as
//! server-sent events in the API's order (`message_start`, `content_block_start`,
//! `content_block_delta`, `content_block_stop`, `message_delta`, `message_stop`) when the request
//! asks for `stream: true`, and as one JSON message otherwise. `count_tokens` gets a small count;
//! other routes a JSON 404 in the API's error shape. Every request is recorded twice: as sent
//! ([`ModelRequest`]) and as the model's view of it ([`ModelView`]).

pub mod script;
pub mod view;

pub use script::{
    Action, Expectation, ModelScript, Reply, ScriptFailure, ScriptPlayer, ScriptReport, Turn,
    DEFAULT_REPLY, TOOL_SEARCH,
};
pub use view::{ModelView, RequestKind, ToolResultSeen};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::MockServerError;
use crate::runtime::BackgroundServer;

/// One request the client made to the model API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelRequest {
    pub seq: u64,
    pub method: String,
    /// Path and query, e.g. `/v1/messages?beta=true`.
    pub uri: String,
    pub model: Option<String>,
    pub stream: bool,
    /// Names in the request's `tools` array, in order.
    pub tool_names: Vec<String>,
    /// The whole JSON body, for checks that need more than the summary.
    pub body: Value,
}

#[derive(Default)]
struct ModelState {
    requests: Mutex<Vec<ModelRequest>>,
    views: Mutex<Vec<ModelView>>,
    player: Mutex<ScriptPlayer>,
}

/// A running model API stand-in on loopback, on its own thread and runtime.
pub struct ModelApi {
    server: BackgroundServer,
    state: Arc<ModelState>,
}

impl ModelApi {
    /// Starts on `127.0.0.1:0` with nothing scripted: every request gets a short text.
    pub fn start() -> Result<ModelApi, MockServerError> {
        ModelApi::start_scripted(ModelScript::new())
    }

    /// Starts on `127.0.0.1:0` playing `script`.
    pub fn start_scripted(script: ModelScript) -> Result<ModelApi, MockServerError> {
        let state = Arc::new(ModelState {
            player: Mutex::new(ScriptPlayer::new(script)),
            ..ModelState::default()
        });
        let app = router(state.clone());
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        let server = BackgroundServer::spawn("model-api", addr, app)?;
        Ok(ModelApi { server, state })
    }

    /// `http://127.0.0.1:PORT`, the value for `ANTHROPIC_BASE_URL`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.server.local_addr())
    }

    /// Everything the client sent so far.
    pub fn received_requests(&self) -> Vec<ModelRequest> {
        lock(&self.state.requests).clone()
    }

    /// The model's view of every Messages request so far, with what it answered.
    pub fn views(&self) -> Vec<ModelView> {
        lock(&self.state.views).clone()
    }

    /// Adds a turn to the script (for input only known during the run, like a callback URL).
    pub fn push_turn(&self, turn: Turn) {
        lock(&self.state.player).push(turn);
    }

    /// What the script achieved so far: turns started, expectations, failures, tool calls.
    pub fn script_report(&self) -> ScriptReport {
        lock(&self.state.player).report()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A handler that panicked while holding the lock leaves valid data behind; keep serving.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn router(state: Arc<ModelState>) -> Router {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .fallback(any(unknown_route))
        .with_state(state)
}

fn record(state: &ModelState, method: &str, uri: &str, body: &Value) -> ModelRequest {
    let mut requests = lock(&state.requests);
    let tool_names = body
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let request = ModelRequest {
        seq: requests.len() as u64 + 1,
        method: method.to_owned(),
        uri: uri.to_owned(),
        model: body.get("model").and_then(Value::as_str).map(str::to_owned),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        tool_names,
        body: body.clone(),
    };
    requests.push(request.clone());
    request
}

fn api_error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    (status, Json(body)).into_response()
}

async fn messages(
    State(state): State<Arc<ModelState>>,
    OriginalUri(uri): OriginalUri,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "body is not JSON",
        );
    };
    let request = record(&state, "POST", &uri.to_string(), &parsed);
    let model = request.model.unwrap_or_else(|| "mock-model".to_owned());
    let mut view = ModelView::of(request.seq, &parsed);
    let reply = lock(&state.player).answer(&mut view);
    view.answer = reply.describe();
    lock(&state.views).push(view);
    if request.stream {
        streamed(&model, &reply)
    } else {
        Json(message_json(&model, &reply)).into_response()
    }
}

async fn count_tokens(
    State(state): State<Arc<ModelState>>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    record(&state, "POST", &uri.to_string(), &parsed);
    Json(json!({"input_tokens": 12})).into_response()
}

async fn unknown_route(
    State(state): State<Arc<ModelState>>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    record(&state, "?", &uri.to_string(), &Value::Null);
    api_error(
        StatusCode::NOT_FOUND,
        "not_found_error",
        "the model API stand-in does not serve this route",
    )
}

fn content_block(reply: &Reply) -> Value {
    match reply {
        Reply::Text(text) => json!({"type": "text", "text": text}),
        Reply::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
    }
}

fn stop_reason(reply: &Reply) -> &'static str {
    match reply {
        Reply::Text(_) => "end_turn",
        Reply::ToolUse { .. } => "tool_use",
    }
}

fn message_json(model: &str, reply: &Reply) -> Value {
    json!({
        "id": "msg_mock_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [content_block(reply)],
        "stop_reason": stop_reason(reply),
        "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 2}
    })
}

/// The Messages API's streaming shape for one content block: the block starts empty and its
/// content arrives as one delta (`text_delta` for text, `input_json_delta` for a tool's input).
fn streamed(model: &str, reply: &Reply) -> Response {
    let mut start = message_json(model, reply);
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    let (empty_block, delta) = match reply {
        Reply::Text(text) => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": text}),
        ),
        Reply::ToolUse { id, name, input } => (
            json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": input.to_string()}),
        ),
    };
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": start}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": empty_block}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(reply), "stop_sequence": null}, "usage": {"output_tokens": 2}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let body: String = events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect();
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
