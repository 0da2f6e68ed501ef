//! The CORS headers the seed report's server emits on `POST /` ("so it works even from
//! browser-style clients"), and answers to CORS preflights (`OPTIONS`, Fetch standard §4.8).
//! Only profiles that ask for it ([`crate::Profile::cors`]); the default profile sends none.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// As listed in the report, verbatim.
const HEADERS: [(&str, &str); 4] = [
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "GET, POST, DELETE, OPTIONS"),
    (
        "access-control-allow-headers",
        "Accept,Authorization,Content-Type,Last-Event-ID,Mcp-Protocol-Version,Mcp-Session-Id",
    ),
    ("access-control-expose-headers", "Mcp-Session-Id"),
];

fn add(headers: &mut HeaderMap) {
    for (name, value) in HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

pub(crate) async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.config().profile.cors() {
        return next.run(request).await;
    }
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        add(response.headers_mut());
        return response;
    }
    let on_mcp = request.uri().path() == state.config().mcp_path();
    let mut response = next.run(request).await;
    if on_mcp {
        add(response.headers_mut());
    }
    response
}
