//! The `conformance` profile: the fixture tools, prompts and resources the official MCP
//! conformance suite's server scenarios call (`test_simple_text`, `test://static-text`, …), as its
//! scenario descriptions specify them (suite 0.2.0-alpha.12, `dist/index.js`), so that those
//! scenarios are judged here instead of answering "unknown tool".
//!
//! Only fixtures a request/response server can serve are here. Those that need the server to
//! send requests or notifications while a call runs (sampling, elicitation, logging and progress
//! during a tool call, multi-round-trip `input_required` results, resource subscriptions) are not
//! listed, so the runner finds them absent and reports those scenarios not applicable.

use serde_json::{json, Map, Value};

/// A 1×1 red PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A 44-byte WAV header with no samples (RIFF, PCM, 8 kHz mono).
const WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";

pub(crate) fn server_info() -> Value {
    json!({"name": "mock-server-conformance", "version": env!("CARGO_PKG_VERSION")})
}

pub(crate) fn capabilities() -> Value {
    json!({
        "tools": {"listChanged": true},
        "prompts": {"listChanged": true},
        "resources": {"listChanged": true},
        "completions": {},
    })
}

fn no_arguments() -> Value {
    json!({"type": "object", "properties": {}})
}

pub(crate) fn tools() -> Vec<Value> {
    let tool = |name: &str, description: &str| json!({"name": name, "description": description, "inputSchema": no_arguments()});
    vec![
        tool("test_simple_text", "Returns simple text content"),
        tool("test_image_content", "Returns image content (a 1x1 PNG)"),
        tool("test_audio_content", "Returns audio content (audio/wav)"),
        tool(
            "test_embedded_resource",
            "Returns an embedded text resource",
        ),
        tool(
            "test_multiple_content_types",
            "Returns text, image and resource content",
        ),
        tool("test_error_handling", "Always fails with isError: true"),
        tool(
            "test_trigger_tool_change",
            "Sends notifications/tools/list_changed to every open stream",
        ),
        tool(
            "test_trigger_prompt_change",
            "Sends notifications/prompts/list_changed to every open stream",
        ),
    ]
}

/// The list a trigger tool announces as changed (the caller broadcasts it), for
/// `server-stateless`'s check that a change reaches an open `subscriptions/listen` stream.
pub(crate) fn trigger(name: &str) -> Option<&'static str> {
    match name {
        "test_trigger_tool_change" => Some("tools"),
        "test_trigger_prompt_change" => Some("prompts"),
        _ => None,
    }
}

/// A fixture tool's result, `None` for a name that is not one.
pub(crate) fn call(name: &str) -> Option<Value> {
    let text = |t: &str| json!({"type": "text", "text": t});
    let image = json!({"type": "image", "data": PNG, "mimeType": "image/png"});
    let resource = |uri: &str| {
        json!({"type": "resource", "resource": {
            "uri": uri, "mimeType": "text/plain", "text": "This is an embedded resource content."}})
    };
    let content = match name {
        "test_simple_text" => vec![text("This is a simple text response for testing.")],
        "test_image_content" => vec![image],
        "test_audio_content" => {
            vec![json!({"type": "audio", "data": WAV, "mimeType": "audio/wav"})]
        }
        "test_embedded_resource" => vec![resource("test://embedded-resource")],
        "test_multiple_content_types" => vec![
            text("Multiple content types test:"),
            image,
            resource("test://mixed-content-resource"),
        ],
        "test_trigger_tool_change" | "test_trigger_prompt_change" => {
            vec![text("List-changed notification sent.")]
        }
        "test_error_handling" => {
            return Some(json!({
                "content": [text("This tool intentionally returns an error for testing")],
                "isError": true,
            }))
        }
        _ => return None,
    };
    Some(json!({"content": content}))
}

pub(crate) fn prompts() -> Value {
    json!(prompt_list())
}

fn prompt_list() -> Vec<Value> {
    vec![
        json!({"name": "test_simple_prompt", "description": "A simple prompt without arguments"}),
        json!({"name": "test_prompt_with_arguments", "description": "A prompt with two arguments",
               "arguments": [
                   {"name": "arg1", "description": "First argument", "required": true},
                   {"name": "arg2", "description": "Second argument", "required": true}]}),
        json!({"name": "test_prompt_with_embedded_resource",
               "description": "A prompt that embeds a resource",
               "arguments": [{"name": "resourceUri", "description": "The resource to embed",
                              "required": true}]}),
        json!({"name": "test_prompt_with_image", "description": "A prompt with an image"}),
    ]
}

pub(crate) fn get_prompt(name: &str, arguments: &Map<String, Value>) -> Result<Value, String> {
    let argument = |key: &str| -> Result<String, String> {
        arguments
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("prompt {name} needs the argument {key}"))
    };
    let user = |content: Value| json!({"role": "user", "content": content});
    let messages = match name {
        "test_simple_prompt" => vec![user(
            json!({"type": "text", "text": "This is a simple prompt for testing."}),
        )],
        "test_prompt_with_arguments" => {
            let (a, b) = (argument("arg1")?, argument("arg2")?);
            vec![user(
                json!({"type": "text", "text": format!("Prompt with arguments: arg1='{a}', arg2='{b}'")}),
            )]
        }
        "test_prompt_with_embedded_resource" => {
            let uri = argument("resourceUri")?;
            vec![
                user(json!({"type": "resource", "resource": {
                    "uri": uri, "mimeType": "text/plain",
                    "text": "Embedded resource content for testing."}})),
                user(
                    json!({"type": "text", "text": "Please process the embedded resource above."}),
                ),
            ]
        }
        "test_prompt_with_image" => vec![
            user(json!({"type": "image", "data": PNG, "mimeType": "image/png"})),
            user(json!({"type": "text", "text": "Please analyze the image above."})),
        ],
        _ => return Err(format!("unknown prompt: {name}")),
    };
    Ok(json!({"messages": messages}))
}

pub(crate) fn resources() -> Value {
    json!(resource_list())
}

fn resource_list() -> Vec<Value> {
    vec![
        json!({"uri": "test://static-text", "name": "Static Text Resource",
               "mimeType": "text/plain"}),
        json!({"uri": "test://static-binary", "name": "Static Binary Resource",
               "mimeType": "image/png"}),
    ]
}

pub(crate) fn resource_templates() -> Value {
    json!([
        json!({"uriTemplate": "test://template/{id}/data", "name": "Resource Template",
                "mimeType": "application/json"})
    ])
}

/// `resources/read`: the two static resources, and the template with its `{id}` filled in.
pub(crate) fn read_resource(uri: &str) -> Option<Value> {
    let contents = match uri {
        "test://static-text" => json!({"uri": uri, "mimeType": "text/plain",
            "text": "This is the content of the static text resource."}),
        "test://static-binary" => json!({"uri": uri, "mimeType": "image/png", "blob": PNG}),
        _ => {
            let id = uri
                .strip_prefix("test://template/")?
                .strip_suffix("/data")
                .filter(|id| !id.is_empty() && !id.contains('/'))?;
            json!({"uri": uri, "mimeType": "application/json",
                   "text": json!({"id": id, "templateTest": true}).to_string()})
        }
    };
    Some(json!({"contents": [contents]}))
}

/// `completion/complete` for the arguments of `test_prompt_with_arguments`.
pub(crate) fn complete(params: &Map<String, Value>) -> Result<Value, String> {
    let reference = params.get("ref").ok_or("ref is required")?;
    if reference.get("type").and_then(Value::as_str) != Some("ref/prompt")
        || reference.get("name").and_then(Value::as_str) != Some("test_prompt_with_arguments")
    {
        return Ok(json!({"completion": {"values": [], "total": 0, "hasMore": false}}));
    }
    let prefix = params
        .get("argument")
        .and_then(|a| a.get("value"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let values: Vec<&str> = ["testValue1", "testValue2", "other"]
        .into_iter()
        .filter(|v| v.starts_with(prefix))
        .collect();
    Ok(json!({"completion": {"total": values.len(), "values": values, "hasMore": false}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_fixture_tool_answers_and_others_do_not() {
        for tool in tools() {
            let name = tool["name"].as_str().unwrap_or_default();
            let result = call(name).unwrap_or_default();
            assert!(
                result["content"].as_array().is_some_and(|c| !c.is_empty()),
                "{name}"
            );
        }
        assert_eq!(
            call("test_error_handling").unwrap_or_default()["isError"],
            true
        );
        assert!(call("test_sampling").is_none());
    }

    #[test]
    fn the_template_substitutes_its_id_and_refuses_other_uris() {
        let read = read_resource("test://template/123/data").unwrap_or_default();
        assert!(read["contents"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("123")));
        assert!(read_resource("test://template//data").is_none());
        assert!(read_resource("test://nope").is_none());
    }

    #[test]
    fn prompt_arguments_are_substituted_and_required() {
        let mut args = Map::new();
        args.insert("arg1".into(), json!("testValue1"));
        args.insert("arg2".into(), json!("testValue2"));
        let got = get_prompt("test_prompt_with_arguments", &args).unwrap_or_default();
        let text = got.to_string();
        assert!(text.contains("testValue1") && text.contains("testValue2"));
        assert!(get_prompt("test_prompt_with_arguments", &Map::new()).is_err());
    }
}
