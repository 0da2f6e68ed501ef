//! Lints against the published MCP JSON schema of the revision a session negotiated: each
//! recorded JSON-RPC response is validated (by the `jsonschema` crate, not by rules of our own)
//! against its envelope type and its method's result type (`InitializeResult`,
//! `ListToolsResult`, …) from `harness/schemas/mcp/<revision>/schema.json`, the files the
//! specification repository publishes (vendored as data; see `harness/schemas/mcp/SOURCE.md`).
//! A failure's evidence names the exchange, the method and the JSON pointer of the bad field.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use crate::checks::Check;
use crate::proxy::Exchange;
use mock_server::Phase;

pub const INITIALIZE_RESULT: &str = "schema-initialize-result";
pub const LIST_TOOLS_RESULT: &str = "schema-list-tools-result";
pub const OTHER_RESULTS: &str = "schema-other-results";
pub const ENVELOPE: &str = "schema-jsonrpc-response";
pub const TOOL_NAMES: &str = "tool-name-format";

/// The published schemas, by revision, oldest first.
const SCHEMAS: &[(&str, &str)] = &[
    (
        "2024-11-05",
        include_str!("../../schemas/mcp/2024-11-05/schema.json"),
    ),
    (
        "2025-03-26",
        include_str!("../../schemas/mcp/2025-03-26/schema.json"),
    ),
    (
        "2025-06-18",
        include_str!("../../schemas/mcp/2025-06-18/schema.json"),
    ),
    (
        "2025-11-25",
        include_str!("../../schemas/mcp/2025-11-25/schema.json"),
    ),
    (
        "2026-07-28",
        include_str!("../../schemas/mcp/2026-07-28/schema.json"),
    ),
];

const TOOL_NAMES_RULE: &str = "MCP 2025-11-25, Server Features › Tools › Tool Names: names SHOULD \
be 1 to 128 characters, only ASCII letters, digits, `_`, `-` and `.`, no spaces or other special \
characters, and unique within a server";

/// The revisions there is a published schema for.
pub fn known_revisions() -> Vec<&'static str> {
    SCHEMAS.iter().map(|(r, _)| *r).collect()
}

fn document(revision: &str) -> Option<&'static Value> {
    static DOCUMENTS: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    DOCUMENTS
        .get_or_init(|| {
            SCHEMAS
                .iter()
                .filter_map(|(r, text)| Some((*r, serde_json::from_str(text).ok()?)))
                .collect()
        })
        .get(revision)
}

/// Where a schema document keeps its definitions: `definitions` (draft-07, up to 2025-06-18)
/// or `$defs` (2020-12, from 2025-11-25).
fn definitions_key(doc: &Value) -> &'static str {
    if doc.get("$defs").is_some() {
        "$defs"
    } else {
        "definitions"
    }
}

/// Whether `revision`'s schema defines `type_name`.
pub fn defines(revision: &str, type_name: &str) -> bool {
    document(revision)
        .and_then(|doc| doc.get(definitions_key(doc))?.get(type_name))
        .is_some()
}

type Validators = Mutex<HashMap<(String, String), Arc<jsonschema::Validator>>>;

/// A validator for `type_name` of `revision`'s schema: the whole document with a root `$ref` to
/// the definition, so every other definition resolves inside it (no network, no files).
/// Compiled once per (revision, type).
fn validator(revision: &str, type_name: &str) -> Option<Arc<jsonschema::Validator>> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Validators::default);
    let key = (revision.to_owned(), type_name.to_owned());
    if let Some(v) = cache.lock().ok()?.get(&key) {
        return Some(v.clone());
    }
    if !defines(revision, type_name) {
        return None;
    }
    let mut doc = document(revision)?.clone();
    let pointer = format!("#/{}/{type_name}", definitions_key(&doc));
    doc.as_object_mut()?
        .insert("$ref".to_owned(), Value::String(pointer));
    let built = Arc::new(jsonschema::options().build(&doc).ok()?);
    cache.lock().ok()?.insert(key, built.clone());
    Some(built)
}

/// The schema errors of `instance` as `type_name` of `revision`: each as the JSON pointer of the
/// bad field (`/tools/0/inputSchema/properties`, `` for the root) and the validator's message.
/// `None` when the revision has no published schema or no such type.
pub fn errors(revision: &str, type_name: &str, instance: &Value) -> Option<Vec<(String, String)>> {
    let validator = validator(revision, type_name)?;
    let found = validator
        .iter_errors(instance)
        .map(|e| (e.instance_path().to_string(), e.to_string()))
        .collect();
    Some(found)
}

/// The result types a method's result may have in `revision`, the first the usual one: a
/// `tools/call` may also answer with a task (2025-11-25) or ask for input (2026-07-28).
pub fn result_types(method: &str) -> &'static [&'static str] {
    match method {
        "initialize" => &["InitializeResult"],
        "server/discover" => &["DiscoverResult"],
        "tools/list" => &["ListToolsResult"],
        "tools/call" => &["CallToolResult", "CreateTaskResult", "InputRequiredResult"],
        "resources/list" => &["ListResourcesResult"],
        "resources/templates/list" => &["ListResourceTemplatesResult"],
        "resources/read" => &["ReadResourceResult"],
        "prompts/list" => &["ListPromptsResult"],
        "prompts/get" => &["GetPromptResult", "InputRequiredResult"],
        "completion/complete" => &["CompleteResult"],
        "subscriptions/listen" => &["SubscriptionsListenResult"],
        "ping" | "logging/setLevel" | "resources/subscribe" | "resources/unsubscribe" => {
            &["EmptyResult"]
        }
        _ => &[],
    }
}

/// One JSON-RPC response the server sent to a request of the client's, with the revision in
/// force when it was sent.
struct Response<'a> {
    exchange: &'a Exchange,
    method: String,
    revision: Option<String>,
    message: Value,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every response to a client request on the MCP endpoint, in order, each with its revision:
/// the `MCP-Protocol-Version` header the client sent with it (the Streamable HTTP transport
/// sends the negotiated one from the second request on), else the version the `initialize`
/// result names (else the one the client asked for), else the last one negotiated.
fn responses(exchanges: &[Exchange]) -> Vec<Response<'_>> {
    let mut out = Vec::new();
    let mut negotiated: Option<String> = None;
    for exchange in exchanges.iter().filter(|e| e.phase == Phase::Mcp) {
        let Some(request) = exchange
            .request_body
            .as_deref()
            .and_then(|b| serde_json::from_str::<Value>(b).ok())
        else {
            continue;
        };
        let (Some(method), Some(id)) = (
            request.get("method").and_then(Value::as_str),
            request.get("id"),
        ) else {
            continue;
        };
        let meta_version = request
            .pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")
            .and_then(Value::as_str);
        let header_version =
            header(&exchange.request_headers, "mcp-protocol-version").or(meta_version);
        for message in exchange.response_messages() {
            // Requests and notifications the server sends on the stream are not answers.
            if message.get("method").is_some() || message.get("id") != Some(id) {
                continue;
            }
            let mut revision = header_version.map(str::to_owned);
            if method == "initialize" {
                let chosen = message
                    .pointer("/result/protocolVersion")
                    .and_then(Value::as_str)
                    .or_else(|| {
                        request
                            .pointer("/params/protocolVersion")
                            .and_then(Value::as_str)
                    });
                if let Some(chosen) = chosen {
                    negotiated = Some(chosen.to_owned());
                    revision = Some(chosen.to_owned());
                }
            }
            out.push(Response {
                exchange,
                method: method.to_owned(),
                revision: revision.or_else(|| negotiated.clone()),
                message,
            });
        }
    }
    out
}

/// What one lint judged: lines for what was valid, lines for what was not, and responses whose
/// revision has no published schema.
#[derive(Default)]
struct Tally {
    judged: Vec<String>,
    bad: Vec<String>,
    unjudged: Vec<String>,
}

impl Tally {
    fn into_check(self, name: &str, what: &str, rule: &str) -> Check {
        let mut evidence = self.bad.clone();
        evidence.extend(self.unjudged.iter().cloned());
        evidence.push(rule.to_owned());
        if !self.bad.is_empty() {
            Check::fail(
                name,
                format!(
                    "{} of {} {what} do not match the MCP schema of their negotiated revision \
                     (the JSON pointer of each bad field below)",
                    self.bad.len(),
                    self.bad.len() + self.judged.len()
                ),
                evidence,
            )
        } else if self.judged.is_empty() {
            Check::not_applicable(
                name,
                format!("no {what} with a published schema was recorded"),
                evidence,
            )
        } else {
            let mut evidence = self.judged.clone();
            evidence.extend(self.unjudged.iter().cloned());
            evidence.push(rule.to_owned());
            Check::pass(
                name,
                format!(
                    "{} {what} match the MCP schema of their negotiated revision",
                    self.judged.len()
                ),
                evidence,
            )
        }
    }
}

/// At most this many bad fields are listed per response; the count says how many there were.
const ERRORS_SHOWN: usize = 6;

fn judge_result(tally: &mut Tally, response: &Response<'_>) {
    let seq = response.exchange.seq;
    let method = &response.method;
    let Some(result) = response.message.get("result") else {
        return;
    };
    let Some(revision) = response.revision.as_deref() else {
        tally.unjudged.push(format!(
            "#{seq} {method}: no protocol revision was negotiated or sent, so no schema applies"
        ));
        return;
    };
    let types: Vec<&str> = result_types(method)
        .iter()
        .copied()
        .filter(|t| defines(revision, t))
        .collect();
    if document(revision).is_none() {
        tally.unjudged.push(format!(
            "#{seq} {method}: revision {revision} has no published schema here (known: {})",
            known_revisions().join(", ")
        ));
        return;
    }
    let Some(first) = types.first() else {
        return;
    };
    let mut first_errors = Vec::new();
    for (i, type_name) in types.iter().enumerate() {
        let found = errors(revision, type_name, result).unwrap_or_default();
        if found.is_empty() {
            tally
                .judged
                .push(format!("#{seq} {method}: a valid {type_name} ({revision})"));
            return;
        }
        if i == 0 {
            first_errors = found;
        }
    }
    let mut line = format!(
        "#{seq} {method}: not a valid {first} of MCP {revision} ({} error(s)):",
        first_errors.len()
    );
    for (pointer, message) in first_errors.iter().take(ERRORS_SHOWN) {
        let tool = tool_named_by(result, pointer)
            .map(|name| format!(" (tool `{name}`)"))
            .unwrap_or_default();
        let pointer = if pointer.is_empty() { "/" } else { pointer };
        line.push_str(&format!(" result{pointer}{tool}: {message};"));
    }
    tally.bad.push(line.trim_end_matches(';').to_owned());
}

/// The name of the tool a pointer under `/tools/<i>` points into, so the evidence says which.
fn tool_named_by<'a>(result: &'a Value, pointer: &str) -> Option<&'a str> {
    let index = pointer.strip_prefix("/tools/")?.split('/').next()?;
    result
        .pointer(&format!("/tools/{index}/name"))
        .and_then(Value::as_str)
}

fn result_lint(
    exchanges: &[Exchange],
    name: &str,
    what: &str,
    rule: &str,
    wanted: impl Fn(&str) -> bool,
) -> Check {
    let mut tally = Tally::default();
    for response in responses(exchanges)
        .iter()
        .filter(|r| wanted(&r.method) && !result_types(&r.method).is_empty())
    {
        judge_result(&mut tally, response);
    }
    tally.into_check(name, what, rule)
}

/// `initialize` (and 2026-07-28's `server/discover`) results: `protocolVersion`,
/// `capabilities` (each capability an object: `logging: []` fails), `serverInfo`.
pub fn initialize_result(exchanges: &[Exchange]) -> Check {
    result_lint(
        exchanges,
        INITIALIZE_RESULT,
        "initialize / server/discover result(s)",
        "MCP schema of the negotiated revision, InitializeResult (2026-07-28: DiscoverResult): \
         `protocolVersion`, `capabilities` and `serverInfo` required, each capability an object",
        |m| matches!(m, "initialize" | "server/discover"),
    )
}

/// `tools/list` results: each tool's `name`, `inputSchema` (`properties` an object: `[]`
/// fails), `outputSchema` (type `object`), annotations.
pub fn list_tools_result(exchanges: &[Exchange]) -> Check {
    result_lint(
        exchanges,
        LIST_TOOLS_RESULT,
        "tools/list result(s)",
        "MCP schema of the negotiated revision, ListToolsResult: `tools[]` of Tool (`name` a \
         string; `inputSchema` an object of type \"object\" whose `properties` is an object; \
         `outputSchema` likewise)",
        |m| m == "tools/list",
    )
}

/// Every other result the schema has a type for (`tools/call`, `resources/*`, `prompts/*`,
/// `ping`, …).
pub fn other_results(exchanges: &[Exchange]) -> Check {
    result_lint(
        exchanges,
        OTHER_RESULTS,
        "other result(s)",
        "MCP schema of the negotiated revision: each method's result type (CallToolResult, \
         ListResourcesResult, ReadResourceResult, GetPromptResult, EmptyResult for ping, …)",
        |m| !matches!(m, "initialize" | "server/discover" | "tools/list"),
    )
}

/// Every response's JSON-RPC envelope: `jsonrpc: "2.0"`, the request's `id`, a `result` or an
/// `error` with an integer `code` and a string `message`.
pub fn jsonrpc_response(exchanges: &[Exchange]) -> Check {
    let mut tally = Tally::default();
    for response in responses(exchanges) {
        let seq = response.exchange.seq;
        let method = &response.method;
        let Some(revision) = response.revision.as_deref() else {
            continue;
        };
        if document(revision).is_none() {
            tally.unjudged.push(format!(
                "#{seq} {method}: revision {revision} has no published schema here"
            ));
            continue;
        }
        let is_error = response.message.get("error").is_some();
        // The envelope types were renamed in 2025-11-25 (JSONRPCResultResponse,
        // JSONRPCErrorResponse); before it, JSONRPCResponse was the result one.
        let candidates: &[&str] = if is_error {
            &["JSONRPCErrorResponse", "JSONRPCError"]
        } else {
            &["JSONRPCResultResponse", "JSONRPCResponse"]
        };
        let Some(type_name) = candidates.iter().find(|t| defines(revision, t)) else {
            continue;
        };
        // The envelope types judge the result only as the base `Result` (2026-07-28: its
        // `resultType`); its method's type is the other lints' business.
        let found = errors(revision, type_name, &response.message).unwrap_or_default();
        if found.is_empty() {
            tally
                .judged
                .push(format!("#{seq} {method}: a valid {type_name} ({revision})"));
        } else {
            let fields: Vec<String> = found
                .iter()
                .take(ERRORS_SHOWN)
                .map(|(p, m)| format!("{}: {m}", if p.is_empty() { "/" } else { p }))
                .collect();
            tally.bad.push(format!(
                "#{seq} {method}: not a valid {type_name} of MCP {revision}: {}",
                fields.join("; ")
            ));
        }
    }
    tally.into_check(
        ENVELOPE,
        "JSON-RPC response(s)",
        "MCP schema of the negotiated revision, JSONRPCResultResponse / JSONRPCErrorResponse \
         (before 2025-11-25: JSONRPCResponse / JSONRPCError); JSON-RPC 2.0 §5",
    )
}

/// Whether `name` follows the 2025-11-25 tool-name rule.
pub fn tool_name_ok(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Every listed tool's name follows the 2025-11-25 rule and no two tools share one.
pub fn tool_name_format(exchanges: &[Exchange]) -> Check {
    let mut judged = 0;
    let mut bad = Vec::new();
    for response in responses(exchanges)
        .iter()
        .filter(|r| r.method == "tools/list")
    {
        let Some(tools) = response
            .message
            .pointer("/result/tools")
            .and_then(Value::as_array)
        else {
            continue;
        };
        let mut seen = std::collections::HashSet::new();
        for (i, tool) in tools.iter().enumerate() {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                continue;
            };
            judged += 1;
            let seq = response.exchange.seq;
            if !tool_name_ok(name) {
                bad.push(format!(
                    "#{seq} tools/list: result/tools/{i}/name = {name:?} ({} characters)",
                    name.chars().count()
                ));
            }
            if !seen.insert(name) {
                bad.push(format!(
                    "#{seq} tools/list: result/tools/{i}/name = {name:?} is listed twice"
                ));
            }
        }
    }
    if !bad.is_empty() {
        bad.push(TOOL_NAMES_RULE.to_owned());
        Check::fail(
            TOOL_NAMES,
            "a listed tool's name breaks the MCP tool-name rule (clients that check names drop \
             such a tool, or the whole list)",
            bad,
        )
    } else if judged == 0 {
        Check::not_applicable(
            TOOL_NAMES,
            "no tools/list result with named tools was recorded",
            vec![TOOL_NAMES_RULE.to_owned()],
        )
    } else {
        Check::pass(
            TOOL_NAMES,
            format!("{judged} listed tool name(s) follow the MCP tool-name rule"),
            vec![TOOL_NAMES_RULE.to_owned()],
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::Verdict;

    fn exchange(seq: u64, request: Value, response: Value, version: Option<&str>) -> Exchange {
        Exchange {
            seq,
            method: "POST".into(),
            upstream_url: "http://127.0.0.1:1/mcp".into(),
            phase: Phase::Mcp,
            on_authorization_server: false,
            status: 200,
            request_headers: version
                .map(|v| vec![("mcp-protocol-version".to_owned(), v.to_owned())])
                .unwrap_or_default(),
            request_body: Some(request.to_string()),
            response_headers: vec![],
            response_body: Some(response.to_string()),
        }
    }

    fn initialize(seq: u64, result: Value) -> Exchange {
        exchange(
            seq,
            json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}),
            json!({"jsonrpc":"2.0","id":0,"result":result}),
            None,
        )
    }

    fn list(seq: u64, tools: Value, version: &str) -> Exchange {
        exchange(
            seq,
            json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
            json!({"jsonrpc":"2.0","id":1,"result":{"tools":tools}}),
            Some(version),
        )
    }

    fn good_init(version: &str) -> Value {
        json!({"protocolVersion":version,"capabilities":{"tools":{"listChanged":true},"logging":{}},"serverInfo":{"name":"s","version":"1"}})
    }

    #[test]
    fn every_vendored_schema_parses_and_defines_the_result_types() {
        for revision in known_revisions() {
            assert!(document(revision).is_some(), "{revision}");
            for t in ["InitializeResult", "ListToolsResult", "CallToolResult"] {
                if revision == "2026-07-28" && t == "InitializeResult" {
                    continue;
                }
                assert!(validator(revision, t).is_some(), "{revision} {t}");
            }
        }
    }

    #[test]
    fn a_well_formed_session_passes_every_schema_lint() {
        for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
            let exchanges = vec![
                initialize(1, good_init(version)),
                list(
                    2,
                    json!([{"name":"whoami","inputSchema":{"type":"object","properties":{}}}]),
                    version,
                ),
            ];
            for check in [
                initialize_result(&exchanges),
                list_tools_result(&exchanges),
                jsonrpc_response(&exchanges),
                tool_name_format(&exchanges),
            ] {
                assert_eq!(check.verdict, Verdict::Pass, "{version}: {check:?}");
            }
        }
    }

    #[test]
    fn properties_as_an_empty_array_fails_with_the_field_named() {
        let exchanges = vec![
            initialize(1, good_init("2025-06-18")),
            list(
                2,
                json!([{"name":"whoami","inputSchema":{"type":"object","properties":[]}}]),
                "2025-06-18",
            ),
        ];
        let check = list_tools_result(&exchanges);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(
            check.evidence[0].contains("result/tools/0/inputSchema/properties (tool `whoami`)"),
            "{check:?}"
        );
    }

    #[test]
    fn logging_as_an_array_and_a_missing_protocol_version_fail_initialize() {
        let mut bad = good_init("2025-06-18");
        bad["capabilities"]["logging"] = json!([]);
        let check = initialize_result(&[initialize(1, bad)]);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check.evidence[0].contains("result/capabilities/logging"),
            "{check:?}"
        );

        let mut missing = good_init("2025-06-18");
        missing.as_object_mut().map(|m| m.remove("protocolVersion"));
        let check = initialize_result(&[initialize(1, missing)]);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(check.evidence[0].contains("protocolVersion"), "{check:?}");
    }

    #[test]
    fn an_output_schema_of_another_type_fails_under_2025_11_25() {
        let exchanges = vec![
            initialize(1, good_init("2025-11-25")),
            list(
                2,
                json!([{"name":"t","inputSchema":{"type":"object"},"outputSchema":{"type":"array"}}]),
                "2025-11-25",
            ),
        ];
        let check = list_tools_result(&exchanges);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check.evidence[0].contains("result/tools/0/outputSchema/type"),
            "{check:?}"
        );
    }

    #[test]
    fn a_wrong_jsonrpc_version_fails_the_envelope() {
        let exchanges = vec![exchange(
            1,
            json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}),
            json!({"jsonrpc":"1.0","id":0,"result":good_init("2025-06-18")}),
            None,
        )];
        let check = jsonrpc_response(&exchanges);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(check.evidence[0].contains("/jsonrpc"), "{check:?}");
    }

    #[test]
    fn bad_and_duplicate_tool_names_fail_and_good_ones_pass() {
        assert!(tool_name_ok("get_user.v2-beta"));
        assert!(!tool_name_ok("get user"));
        assert!(!tool_name_ok(""));
        assert!(!tool_name_ok(&"a".repeat(129)));
        let exchanges = vec![list(
            1,
            json!([{"name":"a b","inputSchema":{"type":"object"}},{"name":"x","inputSchema":{"type":"object"}},{"name":"x","inputSchema":{"type":"object"}}]),
            "2025-11-25",
        )];
        let check = tool_name_format(&exchanges);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check.evidence[0].contains("result/tools/0/name"),
            "{check:?}"
        );
        assert!(check.evidence[1].contains("listed twice"), "{check:?}");
    }

    #[test]
    fn a_revision_without_a_published_schema_is_not_judged() {
        let exchanges = vec![
            initialize(1, good_init("2099-01-01")),
            list(2, json!([]), "2099-01-01"),
        ];
        let check = list_tools_result(&exchanges);
        assert_eq!(check.verdict, Verdict::NotApplicable, "{check:?}");
        assert!(
            check.evidence[0].contains("no published schema"),
            "{check:?}"
        );
    }
}
