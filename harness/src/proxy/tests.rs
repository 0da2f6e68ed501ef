//! The proxy in front of our own mock: the stand-in client's whole flow through it must leave a
//! record that matches what the mock itself logged, hold no secret, and name every rewrite.

use mock_server::client::StandInClient;
use mock_server::{AccessRecord, MockServer, Phase};

use super::*;
use crate::scenarios::variants::DiscoveryVariant;

/// What the comparison looks at: phase, method, JSON-RPC method, status, bearer label, and which
/// listener the request came in on.
fn shape(log: &[AccessRecord]) -> Vec<String> {
    log.iter()
        .filter(|r| r.phase != Phase::Admin)
        .map(|r| {
            format!(
                "{} {} {} {} {} as={}",
                r.phase.as_str(),
                r.method,
                r.rpc_method.as_deref().unwrap_or("-"),
                r.status,
                r.bearer.label(),
                r.on_authorization_server
            )
        })
        .collect()
}

fn run_stand_in(mcp_url: &str) -> anyhow::Result<mock_server::client::RunOutcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async {
        let mut client = StandInClient::new(mcp_url)?;
        client.run().await
    })?;
    Ok(outcome)
}

fn secrets_absent(proxy: &RecordingProxy, secrets: &[&str]) -> anyhow::Result<()> {
    let text = format!(
        "{}\n{}\n{}",
        serde_json::to_string(&proxy.received_requests()?)?,
        serde_json::to_string(&proxy.exchanges())?,
        serde_json::to_string(&proxy.rewrites())?
    );
    for secret in secrets {
        anyhow::ensure!(
            !text.contains(secret),
            "a secret ({}…) is in the proxy's record",
            secret.get(..6).unwrap_or(secret)
        );
    }
    Ok(())
}

#[test]
fn the_stand_in_flow_through_the_proxy_is_recorded_as_the_mock_logged_it() -> anyhow::Result<()> {
    let mock = MockServer::builder().start_blocking()?;
    let proxy = RecordingProxy::start(&mock.mcp_url(), &ProxyOptions::default())?;
    let outcome = run_stand_in(&proxy.mcp_url())?;
    assert!(outcome.tool_names.iter().any(|t| t == "hello"));
    let ours = proxy.received_requests()?;
    let theirs = mock.received_requests();
    assert_eq!(shape(&ours), shape(&theirs));
    for phase in [
        Phase::Discovery,
        Phase::Registration,
        Phase::Authorization,
        Phase::Token,
        Phase::Mcp,
    ] {
        assert!(ours.iter().any(|r| r.phase == phase), "no {phase:?} record");
    }
    // The resource the client sent was the proxy's; the mock got its own back.
    let token = ours
        .iter()
        .find(|r| r.phase == Phase::Token)
        .and_then(|r| r.resource.clone());
    assert_eq!(token.as_deref(), Some(proxy.mcp_url().as_str()));
    let mock_token = theirs
        .iter()
        .find(|r| r.phase == Phase::Token)
        .and_then(|r| r.resource.clone());
    assert_eq!(mock_token.as_deref(), Some(mock.mcp_url().as_str()));
    let rewrites = proxy.describe_rewrites();
    assert!(rewrites.contains("authorization_servers[0]"), "{rewrites}");
    assert!(rewrites.contains("header www-authenticate"), "{rewrites}");
    assert!(rewrites.contains("form resource"), "{rewrites}");
    let mut secrets = vec![outcome.tokens.access_token.as_str()];
    secrets.extend(outcome.tokens.refresh_token.as_deref());
    secrets_absent(&proxy, &secrets)?;
    Ok(())
}

/// The negative control of the secret check: the same search finds a token that is there.
#[test]
fn the_secret_search_finds_a_token_that_was_left_in() -> anyhow::Result<()> {
    let mock = MockServer::builder().start_blocking()?;
    let proxy = RecordingProxy::start(&mock.mcp_url(), &ProxyOptions::default())?;
    let _outcome = run_stand_in(&proxy.mcp_url())?;
    let session = proxy
        .received_requests()?
        .iter()
        .find_map(|r| r.session_id.clone())
        .ok_or_else(|| anyhow::anyhow!("no session recorded"))?;
    assert!(secrets_absent(&proxy, &[session.as_str()]).is_err());
    Ok(())
}

#[test]
fn an_authorization_server_on_another_origin_gets_a_listener_of_its_own() -> anyhow::Result<()> {
    let mock = MockServer::builder()
        .discovery(DiscoveryVariant::SeparateAuthServer.discovery())
        .start_blocking()?;
    let proxy = RecordingProxy::start(&mock.mcp_url(), &ProxyOptions::default())?;
    run_stand_in(&proxy.mcp_url())?;
    let origins = proxy.origins();
    assert_eq!(origins.len(), 2, "{origins:?}");
    assert!(origins[1].on_authorization_server);
    let ours = proxy.received_requests()?;
    assert_eq!(shape(&ours), shape(&mock.received_requests()));
    assert!(ours
        .iter()
        .any(|r| r.phase == Phase::Token && r.on_authorization_server));
    Ok(())
}

#[test]
fn an_unreachable_upstream_is_recorded_as_a_502_with_the_reason() -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port();
    let proxy = RecordingProxy::start(
        &format!("http://127.0.0.1:{port}/mcp"),
        &ProxyOptions::default(),
    )?;
    let status = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()?
        .post(proxy.mcp_url())
        .body("{}")
        .send()?
        .status();
    assert_eq!(status.as_u16(), 502);
    let log = proxy.received_requests()?;
    assert_eq!(log.len(), 1);
    assert!(log[0]
        .error
        .as_deref()
        .is_some_and(|e| e.starts_with("proxy:")));
    Ok(())
}

#[test]
fn a_server_that_is_not_up_is_named_before_any_run() -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port();
    let error = check_reachable(&format!("http://127.0.0.1:{port}/mcp"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("nothing answers at"), "{error}");
    let up = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    check_reachable(&format!("http://127.0.0.1:{}/mcp", up.local_addr()?.port()))?;
    Ok(())
}

#[test]
fn a_non_http_upstream_is_refused_with_an_example() {
    let error = RecordingProxy::start("ftp://example.com/mcp", &ProxyOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("http://localhost:3000/mcp"), "{error}");
}

/// A TLS front on loopback for `backend`, with a self-signed certificate for 127.0.0.1; the
/// certificate's PEM. The runtime serves it while it lives.
fn tls_front(
    listener: std::net::TcpListener,
    backend: std::net::SocketAddr,
) -> anyhow::Result<(tokio::runtime::Runtime, String)> {
    use tokio_rustls::rustls;
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
    let pem = certified.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    listener.set_nonblocking(true)?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    Ok((runtime, pem))
}

#[test]
fn an_https_upstream_with_a_self_signed_certificate_is_trusted_through_server_ca(
) -> anyhow::Result<()> {
    let front = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let origin = format!("https://127.0.0.1:{}", front.local_addr()?.port());
    let mock = MockServer::builder().public_url(&origin).start_blocking()?;
    let (_front, pem) = tls_front(front, mock.local_addr())?;
    let dir = tempfile::tempdir()?;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem)?;

    // Without the certificate the upstream is not trusted: a 502 that says why.
    let untrusting = RecordingProxy::start(&mock.mcp_url(), &ProxyOptions::default())?;
    assert!(run_stand_in(&untrusting.mcp_url()).is_err());
    let refused = untrusting.received_requests()?;
    assert_eq!(refused.first().map(|r| r.status), Some(502));

    let proxy = RecordingProxy::start(
        &mock.mcp_url(),
        &ProxyOptions {
            ca_certificate: Some(ca),
            ..ProxyOptions::default()
        },
    )?;
    assert!(mock.mcp_url().starts_with("https://"));
    let outcome = run_stand_in(&proxy.mcp_url())?;
    assert!(outcome.tool_names.iter().any(|t| t == "hello"));
    let ours = proxy.received_requests()?;
    assert_eq!(shape(&ours), shape(&mock.received_requests()));
    assert!(proxy.mcp_url().starts_with("http://127.0.0.1:"));
    Ok(())
}

/// `--bearer-file`: a token the mock issued earlier, given to the proxy, opens a session for a
/// request that carries none (the mock answers 200, not 401), and neither the record, the
/// exchanges nor the rewrites hold it. Without the token, the same request is refused.
#[test]
fn a_pre_issued_token_is_added_to_mcp_requests_and_never_recorded() -> anyhow::Result<()> {
    let mock = MockServer::builder().start_blocking()?;
    let token = run_stand_in(&mock.mcp_url())?.tokens.access_token;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("token");
    std::fs::write(&file, format!("Bearer {token}\n"))?;
    let options = ProxyOptions {
        bearer: Some(read_bearer_file(&file)?),
        ..ProxyOptions::default()
    };
    assert!(
        !format!("{options:?}").contains(&token),
        "Debug shows the token"
    );
    let initialize = serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let post = |url: &str| -> anyhow::Result<u16> {
        let status = reqwest::blocking::Client::new()
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .json(&initialize)
            .send()?
            .status();
        Ok(status.as_u16())
    };
    let with = RecordingProxy::start(&mock.mcp_url(), &options)?;
    assert_eq!(post(&with.mcp_url())?, 200);
    let without = RecordingProxy::start(&mock.mcp_url(), &ProxyOptions::default())?;
    assert_eq!(post(&without.mcp_url())?, 401);
    secrets_absent(&with, &[&token])?;
    let exchange = with.exchanges().into_iter().next();
    let headers = exchange.map(|e| e.request_headers).unwrap_or_default();
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "authorization" && v.contains("--bearer-file")),
        "{headers:?}"
    );
    Ok(())
}

#[test]
fn a_bearer_file_that_is_empty_or_holds_more_than_a_token_is_refused_with_what_to_do(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n")?;
    let error = read_bearer_file(&empty).err().map(|e| e.to_string());
    assert!(
        error.as_deref().unwrap_or("").contains("empty"),
        "{error:?}"
    );
    let json = dir.path().join("json");
    std::fs::write(&json, r#"{"access_token":"x"}"#)?;
    let error = read_bearer_file(&json).err().map(|e| e.to_string());
    assert!(
        error.as_deref().unwrap_or("").contains("alone"),
        "{error:?}"
    );
    let missing = read_bearer_file(&dir.path().join("none")).err();
    assert!(missing.is_some());
    Ok(())
}

/// A 2026-07-28 client (no `initialize`, the revision in each request's `_meta`) is recorded as
/// the mock records it: modern, with that revision, so the checks judge its stateless rules.
#[test]
fn a_stateless_2026_07_28_session_is_recorded_as_modern() -> anyhow::Result<()> {
    let mock = MockServer::builder()
        .revisions(&[mock_server::Revision::V2026_07_28])
        .start_blocking()?;
    let proxy = RecordingProxy::start(&mock.mcp_url(), &ProxyOptions::default())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        StandInClient::new(&proxy.mcp_url())?
            .speak_modern()
            .run()
            .await
            .map(|_| ())
    })?;
    let proxied: Vec<(Option<String>, bool, Option<String>)> = proxy
        .received_requests()?
        .iter()
        .filter(|r| r.phase == Phase::Mcp && r.status == 200)
        .map(|r| (r.rpc_method.clone(), r.modern, r.negotiated.clone()))
        .collect();
    let logged: Vec<(Option<String>, bool, Option<String>)> = mock
        .received_requests()
        .iter()
        .filter(|r| r.phase == Phase::Mcp && r.status == 200)
        .map(|r| (r.rpc_method.clone(), r.modern, r.negotiated.clone()))
        .collect();
    assert!(proxied.iter().any(|(_, modern, _)| *modern), "{proxied:?}");
    assert_eq!(proxied, logged);
    Ok(())
}
