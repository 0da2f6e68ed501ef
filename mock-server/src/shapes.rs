//! Response shapes real servers send where they differ from the RFCs' examples
//! ([`ResponseShape`]): applied to finished responses, so every handler keeps writing the
//! standard shape and one layer bends it. Token responses are reshaped where they are made
//! (`oauth::token`), since their body is JSON the layer would have to parse again.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::DEFAULT_SCOPE;
use crate::discovery::ResponseShape;
use crate::state::AppState;

/// The `Basic` challenge [`ResponseShape::SeveralChallenges`] puts first.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"mcp-mock\"";

/// A `Bearer` challenge as some servers write it: after a `Basic` one, with a `scope`
/// parameter when it has none, and spaces around the commas (RFC 9110 §11.6.1 and §5.6.1
/// allow optional whitespace there).
pub fn several_challenges(bearer: &str) -> String {
    let mut params = bearer.trim_start_matches("Bearer").trim().to_owned();
    if !params.contains("scope=") {
        if params.is_empty() {
            params = format!("scope=\"{DEFAULT_SCOPE}\"");
        } else {
            params.push_str(&format!(", scope=\"{DEFAULT_SCOPE}\""));
        }
    }
    format!(
        "{BASIC_CHALLENGE}, Bearer   {}",
        params.replace(", ", " ,  ")
    )
}

/// An error page as a web framework's default handler writes it.
pub fn html_error_page(status: StatusCode) -> String {
    let reason = status.canonical_reason().unwrap_or("Error");
    format!(
        "<!DOCTYPE html>\n<html><head><title>{code} {reason}</title></head>\n<body><h1>{reason}</h1>\
         <p>The server cannot answer this request.</p></body></html>\n",
        code = status.as_u16()
    )
}

pub(crate) async fn reshape(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let shape = state.config().discovery.response_shape;
    let is_registration =
        request.uri().path() == state.config().oauth_path(crate::config::paths::REGISTER);
    let mut response = next.run(request).await;
    match shape {
        ResponseShape::SeveralChallenges => {
            let challenge = response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.starts_with("Bearer"))
                .map(several_challenges);
            if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
        ResponseShape::HtmlErrors => {
            let status = response.status();
            let html =
                status == StatusCode::NOT_FOUND || (is_registration && status.is_client_error());
            if !html {
                return response;
            }
            let (mut parts, _) = response.into_parts();
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(html_error_page(status)))
        }
        _ => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_challenge_gets_a_basic_one_before_it_a_scope_and_odd_spacing() {
        let reshaped = several_challenges(
            "Bearer resource_metadata=\"http://127.0.0.1:1/.well-known/oauth-protected-resource\", error=\"invalid_token\"",
        );
        assert!(
            reshaped.starts_with("Basic realm=\"mcp-mock\", Bearer   "),
            "{reshaped}"
        );
        assert!(reshaped.contains("resource_metadata=\"http://127.0.0.1:1/.well-known/oauth-protected-resource\" ,  error=\"invalid_token\""), "{reshaped}");
        assert!(
            reshaped.contains(&format!("scope=\"{DEFAULT_SCOPE}\"")),
            "{reshaped}"
        );
        // A challenge that names its scope keeps it, once.
        let scoped = several_challenges("Bearer error=\"insufficient_scope\", scope=\"admin\"");
        assert_eq!(scoped.matches("scope=").count(), 1, "{scoped}");
        assert!(
            several_challenges("Bearer").ends_with(&format!("Bearer   scope=\"{DEFAULT_SCOPE}\""))
        );
    }
}
