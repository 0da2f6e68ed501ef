//! The response shapes real servers send (`--response-shape`): each is really on the wire, and
//! the stand-in client gets through every shape the RFCs allow, and refuses the form-encoded
//! token response (RFC 6749 §5.1 says JSON) with an error rather than a half-made token.

use mock_server::client::StandInClient;
use mock_server::discovery::ResponseShape;
use mock_server::shapes::BASIC_CHALLENGE;
use mock_server::MockServer;
use rstest::rstest;

async fn server(shape: ResponseShape) -> anyhow::Result<MockServer> {
    Ok(MockServer::builder().response_shape(shape).start().await?)
}

#[rstest]
#[case::without_expires_in(ResponseShape::TokenWithoutExpiresIn)]
#[case::expires_in_string(ResponseShape::TokenExpiresInString)]
#[case::extra_fields(ResponseShape::TokenExtraFields)]
#[case::several_challenges(ResponseShape::SeveralChallenges)]
#[case::html_errors(ResponseShape::HtmlErrors)]
#[tokio::test]
async fn a_careful_client_gets_through_every_shape_the_rfcs_allow(
    #[case] shape: ResponseShape,
) -> anyhow::Result<()> {
    let server = server(shape).await?;
    let outcome = StandInClient::new(&server.mcp_url())?.run().await?;
    assert!(
        outcome.tool_names.iter().any(|t| t == "hello"),
        "{shape:?}: {:?}",
        outcome.tool_names
    );
    // The shape was on the wire, not only configured.
    match shape {
        ResponseShape::TokenWithoutExpiresIn | ResponseShape::TokenExpiresInString => {
            // The stand-in only takes a number; a string or nothing leaves it unknown.
            assert_eq!(outcome.tokens.expires_in, None, "{shape:?}");
        }
        _ => {}
    }
    Ok(())
}

#[tokio::test]
async fn the_token_shapes_are_what_the_token_endpoint_really_sends() -> anyhow::Result<()> {
    for (shape, expect) in [
        (ResponseShape::TokenWithoutExpiresIn, "no expires_in"),
        (
            ResponseShape::TokenExpiresInString,
            "\"expires_in\":\"3600\"",
        ),
        (ResponseShape::TokenExtraFields, "x_mock_session"),
    ] {
        let server = server(shape).await?;
        StandInClient::new(&server.mcp_url())?.run().await?;
        // The access log cannot hold bodies; the token endpoint is asked again the same way the
        // stand-in asked, through a refresh with its refresh token.
        let body = refresh_body(&server).await?;
        match expect {
            "no expires_in" => assert!(!body.contains("expires_in"), "{shape:?}: {body}"),
            text => assert!(body.contains(text), "{shape:?}: {body}"),
        }
    }
    Ok(())
}

/// A refresh through the stand-in's registered client, the raw body returned.
async fn refresh_body(server: &MockServer) -> anyhow::Result<String> {
    let mut client = StandInClient::new(&server.mcp_url())?;
    let tokens = client.authenticate().await?;
    let refresh = tokens
        .refresh_token
        .ok_or_else(|| anyhow::anyhow!("no refresh token"))?;
    let registration = client
        .registration()
        .ok_or_else(|| anyhow::anyhow!("no registration"))?
        .client_id
        .clone();
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", server.uri()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", registration.as_str()),
            ("resource", server.mcp_url().as_str()),
        ])
        .send()
        .await?;
    Ok(response.text().await?.replace(' ', ""))
}

#[tokio::test]
async fn a_form_encoded_token_response_is_refused_by_a_client_that_wants_json() -> anyhow::Result<()>
{
    let server = server(ResponseShape::TokenFormEncoded).await?;
    let error = match StandInClient::new(&server.mcp_url())?.run().await {
        Ok(_) => anyhow::bail!("the stand-in took a form-encoded token response"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("token"), "{error}");
    // Negative control: the same server without the shape is fine.
    let standard = MockServer::builder().start().await?;
    StandInClient::new(&standard.mcp_url())?.run().await?;
    Ok(())
}

#[tokio::test]
async fn several_challenges_and_html_errors_are_on_the_wire() -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let several = server(ResponseShape::SeveralChallenges).await?;
    let response = http.post(several.mcp_url()).body("{}").send().await?;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(challenge.starts_with(BASIC_CHALLENGE), "{challenge}");
    assert!(
        challenge.contains("Bearer   resource_metadata="),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"mcp\""), "{challenge}");

    let html = server(ResponseShape::HtmlErrors).await?;
    let missing = http
        .get(format!("{}/.well-known/openid-configuration", html.uri()))
        .send()
        .await?;
    assert_eq!(missing.status(), 404);
    let kind = missing
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(missing.text().await?.contains("<h1>Not Found</h1>"));
    let refused = http
        .post(format!("{}/oauth/register", html.uri()))
        .json(&serde_json::json!({"redirect_uris": "not a list"}))
        .send()
        .await?;
    assert!(refused.status().is_client_error());
    assert!(refused.text().await?.starts_with("<!DOCTYPE html>"));
    // Negative control: the standard server answers JSON.
    let standard = MockServer::builder().start().await?;
    let json = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            standard.uri()
        ))
        .send()
        .await?;
    assert!(!json.text().await?.contains("<html>"));
    Ok(())
}
