//! The mock server as scenarios see it, whichever way it runs: in-process (the default: nothing
//! to install, fastest) or in a container (the image the product ships). Scenarios need only its
//! base URL and its access log, so that is all [`MockTarget`] offers.

pub mod container;

use mock_server::{AccessRecord, MockServer, MockServerError};

use crate::mock::container::{ContainerError, MockContainer, StartOptions};

/// Picks the mode for `cargo test` (and is the `harness run --mock` flag's environment variable).
pub const MOCK_MODE_ENV: &str = "HARNESS_MOCK";

pub trait MockTarget {
    /// The origin the server advertises, e.g. `http://127.0.0.1:PORT` (no trailing slash).
    fn uri(&self) -> String;
    /// The MCP endpoint, e.g. `http://127.0.0.1:PORT/`; also the OAuth resource identifier.
    fn mcp_url(&self) -> String;
    /// The access log so far: the clients' requests, without the harness's own admin requests.
    fn received_requests(&self) -> Result<Vec<AccessRecord>, MockError>;
    /// One line for people: the mode and where it listens.
    fn describe(&self) -> String;
    /// A command that starts a server like this one, for failure bundles.
    fn how_to_start(&self) -> String;
    /// The in-process server, whose lifecycle a scenario can drive through its API; `None` for
    /// a container.
    fn in_process(&self) -> Option<&MockServer> {
        None
    }
    /// More files for a failing run's bundle, `(file name, contents)`, secrets already out: the
    /// recording proxy's exchanges and rewrites. None for the mock, whose access log says all.
    fn bundle_files(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

impl MockTarget for MockServer {
    fn uri(&self) -> String {
        MockServer::uri(self)
    }

    fn mcp_url(&self) -> String {
        MockServer::mcp_url(self)
    }

    fn received_requests(&self) -> Result<Vec<AccessRecord>, MockError> {
        Ok(MockServer::received_requests(self))
    }

    fn describe(&self) -> String {
        format!("in-process mock server at {}", MockServer::uri(self))
    }

    fn how_to_start(&self) -> String {
        format!("cargo run -p mock-server -- --port {}", self.port())
    }

    fn in_process(&self) -> Option<&MockServer> {
        Some(self)
    }
}

impl MockTarget for MockContainer {
    fn uri(&self) -> String {
        self.public_url().to_owned()
    }

    fn mcp_url(&self) -> String {
        format!("{}/", self.public_url())
    }

    fn received_requests(&self) -> Result<Vec<AccessRecord>, MockError> {
        Ok(self.access_log()?)
    }

    fn describe(&self) -> String {
        format!(
            "mock server in container {} (image {}) at {}, ready {} ms after it was asked for",
            self.name(),
            self.image(),
            self.public_url(),
            self.start_to_ready().as_millis()
        )
    }

    fn how_to_start(&self) -> String {
        MockContainer::how_to_start(self)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("cannot start the in-process mock server: {0}")]
    InProcess(#[from] MockServerError),
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error("{MOCK_MODE_ENV}={0:?} is not a mock mode: use in-process or container")]
    UnknownMode(String),
}

/// Where the mock server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MockMode {
    /// On a thread of the harness's own process.
    #[default]
    InProcess,
    /// In a container of the locally built image (needs a Docker engine).
    Container,
}

impl MockMode {
    pub fn name(self) -> &'static str {
        match self {
            MockMode::InProcess => "in-process",
            MockMode::Container => "container",
        }
    }

    pub fn parse(text: &str) -> Option<MockMode> {
        match text.trim() {
            "in-process" | "in_process" | "inprocess" => Some(MockMode::InProcess),
            "container" => Some(MockMode::Container),
            _ => None,
        }
    }

    /// `HARNESS_MOCK`, in-process when unset or empty.
    pub fn from_env() -> Result<MockMode, MockError> {
        match std::env::var(MOCK_MODE_ENV) {
            Ok(value) if !value.trim().is_empty() => {
                MockMode::parse(&value).ok_or(MockError::UnknownMode(value))
            }
            _ => Ok(MockMode::InProcess),
        }
    }

    /// Starts a fresh server (a container is built into an image first when needed).
    pub fn start(self) -> Result<Box<dyn MockTarget>, MockError> {
        self.start_with(mock_server::Faults::default())
    }

    /// Starts a fresh server committing `faults`; a container runs without any (its faults are
    /// not wired through the image's flags yet), so a scenario that needs one says so.
    pub fn start_with(self, faults: mock_server::Faults) -> Result<Box<dyn MockTarget>, MockError> {
        Ok(match self {
            MockMode::InProcess => Box::new(MockServer::builder().faults(faults).start_blocking()?),
            // The binary takes every fault as a flag.
            MockMode::Container => Box::new(MockContainer::start_with(StartOptions {
                faults,
                ..StartOptions::default()
            })?),
        })
    }
}

/// A mock configuration read from a file (`--server-config`: what `harness capture` wrote from
/// someone's server, or one written by hand), kept with its path for the commands a report
/// prints. Every run starts its own in-process mock from it.
#[derive(Debug, Clone)]
pub struct ConfiguredServer {
    pub path: std::path::PathBuf,
    pub config: mock_server::MockConfig,
}

impl ConfiguredServer {
    /// Reads `path`; the error names the file and what is wrong in it.
    pub fn read(
        path: &std::path::Path,
    ) -> Result<ConfiguredServer, mock_server::profile::ConfigFileError> {
        Ok(ConfiguredServer {
            path: path.to_owned(),
            config: mock_server::MockConfig::from_file(path)?,
        })
    }

    /// A mock so configured, committing `faults` (a scenario's own) on top of the file's, which
    /// stay when the scenario commits none.
    pub fn start(&self, faults: mock_server::Faults) -> Result<MockServer, MockServerError> {
        let mut config = self.config.clone();
        if faults != mock_server::Faults::default() {
            config.faults = faults;
        }
        MockServer::builder().config(config).start_blocking()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_names_parse_back_and_unknown_names_do_not() {
        for mode in [MockMode::InProcess, MockMode::Container] {
            assert_eq!(MockMode::parse(mode.name()), Some(mode));
        }
        assert_eq!(MockMode::parse("docker"), None);
        assert_eq!(MockMode::parse(""), None);
    }

    #[test]
    fn an_in_process_server_serves_its_log_through_the_trait() -> anyhow::Result<()> {
        let server = MockServer::builder().start_blocking()?;
        let target: &dyn MockTarget = &server;
        assert_eq!(target.mcp_url(), format!("{}/", target.uri()));
        assert!(target.received_requests()?.is_empty());
        let status = reqwest::blocking::Client::builder()
            .no_proxy()
            .build()?
            .get(format!(
                "{}/.well-known/oauth-protected-resource",
                target.uri()
            ))
            .send()?
            .status();
        assert!(status.is_success());
        assert_eq!(target.received_requests()?.len(), 1);
        Ok(())
    }

    #[test]
    fn a_configured_server_is_read_from_its_file_and_a_bad_file_is_named() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let good = dir.path().join("my-server.toml");
        std::fs::write(
            &good,
            "profile = \"seed\"\nrevisions = [\"2025-06-18\"]\n[faults]\nforget_sessions = true\n",
        )?;
        let configured = ConfiguredServer::read(&good)?;
        assert_eq!(configured.path, good);
        let bad = dir.path().join("typo.toml");
        std::fs::write(&bad, "profil = \"seed\"\n")?;
        let e = ConfiguredServer::read(&bad).err().map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("typo.toml")),
            "{e:?}"
        );
        let missing = ConfiguredServer::read(&dir.path().join("nowhere.toml"));
        assert!(missing.is_err());
        Ok(())
    }

    #[test]
    fn a_configured_server_keeps_the_files_faults_unless_the_scenario_commits_its_own(
    ) -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("my-server.toml");
        std::fs::write(
            &path,
            "profile = \"seed\"\n[faults]\nforget_sessions = true\n",
        )?;
        let configured = ConfiguredServer::read(&path)?;
        let mock = configured.start(mock_server::Faults::default())?;
        assert!(mock.config().faults.forget_sessions, "the file's fault");
        assert_eq!(mock.config().profile, mock_server::Profile::Seed);
        let scenario_faults = mock_server::Faults {
            slow_responses_ms: Some(5),
            ..Default::default()
        };
        let mock = configured.start(scenario_faults.clone())?;
        assert_eq!(
            mock.config().faults,
            scenario_faults,
            "the scenario's faults"
        );
        assert_eq!(mock.config().profile, mock_server::Profile::Seed);
        Ok(())
    }
}
