//! The tools the mock offers. Each has its own input schema so a client that mixes them up, or
//! drops a schema, shows in the results; outputs are deterministic so transcripts are stable.

use serde_json::{json, Map, Value};

use crate::config::ServerConfig;
use crate::mcp::seed;
use crate::profile::{Profile, Quirk};
use crate::store::tokens::GrantInfo;

/// The provider each default-profile tool belongs to, for dotted names.
fn default_provider(name: &str) -> &'static str {
    match name {
        "add" => "math",
        "get_weather" => "weather",
        "search_notes" => "notes",
        "whoami" => "auth",
        _ => "greeter",
    }
}

/// The name a tool is listed under: `<provider>.<tool>` with [`Quirk::DottedToolNames`], except
/// `hello`, which scenarios call by its bare name.
fn listed_name(config: &ServerConfig, provider: &str, name: &str) -> String {
    if config.has_quirk(Quirk::DottedToolNames) && name != "hello" {
        format!("{provider}.{name}")
    } else {
        name.to_owned()
    }
}

/// The tools `tools/list` answers with for this configuration at `protocol_version`: the
/// profile's catalogue, trimmed to what the revision defines, then the quirks.
pub(crate) fn list_for(config: &ServerConfig, protocol_version: &str) -> Vec<Value> {
    let catalogue: Vec<(String, Value)> = match config.profile {
        Profile::Default => list(protocol_version)
            .into_iter()
            .map(|t| {
                let name = t["name"].as_str().unwrap_or_default().to_owned();
                (default_provider(&name).to_owned(), t)
            })
            .collect(),
        Profile::Seed => seed::tools()
            .into_iter()
            .map(|(p, t)| (p.to_owned(), t))
            .collect(),
        Profile::Conformance => crate::mcp::fixtures::tools()
            .into_iter()
            .map(|t| ("conformance".to_owned(), t))
            .collect(),
    };
    let structured = has_structured_output(protocol_version);
    let mut unknown_type_placed = false;
    catalogue
        .into_iter()
        .map(|(provider, mut tool)| {
            if let Some(tool) = tool.as_object_mut() {
                // `Tool.title` and `outputSchema` arrived in 2025-06-18 (changelog of that
                // revision); an older revision's tool has neither.
                if !structured {
                    tool.remove("title");
                    tool.remove("outputSchema");
                }
                let name = tool
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                tool.insert(
                    "name".to_owned(),
                    Value::String(listed_name(config, &provider, &name)),
                );
                if config.has_quirk(Quirk::EmptyPropertiesAsArray) {
                    if let Some(props) = tool
                        .get_mut("inputSchema")
                        .and_then(|s| s.get_mut("properties"))
                    {
                        if props.as_object().is_some_and(Map::is_empty) {
                            *props = Value::Array(Vec::new());
                        }
                    }
                }
                if config.has_quirk(Quirk::UnknownOutputSchemaType) && !unknown_type_placed {
                    if let Some(props) = tool
                        .get_mut("outputSchema")
                        .and_then(|s| s.get_mut("properties"))
                        .and_then(Value::as_object_mut)
                    {
                        // JSON Schema 2020-12 (the dialect MCP 2025-11-25 names) has seven
                        // types; "mixed" is none of them.
                        props.insert("metadata".to_owned(), json!({"type": "mixed"}));
                        unknown_type_placed = true;
                    }
                }
            }
            tool
        })
        .collect()
}

/// `tools/call` for this configuration: `None` for a name this server does not list.
pub(crate) fn call_for(
    config: &ServerConfig,
    listed: &str,
    arguments: &Map<String, Value>,
    protocol_version: &str,
    caller: &Caller<'_>,
) -> Option<Value> {
    let tools = list_for(config, protocol_version);
    let tool = tools.iter().find(|t| t["name"] == listed)?;
    // The catalogue name behind a dotted one.
    let name = if config.has_quirk(Quirk::DottedToolNames) {
        listed.split_once('.').map_or(listed, |(_, n)| n)
    } else {
        listed
    };
    match config.profile {
        Profile::Default => call(name, arguments, protocol_version, caller),
        Profile::Seed if name == "hello" => call(name, arguments, protocol_version, caller),
        Profile::Seed => Some(seed_call(tool, arguments, protocol_version)),
        Profile::Conformance => crate::mcp::fixtures::call(name),
    }
}

/// A seed tool other than `hello`: required arguments and no unknown ones, then a result that
/// conforms to the output schema.
fn seed_call(tool: &Value, arguments: &Map<String, Value>, protocol_version: &str) -> Value {
    let schema = &tool["inputSchema"];
    let known: Vec<&str> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let missing = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|r| !arguments.contains_key(*r));
    let problem = match (missing, no_extra(arguments, &known)) {
        (Some(missing), _) => Some(format!("argument {missing} is required")),
        (None, Err(extra)) => Some(extra),
        (None, Ok(())) => None,
    };
    if let Some(message) = problem {
        return json!({"content": [{"type": "text", "text": message}], "isError": true});
    }
    match tool.get("outputSchema") {
        Some(output) if has_structured_output(protocol_version) => {
            let structured = seed::sample(output);
            // Tools › "Structured Content": also serialized in a text block for older clients.
            json!({
                "content": [{"type": "text", "text": structured.to_string()}],
                "structuredContent": structured,
                "isError": false
            })
        }
        _ => json!({
            "content": [{"type": "text", "text": format!("{}: done", tool["name"].as_str().unwrap_or_default())}],
            "isError": false
        }),
    }
}

/// `outputSchema` and `structuredContent` exist from 2025-06-18 on; revision ids are dates, so
/// string order is time order.
fn has_structured_output(protocol_version: &str) -> bool {
    protocol_version >= "2025-06-18"
}

pub(crate) fn list(protocol_version: &str) -> Vec<Value> {
    let structured = has_structured_output(protocol_version);
    let mut tools = vec![
        json!({
            "name": "hello",
            "description": "Greets someone by name.",
            "inputSchema": {
                "type": "object",
                "properties": {"name": {"type": "string", "description": "Who to greet"}},
                "required": ["name"],
                "additionalProperties": false
            },
            "annotations": {"readOnlyHint": true}
        }),
        json!({
            "name": "add",
            "description": "Adds two numbers.",
            "inputSchema": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"],
                "additionalProperties": false
            },
            "outputSchema": {
                "type": "object",
                "properties": {"sum": {"type": "number"}},
                "required": ["sum"]
            },
            "annotations": {"readOnlyHint": true}
        }),
        json!({
            "name": "get_weather",
            "description": "Reports the (invented, but stable) weather for a city.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "minLength": 1},
                    "units": {"type": "string", "enum": ["metric", "imperial"], "default": "metric"}
                },
                "required": ["city"],
                "additionalProperties": false
            },
            "outputSchema": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "temperature": {"type": "number"},
                    "units": {"type": "string", "enum": ["metric", "imperial"]},
                    "conditions": {"type": "string"}
                },
                "required": ["city", "temperature", "units", "conditions"]
            },
            "annotations": {"readOnlyHint": true, "openWorldHint": false}
        }),
        json!({
            "name": "search_notes",
            "description": "Searches a small fixed set of notes by words in their titles.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5}
                },
                "required": ["query"],
                "additionalProperties": false
            },
            "outputSchema": {
                "type": "object",
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"id": {"type": "integer"}, "title": {"type": "string"}},
                            "required": ["id", "title"]
                        }
                    }
                },
                "required": ["results"]
            },
            "annotations": {"readOnlyHint": true}
        }),
        json!({
            "name": "whoami",
            "description": "Says which client and access token made the call.",
            "inputSchema": {"type": "object", "properties": {}, "additionalProperties": false},
            "annotations": {"readOnlyHint": true}
        }),
    ];
    if !structured {
        for tool in &mut tools {
            if let Some(tool) = tool.as_object_mut() {
                tool.remove("outputSchema");
            }
        }
    }
    tools
}

/// A tool added while the server runs: echoes its `text` argument, prefixed with its name.
pub(crate) fn extra_tool(name: &str) -> Value {
    json!({
        "name": name,
        "description": format!("Added while the server was running; echoes its text as '{name}: <text>'."),
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string", "description": "What to echo"}},
            "required": ["text"],
            "additionalProperties": false
        }
    })
}

pub(crate) fn call_extra_tool(name: &str, arguments: &Map<String, Value>) -> Value {
    match arguments.get("text").and_then(Value::as_str) {
        Some(text) => {
            json!({"content": [{"type": "text", "text": format!("{name}: {text}")}], "isError": false})
        }
        None => {
            json!({"content": [{"type": "text", "text": "text must be a string"}], "isError": true})
        }
    }
}

/// Who is calling, for `whoami`.
pub(crate) struct Caller<'a> {
    pub grant: &'a GrantInfo,
    pub token_id: &'a str,
}

/// `None` for an unknown tool (a protocol error, -32602); otherwise the `CallToolResult`. Bad
/// arguments give `isError: true`, as the tools page asks, so a model can correct itself.
pub(crate) fn call(
    name: &str,
    arguments: &Map<String, Value>,
    protocol_version: &str,
    caller: &Caller<'_>,
) -> Option<Value> {
    let outcome = match name {
        "hello" => hello(arguments),
        "add" => add(arguments),
        "get_weather" => weather(arguments),
        "search_notes" => search_notes(arguments),
        "whoami" => Ok((
            format!(
                "client {} using access token {} (scope {})",
                caller.grant.client_id, caller.token_id, caller.grant.scope
            ),
            None,
        )),
        _ => return None,
    };
    Some(match outcome {
        Ok((text, structured)) => {
            let mut result = json!({"content": [{"type": "text", "text": text}], "isError": false});
            if let (Some(structured), true) = (structured, has_structured_output(protocol_version))
            {
                result["structuredContent"] = structured;
            }
            result
        }
        Err(message) => json!({"content": [{"type": "text", "text": message}], "isError": true}),
    })
}

type Outcome = Result<(String, Option<Value>), String>;

fn string_arg<'a>(arguments: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match arguments.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(format!("argument {name} must be a non-empty string")),
        None => Err(format!("argument {name} is required")),
    }
}

fn number_arg(arguments: &Map<String, Value>, name: &str) -> Result<f64, String> {
    arguments
        .get(name)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("argument {name} is required and must be a number"))
}

fn no_extra(arguments: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match arguments.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(format!("unexpected argument {extra}")),
        None => Ok(()),
    }
}

fn hello(arguments: &Map<String, Value>) -> Outcome {
    no_extra(arguments, &["name"])?;
    let name = string_arg(arguments, "name")?;
    Ok((format!("Hello, {name}!"), None))
}

fn add(arguments: &Map<String, Value>) -> Outcome {
    no_extra(arguments, &["a", "b"])?;
    let sum = number_arg(arguments, "a")? + number_arg(arguments, "b")?;
    Ok((format!("{sum}"), Some(json!({"sum": sum}))))
}

fn weather(arguments: &Map<String, Value>) -> Outcome {
    no_extra(arguments, &["city", "units"])?;
    let city = string_arg(arguments, "city")?;
    let units = match arguments.get("units") {
        None => "metric",
        Some(Value::String(u)) if u == "metric" || u == "imperial" => u.as_str(),
        Some(_) => return Err("argument units must be \"metric\" or \"imperial\"".to_owned()),
    };
    // Invented but deterministic: derived from the city's name.
    let seed: u32 = city.bytes().map(u32::from).sum();
    let celsius = f64::from(seed % 30) + 0.5;
    let conditions = ["sunny", "cloudy", "raining", "windy"][(seed % 4) as usize];
    let temperature = if units == "metric" {
        celsius
    } else {
        celsius * 9.0 / 5.0 + 32.0
    };
    let symbol = if units == "metric" { "°C" } else { "°F" };
    Ok((
        format!("{city}: {temperature:.1}{symbol}, {conditions}"),
        Some(
            json!({"city": city, "temperature": temperature, "units": units, "conditions": conditions}),
        ),
    ))
}

const NOTES: &[(i64, &str)] = &[
    (1, "OAuth reconnection checklist"),
    (2, "MCP session lifecycle"),
    (3, "Refresh token rotation"),
    (4, "Weather station maintenance"),
    (5, "Grocery list"),
    (6, "Token endpoint error codes"),
];

fn search_notes(arguments: &Map<String, Value>) -> Outcome {
    no_extra(arguments, &["query", "limit"])?;
    let query = string_arg(arguments, "query")?.to_lowercase();
    let limit = match arguments.get("limit") {
        None => 5,
        Some(value) => match value.as_i64() {
            Some(n @ 1..=20) => n,
            _ => return Err("argument limit must be an integer from 1 to 20".to_owned()),
        },
    };
    let words: Vec<&str> = query.split_whitespace().collect();
    let results: Vec<Value> = NOTES
        .iter()
        .filter(|(_, title)| {
            let title = title.to_lowercase();
            words.iter().any(|w| title.contains(w))
        })
        .take(usize::try_from(limit).unwrap_or(5))
        .map(|(id, title)| json!({"id": id, "title": title}))
        .collect();
    let text = if results.is_empty() {
        "No notes found.".to_owned()
    } else {
        results
            .iter()
            .map(|r| format!("#{} {}", r["id"], r["title"].as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok((text, Some(json!({"results": results}))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller_grant() -> GrantInfo {
        GrantInfo {
            client_id: "c".to_owned(),
            scope: "mcp".to_owned(),
            resource: None,
            family: 1,
        }
    }

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn tools_have_distinct_schemas() {
        let tools = list("2025-11-25");
        let schemas: Vec<String> = tools.iter().map(|t| t["inputSchema"].to_string()).collect();
        let mut unique = schemas.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(schemas.len(), unique.len());
        assert!(list("2025-03-26")
            .iter()
            .all(|t| t.get("outputSchema").is_none()));
    }

    #[test]
    fn calls_give_results_and_argument_errors_are_tool_errors() {
        let grant = caller_grant();
        let caller = Caller {
            grant: &grant,
            token_id: "at-1",
        };
        let ok = call(
            "add",
            &args(json!({"a": 2, "b": 3.5})),
            "2025-11-25",
            &caller,
        );
        assert_eq!(
            ok,
            Some(
                json!({"content": [{"type": "text", "text": "5.5"}], "isError": false, "structuredContent": {"sum": 5.5}})
            )
        );
        let bad = call(
            "search_notes",
            &args(json!({"query": "x", "limit": 99})),
            "2025-11-25",
            &caller,
        );
        assert_eq!(bad.map(|r| r["isError"].clone()), Some(json!(true)));
        assert_eq!(call("nope", &Map::new(), "2025-11-25", &caller), None);
    }
}
