//! Request-level middleware that is not an endpoint of its own: [`record_access`] writes one
//! [`AccessRecord`] per request into the access log ([`crate::access_log`]).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;

use crate::access_log::{AccessRecord, ConnectionDropped, Notes, OnAuthorizationServer};
use crate::api_error::ErrorSummary;
use crate::state::AppState;

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Middleware: records every request after its response is produced (for an SSE stream, when the
/// stream opens), including 404s and admin requests.
pub(crate) async fn record_access(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let at_ms = state.elapsed_ms();
    let notes = Notes::default();
    request.extensions_mut().insert(notes.clone());
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let headers = request.headers();
    let request_session = header_string(headers, "mcp-session-id");
    let protocol_version = header_string(headers, "mcp-protocol-version");
    let accept = header_string(headers, header::ACCEPT.as_str());
    let user_agent = header_string(headers, header::USER_AGENT.as_str());
    let mcp_method_header = header_string(headers, "mcp-method");
    let on_authorization_server = request
        .extensions()
        .get::<OnAuthorizationServer>()
        .is_some();

    let response = next.run(request).await;

    let n = notes.take();
    let issued_session = header_string(response.headers(), "mcp-session-id");
    // A dropped connection sends nothing: the status the handler produced never left.
    let dropped = response.extensions().get::<ConnectionDropped>().is_some();
    let error = n.error.or_else(|| {
        response
            .extensions()
            .get::<ErrorSummary>()
            .map(|e| e.0.clone())
    });
    let record = state.access_log().push(AccessRecord {
        seq: 0,
        at_ms,
        method,
        phase: state.config().phase_of(&path, on_authorization_server),
        path,
        rpc_method: n.rpc_method,
        rpc_id: n.rpc_id,
        rpc_kind: n.rpc_kind,
        tool_name: n.tool_name,
        grant_type: n.grant_type,
        client_id: n.client_id,
        bearer: n.bearer,
        session_id: request_session.or(n.session_id).or(issued_session),
        protocol_version,
        accept,
        user_agent,
        status: if dropped {
            0
        } else {
            response.status().as_u16()
        },
        error,
        meta_protocol_version: n.meta_protocol_version,
        meta_client_capabilities: n.meta_client_capabilities,
        mcp_method_header,
        modern: n.modern,
        negotiated: n.negotiated,
        on_authorization_server,
        resource: n.resource,
        redirect_uri: n.redirect_uri,
        fault: n.fault,
        api_key: n.api_key,
    });
    tracing::info!(
        seq = record.seq,
        "{} {} {}{} -> {}{}",
        record.method,
        record.path,
        record.phase.as_str(),
        record
            .rpc_method
            .as_deref()
            .map(|m| format!(" {m}"))
            .unwrap_or_default(),
        record.status,
        record
            .error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default(),
    );
    response
}
