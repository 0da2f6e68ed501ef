//! The Gemini API (`POST /v1beta/models/<model>:streamGenerateContent?alt=sse`,
//! `:generateContent`, `:countTokens`; also under `/v1/` and `/v1alpha/`), as Gemini CLI speaks it.
//!
//! Read from the body: `tools[].functionDeclarations[].name` (Gemini CLI names MCP tools
//! `mcp_<server>_<tool>`, see [`super::naming`]), system text from `systemInstruction`, and the
//! `contents` after the last `model` one: their `functionResponse` parts are the tool results
//! (matched by `id`, else by name to the last `functionCall`; a `response` with `error` is an
//! error), their `text` parts the prompt (a part that is one `<session_context>…` block counts as
//! system text). The model and whether to stream come from the path.
//!
//! Answered as one `GenerateContentResponse`: `candidates[0].content` (`role: model`, one `text`
//! or `functionCall {id, name, args}` part), `finishReason: STOP`, `usageMetadata`; streamed as
//! one `data: <response>` server-sent event (Gemini CLI 0.61.0 echoes the call's `id` in its
//! `functionResponse`). `countTokens` gets `{"totalTokens": 12}`; the model list and a model's
//! entry are served for clients that ask; other routes get the API's error shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::naming::WireTool;
use super::script::Reply;
use super::view::{is_context_block, joined, Conversation, ResultRead};
use super::{event_stream, Outcome};

/// The models the model list names.
pub const MODELS: &[&str] = &[
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gemini-2.5-flash-lite",
];

/// A Gemini route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `…/models/<model>:<action>`.
    Action { model: String, action: String },
    /// `GET /v1beta/models`.
    Models,
    /// `GET /v1beta/models/<model>`.
    Model(String),
    /// Anything else under `/v1beta/` or `/v1alpha/`.
    Other,
}

impl Route {
    /// The Gemini route of `path`, if it is one. `/v1/models` without an action is left to the
    /// OpenAI model list.
    pub fn of(path: &str) -> Option<Route> {
        let (version, rest) = ["/v1beta", "/v1alpha", "/v1"]
            .iter()
            .find_map(|v| Some((*v, path.strip_prefix(v)?)))?;
        let gemini_only = version != "/v1";
        if let Some(name) = rest.strip_prefix("/models/") {
            if let Some((model, action)) = name.split_once(':') {
                return Some(Route::Action {
                    model: model.to_owned(),
                    action: action.to_owned(),
                });
            }
            return gemini_only.then(|| Route::Model(name.to_owned()));
        }
        if !gemini_only {
            return None;
        }
        Some(if rest == "/models" {
            Route::Models
        } else {
            Route::Other
        })
    }
}

fn parts(content: &Value) -> impl Iterator<Item = &Value> {
    content
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Reads a request body. Never fails: a body it cannot read has no tools and no prompt.
pub(crate) fn read(body: &Value) -> Conversation {
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|t| {
            t.get("functionDeclarations")
                .or_else(|| t.get("function_declarations"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|d| d.get("name").and_then(Value::as_str).map(WireTool::plain))
        .collect();
    let mut system = String::new();
    match body
        .get("systemInstruction")
        .or_else(|| body.get("system_instruction"))
    {
        Some(Value::String(s)) => {
            system.push_str(s);
            system.push('\n');
        }
        Some(instruction) => {
            for text in parts(instruction).filter_map(|p| p.get("text").and_then(Value::as_str)) {
                system.push_str(text);
                system.push('\n');
            }
        }
        None => {}
    }
    let contents: Vec<&Value> = body
        .get("contents")
        .and_then(Value::as_array)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let since_model = contents
        .iter()
        .rposition(|c| c.get("role").and_then(Value::as_str) == Some("model"))
        .map_or(0, |i| i + 1);
    // The calls of the model's last turn, for responses that carry no id.
    let last_calls: Vec<(Option<&str>, &str)> = since_model
        .checked_sub(1)
        .map(|i| {
            parts(contents[i])
                .filter_map(|p| p.get("functionCall"))
                .filter_map(|c| {
                    let name = c.get("name").and_then(Value::as_str)?;
                    Some((c.get("id").and_then(Value::as_str), name))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut results = Vec::new();
    let mut prompt = Vec::new();
    for content in &contents[since_model..] {
        for part in parts(content) {
            if let Some(response) = part.get("functionResponse") {
                let name = response.get("name").and_then(Value::as_str);
                let id = response
                    .get("id")
                    .and_then(Value::as_str)
                    .or_else(|| {
                        last_calls
                            .iter()
                            .find(|(_, n)| Some(*n) == name)
                            .and_then(|(id, _)| *id)
                    })
                    .unwrap_or_default()
                    .to_owned();
                let payload = response.get("response").unwrap_or(&Value::Null);
                let (is_error, text) = match (payload.get("error"), payload.get("output")) {
                    (Some(e), _) => (true, text_of(e)),
                    (None, Some(o)) => (false, text_of(o)),
                    (None, None) => (false, text_of(payload)),
                };
                results.push(ResultRead {
                    id,
                    tool: name.map(WireTool::plain),
                    is_error,
                    text,
                });
            } else if let Some(text) = part.get("text").and_then(Value::as_str) {
                if is_context_block(text) {
                    system.push_str(text);
                    system.push('\n');
                } else {
                    prompt.push(text.to_owned());
                }
            }
        }
    }
    Conversation {
        model: None,
        tools,
        system,
        results,
        user_prompt: joined(prompt),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An error in the API's shape.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let name = match status {
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::BAD_REQUEST => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    };
    let body = json!({"error": {"code": status.as_u16(), "message": message, "status": name}});
    (status, Json(body)).into_response()
}

/// `:countTokens`.
pub(crate) fn token_count() -> Value {
    json!({"totalTokens": 12})
}

/// `GET /v1beta/models/<model>`.
pub(crate) fn model_entry(model: &str) -> Value {
    let id = model.strip_prefix("models/").unwrap_or(model);
    json!({
        "name": format!("models/{id}"),
        "displayName": id,
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens"]
    })
}

/// `GET /v1beta/models`.
pub(crate) fn model_list() -> Value {
    let models: Vec<Value> = MODELS.iter().map(|m| model_entry(m)).collect();
    json!({"models": models})
}

fn response_json(outcome: &Outcome) -> Value {
    let part = match &outcome.reply {
        Reply::Text(text) => json!({"text": text}),
        Reply::ToolUse { id, name, input } => json!({
            "functionCall": {"id": id, "name": outcome.wire_name(name).0, "args": input}
        }),
    };
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": [part]},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 2, "totalTokenCount": 14},
        "modelVersion": outcome.model,
        "responseId": format!("mock-{}", outcome.seq)
    })
}

/// The answer: one server-sent event for `streamGenerateContent`, else the response as JSON.
pub(crate) fn render(outcome: &Outcome) -> Response {
    let response = response_json(outcome);
    if outcome.stream {
        event_stream(format!("data: {response}\n\n"))
    } else {
        Json(response).into_response()
    }
}
