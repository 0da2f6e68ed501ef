//! The discovery and registration variants (failure classes 1–6, before the token), proven on
//! the stand-in client: a conformant client gets through every variant and passes every check;
//! switched to break one rule, it fails the check for that rule. A check that passes here cannot
//! be trusted when it passes for a real client.

use harness::checks::discovery::{self as dc, discovery_checks};
use harness::checks::{self, Check, Verdict};
use harness::scenarios::variants::DiscoveryVariant;
use mock_server::client::{Misbehaviour, StandInClient};
use mock_server::discovery::PRE_REGISTERED_CLIENT_ID;
use mock_server::{render_canonical, MockServer};
use rstest::rstest;

use crate::support::snapshot_settings;

async fn server(variant: DiscoveryVariant) -> anyhow::Result<MockServer> {
    Ok(MockServer::builder()
        .discovery(variant.discovery())
        .start()
        .await?)
}

fn stand_in(server: &MockServer, variant: DiscoveryVariant) -> anyhow::Result<StandInClient> {
    let client = StandInClient::new(&server.mcp_url())?;
    Ok(match variant {
        DiscoveryVariant::PreRegistered => client.pre_registered(PRE_REGISTERED_CLIENT_ID),
        DiscoveryVariant::ClientIdMetadata => client.pre_registered(&own_document_url(server)),
        _ => client,
    })
}

/// The stand-in's client ID metadata document URL on the mock (HTTPS, as the spec requires).
fn own_document_url(server: &MockServer) -> String {
    format!(
        "https://{}/clients/stand-in",
        server.issuer().trim_start_matches("http://")
    )
}

fn all_checks(server: &MockServer) -> Vec<Check> {
    let log = server.received_requests();
    let mut all = discovery_checks(&log, server.config());
    all.extend(checks::reconnect_checks(&log));
    all
}

fn verdict_of(checks: &[Check], name: &str) -> Option<Verdict> {
    checks.iter().find(|c| c.name == name).map(|c| c.verdict)
}

#[rstest]
#[tokio::test]
async fn a_conformant_client_gets_through_every_variant_and_passes_every_check(
    #[values(
        DiscoveryVariant::ChallengeOnly,
        DiscoveryVariant::BareChallenge,
        DiscoveryVariant::SeparateAuthServer,
        DiscoveryVariant::IssuerPath,
        DiscoveryVariant::OpenidOnly,
        DiscoveryVariant::McpPath,
        DiscoveryVariant::PreRegistered,
        DiscoveryVariant::ClientIdMetadata
    )]
    variant: DiscoveryVariant,
) -> anyhow::Result<()> {
    let server = server(variant).await?;
    let outcome = stand_in(&server, variant)?.run().await?;
    assert!(outcome.tool_names.iter().any(|t| t == "hello"));
    let checks = all_checks(&server);
    let failed: Vec<&Check> = checks
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .collect();
    assert!(
        failed.is_empty(),
        "{variant:?}: {failed:#?}\n{}",
        render_canonical(&server.received_requests())
    );
    assert_eq!(
        verdict_of(&checks, variant.key_check()),
        Some(Verdict::Pass)
    );
    Ok(())
}

/// The log of a variant, for review: where each request went, and that the separate origin is
/// visible in it.
#[tokio::test]
async fn the_separate_origin_shows_in_the_canonical_log() -> anyhow::Result<()> {
    let server = server(DiscoveryVariant::SeparateAuthServer).await?;
    stand_in(&server, DiscoveryVariant::SeparateAuthServer)?
        .run()
        .await?;
    let log = render_canonical(&server.received_requests());
    assert_ne!(server.issuer(), server.uri(), "another origin");
    snapshot_settings()
        .bind(|| insta::assert_snapshot!("discovery_separate_auth_server_stand_in", log));
    Ok(())
}

#[rstest]
#[case::class_1_guessing_instead_of_reading_the_challenge(
    DiscoveryVariant::ChallengeOnly,
    Misbehaviour::GuessResourceMetadata,
    dc::RESOURCE_METADATA_FOUND
)]
#[case::class_2_the_mcp_origin_taken_for_the_authorization_server(
    DiscoveryVariant::SeparateAuthServer,
    Misbehaviour::AuthorizationServerAtMcpOrigin,
    dc::AUTHORIZATION_SERVER_FROM_METADATA
)]
#[case::class_3_no_rfc_8414_path_insertion(
    DiscoveryVariant::IssuerPath,
    Misbehaviour::NoPathInsertion,
    dc::SERVER_METADATA_FOUND
)]
#[case::class_3_no_openid_connect_fallback(
    DiscoveryVariant::OpenidOnly,
    Misbehaviour::NoOpenidFallback,
    dc::SERVER_METADATA_FOUND
)]
#[case::class_4_no_resource(
    DiscoveryVariant::McpPath,
    Misbehaviour::OmitResource,
    dc::RESOURCE_INDICATOR
)]
#[case::class_4_another_resource_at_authorize(
    DiscoveryVariant::McpPath,
    Misbehaviour::MismatchedResourceAtAuthorize,
    dc::RESOURCE_INDICATOR
)]
#[case::class_4_no_resource_at_token(
    DiscoveryVariant::McpPath,
    Misbehaviour::OmitResourceAtToken,
    dc::RESOURCE_INDICATOR
)]
#[case::class_6_an_unregistered_redirect_uri_at_authorize(
    DiscoveryVariant::McpPath,
    Misbehaviour::WrongRedirectUriAtAuthorize,
    dc::REDIRECT_URI_CONSISTENT
)]
#[case::class_6_another_redirect_uri_at_token(
    DiscoveryVariant::SeparateAuthServer,
    Misbehaviour::WrongRedirectUriAtToken,
    dc::REDIRECT_URI_CONSISTENT
)]
#[tokio::test]
async fn a_client_breaking_one_rule_fails_that_rules_check(
    #[case] variant: DiscoveryVariant,
    #[case] misbehaviour: Misbehaviour,
    #[case] check: &str,
) -> anyhow::Result<()> {
    let server = server(variant).await?;
    // The flow may stop at the refusal; the log is the judge either way.
    let _ = stand_in(&server, variant)?
        .misbehave(misbehaviour)
        .run()
        .await;
    let checks = all_checks(&server);
    assert_eq!(
        verdict_of(&checks, check),
        Some(Verdict::Fail),
        "{misbehaviour:?} on {variant:?}: {checks:#?}"
    );
    Ok(())
}

/// Class 5: two authentications, one registration; a client that registers every time fails.
#[rstest]
#[case::keeping_its_registration(None, Verdict::Pass)]
#[case::registering_every_time(Some(Misbehaviour::RegisterEveryTime), Verdict::Fail)]
#[tokio::test]
async fn a_second_authentication_reuses_the_registration(
    #[case] misbehaviour: Option<Misbehaviour>,
    #[case] verdict: Verdict,
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    if let Some(misbehaviour) = misbehaviour {
        client = client.misbehave(misbehaviour);
    }
    client.authenticate().await?;
    client.authenticate().await?;
    let check = dc::registration_reused(&server.received_requests());
    assert_eq!(check.verdict, verdict, "{check:#?}");
    Ok(())
}

/// Class 5: after the server forgets its clients, `invalid_client`, then a new registration;
/// a client that gives up after the refusal fails.
#[rstest]
#[case::registering_again(None, Verdict::Pass)]
#[case::giving_up(Some(Misbehaviour::NoReregistrationAfterInvalidClient), Verdict::Fail)]
#[tokio::test]
async fn invalid_client_is_followed_by_a_new_registration(
    #[case] misbehaviour: Option<Misbehaviour>,
    #[case] verdict: Verdict,
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    if let Some(misbehaviour) = misbehaviour {
        client = client.misbehave(misbehaviour);
    }
    client.authenticate().await?;
    assert_eq!(server.forget_clients(), 1);
    let second = client.authenticate().await;
    assert_eq!(second.is_ok(), verdict == Verdict::Pass, "{second:?}");
    let check = dc::registration_reused(&server.received_requests());
    assert_eq!(check.verdict, verdict, "{check:#?}");
    Ok(())
}

/// Class 5 without registration: a client must use the client ID it was given.
#[rstest]
#[case::the_given_one(PRE_REGISTERED_CLIENT_ID, Verdict::Pass)]
#[case::another_one("someone-else", Verdict::Fail)]
#[tokio::test]
async fn a_pre_registered_client_uses_the_client_id_it_was_given(
    #[case] client_id: &str,
    #[case] verdict: Verdict,
) -> anyhow::Result<()> {
    let server = server(DiscoveryVariant::PreRegistered).await?;
    let _ = StandInClient::new(&server.mcp_url())?
        .pre_registered(client_id)
        .run()
        .await;
    let check = dc::given_client_id_used(&server.received_requests());
    assert_eq!(check.verdict, verdict, "{check:#?}");
    Ok(())
}

/// Client ID metadata documents: the mock's own document URL works; one on another host is
/// refused (the mock never fetches) and fails the check, as does a plain client ID.
#[rstest]
#[case::its_own_document(None, Verdict::Pass)]
#[case::a_document_elsewhere(Some("https://elsewhere.example/clients/stand-in"), Verdict::Fail)]
#[case::a_plain_client_id(Some(PRE_REGISTERED_CLIENT_ID), Verdict::Fail)]
#[tokio::test]
async fn a_client_id_metadata_client_names_a_document_of_this_server(
    #[case] client_id: Option<&str>,
    #[case] verdict: Verdict,
) -> anyhow::Result<()> {
    let server = server(DiscoveryVariant::ClientIdMetadata).await?;
    let client_id = client_id.map_or_else(|| own_document_url(&server), str::to_owned);
    let run = StandInClient::new(&server.mcp_url())?
        .pre_registered(&client_id)
        .run()
        .await;
    assert_eq!(run.is_ok(), verdict == Verdict::Pass, "{run:?}");
    let check = dc::client_id_metadata_used(&server.received_requests(), server.config());
    assert_eq!(check.verdict, verdict, "{check:#?}");
    Ok(())
}

#[tokio::test]
async fn the_mock_serves_its_client_id_metadata_documents_and_advertises_them() -> anyhow::Result<()>
{
    let server = server(DiscoveryVariant::ClientIdMetadata).await?;
    let metadata: serde_json::Value = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server",
        server.uri()
    ))
    .await?
    .json()
    .await?;
    assert_eq!(metadata["client_id_metadata_document_supported"], true);
    assert!(
        metadata.get("registration_endpoint").is_none(),
        "{metadata}"
    );
    let document: serde_json::Value = reqwest::get(format!("{}/clients/claude-code", server.uri()))
        .await?
        .json()
        .await?;
    assert_eq!(
        document["client_id"],
        format!(
            "https://{}/clients/claude-code",
            server.uri().trim_start_matches("http://")
        )
    );
    assert_eq!(document["token_endpoint_auth_method"], "none");
    Ok(())
}

#[tokio::test]
async fn without_a_registration_endpoint_the_metadata_names_none_and_register_is_404(
) -> anyhow::Result<()> {
    let server = server(DiscoveryVariant::PreRegistered).await?;
    let http = reqwest::Client::new();
    let metadata: serde_json::Value = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.uri()
        ))
        .send()
        .await?
        .json()
        .await?;
    assert!(
        metadata.get("registration_endpoint").is_none(),
        "{metadata}"
    );
    let register = http
        .post(format!("{}/oauth/register", server.uri()))
        .json(&serde_json::json!({"redirect_uris": ["http://127.0.0.1:9/callback"]}))
        .send()
        .await?;
    assert_eq!(register.status(), 404);
    Ok(())
}

/// Where each variant serves its documents, and where it answers 404.
#[rstest]
#[case::challenge_only(DiscoveryVariant::ChallengeOnly, "/metadata/protected-resource", 200)]
#[case::challenge_only_no_root(
    DiscoveryVariant::ChallengeOnly,
    "/.well-known/oauth-protected-resource",
    404
)]
#[case::bare_challenge_path_specific(
    DiscoveryVariant::BareChallenge,
    "/.well-known/oauth-protected-resource/mcp",
    200
)]
#[case::bare_challenge_no_root(
    DiscoveryVariant::BareChallenge,
    "/.well-known/oauth-protected-resource",
    404
)]
#[case::issuer_path_inserted(
    DiscoveryVariant::IssuerPath,
    "/.well-known/oauth-authorization-server/tenant1",
    200
)]
#[case::issuer_path_not_at_root(
    DiscoveryVariant::IssuerPath,
    "/.well-known/oauth-authorization-server",
    404
)]
#[case::openid_only(DiscoveryVariant::OpenidOnly, "/.well-known/openid-configuration", 200)]
#[case::openid_only_no_rfc_8414(
    DiscoveryVariant::OpenidOnly,
    "/.well-known/oauth-authorization-server",
    404
)]
#[case::separate_origin_no_metadata_on_the_mcp_origin(
    DiscoveryVariant::SeparateAuthServer,
    "/.well-known/oauth-authorization-server",
    404
)]
#[tokio::test]
async fn each_variant_serves_its_documents_only_where_it_says(
    #[case] variant: DiscoveryVariant,
    #[case] path: &str,
    #[case] status: u16,
) -> anyhow::Result<()> {
    let server = server(variant).await?;
    let response = reqwest::get(format!("{}{path}", server.uri())).await?;
    assert_eq!(response.status().as_u16(), status, "{variant:?} {path}");
    Ok(())
}

#[tokio::test]
async fn a_bare_challenge_names_no_metadata() -> anyhow::Result<()> {
    let server = server(DiscoveryVariant::BareChallenge).await?;
    let response = reqwest::Client::new()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .json(&serde_json::json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
        .send()
        .await?;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    Ok(())
}
