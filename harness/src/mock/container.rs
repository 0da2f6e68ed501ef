//! Container mode: the mock server as a statically linked binary in an image `FROM scratch`,
//! built locally (no registry is reachable) and run with the docker CLI.
//!
//! Why the docker CLI and not testcontainers: testcontainers 0.28 reaches the engine through
//! bollard pinned at API 1.53 and never negotiates down, while the engine Debian 12 ships
//! (docker.io 20.10) answers at most API 1.41, so every request fails with "client version 1.53 is
//! too new". The CLI negotiates, and works with that engine and newer ones alike.
//!
//! The server's issuer, metadata URLs and `resource` are absolute, so it must know the address the
//! client sees: the harness picks a free loopback port on the host, maps it to the container's
//! port, and passes `--public-url http://127.0.0.1:PORT`. Requests from the host reach the
//! container from the bridge, not loopback, so the access log is read with an admin token given to
//! the container at start.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use mock_server::config::ADMIN_TOKEN_HEADER;
use mock_server::{AccessRecord, Phase};
use sha2::{Digest, Sha256};

/// Set to `1` to make a missing Docker engine a failure instead of a skip (CI sets it).
pub const REQUIRE_DOCKER_ENV: &str = "HARNESS_REQUIRE_DOCKER";
/// A prebuilt, statically linked `mock-server` to put in the image instead of building one.
pub const MOCK_BINARY_ENV: &str = "HARNESS_MOCK_BINARY";
/// Images are `mcp-reconnect-mock:<content hash>`.
pub const IMAGE_REPOSITORY: &str = "mcp-reconnect-mock";
/// The port the server listens on inside the container.
pub const CONTAINER_PORT: u16 = 8080;
/// The line `mock-server` prints on stdout once it listens.
pub const READY_LINE: &str = "ready";
/// The image: nothing but the binary. `EXPOSE` documents the port; the harness maps it itself.
pub const DOCKERFILE: &str = "FROM scratch\n\
COPY mock-server /mock-server\n\
EXPOSE 8080\n\
ENTRYPOINT [\"/mock-server\"]\n";

/// Every container the harness starts carries this label, and the starting process's id under
/// `<label>.pid`, so that containers left behind by a killed run can be found and removed.
const LABEL: &str = "mcp-reconnect-harness";
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const DOCKER_TIMEOUT: Duration = Duration::from_secs(120);
const ENGINE_TIMEOUT: Duration = Duration::from_secs(15);
/// A cold release build of the mock server takes about two minutes on two cores.
const BUILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// Attempts at a free host port: another process may take the one picked before docker binds it.
const PORT_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("no Docker engine answers: {0} (start one with `make docker`, i.e. ci/docker.sh)")]
    NoEngine(String),
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {output}")]
    Failed { command: String, output: String },
    #[error("`{command}` did not finish within {} s", .after.as_secs())]
    Timeout { command: String, after: Duration },
    #[error("building the static mock-server failed (`{command}`):\n{output}")]
    Build { command: String, output: String },
    #[error("{0}")]
    Io(String),
    #[error("the mock container {name} did not print `{READY_LINE}` within {} s; its output:\n{logs}", .waited.as_secs())]
    NotReady {
        name: String,
        waited: Duration,
        logs: String,
    },
    #[error("the mock container {name} ended before it was ready ({state}); its output:\n{logs}")]
    Ended {
        name: String,
        state: String,
        logs: String,
    },
    #[error("reading the access log of the mock container {name}: {reason}")]
    AccessLog { name: String, reason: String },
}

/// Runs the docker CLI, bounded, and returns its stdout.
fn docker(args: &[&str], timeout: Duration) -> Result<String, ContainerError> {
    docker_with_env(args, &[], timeout)
}

fn docker_with_env(
    args: &[&str],
    env: &[(&str, &str)],
    timeout: Duration,
) -> Result<String, ContainerError> {
    let command = format!("docker {}", args.join(" "));
    let mut expression = duct::cmd("docker", args)
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked();
    for (key, value) in env {
        expression = expression.env(key, value);
    }
    let output = wait_bounded(expression, &command, timeout)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        let mut text = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        if text.is_empty() {
            text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        }
        Err(ContainerError::Failed {
            command,
            output: text,
        })
    }
}

fn wait_bounded(
    expression: duct::Expression,
    command: &str,
    timeout: Duration,
) -> Result<std::process::Output, ContainerError> {
    let spawn_error = |source| ContainerError::Spawn {
        command: command.to_owned(),
        source,
    };
    let handle = expression.start().map_err(spawn_error)?;
    match handle.wait_timeout(timeout).map_err(spawn_error)? {
        Some(output) => Ok(output.clone()),
        None => {
            let _ = handle.kill();
            Err(ContainerError::Timeout {
                command: command.to_owned(),
                after: timeout,
            })
        }
    }
}

/// The engine's version when one answers; why not otherwise.
pub fn engine() -> Result<String, ContainerError> {
    match docker(
        &["version", "--format", "{{.Server.Version}}"],
        ENGINE_TIMEOUT,
    ) {
        Ok(version) => Ok(version),
        Err(ContainerError::Spawn { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Err(ContainerError::NoEngine(
                "the docker CLI is not installed".to_owned(),
            ))
        }
        Err(ContainerError::Failed { output, .. }) => Err(ContainerError::NoEngine(
            output
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("`docker version` failed")
                .trim()
                .to_owned(),
        )),
        Err(other) => Err(ContainerError::NoEngine(other.to_string())),
    }
}

/// Whether `HARNESS_REQUIRE_DOCKER` asks for a missing engine to be a failure.
pub fn docker_required() -> bool {
    std::env::var(REQUIRE_DOCKER_ENV).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn workspace_root() -> PathBuf {
    // The harness crate sits one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The statically linked `mock-server` for the image: `HARNESS_MOCK_BINARY`, else built from this
/// workspace with the host's gnu target and `+crt-static` into `target/mock-static` (a target dir
/// of its own, so that it neither waits for nor invalidates the ordinary build). Cargo makes it a
/// no-op when nothing changed.
pub fn static_mock_binary() -> Result<PathBuf, ContainerError> {
    if let Some(path) = std::env::var_os(MOCK_BINARY_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ContainerError::Io(format!(
                "{MOCK_BINARY_ENV}={} is not a file",
                path.display()
            )))
        };
    }
    if !cfg!(target_os = "linux") {
        return Err(ContainerError::Io(
            "container mode builds a Linux binary of the host's architecture; on this OS set HARNESS_MOCK_BINARY to a statically linked Linux mock-server".to_owned(),
        ));
    }
    let root = workspace_root();
    if !root.join("mock-server").join("Cargo.toml").is_file() {
        return Err(ContainerError::Io(format!(
            "the workspace this harness was built from ({}) is gone, so the mock server cannot be built; set {MOCK_BINARY_ENV}",
            root.display()
        )));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| root.join(d))
        .unwrap_or_else(|| root.join("target"))
        .join("mock-static");
    // The gnu target named explicitly: then RUSTFLAGS reach only the target's code and not build
    // scripts or proc macros, which must stay dynamically linked.
    let triple = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let args = [
        "build",
        "--locked",
        "--release",
        "--package",
        "mock-server",
        "--bin",
        "mock-server",
        "--target",
        &triple,
    ];
    let command = format!(
        "CARGO_TARGET_DIR={} RUSTFLAGS='-C target-feature=+crt-static' cargo {}",
        target_dir.display(),
        args.join(" ")
    );
    let expression = duct::cmd(&cargo, args)
        .dir(&root)
        .env("CARGO_TARGET_DIR", &target_dir)
        // The encoded form wins over RUSTFLAGS; a user's RUSTFLAGS are not for this binary.
        .env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+crt-static")
        .env_remove("RUSTFLAGS")
        .stdin_null()
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked();
    crate::say!(
        "harness: building the static mock-server for the container image (a no-op when unchanged; minutes the first time): {command}"
    );
    let output = wait_bounded(expression, &command, BUILD_TIMEOUT)?;
    if !output.status.success() {
        return Err(ContainerError::Build {
            command,
            output: String::from_utf8_lossy(&output.stdout).into_owned(),
        });
    }
    Ok(target_dir.join(&triple).join("release").join("mock-server"))
}

/// `mcp-reconnect-mock:<hash>`, the hash covering the Dockerfile and the binary: the tag changes
/// exactly when the image's content would.
pub fn image_reference(dockerfile: &str, binary: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(dockerfile.as_bytes());
    hasher.update([0u8]);
    hasher.update(binary);
    let hex: String = hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{IMAGE_REPOSITORY}:{hex}")
}

/// Builds the image from `dockerfile` and `binary` unless an image with its content hash exists.
/// Returns the image reference.
pub fn build_image(binary: &Path, dockerfile: &str) -> Result<String, ContainerError> {
    let bytes = std::fs::read(binary)
        .map_err(|e| ContainerError::Io(format!("cannot read {}: {e}", binary.display())))?;
    let reference = image_reference(dockerfile, &bytes);
    if docker(
        &["image", "inspect", "--format", "{{.Id}}", &reference],
        DOCKER_TIMEOUT,
    )
    .is_ok()
    {
        return Ok(reference);
    }
    let io = |e: std::io::Error| ContainerError::Io(format!("preparing the build context: {e}"));
    let context = tempfile::Builder::new()
        .prefix("mock-image-")
        .tempdir()
        .map_err(io)?;
    std::fs::write(context.path().join("Dockerfile"), dockerfile).map_err(io)?;
    // fs::copy keeps the mode bits, so the binary stays executable in the image.
    std::fs::copy(binary, context.path().join("mock-server")).map_err(io)?;
    let dir = context.path().to_string_lossy().into_owned();
    docker(
        &["build", "--quiet", "--tag", &reference, &dir],
        DOCKER_TIMEOUT,
    )?;
    Ok(reference)
}

/// The mock server's image, built on first use in this process (static binary, then image).
pub fn mock_image() -> Result<String, ContainerError> {
    // Held while building, so that tests starting containers at once build only once.
    static IMAGE: Mutex<Option<String>> = Mutex::new(None);
    let mut image = IMAGE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(reference) = image.as_ref() {
        return Ok(reference.clone());
    }
    remove_orphans();
    let binary = static_mock_binary()?;
    let reference = build_image(&binary, DOCKERFILE)?;
    *image = Some(reference.clone());
    Ok(reference)
}

/// Removes containers whose starting process is gone (a run killed before it could clean up).
/// Best effort, once per process.
fn remove_orphans() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = format!("label={LABEL}.pid");
        let format = format!("{{{{.Names}}}} {{{{.Label \"{LABEL}.pid\"}}}}");
        let Ok(listing) = docker(
            &["ps", "--all", "--filter", &filter, "--format", &format],
            DOCKER_TIMEOUT,
        ) else {
            return;
        };
        for line in listing.lines() {
            let Some((name, pid)) = line.split_once(' ') else {
                continue;
            };
            if !Path::new("/proc").join(pid.trim()).exists() {
                let _ = docker(&["rm", "--force", "--volumes", name], DOCKER_TIMEOUT);
            }
        }
    });
}

/// Whether a container of that name exists, running or not.
pub fn container_exists(name: &str) -> Result<bool, ContainerError> {
    match docker(
        &["container", "inspect", "--format", "{{.Id}}", name],
        DOCKER_TIMEOUT,
    ) {
        Ok(_) => Ok(true),
        Err(ContainerError::Failed { output, .. }) if output.contains("No such") => Ok(false),
        Err(other) => Err(other),
    }
}

/// Removes a container, running or not; a missing one is not an error.
pub fn remove_container(name: &str) -> Result<(), ContainerError> {
    match docker(&["rm", "--force", "--volumes", name], DOCKER_TIMEOUT) {
        Ok(_) => Ok(()),
        Err(ContainerError::Failed { output, .. }) if output.contains("No such") => Ok(()),
        Err(other) => Err(other),
    }
}

/// How to start a container; the defaults are what the harness uses.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The image; default [`mock_image`].
    pub image: Option<String>,
    /// Advertise this origin instead of the mapped host port. Only for negative controls: a
    /// server that advertises an address its clients cannot reach.
    pub public_url: Option<String>,
    /// Faults the server commits, passed as its flags (`Faults::flags`).
    pub faults: mock_server::Faults,
}

/// How a stop went.
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    /// From asking docker to stop until `docker stop` returned, the container having ended.
    pub took: Duration,
    /// 0 when the server ended by itself; 137 when docker had to kill it.
    pub exit_code: i64,
}

/// A running mock-server container, removed (with `docker rm --force`) when dropped, also while
/// a test panics.
pub struct MockContainer {
    name: String,
    image: String,
    host_port: u16,
    public_url: String,
    admin_token: String,
    /// The fault flags the server was started with.
    fault_flags: Vec<String>,
    http: reqwest::blocking::Client,
    start_to_ready: Duration,
    /// Lets an interrupted run remove the container (its drop never runs then).
    _on_stop: crate::drive::live::Tracked,
}

impl MockContainer {
    /// Starts the mock server's image and waits for its ready line.
    pub fn start() -> Result<MockContainer, ContainerError> {
        MockContainer::start_with(StartOptions::default())
    }

    pub fn start_with(options: StartOptions) -> Result<MockContainer, ContainerError> {
        let image = match options.image {
            Some(image) => image,
            None => mock_image()?,
        };
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ContainerError::Io(format!("HTTP client: {e}")))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let host_port = free_loopback_port()?;
            let public_url = options
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://127.0.0.1:{host_port}"));
            // Built before `docker run`, so that a container created but not started (a port
            // conflict) is removed too.
            let name = unique_name();
            let on_stop = {
                let name = name.clone();
                crate::drive::live::on_stop(&format!("mock container {name}"), move || {
                    let _ = remove_container(&name);
                })
                .map_err(|e| ContainerError::Io(e.to_string()))?
            };
            let mut container = MockContainer {
                name,
                image: image.clone(),
                host_port,
                public_url,
                admin_token: random_token()?,
                fault_flags: options.faults.flags(),
                http: http.clone(),
                start_to_ready: Duration::ZERO,
                _on_stop: on_stop,
            };
            let started = Instant::now();
            match container.run() {
                Ok(()) => {}
                Err(ContainerError::Failed { output, .. })
                    if attempt < PORT_ATTEMPTS && is_port_conflict(&output) =>
                {
                    continue
                }
                Err(other) => return Err(other),
            }
            container.wait_ready(READY_TIMEOUT)?;
            container.start_to_ready = started.elapsed();
            return Ok(container);
        }
    }

    fn run(&self) -> Result<(), ContainerError> {
        let pid = std::process::id().to_string();
        let label_pid = format!("{LABEL}.pid={pid}");
        let label = format!("{LABEL}=mock");
        let publish = format!("127.0.0.1:{}:{CONTAINER_PORT}", self.host_port);
        let port = CONTAINER_PORT.to_string();
        // The token goes in through the docker CLI's environment (`-e NAME` without a value), so
        // it is not on any command line.
        let mut args = vec![
            "run",
            "--detach",
            "--name",
            &self.name,
            "--label",
            &label,
            "--label",
            &label_pid,
            // Loopback only: the mock is for this host's clients.
            "--publish",
            &publish,
            "--env",
            "MOCK_SERVER_ADMIN_TOKEN",
            &self.image,
            "--bind",
            "0.0.0.0",
            "--port",
            &port,
            "--public-url",
            &self.public_url,
        ];
        args.extend(self.fault_flags.iter().map(String::as_str));
        docker_with_env(
            &args,
            &[("MOCK_SERVER_ADMIN_TOKEN", &self.admin_token)],
            DOCKER_TIMEOUT,
        )
        .map(drop)
    }

    /// Follows the container's stdout until the ready line, the container's end, or the timeout.
    fn wait_ready(&self, timeout: Duration) -> Result<(), ContainerError> {
        let command = format!("docker logs --follow {}", self.name);
        let reader = duct::cmd("docker", ["logs", "--follow", &self.name])
            .stdin_null()
            .stderr_null()
            .unchecked()
            .reader()
            .map_err(|source| ContainerError::Spawn {
                command: command.clone(),
                source,
            })?;
        let reader = Arc::new(reader);
        let (lines_tx, lines_rx) = mpsc::channel::<String>();
        let follower = {
            let reader = Arc::clone(&reader);
            std::thread::spawn(move || {
                for line in BufReader::new(&*reader).lines() {
                    let Ok(line) = line else { break };
                    if lines_tx.send(line).is_err() {
                        break;
                    }
                }
            })
        };
        let deadline = Instant::now() + timeout;
        let outcome = loop {
            match lines_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.trim() == READY_LINE => break Ok(()),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    break Err(ContainerError::NotReady {
                        name: self.name.clone(),
                        waited: timeout,
                        logs: self.logs(),
                    })
                }
                // `docker logs --follow` ends when the container does.
                Err(RecvTimeoutError::Disconnected) => {
                    break Err(ContainerError::Ended {
                        name: self.name.clone(),
                        state: self.state().unwrap_or_else(|e| e.to_string()),
                        logs: self.logs(),
                    })
                }
            }
        };
        let _ = reader.kill();
        let _ = follower.join();
        outcome
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn image(&self) -> &str {
        &self.image
    }

    /// The host's loopback port mapped to the server's port.
    pub fn host_port(&self) -> u16 {
        self.host_port
    }

    /// The origin the server advertises (normally `http://127.0.0.1:<host port>`).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Where the host reaches the server, whatever it advertises.
    pub fn host_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.host_port)
    }

    /// The token the container's admin routes accept from the host.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// From `docker run` to the ready line.
    pub fn start_to_ready(&self) -> Duration {
        self.start_to_ready
    }

    /// The access log, without the admin requests that reading it adds: those are the harness's
    /// own, and counting them would keep the log from ever looking settled.
    pub fn access_log(&self) -> Result<Vec<AccessRecord>, ContainerError> {
        let failed = |reason: String| ContainerError::AccessLog {
            name: self.name.clone(),
            reason,
        };
        let response = self
            .http
            .get(format!(
                "{}{}",
                self.host_url(),
                mock_server::config::paths::ADMIN_ACCESS_LOG
            ))
            .header(ADMIN_TOKEN_HEADER, &self.admin_token)
            .send()
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().unwrap_or_default();
            return Err(failed(format!("{status}: {body}")));
        }
        let records: Vec<AccessRecord> = response.json().map_err(|e| failed(e.to_string()))?;
        Ok(records
            .into_iter()
            .filter(|r| r.phase != Phase::Admin)
            .collect())
    }

    /// `docker stop --time <grace>`: the container's stop signal (SIGTERM), then SIGKILL once
    /// the grace period is over.
    pub fn stop(&self, grace: Duration) -> Result<Stopped, ContainerError> {
        let seconds = grace.as_secs().max(1).to_string();
        let started = Instant::now();
        docker(&["stop", "--time", &seconds, &self.name], DOCKER_TIMEOUT)?;
        let took = started.elapsed();
        let exit_code = docker(
            &[
                "container",
                "inspect",
                "--format",
                "{{.State.ExitCode}}",
                &self.name,
            ],
            DOCKER_TIMEOUT,
        )?;
        let exit_code = exit_code
            .parse()
            .map_err(|_| ContainerError::Io(format!("unexpected exit code {exit_code:?}")))?;
        Ok(Stopped { took, exit_code })
    }

    /// Whether the container is still running.
    pub fn running(&self) -> Result<bool, ContainerError> {
        Ok(self.state()?.starts_with("running"))
    }

    fn state(&self) -> Result<String, ContainerError> {
        docker(
            &[
                "container",
                "inspect",
                "--format",
                "{{.State.Status}} exit={{.State.ExitCode}}",
                &self.name,
            ],
            DOCKER_TIMEOUT,
        )
    }

    /// Everything the server printed, stdout and stderr (best effort, for error messages).
    pub fn logs(&self) -> String {
        let expression = duct::cmd("docker", ["logs", &self.name])
            .stdin_null()
            .stderr_to_stdout()
            .stdout_capture()
            .unchecked();
        match wait_bounded(expression, "docker logs", DOCKER_TIMEOUT) {
            Ok(output) => String::from_utf8_lossy(&output.stdout).into_owned(),
            Err(e) => format!("(no logs: {e})"),
        }
    }

    /// A command that starts a container like this one.
    pub fn how_to_start(&self) -> String {
        format!(
            "docker run --rm -p 127.0.0.1:{port}:{CONTAINER_PORT} -e MOCK_SERVER_ADMIN_TOKEN=<token> {image} --bind 0.0.0.0 --port {CONTAINER_PORT} --public-url {url}{faults}",
            port = self.host_port,
            image = self.image,
            url = self.public_url,
            faults = self
                .fault_flags
                .iter()
                .map(|f| format!(" {f}"))
                .collect::<String>(),
        )
    }
}

impl Drop for MockContainer {
    fn drop(&mut self) {
        if let Err(e) = remove_container(&self.name) {
            crate::say!(
                "harness: could not remove the mock container {}: {e}",
                self.name
            );
        }
    }
}

fn is_port_conflict(output: &str) -> bool {
    output.contains("port is already allocated") || output.contains("address already in use")
}

fn free_loopback_port() -> Result<u16, ContainerError> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| ContainerError::Io(format!("no free loopback port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| ContainerError::Io(format!("no free loopback port: {e}")))
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!(
        "{IMAGE_REPOSITORY}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn random_token() -> Result<String, ContainerError> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| ContainerError::Io(format!("cannot read /dev/urandom: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tag_changes_exactly_when_the_content_does() {
        let a = image_reference(DOCKERFILE, b"binary one");
        assert_eq!(a, image_reference(DOCKERFILE, b"binary one"));
        assert_ne!(a, image_reference(DOCKERFILE, b"binary two"));
        assert_ne!(
            a,
            image_reference(&format!("{DOCKERFILE}STOPSIGNAL SIGUSR1\n"), b"binary one")
        );
        assert!(a.starts_with("mcp-reconnect-mock:"));
        assert_eq!(a.len(), "mcp-reconnect-mock:".len() + 16);
    }

    #[test]
    fn port_conflicts_are_recognised_and_other_failures_are_not() {
        assert!(is_port_conflict(
            "Error response from daemon: driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:4000 failed: port is already allocated"
        ));
        assert!(!is_port_conflict(
            "Unable to find image 'mcp-reconnect-mock:0' locally"
        ));
    }

    #[test]
    fn admin_tokens_are_random_hex() -> Result<(), ContainerError> {
        let (a, b) = (random_token()?, random_token()?);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        Ok(())
    }
}
