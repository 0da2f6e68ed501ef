//! Property-based tests of the mock: every endpoint, fed generated garbage through `router(state)`
//! in-process (no sockets, so tens of thousands of requests take seconds).
//!
//! For each input: the status is of the right class (never 5xx, never a panic), the error body has
//! the endpoint's shape (RFC 6749 §5.2 / RFC 7591 §3.2.2 JSON for the token and registration
//! endpoints, an error page or an error redirect for the authorization endpoint as RFC 6749
//! §4.1.2.1 demands, a JSON-RPC error for MCP), and the access log holds exactly one record for
//! the request, with its method, path and status.
//!
//! Counts: `MOCK_FUZZ_CASES` is the total over all endpoints (default 4,000, split evenly);
//! `MOCK_FUZZ_SEED` picks the generator seed (default fixed, so `make test` is repeatable;
//! `random` for a fresh one, which is printed so a failure can be replayed). Each test prints a
//! `fuzz-cases:` line that `make fuzz` adds up.
//!
//! Why `catch_unwind`: axum has no panic guard of its own. Served over a socket, a panicking
//! handler kills its connection task, and the client sees the connection close with no status
//! at all (shown by `a_panicking_handler_is_caught_by_the_driver_and_kills_a_served_connection`);
//! in-process, the panic would unwind into the test. The driver catches it and reports it as a
//! failure of the input, which proptest then shrinks.

use std::cell::Cell;
use std::time::Instant;

use anyhow::{anyhow, bail, ensure, Context};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use axum::Router;
use mock_server::s256_challenge;

use crate::inproc::{Outcome, World, ORIGIN, REDIRECT_URI, VERIFIER};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Map, Value};
use url::Url;

/// Above axum's default 2 MiB request-body limit, so the limit's refusal is exercised too.
const HUGE: usize = 2 * 1024 * 1024 + 17;
const TARGETS: u32 = 8;

// ---------------------------------------------------------------------------------------------
// What the fuzzer adds to the in-process world.

impl World {
    fn resolve(&self, slot: &Slot) -> String {
        match slot {
            Slot::Lit(s) => s.clone(),
            Slot::ClientId => self.client_id.clone(),
            Slot::AccessToken => self.access_token.clone(),
            Slot::RefreshToken => self.refresh_token.borrow().clone(),
            Slot::FreshCode => self
                .mint_code()
                .unwrap_or_else(|e| format!("mint failed: {e}")),
            Slot::PendingRequest => self
                .pending_request()
                .unwrap_or_else(|e| format!("authorize failed: {e}")),
            Slot::SessionId => self.session_id.clone(),
        }
    }

    /// Builds the request, sends it, and judges the answer and the log.
    fn check(&self, input: &Input, judge: Judge) -> Result<(), TestCaseError> {
        let request = self.build(input).map_err(|e| {
            TestCaseError::fail(format!("the generator made an unsendable request: {e:#}"))
        })?;
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let outcome = self.send(request);
        let (status, headers, body) = match outcome {
            Outcome::Answered {
                status,
                headers,
                body,
            } => (status, headers, body),
            Outcome::Panicked(message) => {
                return Err(TestCaseError::fail(format!("panicked: {message}")))
            }
        };
        *self
            .statuses
            .borrow_mut()
            .entry(status.as_u16())
            .or_default() += 1;
        // The log is read before judging, so a failing case does not leave records behind that
        // the next (shrinking) case would be blamed for.
        let records = self.state.received_requests_after(self.seen.get());
        if let Some(last) = records.last() {
            self.seen.set(last.seq);
        }
        let [record] = records.as_slice() else {
            return Err(TestCaseError::fail(format!(
                "{method} {path}: expected one access-log record, found {}",
                records.len()
            )));
        };
        if record.method != method.as_str()
            || record.path != path
            || record.status != status.as_u16()
        {
            return Err(TestCaseError::fail(format!(
                "{method} {path} -> {status} was logged as {} {} -> {}",
                record.method, record.path, record.status
            )));
        }
        let verdict = judge(&Answer {
            method: &method,
            status,
            headers: &headers,
            body: &body,
        });
        if let Err(error) = verdict {
            return Err(TestCaseError::fail(format!(
                "{method} {path} -> {status}: {error:#}\nbody: {}",
                String::from_utf8_lossy(&body[..body.len().min(600)])
            )));
        }
        // Keep the world's refresh token alive when a generated refresh happened to succeed.
        if status == StatusCode::OK && path == "/oauth/token" {
            if let Ok(tokens) = serde_json::from_slice::<Value>(&body) {
                if let Some(rt) = tokens["refresh_token"].as_str() {
                    *self.refresh_token.borrow_mut() = rt.to_owned();
                }
            }
        }
        Ok(())
    }

    fn build(&self, input: &Input) -> anyhow::Result<Request<Body>> {
        let query = input.query.as_ref().map(|q| q.render(self));
        let target = match query {
            // The http crate refuses URIs past 64 KiB (as HTTP servers refuse them with 414
            // before any handler runs); longer generated queries are cut to 32 KiB.
            Some(q) => format!(
                "{}?{}",
                input.path,
                escape_for_uri(&q[..q.len().min(32 << 10)])
            ),
            None => input.path.clone(),
        };
        let uri: Uri = target.parse()?;
        let mut builder = Request::builder().method(input.method.clone()).uri(uri);
        for (name, value) in &input.headers {
            let value = match value {
                HeaderSlot::Bytes(bytes) => HeaderValue::from_bytes(bytes)?,
                HeaderSlot::Bearer(slot) => {
                    header_value(format!("Bearer {}", self.resolve(slot)).as_bytes())?
                }
                HeaderSlot::Slot(slot) => header_value(self.resolve(slot).as_bytes())?,
            };
            builder = builder.header(name.clone(), value);
        }
        let body = match &input.body {
            BodySpec::Raw(bytes) => bytes.clone(),
            BodySpec::Json(value, encoding) => encoding.apply(value.to_string().into_bytes()),
            BodySpec::Form(form) => form.render(self),
            BodySpec::Huge(fill) => {
                let mut body =
                    br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":""#.to_vec();
                body.resize(HUGE, *fill);
                body.extend_from_slice(br#""}}"#);
                body
            }
        };
        Ok(builder.body(Body::from(body))?)
    }
}

/// A generated string as a header value: control characters, which no HTTP/1.1 peer could send
/// in a field value, become `?`; the rest (UTF-8 included, as obs-text) goes as is.
fn header_value(bytes: &[u8]) -> anyhow::Result<HeaderValue> {
    let cleaned: Vec<u8> = bytes
        .iter()
        .map(|&b| {
            if (b < 0x20 && b != b'\t') || b == 0x7f {
                b'?'
            } else {
                b
            }
        })
        .collect();
    Ok(HeaderValue::from_bytes(&cleaned)?)
}

/// A generated query string may hold anything; a URI may not. Bytes a URI cannot carry are
/// percent-encoded, which is what a client's HTTP library would do; `%` itself is left alone so
/// broken escapes (`%ZZ`, `%FF`) reach the server as sent.
fn escape_for_uri(raw: &[u8]) -> String {
    let mut out = String::new();
    for &b in raw {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Generated inputs.

/// A value that may come from the world (a valid client id, token, session) or be literal.
#[derive(Debug, Clone)]
enum Slot {
    Lit(String),
    ClientId,
    AccessToken,
    RefreshToken,
    FreshCode,
    PendingRequest,
    SessionId,
}

#[derive(Clone)]
enum HeaderSlot {
    Bytes(Vec<u8>),
    Bearer(Slot),
    Slot(Slot),
}

impl std::fmt::Debug for HeaderSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderSlot::Bytes(bytes) => write!(f, "{:?}", String::from_utf8_lossy(bytes)),
            HeaderSlot::Bearer(slot) => write!(f, "Bearer {slot:?}"),
            HeaderSlot::Slot(slot) => write!(f, "{slot:?}"),
        }
    }
}

/// Form or query parameters, rendered encoded or deliberately broken.
#[derive(Debug, Clone)]
struct FormSpec {
    pairs: Vec<(String, Slot)>,
    encoding: FormEncoding,
}

#[derive(Debug, Clone)]
enum FormEncoding {
    Proper,
    /// `k=v&...` without escaping: `&`, `=`, `%` and non-ASCII go through raw.
    Raw,
    /// Proper, then bytes spliced in (invalid UTF-8, broken escapes, NULs).
    Spliced(usize, Vec<u8>),
}

impl FormSpec {
    fn render(&self, world: &World) -> Vec<u8> {
        let pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .map(|(k, v)| (k.clone(), world.resolve(v)))
            .collect();
        let proper = || {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish()
                .into_bytes()
        };
        match &self.encoding {
            FormEncoding::Proper => proper(),
            FormEncoding::Raw => pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
            FormEncoding::Spliced(at, bytes) => {
                let mut body = proper();
                let at = at % (body.len() + 1);
                body.splice(at..at, bytes.iter().copied());
                body
            }
        }
    }
}

/// How a JSON document is turned into bytes.
#[derive(Debug, Clone)]
enum Encoding {
    Utf8,
    Truncated(usize),
    Spliced(usize, Vec<u8>),
    Utf16Le,
    Bom,
}

impl Encoding {
    fn apply(&self, json: Vec<u8>) -> Vec<u8> {
        match self {
            Encoding::Utf8 => json,
            Encoding::Truncated(at) => json[..at % (json.len() + 1)].to_vec(),
            Encoding::Spliced(at, bytes) => {
                let mut json = json;
                let at = at % (json.len() + 1);
                json.splice(at..at, bytes.iter().copied());
                json
            }
            Encoding::Utf16Le => String::from_utf8_lossy(&json)
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
            Encoding::Bom => [&[0xEF, 0xBB, 0xBF][..], &json].concat(),
        }
    }
}

#[derive(Debug, Clone)]
enum BodySpec {
    Raw(Vec<u8>),
    Json(Value, Encoding),
    Form(FormSpec),
    /// A body just over the request-body limit, filled with one byte.
    Huge(u8),
}

#[derive(Debug, Clone)]
struct Input {
    method: Method,
    path: String,
    query: Option<FormSpec>,
    headers: Vec<(HeaderName, HeaderSlot)>,
    body: BodySpec,
}

struct Answer<'a> {
    method: &'a Method,
    status: StatusCode,
    headers: &'a axum::http::HeaderMap,
    body: &'a [u8],
}

type Judge = fn(&Answer<'_>) -> anyhow::Result<()>;

/// Strings that have broken parsers before: empty, whitespace, escapes, control and bidi
/// characters, path tricks, the protocol's own words in the wrong place, and long ones.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "", " ", "null", "0", "-1", "1e309", "true", "[]", "{}", "mcp", "mcp mcp", "openid",
            "S256", "plain", "code", "token", "authorization_code", "refresh_token", "password",
            "approve", "deny", "none", "client_secret_basic", "http://127.0.0.1:9/callback",
            "http://127.0.0.1:9/callback/", "HTTP://127.0.0.1:9/callback", "http://127.0.0.1:9/",
            "http://127.0.0.1:9", "https://evil.example/", "myapp://cb", "javascript:alert(1)",
            "http://127.0.0.1:9/#frag", "\u{0}", "\u{202e}", "\u{feff}", "💥", "\r\n", "%00",
            "%ZZ", "%FF%FE", "../../etc/passwd", "<script>", "\"'", "2025-11-25", "2025-03-26",
            "2026-07-28", "initialize", "tools/list", "tools/call", "ping", "hello", "add",
            "get_weather", "search_notes", "whoami", "notifications/initialized",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ])
        .prop_map(str::to_owned),
        3 => prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
        1 => (prop::sample::select(vec!["a", "%", "\u{7f}", "é", "\\"]), 200usize..6000)
            .prop_map(|(s, n)| s.repeat(n)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        nasty_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((nasty_string(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid document, then changed the way broken clients change them: a field dropped, a field
/// of the wrong type, an unknown field, the whole thing replaced or wrapped in an array.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    Drop(usize),
    Retype(usize, Value),
    Add(String, Value),
    Nested(usize, usize, Value),
    Replace(Value),
    Wrap,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => Just(Mutation::None),
        2 => any::<usize>().prop_map(Mutation::Drop),
        3 => (any::<usize>(), json_value()).prop_map(|(i, v)| Mutation::Retype(i, v)),
        1 => (nasty_string(), json_value()).prop_map(|(k, v)| Mutation::Add(k, v)),
        2 => (any::<usize>(), any::<usize>(), json_value())
            .prop_map(|(i, j, v)| Mutation::Nested(i, j, v)),
        1 => json_value().prop_map(Mutation::Replace),
        1 => Just(Mutation::Wrap),
    ]
}

fn mutate(mut doc: Value, mutation: &Mutation) -> Value {
    fn nth_key(map: &Map<String, Value>, i: usize) -> Option<String> {
        (!map.is_empty())
            .then(|| map.keys().nth(i % map.len()).cloned())
            .flatten()
    }
    match mutation {
        Mutation::None => doc,
        Mutation::Drop(i) => {
            if let Some(map) = doc.as_object_mut() {
                if let Some(key) = nth_key(map, *i) {
                    map.remove(&key);
                }
            }
            doc
        }
        Mutation::Retype(i, v) => {
            if let Some(map) = doc.as_object_mut() {
                if let Some(key) = nth_key(map, *i) {
                    map.insert(key, v.clone());
                }
            }
            doc
        }
        Mutation::Add(k, v) => {
            if let Some(map) = doc.as_object_mut() {
                map.insert(k.clone(), v.clone());
            }
            doc
        }
        Mutation::Nested(i, j, v) => {
            if let Some(map) = doc.as_object_mut() {
                if let Some(key) = nth_key(map, *i) {
                    if let Some(inner) = map.get_mut(&key).and_then(Value::as_object_mut) {
                        if let Some(inner_key) = nth_key(inner, *j) {
                            inner.insert(inner_key, v.clone());
                        }
                    }
                }
            }
            doc
        }
        Mutation::Replace(v) => v.clone(),
        Mutation::Wrap => Value::Array(vec![doc]),
    }
}

fn bad_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            vec![0xFF],
            vec![0xFE, 0xFF],
            vec![0x80],
            vec![0xC0, 0xAF],
            vec![0xED, 0xA0, 0x80],
            vec![0xF4, 0x90, 0x80, 0x80],
            vec![0x00],
            b"%FF".to_vec(),
            b"%".to_vec(),
            b"%%".to_vec(),
            b"&&==".to_vec(),
            b"\\u0000".to_vec(),
            b"\\ud800".to_vec(),
            b"\"".to_vec(),
            b"}".to_vec(),
        ]),
        prop::collection::vec(any::<u8>(), 1..8),
    ]
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        6 => Just(Encoding::Utf8),
        2 => any::<usize>().prop_map(Encoding::Truncated),
        3 => (any::<usize>(), bad_bytes()).prop_map(|(at, b)| Encoding::Spliced(at, b)),
        1 => Just(Encoding::Utf16Le),
        1 => Just(Encoding::Bom),
    ]
}

/// A JSON body built from `templates`, mutated and encoded; sometimes raw bytes, sometimes huge.
fn json_body(templates: Vec<Value>) -> impl Strategy<Value = BodySpec> {
    prop_oneof![
        20 => (prop::sample::select(templates), mutation(), encoding())
            .prop_map(|(t, m, e)| BodySpec::Json(mutate(t, &m), e)),
        3 => prop::collection::vec(any::<u8>(), 0..200).prop_map(BodySpec::Raw),
        1 => any::<u8>().prop_map(BodySpec::Huge),
    ]
}

fn slot(known: Vec<Slot>) -> impl Strategy<Value = Slot> {
    prop_oneof![
        3 => prop::sample::select(known),
        2 => nasty_string().prop_map(Slot::Lit),
    ]
}

/// Form or query parameters: mostly the endpoint's own names with good or bad values, some
/// unknown names, some repeated.
/// One change to a valid parameter list.
#[derive(Debug, Clone)]
enum Edit {
    Drop(usize),
    Replace(usize, Slot),
    Duplicate(usize),
    Add(String, Slot),
}

fn apply_edits(mut pairs: Vec<(String, Slot)>, edits: &[Edit]) -> Vec<(String, Slot)> {
    for edit in edits {
        let n = pairs.len();
        match edit {
            Edit::Drop(i) if n > 0 => {
                pairs.remove(i % n);
            }
            Edit::Replace(i, slot) if n > 0 => pairs[i % n].1 = slot.clone(),
            Edit::Duplicate(i) if n > 0 => pairs.push(pairs[i % n].clone()),
            Edit::Add(name, slot) => pairs.push((name.clone(), slot.clone())),
            _ => {}
        }
    }
    pairs
}

/// Parameters: either a valid list with a few edits (so the checks past the first one are
/// reached), or names and values drawn at random.
fn form(
    names: Vec<&'static str>,
    values: Vec<Slot>,
    valid: Vec<(&'static str, Slot)>,
) -> impl Strategy<Value = FormSpec> {
    let name = prop_oneof![
        6 => prop::sample::select(names).prop_map(str::to_owned),
        1 => nasty_string(),
    ];
    let valid: Vec<(String, Slot)> = valid.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let edit = prop_oneof![
        any::<usize>().prop_map(Edit::Drop),
        (any::<usize>(), slot(values.clone())).prop_map(|(i, v)| Edit::Replace(i, v)),
        any::<usize>().prop_map(Edit::Duplicate),
        (name.clone(), slot(values.clone())).prop_map(|(k, v)| Edit::Add(k, v)),
    ];
    let edited =
        prop::collection::vec(edit, 0..3).prop_map(move |edits| apply_edits(valid.clone(), &edits));
    let random = prop::collection::vec((name, slot(values)), 0..9);
    let pairs = prop_oneof![3 => edited, 2 => random];
    let encoding = prop_oneof![
        6 => Just(FormEncoding::Proper),
        1 => Just(FormEncoding::Raw),
        2 => (any::<usize>(), bad_bytes()).prop_map(|(at, b)| FormEncoding::Spliced(at, b)),
    ];
    (pairs, encoding).prop_map(|(pairs, encoding)| FormSpec { pairs, encoding })
}

fn form_body(
    names: Vec<&'static str>,
    values: Vec<Slot>,
    valid: Vec<(&'static str, Slot)>,
) -> impl Strategy<Value = BodySpec> {
    prop_oneof![
        12 => form(names, values, valid).prop_map(BodySpec::Form),
        2 => prop::collection::vec(any::<u8>(), 0..200).prop_map(BodySpec::Raw),
        1 => any::<u8>().prop_map(BodySpec::Huge),
    ]
}

fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    // What a HeaderValue can hold: visible ASCII, space, tab and obs-text (0x80-0xFF).
    let byte = prop_oneof![
        8 => 0x20u8..0x7f,
        2 => 0x80u8..=0xff,
        1 => Just(b'\t'),
    ];
    // Long values are a short run repeated: generating 8 KiB byte by byte would make the
    // generator, not the server, the cost of each case.
    prop_oneof![
        6 => prop::collection::vec(byte.clone(), 0..40),
        1 => (prop::collection::vec(byte, 1..8), 500usize..1200).prop_map(|(run, n)| run.repeat(n)),
    ]
}

fn choice(values: &[&'static str]) -> impl Strategy<Value = HeaderSlot> {
    let values: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
    prop_oneof![
        5 => prop::sample::select(values).prop_map(HeaderSlot::Bytes),
        1 => header_bytes().prop_map(HeaderSlot::Bytes),
    ]
}

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=ISO-8859-1",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/json-seq",
    "",
    ";",
];

/// The headers of a request: the endpoint's main content type most of the time, plus optional
/// Accept, Authorization, MCP session and version headers, and odd extras (repeated, huge,
/// obs-text, hop-by-hop).
fn headers(
    main_content_type: &'static str,
) -> impl Strategy<Value = Vec<(HeaderName, HeaderSlot)>> {
    let content_type = prop_oneof![
        6 => Just(Some(HeaderSlot::Bytes(main_content_type.as_bytes().to_vec()))),
        3 => choice(CONTENT_TYPES).prop_map(Some),
        1 => Just(None),
    ];
    let accept = prop::option::of(choice(&[
        "application/json, text/event-stream",
        "application/json",
        "text/event-stream",
        "*/*",
        "application/*",
        "text/html",
        "application/json;q=0",
    ]));
    let token_slot = slot(vec![Slot::RefreshToken]);
    let authorization = prop_oneof![
        2 => Just(None),
        8 => Just(Some(HeaderSlot::Bearer(Slot::AccessToken))),
        1 => token_slot.prop_map(|s| Some(HeaderSlot::Bearer(s))),
        2 => choice(&["Bearer", "Bearer ", "bearer x", "Basic Zm9vOmJhcg==", "Bearer  a b", "Negotiate"]).prop_map(Some),
    ];
    let session = prop_oneof![
        3 => Just(None),
        4 => Just(Some(HeaderSlot::Slot(Slot::SessionId))),
        2 => choice(&["no-such-session", "", "00000000-0000-0000-0000-000000000000"]).prop_map(Some),
    ];
    let version = prop_oneof![
        3 => Just(None),
        3 => choice(&["2025-11-25", "2025-06-18", "2025-03-26", "2026-07-28", "1900-01-01"]).prop_map(Some),
    ];
    let extra_name = prop::sample::select(vec![
        "x-forwarded-for",
        "forwarded",
        "origin",
        "cookie",
        "expect",
        "connection",
        "te",
        "range",
        "content-encoding",
        "accept-encoding",
        "accept-charset",
        "x-http-method-override",
        "authorization",
        "content-type",
        "mcp-session-id",
        "last-event-id",
        "x-\u{0}",
    ])
    .prop_filter_map("a valid header name", |n| {
        HeaderName::from_bytes(n.as_bytes()).ok()
    });
    let extras = prop::collection::vec(
        (extra_name, header_bytes().prop_map(HeaderSlot::Bytes)),
        0..3,
    );
    (
        content_type,
        accept,
        authorization,
        session,
        version,
        extras,
    )
        .prop_map(
            |(content_type, accept, authorization, session, version, extras)| {
                let mut headers = Vec::new();
                let named = [
                    ("content-type", content_type),
                    ("accept", accept),
                    ("authorization", authorization),
                    ("mcp-session-id", session),
                    ("mcp-protocol-version", version),
                ];
                for (name, value) in named {
                    if let Some(value) = value {
                        headers.push((HeaderName::from_static(name), value));
                    }
                }
                headers.extend(extras);
                headers
            },
        )
}

fn method(main: Method, others: Vec<Method>) -> impl Strategy<Value = Method> {
    let mut all = others;
    all.extend([
        Method::PUT,
        Method::PATCH,
        Method::OPTIONS,
        Method::HEAD,
        Method::from_bytes(b"FROB").unwrap_or(Method::TRACE),
    ]);
    prop_oneof![
        12 => Just(main),
        1 => prop::sample::select(all),
    ]
}

fn input(
    method: impl Strategy<Value = Method>,
    path: impl Strategy<Value = String>,
    query: impl Strategy<Value = Option<FormSpec>>,
    headers: impl Strategy<Value = Vec<(HeaderName, HeaderSlot)>>,
    body: impl Strategy<Value = BodySpec>,
) -> impl Strategy<Value = Input> {
    (method, path, query, headers, body).prop_map(|(method, path, query, headers, body)| Input {
        method,
        path,
        query,
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------------------------
// Judges: what a correct answer looks like, per endpoint.

fn json_of(answer: &Answer<'_>) -> anyhow::Result<Value> {
    let content_type = answer
        .headers
        .get("content-type")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    ensure!(
        content_type.starts_with(b"application/json"),
        "content-type {:?} is not JSON",
        String::from_utf8_lossy(content_type)
    );
    serde_json::from_slice(answer.body).context("the body is not JSON")
}

/// Status checks every endpoint shares: no server errors, no panics turned into 500s, and a wrong
/// method gets 405 with `Allow` (RFC 9110 §15.5.6).
fn common(answer: &Answer<'_>, allowed: &[Method]) -> anyhow::Result<bool> {
    ensure!(
        !answer.status.is_server_error(),
        "a server error for a client's mistake"
    );
    let allowed_here = allowed.contains(answer.method)
        || (answer.method == Method::HEAD && allowed.contains(&Method::GET));
    if !allowed_here {
        ensure!(
            answer.status == StatusCode::METHOD_NOT_ALLOWED,
            "{} is not served here but got {}",
            answer.method,
            answer.status
        );
        ensure!(answer.headers.contains_key("allow"), "405 without Allow");
        return Ok(false);
    }
    // A HEAD answer has no body to judge.
    Ok(answer.method != Method::HEAD)
}

/// RFC 6749 §5.2 error JSON with one of `codes`; `no-store` when `token` (RFC 6749 §5.1).
fn oauth_error(answer: &Answer<'_>, codes: &[&str], token: bool) -> anyhow::Result<()> {
    ensure!(
        answer.status.is_client_error(),
        "{} is neither success nor a client error",
        answer.status
    );
    let body = json_of(answer)?;
    let error = body["error"].as_str().context("no string error")?;
    ensure!(
        codes.contains(&error),
        "error {error:?} is not one of {codes:?}"
    );
    ensure!(
        body.get("error_description").is_none_or(Value::is_string),
        "error_description is not a string"
    );
    if token {
        ensure!(
            answer.headers.get("cache-control").map(|v| v.as_bytes()) == Some(b"no-store"),
            "no Cache-Control: no-store"
        );
        // RFC 6749 §5.2: invalid_client is the 401 one.
        ensure!(
            (answer.status == StatusCode::UNAUTHORIZED) == (error == "invalid_client")
                || answer.status == StatusCode::PAYLOAD_TOO_LARGE,
            "{error} with {}",
            answer.status
        );
    }
    Ok(())
}

const TOKEN_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
];

fn judge_token(answer: &Answer<'_>) -> anyhow::Result<()> {
    if !common(answer, &[Method::POST])? {
        return Ok(());
    }
    if answer.status == StatusCode::OK {
        let body = json_of(answer)?;
        ensure!(body["access_token"].is_string() && body["token_type"] == "Bearer");
        return Ok(());
    }
    oauth_error(answer, TOKEN_ERRORS, true)
}

fn judge_register(answer: &Answer<'_>) -> anyhow::Result<()> {
    if !common(answer, &[Method::POST])? {
        return Ok(());
    }
    if answer.status == StatusCode::CREATED {
        let body = json_of(answer)?;
        ensure!(body["client_id"].is_string(), "201 without client_id");
        return Ok(());
    }
    oauth_error(
        answer,
        &["invalid_client_metadata", "invalid_redirect_uri"],
        false,
    )
}

/// RFC 6749 §4.1.2.1 codes.
const AUTHORIZE_ERRORS: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "invalid_client",
    "invalid_target",
];

/// The authorization endpoint and consent form answer a browser: a page (the consent form, or an
/// error page when the redirect URI cannot be trusted) or a redirect to the registered URI with
/// `code` or `error`.
fn judge_browser(answer: &Answer<'_>, allowed: &[Method]) -> anyhow::Result<()> {
    if !common(answer, allowed)? {
        return Ok(());
    }
    let html = String::from_utf8_lossy(answer.body);
    match answer.status {
        StatusCode::OK => ensure!(
            html.contains("name=\"request_id\""),
            "200 without the consent form"
        ),
        StatusCode::FOUND => {
            let location = answer
                .headers
                .get("location")
                .context("302 without Location")?
                .to_str()?;
            ensure!(
                location.starts_with(REDIRECT_URI),
                "redirected to {location}, which is not the registered URI"
            );
            let url = Url::parse(location)?;
            let param = |name: &str| {
                url.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            };
            match (param("code"), param("error")) {
                (Some(_), None) => {}
                (None, Some(error)) => ensure!(
                    AUTHORIZE_ERRORS.contains(&error.as_str()),
                    "redirected with error {error:?}"
                ),
                _ => bail!("a redirect must carry either code or error: {location}"),
            }
        }
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::BAD_REQUEST => {
            let start = html
                .find("<code id=\"error\">")
                .context("no error on the page")?
                + "<code id=\"error\">".len();
            let end = html[start..].find('<').context("unterminated error")? + start;
            let error = &html[start..end];
            ensure!(
                AUTHORIZE_ERRORS.contains(&error),
                "error page with {error:?}"
            );
        }
        other => bail!("unexpected {other}"),
    }
    Ok(())
}

fn judge_authorize(answer: &Answer<'_>) -> anyhow::Result<()> {
    judge_browser(answer, &[Method::GET])
}

fn judge_consent(answer: &Answer<'_>) -> anyhow::Result<()> {
    judge_browser(answer, &[Method::POST])
}

fn judge_metadata(answer: &Answer<'_>) -> anyhow::Result<()> {
    if !common(answer, &[Method::GET])? {
        return Ok(());
    }
    ensure!(
        answer.status == StatusCode::OK,
        "metadata must always be served"
    );
    let body = json_of(answer)?;
    ensure!(
        body["issuer"].is_string() || body["resource"].is_string(),
        "neither issuer nor resource"
    );
    Ok(())
}

/// A JSON-RPC 2.0 error response object.
fn json_rpc_error(body: &Value) -> anyhow::Result<()> {
    ensure!(body["jsonrpc"] == "2.0", "no jsonrpc 2.0");
    let id = body.get("id").context("no id member")?;
    ensure!(
        id.is_null() || id.is_string() || id.is_number(),
        "id {id} is neither null, a string nor a number"
    );
    ensure!(body["error"]["code"].is_i64(), "no integer error code");
    ensure!(body["error"]["message"].is_string(), "no error message");
    ensure!(body.get("result").is_none(), "both result and error");
    Ok(())
}

fn judge_mcp(answer: &Answer<'_>) -> anyhow::Result<()> {
    if !common(answer, &[Method::GET, Method::POST, Method::DELETE])? {
        return Ok(());
    }
    let status = answer.status;
    match status {
        // RFC 6750 §3 / RFC 9728 §5.1.
        StatusCode::UNAUTHORIZED => {
            let challenge = answer
                .headers
                .get("www-authenticate")
                .context("401 without WWW-Authenticate")?
                .to_str()?;
            ensure!(
                challenge.starts_with(&format!(
                    "Bearer resource_metadata=\"{ORIGIN}/.well-known/oauth-protected-resource\""
                )),
                "challenge {challenge:?}"
            );
            let body = json_of(answer)?;
            ensure!(
                matches!(
                    body["error"].as_str(),
                    Some("invalid_token" | "unauthorized")
                ),
                "401 body {body}"
            );
        }
        StatusCode::ACCEPTED | StatusCode::NO_CONTENT => {
            ensure!(answer.body.is_empty(), "{status} with a body");
        }
        StatusCode::OK if answer.method == Method::GET => {
            ensure!(
                answer.headers["content-type"] == "text/event-stream",
                "GET 200 that is not a stream"
            );
        }
        StatusCode::OK => {
            let body = json_of(answer)?;
            if body.get("error").is_some() {
                json_rpc_error(&body)?;
            } else {
                ensure!(
                    body["jsonrpc"] == "2.0" && body.get("id").is_some(),
                    "not a JSON-RPC response"
                );
                ensure!(body["result"].is_object(), "no result object");
            }
        }
        // GET without `Accept: text/event-stream` (Streamable HTTP: 405 when no stream is offered),
        // and GET or DELETE declaring 2026-07-28, which has neither sessions nor the GET stream.
        StatusCode::METHOD_NOT_ALLOWED
            if answer.method == Method::GET || answer.method == Method::DELETE =>
        {
            ensure!(answer.headers.contains_key("allow"), "405 without Allow");
        }
        _ if status.is_client_error() => json_rpc_error(&json_of(answer)?)?,
        _ => bail!("unexpected {status}"),
    }
    Ok(())
}

/// Paths nobody serves get a 404; served ones are judged by their own judge.
fn judge_anywhere(answer: &Answer<'_>) -> anyhow::Result<()> {
    ensure!(
        !answer.status.is_server_error(),
        "a server error for a client's mistake"
    );
    ensure!(
        answer.status.is_client_error()
            || answer.status.is_success()
            || answer.status == StatusCode::FOUND,
        "unexpected {}",
        answer.status
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The runner.

fn total_cases() -> u32 {
    std::env::var("MOCK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000)
}

/// One seed per process, so every endpoint's line names the same seed to replay.
fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("MOCK_FUZZ_SEED").as_deref() {
        Ok("random") => rand_seed(),
        Ok(n) => n.parse().unwrap_or(20_260_101),
        Err(_) => 20_260_101,
    })
}

fn rand_seed() -> u64 {
    // Good enough for a seed: the clock's nanoseconds mixed with the process id.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// Runs `cases` generated inputs against a fresh world and prints the count.
fn fuzz(target: &str, strategy: impl Strategy<Value = Input>, judge: Judge) -> anyhow::Result<()> {
    let cases = total_cases().div_ceil(TARGETS).max(1);
    let seed = seed();
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    for (i, b) in target.bytes().enumerate().take(24) {
        seed_bytes[8 + i] = b;
    }
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let world = World::new()?;
    let ran = Cell::new(0u64);
    let started = Instant::now();
    let result = runner.run(&strategy, |input| {
        ran.set(ran.get() + 1);
        world.check(&input, judge)
    });
    println!(
        "fuzz-cases: {target} {} generated inputs run (of {} asked for) in {:.1}s, seed {seed}",
        ran.get(),
        cases,
        started.elapsed().as_secs_f64()
    );
    println!("  statuses: {:?}", world.statuses.borrow());
    result.map_err(|e| anyhow!("{target} (seed {seed}): {e}"))
}

const MCP_NAMES: &[&str] = &[
    "initialize",
    "notifications/initialized",
    "tools/list",
    "tools/call",
    "ping",
    "server/discover",
    "resources/list",
];

fn mcp_templates() -> Vec<Value> {
    let mut templates = vec![
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "f", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": "a", "method": "tools/list", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 3, "result": {}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "hello", "arguments": {"name": "x"}}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2.5}}}),
        json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "get_weather", "arguments": {"city": "Oslo", "units": "imperial"}}}),
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "search_notes", "arguments": {"query": "token", "limit": 3}}}),
        json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}),
    ];
    templates.extend(
        MCP_NAMES
            .iter()
            .map(|m| json!({"jsonrpc": "2.0", "id": 9, "method": m})),
    );
    templates
}

#[test]
fn the_mcp_endpoint_answers_generated_posts_with_json_rpc_errors_and_logs_each(
) -> anyhow::Result<()> {
    fuzz(
        "mcp-post",
        input(
            method(Method::POST, vec![]),
            Just("/".to_owned()),
            Just(None),
            headers("application/json"),
            json_body(mcp_templates()),
        ),
        judge_mcp,
    )
}

#[test]
fn the_mcp_endpoint_answers_generated_gets_and_deletes_correctly() -> anyhow::Result<()> {
    fuzz(
        "mcp-get-delete",
        input(
            prop::sample::select(vec![Method::GET, Method::DELETE, Method::HEAD]),
            Just("/".to_owned()),
            prop::option::of(form(vec!["sessionId", "x"], vec![Slot::SessionId], vec![])),
            headers("application/json"),
            prop_oneof![
                4 => Just(BodySpec::Raw(Vec::new())),
                1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(BodySpec::Raw),
            ],
        ),
        judge_mcp,
    )
}

#[test]
fn the_token_endpoint_answers_generated_forms_with_rfc_6749_errors() -> anyhow::Result<()> {
    fuzz(
        "token",
        input(
            method(Method::POST, vec![Method::GET]),
            Just("/oauth/token".to_owned()),
            Just(None),
            headers("application/x-www-form-urlencoded"),
            form_body(
                vec![
                    "grant_type",
                    "code",
                    "client_id",
                    "redirect_uri",
                    "code_verifier",
                    "resource",
                    "refresh_token",
                    "scope",
                    "client_secret",
                ],
                vec![
                    Slot::ClientId,
                    Slot::FreshCode,
                    Slot::RefreshToken,
                    Slot::Lit("authorization_code".to_owned()),
                    Slot::Lit("refresh_token".to_owned()),
                    Slot::Lit(REDIRECT_URI.to_owned()),
                    Slot::Lit(VERIFIER.to_owned()),
                    Slot::Lit(format!("{ORIGIN}/")),
                    Slot::Lit("mcp".to_owned()),
                ],
                vec![
                    ("grant_type", Slot::Lit("authorization_code".to_owned())),
                    ("code", Slot::FreshCode),
                    ("client_id", Slot::ClientId),
                    ("redirect_uri", Slot::Lit(REDIRECT_URI.to_owned())),
                    ("code_verifier", Slot::Lit(VERIFIER.to_owned())),
                    ("resource", Slot::Lit(format!("{ORIGIN}/"))),
                ],
            ),
        ),
        judge_token,
    )
}

#[test]
fn the_registration_endpoint_answers_generated_metadata_with_rfc_7591_errors() -> anyhow::Result<()>
{
    fuzz(
        "register",
        input(
            method(Method::POST, vec![Method::GET]),
            Just("/oauth/register".to_owned()),
            Just(None),
            headers("application/json"),
            json_body(vec![
                json!({"client_name": "x", "redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code", "refresh_token"],
                       "response_types": ["code"], "token_endpoint_auth_method": "none"}),
                json!({"redirect_uris": ["https://app.example/cb", "http://localhost:1/cb"]}),
                json!({"redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code"]}),
            ]),
        ),
        judge_register,
    )
}

#[test]
fn the_authorization_endpoint_answers_generated_queries_with_a_page_or_an_error_redirect(
) -> anyhow::Result<()> {
    fuzz(
        "authorize",
        input(
            method(Method::GET, vec![Method::POST]),
            Just("/oauth/authorize".to_owned()),
            form(
                vec![
                    "response_type",
                    "client_id",
                    "redirect_uri",
                    "code_challenge",
                    "code_challenge_method",
                    "state",
                    "resource",
                    "scope",
                ],
                vec![
                    Slot::ClientId,
                    Slot::Lit("code".to_owned()),
                    Slot::Lit(REDIRECT_URI.to_owned()),
                    Slot::Lit(s256_challenge(VERIFIER)),
                    Slot::Lit("S256".to_owned()),
                    Slot::Lit(format!("{ORIGIN}/")),
                    Slot::Lit("mcp".to_owned()),
                ],
                vec![
                    ("response_type", Slot::Lit("code".to_owned())),
                    ("client_id", Slot::ClientId),
                    ("redirect_uri", Slot::Lit(REDIRECT_URI.to_owned())),
                    ("code_challenge", Slot::Lit(s256_challenge(VERIFIER))),
                    ("code_challenge_method", Slot::Lit("S256".to_owned())),
                    ("state", Slot::Lit("xyz".to_owned())),
                    ("resource", Slot::Lit(format!("{ORIGIN}/"))),
                    ("scope", Slot::Lit("mcp".to_owned())),
                ],
            )
            .prop_map(Some),
            headers("text/html"),
            Just(BodySpec::Raw(Vec::new())),
        ),
        judge_authorize,
    )
}

#[test]
fn the_consent_form_answers_generated_submissions_with_a_page_or_a_redirect() -> anyhow::Result<()>
{
    fuzz(
        "consent",
        input(
            method(Method::POST, vec![Method::GET]),
            Just("/oauth/consent".to_owned()),
            Just(None),
            headers("application/x-www-form-urlencoded"),
            form_body(
                vec!["request_id", "decision"],
                vec![
                    Slot::Lit("approve".to_owned()),
                    Slot::Lit("deny".to_owned()),
                    Slot::ClientId,
                    Slot::PendingRequest,
                ],
                vec![
                    ("request_id", Slot::PendingRequest),
                    ("decision", Slot::Lit("approve".to_owned())),
                ],
            ),
        ),
        judge_consent,
    )
}

#[test]
fn the_metadata_documents_are_served_whatever_the_request_looks_like() -> anyhow::Result<()> {
    fuzz(
        "metadata",
        input(
            method(Method::GET, vec![Method::POST, Method::DELETE]),
            prop::sample::select(vec![
                "/.well-known/oauth-protected-resource".to_owned(),
                "/.well-known/oauth-protected-resource/".to_owned(),
                "/.well-known/oauth-authorization-server".to_owned(),
            ]),
            prop::option::of(form(vec!["resource", "x"], vec![Slot::ClientId], vec![])),
            headers("application/json"),
            prop_oneof![
                3 => Just(BodySpec::Raw(Vec::new())),
                1 => json_body(vec![json!({})]),
            ],
        ),
        judge_metadata,
    )
}

#[test]
fn any_method_on_any_path_gets_a_client_error_and_a_log_record() -> anyhow::Result<()> {
    let path = prop_oneof![
        2 => prop::sample::select(vec![
            "/oauth", "/oauth/", "/oauth/token/", "/oauth//token", "/OAUTH/TOKEN", "/%2e%2e/",
            "/.well-known/", "/.well-known/openid-configuration", "/__admin/access-log",
            "/__admin/", "/mcp", "/sse", "/messages", "/oauth/authorize/", "//",
        ])
        .prop_map(str::to_owned),
        1 => prop::collection::vec(
            prop::sample::select(b"abcxyz019-._~%/".to_vec()), 0..30)
            .prop_map(|p| format!("/{}", String::from_utf8_lossy(&p))),
    ];
    fuzz(
        "anywhere",
        input(
            prop::sample::select(vec![
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::PATCH,
                Method::OPTIONS,
                Method::HEAD,
                Method::CONNECT,
                Method::TRACE,
            ]),
            path.prop_filter("a URI path", |p| p.parse::<Uri>().is_ok()),
            Just(None),
            headers("application/json"),
            prop_oneof![
                3 => Just(BodySpec::Raw(Vec::new())),
                1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(BodySpec::Raw),
            ],
        ),
        judge_anywhere,
    )
}

// ---------------------------------------------------------------------------------------------
// Controls: the driver and the judges catch what they claim to.

/// A handler that always panics, standing in for a bug.
async fn boom() -> &'static str {
    panic!("boom")
}

/// A panic in a handler: in-process the driver reports it; over a socket, axum (which has no
/// catch-panic layer) drops the connection, so the client gets no status at all.
#[test]
fn a_panicking_handler_is_caught_by_the_driver_and_kills_a_served_connection() -> anyhow::Result<()>
{
    let mut world = World::new()?;
    world.app = world.app.clone().route("/boom", axum::routing::get(boom));
    let outcome = world.send(Request::get("/boom").body(Body::empty())?);
    let Outcome::Panicked(message) = outcome else {
        bail!("the driver did not notice the panic");
    };
    assert!(message.contains("boom"), "{message}");
    // The same world still answers afterwards.
    assert!(matches!(
        world.send(Request::get("/.well-known/oauth-authorization-server").body(Body::empty())?),
        Outcome::Answered {
            status: StatusCode::OK,
            ..
        }
    ));

    let app = Router::new().route("/boom", axum::routing::get(boom));
    let server = mock_server::runtime::BackgroundServer::spawn(
        "panicking",
        ([127, 0, 0, 1], 0).into(),
        app,
    )?;
    let url = format!("http://{}/boom", server.local_addr());
    let http = reqwest::Client::builder().no_proxy().build()?;
    let served = world.runtime.block_on(async move {
        tokio::time::timeout(std::time::Duration::from_secs(10), http.get(url).send()).await
    })?;
    let error = served
        .err()
        .context("a panicking handler produced a response")?;
    assert!(
        error.is_request() || error.is_connect() || error.is_body(),
        "{error}"
    );
    Ok(())
}

/// The judges are not vacuous: each refuses a wrong answer of the kind it exists to catch.
#[test]
fn the_judges_refuse_wrong_answers() {
    let mut json = axum::http::HeaderMap::new();
    json.insert("content-type", HeaderValue::from_static("application/json"));
    json.insert("cache-control", HeaderValue::from_static("no-store"));
    let text = axum::http::HeaderMap::new();
    let answer = |status, headers, body: &'static [u8]| {
        move |judge: Judge| {
            judge(&Answer {
                method: &Method::POST,
                status,
                headers,
                body,
            })
        }
    };
    let good = br#"{"error":"invalid_grant","error_description":"x"}"#;
    assert!(answer(StatusCode::BAD_REQUEST, &json, good)(judge_token).is_ok());
    // A plain-text 413, an unknown error code, a 401 that is not invalid_client, a 500.
    assert!(answer(StatusCode::PAYLOAD_TOO_LARGE, &text, b"too big")(judge_token).is_err());
    assert!(answer(StatusCode::BAD_REQUEST, &json, br#"{"error":"oops"}"#)(judge_token).is_err());
    assert!(answer(StatusCode::UNAUTHORIZED, &json, good)(judge_token).is_err());
    assert!(answer(StatusCode::INTERNAL_SERVER_ERROR, &json, good)(judge_token).is_err());
    // MCP: an OAuth-shaped body where a JSON-RPC error belongs, and a 200 without result.
    assert!(answer(StatusCode::BAD_REQUEST, &json, good)(judge_mcp).is_err());
    assert!(answer(
        StatusCode::BAD_REQUEST,
        &json,
        br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#
    )(judge_mcp)
    .is_ok());
    assert!(answer(StatusCode::OK, &json, br#"{"jsonrpc":"2.0","id":1}"#)(judge_mcp).is_err());
    // Consent: a redirect somewhere else.
    let mut elsewhere = axum::http::HeaderMap::new();
    elsewhere.insert(
        "location",
        HeaderValue::from_static("https://evil.example/?code=x"),
    );
    assert!(answer(StatusCode::FOUND, &elsewhere, b"")(judge_consent).is_err());
}

/// The log check is not vacuous: a request the world makes without `check` leaves a record that
/// the next `check` sees as one too many.
#[test]
fn the_log_check_notices_an_unaccounted_record() -> anyhow::Result<()> {
    let world = World::new()?;
    let input = Input {
        method: Method::GET,
        path: "/.well-known/oauth-authorization-server".to_owned(),
        query: None,
        headers: Vec::new(),
        body: BodySpec::Raw(Vec::new()),
    };
    world
        .check(&input, judge_metadata)
        .map_err(|e| anyhow!("{e}"))?;
    let _ = world.send(Request::get("/nowhere").body(Body::empty())?);
    let error = world
        .check(&input, judge_metadata)
        .err()
        .context("an extra record went unnoticed")?;
    assert!(error.to_string().contains("found 2"), "{error}");
    Ok(())
}
