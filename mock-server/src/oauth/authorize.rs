//! The authorization endpoint (RFC 6749 §4.1.1 with OAuth 2.1's PKCE and RFC 8707's `resource`)
//! and the consent form it shows.

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::access_log::Notes;
use crate::api_error::{redirect, unreadable_body, ApiError, RequestBody};
use crate::config::{paths, DEFAULT_SCOPE, SCOPES_SUPPORTED};
use crate::oauth::params::Params;
use crate::oauth::{pages, pkce};
use crate::state::AppState;
use crate::store::clients::unknown_client;
use crate::store::codes::Authorization;
use crate::util::{is_valid_resource, same_resource};

pub(crate) async fn authorize(
    State(state): State<AppState>,
    notes: Notes,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());

    // RFC 6749 §4.1.2.1: until the client and its redirect URI are known good, errors are shown
    // to the user and never redirected, or the server becomes an open redirector.
    let Some(client_id) = params.get("client_id") else {
        return Err(ApiError::page("invalid_request", "client_id is missing"));
    };
    notes.update(|n| {
        n.client_id = Some(client_id.to_owned());
        n.resource = params.get("resource").map(str::to_owned);
        n.redirect_uri = params.get("redirect_uri").map(str::to_owned);
    });
    if params.is_duplicated("client_id") || params.is_duplicated("redirect_uri") {
        return Err(ApiError::page(
            "invalid_request",
            "client_id and redirect_uri must appear once",
        ));
    }
    let Some(client) = state.client(client_id) else {
        return Err(ApiError::page("invalid_client", unknown_client(client_id)));
    };
    let (redirect_uri, redirect_uri_sent) = match params.get("redirect_uri") {
        // Exact string comparison (OAuth 2.1 §4.1.1 / §2.3.1), no normalisation, but a
        // loopback IP's port may change (RFC 8252 §7.3) unless the server is strict.
        Some(uri)
            if client.accepts_redirect_uri(uri, !state.config().discovery.strict_redirect_port) =>
        {
            (uri.to_owned(), true)
        }
        Some(uri) => {
            return Err(ApiError::page(
                "invalid_request",
                format!("redirect_uri {uri:?} is not registered for this client"),
            ))
        }
        None => {
            match client.redirect_uris.as_slice() {
                [only] => (only.clone(), false),
                _ => return Err(ApiError::page(
                    "invalid_request",
                    "redirect_uri is required: this client has no single registered redirect URI",
                )),
            }
        }
    };

    let state_param = params.get("state").map(str::to_owned);
    let iss = state.config().authorization_response_iss();
    let fail = |error: &'static str, description: &str| {
        error_redirect(
            &redirect_uri,
            error,
            description,
            state_param.as_deref(),
            iss.as_deref(),
        )
    };
    if let Some(name) = params.duplicates.first() {
        return Err(fail(
            "invalid_request",
            &format!("parameter {name} is repeated"),
        ));
    }
    match params.get("response_type") {
        None => return Err(fail("invalid_request", "response_type is missing")),
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    // OAuth 2.1 §4.1.1: PKCE is required; RFC 7636 §4.4.1: an unsupported method is
    // invalid_request.
    let Some(code_challenge) = params.get("code_challenge") else {
        return Err(fail("invalid_request", "code_challenge is required (PKCE)"));
    };
    match params.get("code_challenge_method") {
        Some(pkce::METHOD) => {}
        None => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method is required and must be S256",
            ))
        }
        Some(_) => {
            return Err(fail(
                "invalid_request",
                "transform algorithm not supported: only S256",
            ))
        }
    }
    if !pkce::is_valid_s256_challenge(code_challenge) {
        return Err(fail(
            "invalid_request",
            "code_challenge is not a BASE64URL SHA-256 digest",
        ));
    }
    // RFC 8707 §2: the only resource here is the MCP endpoint.
    let resource = params.get("resource").map(str::to_owned);
    if let Some(resource) = &resource {
        if !is_valid_resource(resource) || !same_resource(resource, &state.config().resource()) {
            return Err(fail(
                "invalid_target",
                &format!("resource {resource:?} is not served by this server"),
            ));
        }
    }
    let scope = match params.get("scope") {
        None => DEFAULT_SCOPE.to_owned(),
        Some(scope) => {
            // A scope only a challenge names (the step-up fault) is grantable too, though not
            // advertised, so a client can only learn of it from the 403.
            let step_up = state.config().faults.tools_call_scope.as_deref();
            if let Some(unknown) = scope
                .split(' ')
                .find(|s| !SCOPES_SUPPORTED.contains(s) && Some(*s) != step_up)
            {
                return Err(fail("invalid_scope", &format!("unknown scope {unknown:?}")));
            }
            scope.to_owned()
        }
    };
    // Fault: grant the default scope whatever was asked (a server that cannot step up).
    let scope = if state.config().faults.ignore_requested_scope {
        DEFAULT_SCOPE.to_owned()
    } else {
        scope
    };

    let authorization = Authorization {
        client_id: client.client_id.clone(),
        redirect_uri,
        redirect_uri_sent,
        state: state_param.clone(),
        code_challenge: code_challenge.to_owned(),
        resource,
        scope,
    };
    let shown_resource = authorization
        .resource
        .clone()
        .unwrap_or_else(|| state.config().resource());
    let shown_scope = authorization.scope.clone();
    let request_id = state.grants().add_pending(authorization)?;
    let client_name = client.client_name.as_deref().unwrap_or(client_id);
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        pages::consent_page(
            client_name,
            &shown_scope,
            &shown_resource,
            &request_id,
            &state.config().oauth_path(paths::CONSENT),
        ),
    )
        .into_response())
}

/// The consent form's target: `approve` sends a code to the client, `deny` sends
/// `access_denied` (RFC 6749 §4.1.2, §4.1.2.1).
pub(crate) async fn consent(
    State(state): State<AppState>,
    notes: Notes,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| {
        let (status, description) = unreadable_body(&rejection);
        ApiError::Page {
            status,
            error: "invalid_request",
            description,
        }
    })?;
    let params = Params::parse(&body);
    let Some(request_id) = params.get("request_id") else {
        return Err(ApiError::page("invalid_request", "request_id is missing"));
    };
    let Some(pending) = state.grants().pending(request_id) else {
        return Err(ApiError::page(
            "invalid_request",
            "unknown or already decided authorization request",
        ));
    };
    notes.update(|n| n.client_id = Some(pending.client_id.clone()));
    let approve = match params.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return Err(ApiError::page(
                "invalid_request",
                "decision must be approve or deny",
            ))
        }
    };
    let Some(authorization) = state.grants().take_pending(request_id) else {
        // Decided concurrently by another submission.
        return Err(ApiError::page(
            "invalid_request",
            "unknown or already decided authorization request",
        ));
    };
    let iss = state.config().authorization_response_iss();
    if !approve {
        return Err(error_redirect(
            &authorization.redirect_uri,
            "access_denied",
            "the user denied the request",
            authorization.state.as_deref(),
            iss.as_deref(),
        ));
    }
    let redirect_uri = authorization.redirect_uri.clone();
    let state_param = authorization.state.clone();
    let code = state
        .grants()
        .issue_code(authorization, state.config().code_ttl)?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = state_param.as_deref() {
        pairs.push(("state", s));
    }
    // RFC 9207 §2: the issuer, after `code` and `state` as in its example.
    if let Some(iss) = iss.as_deref() {
        pairs.push(("iss", iss));
    }
    match with_query(&redirect_uri, &pairs) {
        Some(location) => Ok(redirect(&location)),
        None => Err(ApiError::page(
            "server_error",
            "the redirect URI cannot be used",
        )),
    }
}

/// An error sent back to the client (RFC 6749 §4.1.2.1), with its issuer when the server names
/// it (RFC 9207 §2: error responses too).
fn error_redirect(
    redirect_uri: &str,
    error: &'static str,
    description: &str,
    state: Option<&str>,
    iss: Option<&str>,
) -> ApiError {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    if let Some(iss) = iss {
        pairs.push(("iss", iss));
    }
    match with_query(redirect_uri, &pairs) {
        Some(location) => ApiError::Redirect { location, error },
        None => ApiError::page(error, description.to_owned()),
    }
}

/// Appends parameters to a registered redirect URI, keeping any query it already has
/// (RFC 6749 §3.1.2).
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = Url::parse(uri).ok()?;
    url.query_pairs_mut().extend_pairs(pairs);
    Some(url.into())
}
