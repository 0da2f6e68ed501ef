//! OpenAI Chat Completions (`POST …/chat/completions`), as opencode, Kilo, Copilot CLI, Qwen Code,
//! Cline and fast-agent speak it, and the model list OpenAI-compatible clients ask for
//! (`GET /v1/models`, `GET /models`).
//!
//! Read from the body: `tools` (`{"type":"function","function":{"name":…}}`; the older
//! `functions` too), system text from `system` / `developer` messages, and the messages after the
//! last `assistant` one: `tool` messages are the tool results (matched by `tool_call_id` to the
//! assistant's `tool_calls`), `user` messages the prompt (a part that is one `<tag>…</tag>` block
//! counts as system text; so does such a block in an earlier user message, since it still stands).
//! A `tool` message answering a bridge call (`tool_call` with
//! `{"name": <tool>, …}`, Qwen Code) is read as the result of `<tool>`.
//!
//! Answered, when `stream` is true, as `data: <chunk>` lines of `chat.completion.chunk` objects:
//! the first delta names the role (and for a call opens `tool_calls[0]` with `id`, `type` and
//! `function.name`), the next carries the text or the call's `function.arguments`, the last has an
//! empty delta and `finish_reason` (`stop` or `tool_calls`); then, when `stream_options.
//! include_usage` is set, a chunk with no choices and `usage`; then `data: [DONE]`. Without
//! `stream`, one `chat.completion` object.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::naming::WireTool;
use super::script::{Reply, BRIDGE_CALL};
use super::view::{is_context_block, joined, parts_text, Conversation, ResultRead};
use super::{event_stream, Outcome};

/// The models `GET /v1/models` lists.
pub const MODELS: &[&str] = &["mock-model", "gpt-5", "gpt-4o-mini"];

/// Reads a request body. Never fails: a body it cannot read has no tools and no prompt.
pub(crate) fn read(body: &Value) -> Conversation {
    let declared = |key: &str, name: fn(&Value) -> Option<&str>| -> Vec<WireTool> {
        body.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| name(t).map(WireTool::plain))
            .collect()
    };
    let mut tools = declared("tools", |t| {
        t.get("function")
            .and_then(|f| f.get("name"))
            .or_else(|| t.get("name"))
            .and_then(Value::as_str)
    });
    tools.extend(declared("functions", |f| {
        f.get("name").and_then(Value::as_str)
    }));
    let messages: Vec<&Value> = body
        .get("messages")
        .and_then(Value::as_array)
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    let role = |m: &Value| m.get("role").and_then(Value::as_str).map(str::to_owned);
    let mut system = String::new();
    let mut calls: Vec<(String, String)> = Vec::new();
    let since_model = messages
        .iter()
        .rposition(|m| role(m).as_deref() == Some("assistant"))
        .map_or(0, |i| i + 1);
    for (i, m) in messages.iter().enumerate() {
        match role(m).as_deref() {
            Some("system") | Some("developer") => {
                for text in parts_text(m.get("content").unwrap_or(&Value::Null)) {
                    system.push_str(&text);
                    system.push('\n');
                }
            }
            // Context blocks of earlier user turns still stand (Qwen Code announces the tools
            // behind its bridge once, in the first user message): read in order, so a later
            // announcement overrides an earlier one.
            Some("user") if i < since_model => {
                for text in parts_text(m.get("content").unwrap_or(&Value::Null)) {
                    if is_context_block(&text) {
                        system.push_str(&text);
                        system.push('\n');
                    }
                }
            }
            Some("assistant") => {
                for call in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let id = call.get("id").and_then(Value::as_str).unwrap_or_default();
                    let function = call.get("function");
                    let name = function
                        .and_then(|f| f.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    // A call through the bridge names the tool it invokes in its arguments; its
                    // result is that tool's.
                    let invoked = (name == BRIDGE_CALL)
                        .then(|| {
                            let args = function?.get("arguments")?.as_str()?;
                            let args: Value = serde_json::from_str(args).ok()?;
                            args.get("name")?.as_str().map(str::to_owned)
                        })
                        .flatten();
                    calls.push((id.to_owned(), invoked.unwrap_or_else(|| name.to_owned())));
                }
            }
            _ => {}
        }
    }
    let mut results = Vec::new();
    let mut prompt = Vec::new();
    for m in &messages[since_model..] {
        let content = m.get("content").unwrap_or(&Value::Null);
        match role(m).as_deref() {
            Some("tool") | Some("function") => {
                let id = m
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let name = calls
                    .iter()
                    .find(|(c, _)| *c == id)
                    .map(|(_, n)| n.clone())
                    .or_else(|| m.get("name").and_then(Value::as_str).map(str::to_owned));
                results.push(ResultRead {
                    tool: name.map(WireTool::plain),
                    id,
                    is_error: false,
                    text: parts_text(content).join("\n"),
                });
            }
            Some("user") => {
                for text in parts_text(content) {
                    if is_context_block(&text) {
                        system.push_str(&text);
                        system.push('\n');
                    } else {
                        prompt.push(text);
                    }
                }
            }
            _ => {}
        }
    }
    Conversation {
        model: body.get("model").and_then(Value::as_str).map(str::to_owned),
        tools,
        system,
        results,
        user_prompt: joined(prompt),
    }
}

/// `GET /v1/models`.
pub(crate) fn model_list() -> Value {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "model-api-stand-in"}))
        .collect();
    json!({"object": "list", "data": data})
}

/// An error in the OpenAI shape.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}});
    (status, Json(body)).into_response()
}

fn finish_reason(reply: &Reply) -> &'static str {
    match reply {
        Reply::Text(_) => "stop",
        Reply::ToolUse { .. } => "tool_calls",
    }
}

fn usage() -> Value {
    json!({"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14})
}

/// The answer: the chunk stream when the request asked for one, else one completion.
pub(crate) fn render(outcome: &Outcome) -> Response {
    let id = format!("chatcmpl-mock-{}", outcome.seq);
    if !outcome.stream {
        let message = match &outcome.reply {
            Reply::Text(text) => json!({"role": "assistant", "content": text}),
            Reply::ToolUse {
                id: call,
                name,
                input,
            } => json!({
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": call,
                    "type": "function",
                    "function": {"name": outcome.wire_name(name).0, "arguments": input.to_string()}
                }]
            }),
        };
        return Json(json!({
            "id": id,
            "object": "chat.completion",
            "created": 0,
            "model": outcome.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(&outcome.reply)}],
            "usage": usage()
        }))
        .into_response();
    }
    let chunk = |choices: Value| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": outcome.model,
            "choices": choices
        })
    };
    let delta = |delta: Value, finish: Option<&str>| {
        chunk(json!([{"index": 0, "delta": delta, "finish_reason": finish}]))
    };
    let mut chunks = match &outcome.reply {
        Reply::Text(text) => vec![
            delta(json!({"role": "assistant", "content": ""}), None),
            delta(json!({"content": text}), None),
        ],
        Reply::ToolUse {
            id: call,
            name,
            input,
        } => vec![
            delta(
                json!({"role": "assistant", "content": null, "tool_calls": [{
                    "index": 0, "id": call, "type": "function",
                    "function": {"name": outcome.wire_name(name).0, "arguments": ""}
                }]}),
                None,
            ),
            delta(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": input.to_string()}}]}),
                None,
            ),
        ],
    };
    chunks.push(delta(json!({}), Some(finish_reason(&outcome.reply))));
    let include_usage = outcome
        .body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if include_usage {
        let mut last = chunk(json!([]));
        last["usage"] = usage();
        chunks.push(last);
    }
    let mut body: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    event_stream(body)
}
