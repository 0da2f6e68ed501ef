//! The version × scenario matrix: every scenario on every version, each cell in its own sandbox
//! with its own mock server and model stand-in, repeated to tell flaky cells from failing ones.
//!
//! [`MatrixReport`] is the JSON every other report form (terminal table, Markdown, JUnit, HTML)
//! is rendered from; shards of one matrix are joined with [`merge`], and a report is compared with
//! the previous one by [`compare`].

pub mod expectations;
pub mod soak;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Mutex;
use std::time::Instant;

use mock_server::model_api::ModelView;
use mock_server::{AccessRecord, MockServer};
use serde::{Deserialize, Serialize};

use crate::checks::Verdict;
use crate::clients::catalog::{self, ClientKind};
use crate::scenarios::variants::ScenarioSpec;
use crate::scenarios::{self, Scenario, ScenarioReport};
use crate::store::version_number::compare_versions;
use crate::store::versions::{InstalledVersion, VersionStore};

/// Bumped when the JSON changes incompatibly.
pub const SCHEMA: u32 = 1;

/// A cell's verdict over its runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellVerdict {
    Pass,
    Fail,
    /// The runs disagreed.
    Flaky,
    /// The version lacks what the scenario needs (positive evidence, never a driver error).
    NotApplicable,
}

impl CellVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            CellVerdict::Pass => "pass",
            CellVerdict::Fail => "FAIL",
            CellVerdict::Flaky => "flaky",
            CellVerdict::NotApplicable => "n/a",
        }
    }

    /// The class name the HTML page colours by.
    pub fn css(self) -> &'static str {
        match self {
            CellVerdict::Pass => "pass",
            CellVerdict::Fail => "fail",
            CellVerdict::Flaky => "flaky",
            CellVerdict::NotApplicable => "na",
        }
    }
}

/// A check's verdict, as stored in the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckVerdict {
    Pass,
    Fail,
    NotApplicable,
}

impl CheckVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckVerdict::Pass => "pass",
            CheckVerdict::Fail => "FAIL",
            CheckVerdict::NotApplicable => "n/a",
        }
    }
}

impl From<Verdict> for CheckVerdict {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Pass => CheckVerdict::Pass,
            Verdict::Fail => CheckVerdict::Fail,
            Verdict::NotApplicable => CheckVerdict::NotApplicable,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRecord {
    pub name: String,
    pub verdict: CheckVerdict,
    pub summary: String,
    pub evidence: Vec<String>,
}

/// One run of one cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub verdict: CellVerdict,
    pub duration_secs: f64,
    pub checks: Vec<CheckRecord>,
    #[serde(default)]
    pub access_log: Vec<AccessRecord>,
    #[serde(default)]
    pub model_views: Vec<ModelView>,
    #[serde(default)]
    pub final_screen: String,
    #[serde(default)]
    pub commands: Vec<String>,
    #[serde(default)]
    pub bundle: Option<String>,
}

impl RunRecord {
    pub fn from_report(report: &ScenarioReport) -> RunRecord {
        let checks: Vec<CheckRecord> = report
            .checks
            .iter()
            .map(|c| CheckRecord {
                name: c.name.clone(),
                verdict: c.verdict.into(),
                summary: c.summary.clone(),
                evidence: c.evidence.clone(),
            })
            .collect();
        RunRecord {
            verdict: run_verdict(&checks),
            duration_secs: report.duration_secs,
            checks,
            access_log: report.access_log.clone(),
            model_views: report.model_views.clone(),
            final_screen: report.final_screen.clone(),
            commands: report.commands.clone(),
            bundle: report.bundle.as_ref().map(|b| b.display().to_string()),
        }
    }

    /// A run the harness could not even start (the version would not install).
    pub fn setup_failure(name: &str, why: String) -> RunRecord {
        RunRecord {
            verdict: CellVerdict::Fail,
            duration_secs: 0.0,
            checks: vec![CheckRecord {
                name: name.to_owned(),
                verdict: CheckVerdict::Fail,
                summary: "the harness could not set up the run".to_owned(),
                evidence: vec![why],
            }],
            access_log: Vec::new(),
            model_views: Vec::new(),
            final_screen: String::new(),
            commands: Vec::new(),
            bundle: None,
        }
    }

    pub fn failed_checks(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.verdict == CheckVerdict::Fail)
            .map(|c| c.name.as_str())
            .collect()
    }
}

/// A run fails when any check fails; it is not applicable when no check passed and one said so
/// (the scenarios stop at a missing feature with that one check); otherwise it passes.
pub fn run_verdict(checks: &[CheckRecord]) -> CellVerdict {
    verdict_of(checks.iter().map(|c| c.verdict))
}

/// [`run_verdict`] of the checks' verdicts alone (a scenario report's, for its summary row).
pub fn verdict_of(verdicts: impl Iterator<Item = CheckVerdict> + Clone) -> CellVerdict {
    let any = |wanted: CheckVerdict| verdicts.clone().any(|v| v == wanted);
    if any(CheckVerdict::Fail) {
        CellVerdict::Fail
    } else if any(CheckVerdict::NotApplicable) && !any(CheckVerdict::Pass) {
        CellVerdict::NotApplicable
    } else if verdicts.clone().next().is_none() {
        CellVerdict::Fail
    } else {
        CellVerdict::Pass
    }
}

/// The runs agree, or the cell is flaky.
pub fn combine(runs: &[RunRecord]) -> CellVerdict {
    match runs.first() {
        None => CellVerdict::Fail,
        Some(first) if runs.iter().all(|r| r.verdict == first.verdict) => first.verdict,
        Some(_) => CellVerdict::Flaky,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    /// The client ([`ClientKind::name`]); reports from before clients were a dimension hold
    /// Claude Code's cells only.
    #[serde(default = "default_client")]
    pub client: String,
    pub version: String,
    pub scenario: String,
    pub login_path: String,
    pub verdict: CellVerdict,
    /// One line: what failed, or how the runs disagreed.
    pub summary: String,
    pub runs: Vec<RunRecord>,
}

fn default_client() -> String {
    catalog::default_kind().name.to_owned()
}

/// A report's column: the version for Claude Code (as reports have always named it),
/// `client@version` for every other client.
pub fn column_key(client: &str, version: &str) -> String {
    if client == catalog::default_kind().name {
        version.to_owned()
    } else {
        format!("{client}@{version}")
    }
}

/// Orders columns: clients in the catalog's order, each client's versions in release order.
pub fn sort_columns(columns: &mut [String]) {
    fn split(column: &str) -> (usize, &str) {
        match column.split_once('@') {
            Some((client, version)) => (
                catalog::ALL
                    .iter()
                    .position(|k| k.name == client)
                    .unwrap_or(usize::MAX),
                version,
            ),
            None => (0, column),
        }
    }
    columns.sort_by(|a, b| {
        let (ca, va) = split(a);
        let (cb, vb) = split(b);
        ca.cmp(&cb).then_with(|| compare_versions(va, vb))
    });
}

impl Cell {
    pub fn new(version: &str, scenario: impl Into<ScenarioSpec>, runs: Vec<RunRecord>) -> Cell {
        Cell::of(catalog::default_kind().name, version, scenario, runs)
    }

    /// A cell of any client.
    pub fn of(
        client: &str,
        version: &str,
        scenario: impl Into<ScenarioSpec>,
        runs: Vec<RunRecord>,
    ) -> Cell {
        let spec: ScenarioSpec = scenario.into();
        let verdict = combine(&runs);
        let summary = summarize(verdict, &runs);
        Cell {
            client: client.to_owned(),
            version: version.to_owned(),
            scenario: spec.name(),
            login_path: spec.scenario.login_path().as_str().to_owned(),
            verdict,
            summary,
            runs,
        }
    }

    pub fn key(&self) -> (String, String) {
        (self.column(), self.scenario.clone())
    }

    /// The column the cell stands in ([`column_key`]).
    pub fn column(&self) -> String {
        column_key(&self.client, &self.version)
    }

    /// The run whose detail a report shows: the first failing one, else the first.
    pub fn shown_run(&self) -> Option<&RunRecord> {
        self.runs
            .iter()
            .find(|r| r.verdict == CellVerdict::Fail)
            .or_else(|| self.runs.first())
    }

    /// `FAIL` / `flaky 2/3` / `pass` / `n/a`, for tables.
    pub fn label(&self) -> String {
        match self.verdict {
            CellVerdict::Flaky => {
                let passed = self
                    .runs
                    .iter()
                    .filter(|r| r.verdict == CellVerdict::Pass)
                    .count();
                format!("flaky {passed}/{}", self.runs.len())
            }
            v => v.as_str().to_owned(),
        }
    }

    pub fn mean_secs(&self) -> f64 {
        if self.runs.is_empty() {
            0.0
        } else {
            self.runs.iter().map(|r| r.duration_secs).sum::<f64>() / self.runs.len() as f64
        }
    }
}

fn summarize(verdict: CellVerdict, runs: &[RunRecord]) -> String {
    match verdict {
        CellVerdict::Pass => format!("{} run(s) passed", runs.len()),
        CellVerdict::NotApplicable => runs
            .first()
            .and_then(|r| {
                r.checks
                    .iter()
                    .find(|c| c.verdict == CheckVerdict::NotApplicable)
            })
            .map(|c| format!("{}: {}", c.name, c.summary))
            .unwrap_or_else(|| "not applicable".to_owned()),
        CellVerdict::Fail => {
            let mut failed: Vec<&str> = runs.iter().flat_map(|r| r.failed_checks()).collect();
            failed.sort_unstable();
            failed.dedup();
            format!("failed: {}", failed.join(", "))
        }
        CellVerdict::Flaky => {
            let each: Vec<&str> = runs.iter().map(|r| r.verdict.as_str()).collect();
            format!("runs disagree: {}", each.join(" "))
        }
    }
}

/// `K/N`: the K-th of N deterministic slices (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not K/N"))?;
        let index: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not K/N"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not K/N"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard `{text}`: need 1 <= K <= N"));
        }
        Ok(Shard { index, count })
    }

    /// Cells in matrix order (versions in release order, then scenarios), every N-th from K.
    pub fn select<T: Clone>(&self, cells: &[T]) -> Vec<T> {
        cells
            .iter()
            .enumerate()
            .filter(|(i, _)| i % self.count == self.index - 1)
            .map(|(_, c)| c.clone())
            .collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The cells of a matrix, before any sharding: versions in release order, scenarios as given.
pub fn plan<S: Copy + Into<ScenarioSpec>>(
    versions: &[String],
    scenarios: &[S],
) -> Vec<(String, ScenarioSpec)> {
    let mut versions = versions.to_vec();
    versions.sort_by(|a, b| compare_versions(a, b));
    versions.dedup();
    versions
        .iter()
        .flat_map(|v| scenarios.iter().map(move |s| (v.clone(), (*s).into())))
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatrixReport {
    pub schema: u32,
    /// When the run started, `YYYY-MM-DD HH:MM UTC`.
    pub started: String,
    pub command: String,
    /// The columns, in order: Claude Code's versions in release order, then `client@version`
    /// for every other client ([`column_key`]).
    pub versions: Vec<String>,
    pub scenarios: Vec<String>,
    pub jobs: usize,
    pub repeat: u32,
    /// The shards this report holds (`1/4`, …); empty for an unsharded run.
    #[serde(default)]
    pub shards: Vec<String>,
    pub wall_secs: f64,
    pub cells: Vec<Cell>,
    /// Filled in when compared with a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

impl MatrixReport {
    /// The cell of a column ([`column_key`]) and scenario.
    pub fn cell(&self, column: &str, scenario: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.column() == column && c.scenario == scenario)
    }

    pub fn count(&self, verdict: CellVerdict) -> usize {
        self.cells.iter().filter(|c| c.verdict == verdict).count()
    }

    /// The login path of a scenario, as the cells recorded it.
    pub fn login_path(&self, scenario: &str) -> String {
        self.cells
            .iter()
            .find(|c| c.scenario == scenario)
            .map(|c| c.login_path.clone())
            .or_else(|| Scenario::parse(scenario).map(|s| s.login_path().as_str().to_owned()))
            .unwrap_or_default()
    }

    /// Whether the exit status should say "regressed": with a comparison, any new failure;
    /// without one, any failing cell.
    pub fn regressed(&self) -> bool {
        match &self.comparison {
            Some(c) => !c.new_failures.is_empty(),
            None => self.count(CellVerdict::Fail) > 0,
        }
    }

    pub fn read(path: &std::path::Path) -> Result<MatrixReport, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let report: MatrixReport = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not a matrix report: {e}", path.display()))?;
        if report.schema != SCHEMA {
            return Err(format!(
                "{}: schema {} (this harness reads {SCHEMA})",
                path.display(),
                report.schema
            ));
        }
        Ok(report)
    }
}

/// A cell whose verdict changed against the baseline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Change {
    pub version: String,
    pub scenario: String,
    /// The baseline's verdict, and which version it was for (the same one, or for a version the
    /// baseline did not run, the newest it did run).
    pub before: CellVerdict,
    pub before_version: String,
    pub after: CellVerdict,
    pub summary: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline: String,
    pub new_failures: Vec<Change>,
    pub new_fixes: Vec<Change>,
    /// Cells that became or stopped being flaky; not regressions.
    pub other_changes: Vec<Change>,
    /// Cells with nothing to compare with.
    pub unmatched: usize,
    pub unchanged: usize,
}

/// Compares `report` with `baseline`, cell by cell. A version the baseline did not run is
/// compared with the newest version it did run (a nightly over the last N versions moves on).
pub fn compare(report: &MatrixReport, baseline: &MatrixReport, name: &str) -> Comparison {
    let mut out = Comparison {
        baseline: name.to_owned(),
        ..Comparison::default()
    };
    for cell in &report.cells {
        let before = baseline.cell(&cell.column(), &cell.scenario).or_else(|| {
            baseline
                .cells
                .iter()
                .filter(|c| c.scenario == cell.scenario && c.client == cell.client)
                .max_by(|a, b| compare_versions(&a.version, &b.version))
        });
        let Some(before) = before else {
            out.unmatched += 1;
            continue;
        };
        if before.verdict == cell.verdict {
            out.unchanged += 1;
            continue;
        }
        let change = Change {
            version: cell.version.clone(),
            scenario: cell.scenario.clone(),
            before: before.verdict,
            before_version: before.version.clone(),
            after: cell.verdict,
            summary: cell.summary.clone(),
        };
        match (before.verdict, cell.verdict) {
            (_, CellVerdict::Fail) => out.new_failures.push(change),
            (CellVerdict::Fail, CellVerdict::Pass) => out.new_fixes.push(change),
            _ => out.other_changes.push(change),
        }
    }
    out
}

/// Joins the shards of one matrix. A cell present twice must agree, else it is an error.
pub fn merge(parts: &[MatrixReport]) -> Result<MatrixReport, String> {
    let Some(first) = parts.first() else {
        return Err("nothing to merge".to_owned());
    };
    let mut cells: BTreeMap<(String, String), Cell> = BTreeMap::new();
    let mut versions: Vec<String> = Vec::new();
    let mut scenarios: Vec<String> = Vec::new();
    let mut shards = Vec::new();
    for part in parts {
        for v in &part.versions {
            if !versions.contains(v) {
                versions.push(v.clone());
            }
        }
        for s in &part.scenarios {
            if !scenarios.contains(s) {
                scenarios.push(s.clone());
            }
        }
        shards.extend(part.shards.iter().cloned());
        for cell in &part.cells {
            if let Some(seen) = cells.get(&cell.key()) {
                if seen.verdict != cell.verdict {
                    return Err(format!(
                        "{} on {} appears twice with different verdicts ({} and {})",
                        cell.scenario,
                        cell.version,
                        seen.verdict.as_str(),
                        cell.verdict.as_str()
                    ));
                }
                continue;
            }
            cells.insert(cell.key(), cell.clone());
        }
    }
    sort_columns(&mut versions);
    let order = |c: &Cell| {
        (
            versions.iter().position(|v| *v == c.column()),
            scenarios.iter().position(|s| *s == c.scenario),
        )
    };
    let mut cells: Vec<Cell> = cells.into_values().collect();
    cells.sort_by_key(|c| order(c));
    Ok(MatrixReport {
        schema: SCHEMA,
        started: parts
            .iter()
            .map(|p| p.started.clone())
            .min()
            .unwrap_or_default(),
        command: first.command.clone(),
        versions,
        scenarios,
        jobs: first.jobs,
        repeat: first.repeat,
        shards,
        wall_secs: parts.iter().map(|p| p.wall_secs).fold(0.0, f64::max),
        cells,
        comparison: None,
    })
}

/// What to run.
#[derive(Debug, Clone)]
pub struct MatrixRequest {
    /// Each client with its versions.
    pub clients: Vec<(&'static ClientKind, Vec<String>)>,
    /// Scenarios, each on the default server or a discovery variant (`slash_mcp@mcp-path`).
    pub scenarios: Vec<ScenarioSpec>,
    pub jobs: usize,
    pub repeat: u32,
    pub shard: Option<Shard>,
    pub command: String,
    /// Run every cell against this server (its MCP URL) through a fresh recording proxy instead
    /// of a fresh mock (`harness matrix --server`).
    pub server: Option<String>,
    /// Run every cell against a fresh in-process mock configured by this file instead of the
    /// default one (`harness matrix --server-config`).
    pub server_config: Option<crate::mock::ConfiguredServer>,
}

/// Runs the (shard of the) matrix: installs the versions it needs one after another, then runs
/// the cells' runs on `jobs` worker threads, each run with a fresh in-process mock server (and,
/// inside [`scenarios::run`], a fresh sandbox and model stand-in).
pub fn run(store: &VersionStore, request: &MatrixRequest) -> MatrixReport {
    MatrixRun::new(request).run(store)
}

/// A matrix being run: what has finished can be read at any time ([`MatrixRun::finished`]; an
/// interrupted matrix prints it).
pub struct MatrixRun {
    request: MatrixRequest,
    started: String,
    started_wall: Instant,
    /// The cells of this shard, in matrix order.
    cells: Vec<(&'static ClientKind, String, ScenarioSpec)>,
    /// The columns, in order.
    versions: Vec<String>,
    /// Each cell's runs, as they finish.
    slots: Mutex<Vec<Vec<Option<RunRecord>>>>,
}

impl MatrixRun {
    pub fn new(request: &MatrixRequest) -> MatrixRun {
        let started = crate::store::features::format_epoch(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        );
        let all: Vec<(&'static ClientKind, String, ScenarioSpec)> = request
            .clients
            .iter()
            .flat_map(|(kind, versions)| {
                plan(versions, &request.scenarios)
                    .into_iter()
                    .map(move |(v, s)| (*kind, v, s))
            })
            .collect();
        let cells = match request.shard {
            Some(shard) => shard.select(&all),
            None => all,
        };
        let mut versions: Vec<String> = cells
            .iter()
            .map(|(k, v, _)| column_key(k.name, v))
            .collect();
        versions.dedup();
        let repeat = request.repeat.max(1) as usize;
        MatrixRun {
            request: request.clone(),
            started,
            started_wall: Instant::now(),
            slots: Mutex::new(vec![vec![None; repeat]; cells.len()]),
            cells,
            versions,
        }
    }

    /// Runs every cell; the report holds them all.
    pub fn run(&self, store: &VersionStore) -> MatrixReport {
        let request = &self.request;
        let cells = &self.cells;
        let mut installs: BTreeMap<String, Result<InstalledVersion, String>> = BTreeMap::new();
        for (kind, v, _) in cells {
            let column = column_key(kind.name, v);
            if installs.contains_key(&column) {
                continue;
            }
            crate::detail!(
                "harness: matrix: installing {} {v} (no-op when in the store)",
                kind.name
            );
            let store = store.for_package(kind.package);
            installs.insert(column, store.ensure(v).map_err(|e| e.to_string()));
        }
        // One job per run; results land in their slot.
        let repeat = request.repeat.max(1) as usize;
        let jobs: Vec<(usize, usize)> = (0..cells.len())
            .flat_map(|c| (0..repeat).map(move |r| (c, r)))
            .collect();
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let total = jobs.len();
        let progress = crate::console::progress("matrix", total as u64);
        // What runs now, for the bar's message.
        let running: Mutex<Vec<String>> = Mutex::new(Vec::new());
        let show_running = |running: &[String]| progress.now(&running.join(", "));
        std::thread::scope(|scope| {
            for _ in 0..request.jobs.max(1).min(total.max(1)) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, AtomicOrdering::SeqCst);
                    let Some(&(c, r)) = jobs.get(i) else { break };
                    let (kind, version, scenario) = &cells[c];
                    let label = format!("{}@{}", scenario.name(), column_key(kind.name, version));
                    if let Ok(mut now) = running.lock() {
                        now.push(label.clone());
                        show_running(&now);
                    }
                    // With -v, each cell's commands say which cell they belong to.
                    let record = crate::console::with_label(&label, || {
                        match &installs[&column_key(kind.name, version)] {
                            Err(e) => RunRecord::setup_failure("install", e.clone()),
                            Ok(installed) => run_one(kind, installed, *scenario, request),
                        }
                    });
                    // Interrupted under it, the run's verdict means nothing: not recorded.
                    crate::drive::live::hold_if_stopping();
                    let n = done.fetch_add(1, AtomicOrdering::SeqCst) + 1;
                    progress.step(&format!(
                        "harness: matrix: [{n}/{total}] {} on {} {version}{}: {} ({:.1} s){}",
                        scenario.name(),
                        kind.name,
                        if repeat > 1 {
                            format!(" (run {}/{repeat})", r + 1)
                        } else {
                            String::new()
                        },
                        record.verdict.as_str(),
                        record.duration_secs,
                        record
                            .bundle
                            .as_ref()
                            .map(|b| format!("; bundle {b}"))
                            .unwrap_or_default()
                    ));
                    if let Ok(mut now) = running.lock() {
                        now.retain(|l| *l != label);
                        show_running(&now);
                    }
                    if let Ok(mut slots) = self.slots.lock() {
                        slots[c][r] = Some(record);
                    }
                });
            }
        });
        drop(progress);
        self.report(false)
    }

    /// The cells whose runs have all finished so far, as a report.
    pub fn finished(&self) -> MatrixReport {
        self.report(true)
    }

    /// Runs finished so far, and in all.
    pub fn runs_finished(&self) -> (usize, usize) {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let done = slots.iter().flatten().filter(|r| r.is_some()).count();
        (done, slots.iter().map(Vec::len).sum())
    }

    fn report(&self, complete_only: bool) -> MatrixReport {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let cells: Vec<Cell> = self
            .cells
            .iter()
            .zip(slots)
            .filter(|(_, runs)| !complete_only || runs.iter().all(Option::is_some))
            .map(|((kind, version, scenario), runs)| {
                let runs: Vec<RunRecord> = runs.into_iter().flatten().collect();
                Cell::of(kind.name, version, *scenario, runs)
            })
            .collect();
        MatrixReport {
            schema: SCHEMA,
            started: self.started.clone(),
            command: self.request.command.clone(),
            versions: self.versions.clone(),
            scenarios: self.request.scenarios.iter().map(|s| s.name()).collect(),
            jobs: self.request.jobs,
            repeat: self.request.repeat,
            shards: self
                .request
                .shard
                .map(|s| vec![s.to_string()])
                .unwrap_or_default(),
            wall_secs: self.started_wall.elapsed().as_secs_f64(),
            cells,
            comparison: None,
        }
    }
}

fn run_one(
    kind: &ClientKind,
    installed: &InstalledVersion,
    spec: ScenarioSpec,
    request: &MatrixRequest,
) -> RunRecord {
    if let Some(url) = request.server.as_deref() {
        let proxy = match crate::proxy::RecordingProxy::start(url, &Default::default()) {
            Ok(p) => p,
            Err(e) => return RunRecord::setup_failure("recording-proxy", e.to_string()),
        };
        let client = (kind.make)(installed.clone());
        let report = scenarios::run(spec.scenario, client.as_ref(), &proxy);
        crate::scenarios::observe::record_report(installed, &report);
        return RunRecord::from_report(&report);
    }
    if let Some(configured) = &request.server_config {
        let mock = match configured.start(spec.scenario.mock_faults()) {
            Ok(m) => m,
            Err(e) => return RunRecord::setup_failure("mock-server", e.to_string()),
        };
        let client = (kind.make)(installed.clone());
        let _port = client.fixed_callback_port().map(callback_port_turn);
        let report = scenarios::run(spec.scenario, client.as_ref(), &mock);
        crate::scenarios::observe::record_report(installed, &report);
        return RunRecord::from_report(&report);
    }
    let mut builder = MockServer::builder().faults(spec.scenario.mock_faults());
    if let Some(discovery) = spec
        .scenario
        .mock_discovery(spec.discovery.map(|v| v.discovery()))
    {
        builder = builder.discovery(discovery);
    }
    let mock = match builder.start_blocking() {
        Ok(m) => m,
        Err(e) => return RunRecord::setup_failure("mock-server", e.to_string()),
    };
    let client = (kind.make)(installed.clone());
    let options = scenarios::RunOptions {
        discovery: spec.discovery,
        login_state: spec.state,
        ..Default::default()
    };
    // A client whose callback port is fixed runs one cell at a time (the other clients' cells
    // go on beside it).
    let _port = client.fixed_callback_port().map(callback_port_turn);
    let report = scenarios::run_with(spec.scenario, client.as_ref(), &mock, &options);
    crate::scenarios::observe::record_report(installed, &report);
    RunRecord::from_report(&report)
}

/// Waits for this process's turn on a fixed callback `port` (one lock per port, held for a whole
/// run). A poisoned lock (a run that panicked) is taken over: the port is free again.
fn callback_port_turn(port: u16) -> std::sync::MutexGuard<'static, ()> {
    static PORTS: Mutex<BTreeMap<u16, &'static Mutex<()>>> = Mutex::new(BTreeMap::new());
    let lock: &'static Mutex<()> = PORTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(port)
        .or_insert_with(|| Box::leak(Box::new(Mutex::new(()))));
    lock.lock().unwrap_or_else(|p| p.into_inner())
}

/// Orders versions for display.
pub fn sort_versions(versions: &mut [String]) {
    versions.sort_by(|a, b| match compare_versions(a, b) {
        Ordering::Equal => a.cmp(b),
        o => o,
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn runs_on_one_fixed_callback_port_take_turns_and_other_ports_do_not_wait() {
        use std::sync::atomic::AtomicBool;
        let first = callback_port_turn(64_999);
        let waited = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                // Another port is free at once.
                drop(callback_port_turn(64_998));
                let _second = callback_port_turn(64_999);
                waited.store(true, AtomicOrdering::SeqCst);
            });
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert!(
                !waited.load(AtomicOrdering::SeqCst),
                "the port was taken twice at once"
            );
            drop(first);
            other.join().expect("the other run");
        });
        assert!(waited.load(AtomicOrdering::SeqCst));
    }

    fn check(name: &str, verdict: CheckVerdict) -> CheckRecord {
        CheckRecord {
            name: name.to_owned(),
            verdict,
            summary: format!("{name} summary <&>"),
            evidence: vec![format!("#1 POST / initialize -> 200 ({name})")],
        }
    }

    pub(crate) fn run_of(verdict: CellVerdict) -> RunRecord {
        let checks = match verdict {
            CellVerdict::Pass => vec![check("reinitialized-after-token", CheckVerdict::Pass)],
            CellVerdict::Fail => vec![
                check("token-exchanged", CheckVerdict::Pass),
                check("reinitialized-after-session-loss", CheckVerdict::Fail),
            ],
            CellVerdict::NotApplicable => {
                vec![check("http-transport", CheckVerdict::NotApplicable)]
            }
            CellVerdict::Flaky => unreachable!(),
        };
        RunRecord {
            verdict,
            duration_secs: 12.5,
            checks,
            access_log: Vec::new(),
            model_views: Vec::new(),
            final_screen: "╭ screen <b>\n> /mcp".to_owned(),
            commands: vec!["claude".to_owned()],
            bundle: None,
        }
    }

    /// A synthetic two-version report: 2.1.81 fails session_lost, is flaky on
    /// print_after_auth; 2.1.331 passes; login_then_list is n/a on 2.1.81.
    pub(crate) fn synthetic() -> MatrixReport {
        use CellVerdict::*;
        let mut cells = Vec::new();
        for (v, s, runs) in [
            ("2.1.81", Scenario::SLASH_MCP, vec![Pass]),
            ("2.1.81", Scenario::SESSION_LOST, vec![Fail, Fail]),
            ("2.1.81", Scenario::PRINT_AFTER_AUTH, vec![Pass, Fail]),
            ("2.1.81", Scenario::LOGIN_THEN_LIST, vec![NotApplicable]),
            ("2.1.331", Scenario::SLASH_MCP, vec![Pass]),
            ("2.1.331", Scenario::SESSION_LOST, vec![Pass]),
            ("2.1.331", Scenario::PRINT_AFTER_AUTH, vec![Pass]),
            ("2.1.331", Scenario::LOGIN_THEN_LIST, vec![Pass]),
        ] {
            cells.push(Cell::new(
                v,
                s,
                runs.into_iter().map(run_of).collect::<Vec<_>>(),
            ));
        }
        MatrixReport {
            schema: SCHEMA,
            started: "2026-11-25 12:00 UTC".to_owned(),
            command: "harness matrix".to_owned(),
            versions: vec!["2.1.81".to_owned(), "2.1.331".to_owned()],
            scenarios: [
                "slash_mcp",
                "session_lost",
                "print_after_auth",
                "login_then_list",
            ]
            .map(String::from)
            .to_vec(),
            jobs: 2,
            repeat: 1,
            shards: Vec::new(),
            wall_secs: 100.0,
            cells,
            comparison: None,
        }
    }

    #[test]
    fn verdicts_combine_and_flaky_is_told_apart() {
        let r = synthetic();
        assert_eq!(
            r.cell("2.1.81", "session_lost")
                .expect("present in the synthetic report")
                .verdict,
            CellVerdict::Fail
        );
        let flaky = r
            .cell("2.1.81", "print_after_auth")
            .expect("present in the synthetic report");
        assert_eq!(flaky.verdict, CellVerdict::Flaky);
        assert_eq!(flaky.label(), "flaky 1/2");
        assert_eq!(
            r.cell("2.1.81", "login_then_list")
                .expect("present in the synthetic report")
                .verdict,
            CellVerdict::NotApplicable
        );
        assert!(r.regressed());
    }

    #[test]
    fn shards_partition_the_cells_deterministically() {
        let all = plan(
            &["2.1.90".to_owned(), "2.1.81".to_owned()],
            &[
                Scenario::SLASH_MCP,
                Scenario::SESSION_LOST,
                Scenario::PRINT_AFTER_AUTH,
            ],
        );
        assert_eq!(all[0].0, "2.1.81");
        let mut joined = Vec::new();
        for k in 1..=4 {
            let shard = Shard::parse(&format!("{k}/4")).expect("present in the synthetic report");
            assert_eq!(shard.select(&all), shard.select(&all));
            joined.extend(shard.select(&all));
        }
        joined.sort_by_key(|a| (a.0.clone(), a.1.name()));
        let mut expected = all.clone();
        expected.sort_by_key(|a| (a.0.clone(), a.1.name()));
        assert_eq!(joined, expected);
        assert!(Shard::parse("0/2").is_err());
        assert!(Shard::parse("3/2").is_err());
    }

    #[test]
    fn merge_joins_shards_and_json_round_trips() {
        let full = synthetic();
        let mut a = full.clone();
        let mut b = full.clone();
        a.cells = Shard::parse("1/2")
            .expect("present in the synthetic report")
            .select(&full.cells);
        b.cells = Shard::parse("2/2")
            .expect("present in the synthetic report")
            .select(&full.cells);
        a.shards = vec!["1/2".into()];
        b.shards = vec!["2/2".into()];
        let text = serde_json::to_string(&b).expect("present in the synthetic report");
        let b: MatrixReport = serde_json::from_str(&text).expect("present in the synthetic report");
        let merged = merge(&[b, a]).expect("present in the synthetic report");
        assert_eq!(merged.cells.len(), full.cells.len());
        let keys: Vec<_> = merged.cells.iter().map(Cell::key).collect();
        let expected: Vec<_> = full.cells.iter().map(Cell::key).collect();
        assert_eq!(keys, expected);
        let mut conflicting = full.clone();
        conflicting.cells[0].verdict = CellVerdict::Fail;
        assert!(merge(&[full, conflicting]).is_err());
    }

    #[test]
    fn baseline_lists_new_failures_and_fixes() {
        let before = synthetic();
        let mut after = synthetic();
        // 2.1.331 slash_mcp now fails; 2.1.81 session_lost now passes.
        for c in after.cells.iter_mut() {
            if c.key() == ("2.1.331".into(), "slash_mcp".into()) {
                *c = Cell::new(
                    "2.1.331",
                    Scenario::SLASH_MCP,
                    vec![run_of(CellVerdict::Fail)],
                );
            }
            if c.key() == ("2.1.81".into(), "session_lost".into()) {
                *c = Cell::new(
                    "2.1.81",
                    Scenario::SESSION_LOST,
                    vec![run_of(CellVerdict::Pass)],
                );
            }
        }
        // A version the baseline never ran is compared with its newest.
        after.cells.push(Cell::new(
            "2.1.332",
            Scenario::SESSION_LOST,
            vec![run_of(CellVerdict::Fail)],
        ));
        let cmp = compare(&after, &before, "prev.json");
        let failures: Vec<_> = cmp
            .new_failures
            .iter()
            .map(|c| {
                (
                    c.version.as_str(),
                    c.scenario.as_str(),
                    c.before_version.as_str(),
                )
            })
            .collect();
        assert_eq!(
            failures,
            vec![
                ("2.1.331", "slash_mcp", "2.1.331"),
                ("2.1.332", "session_lost", "2.1.331")
            ]
        );
        assert_eq!(cmp.new_fixes.len(), 1);
        after.comparison = Some(cmp);
        assert!(after.regressed());
        let same = compare(&before, &before, "prev.json");
        let mut unchanged = before.clone();
        unchanged.comparison = Some(same);
        assert!(
            !unchanged.regressed(),
            "a failing cell that was failing is no regression"
        );
    }
}
