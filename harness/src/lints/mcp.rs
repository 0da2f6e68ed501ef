//! Lints on MCP results.

use serde_json::Value;

use crate::checks::Check;
use crate::proxy::Exchange;

pub const INPUT_SCHEMA_PROPERTIES: &str = "input-schema-properties-object";

/// The rule, as the MCP schema and JSON Schema state it.
const PROPERTIES_RULE: &str = "MCP schema (2025-06-18, 2025-11-25), Tool.inputSchema: \
`properties?: { [key: string]: object }`; JSON Schema 2020-12 Core §10.3.2.1: the value of \
`properties` MUST be an object";

/// The JSON-RPC method of the request an exchange carried.
pub(crate) fn request_method(exchange: &Exchange) -> Option<String> {
    let body: Value = serde_json::from_str(exchange.request_body.as_deref()?).ok()?;
    body.get("method")?.as_str().map(str::to_owned)
}

/// Every `tools/list` result: each tool's `inputSchema.properties`, when present, is a JSON
/// object. The reported bug: an empty PHP array encoded as `[]` there made Claude Code 2.1.331
/// drop the whole tool list.
pub fn input_schema_properties_object(exchanges: &[Exchange]) -> Check {
    let mut listed = 0;
    let mut bad = Vec::new();
    for exchange in exchanges
        .iter()
        .filter(|e| request_method(e).as_deref() == Some("tools/list"))
    {
        for message in exchange.response_messages() {
            let Some(tools) = message
                .get("result")
                .and_then(|r| r.get("tools"))
                .and_then(Value::as_array)
            else {
                continue;
            };
            for tool in tools {
                listed += 1;
                let name = tool.get("name").and_then(Value::as_str).unwrap_or("?");
                match tool.get("inputSchema").and_then(|s| s.get("properties")) {
                    None | Some(Value::Object(_)) => {}
                    Some(other) => bad.push(format!(
                        "#{} tools/list: tool `{name}` has inputSchema.properties = {other}",
                        exchange.seq
                    )),
                }
            }
        }
    }
    if listed == 0 {
        return Check::not_applicable(
            INPUT_SCHEMA_PROPERTIES,
            "no tools/list result was recorded, so no tool schema could be judged",
            vec![PROPERTIES_RULE.to_owned()],
        );
    }
    if bad.is_empty() {
        Check::pass(
            INPUT_SCHEMA_PROPERTIES,
            format!(
                "every listed tool's inputSchema.properties is an object ({listed} tool(s) listed)"
            ),
            vec![PROPERTIES_RULE.to_owned()],
        )
    } else {
        let mut evidence = bad;
        evidence.push(PROPERTIES_RULE.to_owned());
        Check::fail(
            INPUT_SCHEMA_PROPERTIES,
            "the server lists a tool whose inputSchema.properties is not a JSON object (an empty \
             map encoded as `[]`?): a strict client may drop the whole tool list",
            evidence,
        )
    }
}
