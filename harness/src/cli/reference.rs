//! After a run with failing checks, the reference clients (model-less clients that only connect,
//! authenticate and list) run against the same server, so the report can say whose fault each
//! failing check likely is (`reports::blame`).

use harness::clients::catalog::{self, ClientKind};
use harness::matrix::{Cell, RunRecord};
use harness::mock::{MockMode, MockTarget};
use harness::proxy::{ProxyOptions, RecordingProxy};
use harness::reports::blame;
use harness::scenarios::variants::{ScenarioSpec, ServerVariant};
use harness::scenarios::{self, Scenario, ScenarioReport};
use harness::store::versions::VersionStore;

/// The scenarios every reference client runs besides the failing ones: the login at connect,
/// and a second process on the stored token, on the same kind of server.
const BASELINE: [Scenario; 2] = [Scenario::LOGIN_AT_CONNECT, Scenario::STORED_TOKEN_RERUN];

fn cell(report: &ScenarioReport) -> Cell {
    Cell::of(
        &report.client,
        &report.version,
        ScenarioSpec::new(report.scenario, report.login_state, report.discovery),
        vec![RunRecord::from_report(report)],
    )
}

/// Runs each reference client's pinned version on the failing scenarios of `reports` (and the
/// baseline scenarios) against a server like theirs, and returns one line per failing check the
/// reference clients judged, naming the scenario. Empty when nothing failed, the client is a
/// reference client itself, or the catalog has none; a reference client that cannot be
/// installed or run is said and skipped.
/// The server the reference clients meet: a mock like the run's, or the user's own server
/// through a fresh recording proxy (`harness run --server`).
pub enum Against<'a> {
    Mock {
        discovery: Option<ServerVariant>,
        mode: MockMode,
    },
    Server {
        url: &'a str,
        options: &'a ProxyOptions,
    },
}

impl Against<'_> {
    fn start(&self, scenario: Scenario) -> Result<Box<dyn MockTarget>, String> {
        match self {
            Against::Mock { discovery, mode } => {
                super::run::start_mock(scenario, *discovery, *mode)
                    .map_err(|e| format!("cannot start the mock server: {e}"))
            }
            Against::Server { url, options } => RecordingProxy::start(url, options)
                .map(|p| Box::new(p) as Box<dyn MockTarget>)
                .map_err(|e| format!("--server: {e}")),
        }
    }

    fn discovery(&self) -> Option<ServerVariant> {
        match self {
            Against::Mock { discovery, .. } => *discovery,
            Against::Server { .. } => None,
        }
    }

    fn allows(&self, scenario: Scenario) -> bool {
        match self {
            Against::Mock { .. } => true,
            Against::Server { .. } => scenario.runs_against_any_server(),
        }
    }
}

pub fn compare(
    store: &VersionStore,
    kind: &ClientKind,
    reports: &[ScenarioReport],
    against: Against<'_>,
) -> Vec<String> {
    let discovery = against.discovery();
    let failing: Vec<&ScenarioReport> = reports.iter().filter(|r| !r.passed()).collect();
    let references: Vec<&ClientKind> = catalog::ALL
        .iter()
        .copied()
        .filter(|k| k.reference)
        .collect();
    if failing.is_empty() || kind.reference || references.is_empty() {
        return Vec::new();
    }
    let mut to_run: Vec<Scenario> = failing
        .iter()
        .map(|r| r.scenario)
        .filter(|s| against.allows(*s))
        .collect();
    for s in BASELINE {
        if !to_run.contains(&s) {
            to_run.push(s);
        }
    }
    let mut cells: Vec<Cell> = reports.iter().map(cell).collect();
    for reference in references {
        let version = reference.package.version_under_test();
        let installed = match store.for_package(reference.package).ensure(&version) {
            Ok(i) => i,
            Err(e) => {
                harness::say!("harness: reference client {}: {e}", reference.name);
                continue;
            }
        };
        let client = (reference.make)(installed);
        for s in &to_run {
            harness::say!(
                "harness: reference client {} {version} on {}",
                reference.name,
                s.name()
            );
            let mock = match against.start(*s) {
                Ok(m) => m,
                Err(e) => {
                    harness::say!("harness: {e}");
                    continue;
                }
            };
            let options = scenarios::RunOptions {
                discovery,
                ..Default::default()
            };
            let report = scenarios::run_with(*s, client.as_ref(), mock.as_ref(), &options);
            harness::drive::live::hold_if_stopping();
            cells.push(cell(&report));
        }
    }
    let mut lines = Vec::new();
    for agent in cells.iter().filter(|c| c.client == kind.name) {
        for sentence in blame::for_cell(&cells, agent) {
            lines.push(format!("{}: {sentence}", agent.scenario));
        }
    }
    lines
}
