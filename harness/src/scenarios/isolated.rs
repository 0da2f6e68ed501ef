//! A scenario run with no traffic off the machine: inside a loopback-only network namespace,
//! every `connect()` of the client traced and judged (see [`crate::drive::isolation`]).

use mock_server::{Faults, MockServer};

use crate::clients::ClientUnderTest;
use crate::drive::isolation::{isolated, ConnectReport, IsolationError};
use crate::scenarios::def::Scenario;
use crate::scenarios::run::{self, ScenarioReport};
use crate::scenarios::steps::RunOptions;

/// A scenario run inside the namespace: the client (`install`), a fresh mock with the scenario's
/// faults, and the model stand-in all live there. The report gains the
/// [`NO_TRAFFIC_OFF_MACHINE`](crate::drive::isolation::NO_TRAFFIC_OFF_MACHINE) check.
pub fn run_scenario_isolated(
    scenario: Scenario,
    client: impl FnOnce() -> Box<dyn ClientUnderTest> + Send,
    faults: Faults,
    options: &RunOptions,
) -> Result<(ScenarioReport, ConnectReport), IsolationError> {
    let options = options.clone();
    let (outcome, log) = isolated(move || -> Result<_, String> {
        // Made inside the namespace: a client may start helpers of its own when it is made.
        let client = client();
        let mock = MockServer::builder()
            .faults(faults)
            .start_blocking()
            .map_err(|e| format!("cannot start the mock server: {e}"))?;
        let report = run::run_with(scenario, client.as_ref(), &mock, &options);
        Ok((report, mock.port()))
    })?;
    let (mut report, mock_port) =
        outcome.map_err(|e| IsolationError::Io(std::io::Error::other(e)))?;
    let connects = log.judge(&[mock_port], &report.access_log);
    report.checks.push(connects.check());
    Ok((report, connects))
}
