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
