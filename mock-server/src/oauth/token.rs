//! The token endpoint (RFC 6749 §3.2, §4.1.3, §6 as tightened by OAuth 2.1): authorization-code
//! exchange with PKCE and resource checks, and refresh with rotation.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::access_log::Notes;
use crate::api_error::{unreadable_body, ApiError, RequestBody};
use crate::discovery::ResponseShape;
use crate::faults::RefreshError;
use crate::oauth::params::Params;
use crate::oauth::pkce;
use crate::profile::Profile;
use crate::state::AppState;
use crate::store::clients::{unknown_client, RegisteredClient};
use crate::store::codes::Redemption;
use crate::store::tokens::{GrantInfo, IssuedTokens, RefreshRefusal};
use crate::util::{is_valid_resource, same_resource};

pub(crate) async fn token(
    State(state): State<AppState>,
    notes: Notes,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| {
        let (status, description) = unreadable_body(&rejection);
        ApiError::oauth(status, "invalid_request", description)
    })?;
    let params = Params::parse(&body);
    notes.update(|n| {
        n.grant_type = params.get("grant_type").map(str::to_owned);
        n.client_id = params.get("client_id").map(str::to_owned);
        n.resource = params.get("resource").map(str::to_owned);
        n.redirect_uri = params.get("redirect_uri").map(str::to_owned);
    });
    // RFC 6749 §4.1.3: the body is application/x-www-form-urlencoded.
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(ApiError::token(
            "invalid_request",
            "the request must be application/x-www-form-urlencoded",
        ));
    }
    if let Some(name) = params.duplicates.first() {
        return Err(ApiError::token(
            "invalid_request",
            format!("parameter {name} is repeated"),
        ));
    }
    // Clients register as public (`none`): a secret means the client thinks otherwise.
    if headers.contains_key(header::AUTHORIZATION) || params.get("client_secret").is_some() {
        return Err(ApiError::token(
            "invalid_client",
            "this server supports only public clients (token_endpoint_auth_method none)",
        ));
    }
    let Some(grant_type) = params.get("grant_type") else {
        return Err(ApiError::token("invalid_request", "grant_type is missing"));
    };
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(ApiError::token(
            "unsupported_grant_type",
            format!("grant_type {grant_type:?} is not supported"),
        ));
    }
    // OAuth 2.1 §3.2.1: a public client identifies itself with client_id.
    let Some(client_id) = params.get("client_id") else {
        return Err(ApiError::token("invalid_client", "client_id is missing"));
    };
    let Some(client) = state.client(client_id) else {
        return Err(ApiError::token("invalid_client", unknown_client(client_id)));
    };
    if !client.may_use_grant(grant_type) {
        return Err(ApiError::token(
            "unauthorized_client",
            format!("the client did not register the {grant_type} grant"),
        ));
    }
    let issued = if grant_type == "authorization_code" {
        exchange_code(&state, &client, &params)?
    } else {
        refresh(&state, &client, &params)?
    };
    tracing::debug!(access = %issued.access_id, refresh = %issued.refresh_id, "tokens issued");
    Ok(token_response(
        &issued,
        state.config().profile,
        state.config().discovery.response_shape,
    ))
}

fn exchange_code(
    state: &AppState,
    client: &RegisteredClient,
    params: &Params,
) -> Result<IssuedTokens, ApiError> {
    let Some(code) = params.get("code") else {
        return Err(ApiError::token("invalid_request", "code is missing"));
    };
    let issued = match state.grants().redeem(code) {
        Redemption::Unknown => {
            return Err(ApiError::token(
                "invalid_grant",
                "unknown authorization code",
            ))
        }
        Redemption::Replayed { family, client_id } => {
            // OAuth 2.1 §4.1.3: a code presented twice may be stolen; revoke what it produced.
            let revoked = state.tokens().revoke_family(family);
            tracing::warn!(%client_id, revoked, "authorization code replayed; its tokens are revoked");
            return Err(ApiError::token(
                "invalid_grant",
                "authorization code already used; tokens issued from it are revoked",
            ));
        }
        Redemption::First(issued) => issued,
    };
    let authorization = &issued.authorization;
    if authorization.client_id != client.client_id {
        return Err(ApiError::token(
            "invalid_grant",
            "the code was issued to another client",
        ));
    }
    if issued.is_expired() {
        return Err(ApiError::token(
            "invalid_grant",
            "authorization code expired",
        ));
    }
    // RFC 6749 §4.1.3: identical to the authorization request's redirect_uri when it had one.
    match params.get("redirect_uri") {
        Some(uri) if uri == authorization.redirect_uri => {}
        Some(_) => {
            return Err(ApiError::token(
                "invalid_grant",
                "redirect_uri differs from the authorization request's",
            ))
        }
        None if authorization.redirect_uri_sent => {
            return Err(ApiError::token(
                "invalid_grant",
                "redirect_uri was in the authorization request and must be repeated",
            ))
        }
        None => {}
    }
    // RFC 7636 §4.5–4.6.
    let Some(verifier) = params.get("code_verifier") else {
        return Err(ApiError::token(
            "invalid_request",
            "code_verifier is required (PKCE)",
        ));
    };
    if !pkce::verify(verifier, &authorization.code_challenge) {
        return Err(ApiError::token(
            "invalid_grant",
            "code_verifier does not match the code_challenge",
        ));
    }
    // RFC 8707 §2.2: the resource the grant was authorized for, named again.
    let resource = params.get("resource");
    match (&authorization.resource, resource) {
        (Some(authorized), Some(requested)) if same_resource(authorized, requested) => {}
        (Some(_), Some(requested)) => {
            return Err(ApiError::token(
                "invalid_target",
                format!("resource {requested:?} differs from the one authorized"),
            ))
        }
        (Some(_), None) => {
            return Err(ApiError::token(
                "invalid_target",
                "resource was in the authorization request and must be repeated",
            ))
        }
        (None, Some(requested)) => check_own_resource(state, requested)?,
        (None, None) => {}
    }
    let grant = GrantInfo {
        client_id: client.client_id.clone(),
        scope: authorization.scope.clone(),
        resource: resource.map(str::to_owned),
        family: issued.family,
    };
    state.tokens().issue(grant, state.config().access_token_ttl)
}

fn refresh(
    state: &AppState,
    client: &RegisteredClient,
    params: &Params,
) -> Result<IssuedTokens, ApiError> {
    let Some(refresh_token) = params.get("refresh_token") else {
        return Err(ApiError::token(
            "invalid_request",
            "refresh_token is missing",
        ));
    };
    if let Some(requested) = params.get("resource") {
        check_own_resource(state, requested)?;
    }
    match state.config().faults.refresh_error {
        Some(RefreshError::ServerError) => {
            return Err(ApiError::server_error(
                "fault: refresh is failing on purpose",
            ))
        }
        Some(RefreshError::InvalidGrant) => {
            return Err(ApiError::token(
                "invalid_grant",
                "fault: every refresh token is refused on purpose",
            ))
        }
        None => {}
    }
    // RFC 6749 §6: a narrower scope may be asked for, never a wider one. Checked before rotating
    // so a refused request leaves the refresh token usable.
    let scope = params.get("scope");
    if let (Some(scope), Some(grant)) = (scope, state.tokens().refresh_grant(refresh_token)) {
        let granted: Vec<&str> = grant.scope.split(' ').collect();
        if let Some(extra) = scope.split(' ').find(|s| !granted.contains(s)) {
            return Err(ApiError::token(
                "invalid_scope",
                format!("scope {extra:?} was not granted"),
            ));
        }
    }
    let (old_id, mut grant) = state
        .tokens()
        .rotate(refresh_token, &client.client_id)
        .map_err(|refusal| {
            let description = match refusal {
                RefreshRefusal::Unknown => "unknown refresh token".to_owned(),
                RefreshRefusal::Revoked { token_id } => {
                    format!("refresh token {token_id} was already used or revoked")
                }
                RefreshRefusal::OtherClient { token_id } => {
                    format!("refresh token {token_id} was issued to another client")
                }
            };
            ApiError::token("invalid_grant", description)
        })?;
    if let Some(scope) = scope {
        grant.scope = scope.to_owned();
    }
    if let Some(requested) = params.get("resource") {
        grant.resource = Some(requested.to_owned());
    }
    tracing::debug!(%old_id, "refresh token rotated");
    state.tokens().issue(grant, state.config().access_token_ttl)
}

fn check_own_resource(state: &AppState, requested: &str) -> Result<(), ApiError> {
    if is_valid_resource(requested) && same_resource(requested, &state.config().resource()) {
        Ok(())
    } else {
        Err(ApiError::token(
            "invalid_target",
            format!("resource {requested:?} is not served by this server"),
        ))
    }
}

/// RFC 6749 §5.1, with `no-store` as that section requires.
/// RFC 6749 §5.1: `Cache-Control: no-store` and `Pragma: no-cache`. The seed profile sends what
/// the report's server did instead: `Cache-Control: no-cache, private` and no `Pragma` (the
/// report's own "known minor non-conformance").
///
/// With a [`ResponseShape`] of the token family, the body bends the way some servers' do.
fn token_response(issued: &IssuedTokens, profile: Profile, shape: ResponseShape) -> Response {
    let mut body = json!({
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "scope": issued.scope,
    });
    match shape {
        ResponseShape::TokenWithoutExpiresIn => {
            if let Some(fields) = body.as_object_mut() {
                fields.remove("expires_in");
            }
        }
        ResponseShape::TokenExpiresInString => {
            body["expires_in"] = json!(issued.expires_in.to_string());
        }
        ResponseShape::TokenExtraFields => {
            body["refresh_token_expires_in"] = json!(86_400);
            // Names no RFC defines (`id_token: null`, also seen, is a defined name with a value
            // of the wrong type, and not what RFC 6749 §5.1's rule is about).
            body["x_mock_session"] = json!({"region": "loopback", "tier": [1, 2]});
        }
        _ => {}
    }
    let mut response = if shape == ResponseShape::TokenFormEncoded {
        // What GitHub's token endpoint answers a request without `Accept: application/json`.
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        if let Some(fields) = body.as_object() {
            for (name, value) in fields {
                let text = value
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| value.to_string());
                form.append_pair(name, &text);
            }
        }
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )],
            form.finish(),
        )
            .into_response()
    } else {
        Json(body).into_response()
    };
    let headers = response.headers_mut();
    if profile == Profile::Seed {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, private"),
        );
    } else {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    response
}
