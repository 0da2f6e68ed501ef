//! What an MCP request's method answers, for either era, and the server's identity
//! (serverInfo, capabilities, instructions): shared by the legacy endpoint ([`crate::mcp`]) and
//! the 2026-07-28 one ([`crate::mcp::modern`]), so neither imports the other's file for it.

use serde_json::{json, Map, Value};

use crate::api_error::ApiError;
use crate::config::ServerConfig;
use crate::mcp::jsonrpc::{INVALID_PARAMS, METHOD_NOT_FOUND, RESOURCE_NOT_FOUND};
use crate::mcp::{fixtures, seed, tools};
use crate::profile::{Profile, Quirk, Revision};
use crate::state::AppState;
use crate::store::tokens::GrantInfo;

/// The caller, once its bearer token is accepted.
pub(crate) struct Authenticated {
    pub grant: GrantInfo,
    pub token_id: String,
}

/// serverInfo for the configuration (profile, then quirks).
pub(crate) fn server_info(config: &ServerConfig) -> Value {
    if let Some(captured) = config.shape.server_info() {
        return captured;
    }
    let mut info = match config.profile {
        Profile::Default => {
            json!({"name": "mock-server", "version": env!("CARGO_PKG_VERSION")})
        }
        Profile::Seed => seed::server_info(),
        Profile::Conformance => fixtures::server_info(),
    };
    if config.has_quirk(Quirk::EmptyServerInfoAsArray) {
        // An empty map member, as PHP's json_encode writes one.
        info["_meta"] = json!([]);
    }
    info
}

/// The server's capabilities for the configuration (profile, then quirks).
pub(crate) fn capabilities(config: &ServerConfig) -> Value {
    if let Some(captured) = config.shape.capabilities() {
        return captured;
    }
    let mut capabilities = match config.profile {
        Profile::Default => json!({"tools": {"listChanged": true}}),
        Profile::Seed => seed::capabilities(),
        Profile::Conformance => fixtures::capabilities(),
    };
    if config.has_quirk(Quirk::EmptyCapabilitiesAsArray) {
        if let Some(entries) = capabilities.as_object_mut() {
            // The default profile has no entry without sub-fields; it gains `logging`, which
            // it then answers (`logging/setLevel`), so the quirk has something to encode.
            entries.entry("logging").or_insert_with(|| json!({}));
            for entry in entries.values_mut() {
                if entry.as_object().is_some_and(Map::is_empty) {
                    *entry = json!([]);
                }
            }
        }
    }
    capabilities
}

fn has_capability(config: &ServerConfig, name: &str) -> bool {
    capabilities(config).get(name).is_some()
}

pub(crate) fn instructions(config: &ServerConfig) -> Option<String> {
    if !config.shape.is_empty() {
        return config.shape.instructions.clone();
    }
    match config.profile {
        Profile::Default => {
            Some("A mock MCP server for OAuth reconnection tests. Try the hello tool.".to_owned())
        }
        Profile::Seed | Profile::Conformance => None,
    }
}

/// A JSON-RPC error a method answers, with its `data` member when the error defines one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl From<(i64, String)> for RpcError {
    fn from((code, message): (i64, String)) -> RpcError {
        RpcError {
            code,
            message,
            data: None,
        }
    }
}

impl RpcError {
    pub(crate) fn into_api_error(self, status: axum::http::StatusCode, id: Value) -> ApiError {
        match self.data {
            Some(data) => ApiError::rpc_with_data(status, id, self.code, self.message, data),
            None => ApiError::rpc(status, id, self.code, self.message),
        }
    }
}

/// A request's result, for either era (the modern handler refuses the methods 2026-07-28
/// removed before it gets here). Methods beyond tools are answered when the configuration
/// declares the capability they belong to.
pub(crate) fn dispatch(
    state: &AppState,
    method: &str,
    params: Option<&Value>,
    negotiated: &str,
    caller: &Authenticated,
) -> Result<Value, RpcError> {
    let config = state.config();
    if method == "resources/read" && has_capability(config, "resources") {
        let uri = params
            .and_then(|p| p.get("uri"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let read = if config.profile == Profile::Conformance {
            fixtures::read_resource(uri)
        } else {
            seed::read_resource(uri)
        };
        return read.ok_or_else(|| {
            // 2025-11-25, Server › Resources › "Error Handling": -32002 Resource not found;
            // 2026-07-28 (SEP-2164) folds it into -32602 Invalid params. Both SHOULD name the
            // URI in `data.uri`.
            let code = if Revision::is_modern_id(negotiated) {
                INVALID_PARAMS
            } else {
                RESOURCE_NOT_FOUND
            };
            RpcError {
                code,
                message: format!("Resource not found: {uri}"),
                data: Some(json!({"uri": uri})),
            }
        });
    }
    answer(state, method, params, negotiated, caller).map_err(RpcError::from)
}

fn answer(
    state: &AppState,
    method: &str,
    params: Option<&Value>,
    negotiated: &str,
    caller: &Authenticated,
) -> Result<Value, (i64, String)> {
    let config = state.config();
    let extra_tools = state.extra_tools();
    let empty = Map::new();
    let params = match params {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err((
                INVALID_PARAMS,
                "Invalid params: expected an object".to_owned(),
            ))
        }
    };
    match method {
        "ping" => Ok(json!({})),
        "tools/list" => {
            // Everything fits one page, so no cursor this server handed out can exist.
            if params.contains_key("cursor") {
                return Err((INVALID_PARAMS, "Invalid params: unknown cursor".to_owned()));
            }
            let own = tools::list_for(config, negotiated);
            let mut listed = match config.shape.tools() {
                // The captured tools first, as the server listed them; then the mock's own,
                // which the scenarios' scripts call (`hello`), unless a captured one has the
                // name.
                Some(mut captured) => {
                    let names: Vec<Value> = captured.iter().map(|t| t["name"].clone()).collect();
                    captured.extend(own.into_iter().filter(|t| !names.contains(&t["name"])));
                    captured
                }
                None => own,
            };
            listed.extend(extra_tools.iter().map(|name| tools::extra_tool(name)));
            Ok(json!({"tools": listed}))
        }
        "tools/call" => {
            let Some(name) = params.get("name").and_then(Value::as_str) else {
                return Err((
                    INVALID_PARAMS,
                    "Invalid params: name must be a string".to_owned(),
                ));
            };
            let arguments = match params.get("arguments") {
                None => &empty,
                Some(Value::Object(arguments)) => arguments,
                Some(_) => {
                    return Err((
                        INVALID_PARAMS,
                        "Invalid params: arguments must be an object".to_owned(),
                    ))
                }
            };
            let who = tools::Caller {
                grant: &caller.grant,
                token_id: &caller.token_id,
            };
            if config.profile == Profile::Conformance {
                match fixtures::trigger(name) {
                    Some("tools") => {
                        state.notify_tools_changed();
                    }
                    Some(_) => {
                        state.notify_prompts_changed();
                    }
                    None => {}
                }
            }
            if extra_tools.iter().any(|t| t == name) {
                return Ok(tools::call_extra_tool(name, arguments));
            }
            if let Some(captured) = config.shape.tools() {
                // A captured tool's behaviour was not recorded, only its listing.
                if captured
                    .iter()
                    .any(|t| t.get("name").and_then(Value::as_str) == Some(name))
                {
                    return Ok(json!({"content": [{"type": "text", "text": format!(
                        "{name}: a tool captured from another server (harness capture); its \
                         listing is reproduced, not its behaviour"
                    )}]}));
                }
            }
            // Tools › "Error Handling": an unknown tool is a protocol error.
            tools::call_for(config, name, arguments, negotiated, &who)
                .ok_or_else(|| (INVALID_PARAMS, format!("Unknown tool: {name}")))
        }
        // Server › Utilities › "Logging": levels are RFC 5424's.
        "logging/setLevel" if has_capability(config, "logging") => {
            const LEVELS: [&str; 8] = [
                "debug",
                "info",
                "notice",
                "warning",
                "error",
                "critical",
                "alert",
                "emergency",
            ];
            match params.get("level").and_then(Value::as_str) {
                Some(level) if LEVELS.contains(&level) => Ok(json!({})),
                _ => Err((
                    INVALID_PARAMS,
                    "Invalid params: level must be an RFC 5424 level".to_owned(),
                )),
            }
        }
        "prompts/list" if has_capability(config, "prompts") => {
            let prompts = if config.profile == Profile::Conformance {
                fixtures::prompts()
            } else {
                seed::prompts()
            };
            Ok(json!({"prompts": prompts}))
        }
        "prompts/get" if has_capability(config, "prompts") => {
            let name = params.get("name").and_then(Value::as_str).unwrap_or("");
            let arguments = params
                .get("arguments")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let got = if config.profile == Profile::Conformance {
                fixtures::get_prompt(name, &arguments)
            } else {
                seed::get_prompt(name, &arguments)
            };
            got.map_err(|message| (INVALID_PARAMS, format!("Invalid params: {message}")))
        }
        "resources/list" if has_capability(config, "resources") => {
            let resources = if config.profile == Profile::Conformance {
                fixtures::resources()
            } else {
                seed::resources()
            };
            Ok(json!({"resources": resources}))
        }
        "resources/templates/list" if has_capability(config, "resources") => {
            let templates = if config.profile == Profile::Conformance {
                fixtures::resource_templates()
            } else {
                seed::resource_templates()
            };
            Ok(json!({"resourceTemplates": templates}))
        }
        "completion/complete" if has_capability(config, "completions") => {
            let completed = if config.profile == Profile::Conformance {
                fixtures::complete(params)
            } else {
                seed::complete(params)
            };
            completed.map_err(|m| (INVALID_PARAMS, format!("Invalid params: {m}")))
        }
        _ => Err((METHOD_NOT_FOUND, format!("Method not found: {method}"))),
    }
}
