//! The mock's security properties, each with the rule it enforces. What mock_strictness.rs
//! already covers through the stand-in client is not repeated here: PKCE missing, `plain` or
//! wrong (RFC 7636 §4.4.1, §4.6), a replayed code revoking its tokens (OAuth 2.1 §4.1.3), an
//! expired code, a foreign `redirect_uri` at authorize and at token, `resource` left out or
//! changed at token (RFC 8707 §2.2), refresh rotation and a reused refresh token (OAuth 2.1
//! §4.3.1), revoked and expired access tokens (RFC 6750 §3.1). The audience check itself (a
//! token for another resource gets `WrongResource`) is unit-tested in mock-server's tokens.rs,
//! since one server cannot be made to serve two resources.
//!
//! Added here: where the mock listens, who may read its admin route, how unguessable its secrets
//! are (measured), and the near misses a lenient server would let through.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{ensure, Context};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mock_server::{router, s256_challenge, AppState, MockServer, Phase, ServerConfig};
use rstest::rstest;
use tower::ServiceExt;
use url::Url;

use crate::inproc::{Outcome, World, ORIGIN, REDIRECT_URI, VERIFIER};

/// A local address of this machine that is not loopback, if it has one. Connecting a UDP socket
/// sends nothing: it only asks the kernel which source address would route to the destination (a
/// documentation-range address, RFC 5737). In a network namespace with only `lo` there is none.
fn non_loopback_local_ip() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("198.51.100.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// reqwest honours HTTP(S)_PROXY from the environment; these requests must go straight to the
/// address under test.
fn direct_http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?)
}

/// Whether a TCP connection to `addr` is accepted, within a bounded wait.
async fn accepts_connections(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// A mock under test must not be reachable from the network it runs on: it hands out tokens to
/// whoever asks and its admin route lists every client. The default bind is 127.0.0.1.
#[tokio::test]
async fn the_mock_listens_on_loopback_only_unless_told_otherwise() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    assert!(
        server.local_addr().ip().is_loopback(),
        "{}",
        server.local_addr()
    );
    assert!(
        server.uri().starts_with("http://127.0.0.1:"),
        "{}",
        server.uri()
    );
    assert!(accepts_connections(server.local_addr()).await);
    let Some(ip) = non_loopback_local_ip() else {
        eprintln!("no non-loopback address here: only the bound address was checked");
        return Ok(());
    };
    assert!(
        !accepts_connections(SocketAddr::new(ip, server.port())).await,
        "the default mock accepted a connection on {ip}"
    );
    // Control: told to listen everywhere, it is reachable on that address, so the refusal above
    // is the bind's doing and not the network's.
    let open = MockServer::builder()
        .bind(([0, 0, 0, 0], 0).into())
        .start()
        .await?;
    assert!(
        accepts_connections(SocketAddr::new(ip, open.port())).await,
        "a mock bound to 0.0.0.0 is not reachable on {ip}: the check above proves nothing here"
    );
    Ok(())
}

/// The admin route's decision, for peers that cannot be produced on this machine: the router is
/// given the peer address as `axum::serve` would (`ConnectInfo`).
#[rstest]
#[case::ipv4_loopback("127.0.0.1:5000", StatusCode::OK)]
#[case::another_ipv4_loopback("127.8.9.10:5000", StatusCode::OK)]
#[case::ipv6_loopback("[::1]:5000", StatusCode::OK)]
#[case::ipv4_mapped_loopback("[::ffff:127.0.0.1]:5000", StatusCode::OK)]
#[case::private_network("192.168.1.20:5000", StatusCode::FORBIDDEN)]
#[case::this_machines_network("192.0.2.7:5000", StatusCode::FORBIDDEN)]
#[case::ipv4_mapped_remote("[::ffff:10.0.0.1]:5000", StatusCode::FORBIDDEN)]
#[case::ipv6_remote("[2001:db8::1]:5000", StatusCode::FORBIDDEN)]
#[case::unspecified("0.0.0.0:5000", StatusCode::FORBIDDEN)]
#[tokio::test]
async fn the_admin_route_answers_loopback_peers_only(
    #[case] peer: &str,
    #[case] expected: StatusCode,
) -> anyhow::Result<()> {
    let state = AppState::new(ServerConfig::new(ORIGIN)?)?;
    let mut request = Request::get("/__admin/access-log").body(Body::empty())?;
    request
        .extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>()?));
    let response = router(state.clone()).oneshot(request).await?;
    assert_eq!(response.status(), expected, "peer {peer}");
    let log = state.received_requests();
    assert_eq!(
        (log[0].phase, log[0].status),
        (Phase::Admin, expected.as_u16())
    );
    Ok(())
}

/// The same over real sockets, when this machine has a non-loopback address: a mock bound to
/// every interface serves its log to 127.0.0.1 and refuses the same request arriving on the
/// network address.
#[tokio::test]
async fn the_admin_route_refuses_a_request_that_arrives_on_a_network_address() -> anyhow::Result<()>
{
    let Some(ip) = non_loopback_local_ip() else {
        eprintln!("no non-loopback address here: the ConnectInfo cases stand in for this test");
        return Ok(());
    };
    let server = MockServer::builder()
        .bind(([0, 0, 0, 0], 0).into())
        .start()
        .await?;
    let http = direct_http()?;
    let from_network = http
        .get(format!("http://{ip}:{}/__admin/access-log", server.port()))
        .send()
        .await?;
    assert_eq!(from_network.status(), StatusCode::FORBIDDEN.as_u16());
    // Control: the loopback request on the same server is answered.
    let from_loopback = http
        .get(format!(
            "http://127.0.0.1:{}/__admin/access-log",
            server.port()
        ))
        .send()
        .await?;
    assert_eq!(from_loopback.status(), StatusCode::OK.as_u16());
    Ok(())
}

/// What a sample of secrets says about their randomness.
#[derive(Debug)]
struct Randomness {
    samples: usize,
    distinct: usize,
    bytes: usize,
    /// Sum over byte positions of the position's plug-in Shannon entropy (bits). An upper bound
    /// on the joint entropy, so it is paired with `min_pair_xor_bits`.
    position_entropy_bits: f64,
    /// The smallest entropy (bits) of `byte[i] XOR byte[j]` over all position pairs: near 8 when
    /// positions are independent, 0 when one byte repeats another.
    min_pair_xor_bits: f64,
    /// The largest deviation of a bit position's count of ones from half, in standard
    /// deviations: a stuck or biased bit shows here.
    worst_bit_sigma: f64,
}

fn entropy_bits(counts: &[u32; 256], n: usize) -> f64 {
    let n = n as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Decodes base64url secrets and measures them. Statistics cannot prove a generator
/// unpredictable (the mock uses the OS generator, tokens.rs); they catch the regressions that
/// matter here: counters, timestamps, short or repeated random parts, reused values.
fn measure(secrets: &[String]) -> anyhow::Result<Randomness> {
    let decoded = secrets
        .iter()
        .map(|s| {
            URL_SAFE_NO_PAD
                .decode(s)
                .with_context(|| format!("{s:?} is not base64url"))
        })
        .collect::<anyhow::Result<Vec<Vec<u8>>>>()?;
    let bytes = decoded.first().map_or(0, Vec::len);
    ensure!(
        decoded.iter().all(|d| d.len() == bytes),
        "secrets of different lengths"
    );
    let n = decoded.len();
    let distinct = secrets.iter().collect::<HashSet<_>>().len();
    let mut position_entropy_bits = 0.0;
    for i in 0..bytes {
        let mut counts = [0u32; 256];
        for d in &decoded {
            counts[usize::from(d[i])] += 1;
        }
        position_entropy_bits += entropy_bits(&counts, n);
    }
    let mut min_pair_xor_bits = f64::INFINITY;
    for i in 0..bytes {
        for j in i + 1..bytes {
            let mut counts = [0u32; 256];
            for d in &decoded {
                counts[usize::from(d[i] ^ d[j])] += 1;
            }
            min_pair_xor_bits = min_pair_xor_bits.min(entropy_bits(&counts, n));
        }
    }
    let sigma = (n as f64).sqrt() / 2.0;
    let mut worst_bit_sigma: f64 = 0.0;
    for bit in 0..bytes * 8 {
        let ones = decoded
            .iter()
            .filter(|d| d[bit / 8] & (1 << (bit % 8)) != 0)
            .count();
        worst_bit_sigma = worst_bit_sigma.max((ones as f64 - n as f64 / 2.0).abs() / sigma);
    }
    Ok(Randomness {
        samples: n,
        distinct,
        bytes,
        position_entropy_bits,
        min_pair_xor_bits,
        worst_bit_sigma,
    })
}

/// The bar a kind of secret must clear: every sample distinct, at least 128 bits measured
/// (RFC 6749 §10.10 asks for a guessing probability of 2^-128 or less, RFC 6819 §5.1.4.2.2
/// likewise), no position repeating another, and no biased bit. 6 sigma over 256 bits keeps a
/// false alarm below one in a million runs.
fn judge(kind: &str, r: &Randomness) -> anyhow::Result<()> {
    ensure!(
        r.distinct == r.samples,
        "{kind}: {} repeats",
        r.samples - r.distinct
    );
    ensure!(
        r.position_entropy_bits >= 128.0,
        "{kind}: {:.1} bits measured",
        r.position_entropy_bits
    );
    ensure!(
        r.min_pair_xor_bits >= 7.0,
        "{kind}: two byte positions depend on each other ({:.2} bits)",
        r.min_pair_xor_bits
    );
    ensure!(
        r.worst_bit_sigma < 6.0,
        "{kind}: a bit is biased by {:.1} sigma",
        r.worst_bit_sigma
    );
    Ok(())
}

/// RFC 6749 §10.10 / RFC 6819 §5.1.4.2.2: access tokens, refresh tokens, codes, and the consent
/// request ids (which stand for an authorization awaiting consent) must not be guessable.
#[test]
fn tokens_codes_and_request_ids_measure_over_128_bits_and_never_repeat() -> anyhow::Result<()> {
    const N: usize = 1000;
    let world = World::new()?;
    let (mut access, mut refresh, mut codes, mut requests) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..N {
        let pair = world.refresh()?;
        access.push(
            pair["access_token"]
                .as_str()
                .context("access_token")?
                .to_owned(),
        );
        refresh.push(
            pair["refresh_token"]
                .as_str()
                .context("refresh_token")?
                .to_owned(),
        );
        requests.push(world.pending_request()?);
        codes.push(world.mint_code()?);
    }
    let all: HashSet<&String> = access
        .iter()
        .chain(&refresh)
        .chain(&codes)
        .chain(&requests)
        .collect();
    assert_eq!(all.len(), 4 * N, "a secret was issued twice across kinds");
    for (kind, secrets) in [
        ("access tokens", &access),
        ("refresh tokens", &refresh),
        ("authorization codes", &codes),
        ("consent request ids", &requests),
    ] {
        let r = measure(secrets)?;
        println!(
            "entropy: {kind}: {} samples, {} bytes each, {:.1} bits measured (sum of per-byte \
             entropies), min pair-XOR {:.2} bits/byte, worst bit {:.1} sigma",
            r.samples, r.bytes, r.position_entropy_bits, r.min_pair_xor_bits, r.worst_bit_sigma
        );
        judge(kind, &r)?;
    }
    Ok(())
}

/// Negative controls: weak generators of the same shape fail the measurement.
#[test]
fn the_entropy_measurement_refuses_counters_short_randomness_and_mirrored_halves(
) -> anyhow::Result<()> {
    use rand::RngCore;
    let mut rng = rand::rng();
    let encode = |bytes: [u8; 32]| URL_SAFE_NO_PAD.encode(bytes);
    let counter: Vec<String> = (0u64..1000)
        .map(|i| {
            let mut b = [0u8; 32];
            b[24..].copy_from_slice(&(1_700_000_000_000 + i).to_be_bytes());
            encode(b)
        })
        .collect();
    let short: Vec<String> = (0..1000)
        .map(|_| {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b[..12]);
            encode(b)
        })
        .collect();
    let mirrored: Vec<String> = (0..1000)
        .map(|_| {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b[..16]);
            let (head, tail) = b.split_at_mut(16);
            tail.copy_from_slice(head);
            encode(b)
        })
        .collect();
    let repeated: Vec<String> = (0..1000)
        .map(|i| {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b);
            if i % 500 == 1 {
                b = [7; 32];
            }
            encode(b)
        })
        .collect();
    for (name, secrets, complaint) in [
        ("counter", &counter, "bits measured"),
        ("12 random bytes", &short, "bits measured"),
        ("mirrored halves", &mirrored, "depend on each other"),
        ("a repeat", &repeated, "repeats"),
    ] {
        let verdict = judge(name, &measure(secrets)?);
        let error = verdict
            .err()
            .with_context(|| format!("{name} passed the measurement"))?;
        assert!(error.to_string().contains(complaint), "{name}: {error}");
    }
    Ok(())
}

/// RFC 7636 §4.5–4.6 and OAuth 2.1 §4.1.3: a code presented without `code_verifier` is refused
/// with `invalid_request`, and that presentation uses the code up, so a thief who tries without
/// the verifier cannot learn anything and try again.
#[test]
fn a_code_presented_without_a_verifier_is_refused_and_used_up() -> anyhow::Result<()> {
    let world = World::new()?;
    let code = world.mint_code()?;
    let (status, body) = world.token(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", &world.client_id),
        ("redirect_uri", REDIRECT_URI),
        ("resource", &format!("{ORIGIN}/")),
    ])?;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, body) = world.exchange(&code)?;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // Control: a fresh code with the verifier is exchanged.
    let (status, body) = world.exchange(&world.mint_code()?)?;
    assert_eq!(status, StatusCode::OK, "{body}");
    Ok(())
}

/// RFC 6749 §4.1.3: the code must have been issued to the client that presents it. Another
/// registered client with the right verifier still gets `invalid_grant`.
#[test]
fn a_code_issued_to_one_client_is_refused_to_another() -> anyhow::Result<()> {
    let world = World::new()?;
    let other = world.register_another()?;
    let code = world.mint_code()?;
    let (status, body) = world.token(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", &other),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
        ("resource", &format!("{ORIGIN}/")),
    ])?;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    Ok(())
}

/// RFC 6749 §3.1.2.3 and OAuth 2.1 §4.1.1: a redirect URI is compared with the registered one
/// as a string, no normalisation; near misses get an error page, never a redirect (RFC 6749
/// §4.1.2.1), and at the token endpoint `invalid_grant` (RFC 6749 §4.1.3).
#[rstest]
#[case::trailing_slash("http://127.0.0.1:9/callback/")]
#[case::upper_case_scheme("HTTP://127.0.0.1:9/callback")]
#[case::upper_case_path("http://127.0.0.1:9/Callback")]
#[case::added_query("http://127.0.0.1:9/callback?next=/")]
#[case::empty_fragment("http://127.0.0.1:9/callback#")]
#[case::dot_segment("http://127.0.0.1:9/./callback")]
#[case::percent_encoded("http://127.0.0.1:9/%63allback")]
#[case::localhost_for_127("http://localhost:9/callback")]
#[case::https("https://127.0.0.1:9/callback")]
fn a_redirect_uri_that_differs_from_the_registered_one_in_any_way_is_refused(
    #[case] near_miss: &str,
) -> anyhow::Result<()> {
    let world = World::new()?;
    let authorize = |redirect_uri: &str| -> anyhow::Result<(StatusCode, bool, String)> {
        let mut url = Url::parse(&format!("{ORIGIN}/oauth/authorize"))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &world.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_challenge", &s256_challenge(VERIFIER))
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", "s");
        let request = Request::get(format!("/oauth/authorize?{}", url.query().unwrap_or("")))
            .body(Body::empty())?;
        match world.send(request) {
            Outcome::Answered {
                status,
                headers,
                body,
            } => Ok((
                status,
                headers.contains_key("location"),
                String::from_utf8_lossy(&body).into_owned(),
            )),
            Outcome::Panicked(message) => anyhow::bail!("authorize panicked: {message}"),
        }
    };
    let (status, redirected, page) = authorize(near_miss)?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(!redirected, "an unverified redirect URI was redirected to");
    assert!(
        page.contains("<code id=\"error\">invalid_request</code>"),
        "{page}"
    );
    // Control: the registered string itself gets the consent page.
    let (status, _, page) = authorize(REDIRECT_URI)?;
    assert_eq!(status, StatusCode::OK, "{page}");

    let code = world.mint_code()?;
    let (status, body) = world.token(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", &world.client_id),
        ("redirect_uri", near_miss),
        ("code_verifier", VERIFIER),
        ("resource", &format!("{ORIGIN}/")),
    ])?;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    Ok(())
}

/// RFC 6749 §6: a refresh token is bound to the client it was issued to. Another client's attempt
/// is refused and does not use the token up (rotation happens only for its owner).
#[test]
fn a_refresh_token_is_refused_to_another_client_and_stays_usable() -> anyhow::Result<()> {
    let world = World::new()?;
    let other = world.register_another()?;
    let stolen = world.refresh_token.borrow().clone();
    let (status, body) = world.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &stolen),
        ("client_id", &other),
    ])?;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    world
        .refresh()
        .context("the owner's refresh after the refused attempt")?;
    Ok(())
}

/// RFC 8707 §2.2: a refresh may not move a grant to another resource (`invalid_target`), and RFC
/// 6749 §6 forbids widening its scope (`invalid_scope`). Neither refusal uses the token up.
#[rstest]
#[case::another_resource("resource", "https://elsewhere.example/", "invalid_target")]
#[case::another_port("resource", "http://127.0.0.1:10/", "invalid_target")]
#[case::a_wider_scope("scope", "mcp admin", "invalid_scope")]
fn a_refresh_cannot_retarget_or_widen_its_grant(
    #[case] name: &str,
    #[case] value: &str,
    #[case] error: &str,
) -> anyhow::Result<()> {
    let world = World::new()?;
    let current = world.refresh_token.borrow().clone();
    let (status, body) = world.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &current),
        ("client_id", &world.client_id),
        (name, value),
    ])?;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some(error))
    );
    world
        .refresh()
        .context("the refresh after the refused one")?;
    Ok(())
}
