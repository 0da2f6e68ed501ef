//! The stand-in over HTTP, one wire API at a time, through the router (no socket).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;

/// The router with its state, playing `script`.
pub(super) struct Api {
    state: Arc<ModelState>,
}

/// One answer: status, content type and body text.
pub(super) struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("a JSON body")
    }
}

impl Api {
    pub fn new(script: ModelScript) -> Api {
        Api {
            state: Arc::new(ModelState {
                player: Mutex::new(ScriptPlayer::new(script)),
                ..ModelState::default()
            }),
        }
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("a request");
        let response = router(self.state.clone())
            .oneshot(request)
            .await
            .expect("an answer");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .expect("a body");
        Answer {
            status,
            content_type,
            text: String::from_utf8(bytes.to_vec()).expect("UTF-8"),
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send("POST", path, Some(body)).await
    }

    pub fn views(&self) -> Vec<ModelView> {
        lock(&self.state.views).clone()
    }

    pub fn requests(&self) -> Vec<ModelRequest> {
        lock(&self.state.requests).clone()
    }

    pub fn report(&self) -> ScriptReport {
        lock(&self.state.player).report()
    }
}

/// `event:` / `data:` pairs of a server-sent-events body, the data parsed as JSON (`[DONE]` and
/// other non-JSON data as a JSON string).
pub(super) fn sse_events(text: &str) -> Vec<(Option<String>, Value)> {
    text.split("\n\n")
        .filter(|chunk| !chunk.trim().is_empty())
        .map(|chunk| {
            let mut name = None;
            let mut data = String::new();
            for line in chunk.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = Some(n.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            let value = serde_json::from_str(&data).unwrap_or(Value::String(data));
            (name, value)
        })
        .collect()
}

mod anthropic_messages {
    use super::*;

    fn hello_script() -> ModelScript {
        ModelScript::new().turn(
            Turn::new()
                .expect_offered("mcp__mock__hello")
                .call("mcp__mock__hello", json!({"name": "harness"}))
                .say("Done."),
        )
    }

    fn first_request() -> Value {
        json!({
            "model": "claude-sonnet-4-5",
            "stream": true,
            "tools": [{"name": "Bash", "input_schema": {}}, {"name": "mcp__mock__hello", "input_schema": {}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Greet me."}]}]
        })
    }

    /// The bytes of the Messages stream, as they were before other wire APIs were added.
    #[tokio::test]
    async fn the_stream_of_a_tool_call_and_of_text_is_unchanged() {
        let api = Api::new(hello_script());
        let call = api.post("/v1/messages", &first_request()).await;
        assert_eq!(call.status, StatusCode::OK);
        assert_eq!(call.content_type, "text/event-stream");
        let expected_call = concat!(
            "event: message_start\n",
            r#"data: {"message":{"content":[],"id":"msg_mock_1","model":"claude-sonnet-4-5","role":"assistant","stop_reason":null,"stop_sequence":null,"type":"message","usage":{"input_tokens":12,"output_tokens":2}},"type":"message_start"}"#,
            "\n\nevent: content_block_start\n",
            r#"data: {"content_block":{"id":"toolu_mock_0001","input":{},"name":"mcp__mock__hello","type":"tool_use"},"index":0,"type":"content_block_start"}"#,
            "\n\nevent: content_block_delta\n",
            r#"data: {"delta":{"partial_json":"{\"name\":\"harness\"}","type":"input_json_delta"},"index":0,"type":"content_block_delta"}"#,
            "\n\nevent: content_block_stop\n",
            r#"data: {"index":0,"type":"content_block_stop"}"#,
            "\n\nevent: message_delta\n",
            r#"data: {"delta":{"stop_reason":"tool_use","stop_sequence":null},"type":"message_delta","usage":{"output_tokens":2}}"#,
            "\n\nevent: message_stop\n",
            r#"data: {"type":"message_stop"}"#,
            "\n\n"
        );
        assert_eq!(call.text, expected_call);

        let mut next = first_request();
        next["messages"] = json!([
            {"role": "user", "content": [{"type": "text", "text": "Greet me."}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_mock_0001", "name": "mcp__mock__hello", "input": {"name": "harness"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_mock_0001", "content": "Hello, harness!"}]}
        ]);
        let done = api.post("/v1/messages", &next).await;
        let expected_text = concat!(
            "event: message_start\n",
            r#"data: {"message":{"content":[],"id":"msg_mock_1","model":"claude-sonnet-4-5","role":"assistant","stop_reason":null,"stop_sequence":null,"type":"message","usage":{"input_tokens":12,"output_tokens":2}},"type":"message_start"}"#,
            "\n\nevent: content_block_start\n",
            r#"data: {"content_block":{"text":"","type":"text"},"index":0,"type":"content_block_start"}"#,
            "\n\nevent: content_block_delta\n",
            r#"data: {"delta":{"text":"Done.","type":"text_delta"},"index":0,"type":"content_block_delta"}"#,
            "\n\nevent: content_block_stop\n",
            r#"data: {"index":0,"type":"content_block_stop"}"#,
            "\n\nevent: message_delta\n",
            r#"data: {"delta":{"stop_reason":"end_turn","stop_sequence":null},"type":"message_delta","usage":{"output_tokens":2}}"#,
            "\n\nevent: message_stop\n",
            r#"data: {"type":"message_stop"}"#,
            "\n\n"
        );
        assert_eq!(done.text, expected_text);

        let views = api.views();
        assert_eq!(views[0].kind, RequestKind::MainUserPrompt);
        assert_eq!(views[1].kind, RequestKind::MainToolResults);
        assert_eq!(
            views[1].tool_results[0].tool_name.as_deref(),
            Some("mcp__mock__hello")
        );
        assert_eq!(views[1].tool_results[0].text, "Hello, harness!");
        let report = api.report();
        assert!(report.expectations[0].met);
        assert_eq!(report.tool_calls, vec![(1, "mcp__mock__hello".to_owned())]);
    }

    #[tokio::test]
    async fn a_side_request_gets_json_text_and_keeps_the_turn() {
        let api = Api::new(hello_script());
        let title = json!({"model": "claude-haiku", "messages": [{"role": "user", "content": "write a title"}]});
        let answer = api.post("/v1/messages", &title).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(
            answer.json(),
            json!({
                "id": "msg_mock_1", "type": "message", "role": "assistant", "model": "claude-haiku",
                "content": [{"type": "text", "text": DEFAULT_REPLY}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 2}
            })
        );
        assert_eq!(api.views()[0].kind, RequestKind::Side);
        assert_eq!(api.report().turns_started, 0);
        let call = api.post("/v1/messages", &first_request()).await;
        let events = sse_events(&call.text);
        assert_eq!(events[1].1["content_block"]["name"], "mcp__mock__hello");
    }

    #[tokio::test]
    async fn count_tokens_and_unknown_routes_answer_in_the_api_shape() {
        let api = Api::new(ModelScript::new());
        let count = api
            .post("/v1/messages/count_tokens", &json!({"messages": []}))
            .await;
        assert_eq!(count.json(), json!({"input_tokens": 12}));
        let unknown = api.send("GET", "/v1/nothing", None).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(unknown.json()["type"], "error");
        assert_eq!(unknown.json()["error"]["type"], "not_found_error");
        let requests = api.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].method, "?");
    }
}

/// A recorded request body (see `fixtures/README.md`).
fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("a fixture")
}

/// The one-turn script the fixtures were recorded with.
fn hello_script() -> ModelScript {
    ModelScript::new().turn(
        Turn::new()
            .expect_offered("mcp__mock__hello")
            .call("mcp__mock__hello", json!({"name": "harness"}))
            .say("Done."),
    )
}

/// The script's effect, the same on every wire API: one turn, its expectation met, one call of
/// `mcp__mock__hello` on the request `seq`.
fn assert_one_hello_call(api: &Api, seq: u64) {
    let report = api.report();
    assert_eq!(report.turns_started, 1);
    assert!(report.expectations.iter().all(|e| e.met), "{report:?}");
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(
        report.tool_calls,
        vec![(seq, "mcp__mock__hello".to_owned())]
    );
}

#[test]
fn views_of_messages_requests_serialize_as_before() {
    let body =
        json!({"tools": [{"name": "Bash"}], "messages": [{"role": "user", "content": "hi"}]});
    let view = serde_json::to_value(ModelView::of(1, &body)).expect("JSON");
    let keys: Vec<&str> = view
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "answer",
            "deferred_tools",
            "kind",
            "model",
            "needs_auth_lines",
            "seq",
            "tool_results",
            "tools_offered",
            "user_prompt",
            "withdrawn_tools"
        ]
    );
}

mod openai_responses {
    use super::*;

    const PROMPT: &str = include_str!("fixtures/codex-0.171.0-responses-1-prompt.json");
    const RESULT: &str = include_str!("fixtures/codex-0.171.0-responses-2-tool-result.json");

    /// Codex's stream checks: every event's name is its data's `type`, numbered in order.
    fn events(text: &str) -> Vec<Value> {
        let events = sse_events(text);
        for (n, (name, data)) in events.iter().enumerate() {
            assert_eq!(name.as_deref(), data["type"].as_str(), "event {n}");
            assert_eq!(data["sequence_number"], json!(n));
        }
        events.into_iter().map(|(_, data)| data).collect()
    }

    fn types(events: &[Value]) -> Vec<&str> {
        events.iter().filter_map(|e| e["type"].as_str()).collect()
    }

    #[tokio::test]
    async fn codex_s_namespaced_mcp_tools_are_offered_under_canonical_names() {
        let api = Api::new(hello_script());
        let answer = api.post("/v1/responses", &fixture(PROMPT)).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.content_type, "text/event-stream");
        let view = &api.views()[0];
        assert_eq!(view.api, WireApi::OpenAiResponses);
        assert_eq!(view.kind, RequestKind::MainUserPrompt);
        assert_eq!(
            view.user_prompt.as_deref(),
            Some("Greet harness using the mock hello tool")
        );
        for tool in ["mcp__mock__hello", "mcp__mock__add", "exec_command"] {
            assert!(view.tools_offered.iter().any(|t| t == tool), "{tool}");
        }
        assert!(view.wire_names.contains(&WireName {
            canonical: "mcp__mock__hello".to_owned(),
            name: "hello".to_owned(),
            namespace: Some("mcp__mock".to_owned()),
        }));
        let request = &api.requests()[0];
        assert_eq!(request.api, WireApi::OpenAiResponses);
        assert!(request.stream);
        assert!(request.tool_names.iter().any(|t| t == "mcp__mock/hello"));
    }

    #[tokio::test]
    async fn a_call_streams_as_a_function_call_in_codex_s_namespace_and_its_output_returns() {
        let api = Api::new(hello_script());
        let call = api.post("/v1/responses", &fixture(PROMPT)).await;
        let stream = events(&call.text);
        assert_eq!(
            types(&stream),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed"
            ]
        );
        let item = &stream[5]["item"];
        assert_eq!(item["type"], "function_call");
        assert_eq!(item["name"], "hello");
        assert_eq!(item["namespace"], "mcp__mock");
        assert_eq!(item["call_id"], "toolu_mock_0001");
        let arguments: Value =
            serde_json::from_str(item["arguments"].as_str().expect("arguments as text"))
                .expect("JSON arguments");
        assert_eq!(arguments, json!({"name": "harness"}));
        assert_eq!(stream[3]["delta"], item["arguments"]);
        assert_eq!(stream[2]["item"]["call_id"], "toolu_mock_0001");
        let completed = &stream[6]["response"];
        assert!(completed["id"].is_string());
        assert_eq!(completed["status"], "completed");
        assert_eq!(completed["usage"]["total_tokens"], 14);
        assert_eq!(completed["output"][0], *item);

        // Codex sends the call back with its output, under the call's `call_id`.
        let done = api.post("/v1/responses", &fixture(RESULT)).await;
        let view = &api.views()[1];
        assert_eq!(view.kind, RequestKind::MainToolResults);
        assert_eq!(view.tool_results.len(), 1);
        let result = &view.tool_results[0];
        assert_eq!(result.tool_use_id, "toolu_mock_0001");
        assert_eq!(result.tool_name.as_deref(), Some("mcp__mock__hello"));
        assert!(result.text.contains("Hello, harness!"), "{}", result.text);
        let stream = events(&done.text);
        assert_eq!(
            types(&stream),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed"
            ]
        );
        assert_eq!(stream[4]["delta"], "Done.");
        let message = &stream[7]["item"];
        assert_eq!(message["role"], "assistant");
        assert_eq!(message["content"][0]["type"], "output_text");
        assert_eq!(message["content"][0]["text"], "Done.");
        assert_one_hello_call(&api, 1);
    }

    #[tokio::test]
    async fn the_route_has_any_prefix_and_a_request_without_tools_is_a_side_request() {
        let api = Api::new(hello_script());
        let side = json!({"model": "gpt-5", "input": "Summarize.", "stream": false});
        let answer = api.post("/responses", &side).await;
        assert_eq!(answer.status, StatusCode::OK);
        let response = answer.json();
        assert_eq!(response["object"], "response");
        assert_eq!(response["status"], "completed");
        assert_eq!(response["output"][0]["content"][0]["text"], DEFAULT_REPLY);
        assert_eq!(api.views()[0].kind, RequestKind::Side);
        assert_eq!(api.report().turns_started, 0);
        // The scripted turn is still there for the agent's request, under another prefix.
        let call = api.post("/api/openai/v1/responses", &fixture(PROMPT)).await;
        assert!(call.text.contains("\"namespace\":\"mcp__mock\""));
        assert_eq!(api.report().turns_started, 1);
    }
}

mod openai_chat {
    use super::*;

    const TITLE: &str = include_str!("fixtures/opencode-1.18.33-chat-1-title.json");
    const PROMPT: &str = include_str!("fixtures/opencode-1.18.33-chat-2-prompt.json");
    const RESULT: &str = include_str!("fixtures/opencode-1.18.33-chat-3-tool-result.json");

    /// The chunks of a stream, which must end with `[DONE]`.
    fn chunks(text: &str) -> Vec<Value> {
        let mut events: Vec<Value> = sse_events(text).into_iter().map(|(_, d)| d).collect();
        assert_eq!(events.pop(), Some(json!("[DONE]")));
        for chunk in &events {
            assert_eq!(chunk["object"], "chat.completion.chunk");
        }
        events
    }

    #[tokio::test]
    async fn opencode_s_title_request_is_a_side_request_and_its_tools_read_canonically() {
        let api = Api::new(hello_script());
        let title = api.post("/v1/chat/completions", &fixture(TITLE)).await;
        let chunks = chunks(&title.text);
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], DEFAULT_REPLY);
        assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(api.views()[0].kind, RequestKind::Side);
        assert_eq!(api.report().turns_started, 0);

        api.post("/v1/chat/completions", &fixture(PROMPT)).await;
        let view = &api.views()[1];
        assert_eq!(view.api, WireApi::OpenAiChat);
        assert_eq!(view.kind, RequestKind::MainUserPrompt);
        // opencode writes `<server>_<tool>`; the script's `mcp__mock__…` names the server.
        for tool in ["mcp__mock__hello", "mcp__mock__add", "bash"] {
            assert!(view.tools_offered.iter().any(|t| t == tool), "{tool}");
        }
        assert_eq!(view.wire_name("mcp__mock__hello"), ("mock_hello", None));
    }

    #[tokio::test]
    async fn a_call_streams_as_tool_call_deltas_and_the_tool_message_returns() {
        let api = Api::new(hello_script());
        let call = api.post("/v1/chat/completions", &fixture(PROMPT)).await;
        let chunks = chunks(&call.text);
        let first = &chunks[0]["choices"][0]["delta"];
        assert_eq!(first["role"], "assistant");
        assert_eq!(first["tool_calls"][0]["id"], "toolu_mock_0001");
        assert_eq!(first["tool_calls"][0]["type"], "function");
        assert_eq!(first["tool_calls"][0]["function"]["name"], "mock_hello");
        let arguments: String = chunks
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&arguments).expect("JSON arguments"),
            json!({"name": "harness"})
        );
        assert_eq!(chunks[2]["choices"][0]["finish_reason"], "tool_calls");
        // opencode asks for usage (`stream_options.include_usage`): a last chunk without choices.
        assert_eq!(chunks[3]["choices"], json!([]));
        assert_eq!(chunks[3]["usage"]["total_tokens"], 14);

        let done = api.post("/v1/chat/completions", &fixture(RESULT)).await;
        let view = &api.views()[1];
        assert_eq!(view.kind, RequestKind::MainToolResults);
        assert_eq!(view.tool_results[0].tool_use_id, "toolu_mock_0001");
        assert_eq!(
            view.tool_results[0].tool_name.as_deref(),
            Some("mcp__mock__hello")
        );
        assert_eq!(view.tool_results[0].text, "Hello, harness!");
        let chunks = super::openai_chat::chunks(&done.text);
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "Done.");
        assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
        assert_one_hello_call(&api, 1);
    }

    const QWEN_PROMPT: &str = include_str!("fixtures/qwen-code-0.24.4-chat-1-prompt.json");
    const QWEN_SEARCHED: &str = include_str!("fixtures/qwen-code-0.24.4-chat-2-search-result.json");
    const QWEN_CALLED: &str = include_str!("fixtures/qwen-code-0.24.4-chat-3-call-result.json");

    /// The name and arguments of the one call a stream carries.
    fn streamed_call(text: &str) -> (String, Value) {
        let chunks = chunks(text);
        let name = chunks[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let arguments: String = chunks
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .collect();
        (
            name,
            serde_json::from_str(&arguments).expect("JSON arguments"),
        )
    }

    #[tokio::test]
    async fn qwen_code_s_deferred_tools_are_searched_then_called_through_its_bridge() {
        let api = Api::new(hello_script());
        let search = api
            .post("/v1/chat/completions", &fixture(QWEN_PROMPT))
            .await;
        let view = &api.views()[0];
        assert_eq!(view.kind, RequestKind::MainUserPrompt);
        assert!(!view.tools_offered.iter().any(|t| t.starts_with("mcp__")));
        assert!(view.deferred_tools.contains(&"mcp__mock__hello".to_owned()));
        assert_eq!(
            streamed_call(&search.text),
            (
                "tool_search".to_owned(),
                json!({"query": "select:mcp__mock__hello"})
            )
        );
        let call = api
            .post("/v1/chat/completions", &fixture(QWEN_SEARCHED))
            .await;
        assert_eq!(
            streamed_call(&call.text),
            (
                "tool_call".to_owned(),
                json!({"name": "mcp__mock__hello", "arguments": {"name": "harness"}})
            )
        );
        let done = api
            .post("/v1/chat/completions", &fixture(QWEN_CALLED))
            .await;
        // The bridge call's result reads as the result of the tool it invoked.
        let view = &api.views()[2];
        assert_eq!(view.kind, RequestKind::MainToolResults);
        assert_eq!(view.tool_results[0].tool_use_id, "toolu_mock_0002");
        assert_eq!(
            view.tool_results[0].tool_name.as_deref(),
            Some("mcp__mock__hello")
        );
        assert_eq!(
            chunks(&done.text)[1]["choices"][0]["delta"]["content"],
            "Done."
        );
        let report = api.report();
        assert!(report.expectations.iter().all(|e| e.met), "{report:?}");
        assert!(report.failures.is_empty(), "{report:?}");
        assert_eq!(
            report.tool_calls,
            vec![
                (1, "tool_search".to_owned()),
                (2, "mcp__mock__hello".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn qwen_code_s_bridge_tools_announced_in_the_first_turn_stay_reachable_in_the_next() {
        let api = Api::new(
            hello_script().turn(Turn::new().call("mcp__mock__hello", json!({"name": "again"}))),
        );
        for body in [QWEN_PROMPT, QWEN_SEARCHED, QWEN_CALLED] {
            api.post("/v1/chat/completions", &fixture(body)).await;
        }
        // The next prompt, after the model's "Done.": the announcement is in the first user
        // message only.
        let mut next = fixture(QWEN_CALLED);
        let messages = next["messages"].as_array_mut().expect("messages");
        messages.push(json!({"role": "assistant", "content": "Done."}));
        messages.push(json!({"role": "user", "content": "Once more, please."}));
        let search = api.post("/v1/chat/completions", &next).await;
        let view = &api.views()[3];
        assert_eq!(view.kind, RequestKind::MainUserPrompt);
        assert!(
            view.deferred_tools.contains(&"mcp__mock__hello".to_owned()),
            "{view:?}"
        );
        assert_eq!(streamed_call(&search.text).0, "tool_search");
        assert!(api.report().failures.is_empty());
    }

    #[tokio::test]
    async fn without_stream_one_completion_and_the_model_list_with_or_without_v1() {
        let api = Api::new(hello_script());
        let mut body = fixture(PROMPT);
        body["stream"] = json!(false);
        let answer = api.post("/chat/completions", &body).await;
        let completion = answer.json();
        assert_eq!(completion["object"], "chat.completion");
        let choice = &completion["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert_eq!(choice["message"]["content"], Value::Null);
        assert_eq!(
            choice["message"]["tool_calls"][0]["function"]["name"],
            "mock_hello"
        );
        assert_eq!(
            choice["message"]["tool_calls"][0]["function"]["arguments"],
            r#"{"name":"harness"}"#
        );
        for path in ["/v1/models", "/models"] {
            let list = api.send("GET", path, None).await;
            assert_eq!(list.status, StatusCode::OK);
            assert_eq!(list.json()["object"], "list");
            assert_eq!(list.json()["data"][0]["id"], "mock-model");
        }
        let requests = api.requests();
        assert_eq!(requests[1].method, "GET");
        assert_eq!(requests[1].api, WireApi::OpenAiChat);
    }

    #[tokio::test]
    async fn servers_the_script_does_not_name_yet_can_be_declared() {
        let body = fixture(PROMPT);
        let unknown = Api::new(ModelScript::new());
        unknown.post("/v1/chat/completions", &body).await;
        assert!(unknown.views()[0]
            .tools_offered
            .iter()
            .any(|t| t == "mock_hello"));
        let declared = Api::new(ModelScript::new().mcp_server("mock"));
        declared.post("/v1/chat/completions", &body).await;
        assert!(declared.views()[0]
            .tools_offered
            .iter()
            .any(|t| t == "mcp__mock__hello"));
        // A script may also use the client's own name for the tool.
        let own = Api::new(ModelScript::new().turn(Turn::new().call("mock_hello", json!({}))));
        let call = own.post("/v1/chat/completions", &body).await;
        assert!(call.text.contains(r#""name":"mock_hello""#));
        assert_eq!(own.report().tool_calls, vec![(1, "mock_hello".to_owned())]);
    }
}

mod gemini {
    use super::*;

    const PROMPT: &str = include_str!("fixtures/gemini-cli-0.61.0-stream-1-prompt.json");
    const RESULT: &str = include_str!("fixtures/gemini-cli-0.61.0-stream-2-tool-result.json");
    const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

    /// The one `data:` event of a streamed answer.
    fn response(text: &str) -> Value {
        let events = sse_events(text);
        assert_eq!(events.len(), 1, "{text}");
        assert_eq!(events[0].0, None);
        events[0].1.clone()
    }

    #[tokio::test]
    async fn gemini_cli_s_tools_are_offered_under_canonical_names() {
        let api = Api::new(hello_script());
        let answer = api.post(STREAM, &fixture(PROMPT)).await;
        assert_eq!(answer.content_type, "text/event-stream");
        let view = &api.views()[0];
        assert_eq!(view.api, WireApi::Gemini);
        assert_eq!(view.model.as_deref(), Some("gemini-2.5-flash"));
        assert_eq!(view.kind, RequestKind::MainUserPrompt);
        // The `<session_context>` part Gemini CLI puts first is not the user's prompt.
        assert_eq!(
            view.user_prompt.as_deref(),
            Some("Greet harness using the mock hello tool")
        );
        for tool in ["mcp__mock__hello", "mcp__mock__add", "read_file"] {
            assert!(view.tools_offered.iter().any(|t| t == tool), "{tool}");
        }
        assert_eq!(view.wire_name("mcp__mock__hello"), ("mcp_mock_hello", None));
        let request = &api.requests()[0];
        assert_eq!(
            (request.api, request.model.as_deref(), request.stream),
            (WireApi::Gemini, Some("gemini-2.5-flash"), true)
        );
    }

    #[tokio::test]
    async fn a_call_streams_as_a_function_call_part_and_its_response_returns() {
        let api = Api::new(hello_script());
        let call = response(&api.post(STREAM, &fixture(PROMPT)).await.text);
        let candidate = &call["candidates"][0];
        assert_eq!(candidate["content"]["role"], "model");
        assert_eq!(candidate["finishReason"], "STOP");
        assert_eq!(
            candidate["content"]["parts"][0]["functionCall"],
            json!({"id": "toolu_mock_0001", "name": "mcp_mock_hello", "args": {"name": "harness"}})
        );
        assert_eq!(call["usageMetadata"]["totalTokenCount"], 14);

        let done = response(&api.post(STREAM, &fixture(RESULT)).await.text);
        let view = &api.views()[1];
        assert_eq!(view.kind, RequestKind::MainToolResults);
        let result = &view.tool_results[0];
        assert_eq!(result.tool_use_id, "toolu_mock_0001");
        assert_eq!(result.tool_name.as_deref(), Some("mcp__mock__hello"));
        assert!(!result.is_error);
        assert!(result.text.contains("Hello, harness!"), "{}", result.text);
        assert_eq!(
            done["candidates"][0]["content"]["parts"][0],
            json!({"text": "Done."})
        );
        assert_one_hello_call(&api, 1);
    }

    #[tokio::test]
    async fn a_response_without_an_id_is_matched_to_the_call_by_name() {
        let api = Api::new(hello_script());
        api.post(STREAM, &fixture(PROMPT)).await;
        let mut body = fixture(RESULT);
        let contents = body["contents"].as_array_mut().expect("contents");
        let last = contents.len() - 1;
        contents[last]["parts"][0]["functionResponse"]
            .as_object_mut()
            .expect("a functionResponse")
            .remove("id");
        contents[last]["parts"][0]["functionResponse"]["response"] = json!({"error": "boom"});
        api.post("/v1/models/gemini-2.5-flash:generateContent", &body)
            .await;
        let view = &api.views()[1];
        assert_eq!(view.kind, RequestKind::MainToolResults);
        assert_eq!(view.tool_results[0].tool_use_id, "toolu_mock_0001");
        assert!(view.tool_results[0].is_error);
        assert_eq!(view.tool_results[0].text, "boom");
    }

    #[tokio::test]
    async fn side_requests_count_tokens_models_and_unknown_routes() {
        let api = Api::new(hello_script());
        let side = json!({
            "contents": [{"role": "user", "parts": [{"text": "Is the next speaker the user?"}]}],
            "generationConfig": {"responseMimeType": "application/json"}
        });
        let answer = api
            .post(
                "/v1beta/models/gemini-2.5-flash-lite:generateContent",
                &side,
            )
            .await;
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(
            answer.json()["candidates"][0]["content"]["parts"][0]["text"],
            DEFAULT_REPLY
        );
        assert_eq!(api.views()[0].kind, RequestKind::Side);
        assert_eq!(api.report().turns_started, 0);

        let count = api
            .post("/v1beta/models/gemini-2.5-flash:countTokens", &side)
            .await;
        assert_eq!(count.json(), json!({"totalTokens": 12}));
        let models = api.send("GET", "/v1beta/models", None).await;
        assert_eq!(
            models.json()["models"][0]["name"],
            "models/gemini-2.5-flash"
        );
        let model = api.send("GET", "/v1beta/models/gemini-2.5-pro", None).await;
        assert_eq!(model.json()["name"], "models/gemini-2.5-pro");
        let unknown = api
            .post("/v1beta/models/gemini-2.5-flash:embedContent", &side)
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(unknown.json()["error"]["status"], "NOT_FOUND");
        // Only model requests make views.
        assert_eq!(api.views().len(), 1);
        assert_eq!(api.requests().len(), 5);
    }
}
