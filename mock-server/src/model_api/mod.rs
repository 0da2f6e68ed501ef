//! Stand-in for the model API: a scripted model on loopback, so an interactive CLI session runs
//! without any traffic leaving the machine, and a test can say what the agent does. It speaks four
//! wire APIs, all streamed, from one [`ModelScript`] (see [`script`]) and one [`ModelView`] per
//! request, so a scenario written once runs against any client.
//!
//! | route | wire API ([`WireApi`]) | clients |
//! |---|---|---|
//! | `POST /v1/messages`, `POST /v1/messages/count_tokens` | Anthropic Messages ([`anthropic`]) | Claude Code |
//! | `POST …/responses` (any prefix: `/v1/responses`, `/responses`) | OpenAI Responses ([`openai_responses`]) | Codex CLI |
//! | `POST …/chat/completions` (any prefix), `GET /v1/models`, `GET /models` | OpenAI Chat Completions ([`openai_chat`]) | opencode, Kilo, Copilot CLI, Qwen Code, Cline, fast-agent |
//! | `POST /v1beta/models/<model>:streamGenerateContent?alt=sse`, `:generateContent`, `:countTokens` (also under `/v1/`, `/v1alpha/`), `GET /v1beta/models[/<model>]` | Gemini ([`gemini`]) | Gemini CLI |
//!
//! Each wire format reads its body into the common view (what tools were offered, under canonical
//! names, see [`naming`]; what tool results and prompt the model sees) and renders the player's
//! [`Reply`] in its own shape, streamed when the request asks for it. A tool call goes out under
//! the name and namespace the client declared, with an id the client sends back with its result
//! (`tool_use_id`, `call_id`, `tool_call_id`, `functionResponse.id`), which the view matches to
//! the call. Other routes get a JSON 404 (in the Gemini shape under a Gemini path, in the
//! Messages shape elsewhere). Every request is recorded twice: as sent ([`ModelRequest`]) and as
//! the model's view of it ([`ModelView`]).

pub mod anthropic;
pub mod gemini;
pub mod naming;
pub mod openai_chat;
pub mod openai_responses;
pub mod script;
pub mod view;

pub use naming::WireName;
pub use script::{
    offered_schema_of, Action, Expectation, ModelScript, Reply, ScriptFailure, ScriptPlayer,
    ScriptReport, Turn, BRIDGE_CALL, BRIDGE_SEARCH, DEFAULT_REPLY, TOOL_SEARCH,
};
pub use view::{ModelView, RequestKind, ToolResultSeen, WireApi};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
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
    /// The wire API of the route (Messages for routes no wire API serves).
    #[serde(default)]
    pub api: WireApi,
    /// The body's `model`, or for Gemini the model in the path.
    pub model: Option<String>,
    /// The body's `stream`, or for Gemini whether the action is `streamGenerateContent`.
    pub stream: bool,
    /// The names of the declared tools, in order, as sent; a tool inside a Responses namespace as
    /// `<namespace>/<name>` (Codex: `mcp__mock/hello`).
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

    /// `http://127.0.0.1:PORT`: the value for `ANTHROPIC_BASE_URL` and `GOOGLE_GEMINI_BASE_URL`;
    /// OpenAI routes are served with and without `/v1`, so it also does for a `base_url`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.server.local_addr())
    }

    /// `http://127.0.0.1:PORT/v1`, the usual OpenAI-compatible `base_url`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.uri())
    }

    /// Everything the client sent so far.
    pub fn received_requests(&self) -> Vec<ModelRequest> {
        lock(&self.state.requests).clone()
    }

    /// The model's view of every model request so far (any wire API), with what it answered.
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
        .fallback(any(dispatch))
        .with_state(state)
}

/// What [`ModelRequest`] says of a request besides its method, URI and body.
struct Summary {
    api: WireApi,
    model: Option<String>,
    stream: bool,
    tool_names: Vec<String>,
}

impl Summary {
    fn of(api: WireApi, body: &Value, conversation: &view::Conversation) -> Summary {
        Summary {
            api,
            model: conversation.model.clone(),
            stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
            tool_names: conversation
                .tools
                .iter()
                .map(naming::WireTool::qualified)
                .collect(),
        }
    }

    fn none(api: WireApi) -> Summary {
        Summary {
            api,
            model: None,
            stream: false,
            tool_names: Vec::new(),
        }
    }
}

fn record(
    state: &ModelState,
    method: &str,
    uri: &str,
    body: &Value,
    summary: Summary,
) -> ModelRequest {
    let mut requests = lock(&state.requests);
    let request = ModelRequest {
        seq: requests.len() as u64 + 1,
        method: method.to_owned(),
        uri: uri.to_owned(),
        api: summary.api,
        model: summary.model,
        stream: summary.stream,
        tool_names: summary.tool_names,
        body: body.clone(),
    };
    requests.push(request.clone());
    request
}

/// What the stand-in decided for one request, for its wire format to render.
pub(crate) struct Outcome<'a> {
    pub seq: u64,
    /// The request's model, or `mock-model`.
    pub model: String,
    pub stream: bool,
    pub reply: Reply,
    /// The view the reply was decided on (for the wire names of tools).
    pub view: ModelView,
    pub body: &'a Value,
}

impl Outcome<'_> {
    /// The name and namespace a tool call goes out under.
    pub fn wire_name<'n>(&'n self, canonical: &'n str) -> (&'n str, Option<&'n str>) {
        self.view.wire_name(canonical)
    }
}

fn read(api: WireApi, body: &Value) -> view::Conversation {
    match api {
        WireApi::AnthropicMessages => anthropic::read(body),
        WireApi::OpenAiResponses => openai_responses::read(body),
        WireApi::OpenAiChat => openai_chat::read(body),
        WireApi::Gemini => gemini::read(body),
    }
}

/// Records a model request, shows it to the script player and records the view. `model` and
/// `stream` override the body's (Gemini says both in the path).
fn play<'a>(
    state: &ModelState,
    api: WireApi,
    uri: &str,
    body: &'a Value,
    path_model_stream: Option<(String, bool)>,
) -> Outcome<'a> {
    let mut conversation = read(api, body);
    let mut summary = Summary::of(api, body, &conversation);
    if let Some((model, stream)) = path_model_stream {
        conversation.model = Some(model.clone());
        summary.model = Some(model);
        summary.stream = stream;
    }
    let request = record(state, "POST", uri, body, summary);
    let mut player = lock(&state.player);
    let mut view = ModelView::assemble(request.seq, api, conversation, &player.mcp_servers());
    view.read_offered_schemas(body);
    let reply = player.answer(&mut view);
    drop(player);
    view.answer = reply.describe();
    lock(&state.views).push(view.clone());
    Outcome {
        seq: request.seq,
        model: request.model.unwrap_or_else(|| "mock-model".to_owned()),
        stream: request.stream,
        reply,
        view,
        body,
    }
}

fn api_error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    (status, Json(body)).into_response()
}

/// A `text/event-stream` answer with `body` as it is.
pub(crate) fn event_stream(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
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
    let outcome = play(
        &state,
        WireApi::AnthropicMessages,
        &uri.to_string(),
        &parsed,
        None,
    );
    anthropic::render(&outcome)
}

async fn count_tokens(
    State(state): State<Arc<ModelState>>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let summary = Summary::of(
        WireApi::AnthropicMessages,
        &parsed,
        &anthropic::read(&parsed),
    );
    record(&state, "POST", &uri.to_string(), &parsed, summary);
    Json(json!({"input_tokens": 12})).into_response()
}

/// The routes that are not fixed paths: OpenAI routes under any prefix, Gemini's
/// `models/<model>:<action>`, and the 404 for the rest.
async fn dispatch(
    State(state): State<Arc<ModelState>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/');
    let full = uri.to_string();
    let post = method == Method::POST;
    if post && path.ends_with("/responses") {
        return wire_call(&state, WireApi::OpenAiResponses, &full, &body, None);
    }
    if post && path.ends_with("/chat/completions") {
        return wire_call(&state, WireApi::OpenAiChat, &full, &body, None);
    }
    if let Some(route) = gemini::Route::of(path) {
        return gemini_route(&state, &method, &full, &body, route);
    }
    // Claude Code names its API version on every request; its model list stays a 404 as before.
    let anthropic = headers.contains_key("anthropic-version");
    if method == Method::GET && (path == "/v1/models" || path == "/models") && !anthropic {
        record(
            &state,
            "GET",
            &full,
            &Value::Null,
            Summary::none(WireApi::OpenAiChat),
        );
        return Json(openai_chat::model_list()).into_response();
    }
    unknown_route(&state, &full)
}

/// A model request on a wire API other than Messages.
fn wire_call(
    state: &ModelState,
    api: WireApi,
    uri: &str,
    body: &Bytes,
    path_model_stream: Option<(String, bool)>,
) -> Response {
    let Ok(parsed) = serde_json::from_slice::<Value>(body) else {
        record(state, "POST", uri, &Value::Null, Summary::none(api));
        return match api {
            WireApi::Gemini => gemini::error(StatusCode::BAD_REQUEST, "body is not JSON"),
            _ => openai_chat::error(StatusCode::BAD_REQUEST, "body is not JSON"),
        };
    };
    let outcome = play(state, api, uri, &parsed, path_model_stream);
    match api {
        WireApi::AnthropicMessages => anthropic::render(&outcome),
        WireApi::OpenAiResponses => openai_responses::render(&outcome),
        WireApi::OpenAiChat => openai_chat::render(&outcome),
        WireApi::Gemini => gemini::render(&outcome),
    }
}

fn gemini_route(
    state: &ModelState,
    method: &Method,
    uri: &str,
    body: &Bytes,
    route: gemini::Route,
) -> Response {
    let none = || Summary::none(WireApi::Gemini);
    match (method.clone(), route) {
        (Method::POST, gemini::Route::Action { model, action }) => match action.as_str() {
            "streamGenerateContent" => {
                wire_call(state, WireApi::Gemini, uri, body, Some((model, true)))
            }
            "generateContent" => wire_call(state, WireApi::Gemini, uri, body, Some((model, false))),
            "countTokens" => {
                let parsed = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
                let mut summary = Summary::of(WireApi::Gemini, &parsed, &gemini::read(&parsed));
                summary.model = Some(model);
                record(state, "POST", uri, &parsed, summary);
                Json(gemini::token_count()).into_response()
            }
            _ => {
                record(state, "POST", uri, &Value::Null, none());
                gemini::error(
                    StatusCode::NOT_FOUND,
                    "the stand-in does not serve this action",
                )
            }
        },
        (Method::GET, gemini::Route::Models) => {
            record(state, "GET", uri, &Value::Null, none());
            Json(gemini::model_list()).into_response()
        }
        (Method::GET, gemini::Route::Model(model)) => {
            record(state, "GET", uri, &Value::Null, none());
            Json(gemini::model_entry(&model)).into_response()
        }
        (method, _) => {
            record(state, method.as_str(), uri, &Value::Null, none());
            gemini::error(
                StatusCode::NOT_FOUND,
                "the stand-in does not serve this route",
            )
        }
    }
}

fn unknown_route(state: &ModelState, uri: &str) -> Response {
    record(
        state,
        "?",
        uri,
        &Value::Null,
        Summary::none(WireApi::AnthropicMessages),
    );
    api_error(
        StatusCode::NOT_FOUND,
        "not_found_error",
        "the model API stand-in does not serve this route",
    )
}

#[cfg(test)]
mod tests;
