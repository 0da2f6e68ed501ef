//! Dynamic client registration (RFC 7591), for public clients only
//! (`token_endpoint_auth_method` `none`, as native MCP clients register).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use url::{Host, Url};

use crate::access_log::Notes;
use crate::api_error::{unreadable_body, ApiError, RequestBody};
use crate::state::AppState;
use crate::store::clients::RegisteredClient;

const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token"];

pub(crate) async fn register(
    State(state): State<AppState>,
    notes: Notes,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let metadata = |description: &str| {
        ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            description,
        )
    };
    let redirect = |description: String| {
        ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_redirect_uri", description)
    };
    let body = body.map_err(|rejection| {
        let (status, description) = unreadable_body(&rejection);
        ApiError::oauth(status, "invalid_client_metadata", description)
    })?;
    // RFC 7591 §3.1: the request is a JSON document.
    if !is_json(&headers) {
        return Err(metadata(
            "the registration request must be application/json",
        ));
    }
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&body) else {
        return Err(metadata("the body is not a JSON object"));
    };

    let redirect_uris = match request.get("redirect_uris") {
        Some(Value::Array(uris)) if !uris.is_empty() => uris
            .iter()
            .map(|u| u.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| redirect("redirect_uris must be strings".to_owned()))?,
        _ => return Err(redirect(
            "redirect_uris is required: a non-empty array (the authorization code flow needs it)"
                .to_owned(),
        )),
    };
    for uri in &redirect_uris {
        check_redirect_uri(uri).map_err(|reason| redirect(format!("{uri}: {reason}")))?;
    }

    // Only public clients: there is no secret to issue or check.
    match request.get("token_endpoint_auth_method") {
        None => {}
        Some(Value::String(m)) if m == "none" => {}
        Some(other) => {
            return Err(metadata(&format!(
                "token_endpoint_auth_method {other} is not supported; only \"none\""
            )))
        }
    }
    // RFC 7591 §2 defaults grant_types to authorization_code; refresh is granted too when the
    // client names none, and the registered set is echoed back so it can see that.
    let grant_types = match request.get("grant_types") {
        None => GRANT_TYPES.iter().map(|g| (*g).to_owned()).collect(),
        Some(Value::Array(types)) => {
            let types = types
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| metadata("grant_types must be strings"))?;
            if let Some(unknown) = types.iter().find(|t| !GRANT_TYPES.contains(&t.as_str())) {
                return Err(metadata(&format!("grant type {unknown} is not supported")));
            }
            if !types.iter().any(|t| t == "authorization_code") {
                return Err(metadata("grant_types must include authorization_code"));
            }
            types
        }
        Some(_) => return Err(metadata("grant_types must be an array")),
    };
    match request.get("response_types") {
        None => {}
        Some(Value::Array(types)) if types.iter().all(|t| t.as_str() == Some("code")) => {}
        Some(_) => return Err(metadata("only the response type \"code\" is supported")),
    }
    let client_name = match request.get("client_name") {
        None => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(metadata("client_name must be a string")),
    };

    let issued_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let client = RegisteredClient {
        client_id: uuid::Uuid::new_v4().to_string(),
        client_name,
        redirect_uris,
        grant_types,
        issued_at,
        any_loopback_callback: false,
    };
    notes.update(|n| {
        n.client_id = Some(client.client_id.clone());
        n.redirect_uri = client.redirect_uris.first().cloned();
    });
    let mut body = json!({
        "client_id": client.client_id,
        "client_id_issued_at": client.issued_at,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    if let Some(name) = &client.client_name {
        body["client_name"] = json!(name);
    }
    state.clients().insert(client);
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response())
}

pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// OAuth 2.1 §2.3.1 / RFC 8252: absolute, no fragment, https — or http on a loopback host, where
/// native clients listen for the callback.
fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    let url = Url::parse(uri).map_err(|_| "not an absolute URL")?;
    if url.fragment().is_some() {
        return Err("a redirect URI must not have a fragment");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => match url.host() {
            Some(Host::Domain("localhost")) => Ok(()),
            Some(Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err("http is allowed only for loopback hosts"),
        },
        _ => Err("the scheme must be http or https"),
    }
}
