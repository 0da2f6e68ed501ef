//! The OpenAI Responses API (`POST …/responses`), as Codex CLI speaks it.
//!
//! Read from the body: `tools` (`function` entries; a `namespace` entry's own `tools`, which is
//! how Codex offers an MCP server's tools: `{"type":"namespace","name":"mcp__<server>",
//! "tools":[{"type":"function","name":"<tool>",…}]}`; `custom` entries), system text from
//! `instructions` and `system`/`developer` messages, and the `input` items since the model last
//! spoke (an assistant `message`, `function_call`, `custom_tool_call` or `reasoning` item): their
//! `function_call_output` / `custom_tool_call_output` items are the tool results, matched to the
//! earlier `function_call` by `call_id`, and their user messages the prompt (a message that is one
//! `<environment_context>…` block counts as system text).
//!
//! Answered, when `stream` is true, as the API's server-sent events, each `event: <type>` with a
//! JSON `data` carrying the same `type` and a `sequence_number`: `response.created`,
//! `response.in_progress`, `response.output_item.added`, then for text
//! `response.content_part.added`, `response.output_text.delta`, `response.output_text.done`,
//! `response.content_part.done`, or for a call `response.function_call_arguments.delta`,
//! `response.function_call_arguments.done`; then `response.output_item.done` and
//! `response.completed` with `usage`. Codex 0.171.0 acts on `response.created`,
//! `response.output_item.added`/`done` (the item parsed as its `ResponseItem`),
//! `response.output_text.delta` and `response.completed` (whose `response` needs `id`; a stream
//! that ends without it is an error to Codex). A call goes out as
//! `{"type":"function_call","name":"<tool>","namespace":"mcp__<server>","call_id":…,"arguments":"<JSON text>"}`.
//! Without `stream`, the completed response object is the body.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::naming::WireTool;
use super::script::Reply;
use super::view::{is_context_block, joined, parts_text, Conversation, ResultRead};
use super::{event_stream, Outcome};

/// Reads a request body. Never fails: a body it cannot read has no tools and no prompt.
pub(crate) fn read(body: &Value) -> Conversation {
    let mut tools = Vec::new();
    for t in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = t.get("name").and_then(Value::as_str);
        match (t.get("type").and_then(Value::as_str), name) {
            (Some("namespace"), Some(ns)) => {
                for inner in t
                    .get("tools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(n) = inner.get("name").and_then(Value::as_str) {
                        tools.push(WireTool {
                            name: n.to_owned(),
                            namespace: Some(ns.to_owned()),
                        });
                    }
                }
            }
            (_, Some(n)) => tools.push(WireTool::plain(n)),
            // Built-in tools without a name (`web_search`, `image_generation`) are not functions
            // the script could call.
            _ => {}
        }
    }
    let mut system = String::new();
    if let Some(text) = body.get("instructions").and_then(Value::as_str) {
        system.push_str(text);
        system.push('\n');
    }
    let items: Vec<&Value> = match body.get("input") {
        Some(Value::Array(items)) => items.iter().collect(),
        _ => Vec::new(),
    };
    let mut calls: Vec<(String, WireTool)> = Vec::new();
    let mut since_model = 0;
    for (i, item) in items.iter().enumerate() {
        let kind = item_type(item);
        if let Some(id) = item.get("call_id").and_then(Value::as_str) {
            if matches!(kind, "function_call" | "custom_tool_call") {
                let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                calls.push((
                    id.to_owned(),
                    WireTool {
                        name: name.to_owned(),
                        namespace: item
                            .get("namespace")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    },
                ));
            }
        }
        let role = item.get("role").and_then(Value::as_str);
        if kind == "message" && matches!(role, Some("system") | Some("developer")) {
            push_lines(&mut system, item.get("content").unwrap_or(&Value::Null));
        }
        let spoke = match kind {
            "message" => role == Some("assistant"),
            "function_call" | "custom_tool_call" | "reasoning" | "local_shell_call"
            | "web_search_call" => true,
            _ => false,
        };
        if spoke {
            since_model = i + 1;
        }
    }
    let mut results = Vec::new();
    let mut prompt = Vec::new();
    for item in &items[since_model..] {
        match item_type(item) {
            "function_call_output" | "custom_tool_call_output" => {
                let id = item
                    .get("call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let output = item.get("output").unwrap_or(&Value::Null);
                let text = output_text(output);
                results.push(ResultRead {
                    tool: calls.iter().find(|(c, _)| *c == id).map(|(_, t)| t.clone()),
                    id,
                    is_error: output.get("success").and_then(Value::as_bool) == Some(false)
                        || reports_tool_error(&text),
                    text,
                });
            }
            "message" if item.get("role").and_then(Value::as_str) == Some("user") => {
                for text in parts_text(item.get("content").unwrap_or(&Value::Null)) {
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
    // A plain string `input` is one user message.
    if let Some(text) = body.get("input").and_then(Value::as_str) {
        prompt.push(text.to_owned());
    }
    Conversation {
        model: body.get("model").and_then(Value::as_str).map(str::to_owned),
        tools,
        system,
        results,
        user_prompt: joined(prompt),
    }
}

/// An item's `type`; an item with a `role` and no `type` is a message.
fn item_type(item: &Value) -> &str {
    match item.get("type").and_then(Value::as_str) {
        Some(t) => t,
        None if item.get("role").is_some() => "message",
        None => "",
    }
}

fn push_lines(out: &mut String, content: &Value) {
    for text in parts_text(content) {
        out.push_str(&text);
        out.push('\n');
    }
}

/// A `function_call_output`'s text: a string, or its parts' texts one per line (Codex 0.171.0
/// sends `[{"type":"input_text","text":"Wall time: …\nOutput:"},{"type":"input_text","text":…}]`).
/// Codex tells the model of a failed MCP call in the output's text only (`tool call error: tool
/// call failed for `mock/hello`…`, after its `Wall time` header), with no flag: that is an error
/// result too.
fn reports_tool_error(text: &str) -> bool {
    text.lines()
        .any(|line| line.trim_start().starts_with("tool call error:"))
}

fn output_text(output: &Value) -> String {
    match output {
        Value::String(s) => s.clone(),
        Value::Array(_) => parts_text(output).join("\n"),
        Value::Object(o) => o
            .get("content")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| output.to_string()),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn usage() -> Value {
    json!({
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 14
    })
}

/// The output item of a reply, complete (`status: completed`) or as first announced.
fn output_item(outcome: &Outcome, complete: bool) -> Value {
    let status = if complete { "completed" } else { "in_progress" };
    match &outcome.reply {
        Reply::Text(text) => json!({
            "id": format!("msg_mock_{}", outcome.seq),
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": if complete {
                json!([{"type": "output_text", "text": text, "annotations": []}])
            } else {
                json!([])
            }
        }),
        Reply::ToolUse { id, name, input } => {
            let (wire, namespace) = outcome.wire_name(name);
            let mut item = json!({
                "id": format!("fc_{id}"),
                "type": "function_call",
                "status": status,
                "call_id": id,
                "name": wire,
                "arguments": if complete { input.to_string() } else { String::new() }
            });
            if let Some(ns) = namespace {
                item["namespace"] = json!(ns);
            }
            item
        }
    }
}

fn response_object(outcome: &Outcome, complete: bool) -> Value {
    json!({
        "id": format!("resp_mock_{}", outcome.seq),
        "object": "response",
        "created_at": 0,
        "status": if complete { "completed" } else { "in_progress" },
        "model": outcome.model,
        "output": if complete { json!([output_item(outcome, true)]) } else { json!([]) },
        "usage": if complete { usage() } else { Value::Null },
        "error": null,
        "incomplete_details": null
    })
}

/// The answer: the event stream when the request asked for one, else the response object.
pub(crate) fn render(outcome: &Outcome) -> Response {
    if !outcome.stream {
        return Json(response_object(outcome, true)).into_response();
    }
    let item_id = output_item(outcome, true)["id"].clone();
    let mut events = vec![
        json!({"type": "response.created", "response": response_object(outcome, false)}),
        json!({"type": "response.in_progress", "response": response_object(outcome, false)}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": output_item(outcome, false)}),
    ];
    let at = |extra: Value| {
        let mut e = json!({"item_id": item_id, "output_index": 0});
        if let (Some(e), Value::Object(extra)) = (e.as_object_mut(), extra) {
            e.extend(extra);
        }
        e
    };
    match &outcome.reply {
        Reply::Text(text) => {
            let empty = json!({"type": "output_text", "text": "", "annotations": []});
            let full = json!({"type": "output_text", "text": text, "annotations": []});
            events.extend([
                at(json!({"type": "response.content_part.added", "content_index": 0, "part": empty})),
                at(json!({"type": "response.output_text.delta", "content_index": 0, "delta": text})),
                at(json!({"type": "response.output_text.done", "content_index": 0, "text": text})),
                at(json!({"type": "response.content_part.done", "content_index": 0, "part": full})),
            ]);
        }
        Reply::ToolUse { input, .. } => {
            let arguments = input.to_string();
            events.extend([
                at(json!({"type": "response.function_call_arguments.delta", "delta": arguments})),
                at(json!({"type": "response.function_call_arguments.done", "arguments": arguments})),
            ]);
        }
    }
    events.push(json!({"type": "response.output_item.done", "output_index": 0, "item": output_item(outcome, true)}));
    events.push(json!({"type": "response.completed", "response": response_object(outcome, true)}));
    let body = events
        .into_iter()
        .enumerate()
        .map(|(n, mut data)| {
            data["sequence_number"] = json!(n);
            let name = data["type"].as_str().unwrap_or_default().to_owned();
            format!("event: {name}\ndata: {data}\n\n")
        })
        .collect();
    event_stream(body)
}

#[cfg(test)]
mod error_text_tests {
    use super::reports_tool_error;

    #[test]
    fn a_codex_tool_call_error_line_makes_the_result_an_error() {
        assert!(reports_tool_error(
            "Wall time: 0.1 seconds\nOutput:\ntool call error: tool call failed for `mock/hello`"
        ));
        assert!(!reports_tool_error(
            "Wall time: 0.1 seconds\nOutput:\nHello, harness!"
        ));
    }
}
