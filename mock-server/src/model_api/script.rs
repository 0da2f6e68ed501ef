//! What the scripted model does on each turn, written the way a test reads:
//!
//! ```
//! use mock_server::model_api::{ModelScript, Turn};
//! use serde_json::json;
//!
//! let script = ModelScript::new()
//!     .turn(Turn::new().call("mcp__mock__authenticate", json!({})).say("Open the link."))
//!     .turn(
//!         Turn::new()
//!             .expect_offered("mcp__mock__hello")
//!             .call("mcp__mock__hello", json!({"name": "harness"}))
//!             .say("Done."),
//!     );
//! # let _ = script;
//! ```
//!
//! Tool names are written as the script's author likes: the canonical `mcp__<server>__<tool>`
//! works for every client (see [`super::naming`]), a client's own wire name for that client.
//!
//! A turn starts when the client sends the user's prompt and continues through the tool results
//! that follow. Side requests (no tools offered: titles, suggestions, probes) never consume it.
//! A tool that is deferred (named in the system text, loaded through `ToolSearch`) is loaded
//! first with `select:<name>`; a tool in `tools` is called directly; a tool that is neither is a
//! script failure, recorded with the evidence, and the turn ends with a message saying so.
//!
//! Some clients never declare a deferred tool at all: Qwen Code offers a bridge, `tool_search`
//! (returns the schema) and `tool_call` (`{"name": <tool>, "arguments": {…}}` runs it). For a
//! deferred tool on such a client the player searches with `select:<name>`, then calls it through
//! `tool_call`.

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::naming;
use super::view::{ModelView, RequestKind};

/// An input value `{"$offeredSchemaOf": "<tool>"}` stands for that tool's input schema as the
/// client offered it to the model, filled in when the call is made: a script can have the model
/// pass on what it was shown (as an agent echoing a schema would), whatever the client did to it.
pub const OFFERED_SCHEMA_OF: &str = "$offeredSchemaOf";

/// The placeholder for `tool`'s offered input schema (see [`OFFERED_SCHEMA_OF`]).
pub fn offered_schema_of(tool: impl Into<String>) -> Value {
    json!({ OFFERED_SCHEMA_OF: tool.into() })
}

/// `input` with every [`OFFERED_SCHEMA_OF`] placeholder replaced by the schema `view` shows for
/// that tool (an empty object when it shows none).
fn fill_offered_schemas(input: Value, view: &ModelView) -> Value {
    match input {
        Value::Object(map) => {
            if let (1, Some(Value::String(tool))) = (map.len(), map.get(OFFERED_SCHEMA_OF)) {
                let canonical = view.resolve(tool).unwrap_or(tool);
                return view
                    .offered_schemas
                    .get(canonical)
                    .cloned()
                    .unwrap_or_else(|| json!({}));
            }
            Value::Object(
                map.into_iter()
                    .map(|(k, v)| (k, fill_offered_schemas(v, view)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| fill_offered_schemas(v, view))
                .collect(),
        ),
        other => other,
    }
}

/// The text a request gets when there is nothing scripted for it.
pub const DEFAULT_REPLY: &str = "OK.";
/// The tool versions that defer tools use to load them.
pub const TOOL_SEARCH: &str = "ToolSearch";
/// The bridge's search tool (Qwen Code): shows a deferred tool's schema without declaring it.
pub const BRIDGE_SEARCH: &str = "tool_search";
/// The bridge's call tool (Qwen Code): `{"name": <deferred tool>, "arguments": {…}}`.
pub const BRIDGE_CALL: &str = "tool_call";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// Call a tool with this input (loading it through `ToolSearch` first when it is deferred).
    CallTool { name: String, input: Value },
    /// Say this and end the turn.
    Say(String),
}

/// One user turn of the script.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub expect_offered: Vec<String>,
    pub expect_withdrawn: Vec<String>,
    pub actions: Vec<Action>,
}

impl Turn {
    pub fn new() -> Turn {
        Turn::default()
    }

    /// When the turn starts, `tool` must be reachable (in `tools`, or deferred).
    pub fn expect_offered(mut self, tool: impl Into<String>) -> Turn {
        self.expect_offered.push(tool.into());
        self
    }

    /// When the turn starts, `tool` must be neither in `tools` nor deferred.
    pub fn expect_withdrawn(mut self, tool: impl Into<String>) -> Turn {
        self.expect_withdrawn.push(tool.into());
        self
    }

    pub fn call(mut self, tool: impl Into<String>, input: Value) -> Turn {
        self.actions.push(Action::CallTool {
            name: tool.into(),
            input,
        });
        self
    }

    pub fn say(mut self, text: impl Into<String>) -> Turn {
        self.actions.push(Action::Say(text.into()));
        self
    }
}

/// The turns, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelScript {
    pub turns: Vec<Turn>,
    /// MCP servers whose tools the view names canonically even before a turn names one of them
    /// (the servers in the turns' `mcp__<server>__<tool>` names count without this).
    #[serde(default)]
    pub mcp_servers: Vec<String>,
}

impl ModelScript {
    pub fn new() -> ModelScript {
        ModelScript::default()
    }

    pub fn turn(mut self, turn: Turn) -> ModelScript {
        self.turns.push(turn);
        self
    }

    /// Names `server` as an MCP server the client was given, so that wire names like
    /// `<server>_<tool>` read as `mcp__<server>__<tool>` (see [`super::naming`]).
    pub fn mcp_server(mut self, server: impl Into<String>) -> ModelScript {
        self.mcp_servers.push(server.into());
        self
    }
}

impl Turn {
    /// The tool names the turn mentions.
    fn tool_names(&self) -> impl Iterator<Item = &str> {
        let called = self.actions.iter().filter_map(|a| match a {
            Action::CallTool { name, .. } => Some(name.as_str()),
            Action::Say(_) => None,
        });
        self.expect_offered
            .iter()
            .chain(&self.expect_withdrawn)
            .map(String::as_str)
            .chain(called)
    }
}

/// The result of one `expect_offered` / `expect_withdrawn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// 1-based turn number.
    pub turn: usize,
    /// The request that started the turn.
    pub request_seq: u64,
    pub tool: String,
    /// `offered` or `withdrawn`.
    pub wanted: String,
    pub met: bool,
}

/// Something the script could not do, with the request that showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptFailure {
    pub turn: usize,
    pub request_seq: u64,
    pub message: String,
}

/// What the script achieved so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptReport {
    pub turns_started: usize,
    pub turns_pending: usize,
    pub expectations: Vec<Expectation>,
    pub failures: Vec<ScriptFailure>,
    /// Tool calls the model made, as `(request seq, tool name)`, the name canonical when the
    /// client's wire name differs (see [`super::naming`]); a call through the bridge's
    /// [`BRIDGE_CALL`] is recorded under the tool it invokes.
    pub tool_calls: Vec<(u64, String)>,
}

/// What the model answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

impl Reply {
    pub fn describe(&self) -> String {
        match self {
            Reply::Text(t) => format!("say {t:?}"),
            Reply::ToolUse { name, input, .. } => format!("call {name} {input}"),
        }
    }
}

/// Prompts the client writes itself, sent with the agent's tools in some versions (2.1.81 asks
/// for a suggestion of the user's next message this way): never the user's turn.
const SIDE_PROMPT_MARKERS: &[&str] = &["[SUGGESTION MODE:"];

fn is_side_prompt(prompt: Option<&str>) -> bool {
    prompt.is_some_and(|p| {
        // The marker is judged on the newest text only: 2.1.331 appends to earlier user text.
        let newest = p
            .rsplit("\n\n")
            .find(|part| !part.trim().is_empty())
            .unwrap_or(p);
        SIDE_PROMPT_MARKERS
            .iter()
            .any(|m| p.trim_start().starts_with(m) || newest.contains(m))
    })
}

/// The turn in progress.
#[derive(Debug)]
struct Current {
    number: usize,
    actions: VecDeque<Action>,
    /// A deferred tool asked for through `ToolSearch` (or the bridge's `tool_search`), to be
    /// called when the results come back.
    loading: Option<(String, Value)>,
    /// Whether `loading` went through the bridge: then the call goes through `tool_call`.
    bridged: bool,
}

/// The script being played.
#[derive(Debug, Default)]
pub struct ScriptPlayer {
    pending: VecDeque<Turn>,
    current: Option<Current>,
    started: usize,
    next_tool_use: u64,
    report: ScriptReport,
    /// `tool_use` ids this player issued whose results have not come back yet.
    awaiting: BTreeSet<String>,
    /// The user text of the last main request, to tell a new prompt from a repeat.
    last_prompt: Option<String>,
    /// The MCP servers the script names.
    servers: BTreeSet<String>,
}

impl ScriptPlayer {
    pub fn new(script: ModelScript) -> ScriptPlayer {
        let mut player = ScriptPlayer {
            servers: script.mcp_servers.into_iter().collect(),
            ..ScriptPlayer::default()
        };
        for turn in script.turns {
            player.push(turn);
        }
        player
    }

    /// Adds a turn at the end (for turns whose input is only known during the run).
    pub fn push(&mut self, turn: Turn) {
        let servers: Vec<String> = turn
            .tool_names()
            .filter_map(naming::server_of)
            .map(str::to_owned)
            .collect();
        self.servers.extend(servers);
        self.pending.push_back(turn);
    }

    /// The MCP servers the script names so far: declared ones and those in its tool names.
    pub fn mcp_servers(&self) -> BTreeSet<String> {
        self.servers.clone()
    }

    pub fn report(&self) -> ScriptReport {
        ScriptReport {
            turns_started: self.started,
            turns_pending: self.pending.len(),
            ..self.report.clone()
        }
    }

    /// Decides the answer to one request, and records in `view.kind` how it read the request.
    ///
    /// Clients differ in how they shape a conversation (2.1.331 appends the next prompt to the
    /// user message that carries earlier tool results), so the request is read by what is new in
    /// it: a result for a `tool_use` this player issued continues the turn; user text that differs
    /// from the last main request's starts the next turn; anything else is answered briefly
    /// without touching the script.
    pub fn answer(&mut self, view: &mut ModelView) -> Reply {
        if view.tools_offered.is_empty() || is_side_prompt(view.user_prompt.as_deref()) {
            view.kind = RequestKind::Side;
            return Reply::Text(DEFAULT_REPLY.to_owned());
        }
        let returned: Vec<String> = view
            .tool_results
            .iter()
            .filter(|r| self.awaiting.contains(&r.tool_use_id))
            .map(|r| r.tool_use_id.clone())
            .collect();
        let prompt_changed = view.user_prompt.is_some() && view.user_prompt != self.last_prompt;
        self.last_prompt = view.user_prompt.clone();
        if !returned.is_empty() {
            for id in returned {
                self.awaiting.remove(&id);
            }
            view.kind = RequestKind::MainToolResults;
            return self.step(view);
        }
        if !prompt_changed {
            view.kind = RequestKind::Side;
            return Reply::Text(DEFAULT_REPLY.to_owned());
        }
        view.kind = RequestKind::MainUserPrompt;
        let Some(turn) = self.pending.pop_front() else {
            self.current = None;
            return Reply::Text(DEFAULT_REPLY.to_owned());
        };
        self.started += 1;
        let number = self.started;
        for tool in &turn.expect_offered {
            self.report.expectations.push(Expectation {
                turn: number,
                request_seq: view.seq,
                tool: tool.clone(),
                wanted: "offered".to_owned(),
                met: view.can_reach(tool),
            });
        }
        for tool in &turn.expect_withdrawn {
            self.report.expectations.push(Expectation {
                turn: number,
                request_seq: view.seq,
                tool: tool.clone(),
                wanted: "withdrawn".to_owned(),
                met: !view.can_reach(tool),
            });
        }
        self.current = Some(Current {
            number,
            actions: turn.actions.into(),
            loading: None,
            bridged: false,
        });
        self.step(view)
    }

    fn step(&mut self, view: &ModelView) -> Reply {
        let Some(current) = self.current.as_mut() else {
            return Reply::Text(DEFAULT_REPLY.to_owned());
        };
        let number = current.number;
        if let Some((name, input)) = current.loading.take() {
            let bridged = std::mem::take(&mut current.bridged);
            if let Some(offered) = view.resolve(&name) {
                let input = fill_offered_schemas(input, view);
                return self.tool_use(view.seq, offered.to_owned(), input);
            }
            let loaded = view
                .tool_results
                .iter()
                .map(|r| r.text.as_str())
                .collect::<Vec<_>>()
                .join(" | ");
            if bridged
                && loaded.contains(&name)
                && view.tools_offered.iter().any(|t| t == BRIDGE_CALL)
            {
                let call = json!({"name": name, "arguments": fill_offered_schemas(input, view)});
                return self.bridged_call(view.seq, &name, call);
            }
            let search = if bridged { BRIDGE_SEARCH } else { TOOL_SEARCH };
            return self.fail(
                number,
                view.seq,
                format!("`{search}` did not load {name} (its result: {loaded:?})"),
            );
        }
        let Some(action) = current.actions.pop_front() else {
            self.current = None;
            return Reply::Text("Done.".to_owned());
        };
        match action {
            Action::Say(text) => {
                self.current = None;
                Reply::Text(text)
            }
            Action::CallTool { name, input } => {
                if let Some(offered) = view.resolve(&name) {
                    let input = fill_offered_schemas(input, view);
                    self.tool_use(view.seq, offered.to_owned(), input)
                } else if view.deferred_tools.iter().any(|t| t == &name)
                    && view.tools_offered.iter().any(|t| t == TOOL_SEARCH)
                {
                    let query = json!({"query": format!("select:{name}"), "max_results": 5});
                    current.loading = Some((name, input));
                    self.tool_use(view.seq, TOOL_SEARCH.to_owned(), query)
                } else if view.deferred_tools.iter().any(|t| t == &name)
                    && [BRIDGE_SEARCH, BRIDGE_CALL]
                        .iter()
                        .all(|b| view.tools_offered.iter().any(|t| t == b))
                {
                    let query = json!({"query": format!("select:{name}")});
                    current.loading = Some((name, input));
                    current.bridged = true;
                    self.tool_use(view.seq, BRIDGE_SEARCH.to_owned(), query)
                } else {
                    self.fail(
                        number,
                        view.seq,
                        format!(
                            "{name} is not offered to the model (neither in `tools` nor deferred)"
                        ),
                    )
                }
            }
        }
    }

    fn tool_use(&mut self, seq: u64, name: String, input: Value) -> Reply {
        self.next_tool_use += 1;
        self.report.tool_calls.push((seq, name.clone()));
        let id = format!("toolu_mock_{:04}", self.next_tool_use);
        self.awaiting.insert(id.clone());
        Reply::ToolUse { id, name, input }
    }

    /// `tool_call` invoking `tool`, recorded under `tool`.
    fn bridged_call(&mut self, seq: u64, tool: &str, input: Value) -> Reply {
        let reply = self.tool_use(seq, BRIDGE_CALL.to_owned(), input);
        if let Some(last) = self.report.tool_calls.last_mut() {
            last.1 = tool.to_owned();
        }
        reply
    }

    fn fail(&mut self, turn: usize, request_seq: u64, message: String) -> Reply {
        self.current = None;
        let text = format!("[scripted model] cannot go on: {message}");
        self.report.failures.push(ScriptFailure {
            turn,
            request_seq,
            message,
        });
        Reply::Text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_api::view::ToolResultSeen;

    fn request(seq: u64, prompt: &str, tools: &[&str], deferred: &[&str]) -> ModelView {
        ModelView {
            seq,
            model: None,
            kind: RequestKind::Side,
            api: Default::default(),
            tools_offered: tools.iter().map(|t| (*t).to_owned()).collect(),
            wire_names: vec![],
            deferred_tools: deferred.iter().map(|t| (*t).to_owned()).collect(),
            withdrawn_tools: vec![],
            needs_auth_lines: vec![],
            tool_results: vec![],
            user_prompt: Some(prompt.to_owned()),
            offered_schemas: Default::default(),
            answer: String::new(),
        }
    }

    /// The next request after `reply`: its result appended, the prompt unchanged.
    fn result_of(reply: &Reply, mut next: ModelView) -> ModelView {
        if let Reply::ToolUse { id, name, .. } = reply {
            next.tool_results.push(ToolResultSeen {
                tool_use_id: id.clone(),
                tool_name: Some(name.clone()),
                is_error: false,
                text: "ok".to_owned(),
            });
        }
        next
    }

    #[test]
    fn a_tool_in_tools_is_called_directly_then_the_turn_ends_with_its_text() {
        let mut player = ScriptPlayer::new(
            ModelScript::new().turn(
                Turn::new()
                    .call("mcp__m__hello", json!({"name": "x"}))
                    .say("bye"),
            ),
        );
        let tools = ["Bash", "mcp__m__hello"];
        let mut first = request(1, "go", &tools, &[]);
        let call = player.answer(&mut first);
        assert_eq!(first.kind, RequestKind::MainUserPrompt);
        assert!(matches!(call, Reply::ToolUse { ref name, .. } if name == "mcp__m__hello"));
        let mut second = result_of(&call, request(2, "go", &tools, &[]));
        assert_eq!(player.answer(&mut second), Reply::Text("bye".to_owned()));
        assert_eq!(second.kind, RequestKind::MainToolResults);
        assert!(player.report().failures.is_empty());
    }

    #[test]
    fn a_deferred_tool_is_loaded_through_tool_search_first() {
        let mut player = ScriptPlayer::new(
            ModelScript::new().turn(Turn::new().call("mcp__m__hello", json!({}))),
        );
        let search = player.answer(&mut request(1, "go", &["ToolSearch"], &["mcp__m__hello"]));
        match &search {
            Reply::ToolUse { name, input, .. } => {
                assert_eq!(name, "ToolSearch");
                assert_eq!(input["query"], "select:mcp__m__hello");
            }
            other => panic!("expected a ToolSearch call, got {other:?}"),
        }
        let mut loaded = result_of(
            &search,
            request(
                2,
                "go",
                &["ToolSearch", "mcp__m__hello"],
                &["mcp__m__hello"],
            ),
        );
        let call = player.answer(&mut loaded);
        assert!(matches!(call, Reply::ToolUse { ref name, .. } if name == "mcp__m__hello"));
    }

    /// The next request after `reply`, its result's text `text`.
    fn result_with(reply: &Reply, text: &str, mut next: ModelView) -> ModelView {
        if let Reply::ToolUse { id, name, .. } = reply {
            next.tool_results.push(ToolResultSeen {
                tool_use_id: id.clone(),
                tool_name: Some(name.clone()),
                is_error: false,
                text: text.to_owned(),
            });
        }
        next
    }

    #[test]
    fn a_tool_behind_the_bridge_is_searched_then_called_through_tool_call() {
        let mut player = ScriptPlayer::new(
            ModelScript::new().turn(Turn::new().call("mcp__m__hello", json!({"name": "x"}))),
        );
        let bridge = ["read_file", BRIDGE_SEARCH, BRIDGE_CALL];
        let search = player.answer(&mut request(1, "go", &bridge, &["mcp__m__hello"]));
        match &search {
            Reply::ToolUse { name, input, .. } => {
                assert_eq!(name, BRIDGE_SEARCH);
                assert_eq!(input["query"], "select:mcp__m__hello");
            }
            other => panic!("expected a tool_search call, got {other:?}"),
        }
        let schema = r#"<functions><function>{"name": "mcp__m__hello"}</function></functions>"#;
        let mut found = result_with(
            &search,
            schema,
            request(2, "go", &bridge, &["mcp__m__hello"]),
        );
        let call = player.answer(&mut found);
        match &call {
            Reply::ToolUse { name, input, .. } => {
                assert_eq!(name, BRIDGE_CALL);
                assert_eq!(
                    input,
                    &json!({"name": "mcp__m__hello", "arguments": {"name": "x"}})
                );
            }
            other => panic!("expected a tool_call call, got {other:?}"),
        }
        // Recorded under the tool it invokes.
        assert_eq!(
            player.report().tool_calls,
            vec![
                (1, BRIDGE_SEARCH.to_owned()),
                (2, "mcp__m__hello".to_owned())
            ]
        );
        assert!(player.report().failures.is_empty());
    }

    #[test]
    fn a_bridge_search_that_does_not_find_the_tool_is_a_script_failure() {
        let mut player = ScriptPlayer::new(
            ModelScript::new().turn(Turn::new().call("mcp__m__hello", json!({}))),
        );
        let bridge = [BRIDGE_SEARCH, BRIDGE_CALL];
        let search = player.answer(&mut request(1, "go", &bridge, &["mcp__m__hello"]));
        let mut empty = result_with(&search, "No tools matched.", request(2, "go", &bridge, &[]));
        assert!(matches!(player.answer(&mut empty), Reply::Text(t) if t.contains("cannot go on")));
        let failures = player.report().failures;
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].message.contains("`tool_search` did not load"),
            "{failures:?}"
        );
    }

    #[test]
    fn half_a_bridge_is_no_way_to_a_deferred_tool() {
        let mut player = ScriptPlayer::new(
            ModelScript::new().turn(Turn::new().call("mcp__m__hello", json!({}))),
        );
        let reply = player.answer(&mut request(1, "go", &[BRIDGE_SEARCH], &["mcp__m__hello"]));
        assert!(matches!(reply, Reply::Text(_)), "{reply:?}");
        assert_eq!(player.report().failures.len(), 1);
    }

    #[test]
    fn a_tool_search_that_loads_nothing_is_a_script_failure() {
        let mut player = ScriptPlayer::new(
            ModelScript::new().turn(Turn::new().call("mcp__m__hello", json!({}))),
        );
        let search = player.answer(&mut request(1, "go", &["ToolSearch"], &["mcp__m__hello"]));
        let mut next = result_of(
            &search,
            request(2, "go", &["ToolSearch"], &["mcp__m__hello"]),
        );
        let reply = player.answer(&mut next);
        assert!(matches!(reply, Reply::Text(ref t) if t.contains("did not load")));
        assert_eq!(player.report().failures.len(), 1);
    }

    #[test]
    fn a_tool_that_is_not_offered_fails_the_script_and_the_expectation() {
        let mut player = ScriptPlayer::new(
            ModelScript::new().turn(
                Turn::new()
                    .expect_offered("mcp__m__missing")
                    .call("mcp__m__missing", json!({})),
            ),
        );
        let reply = player.answer(&mut request(1, "go", &["Bash"], &[]));
        assert!(matches!(reply, Reply::Text(ref t) if t.contains("not offered")));
        let report = player.report();
        assert_eq!(report.failures.len(), 1);
        assert!(!report.expectations[0].met);
    }

    #[test]
    fn side_requests_and_repeats_never_consume_the_script() {
        let mut player = ScriptPlayer::new(
            ModelScript::new()
                .turn(Turn::new().say("first"))
                .turn(Turn::new().say("second")),
        );
        let mut side = request(1, "write a title", &[], &[]);
        assert_eq!(
            player.answer(&mut side),
            Reply::Text(DEFAULT_REPLY.to_owned())
        );
        assert_eq!(side.kind, RequestKind::Side);
        assert_eq!(
            player.answer(&mut request(2, "hello", &["Bash"], &[])),
            Reply::Text("first".to_owned())
        );
        // The same conversation sent again (a retry, a refresh) is not a new prompt.
        assert_eq!(
            player.answer(&mut request(3, "hello", &["Bash"], &[])),
            Reply::Text(DEFAULT_REPLY.to_owned())
        );
        // The next prompt appended to the same user message is.
        assert_eq!(
            player.answer(&mut request(4, "hello\n\nand now", &["Bash"], &[])),
            Reply::Text("second".to_owned())
        );
        assert_eq!(player.report().turns_started, 2);
    }

    #[test]
    fn a_suggestion_prompt_sent_with_tools_is_a_side_request() {
        let mut player = ScriptPlayer::new(ModelScript::new().turn(Turn::new().say("scripted")));
        let mut suggestion = request(
            1,
            "[SUGGESTION MODE: Suggest what the user might naturally type next.]",
            &["Bash"],
            &[],
        );
        assert_eq!(
            player.answer(&mut suggestion),
            Reply::Text(DEFAULT_REPLY.to_owned())
        );
        assert_eq!(suggestion.kind, RequestKind::Side);
        assert_eq!(
            player.answer(&mut request(2, "the user's turn", &["Bash"], &[])),
            Reply::Text("scripted".to_owned())
        );
    }

    #[test]
    fn an_offered_schema_placeholder_becomes_the_schema_the_model_was_shown() {
        let mut view = request(1, "go", &["mcp__s__focal", "mcp__s__echo"], &[]);
        let schema =
            json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"});
        view.offered_schemas
            .insert("mcp__s__focal".to_owned(), schema.clone());
        let input = json!({"schema": offered_schema_of("mcp__s__focal"), "n": [1]});
        assert_eq!(
            fill_offered_schemas(input, &view),
            json!({"schema": schema, "n": [1]})
        );
        // A tool the model was not shown: an empty schema, not the placeholder.
        let input = json!({"schema": offered_schema_of("mcp__s__absent")});
        assert_eq!(fill_offered_schemas(input, &view), json!({"schema": {}}));
    }
}
