//! Container mode: the mock server as a statically linked binary in an image `FROM scratch`,
//! built locally (no registry is reachable) and run through testcontainers' blocking API.
//!
//! testcontainers is pinned at exactly 0.28.0, which talks to the engine through bollard 0.21.
//! bollard asks for API 1.53 and never negotiates, which a docker.io 20.10 engine (API 1.41, what
//! Debian 12 ships) would refuse; but released bollard drops the version prefix from its request
//! paths, so the engine answers at its own version and 20.10 works as well as newer engines. A
//! bollard that fixes the prefix (0.22) would break that, hence the exact pin and the lock file.
//!
//! The server's issuer, metadata URLs and `resource` are absolute and fixed when it starts, so it
//! must know the address the client sees before it starts: the harness picks a free loopback port
//! on the host, maps it explicitly to the container's port, and passes
//! `--public-url http://127.0.0.1:PORT`. A port the engine picks (testcontainers' default) is known
//! only once the container runs, too late for the server's arguments. Another process can take
//! the picked port before the engine binds it; then the start fails and is retried on a new port.
//! The binding is pinned to 127.0.0.1 (testcontainers leaves the host IP empty, i.e. every
//! interface), and the harness addresses the container at 127.0.0.1 itself: testcontainers'
//! `get_host` takes a machine with `/.dockerenv` for a container and may answer the bridge gateway.
//!
//! Requests from the host reach the container from the bridge, not loopback, so the access log is
//! read with an admin token given to the container at start.
//!
//! What testcontainers has no call for (the engine's version, containers by label, a container
//! by name that no handle owns) goes to the engine through testcontainers' own bollard client, so
//! that it reaches the same engine. No docker CLI is needed.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use mock_server::config::ADMIN_TOKEN_HEADER;
use mock_server::{AccessRecord, Phase};
use sha2::{Digest, Sha256};
use testcontainers::bollard;
use testcontainers::bollard::errors::Error as BollardError;
use testcontainers::bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use testcontainers::core::client::ClientError;
use testcontainers::core::error::WaitContainerError;
use testcontainers::core::logs::{LogFrame, WaitLogError};
use testcontainers::core::{BuildImageOptions, IntoContainerPort, WaitFor};
use testcontainers::runners::{SyncBuilder, SyncRunner};
use testcontainers::{
    Container, ContainerRequest, GenericBuildableImage, GenericImage, ImageExt, TestcontainersError,
};

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
/// From starting the container to its ready line (creating it is bounded by bollard's own
/// two-minute request timeout).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The harness's own requests to the engine (listing, inspecting, removing).
const ENGINE_TIMEOUT: Duration = Duration::from_secs(30);
/// Stop grace periods are capped below bollard's two-minute request timeout, so that a stop
/// request never outlives its own grace period.
const MAX_STOP_GRACE: Duration = Duration::from_secs(60);
/// A cold release build of the mock server takes about two minutes on two cores.
const BUILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// Attempts at a free host port: another process may take the one picked before the engine binds
/// it.
const PORT_ATTEMPTS: usize = 3;
/// The server's output kept for messages: the latest this many bytes (a long run logs every
/// request).
const OUTPUT_KEPT: usize = 1 << 20;

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
    #[error("{what} did not finish within {} s", .after.as_secs())]
    Timeout { what: String, after: Duration },
    #[error("building the static mock-server failed (`{command}`):\n{output}")]
    Build { command: String, output: String },
    #[error("{action}: {source}")]
    Testcontainers {
        action: String,
        #[source]
        source: TestcontainersError,
    },
    #[error("{action}: {reason}")]
    Engine { action: String, reason: String },
    #[error("{0}")]
    Io(String),
    #[error("the mock container {name} did not print `{READY_LINE}` within {} s; its output:\n{logs}", .waited.as_secs())]
    NotReady {
        name: String,
        waited: Duration,
        logs: String,
    },
    #[error("the mock container {name} ended before it was ready; its output:\n{logs}")]
    Ended { name: String, logs: String },
    #[error("reading the access log of the mock container {name}: {reason}")]
    AccessLog { name: String, reason: String },
}

/// testcontainers' blocking API drives a tokio runtime of its own with `block_on`, and reqwest's
/// blocking client one of its own too; both panic on a thread already inside a runtime (a
/// `#[tokio::test]`, a caller's `block_on`). The harness drives scenarios from plain threads; a
/// caller inside a runtime gets the call made from a thread of its own instead of a panic.
fn off_runtime<T: Send>(call: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return call();
    }
    std::thread::scope(|scope| match scope.spawn(call).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// One request of the harness's own to the engine, through testcontainers' bollard client (the
/// engine testcontainers uses: `DOCKER_HOST`, its properties file, else the default socket), on
/// a runtime made for the call, bounded.
fn engine_call<T, F>(
    action: &str,
    request: impl FnOnce(bollard::Docker) -> F + Send,
) -> Result<T, ContainerError>
where
    T: Send,
    F: Future<Output = Result<T, BollardError>>,
{
    let failed = |reason: String| ContainerError::Engine {
        action: action.to_owned(),
        reason,
    };
    off_runtime(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| failed(format!("cannot build a runtime: {e}")))?;
        runtime.block_on(async {
            let docker = testcontainers::core::client::docker_client_instance()
                .await
                .map_err(|e| failed(e.to_string()))?;
            match tokio::time::timeout(ENGINE_TIMEOUT, request(docker)).await {
                Ok(result) => result.map_err(|e| failed(e.to_string())),
                Err(_) => Err(ContainerError::Timeout {
                    what: action.to_owned(),
                    after: ENGINE_TIMEOUT,
                }),
            }
        })
    })
}

fn is_not_found(error: &BollardError) -> bool {
    matches!(
        error,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The engine's version when one answers; why not otherwise.
pub fn engine() -> Result<String, ContainerError> {
    engine_call("asking the engine its version", |docker| async move {
        docker.version().await
    })
    .map(|version| version.version.unwrap_or_else(|| "unknown".to_owned()))
    .map_err(|error| match error {
        ContainerError::Engine { reason, .. } => ContainerError::NoEngine(reason),
        other => ContainerError::NoEngine(other.to_string()),
    })
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
    let mut expression = duct::cmd(&cargo, args)
        .dir(&root)
        .env("CARGO_TARGET_DIR", &target_dir)
        // The encoded form wins over RUSTFLAGS; a user's RUSTFLAGS are not for this binary.
        .env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+crt-static")
        .env_remove("RUSTFLAGS");
    // What cargo sets for the crate it runs (`cargo test`, `cargo run`): inherited, ring's build
    // script records CARGO_MANIFEST_DIR, so the build went stale, a minute or more of rebuilding,
    // whenever the harness was started another way than the time before.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_cargo_crate_variable) {
            expression = expression.env_remove(name);
        }
    }
    let expression = expression
        .stdin_null()
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked();
    crate::say!(
        "harness: building the static mock-server for the container image (a no-op when unchanged; minutes the first time): {command}"
    );
    let spawn_error = |source| ContainerError::Spawn {
        command: command.clone(),
        source,
    };
    let handle = expression.start().map_err(spawn_error)?;
    let output = match handle.wait_timeout(BUILD_TIMEOUT).map_err(spawn_error)? {
        Some(output) => output.clone(),
        None => {
            let _ = handle.kill();
            return Err(ContainerError::Timeout {
                what: format!("`{command}`"),
                after: BUILD_TIMEOUT,
            });
        }
    };
    if !output.status.success() {
        return Err(ContainerError::Build {
            command,
            output: String::from_utf8_lossy(&output.stdout).into_owned(),
        });
    }
    Ok(target_dir.join(&triple).join("release").join("mock-server"))
}

/// Whether cargo sets `name` for the crate it builds or runs (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`,
/// …), as opposed to configuring cargo itself (`CARGO_HOME`, `CARGO_NET_OFFLINE`, …).
fn is_cargo_crate_variable(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_MANIFEST_")
        || [
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ]
        .contains(&name)
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

/// `name:tag` as testcontainers takes it; a reference without a tag means `latest`, as for docker.
fn name_and_tag(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (reference, "latest"),
    }
}

/// Builds the image from `dockerfile` and `binary` unless an image with its content hash exists.
/// Returns the image reference.
pub fn build_image(binary: &Path, dockerfile: &str) -> Result<String, ContainerError> {
    let bytes = std::fs::read(binary)
        .map_err(|e| ContainerError::Io(format!("cannot read {}: {e}", binary.display())))?;
    let reference = image_reference(dockerfile, &bytes);
    let (name, tag) = name_and_tag(&reference);
    let image = GenericBuildableImage::new(name, tag)
        .with_dockerfile_string(dockerfile)
        // A file, not its bytes: a file keeps its mode bits, so the binary stays executable.
        .with_file(binary, "mock-server");
    // The tag is the content's hash, so an image that has it is this image. The image handle it
    // returns is not kept: starts name the image by its reference.
    let _built =
        off_runtime(|| image.build_image_with(BuildImageOptions::new().with_skip_if_exists(true)))
            .map_err(|source| ContainerError::Testcontainers {
                action: format!("building the image {reference}"),
                source,
            })?;
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
    // Before the static build, which takes minutes the first time: without an engine it is for
    // nothing, and this error says what to do.
    engine()?;
    remove_orphans();
    let binary = static_mock_binary()?;
    let reference = build_image(&binary, DOCKERFILE)?;
    *image = Some(reference.clone());
    Ok(reference)
}

/// Removes containers whose starting process is gone (a run killed before it could clean up, or
/// a start that failed in a way that left its container behind). Best effort, once per process.
fn remove_orphans() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let pid_label = format!("{LABEL}.pid");
        let listing = engine_call("listing the harness's containers", |docker| {
            let filters = HashMap::from([("label", vec![pid_label.as_str()])]);
            let options = ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build();
            async move { docker.list_containers(Some(options)).await }
        });
        let Ok(listing) = listing else { return };
        for container in listing {
            let (Some(id), Some(pid)) = (
                container.id.as_deref(),
                container.labels.as_ref().and_then(|l| l.get(&pid_label)),
            ) else {
                continue;
            };
            if !Path::new("/proc").join(pid.trim()).exists() {
                let _ = remove_container(id);
            }
        }
    });
}

/// Whether a container of that name (or id) exists, running or not.
pub fn container_exists(name: &str) -> Result<bool, ContainerError> {
    engine_call(
        &format!("inspecting the container {name}"),
        |docker| async move {
            match docker
                .inspect_container(name, None::<InspectContainerOptions>)
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if is_not_found(&e) => Ok(false),
                Err(e) => Err(e),
            }
        },
    )
}

/// Removes a container, running or not, with its anonymous volumes; a missing one is not an
/// error. For containers no [`MockContainer`] owns.
pub fn remove_container(name: &str) -> Result<(), ContainerError> {
    engine_call(
        &format!("removing the container {name}"),
        |docker| async move {
            let options = RemoveContainerOptionsBuilder::new()
                .force(true)
                .v(true)
                .build();
            match docker.remove_container(name, Some(options)).await {
                Err(e) if is_not_found(&e) => Ok(()),
                other => other,
            }
        },
    )
}

/// The names of this process's containers, in any state, whose port is published on `host_port`
/// (what a start that failed on a taken port would leave).
pub fn containers_on_host_port(host_port: u16) -> Result<Vec<String>, ContainerError> {
    let pid_label = format!("{LABEL}.pid={}", std::process::id());
    let port = host_port.to_string();
    engine_call(
        &format!("listing this process's containers on port {host_port}"),
        |docker| async move {
            let filters = HashMap::from([("label", vec![pid_label.as_str()])]);
            let options = ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build();
            let mut names = Vec::new();
            for summary in docker.list_containers(Some(options)).await? {
                let Some(id) = summary.id else { continue };
                // The summary lists ports of running containers only; a created one has its
                // bindings in its host config.
                let inspected = match docker
                    .inspect_container(&id, None::<InspectContainerOptions>)
                    .await
                {
                    Ok(inspected) => inspected,
                    // Removed meanwhile.
                    Err(e) if is_not_found(&e) => continue,
                    Err(e) => return Err(e),
                };
                let bound = inspected
                    .host_config
                    .and_then(|h| h.port_bindings)
                    .into_iter()
                    .flat_map(|bindings| bindings.into_values())
                    .flatten()
                    .flatten()
                    .any(|binding| binding.host_port.as_deref() == Some(port.as_str()));
                if bound {
                    names.push(inspected.name.unwrap_or(id));
                }
            }
            Ok(names)
        },
    )
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
    /// The host port to try first instead of a free one. Only for tests of the clash path: a
    /// port someone else holds makes the start retry on a free one.
    pub host_port: Option<u16>,
}

/// How a stop went.
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    /// From asking the engine to stop the container until it answered, the container having ended.
    pub took: Duration,
    /// 0 when the server ended by itself; 137 when the engine had to kill it.
    pub exit_code: i64,
}

/// What the server printed, stdout and stderr as they came, collected by a log consumer from the
/// start on: it is there even when the start fails, after testcontainers has removed the
/// container.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl Output {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, frame: &LogFrame) {
        let mut bytes = self.lock();
        bytes.extend_from_slice(frame.bytes());
        if bytes.len() > OUTPUT_KEPT {
            // Down to half at once, so that a chatty server does not shift the buffer per line.
            let excess = bytes.len() - OUTPUT_KEPT / 2;
            bytes.drain(..excess);
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }
}

/// A running mock-server container, removed when dropped, also while a test panics.
pub struct MockContainer {
    /// Taken only by `drop`.
    handles: Option<Handles>,
    name: String,
    image: String,
    host_port: u16,
    public_url: String,
    admin_token: String,
    /// The fault flags the server was started with.
    fault_flags: Vec<String>,
    output: Output,
    start_to_ready: Duration,
    /// Lets an interrupted run remove the container (its drop never runs then).
    _on_stop: crate::drive::live::Tracked,
}

/// What must be dropped outside any tokio runtime, together.
struct Handles {
    container: Container<GenericImage>,
    http: reqwest::blocking::Client,
}

/// Everything about one start but the runner: the image, its arguments, the one port binding.
struct Launch<'a> {
    image: &'a str,
    name: &'a str,
    host_port: u16,
    public_url: &'a str,
    admin_token: &'a str,
    fault_flags: &'a [String],
    output: &'a Output,
}

impl Launch<'_> {
    fn request(&self) -> ContainerRequest<GenericImage> {
        let (name, tag) = name_and_tag(self.image);
        let mut args = vec![
            "--bind".to_owned(),
            "0.0.0.0".to_owned(),
            "--port".to_owned(),
            CONTAINER_PORT.to_string(),
            "--public-url".to_owned(),
            self.public_url.to_owned(),
        ];
        args.extend(self.fault_flags.iter().cloned());
        let output = self.output.clone();
        GenericImage::new(name, tag)
            // A line of its own: frames are lines, and a longer line merely containing the word
            // (a configuration label, say) must not pass for it.
            .with_wait_for(WaitFor::message_on_stdout(format!("{READY_LINE}\n")))
            .with_container_name(self.name)
            .with_label(LABEL, "mock")
            .with_label(format!("{LABEL}.pid"), std::process::id().to_string())
            // Through the API, so the token is on no command line.
            .with_env_var("MOCK_SERVER_ADMIN_TOKEN", self.admin_token)
            .with_cmd(args)
            .with_mapped_port(self.host_port, CONTAINER_PORT.tcp())
            // Loopback only: the mock is for this host's clients.
            .with_host_config_modifier(|host_config| {
                for binding in host_config
                    .port_bindings
                    .iter_mut()
                    .flat_map(|bindings| bindings.values_mut())
                    .flatten()
                    .flatten()
                {
                    binding.host_ip = Some("127.0.0.1".to_owned());
                }
            })
            .with_startup_timeout(READY_TIMEOUT)
            .with_log_consumer(move |frame: &LogFrame| output.push(frame))
    }
}

impl MockContainer {
    /// Starts the mock server's image and waits for its ready line.
    pub fn start() -> Result<MockContainer, ContainerError> {
        MockContainer::start_with(StartOptions::default())
    }

    pub fn start_with(options: StartOptions) -> Result<MockContainer, ContainerError> {
        off_runtime(|| MockContainer::start_here(options))
    }

    fn start_here(options: StartOptions) -> Result<MockContainer, ContainerError> {
        let image = match options.image {
            Some(image) => image,
            None => mock_image()?,
        };
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ContainerError::Io(format!("HTTP client: {e}")))?;
        let fault_flags = options.faults.flags();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let host_port = match options.host_port {
                Some(port) if attempt == 1 => port,
                _ => free_loopback_port()?,
            };
            let public_url = options
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://127.0.0.1:{host_port}"));
            let name = unique_name();
            // Registered before the container exists, so that one an interrupt catches mid-start
            // goes too.
            let on_stop = {
                let name = name.clone();
                crate::drive::live::on_stop(&format!("mock container {name}"), move || {
                    let _ = remove_container(&name);
                })
                .map_err(|e| ContainerError::Io(e.to_string()))?
            };
            let admin_token = random_token()?;
            let output = Output::default();
            let request = Launch {
                image: &image,
                name: &name,
                host_port,
                public_url: &public_url,
                admin_token: &admin_token,
                fault_flags: &fault_flags,
                output: &output,
            }
            .request();
            let started = Instant::now();
            let error = match request.start() {
                Ok(container) => {
                    return Ok(MockContainer {
                        handles: Some(Handles { container, http }),
                        name,
                        image,
                        host_port,
                        public_url,
                        admin_token,
                        fault_flags,
                        output,
                        start_to_ready: started.elapsed(),
                        _on_stop: on_stop,
                    })
                }
                Err(error) => error,
            };
            // A failed start can leave its container behind: created but never started when the
            // port was taken, or still there when the timeout struck before testcontainers held
            // a handle to it. Its name is known, so it goes now rather than at the next run.
            if let Err(e) = remove_container(&name) {
                crate::say!(
                    "harness: could not remove the mock container {name} after a failed start: {e}"
                );
            }
            match error {
                TestcontainersError::Client(ClientError::StartContainer(
                    BollardError::DockerResponseServerError { ref message, .. },
                )) if attempt < PORT_ATTEMPTS && is_port_conflict(message) => continue,
                TestcontainersError::WaitContainer(WaitContainerError::StartupTimeout) => {
                    return Err(ContainerError::NotReady {
                        name,
                        waited: READY_TIMEOUT,
                        logs: output.text(),
                    })
                }
                // The ready line's stream ends with the container.
                TestcontainersError::WaitContainer(WaitContainerError::WaitLog(
                    WaitLogError::EndOfStream(_),
                )) => {
                    return Err(ContainerError::Ended {
                        name,
                        logs: output.text(),
                    })
                }
                source => {
                    return Err(ContainerError::Testcontainers {
                        action: format!("starting the mock container {name} (image {image})"),
                        source,
                    })
                }
            }
        }
    }

    fn handles(&self) -> Result<&Handles, ContainerError> {
        self.handles
            .as_ref()
            .ok_or_else(|| ContainerError::Io(format!("the container {} is gone", self.name)))
    }

    fn testcontainers_error(
        &self,
        action: &str,
    ) -> impl FnOnce(TestcontainersError) -> ContainerError {
        let action = format!("{action} the mock container {}", self.name);
        move |source| ContainerError::Testcontainers { action, source }
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

    /// From asking for the container (created, started) to its ready line.
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
        let http = &self.handles()?.http;
        off_runtime(|| {
            let response = http
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
        })
    }

    /// Stops the container: its stop signal (SIGTERM), then SIGKILL once the grace period (whole
    /// seconds, at least 1, at most 60) is over.
    pub fn stop(&self, grace: Duration) -> Result<Stopped, ContainerError> {
        let container = &self.handles()?.container;
        let seconds = grace
            .clamp(Duration::from_secs(1), MAX_STOP_GRACE)
            .as_secs();
        let seconds = i32::try_from(seconds).unwrap_or(i32::MAX);
        let started = Instant::now();
        off_runtime(|| container.stop_with_timeout(Some(seconds)))
            .map_err(self.testcontainers_error("stopping"))?;
        let took = started.elapsed();
        let exit_code = off_runtime(|| container.exit_code())
            .map_err(self.testcontainers_error("inspecting"))?
            .ok_or_else(|| {
                ContainerError::Io(format!(
                    "the mock container {} still runs after it was stopped",
                    self.name
                ))
            })?;
        Ok(Stopped { took, exit_code })
    }

    /// Whether the container is still running.
    pub fn running(&self) -> Result<bool, ContainerError> {
        let container = &self.handles()?.container;
        off_runtime(|| container.is_running()).map_err(self.testcontainers_error("inspecting"))
    }

    /// Everything the server printed so far, stdout and stderr (the latest megabyte), for
    /// messages.
    pub fn logs(&self) -> String {
        self.output.text()
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
        let Some(Handles { container, http }) = self.handles.take() else {
            return;
        };
        // `rm` rather than testcontainers' own drop: it removes (forcibly, with anonymous
        // volumes) whatever TESTCONTAINERS_COMMAND says, and its error can be shown here, where
        // the drop would only hand it to the `log` crate.
        if let Err(e) = off_runtime(move || {
            drop(http);
            container.rm()
        }) {
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
    fn image_references_split_into_name_and_tag_as_docker_reads_them() {
        assert_eq!(
            name_and_tag("mcp-reconnect-mock:0123abcd"),
            ("mcp-reconnect-mock", "0123abcd")
        );
        assert_eq!(name_and_tag("mock"), ("mock", "latest"));
        // A registry's port is not a tag.
        assert_eq!(
            name_and_tag("localhost:5000/mock"),
            ("localhost:5000/mock", "latest")
        );
    }

    #[test]
    fn port_conflicts_are_recognised_and_other_failures_are_not() {
        assert!(is_port_conflict(
            "driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:4000 failed: port is already allocated"
        ));
        assert!(is_port_conflict(
            "driver failed programming external connectivity on endpoint x: Error starting userland proxy: listen tcp4 127.0.0.1:4000: bind: address already in use"
        ));
        assert!(!is_port_conflict("No such image: mcp-reconnect-mock:0"));
    }

    #[test]
    fn the_static_build_drops_what_cargo_set_for_the_harness_and_keeps_cargo_s_own_settings() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_PKG_NAME",
            "CARGO_CRATE_NAME",
            "CARGO_TARGET_TMPDIR",
        ] {
            assert!(is_cargo_crate_variable(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_NET_OFFLINE",
            "CARGO_ENCODED_RUSTFLAGS",
        ] {
            assert!(!is_cargo_crate_variable(name), "{name}");
        }
    }

    #[test]
    fn admin_tokens_are_random_hex() -> Result<(), ContainerError> {
        let (a, b) = (random_token()?, random_token()?);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        Ok(())
    }

    #[test]
    fn the_kept_output_is_its_latest_part() {
        let output = Output::default();
        let line = vec![b'x'; 1000];
        for _ in 0..2000 {
            output.push(&LogFrame::StdErr(line.clone().into()));
        }
        output.push(&LogFrame::StdOut(b"the last line\n".to_vec().into()));
        let text = output.text();
        assert!(text.len() <= OUTPUT_KEPT);
        assert!(text.ends_with("the last line\n"));
    }
}
