//! Container mode: the mock server's image (its statically linked binary `FROM scratch`, built
//! locally) runs the real CLI's core scenarios, and is checked for what a container adds: the
//! advertised URLs must answer from the host, SIGTERM must stop it promptly, the access log must
//! be readable from the host only with the admin token, a server that cannot start must fail with
//! its own words, and containers must go away with their test, passing or panicking.
//!
//! Where no Docker engine answers, these tests return early after one line saying so, unless
//! `HARNESS_REQUIRE_DOCKER=1` (as in CI), which makes that a failure.

use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context};
use harness::mock::container::{
    self, build_image, container_exists, containers_on_host_port, remove_container,
    static_mock_binary, ContainerError, MockContainer, StartOptions, DOCKERFILE,
};
use harness::scenarios::{self, Scenario};
use mock_server::config::{paths, ADMIN_TOKEN_HEADER};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use crate::claude_code::{assert_login_stored_tokens, assert_reinitialized_in_the_same_session};
use crate::support::{claude_code, docker_engine, real_cli_slot};

fn http() -> anyhow::Result<Client> {
    Ok(Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()?)
}

/// The reconnect check with the real CLI, the mock in its container: the same verdicts and the same
/// access-log snapshot as in-process.
#[test]
fn the_same_session_reinitializes_after_token_exchange_against_the_container() -> anyhow::Result<()>
{
    if !docker_engine()? {
        return Ok(());
    }
    let _slot = real_cli_slot();
    let client = claude_code()?;
    let mock = MockContainer::start()?;
    let report = scenarios::run(Scenario::SLASH_MCP, &client, &mock);
    assert_reinitialized_in_the_same_session(&report);
    Ok(())
}

/// `mcp add` → `mcp list` → `mcp login` → `mcp list` with the real CLI against the container.
#[test]
fn login_command_stores_tokens_that_a_new_process_uses_against_the_container() -> anyhow::Result<()>
{
    if !docker_engine()? {
        return Ok(());
    }
    let _slot = real_cli_slot();
    let client = claude_code()?;
    let mock = MockContainer::start()?;
    let report = scenarios::run(Scenario::LOGIN_THEN_LIST, &client, &mock);
    assert_login_stored_tokens(&report);
    Ok(())
}

/// Every string in `value` that is an absolute http(s) URL, with where it was found.
fn urls_in(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
            out.push((at.to_owned(), s.clone()));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                urls_in(item, &format!("{at}[{i}]"), out);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                urls_in(item, &format!("{at}.{key}"), out);
            }
        }
        _ => {}
    }
}

/// Every URL the server hands a client (the 401 challenge's `resource_metadata`, and all URLs in
/// both metadata documents), fetched from where the host reaches the container.
fn advertised_urls(mock: &MockContainer) -> anyhow::Result<Vec<(String, String)>> {
    let http = http()?;
    let host = mock.host_url();
    let challenge = http
        .post(format!("{host}{}", paths::MCP))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#)
        .send()?;
    ensure!(
        challenge.status() == StatusCode::UNAUTHORIZED,
        "an unauthenticated initialize got {}",
        challenge.status()
    );
    let header = challenge
        .headers()
        .get("www-authenticate")
        .context("no WWW-Authenticate on the 401")?
        .to_str()?
        .to_owned();
    let resource_metadata = header
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .with_context(|| format!("no resource_metadata in {header:?}"))?;
    let mut urls = vec![(
        "WWW-Authenticate resource_metadata".to_owned(),
        resource_metadata.to_owned(),
    )];
    for path in [
        paths::PROTECTED_RESOURCE_METADATA,
        paths::AUTHORIZATION_SERVER_METADATA,
    ] {
        let document: Value = http.get(format!("{host}{path}")).send()?.json()?;
        urls_in(&document, path, &mut urls);
    }
    Ok(urls)
}

/// The advertised URLs that do not reach this container from the host, with why. A URL counts as
/// answered only when the request shows up in this container's own access log, so that another
/// server on the same port cannot pass for it.
fn unanswered(mock: &MockContainer, urls: &[(String, String)]) -> anyhow::Result<Vec<String>> {
    let http = http()?;
    let mut failures = Vec::new();
    for (at, url) in urls {
        let path = Url::parse(url)?.path().to_owned();
        let before = mock.access_log()?.len();
        match http.get(url).send() {
            Err(e) => failures.push(format!("{at} = {url}: {e}")),
            Ok(response) => {
                let log = mock.access_log()?;
                if !log.iter().skip(before).any(|r| r.path == path) {
                    failures.push(format!(
                        "{at} = {url}: answered {} by something other than this container",
                        response.status()
                    ));
                }
            }
        }
    }
    Ok(failures)
}

#[test]
fn every_url_in_the_container_metadata_answers_from_the_host() -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    let mock = MockContainer::start()?;
    let urls = advertised_urls(&mock)?;
    // The challenge, resource, authorization server, issuer, and three endpoints at least: an
    // empty list must not pass for a good one.
    ensure!(urls.len() >= 7, "too few URLs found: {urls:?}");
    for (at, url) in &urls {
        ensure!(
            url.starts_with(mock.public_url()),
            "{at} = {url} is not under the public URL {}",
            mock.public_url()
        );
    }
    let failures = unanswered(&mock, &urls)?;
    ensure!(failures.is_empty(), "unanswered: {failures:#?}");
    Ok(())
}

/// Negative control for the URL check: a container told to advertise a port nothing is mapped to
/// (as a wrong `--public-url` would) fails it for every URL.
#[test]
fn a_container_advertising_an_unmapped_port_fails_the_url_check() -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    let unmapped = std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port();
    let mock = MockContainer::start_with(StartOptions {
        public_url: Some(format!("http://127.0.0.1:{unmapped}")),
        ..StartOptions::default()
    })?;
    let urls = advertised_urls(&mock)?;
    ensure!(urls.len() >= 7, "too few URLs found: {urls:?}");
    let failures = unanswered(&mock, &urls)?;
    ensure!(
        failures.len() == urls.len(),
        "only {} of {} URLs were caught: {failures:#?}",
        failures.len(),
        urls.len()
    );
    Ok(())
}

/// A host port taken between the harness picking it and the engine binding it fails the start
/// (the engine's 500) and leaves a created container behind: the start removes that container and
/// retries on another port, whose URLs answer.
#[test]
fn a_start_whose_host_port_is_taken_retries_on_another_and_leaves_nothing_behind(
) -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let port = taken.local_addr()?.port();
    let mock = MockContainer::start_with(StartOptions {
        host_port: Some(port),
        ..StartOptions::default()
    })?;
    ensure!(mock.host_port() != port, "started on the taken port {port}");
    let left = containers_on_host_port(port)?;
    ensure!(left.is_empty(), "left behind on port {port}: {left:?}");
    let failures = unanswered(&mock, &advertised_urls(&mock)?)?;
    ensure!(failures.is_empty(), "unanswered: {failures:#?}");
    drop(taken);
    Ok(())
}

/// Negative control for the clean-up half: the lookup does see a container published on a port
/// (the running one).
#[test]
fn the_port_lookup_finds_a_running_container_on_its_port() -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    let mock = MockContainer::start()?;
    let found = containers_on_host_port(mock.host_port())?;
    ensure!(
        found
            .iter()
            .any(|n| n.trim_start_matches('/') == mock.name()),
        "{} not found on port {}: {found:?}",
        mock.name(),
        mock.host_port()
    );
    Ok(())
}

/// A stop sends SIGTERM; the server must end by itself (exit 0, not the engine's SIGKILL after
/// the grace period) and within a second.
#[test]
fn the_container_stops_within_a_second_of_sigterm() -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    // Timing on two shared cores: not while a real CLI runs.
    let _slot = real_cli_slot();
    let mock = MockContainer::start()?;
    let stopped = mock.stop(Duration::from_secs(10))?;
    ensure!(
        stopped.exit_code == 0,
        "exit code {} (137 is the engine's SIGKILL)\n{}",
        stopped.exit_code,
        mock.logs()
    );
    ensure!(
        stopped.took < Duration::from_secs(1),
        "stopping took {:?}",
        stopped.took
    );
    ensure!(!mock.running()?);
    Ok(())
}

/// Negative control for the SIGTERM check: the same binary in an image whose stop signal it does
/// not handle (SIGUSR1, which PID 1 ignores without a handler) is killed only when the grace
/// period runs out, with docker's 137, and so fails both halves of the check above.
#[test]
fn a_container_that_ignores_its_stop_signal_is_killed_after_the_grace_period() -> anyhow::Result<()>
{
    if !docker_engine()? {
        return Ok(());
    }
    let _slot = real_cli_slot();
    let image = build_image(
        &static_mock_binary()?,
        &format!("{DOCKERFILE}STOPSIGNAL SIGUSR1\n"),
    )?;
    let mock = MockContainer::start_with(StartOptions {
        image: Some(image),
        ..StartOptions::default()
    })?;
    let stopped = mock.stop(Duration::from_secs(1))?;
    ensure!(stopped.exit_code == 137, "exit code {}", stopped.exit_code);
    ensure!(
        stopped.took >= Duration::from_secs(1),
        "stopping took only {:?}",
        stopped.took
    );
    Ok(())
}

/// Requests from the host reach the container from the bridge, not loopback: the access log
/// answers them only with the token the container was started with.
#[test]
fn the_container_access_log_answers_the_host_only_with_the_admin_token() -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    let mock = MockContainer::start()?;
    let http = http()?;
    let url = format!("{}{}", mock.host_url(), paths::ADMIN_ACCESS_LOG);
    let without = http.get(&url).send()?.status();
    let wrong = http
        .get(&url)
        .header(ADMIN_TOKEN_HEADER, "not-the-token")
        .send()?
        .status();
    let with = http
        .get(&url)
        .header(ADMIN_TOKEN_HEADER, mock.admin_token())
        .send()?;
    assert_eq!(without, StatusCode::FORBIDDEN);
    assert_eq!(wrong, StatusCode::FORBIDDEN);
    assert_eq!(with.status(), StatusCode::OK);
    let records: Vec<Value> = with.json()?;
    // The two refused requests are in it: the log is the container's own, read through the token.
    let refused = records
        .iter()
        .filter(|r| r["path"] == paths::ADMIN_ACCESS_LOG && r["status"] == 403)
        .count();
    assert_eq!(refused, 2, "{records:#?}");
    Ok(())
}

/// testcontainers' blocking runner panics inside a tokio runtime; a test with one (here a
/// `#[tokio::test]`) starts, reads, stops and drops a container all the same, and leaves none.
#[tokio::test]
async fn a_container_is_driven_from_inside_a_tokio_runtime_like_from_a_plain_thread(
) -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    let mock = MockContainer::start()?;
    let name = mock.name().to_owned();
    ensure!(mock.access_log()?.is_empty());
    ensure!(mock.running()?);
    let stopped = mock.stop(Duration::from_secs(5))?;
    ensure!(stopped.exit_code == 0, "exit code {}", stopped.exit_code);
    drop(mock);
    ensure!(!container_exists(&name)?, "{name} is still there");
    Ok(())
}

#[test]
fn the_container_is_removed_when_its_test_panics() -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    let (name_tx, name_rx) = std::sync::mpsc::channel();
    let outcome = std::panic::catch_unwind(move || -> anyhow::Result<()> {
        let mock = MockContainer::start()?;
        name_tx.send(mock.name().to_owned())?;
        panic!("a test failing while its container runs");
    });
    match outcome {
        Err(_) => {}
        Ok(Err(e)) => return Err(e.context("the container did not start")),
        Ok(Ok(())) => bail!("the closure was meant to panic"),
    }
    let name = name_rx.recv()?;
    ensure!(
        !container_exists(&name)?,
        "{name} is still there after the panic"
    );
    Ok(())
}

/// Negative control for the removal check: a container whose handle is never dropped is still
/// there, so `container_exists` does see leaks.
#[test]
fn a_container_whose_handle_is_never_dropped_outlives_its_test() -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    let mock = MockContainer::start()?;
    let name = mock.name().to_owned();
    // Leaks the handle (and its HTTP client) on purpose: this is the leak being detected.
    std::mem::forget(mock);
    let leaked = container_exists(&name);
    remove_container(&name)?;
    ensure!(leaked?, "{name} was not found although nothing removed it");
    ensure!(!container_exists(&name)?);
    Ok(())
}

/// A server that refuses its arguments ends at once: the start fails when its output ends, not at
/// the ready timeout, with what the server said, and leaves no container behind.
#[test]
fn a_container_whose_server_refuses_its_arguments_fails_with_the_server_s_words(
) -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    let outcome = MockContainer::start_with(StartOptions {
        public_url: Some("nonsense".to_owned()),
        ..StartOptions::default()
    });
    let error = match outcome {
        Ok(mock) => bail!(
            "{} started although its public URL is nonsense",
            mock.name()
        ),
        Err(error) => error,
    };
    let ContainerError::Ended { name, logs } = &error else {
        bail!("not an early end: {error}");
    };
    ensure!(
        logs.contains(r#"invalid public URL "nonsense""#),
        "the server's words are missing: {error}"
    );
    ensure!(!container_exists(name)?, "{name} is still there");
    Ok(())
}

/// The start-to-ready figure in docs/mock-modes.md: asking for the container (create, start) to
/// its ready line, over ten starts, once the image exists. Run with
/// `cargo test --test reconnect container_start_to_ready -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn container_start_to_ready_over_ten_starts() -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    container::mock_image()?;
    let mut times = Vec::new();
    for _ in 0..10 {
        times.push(MockContainer::start()?.start_to_ready());
    }
    times.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let median = times
        .get(times.len() / 2)
        .ok_or_else(|| anyhow!("no starts"))?;
    println!(
        "container start-to-ready over {} starts: min {:.0} ms, median {:.0} ms, max {:.0} ms",
        times.len(),
        ms(&times[0]),
        ms(median),
        ms(&times[times.len() - 1])
    );
    Ok(())
}

/// The faults travel to the container's server as its flags, and the runtime events answer the
/// host with the admin token only: a dropped connection, then a 503, then service; then
/// `POST /__admin/expire-tokens` refused without the token, done with it.
#[test]
fn faults_reach_the_container_as_flags_and_its_admin_events_need_the_token() -> anyhow::Result<()> {
    if !docker_engine()? {
        return Ok(());
    }
    let mock = MockContainer::start_with(StartOptions {
        faults: mock_server::Faults {
            mcp_errors: Some(mock_server::faults::McpErrors {
                status: 503,
                count: 1,
            }),
            drop_connections: Some(mock_server::faults::DropConnections { count: 1 }),
            ..mock_server::Faults::default()
        },
        ..StartOptions::default()
    })?;
    ensure!(
        mock.how_to_start()
            .contains("--mcp-errors 503x1 --drop-connections 1"),
        "{}",
        mock.how_to_start()
    );
    let mcp_url = format!("{}/", mock.public_url());
    let runtime = tokio::runtime::Runtime::new()?;
    let (mut client, tokens) = runtime.block_on(async {
        let mut client = mock_server::client::StandInClient::new(&mcp_url)?;
        let tokens = client.authenticate().await?;
        let dropped = client.initialize(&tokens.access_token).await;
        ensure!(
            dropped.as_ref().err().map(|e| e.status()) == Some(None),
            "not dropped: {dropped:?}"
        );
        let refused = client.initialize(&tokens.access_token).await;
        ensure!(
            refused.as_ref().err().and_then(|e| e.status()) == Some(503),
            "not a 503: {refused:?}"
        );
        client.initialize(&tokens.access_token).await?;
        Ok::<_, anyhow::Error>((client, tokens))
    })?;
    let faults: Vec<(u16, String)> = mock
        .access_log()?
        .into_iter()
        .filter_map(|r| r.fault.map(|f| (r.status, f)))
        .collect();
    ensure!(
        faults
            == vec![
                (0, "dropped-connection (1 of 1)".to_owned()),
                (503, "mcp-error 503 (1 of 1)".to_owned()),
            ],
        "{faults:?}"
    );
    let expire = format!("{}/__admin/expire-tokens", mock.host_url());
    let without = http()?.post(&expire).send()?;
    ensure!(
        without.status() == StatusCode::FORBIDDEN,
        "{}",
        without.status()
    );
    let with = http()?
        .post(&expire)
        .header(ADMIN_TOKEN_HEADER, mock.admin_token())
        .send()?;
    ensure!(with.status() == StatusCode::OK, "{}", with.status());
    let body: Value = with.json()?;
    ensure!(body["affected"] == 1, "{body}");
    let expired = runtime.block_on(client.initialize(&tokens.access_token));
    ensure!(
        expired.as_ref().err().and_then(|e| e.status()) == Some(401),
        "{expired:?}"
    );
    Ok(())
}
