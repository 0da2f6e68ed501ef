//! The Anthropic Messages API (`POST /v1/messages`, Claude Code): reading a request into a
//! conversation and answering a [`Reply`] as a message or its event stream.
//!
//! Streamed as server-sent events in the API's order (`message_start`, `content_block_start`,
//! `content_block_delta`, `content_block_stop`, `message_delta`, `message_stop`) when the request
//! asks for `stream: true`, and as one JSON message otherwise. Tool names are used as sent.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::naming::WireTool;
use super::script::Reply;
use super::view::{Conversation, ResultRead};
use super::{event_stream, Outcome};

/// Reads a request body. Never fails: a body it cannot read has no tools and no prompt.
pub(crate) fn read(body: &Value) -> Conversation {
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str).map(WireTool::plain))
                .collect()
        })
        .unwrap_or_default();
    let messages: Vec<&Value> = body
        .get("messages")
        .and_then(Value::as_array)
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    let tool_names = tool_use_names(&messages);
    // Versions that put `role: "system"` entries among the messages are judged by the last
    // user or assistant message.
    let last = messages.iter().rev().find(|m| {
        matches!(
            m.get("role").and_then(Value::as_str),
            Some("user") | Some("assistant")
        )
    });
    let (results, user_prompt) = match last {
        Some(m) if m.get("role").and_then(Value::as_str) == Some("user") => {
            read_user_message(m, &tool_names)
        }
        _ => (Vec::new(), None),
    };
    Conversation {
        model: body.get("model").and_then(Value::as_str).map(str::to_owned),
        tools,
        system: system_text(body),
        results,
        user_prompt,
    }
}

/// The answer: the streamed events when the request asked for a stream, else one message.
pub(crate) fn render(outcome: &Outcome) -> Response {
    if outcome.stream {
        streamed(&outcome.model, &outcome.reply)
    } else {
        Json(message_json(&outcome.model, &outcome.reply)).into_response()
    }
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
    event_stream(
        events
            .iter()
            .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
            .collect(),
    )
}

/// All system text: the top-level `system` (a string or text blocks) and any `role: "system"`
/// messages, and system reminders inside user messages.
pub fn system_text(body: &Value) -> String {
    let mut out = String::new();
    if let Some(system) = body.get("system") {
        push_text(&mut out, system);
    }
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match m.get("role").and_then(Value::as_str) {
            Some("system") => push_text(&mut out, m.get("content").unwrap_or(&Value::Null)),
            Some("user") => {
                // Clients also slip reminders into user turns; only those count as system text.
                let mut text = String::new();
                push_text(&mut text, m.get("content").unwrap_or(&Value::Null));
                if text.contains("<system-reminder>") {
                    out.push_str(&text);
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
    out
}

fn push_text(out: &mut String, content: &Value) {
    match content {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(blocks) => {
            for b in blocks {
                if let Some(t) = b.get("text").and_then(Value::as_str) {
                    out.push_str(t);
                    out.push('\n');
                }
            }
        }
        _ => {}
    }
}

/// tool_use id → tool name, from every assistant message.
fn tool_use_names(messages: &[&Value]) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for m in messages {
        if m.get("role").and_then(Value::as_str) != Some("assistant") {
            continue;
        }
        for b in m
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if b.get("type").and_then(Value::as_str) == Some("tool_use") {
                if let (Some(id), Some(name)) = (
                    b.get("id").and_then(Value::as_str),
                    b.get("name").and_then(Value::as_str),
                ) {
                    names.insert(id.to_owned(), name.to_owned());
                }
            }
        }
    }
    names
}

fn read_user_message(
    message: &Value,
    tool_names: &BTreeMap<String, String>,
) -> (Vec<ResultRead>, Option<String>) {
    let content = message.get("content").unwrap_or(&Value::Null);
    if let Some(text) = content.as_str() {
        return (Vec::new(), Some(text.to_owned()));
    }
    let mut results = Vec::new();
    let mut prompt = Vec::new();
    for b in content.as_array().into_iter().flatten() {
        match b.get("type").and_then(Value::as_str) {
            Some("tool_result") => {
                let id = b
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                results.push(ResultRead {
                    tool: tool_names.get(&id).map(WireTool::plain),
                    id,
                    is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
                    text: tool_result_text(b.get("content").unwrap_or(&Value::Null)),
                });
            }
            Some("text") => {
                let text = b.get("text").and_then(Value::as_str).unwrap_or_default();
                // Reminders the client adds are not what the user typed.
                if !text.trim_start().starts_with("<system-reminder>") {
                    prompt.push(text.to_owned());
                }
            }
            _ => {}
        }
    }
    let prompt = (!prompt.is_empty()).then(|| prompt.join("\n"));
    (results, prompt)
}

fn tool_result_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                Some("tool_reference") => format!(
                    "tool_reference:{}",
                    b.get("tool_name")
                        .or_else(|| b.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                ),
                Some(other) => format!("[{other}]"),
                None => String::new(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
